// iotrace shrink: the smallest scenario that still fails the same way
// (issue 13 §3). "The same way": the same failure signature (explore.ts:
// kind, fault reason or invariant or unmet expectation, and the kind of
// object), found by a run of the candidate under the current schedule.
//
//  1. Steps, dependency-aware delta debugging (Zeller's ddmin): a step is
//     removed together with every step that uses its `as` result (and
//     theirs), so no candidate has a dangling `$ref`; then a pass over single
//     steps, so the result is 1-minimal: removing any one remaining step
//     (with its dependents) no longer fails the same way.
//  2. The schedule of a threaded scenario: fewer preemptions, then fewer
//     switches (each decision that switches is tried as "go on with the
//     thread that ran").
//  3. Values: integer fields tried smaller (1, then half), kept when the
//     failure stays.
//
// A candidate's schedule is followed leniently: a decision naming a thread
// that cannot run is skipped, round-robin after the list; the decisions
// actually taken become the schedule from then on.
import { RunSession } from '../engine/run.js';
import { resolveVariant, STEP_CONTROL, type Scenario, type Step, type Variant } from '../engine/scenario.js';
import { threadNames } from '../engine/threads.js';
import type { ArgValue, TraceEvent } from '../engine/types.js';
import { validateScenario } from '../engine/validate.js';
import { compareKeys } from '../engine/state.js';
import { explore, failureSignature, type FailKind } from './explore.js';

export interface ShrinkOptions {
  variant?: Variant;
  /** The failing schedule (threaded scenarios); absent: explore finds one (bfs). */
  schedule?: readonly string[];
  failOn?: ReadonlySet<FailKind>;
  /** At most this many candidate runs (default 20 000). */
  maxRuns?: number;
  /** Shrink values too (default on). */
  values?: boolean;
}

export interface ShrinkResult {
  scenario: Scenario;
  schedule: string[];
  signature: string;
  /** Candidate runs made. */
  runs: number;
  /** What went, in the original's numbering: `steps[3] (pt-map)`, `threads.vmm[0] (ioctl IOMMU_...)`. */
  removed: string[];
  /** Values made smaller: `steps[2].size 8192 -> 4096`. */
  smaller: string[];
  before: { steps: number; decisions: number; preemptions: number };
  after: { steps: number; decisions: number; preemptions: number };
}

/** One step of the scenario, where it sits in the original. */
interface Unit { id: number; thread: string | null; index: number; step: Step; label: string }

function refsUsed(step: Step): Set<string> {
  const out = new Set<string>();
  const walk = (v: ArgValue | undefined): void => {
    if (typeof v === 'string') { if (v.startsWith('$')) out.add(v.slice(1)); return; }
    if (Array.isArray(v)) { for (const x of v) walk(x); return; }
    if (v !== null && typeof v === 'object') for (const key of Object.keys(v)) walk(v[key]);
  };
  for (const key of Object.keys(step)) if (!STEP_CONTROL.has(key)) walk(step[key]);
  return out;
}

function label(step: Step): string {
  return step.op === 'ioctl' && typeof step.cmd === 'string' ? `ioctl ${step.cmd}` : step.op;
}

function unitsOf(sc: Scenario): Unit[] {
  const out: Unit[] = [];
  sc.steps.forEach((step, index) => out.push({ id: out.length, thread: null, index, step, label: `steps[${index}] (${label(step)})` }));
  for (const t of threadNames(sc)) (sc.threads?.[t] ?? []).forEach((step, index) => out.push({ id: out.length, thread: t, index, step, label: `threads.${t}[${index}] (${label(step)})` }));
  return out;
}

/** The scenario with only these units (in their original order); a thread left without steps goes. */
function build(base: Scenario, units: readonly Unit[]): Scenario {
  const steps = units.filter((u) => u.thread === null).map((u) => u.step);
  const out: Scenario = { ...base, steps };
  if (base.threads) {
    const threads: Record<string, Step[]> = {};
    for (const t of threadNames(base)) {
      const list = units.filter((u) => u.thread === t).map((u) => u.step);
      if (list.length) threads[t] = list;
    }
    if (Object.keys(threads).length) out.threads = threads; else delete out.threads;
  }
  return out;
}

