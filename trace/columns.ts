// Column encodings inside a chunk. A column is the run of one field's values
// over the events of one layout in a chunk; the encoder measures each
// candidate encoding and keeps the smallest (docs/trace-format.md, "Columns").
//
// The encoder writes the chunk's msgpack itself, straight into one growing
// byte buffer (the same bytes @msgpack/msgpack wrote for the spec arrays it
// was given before: integers in their smallest form, ASCII strings as fixstr
// / str8..., anything else through @msgpack/msgpack itself). It chooses
// exactly what the first encoder chose: the smallest of const / dict / FOR,
// ties to dict, then rel against each earlier integer column when that is
// smaller by more than a byte. It only gets there cheaper:
// * one pass for the type, range and nulls of a column, and one pass for
//   boolean and string columns, which are most of them;
// * distinct values in first-appearance order through a direct table when an
//   integer column's range is small, a stamped open-addressing table when it
//   is wide, and a short list (then a Map) for strings;
// * only the chosen encoding is bit-packed, straight into the output;
// * no spec arrays, no Uint8Array per column, no encoder walk over them.
import { Encoder } from '@msgpack/msgpack';
import { bitsFor, unpackBits } from './bits.js';
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
export const MAX_DICT = 4096;
/**
 * The encoder stops counting distinct values past this: an integer column
 * that varied more is cheaper as FOR, and counting costs a lookup per value.
 */
const TRACK_DICT = 256;
/** Distinct residuals counted when a column is tried relative to another. */
const TRACK_REL = 16;
/** FOR codes are bit-packed up to 32 bits; wider integers fall back to `any`. */
export const MAX_WIDTH = 32;
/** Rough msgpack size of one dictionary entry, for cost estimates. */
const DICT_ENTRY_BYTES = 5;

// ---------------------------------------------------------------------------
// The output: msgpack written by hand into one buffer (the encoder is
// synchronous, so module state is safe).

let out = new Uint8Array(1 << 16);
let at = 0;

function ensure(k: number): void {
  if (at + k <= out.length) return;
  let size = out.length * 2;
  while (size < at + k) size *= 2;
  const next = new Uint8Array(size);
  next.set(out.subarray(0, at));
  out = next;
}

/** Start a new payload. */
export function sinkReset(): void { at = 0; }
/** The payload written since sinkReset (a copy). */
export function sinkTake(): Uint8Array { return out.slice(0, at); }
/** The payload written since sinkReset, in place (valid until the next write). */
export function sinkView(): Uint8Array { return out.subarray(0, at); }

/**
 * Values that are not small integers, ASCII strings, booleans or null go
 * through @msgpack/msgpack, with its depth limit (100) counted from the
 * chunk's root: `depth` is where the value sits (the root array is 1).
 */
const delegates = new Map<number, Encoder>();
function putDelegated(v: unknown, depth: number): void {
  let enc = delegates.get(depth);
  if (!enc) delegates.set(depth, (enc = new Encoder({ ignoreUndefined: false, initialBufferSize: 1 << 12, maxDepth: 101 - depth })));
  const b = enc.encodeSharedRef(v);
  ensure(b.length);
  out.set(b, at);
  at += b.length;
}

export function putArrayHeader(size: number): void {
  ensure(5);
  if (size < 16) out[at++] = 0x90 + size;
  else if (size < 0x10000) { out[at++] = 0xdc; out[at++] = size >>> 8; out[at++] = size & 0xff; } else {
    out[at++] = 0xdd; out[at++] = size >>> 24; out[at++] = (size >>> 16) & 0xff; out[at++] = (size >>> 8) & 0xff; out[at++] = size & 0xff;
  }
}

function putBinHeader(size: number): void {
  ensure(5);
  if (size < 0x100) { out[at++] = 0xc4; out[at++] = size; } else if (size < 0x10000) { out[at++] = 0xc5; out[at++] = size >>> 8; out[at++] = size & 0xff; } else {
    out[at++] = 0xc6; out[at++] = size >>> 24; out[at++] = (size >>> 16) & 0xff; out[at++] = (size >>> 8) & 0xff; out[at++] = size & 0xff;
  }
}

