// Scenario documents: the JSON contract. A scenario is data; a TypeScript
// builder may emit it, but this shape is what files, traces and `verify` use.
import type { ArgValue, Platform } from './types.js';
import { MAX_COMBINATIONS } from './limits.js';
import { own } from './own.js';
import { compareKeys } from './state.js';

/** axis -> value -> one line of meaning. The first value listed is the default. */
export type Variants = Record<string, Record<string, string>>;

/**
 * An expectation: "ok", an errno name, or a fault given as its reason code
 * ("0x59") or name ("C_BAD_CD"); or an object that also checks what the step
 * returns: `{ "errno": "EIO", "out": { "entry_num": 1 } }` (`errno` "ok" or
 * absent: success; `fault` instead of `errno` for a DMA).
 */
export type Expect = string | ExpectSpec | ExpectByVariant;

export interface ExpectSpec {
  errno?: string;
  fault?: string;
  out?: Record<string, ArgValue>;
}

/**
 * An expectation that depends on the variant: `{ "by": "pasid", "identity":
 * "ok", "translated": "0x59" }`, one entry per value of the axis `by` names,
 * each any expectation (a string, `{ errno, fault, out }`, or another `by`
 * on a second axis); a value left out expects nothing under it
 * (engine/expect.ts resolveExpect).
 */
export interface ExpectByVariant {
  by: string;
  [value: string]: Expect;
}

export interface StepBase {
  op: string;
  /** Only run the step when the variant matches, e.g. { "pasid": "translated" }. */
  when?: Record<string, string | string[]>;
  /** Bind the step's result (an object id, a PASID) to a name referred to as "$name". */
  as?: string;
  expect?: Expect;
  /** Free text shown beside the step's events. */
  note?: string;
  /** The kernel function that decides the step's outcome ("iopt_unmap_iova(), drivers/iommu/iommufd/io_pagetable.c"). */
  source?: string;
}

export type Step = StepBase & { [field: string]: ArgValue | undefined };

export interface Scenario {
  name: string;
  description: string;
  /** Which seed thread the scenario comes from, e.g. "000". */
  seed?: string;
  /** Where the scenario's rules come from: a kernel selftest ("file: TEST_F(fixture, name)") or function. */
  source?: string;
  variants?: Variants;
  platform: Platform;
  steps: Step[];
  /**
   * Threads of steps that run after `steps` (the set-up), interleaved by a
   * schedule (engine/threads.ts): thread name -> its steps, in order.
   */
  threads?: Record<string, Step[]>;
  /**
   * A sized scenario whose steps are produced lazily by a builder in
   * engine/builders (the `stress` workload): the trace header stores these
   * parameters instead of millions of steps, and re-running them gives the
   * same steps.
   */
  generate?: { builder: string; params: Record<string, number> };
}

export type Variant = Record<string, string>;

/** A step's own keys: everything else is the op's fields. */
export const STEP_CONTROL: ReadonlySet<string> = new Set(['op', 'when', 'as', 'expect', 'note', 'source']);

/** The variant with every axis set: defaults (first value) overridden by `chosen`. */
export function resolveVariant(scenario: Scenario, chosen: Variant): Variant {
  const out: Variant = {};
  for (const axis of Object.keys(scenario.variants ?? {}).sort()) {
    const values = Object.keys(scenario.variants?.[axis] ?? {});
    out[axis] = own(chosen, axis) ?? values[0] ?? '';
  }
  return out;
}

/** A variant as one word list, `axis=value,axis=value` ("default" when it names no axis). */
export const variantText = (v: Variant): string => Object.keys(v).map((k) => `${k}=${v[k]}`).join(',') || 'default';

/**
 * Why `variant` is not one `record` writes for this scenario (resolveVariant:
 * every axis, each one of its axis's values, nothing else), or null. A trace
 * header's variant is a claim about how its events were made: an axis the
 * scenario lacks is dropped by resolveVariant, so a re-run cannot disprove it.
 */
export function variantProblem(scenario: Scenario, variant: Variant): string | null {
  const axes = scenario.variants ?? {};
  const extra = Object.keys(variant).filter((axis) => !Object.hasOwn(axes, axis));
  if (extra.length > 0) return `${extra.map((a) => `${a}=${variant[a]}`).join(', ')}: not an axis of scenario ${scenario.name} (its axes: ${Object.keys(axes).join(', ') || 'none'})`;
  for (const axis of Object.keys(axes).sort()) {
    const value = own(variant, axis);
    const values = Object.keys(axes[axis] ?? {});
    if (value === undefined) return `no value for axis ${axis} (one of ${values.join(', ')})`;
    if (!values.includes(value)) return `${axis}=${value}: not a value of that axis (${values.join(', ')})`;
  }
  return null;
}

export function stepApplies(step: Step, variant: Variant): boolean {
  if (!step.when) return true;
  for (const [axis, want] of Object.entries(step.when)) {
    const have = variant[axis];
    if (Array.isArray(want) ? !want.includes(have ?? '') : have !== want) return false;
  }
  return true;
}

/** How many combinations `combinations()` would give, without listing them (Infinity past 2^1024). */
export function combinationCount(scenario: Scenario, pinned: Variant = {}): number {
  let n = 1;
  for (const axis of Object.keys(scenario.variants ?? {})) {
    if (own(pinned, axis) === undefined) n *= Object.keys(scenario.variants?.[axis] ?? {}).length;
  }
  return n;
}

/**
 * Every combination of the axes, axes in sorted order, values in their listed
 * order; `pinned` fixes some axes. Refuses (RangeError) to list more than
 * `limit` (MAX_COMBINATIONS unless told): 40 two-valued axes are 2^40.
 */
export function combinations(scenario: Scenario, pinned: Variant = {}, limit: number = MAX_COMBINATIONS): Variant[] {
  const count = combinationCount(scenario, pinned);
  if (count > limit) throw new RangeError(`${count} variant combinations, more than ${limit}`);
  const axes = Object.keys(scenario.variants ?? {}).sort();
  let out: Variant[] = [{}];
  for (const axis of axes) {
    const fixed = own(pinned, axis);
    const values = fixed !== undefined ? [fixed] : Object.keys(scenario.variants?.[axis] ?? {});
    out = out.flatMap((v) => values.map((value) => ({ ...v, [axis]: value })));
  }
  return out.map((v) => resolveVariant(scenario, v));
}

/** The thread names of a scenario, in the one order every consumer uses (natural sort). */
export function threadNames(scenario: Scenario): string[] {
  return Object.keys(scenario.threads ?? {}).sort(compareKeys);
}

/**
 * The scenario step an event's `step` index names: the set-up steps first,
 * then each thread's steps, thread by thread in name order (the numbering
 * engine/threads.ts threadSteps gives them). null for -1 (platform set-up),
 * an index out of range, or a generated scenario (its steps are not stored).
 */
export function stepAt(scenario: Scenario, index: number): { step: Step; thread: string | null } | null {
  if (!Number.isInteger(index) || index < 0 || scenario.generate) return null;
  if (index < scenario.steps.length) return { step: scenario.steps[index] as Step, thread: null };
  let at = scenario.steps.length;
  for (const name of threadNames(scenario)) {
    const list = scenario.threads?.[name] ?? [];
    if (index < at + list.length) return { step: list[index - at] as Step, thread: name };
    at += list.length;
  }
  return null;
}
