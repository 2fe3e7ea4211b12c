// A step's `expect`: what it must end in (errno, fault or success) and,
// in the object form, what it must return. Checked by run.ts after each step.
import type { Ctx } from './ctx.js';
import { hex } from './summary.js';
import { normalizeInt, u64, type Outcome } from './op.js';
import { canonical } from './state.js';
import { GP_VECTOR } from './cpu.js';
import { SMMU_EVENT, VTD_FAULT } from './iommu.js';
import { own } from './own.js';
import type { Expect, ExpectByVariant, ExpectSpec, Variant, Variants } from './scenario.js';
import { closest } from './suggest.js';
import { ERRNOS, type ArgValue } from './types.js';

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const ERRNO_SET: ReadonlySet<string> = new Set(ERRNOS);
const FAULT_CODE = /^0x[0-9a-f]+$/i;

/** Whether an expectation is the variant-dependent form `{ "by": axis, value: expect, ... }`. */
export const isByVariant = (e: unknown): e is ExpectByVariant => isObj(e) && Object.hasOwn(e, 'by');

/**
 * The expectation that holds under `variant`: a plain one as it is; the
 * `by` form looked up by the variant's value of its axis (nested `by`
 * forms in turn); undefined when the value is not listed (the step
 * expects nothing under it).
 */
export function resolveExpect(e: Expect | undefined, variant: Variant): string | ExpectSpec | undefined {
  let cur: Expect | undefined = e;
  for (let depth = 0; cur !== undefined && isByVariant(cur); depth++) {
    if (depth > 16) return undefined;
    const value = own(variant, cur.by);
    cur = value === undefined || value === 'by' ? undefined : (own(cur, value) as Expect | undefined);
  }
  return cur;
}

/** Fault codes and names a step can end in: the VT-d reasons, the SMMUv3 events, the CPU's #GP, and IOPF (a page request queued to a fault queue, engine/ops/hw.ts). */
function faultTables(): { codes: Set<number>; names: string[] } {
  const names = [...Object.values(VTD_FAULT), ...Object.values(SMMU_EVENT), '#GP', '#GP: IA32_PASID not valid', 'PASID translation miss', 'IOPF'];
  const codes = new Set<number>([...Object.keys(VTD_FAULT), ...Object.keys(SMMU_EVENT)].map(Number));
  codes.add(GP_VECTOR);
  return { codes, names };
}

/** The fault names an `expect` may give (engine/schema.ts lists them). */
export const faultNames = (): string[] => [...new Set(faultTables().names)];
/** The fault reason codes an `expect` may give. */
export const faultCodes = (): number[] => [...faultTables().codes].sort((a, b) => a - b);

/** A fault given as a code or a name that no step can end in, or null. */
function faultProblem(f: string): string | null {
  const { codes, names } = faultTables();
  if (FAULT_CODE.test(f)) return codes.has(parseInt(f, 16)) ? null : `unknown fault code ${JSON.stringify(f)} (the model's VT-d reasons, SMMUv3 event ids and #GP 0xd)`;
  if (names.includes(f)) return null;
  const close = closest(f, names);
  return `unknown fault ${JSON.stringify(f)}${close.length ? ` (did you mean ${close.map((c) => JSON.stringify(c)).join(' or ')}?)` : ' (a reason code such as "0x59", or a fault name such as "C_BAD_CD")'}`;
}

/**
 * What is wrong with an `expect` value, or null. Unknown errno names and
 * faults are refused (a typo would never match). `variants`: the scenario's
 * axes, which the `by` form names.
 */
export function expectProblem(v: unknown, variants: Variants = {}, depth = 0): string | null {
  if (typeof v === 'string') return resultProblem(v);
  if (isByVariant(v)) {
    const axis = v.by;
    if (typeof axis !== 'string') return 'by: expected the name of a variant axis';
    const values = own(variants, axis);
    if (!values || !isObj(values)) {
      const close = closest(axis, Object.keys(variants));
      return `by: unknown variant axis ${JSON.stringify(axis)}${close.length ? ` (did you mean ${close.join(' or ')}?)` : ` (axes: ${Object.keys(variants).join(', ') || 'none'})`}`;
    }
    if (depth > 8) return 'by: nested too deep';
    const keys = Object.keys(v).filter((k) => k !== 'by');
    if (keys.length === 0) return `by ${axis}: expected an expectation for at least one of its values (${Object.keys(values).join(', ')})`;
    for (const key of keys) {
      if (!Object.hasOwn(values, key)) {
        const close = closest(key, Object.keys(values));
        return `by ${axis}: ${JSON.stringify(key)} is not a value of axis ${axis}${close.length ? ` (did you mean ${close.join(' or ')}?)` : ` (values: ${Object.keys(values).join(', ')})`}`;
      }
      const inner = own(v, key);
      if (isByVariant(inner) && inner.by === axis) return `${key}: a nested "by" names axis ${axis} again`;
      const bad = expectProblem(inner, variants, depth + 1);
      if (bad) return `${key}: ${bad}`;
    }
    return null;
  }
  if (!isObj(v)) return 'expected "ok", an errno name, a fault, {errno, fault, out}, or {by: axis, value: expect, ...}';
  for (const key of Object.keys(v)) if (key !== 'errno' && key !== 'fault' && key !== 'out') return `unknown key ${JSON.stringify(key)} (known: errno, fault, out; or by)`;
  if (v.errno !== undefined && v.fault !== undefined) return 'give errno or fault, not both';
  if (v.errno !== undefined) {
    if (typeof v.errno !== 'string' || !(v.errno === 'ok' || ERRNO_SET.has(v.errno))) return `errno: unknown errno ${JSON.stringify(v.errno)} (known: ok, ${ERRNOS.join(', ')})`;
  }
  if (v.fault !== undefined && typeof v.fault !== 'string') return 'fault: expected a reason code ("0x59") or a name';
  if (typeof v.fault === 'string') { const bad = faultProblem(v.fault); if (bad) return `fault: ${bad}`; }
  if (v.out !== undefined && !isObj(v.out)) return 'out: expected an object of output fields';
  return null;
}