/** A number as @msgpack/msgpack writes it (integers below 2^32 in magnitude here, the rest through it). */
function putNumber(v: number): void {
  ensure(5);
  if (v >= 0 && v < 0x80 && (v | 0) === v) out[at++] = v;
  else if (Number.isSafeInteger(v) && v < 0x100000000 && v >= -0x80000000) {
    if (v >= 0) {
      if (v < 0x100) { out[at++] = 0xcc; out[at++] = v; } else if (v < 0x10000) { out[at++] = 0xcd; out[at++] = v >>> 8; out[at++] = v & 0xff; } else {
        out[at++] = 0xce; out[at++] = v >>> 24; out[at++] = (v >>> 16) & 0xff; out[at++] = (v >>> 8) & 0xff; out[at++] = v & 0xff;
      }
    } else if (v >= -0x20) out[at++] = 0xe0 | (v + 0x20);
    else if (v >= -0x80) { out[at++] = 0xd0; out[at++] = v & 0xff; } else if (v >= -0x8000) { out[at++] = 0xd1; out[at++] = (v >> 8) & 0xff; out[at++] = v & 0xff; } else {
      out[at++] = 0xd2; out[at++] = (v >> 24) & 0xff; out[at++] = (v >> 16) & 0xff; out[at++] = (v >> 8) & 0xff; out[at++] = v & 0xff;
    }
  } else putDelegated(v, 1);
}

/** A string: ASCII written here, anything else through @msgpack/msgpack (its UTF-8 rules for lone surrogates). */
export function putString(s: string): void {
  const len = s.length;
  if (len < 0x10000) {
    ensure(len + 3);
    const h = at;
    let p = h + (len < 32 ? 1 : len < 0x100 ? 2 : 3);
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) { putDelegated(s, 1); return; }
      out[p++] = c;
    }
    if (len < 32) out[h] = 0xa0 + len;
    else if (len < 0x100) { out[h] = 0xd9; out[h + 1] = len; } else { out[h] = 0xda; out[h + 1] = len >>> 8; out[h + 2] = len & 0xff; }
    at = p;
  } else putDelegated(s, 1);
}

/** Any value at `depth` in the chunk's msgpack. */
export function putValue(v: unknown, depth: number): void {
  if (v === null || v === undefined) { ensure(1); out[at++] = 0xc0; } else if (v === false) { ensure(1); out[at++] = 0xc2; } else if (v === true) { ensure(1); out[at++] = 0xc3; } else if (typeof v === 'number') putNumber(v);
  else if (typeof v === 'string') putString(v);
  else putDelegated(v, depth);
}

function putMapHeader(size: number): void {
  ensure(5);
  if (size < 16) out[at++] = 0x80 + size;
  else if (size < 0x10000) { out[at++] = 0xde; out[at++] = size >>> 8; out[at++] = size & 0xff; } else {
    out[at++] = 0xdf; out[at++] = size >>> 24; out[at++] = (size >>> 16) & 0xff; out[at++] = (size >>> 8) & 0xff; out[at++] = size & 0xff;
  }
}

/**
 * Any value at `depth`, arrays and plain objects written here as
 * @msgpack/msgpack writes them (for-of over an array; a map of
 * Object.keys(), undefined values kept): a before / after object of every
 * page-table write no longer goes through an Encoder. Anything else (dates,
 * typed arrays, class instances) and anything near the depth limit does.
 */
export function putDeep(v: unknown, depth: number): void {
  if (v === null || typeof v !== 'object') { putValue(v, depth); return; }
  if (depth > 90) { putDelegated(v, depth); return; }
  if (Array.isArray(v)) {
    putArrayHeader(v.length);
    for (const item of v as unknown[]) putDeep(item, depth + 1);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) { putDelegated(v, depth); return; }
  const keys = Object.keys(v);
  putMapHeader(keys.length);
  for (const k of keys) {
    putString(k);
    putDeep((v as Record<string, unknown>)[k], depth + 1);
  }
}

/** A bin of raw bytes (the chunk's state hash). */
export function putBytes(b: Uint8Array): void {
  putBinHeader(b.length);
  ensure(b.length);
  out.set(b, at);
  at += b.length;
}

// ---------------------------------------------------------------------------
// Choosing an encoding. A column is `n` values from `base` in one generic
// array (the chunk's slab: every column of every layout, so no array per
// column and one array shape in every loop below).

