// The truth about a trace header's claim "this scenario, under this variant
// and seed, made these events", found by running the header's own scenario
// on the engine — never by asking verify, whose answer it judges.
//
// * 'original': the header is the corpus original's (recorded by the
//   recorder, so the claim holds for the original's events).
// * 'rerun-same': another header whose scenario re-runs to exactly R's events
//   and whose variant is one the scenario has (every axis, each value one of
//   its axis's): the claim is true.
// * 'false': the re-run differs from R, the variant names an axis the
//   scenario lacks or a value its axis lacks, or the scenario does not run.
// * 'imported': an import on either side (no scenario to re-run).
import { isDeepStrictEqual } from 'node:util';
import { run } from '../../engine/run.js';
import type { Scenario, Variant } from '../../engine/scenario.js';
import { scheduleOf } from '../../engine/threads.js';
import { validateScenario } from '../../engine/validate.js';
import type { TraceReplayer } from '../../replayer/replayer.js';
import type { Truth } from './oracle.js';

export type HeaderTruth = 'original' | 'rerun-same' | 'false' | 'imported';

/** Every axis of the scenario set, to one of its values, and nothing else. */
export function variantOfScenario(s: Scenario, v: Variant): boolean {
  const axes = s.variants ?? {};
  const names = Object.keys(axes).sort();
  if (!isDeepStrictEqual(Object.keys(v).sort(), names)) return false;
  return names.every((a) => Object.hasOwn(axes[a] ?? {}, v[a] ?? ''));
}

export function headerTruth(t: Truth): HeaderTruth {
  const r = t.r as TraceReplayer;
  const h = r.header;
  const o = t.original.replayer.header;
  if (isDeepStrictEqual(h, o)) return 'original';
  if (h.imported || o.imported) return 'imported';
  try {
    const scenario = validateScenario(h.scenario, 'the header');
    if (!variantOfScenario(scenario, h.variant)) return 'false';
    const schedule = scenario.threads ? scheduleOf(r.events(0, t.count)) : [];
    let n = 0;
    for (const ev of run(scenario, { variant: h.variant, seed: h.seed, schedule })) {
      if (n >= t.count || !isDeepStrictEqual(ev, r.event(n))) return 'false';
      n++;
    }
    return n === t.count ? 'rerun-same' : 'false';
  } catch {
    // A scenario that does not validate or run: the header cannot have made any events.
    return 'false';
  }
}