function resultProblem(s: string): string | null {
  if (s === 'ok' || ERRNO_SET.has(s)) return null;
  // An E-name must be a known errno; anything else is a fault, by code or name.
  if (/^E[A-Z0-9]+$/.test(s)) {
    const close = closest(s, ERRNOS);
    return `unknown errno ${JSON.stringify(s)}${close.length ? ` (did you mean ${close.join(' or ')}?)` : ` (known: ${ERRNOS.join(', ')})`}`;
  }
  return faultProblem(s);
}

function spec(e: string | ExpectSpec): ExpectSpec {
  if (typeof e !== 'string') return e;
  if (e === 'ok') return {};
  return ERRNO_SET.has(e) ? { errno: e } : { fault: e };
}

/** What a step ended in, in the words `expect` uses. */
export function outcomeText(o: Outcome, e?: string | ExpectSpec): string {
  const result = o.errno ? o.errno : o.fault ? `fault ${hex(o.fault.reason)} ${o.fault.name}` : 'ok';
  const want = e === undefined ? undefined : spec(e).out;
  if (!want) return result;
  return `${result} ${outText(Object.keys(want), o.out ?? {})}`;
}

/** The expectation as text, for the `expect` event. */
export function expectText(e: string | ExpectSpec): string {
  if (typeof e === 'string') return e;
  const s = spec(e);
  const result = s.fault ?? s.errno ?? 'ok';
  return s.out ? `${result} ${outText(Object.keys(s.out), s.out)}` : result;
}

function outText(keys: string[], out: Record<string, ArgValue | undefined>): string {
  return keys.map((key) => `out.${key}=${show(out[key])}`).join(' ');
}

const show = (v: ArgValue | undefined): string => {
  if (v === undefined) return '(absent)';
  const n = normalizeInt(v);
  return typeof n === 'number' && n > 9 ? `0x${n.toString(16)}` : JSON.stringify(n);
};

function sameValue(want: ArgValue, got: ArgValue | undefined): boolean {
  if (got === undefined) return false;
  const a = u64(want);
  const b = u64(got);
  if (a !== undefined || b !== undefined) return a === b;
  return JSON.stringify(canonical(want)) === JSON.stringify(canonical(got));
}

export function expectationMet(e: string | ExpectSpec, o: Outcome): boolean {
  const s = spec(e);
  if (s.fault !== undefined) {
    if (!o.fault) return false;
    if (FAULT_CODE.test(s.fault) ? o.fault.reason !== parseInt(s.fault, 16) : o.fault.name !== s.fault) return false;
  } else if (s.errno !== undefined && s.errno !== 'ok') {
    if (o.errno !== s.errno) return false;
  } else if (o.errno || o.fault) return false;
  for (const [key, want] of Object.entries(s.out ?? {})) if (!sameValue(want, o.out?.[key])) return false;
  return true;
}

/** The `expect` event a finished step owes when its outcome misses what it expects under `variant` (run.ts, threads.ts). */
export function reportUnmet(ctx: Ctx, e: Expect | undefined, variant: Variant, o: Outcome): void {
  const want = resolveExpect(e, variant);
  if (want !== undefined && !expectationMet(want, o)) ctx.emit({ kind: 'expect', expected: expectText(want), actual: outcomeText(o, want), ok: false });
}

/** Whether the expectation under `variant` is a fault (so a fault at that step is not a surprise). */
export function expectsFault(e: Expect | undefined, variant: Variant = {}): boolean {
  const r = resolveExpect(e, variant);
  return r !== undefined && spec(r).fault !== undefined;
}