/** What the last pass over a column found. */
let sInts = true;
let sNullable = false;
let sScalar = true;
let sMin = Infinity;
let sMax = -Infinity;

/** Type, range and nulls of any column. */
function scan(values: readonly unknown[], base: number, n: number): void {
  let ints = true;
  let nullable = false;
  let scalar = true;
  let min = Infinity;
  let max = -Infinity;
  for (let i = base, end = base + n; i < end; i++) {
    const v = values[i];
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) ints = false;
      else { if (v < min) min = v; if (v > max) max = v; }
    } else if (v === null) nullable = true;
    else {
      ints = false;
      if (typeof v === 'object' || v === undefined) scalar = false;
    }
  }
  sInts = ints; sNullable = nullable; sScalar = scalar; sMin = min; sMax = max;
}

/** Dictionary indices of the last counted column (first-appearance order). */
let dIdx = new Uint32Array(1024);
/** Direct table for integer columns of a small range: value - min -> index + 1 (0: unseen). */
const TABLE_SPAN = 4096;
const table = new Int32Array(TABLE_SPAN);
/** Open addressing for integer columns: keys, indices, and a stamp per slot instead of clearing. */
const HASH_SLOTS = 1024;
const hKeys = new Float64Array(HASH_SLOTS);
const hVals = new Int32Array(HASH_SLOTS);
const hStamp = new Int32Array(HASH_SLOTS);
let stamp = 0;
/** A counting pass's answer when the column is not of the kind that pass expects. */
const MIXED: unknown[] = [];

function growIdx(n: number): Uint32Array {
  if (dIdx.length < n) dIdx = new Uint32Array(Math.max(n, dIdx.length * 2));
  return dIdx;
}

function nextStamp(): number {
  if (++stamp > 0x7fffffff) { stamp = 1; hStamp.fill(0); }
  return stamp;
}

/**
 * The distinct values of a scanned integer column (safe integers and nulls)
 * of a wide range, in first-appearance order (Map semantics: -0 as 0), their
 * indices in dIdx; null as soon as there are more than `track`.
 */
function countInts(values: readonly unknown[], base: number, n: number, track: number): unknown[] | null {
  const idx = growIdx(n);
  const st = nextStamp();
  const keys: unknown[] = [];
  let nullAt = -1;
  let last: unknown = undefined;
  let lastIdx = 0;
  for (let i = 0; i < n; i++) {
    const v = values[base + i];
    if (i > 0 && v === last) { idx[i] = lastIdx; continue; }
    let j = 0;
    if (v === null) {
      j = nullAt;
      if (j < 0) { if (keys.length >= track) return null; j = nullAt = keys.length; keys.push(null); }
    } else {
      const x = v as number;
      let h = (Math.imul((x | 0) ^ ((x * 2.3283064365386963e-10) | 0), 0x9e3779b1) >>> 22) & (HASH_SLOTS - 1);
      for (;;) {
        if (hStamp[h] !== st) {
          if (keys.length >= track) return null;
          j = keys.length;
          hStamp[h] = st; hKeys[h] = x; hVals[h] = j;
          keys.push(x === 0 ? 0 : x);
          break;
        }
        if (hKeys[h] === x) { j = hVals[h] as number; break; }
        h = (h + 1) & (HASH_SLOTS - 1);
      }
    }
    idx[i] = lastIdx = j;
    last = v;
  }
  return keys;
}

/**
 * The distinct values of a scanned column in first-appearance order (Map
 * semantics: SameValueZero, -0 kept as 0), their indices in dIdx; null once
 * more than `track` are seen. `ints`: every value is a safe integer or null.
 */
function countDistinct(values: readonly unknown[], base: number, n: number, track: number, ints: boolean, min: number, max: number): unknown[] | null {
  if (ints && min !== Infinity && max - min < TABLE_SPAN) {
    const idx = growIdx(n);
    const keys: unknown[] = [];
    table.fill(0, 0, max - min + 1);
    let nullAt = -1;
    for (let i = 0; i < n; i++) {
      const v = values[base + i];
      let j: number;
      if (v === null) {
        j = nullAt;
        if (j < 0) { if (keys.length >= track) return null; j = nullAt = keys.length; keys.push(null); }
      } else {
        const t = (v as number) - min;
        j = (table[t] as number) - 1;
        if (j < 0) { if (keys.length >= track) return null; j = keys.length; table[t] = j + 1; keys.push(v === 0 ? 0 : v); }
      }
      idx[i] = j;
    }
    return keys;
  }
  if (ints) return countInts(values, base, n, track);
  return countScalars(values, base, n, track, false);
}

