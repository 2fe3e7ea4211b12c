// Column encodings inside a chunk. A column is the run of one field's values
// over the events of one layout in a chunk; the encoder measures each
// candidate encoding and keeps the smallest (docs/trace-format.md, "Columns").
import { bitsFor, packBits, unpackBits } from './bits.js';
import { LIMITS, showValue } from './format.js';

export const COL = { const: 0, dict: 1, for: 2, rel: 3, any: 4 } as const;

/** What a column looks like in msgpack: [tag, ...]. */
export type ColSpec =
  | [0, unknown]
  | [1, unknown[], number, Uint8Array]
  | [2, number, number, Uint8Array, boolean]
  | [3, number, ColSpec]
  | [4, unknown[]];

/** Largest dictionary a reader accepts. */
const MAX_DICT = 4096;
/**
 * The encoder stops counting distinct values past this: an integer column
 * that varied more is cheaper as FOR, and counting costs a Map insert per
 * value (measured: half of encode time at 4096).
 */
const TRACK_DICT = 256;
/** FOR codes are bit-packed up to 32 bits; wider integers fall back to `any`. */
const MAX_WIDTH = 32;
/** Rough msgpack size of one dictionary entry, for cost estimates. */
const DICT_ENTRY_BYTES = 5;

interface Stats { ints: boolean; nullable: boolean; min: number; max: number; distinct: Map<unknown, number> | null; idx: Uint32Array; scalar: boolean }

function stats(values: readonly unknown[], track = TRACK_DICT): Stats {
  let ints = true;
  let nullable = false;
  let scalar = true;
  let min = Infinity;
  let max = -Infinity;
  let distinct: Map<unknown, number> | null = new Map();
  const idx = new Uint32Array(values.length);
  let last: unknown = undefined;
  let lastIdx = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) nullable = true;
    else if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) ints = false;
      else { if (v < min) min = v; if (v > max) max = v; }
    } else {
      ints = false;
      if (typeof v === 'object' || v === undefined) scalar = false;
    }
    if (distinct && scalar) {
      // Runs of one value are common (a constant field, a repeated RID): skip the Map.
      if (i > 0 && v === last) idx[i] = lastIdx;
      else {
        let j = distinct.get(v);
        if (j === undefined) {
          if (distinct.size >= track) { distinct = null; continue; }
          j = distinct.size;
          distinct.set(v, j);
        }
        idx[i] = lastIdx = j;
        last = v;
      }
    }
  }
  return { ints, nullable, min, max, distinct: scalar ? distinct : null, idx, scalar };
}

interface Choice { spec: ColSpec; cost: number }

function dictChoice(values: readonly unknown[], distinct: Map<unknown, number>, idx: Uint32Array): Choice {
  if (distinct.size === 1) return { spec: [COL.const, values[0] ?? null], cost: DICT_ENTRY_BYTES };
  const width = bitsFor(distinct.size);
  return { spec: [COL.dict, [...distinct.keys()], width, packBits(idx, values.length, width)], cost: (values.length * width) / 8 + distinct.size * DICT_ENTRY_BYTES };
}

/** Frame of reference: (v - min), or (v - min + 1) with 0 for null, bit-packed. */
function forChoice(values: readonly (number | null)[], st: Stats): Choice | null {
  const lo = st.min === Infinity ? 0 : st.min;
  const span = (st.max === -Infinity ? 0 : st.max - lo) + (st.nullable ? 2 : 1);
  const width = bitsFor(span);
  if (width > MAX_WIDTH || !Number.isSafeInteger(span)) return null;
  const codes = new Float64Array(values.length);
  const off = st.nullable ? 1 : 0;
  for (let i = 0; i < values.length; i++) { const v = values[i]; codes[i] = v === null || v === undefined ? 0 : v - lo + off; }
  return { spec: [COL.for, lo, width, packBits(codes, values.length, width), st.nullable], cost: (values.length * width) / 8 + 6 };
}

function bestPlain(values: readonly unknown[], st: Stats): Choice {
  let best: Choice = { spec: [COL.any, values as unknown[]], cost: Infinity };
  if (st.distinct) { const c = dictChoice(values, st.distinct, st.idx); if (c.cost < best.cost) best = c; }
  if (st.ints) { const c = forChoice(values as (number | null)[], st); if (c && c.cost < best.cost) best = c; }
  return best;
}

