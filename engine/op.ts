// What every scenario op and ioctl handler declares: its fields (checked
// before anything runs) and a run function that turns the step into events.
import type { Ctx } from './ctx.js';
import type { ArgValue, Args, Errno } from './types.js';
import type { IoctlResult } from './iommufd/object.js';

/**
 * Field types. `rid`, `vm`, `iommu` and `host` must name something in the
 * platform; `int` accepts a "$ref" bound by an earlier step's `as`. A trailing
 * `?` makes the field optional. `int` is a non-negative integer exact as a
 * JS number (at most 2^53-1); `u64` is the uAPI's __u64, up to 2^64-1: the
 * handler reads it with u64(), as a bigint. Both may be written as a number
 * or as a string of decimal or 0x-hex digits. `s32` is the uAPI's __s32 (a
 * file descriptor, where -1 names none): a JSON integer from -2^31 to 2^31-1.
 */
export type FieldType = 'int' | 'u64' | 's32' | 'str' | 'bool' | 'rid' | 'vm' | 'iommu' | 'host' | 'args' | 'list';
export type FieldSpec = FieldType | `${FieldType}?` | readonly string[];

export interface Outcome {
  errno?: Errno | null;
  /** A fault the step ended in: its reason code (VT-d) or event id (SMMUv3) and name. */
  fault?: { reason: number; name: string } | null;
  /** The step's result, bound by `as` (an object id, a PASID). */
  value?: number | null;
  /** What the step returns besides its errno (an ioctl's out fields): what `expect.out` checks. */
  out?: Args;
}

export interface OpSpec {
  /** One line for docs and `--help`. */
  doc: string;
  fields: Record<string, FieldSpec>;
  run(ctx: Ctx, f: Fields): Outcome;
  /**
   * An op whose kernel path has yield points (engine/threads.ts): `start`
   * runs it up to the first one, `resume` from a continuation to the next;
   * `run` is the same phases driven back to back (drive()), so a step outside
   * a thread records exactly what it always did.
   */
  phased?: Phased;
}

/**
 * Where a suspended step stopped: `at` names the yield point (the kernel
 * function and the place in it), `data` is the plain data it needs to go on,
 * so a suspended thread snapshots like the state does.
 */
export interface Cont {
  at: string; data: ArgValue;
  /** Locks the suspended step holds (a mutex the kernel path keeps across the yield point). */
  locks?: string[];
  /** The lock the step waits to take: it is not runnable while another thread holds it. */
  waitFor?: string;
}
export type Phase = { yield: Cont } | { done: Outcome };
export interface Phased {
  start(ctx: Ctx, f: Fields): Phase;
  resume(ctx: Ctx, f: Fields, c: Cont): Phase;
}

/** Run a phased op to completion: every yield point passed straight through. */
export function drive(ctx: Ctx, f: Fields, p: Phased): Outcome {
  let r = p.start(ctx, f);
  while ('yield' in r) r = p.resume(ctx, f, r.yield);
  return r.done;
}

/** A step's fields after `$ref`s are resolved. */
export type Fields = { [k: string]: ArgValue | undefined };

export const num = (f: Fields, name: string): number => f[name] as number;
export const optNum = (f: Fields, name: string): number | null => (typeof f[name] === 'number' ? (f[name] as number) : null);
export const str = (f: Fields, name: string): string => f[name] as string;
export const optStr = (f: Fields, name: string): string | null => (typeof f[name] === 'string' ? (f[name] as string) : null);
export const bool = (f: Fields, name: string, fallback = false): boolean => (typeof f[name] === 'boolean' ? (f[name] as boolean) : fallback);
export const args = (f: Fields, name: string): Args => (f[name] ?? {}) as Args;

export const ok = (value: number | null = null): Outcome => ({ errno: null, value });
export const fail = (errno: Errno): Outcome => ({ errno });

/** An ioctl the `ioctl` op can issue: its file, number, argument fields and handler. */
export interface IoctlSpec {
  /** Which file the ioctl is issued on; the step's `fd` names the instance. */
  file: 'iommufd' | 'ioasid' | 'vfio' | 'kvm';
  /** iommufd ioctl number (_IO(';', nr)), where the uAPI has one. */
  nr?: number;
  args: Record<string, FieldSpec>;
  run(ctx: Ctx, fdName: string, a: Fields): IoctlResult;
  /** A handler with yield points (engine/yields.ts); `run` is then the phases driven back to back. */
  phased?: {
    start(ctx: Ctx, fdName: string, a: Fields): { yield: Cont } | { done: IoctlResult };
    resume(ctx: Ctx, fdName: string, a: Fields, c: Cont): { yield: Cont } | { done: IoctlResult };
  };
}

export const U64_MAX = (1n << 64n) - 1n;

/**
 * An integer field as the u64 the uAPI struct holds: a JSON number, or a
 * string of decimal or 0x-hex digits (exact past 2^53, e.g. U64_MAX for
 * unmap-all). undefined when absent or not an integer.
 */
export function u64(v: ArgValue | undefined): bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  if (typeof v === 'string' && /^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(v)) {
    const b = BigInt(v);
    return b <= U64_MAX ? b : undefined;
  }
  return undefined;
}

/** The low `bytes` bytes of a little-endian integer: what survives a copy of that many bytes. */
export const lowBytes = (v: bigint, bytes: number): bigint => (bytes >= 8 ? v : v & ((1n << BigInt(8 * Math.max(0, bytes))) - 1n));

/**
 * The canonical form of an integer field: a number when it is exact as one,
 * else a lower-case 0x-hex string (what the trace stores, losslessly).
 */
export function normalizeInt(v: ArgValue | undefined): ArgValue | undefined {
  const b = u64(v);
  if (b === undefined) return v;
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : `0x${b.toString(16)}`;
}

/** Integer fields in their canonical form (normalizeInt), by the fields' specs; other fields as they are. */
export function normalizeFields(specs: Record<string, FieldSpec>, f: Fields): Fields {
  let out: Fields | null = null;
  for (const name of Object.keys(specs)) {
    const spec = specs[name];
    const v = f[name];
    if (typeof v !== 'string' || typeof spec !== 'string' || !(spec.startsWith('int') || spec.startsWith('u64'))) continue;
    out ??= { ...f };
    out[name] = normalizeInt(v);
  }
  return out ?? f;
}