/**
 * Distinct scalars through a short list, then a Map. `strings`: give up with
 * MIXED at the first value that is not a string (the caller then scans).
 */
function countScalars(values: readonly unknown[], base: number, n: number, track: number, strings: boolean): unknown[] | null {
  const idx = growIdx(n);
  const keys: unknown[] = [];
  let map: Map<unknown, number> | null = null;
  let last: unknown = undefined;
  let lastIdx = 0;
  for (let i = 0; i < n; i++) {
    const v = values[base + i];
    if (i > 0 && v === last) { idx[i] = lastIdx; continue; }
    if (strings && typeof v !== 'string') return MIXED;
    let j = -1;
    if (map) j = map.get(v) ?? -1;
    else {
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        // eslint-disable-next-line no-self-compare
        if (key === v || (key !== key && v !== v)) { j = k; break; }
      }
    }
    if (j < 0) {
      if (keys.length >= track) {
        // Too many for a dictionary; a string column must still be all strings to skip the scan.
        if (strings) for (let k = i + 1; k < n; k++) if (typeof values[base + k] !== 'string') return MIXED;
        return null;
      }
      j = keys.length;
      const key = v === 0 ? 0 : v;
      keys.push(key);
      if (map) map.set(key, j);
      else if (keys.length > 8) { map = new Map(); for (let k = 0; k < keys.length; k++) map.set(keys[k], k); }
    }
    idx[i] = lastIdx = j;
    last = v;
  }
  return keys;
}

/** A boolean column in one pass: its distinct values in order (indices in dIdx), or MIXED. */
function countBooleans(values: readonly unknown[], base: number, n: number): unknown[] {
  const idx = growIdx(n);
  const first = values[base];
  let second = false;
  for (let i = 0; i < n; i++) {
    const v = values[base + i];
    if (v === first) idx[i] = 0;
    else if (v === !first) { idx[i] = 1; second = true; } else return MIXED;
  }
  return second ? [first, !first] : [first];
}

/** The output as 32-bit little-endian words for the packers (rebuilt when the buffer grows). */
let outView = new DataView(out.buffer);

/**
 * Bit-pack n codes into the output as a bin: LSB first, in 32-bit
 * little-endian words (the same bytes as a byte at a time), `code(i)`
 * giving value i (below 2^width, width 1..32). The final word is cut to
 * the bytes the bin holds.
 */
function packBin(n: number, width: number): number {
  const bytes = Math.ceil((n * width) / 8);
  putBinHeader(bytes);
  ensure(bytes + 8);
  if (outView.buffer !== out.buffer) outView = new DataView(out.buffer);
  return bytes;
}

/** Bit-pack n dictionary indices idx[base..] into the output, as a bin. */
function packIdx(idx: Uint32Array, base: number, n: number, width: number): void {
  const bytes = packBin(n, width);
  if (width === 0) { out.fill(0, at, at + bytes); at += bytes; return; }
  const dv = outView;
  const start = at;
  let o = at;
  let acc = 0;
  let nacc = 0;
  const stop = base + n;
  for (let i = base; i < stop; i++) {
    const c = idx[i] as number;
    acc |= c << nacc;
    nacc += width;
    if (nacc >= 32) {
      dv.setUint32(o, acc, true);
      o += 4;
      nacc -= 32;
      acc = nacc === 0 ? 0 : c >>> (width - nacc);
    }
  }
  for (; nacc > 0; nacc -= 8) { out[o++] = acc & 0xff; acc >>>= 8; }
  at = start + bytes;
}

