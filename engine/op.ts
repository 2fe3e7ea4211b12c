// What every scenario op and ioctl handler declares: its fields (checked
// before anything runs) and a run function that turns the step into events.
import type { Ctx } from './ctx.js';
import type { ArgValue, Args, Errno } from './types.js';

/**
 * Field types. `rid`, `vm`, `iommu` and `host` must name something in the
 * platform; `int` accepts a "$ref" bound by an earlier step's `as`. A trailing
 * `?` makes the field optional.
 */
export type FieldType = 'int' | 'str' | 'bool' | 'rid' | 'vm' | 'iommu' | 'host' | 'args' | 'list';
export type FieldSpec = FieldType | `${FieldType}?` | readonly string[];

export interface Outcome {
  errno?: Errno | null;
  /** A fault the step ended in: its reason code (VT-d) or event id (SMMUv3) and name. */
  fault?: { reason: number; name: string } | null;
  /** The step's result, bound by `as` (an object id, a PASID). */
  value?: number | null;
}

export interface OpSpec {
  /** One line for docs and `--help`. */
  doc: string;
  fields: Record<string, FieldSpec>;
  run(ctx: Ctx, f: Fields): Outcome;
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