/** Every unit that (transitively) uses a result of one of `gone`. */
function closure(all: readonly Unit[], gone: ReadonlySet<number>): Set<number> {
  const out = new Set(gone);
  for (let changed = true; changed;) {
    changed = false;
    // names still bound by a unit that stays (a name several steps bind stays bound while one of them does)
    const bound = new Set<string>();
    for (const u of all) if (!out.has(u.id) && typeof u.step.as === 'string') bound.add(u.step.as);
    for (const u of all) {
      if (out.has(u.id)) continue;
      for (const r of refsUsed(u.step)) if (!bound.has(r)) { out.add(u.id); changed = true; break; }
    }
  }
  return out;
}

function preemptionsOf(decisions: readonly { thread: string; runnable: readonly string[] }[]): number {
  let n = 0;
  for (let i = 1; i < decisions.length; i++) {
    const prev = decisions[i - 1]?.thread;
    const d = decisions[i];
    if (d && prev !== undefined && d.thread !== prev && d.runnable.includes(prev)) n++;
  }
  return n;
}

interface Trial { fails: boolean; schedule: string[]; preemptions: number; switches: number }

export function shrink(original: Scenario, opts: ShrinkOptions = {}): ShrinkResult {
  const variant = resolveVariant(original, opts.variant ?? {});
  const failOn = opts.failOn ?? new Set<FailKind>(['violation', 'expect', 'blocked']);
  const maxRuns = opts.maxRuns ?? 20_000;
  let runs = 0;

  /** Run a candidate under a schedule followed leniently; the signature's first occurrence ends it. */
  const trial = (sc: Scenario, schedule: readonly string[], want: string | null): Trial & { signature: string | null } => {
    runs++;
    let signature: string | null = null;
    const check = (ev: TraceEvent): void => {
      if (signature !== null) return;
      const sig = failureSignature(ev, failOn);
      if (sig !== null && (want === null || sig === want)) signature = sig;
    };
    const s = new RunSession(sc, { variant }, { onEvent: check });
    s.runSetup();
    const decisions: { thread: string; runnable: string[] }[] = [];
    const th = s.threads;
    if (th && signature === null) {
      const core = s.core;
      let at = 0;
      let last: string | null = null;
      for (let guard = 0; guard < 1_000_000 && signature === null; guard++) {
        const runnable = th.runnable(variant, core.refs);
        if (runnable.length === 0) {
          const waiting = th.blockedText(variant, core.refs);
          if (waiting !== '' && failOn.has('blocked') && (want === null || want === 'blocked')) signature = 'blocked';
          break;
        }
        let t: string | undefined;
        while (at < schedule.length && t === undefined) { const x = schedule[at++] as string; if (runnable.includes(x)) t = x; }
        if (t === undefined) t = last === null ? runnable[0] as string : runnable.find((x) => compareKeys(x, last as string) > 0) ?? runnable[0] as string;
        decisions.push({ thread: t, runnable });
        th.segment(core, t, runnable);
        last = t;
      }
    } else if (!th) {
      while (signature === null && s.next()) { /* events reach check through onEvent */ }
    }
    let switches = 0;
    for (let i = 1; i < decisions.length; i++) if (decisions[i]?.thread !== decisions[i - 1]?.thread) switches++;
    return { fails: signature !== null, signature, schedule: decisions.map((d) => d.thread), preemptions: preemptionsOf(decisions), switches };
  };

  // The failure to keep: under the given schedule, else the one bfs finds first.
  let schedule: string[] = [...(opts.schedule ?? [])];
  let first = trial(original, schedule, null);
  if (!first.fails && original.threads && opts.schedule === undefined) {
    const found = explore(original, { variant, failOn, stopAtFirst: true });
    runs += found.states;
    const f = found.failures[0];
    if (f) { schedule = f.schedule; first = trial(original, schedule, f.signature); }
  }
  if (!first.fails || first.signature === null) throw new ShrinkError(`scenario ${original.name} (${Object.keys(variant).map((a) => `${a}=${variant[a]}`).join(',') || 'default'}) does not fail${original.threads ? ' under that schedule or any bfs finds' : ''}: nothing to shrink`);
  const signature = first.signature;
  schedule = first.schedule;
  const all = unitsOf(original);
  const before = { steps: all.length, decisions: first.schedule.length, preemptions: first.preemptions };

  let kept: Unit[] = all;
  const attempt = (candidate: Unit[]): boolean => {
    if (runs >= maxRuns) return false;
    let sc: Scenario;
    try { sc = validateScenario(build(original, candidate), original.name); } catch { return false; }
    let r;
    try { r = trial(sc, schedule, signature); } catch { return false; }
    if (!r.fails) return false;
    kept = candidate;
    schedule = r.schedule;
    return true;
  };
  const without = (base: Unit[], gone: Set<number>): Unit[] => {
    const c = closure(base, gone);
    return base.filter((u) => !c.has(u.id));
  };

  // 1. ddmin over the units, removing complements of chunks (dependency closed).
  let n = 2;
  while (kept.length >= 2 && runs < maxRuns) {
    const size = Math.ceil(kept.length / n);
    let reduced = false;
    for (let i = 0; i < kept.length && !reduced; i += size) {
      const chunk = new Set(kept.slice(i, i + size).map((u) => u.id));
      // try removing the chunk
      const cand = without(kept, chunk);
      if (cand.length < kept.length && attempt(cand)) { n = Math.max(n - 1, 2); reduced = true; }
    }
    if (!reduced) {
      if (n >= kept.length) break;
      n = Math.min(kept.length, n * 2);
    }
  }
  // ... then single units until nothing more goes: 1-minimal.
  for (let changed = true; changed && runs < maxRuns;) {
    changed = false;
    for (const u of [...kept]) {
      if (!kept.includes(u)) continue;
      const cand = without(kept, new Set([u.id]));
      if (cand.length < kept.length && attempt(cand)) changed = true;
    }
  }

  // 2. The schedule: fewer preemptions, then fewer switches.
  let sc = validateScenario(build(original, kept), original.name);
  let cur = trial(sc, schedule, signature);
  schedule = cur.schedule;
  if (sc.threads) {
    for (const metric of ['preemptions', 'switches'] as const) {
      for (let improved = true; improved && runs < maxRuns;) {
        improved = false;
        for (let i = 1; i < schedule.length && !improved; i++) {
          if (schedule[i] === schedule[i - 1]) continue;
          // go on with the thread that ran instead of switching at decision i
          const cand = [...schedule.slice(0, i), schedule[i - 1] as string, ...schedule.slice(i)];
          const r = trial(sc, cand, signature);
          if (r.fails && (r[metric] < cur[metric] || (r[metric] === cur[metric] && r.schedule.length < schedule.length && metric === 'switches'))) { cur = r; schedule = r.schedule; improved = true; }
        }
      }
    }
  }

  // 3. Values: integer fields of the remaining steps, smaller.
  const smaller: string[] = [];
  if (opts.values !== false) {
    for (const u of kept) {
      for (const field of Object.keys(u.step)) {
        if (STEP_CONTROL.has(field)) continue;
        const v = u.step[field];
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 1) continue;
        // A page-aligned value (an address, a size) stays page aligned.
        const page = v % 4096 === 0;
        for (const c of page ? [4096, Math.floor(v / 8192) * 4096] : [1, Math.floor(v / 2)]) {
          if (runs >= maxRuns || c >= (u.step[field] as number) || c < 1) continue;
          const old = u.step[field] as number;
          const step = { ...u.step, [field]: c } as Step;
          const cand = kept.map((x) => (x.id === u.id ? { ...x, step } : x));
          let csc: Scenario;
          try { csc = validateScenario(build(original, cand), original.name); } catch { continue; }
          let r;
          try { r = trial(csc, schedule, signature); } catch { continue; }
          if (r.fails) {
            smaller.push(`${u.label}.${field} ${old} -> ${c}`);
            u.step = step;
            kept = cand.map((x) => (x.id === u.id ? u : x));
            schedule = r.schedule;
            break;
          }
        }
      }
    }
  }
  sc = validateScenario(build(original, kept), original.name);
  cur = trial(sc, schedule, signature);
  const keptIds = new Set(kept.map((u) => u.id));
  return {
    scenario: sc, schedule: cur.schedule, signature, runs,
    removed: all.filter((u) => !keptIds.has(u.id)).map((u) => u.label), smaller,
    before, after: { steps: kept.length, decisions: cur.schedule.length, preemptions: cur.preemptions },
  };
}

export class ShrinkError extends Error {
  constructor(message: string) { super(message); this.name = 'ShrinkError'; }
}