/** FOR codes (v - lo, or v - lo + 1 with 0 for null) bit-packed straight from the values into the output, as a bin. */
function packFor(values: readonly unknown[], base: number, n: number, lo: number, nullable: boolean, width: number): void {
  const bytes = packBin(n, width);
  if (width === 0) { out.fill(0, at, at + bytes); at += bytes; return; }
  const dv = outView;
  const off = nullable ? 1 : 0;
  const start = at;
  let o = at;
  let acc = 0;
  let nacc = 0;
  for (let i = base, end = base + n; i < end; i++) {
    const v = values[i];
    // Below 2^32: the shifts see it as a uint32.
    const c = v === null || v === undefined ? 0 : (v as number) - lo + off;
    acc |= c << nacc;
    nacc += width;
    if (nacc >= 32) {
      dv.setUint32(o, acc, true);
      o += 4;
      nacc -= 32;
      acc = nacc === 0 ? 0 : c >>> (width - nacc);
    }
  }
  for (; nacc > 0; nacc -= 8) { out[o++] = acc & 0xff; acc >>>= 8; }
  at = start + bytes;
}

/**
 * A generic array of at least `n` slots for the encoder's values, of one
 * elements kind (generic, holey), so every loop above sees one array shape: a
 * mix of small-integer, double, generic and typed arrays made every element
 * read in them megamorphic (measured 2-3x slower).
 */
export function newColumn(n: number): unknown[] {
  const a = new Array<unknown>(n);
  if (n > 0) a[0] = null;
  return a;
}

const NONE = 0;
const DICT = 1;
const FOR = 2;

/** Where a column's own values sit in the chunk's msgpack: root, columns, layout, spec, value. */
const COLUMN_VALUE_DEPTH = 5;

/** [0, v] */
function putConst(v: unknown): void {
  putArrayHeader(2);
  putNumber(COL.const);
  putDeep(v, COLUMN_VALUE_DEPTH);
}

/** [1, keys, width, bin]; the indices are idx[base..base + n) (dIdx from 0 for the counting passes). */
function putDict(keys: readonly unknown[], n: number, idx: Uint32Array = dIdx, base = 0): void {
  const width = bitsFor(keys.length);
  putArrayHeader(4);
  putNumber(COL.dict);
  putArrayHeader(keys.length);
  for (let k = 0; k < keys.length; k++) putValue(keys[k], COLUMN_VALUE_DEPTH + 1);
  putNumber(width);
  packIdx(idx, base, n, width);
}

/** [2, lo, width, bin, nullable] */
function putFor(values: readonly unknown[], base: number, n: number, lo: number, width: number, nullable: boolean): void {
  putArrayHeader(5);
  putNumber(COL.for);
  putNumber(lo);
  putNumber(width);
  packFor(values, base, n, lo, nullable, width);
  ensure(1);
  out[at++] = nullable ? 0xc3 : 0xc2;
}

/** [4, values] */
function putAny(values: readonly unknown[], base: number, n: number): void {
  putArrayHeader(2);
  putNumber(COL.any);
  putArrayHeader(n);
  for (let i = base, end = base + n; i < end; i++) putDeep(values[i], COLUMN_VALUE_DEPTH + 1);
}

/** Residuals of a column against an earlier one (scratch, reused per candidate). */
let residual = newColumn(1024) as number[];

/**
 * Write one column of `n` values from values[base] (the run columns and the
 * layout column: no earlier columns to be relative to).
 */
export function writeColumn(values: readonly unknown[], base: number, n: number): void {
  writeOne(values, base, n, NO_BASES, 0);
}
const NO_BASES = new Int32Array(0);

/**
 * The `count` columns of one layout, `n` rows each, column j at
 * values[bases[j]], each encoded against the ones before it.
 */
export function writeColumns(values: readonly unknown[], bases: Int32Array, count: number, n: number): void {
  putArrayHeader(count);
  for (let j = 0; j < count; j++) {
    // bases[j] < 0 marks column j as holding only safe integers (no null): a reference for later ones.
    if (writeOne(values, bases[j] as number, n, bases, j)) bases[j] = -1 - (bases[j] as number);
  }
  for (let j = 0; j < count; j++) if ((bases[j] as number) < 0) bases[j] = -1 - (bases[j] as number);
}

/**
 * One column. The layout's earlier columns are the first `nEarlier` of
 * `bases` (negative: -1 - base of a column of safe integers only): an
 * integer column may be stored as its difference from one of those (a DMA's
 * `pa` minus its `addr` is one value per mapping). Returns whether this
 * column holds only safe integers.
 */