/**
 * Encode one column. `earlier` are the already-decoded columns of the same
 * layout: an integer column may be stored as its difference from one of them
 * (a DMA's `pa` minus its `addr` is one value per mapping).
 */
export function encodeColumn(values: readonly unknown[], earlier: readonly (readonly unknown[])[]): ColSpec {
  const st = stats(values);
  let best = bestPlain(values, st);
  // Only wide integer columns are worth a try against each earlier one.
  if (st.ints && !st.nullable && best.cost > values.length) {
    for (let j = 0; j < earlier.length; j++) {
      const ref = earlier[j];
      if (!ref || !isIntColumn(ref)) continue;
      const residual = new Array<number>(values.length);
      for (let i = 0; i < values.length; i++) residual[i] = (values[i] as number) - (ref[i] as number);
      const c = bestPlain(residual, stats(residual, 16));
      if (c.cost + 1 < best.cost) best = { spec: [COL.rel, j, c.spec], cost: c.cost + 1 };
    }
  }
  return best.spec;
}

const intColumnCache = new WeakMap<readonly unknown[], boolean>();
function isIntColumn(col: readonly unknown[]): boolean {
  let r = intColumnCache.get(col);
  if (r === undefined) { r = col.every((v) => typeof v === 'number' && Number.isSafeInteger(v)); intColumnCache.set(col, r); }
  return r;
}

/** Decode a column of `n` values; `earlier` are the layout's columns before it. */
export function decodeColumn(spec: unknown, n: number, earlier: readonly unknown[][], bad: (why: string) => never): unknown[] {
  if (!Array.isArray(spec)) bad('column is not an array');
  switch (spec[0]) {
    case COL.const: {
      const v = spec[1];
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = v;
      return out;
    }
    case COL.dict: {
      const dict = spec[1]; const width = spec[2]; const packed = spec[3];
      if (!Array.isArray(dict) || dict.length > MAX_DICT || !validWidth(width) || !(packed instanceof Uint8Array)) bad('malformed dictionary column');
      if (packed.length < Math.ceil((n * width) / 8)) bad('dictionary column shorter than its event count');
      // Indices straight into the output array, then replaced by their values in place.
      const out = new Array<unknown>(n);
      unpackBits(packed, n, width, out as number[]);
      const size = dict.length;
      for (let i = 0; i < n; i++) {
        const j = out[i] as number;
        if (j >= size) bad('dictionary index out of range');
        out[i] = dict[j];
      }
      return out;
    }
    case COL.for: {
      const lo = spec[1]; const width = spec[2]; const packed = spec[3]; const nullable = spec[4];
      if (typeof lo !== 'number' || !Number.isSafeInteger(lo) || !validWidth(width) || !(packed instanceof Uint8Array) || typeof nullable !== 'boolean') bad('malformed integer column');
      if (packed.length < Math.ceil((n * width) / 8)) bad('integer column shorter than its event count');
      const out = new Array<unknown>(n);
      unpackBits(packed, n, width, out as number[]);
      if (nullable) for (let i = 0; i < n; i++) { const c = out[i] as number; out[i] = c === 0 ? null : lo + c - 1; }
      else if (lo !== 0) for (let i = 0; i < n; i++) out[i] = lo + (out[i] as number);
      return out;
    }
    case COL.rel: {
      const j = spec[1];
      const ref = typeof j === 'number' ? earlier[j] : undefined;
      if (!ref) bad('relative column names no earlier column');
      const out = decodeColumn(spec[2], n, [], bad);
      for (let i = 0; i < n; i++) {
        const a = ref[i]; const r = out[i];
        if (typeof a !== 'number' || typeof r !== 'number') bad('relative column over a non-integer column');
        out[i] = a + r;
      }
      return out;
    }
    case COL.any: {
      const vals = spec[1];
      if (!Array.isArray(vals) || vals.length !== n) bad('value column length differs from its event count');
      return vals;
    }
    default:
      return bad(`unknown column encoding ${showValue(spec[0])}`);
  }
}

function validWidth(w: unknown): w is number {
  return typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= MAX_WIDTH;
}

