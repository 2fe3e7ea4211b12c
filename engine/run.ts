// Run a scenario under a variant and seed: a lazy stream of events. This is
// the engine's whole public face for the recorder, `run` and `verify`.
import { BUILDERS } from './builders/index.js';
import { Ctx } from './ctx.js';
import { hex } from './summary.js';
import { InvariantChecker } from './invariants.js';
import type { Fields, Outcome } from './op.js';
import { OPS } from './ops/index.js';
import { Prng } from './prng.js';
import { resolveVariant, stepApplies, type Scenario, type Step, type Variant } from './scenario.js';
import { emptyState } from './state.js';
import type { ArgValue, TraceEvent } from './types.js';

/** Bumped whenever the engine changes what a scenario records. */
export const ENGINE_VERSION = '0.1.0';

export interface RunOptions { variant?: Variant; seed?: number }

const CONTROL = new Set(['op', 'when', 'as', 'expect', 'note']);

function resolveRefs(value: ArgValue | undefined, refs: Map<string, number | null>, step: number): ArgValue | undefined {
  if (typeof value === 'string' && value.startsWith('$')) {
    const v = refs.get(value.slice(1));
    if (v === undefined) throw new Error(`step ${step}: "${value}" is not bound`);
    return v;
  }
  if (Array.isArray(value)) return value.map((x) => resolveRefs(x, refs, step) ?? null);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, ArgValue> = {};
    for (const key of Object.keys(value)) out[key] = resolveRefs(value[key], refs, step) ?? null;
    return out;
  }
  return value;
}

/**
 * The step's fields with "$ref"s replaced. Ops read only the fields they
 * declare, so a step without references is handed over as it is (the common
 * case for generated workloads: no copy per step).
 */
function resolveStep(step: Step, refs: Map<string, number | null>, index: number): Fields {
  let plain = true;
  for (const key in step) {
    const v = step[key];
    if ((typeof v === 'string' && v.startsWith('$')) || (v !== null && typeof v === 'object')) { plain = false; break; }
  }
  if (plain) return step;
  const fields: Fields = {};
  for (const key of Object.keys(step)) if (!CONTROL.has(key)) fields[key] = resolveRefs(step[key], refs, index);
  return fields;
}

/** What a step ended in, in the words `expect` uses. */
export function outcomeText(o: Outcome): string {
  if (o.errno) return o.errno;
  if (o.fault) return `fault ${hex(o.fault.reason)} ${o.fault.name}`;
  return 'ok';
}

export function expectationMet(expected: string, o: Outcome): boolean {
  if (expected === 'ok') return !o.errno && !o.fault;
  if (/^0x[0-9a-f]+$/i.test(expected)) return o.fault?.reason === parseInt(expected, 16);
  if (o.fault) return o.fault.name === expected;
  return o.errno === expected;
}

function steps(scenario: Scenario, seed: number): Iterable<Step> {
  if (!scenario.generate) return scenario.steps;
  const builder = BUILDERS[scenario.generate.builder];
  if (!builder) throw new Error(`unknown scenario builder ${scenario.generate.builder}`);
  return builder(scenario.generate.params, new Prng(seed));
}

export function* run(scenario: Scenario, opts: RunOptions = {}): Generator<TraceEvent> {
  const variant = resolveVariant(scenario, opts.variant ?? {});
  const ctx = new Ctx(emptyState(), variant);
  const checker = new InvariantChecker();
  ctx.emit({ kind: 'platform', platform: scenario.platform });
  yield* ctx.out;
  const refs = new Map<string, number | null>();
  let index = -1;
  for (const step of steps(scenario, opts.seed ?? 0)) {
    index++;
    if (!stepApplies(step, variant)) continue;
    ctx.beginStep(index);
    const fields = resolveStep(step, refs, index);
    const spec = OPS[step.op];
    if (!spec) throw new Error(`step ${index}: unknown op ${step.op}`);
    const outcome = spec.run(ctx, fields);
    if (step.as) refs.set(step.as, outcome.value ?? null);
    if (step.expect !== undefined && !expectationMet(step.expect, outcome)) {
      ctx.emit({ kind: 'expect', expected: step.expect, actual: outcomeText(outcome), ok: false });
    }
    checker.check(ctx);
    yield* ctx.out;
  }
}