function writeOne(values: readonly unknown[], base: number, n: number, bases: Int32Array, nEarlier: number): boolean {
  const v0 = values[base];
  // Booleans and strings: one pass (neither is ever FOR or rel).
  if (typeof v0 === 'boolean') {
    const keys = countBooleans(values, base, n);
    if (keys !== MIXED) {
      if (keys.length === 1) putConst(v0);
      else putDict(keys, n);
      return false;
    }
  } else if (typeof v0 === 'string') {
    const keys = countScalars(values, base, n, TRACK_DICT, true);
    if (keys !== MIXED) {
      if (keys === null) putAny(values, base, n);
      else if (keys.length === 1) putConst(v0);
      else putDict(keys, n);
      return false;
    }
  }
  scan(values, base, n);
  return writeScanned(values, base, n, bases, nEarlier, sInts, sScalar, sNullable, sMin, sMax);
}

/** writeOne once the column's type, nulls and range are known. */
function writeScanned(values: readonly unknown[], base: number, n: number, bases: Int32Array, nEarlier: number, ints: boolean, scalar: boolean, nullable: boolean, min: number, max: number): boolean {
  // FOR first: when it is possible, a dictionary needs fewer distinct values than it allows to win.
  let forWidth = -1;
  let forCost = Infinity;
  const lo = min === Infinity ? 0 : min;
  if (ints) {
    // One distinct value (all equal, or all null): const, whatever FOR would cost.
    if (min === Infinity || (!nullable && min === max)) { putConst(values[base] ?? null); return !nullable; }
    const span = (max === -Infinity ? 0 : max - lo) + (nullable ? 2 : 1);
    const width = bitsFor(span);
    if (width <= MAX_WIDTH && Number.isSafeInteger(span)) { forWidth = width; forCost = (n * width) / 8 + 6; }
  }
  // Plain candidates: dict (or const) when few distinct scalars (ties to dict), FOR when integers.
  let bestKind = NONE;
  let bestCost = Infinity;
  let keys: unknown[] | null = null;
  if (scalar) {
    const cap = dictCap(n, forCost);
    if (cap >= 2) keys = countDistinct(values, base, n, cap, ints, min, max);
    if (keys) {
      if (keys.length === 1) { putConst(values[base] ?? null); return ints && !nullable; }
      bestKind = DICT;
      bestCost = (n * bitsFor(keys.length)) / 8 + keys.length * DICT_ENTRY_BYTES;
    }
  }
  if (forCost < bestCost) { bestKind = FOR; bestCost = forCost; }
  // Only wide integer columns are worth a try against each earlier one.
  let relJ = -1;
  let relKind = NONE;
  if (ints && !nullable && bestCost > n) {
    if (residual.length < n) residual = newColumn(Math.max(n, residual.length * 2)) as number[];
    relRef = -1;
    for (let j = 0; j < nEarlier; j++) {
      const b = bases[j] as number;
      if (b >= 0) continue;
      const kind = relCost(values, base, -1 - b, n, bestCost - 1);
      if (relBest + 1 < bestCost) { bestCost = relBest + 1; relJ = j; relKind = kind; }
    }
  }
  if (relJ >= 0) {
    const refBase = -1 - (bases[relJ] as number);
    // The winner is usually the last one tried (the nearest earlier column): its residuals are in place.
    if (relRef !== refBase) relCost(values, base, refBase, n, Infinity);
    const res = residual;
    putArrayHeader(3);
    putNumber(COL.rel);
    putNumber(relJ);
    if (relKind === DICT) {
      if (relD === 1) putConst(res[0] ?? null);
      else {
        const rk: unknown[] = [];
        for (let k = 0; k < relD; k++) { const v = relSeen[k] as number; rk.push(v === 0 ? 0 : v); }
        putDict(rk, n, rIdx, 0);
      }
    } else {
      const rlo = rMin === Infinity ? 0 : rMin;
      putFor(res, 0, n, rlo, bitsFor((rMax === -Infinity ? 0 : rMax - rlo) + 1), false);
    }
  } else if (bestKind === DICT) putDict(keys as unknown[], n);
  else if (bestKind === FOR) putFor(values, base, n, lo, forWidth, nullable);
  else putAny(values, base, n);
  return ints && !nullable;
}

