// A step's `expect`: what it must end in (errno, fault or success) and,
// in the object form, what it must return. Checked by run.ts after each step.
import { hex } from './summary.js';
import { normalizeInt, u64, type Outcome } from './op.js';
import { canonical } from './state.js';
import type { Expect, ExpectSpec } from './scenario.js';
import { ERRNOS, type ArgValue } from './types.js';

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const ERRNO_SET: ReadonlySet<string> = new Set(ERRNOS);
const FAULT_CODE = /^0x[0-9a-f]+$/i;

/** What is wrong with an `expect` value, or null. Unknown errno names are refused (a typo would never match). */
export function expectProblem(v: unknown): string | null {
  if (typeof v === 'string') return resultProblem(v);
  if (!isObj(v)) return 'expected "ok", an errno name, a fault, or {errno, fault, out}';
  for (const key of Object.keys(v)) if (key !== 'errno' && key !== 'fault' && key !== 'out') return `unknown key ${JSON.stringify(key)} (known: errno, fault, out)`;
  if (v.errno !== undefined && v.fault !== undefined) return 'give errno or fault, not both';
  if (v.errno !== undefined) {
    if (typeof v.errno !== 'string' || !(v.errno === 'ok' || ERRNO_SET.has(v.errno))) return `errno: unknown errno ${JSON.stringify(v.errno)} (known: ok, ${ERRNOS.join(', ')})`;
  }
  if (v.fault !== undefined && typeof v.fault !== 'string') return 'fault: expected a reason code ("0x59") or a name';
  if (v.out !== undefined && !isObj(v.out)) return 'out: expected an object of output fields';
  return null;
}

function resultProblem(s: string): string | null {
  if (s === 'ok' || ERRNO_SET.has(s) || FAULT_CODE.test(s)) return null;
  // Anything else upper-case is a fault name (C_BAD_CD) or an unknown errno: an E-name must be a known errno.
  if (/^E[A-Z0-9]+$/.test(s)) return `unknown errno ${JSON.stringify(s)} (known: ${ERRNOS.join(', ')})`;
  return null;
}

function spec(e: Expect): ExpectSpec {
  if (typeof e !== 'string') return e;
  if (e === 'ok') return {};
  return ERRNO_SET.has(e) ? { errno: e } : { fault: e };
}

/** What a step ended in, in the words `expect` uses. */
export function outcomeText(o: Outcome, e?: Expect): string {
  const result = o.errno ? o.errno : o.fault ? `fault ${hex(o.fault.reason)} ${o.fault.name}` : 'ok';
  const want = e === undefined ? undefined : spec(e).out;
  if (!want) return result;
  return `${result} ${outText(Object.keys(want), o.out ?? {})}`;
}

/** The expectation as text, for the `expect` event. */
export function expectText(e: Expect): string {
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

export function expectationMet(e: Expect, o: Outcome): boolean {
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

/** Whether the expectation is a fault (so a fault at that step is not a surprise). */
export function expectsFault(e: Expect | undefined): boolean {
  return e !== undefined && spec(e).fault !== undefined;
}