/**
 * The most distinct values a dictionary may have and still cost no more
 * than `beat`, FOR's cost (ties go to the dictionary), at most TRACK_DICT:
 * counting stops past it, since a dictionary's cost only grows with its
 * size. Below 2 nothing but const could win.
 */
function dictCap(n: number, beat: number): number {
  if (beat === Infinity) return TRACK_DICT;
  const cost = (d: number): number => (n * bitsFor(d)) / 8 + d * DICT_ENTRY_BYTES;
  let cap = 1;
  for (let b = 1; b <= 8; b++) {
    const top = Math.min(1 << b, Math.floor((beat - (n * b) / 8) / DICT_ENTRY_BYTES));
    if (top > (1 << (b - 1))) cap = top;
  }
  cap = Math.min(cap, TRACK_DICT);
  // The float comparison the choice itself makes decides.
  while (cap < TRACK_DICT && cost(cap + 1) <= beat) cap++;
  while (cap >= 2 && !(cost(cap) <= beat)) cap--;
  return cap;
}

let rInts = true;
let rMin = Infinity;
let rMax = -Infinity;
/** relCost's cost (Infinity when it gave up early). */
let relBest = Infinity;

/**
 * The best plain encoding of the residuals values - ref, as the first
 * encoder's bestPlain(residual, stats(residual, 16)) chose it: returns its
 * kind, its cost in relBest, the residuals in `residual`, their range in
 * rMin / rMax. Gives up (relBest = Infinity) as soon as neither a
 * dictionary (more than 16 distinct) nor FOR could cost less than `beat`.
 */
function relCost(values: readonly unknown[], base: number, refBase: number, n: number, beat: number): number {
  const res = residual;
  const seen = relSeen;
  // FOR beats `beat` only below this span (cost n * width / 8 + 6 < beat).
  const wMax = Math.ceil(((beat - 6) * 8) / n) - 1;
  const spanMax = wMax >= 53 ? Infinity : wMax < 0 ? 0 : 2 ** wMax;
  if (rIdx.length < n) rIdx = new Uint32Array(Math.max(n, rIdx.length * 2));
  const idx = rIdx;
  let ints = true;
  let min = Infinity;
  let max = -Infinity;
  let d = 0;
  relRef = refBase;
  for (let i = 0; i < n; i++) {
    const r = (values[base + i] as number) - (values[refBase + i] as number);
    res[i] = r;
    if (!Number.isSafeInteger(r)) ints = false;
    else { if (r < min) min = r; if (r > max) max = r; }
    if (d <= TRACK_REL) {
      // The dictionary's indices on the way (first appearance, as countDistinct would give them).
      let k = 0;
      while (k < d && seen[k] !== r) k++;
      if (k === d) { if (d === TRACK_REL) d = TRACK_REL + 1; else seen[d++] = r; }
      idx[i] = k;
    } else if (!ints || max - min + 1 > spanMax) { relBest = Infinity; relRef = -1; return NONE; }
  }
  rInts = ints; rMin = min; rMax = max; relD = d;
  let kind = NONE;
  let cost = Infinity;
  if (d <= TRACK_REL) { kind = DICT; cost = d === 1 ? DICT_ENTRY_BYTES : (n * bitsFor(d)) / 8 + d * DICT_ENTRY_BYTES; }
  if (ints) {
    const lo = min === Infinity ? 0 : min;
    const span = (max === -Infinity ? 0 : max - lo) + 1;
    const width = bitsFor(span);
    if (width <= MAX_WIDTH && Number.isSafeInteger(span)) {
      const c = (n * width) / 8 + 6;
      if (c < cost) { kind = FOR; cost = c; }
    }
  }
  relBest = cost;
  return kind;
}
const relSeen = new Float64Array(TRACK_REL + 1);
/** The reference column (its base) and distinct residuals of the last complete relCost: its residual, idx and keys are still in place. */
let relRef = -1;
let relD = 0;
/** Dictionary indices of the residuals (apart from dIdx, which the plain candidate's dictionary may still need). */
let rIdx = new Uint32Array(1024);

// ---------------------------------------------------------------------------
// The reference column decoder (the fused decoder in chunk.ts falls back to it).

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

