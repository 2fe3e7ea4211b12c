// One chunk of events <-> one msgpack payload. Events are split by layout
// (kind + field names in order) and stored column-wise; seq is implicit
// (first + index) and tick/step are stored once per run of events that share
// them. See docs/trace-format.md, "Event chunks".
import { EVENT_KINDS } from '../engine/summary.js';
import type { TraceEvent } from '../engine/types.js';
import { platformProblems } from '../engine/validate.js';
import { COL, decodeColumn, MAX_DICT, MAX_WIDTH, newColumn, putArrayHeader, putBytes, putString, putValue, sinkReset, sinkTake, writeColumn, writeColumns } from './columns.js';
import { CHECKPOINT_MSGPACK_LIMITS, LIMITS, MSGPACK_LIMITS, TraceError, type MsgpackLimits } from './format.js';
import { isUtf8 } from 'node:buffer';
import { Decoder } from '@msgpack/msgpack';
import { GuardedDecoder, MAX_MSGPACK_DEPTH, msgpackShapeProblem } from './msgpack-guard.js';

const BASE_KEYS = new Set(['seq', 'tick', 'step', 'kind']);
const KIND_RE = /^[a-z][a-z0-9-]{0,63}$/;
const FIELD_RE = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
/** Kinds this engine knows how to apply and show; anything else is damage (or a newer engine's trace). */
const KNOWN_KINDS = new Set<string>(EVENT_KINDS);

export interface ChunkMeta {
  first: number;
  count: number;
  /** State-hash chain value after the chunk's last event. */
  hash: Uint8Array;
}

interface Layout { kind: string; fields: string[]; rows: number }

/** Every block's msgpack goes through the shape guard before the decoder allocates anything. */
export const decoder = new GuardedDecoder(MSGPACK_LIMITS);
/** A checkpoint's, with its own array and map bounds (trace/format.ts CHECKPOINT_MSGPACK_LIMITS). */
export const checkpointDecoder = new GuardedDecoder(CHECKPOINT_MSGPACK_LIMITS);

/**
 * Copies one layout's fields into its columns (column j at slab[bases[j] +
 * row]) and seq / tick / step into per-event arrays: one generated function
 * per field list, so each property read sees one object shape instead of
 * every event kind's (a keyed read per field and row, or a megamorphic
 * `ev.tick` per event, measured the slowest part of encoding). Field names
 * come from the engine's events and enter the source as JSON strings.
 * (Gathering each column's statistics here as well, to save the column
 * encoder a pass, measured slower: the extraction grew more than the
 * encoder shrank.)
 */
type Extract = (events: readonly TraceEvent[], pos: Int32Array, start: number, count: number, slab: unknown[], bases: Int32Array, seqs: Float64Array, ticks: Float64Array, steps: Float64Array) => void;
const extractors = new Map<string, Extract>();

function extractor(fields: readonly string[]): Extract {
  const key = fields.join('\0');
  let f = extractors.get(key);
  if (!f) {
    const body = fields.map((name, j) => `V[b${j} + r] = ev[${JSON.stringify(name)}];`).join(' ');
    const decl = fields.map((_, j) => `const b${j} = B[${j}];`).join(' ');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    f = new Function('events', 'pos', 'start', 'count', 'V', 'B', 'Q', 'T', 'S',
      `${decl} for (let r = 0; r < count; r++) { const i = pos[start + r]; const ev = events[i]; Q[i] = ev.seq; T[i] = ev.tick; S[i] = ev.step; ${body} }`) as Extract;
    if (extractors.size < 4096) extractors.set(key, f);
  }
  return f;
}

/** Whether `ev`'s own keys are exactly `keys`, in order. */
function sameKeys(keys: readonly string[], ev: TraceEvent): boolean {
  let i = 0;
  for (const key in ev) if (keys[i++] !== key) return false;
  return i === keys.length;
}

/** A key order seen in this chunk and the layout it belongs to (seq, tick, step, kind may sit anywhere). */
interface Shape { keys: string[]; layout: number }

let layoutOf = new Uint32Array(1024);
let pos = new Int32Array(1024);
let seqs = new Float64Array(1024);
let ticks = new Float64Array(1024);
let steps = new Float64Array(1024);
/** The encoder's values (columns.ts newColumn): reused from chunk to chunk. */
let slab = newColumn(16384);

export function encodeChunk(events: readonly TraceEvent[], hash: Uint8Array): Uint8Array {
  const n = events.length;
  const first = events[0]?.seq ?? 0;
  if (layoutOf.length < n) {
    const size = Math.max(n, layoutOf.length * 2);
    layoutOf = new Uint32Array(size); pos = new Int32Array(size);
    seqs = new Float64Array(size); ticks = new Float64Array(size); steps = new Float64Array(size);
  }
  // Layouts (kind + field names in order), first appearance first. An event
  // is matched by its whole key order (one comparison per key); a new order
  // whose fields equal an existing layout's joins that layout.
  const layouts: Layout[] = [];
  // The kinds seen so far and their key orders: a short list searched by identity (a chunk has a few dozen kinds at most), cheaper than a keyed lookup per event.
  const kinds: string[] = [];
  const kindShapes: Shape[][] = [];
  let lastKind: string | null = null;
  let lastShapes: Shape[] = [];
  for (let i = 0; i < n; i++) {
    const ev = events[i] as TraceEvent;
    const kind = ev.kind;
    let shapes = lastShapes;
    if (kind !== lastKind) {
      let k = 0;
      while (k < kinds.length && kinds[k] !== kind) k++;
      if (k === kinds.length) { kinds.push(kind); kindShapes.push([]); }
      shapes = lastShapes = kindShapes[k] as Shape[];
      lastKind = kind;
    }
    let li = -1;
    for (let c = 0; c < shapes.length; c++) {
      const sh = shapes[c] as Shape;
      if (sameKeys(sh.keys, ev)) { li = sh.layout; break; }
    }
    if (li < 0) {
      const keys = Object.keys(ev);
      const fields = keys.filter((key) => !BASE_KEYS.has(key));
      for (const sh of shapes) {
        const l = layouts[sh.layout] as Layout;
        if (l.fields.length === fields.length && l.fields.every((f, j) => f === fields[j])) { li = sh.layout; break; }
      }
      if (li < 0) { li = layouts.length; layouts.push({ kind, fields, rows: 0 }); }
      shapes.push({ keys, layout: li });
    }
    layoutOf[i] = li;
    (layouts[li] as Layout).rows++;
  }
  // Each layout's events, in sequence order, grouped by layout.
  const nl = layouts.length;
  const starts = new Int32Array(nl + 1);
  for (let li = 0; li < nl; li++) starts[li + 1] = (starts[li] as number) + (layouts[li] as Layout).rows;
  const fill = starts.slice(0, nl);
  for (let i = 0; i < n; i++) pos[fill[layoutOf[i] as number]!++] = i;
  // Every column of every layout in one array (see columns.ts), then the run and layout columns.
  let slots = 0;
  for (let li = 0; li < nl; li++) slots += (layouts[li] as Layout).rows * (layouts[li] as Layout).fields.length;
  if (slab.length < slots + 4 * n) slab = newColumn(Math.max(slots + 4 * n, slab.length * 2));
  const V = slab;
  const bases: Int32Array[] = [];
  let base = 0;
  for (let li = 0; li < nl; li++) {
    const l = layouts[li] as Layout;
    const b = new Int32Array(l.fields.length);
    for (let j = 0; j < b.length; j++) { b[j] = base; base += l.rows; }
    bases.push(b);
    extractor(l.fields)(events, pos, starts[li] as number, l.rows, V, b, seqs, ticks, steps);
  }
  // Runs of events sharing (tick, step): lengths and deltas.
  let nRuns = 0;
  let tick = 0;
  let step = 0;
  for (let i = 0; i < n; i++) {
    if (seqs[i] !== first + i) throw new Error(`events are not consecutive: seq ${(events[i] as TraceEvent).seq} after ${first + i - 1}`);
    const t = ticks[i] as number;
    const p = steps[i] as number;
    if (i === 0 || t !== tick || p !== step) {
      // The run arrays reuse the per-event scratch: run r starts at or after event r.
      seqs[nRuns] = 1; ticks[nRuns] = t - tick; steps[nRuns] = p - step; nRuns++;
      tick = t; step = p;
    } else seqs[nRuns - 1]! += 1;
  }
  const runLen = base;
  const runTick = runLen + nRuns;
  const runStep = runTick + nRuns;
  const layoutIdx = runStep + nRuns;
  for (let r = 0; r < nRuns; r++) { V[runLen + r] = seqs[r]; V[runTick + r] = ticks[r]; V[runStep + r] = steps[r]; }
  for (let i = 0; i < n; i++) V[layoutIdx + i] = layoutOf[i];
  // [first, count, hash, [runLen, runTick, runStep, nRuns], layout column, layouts, columns]
  sinkReset();
  putArrayHeader(7);
  putValue(first, 2);
  putValue(n, 2);
  if (hash instanceof Uint8Array) putBytes(hash); else putValue(hash, 2);
  putArrayHeader(4);
  writeColumn(V, runLen, nRuns);
  writeColumn(V, runTick, nRuns);
  writeColumn(V, runStep, nRuns);
  putValue(nRuns, 3);
  writeColumn(V, layoutIdx, n);
  putArrayHeader(nl);
  for (let li = 0; li < nl; li++) {
    const l = layouts[li] as Layout;
    putArrayHeader(2);
    putValue(l.kind, 4);
    putArrayHeader(l.fields.length);
    for (const f of l.fields) putString(f);
  }
  putArrayHeader(nl);
  for (let li = 0; li < nl; li++) writeColumns(V, bases[li] as Int32Array, (layouts[li] as Layout).fields.length, (layouts[li] as Layout).rows);
  return sinkTake();
}

/** Just the fixed fields, without decoding the columns. */
export function chunkMeta(payload: Uint8Array, offset: number): ChunkMeta {
  const bad = (why: string): never => { throw new TraceError(`bad event chunk: ${why}`, offset); };
  const doc = decodeDoc(payload, offset);
  return checkMeta(doc, bad, payload.length);
}

function decodeDoc(payload: Uint8Array, offset: number): unknown[] {
  let doc: unknown;
  try { doc = decoder.decode(payload); } catch (e) { throw new TraceError(`bad event chunk: ${(e as Error).message}`, offset); }
  if (!Array.isArray(doc) || doc.length !== 7) throw new TraceError('bad event chunk: not a 7-element array', offset);
  return doc;
}

function checkMeta(doc: unknown[], bad: (why: string) => never, bytes: number): ChunkMeta {
  const [first, count, hash] = doc;
  if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 0) bad('first sequence number');
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > LIMITS.chunkEvents) bad('event count out of bounds');
  if ((count as number) > LIMITS.eventsPerByte * bytes) bad(`${count as number} events in ${bytes} bytes (at most ${LIMITS.eventsPerByte} per byte)`);
  if (!(hash instanceof Uint8Array) || hash.length !== 16) bad('state hash');
  return { first: first as number, count: count as number, hash: hash as Uint8Array };
}

type Make = (seq: number, tick: number, step: number, cols: unknown[][], row: number) => TraceEvent;
const makers = new Map<string, Make>();

/**
 * A constructor for one layout: an object literal with the fields in order,
 * so every event of a layout shares one hidden class. Decoding builds
 * millions of events; a generic keyed-store loop measured 3-4x slower.
 * Safe to generate: kind and field names were checked against KIND_RE and
 * FIELD_RE (letters, digits, '-'), and they enter the source as JSON strings.
 */
function maker(kind: string, fields: string[]): Make {
  const key = `${kind}\0${fields.join(',')}`;
  let make = makers.get(key);
  if (!make) {
    const props = fields.map((f, i) => `${JSON.stringify(f)}: c[${i}][r]`).join(', ');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    make = new Function('s', 't', 'p', 'c', 'r', `return { seq: s, tick: t, step: p, kind: ${JSON.stringify(kind)}${props ? `, ${props}` : ''} };`) as Make;
    if (makers.size < 4096) makers.set(key, make);
  }
  return make;
}

/**
 * Decode a chunk: the fused decoder (fastDecode below) when the chunk is of
 * the shape the recorder writes and every check passes; otherwise the
 * reference decoder, which then gives the answer (events or the TraceError)
 * for anything out of the ordinary. Both give the same events.
 */
export function decodeChunk(payload: Uint8Array, offset: number): { meta: ChunkMeta; events: TraceEvent[] } {
  return fastDecode(payload) ?? decodeChunkReference(payload, offset);
}

/**
 * The reference decoder: the whole payload through the guarded msgpack
 * decoder, then one array per column and a per-layout constructor per event.
 */
export function decodeChunkReference(payload: Uint8Array, offset: number): { meta: ChunkMeta; events: TraceEvent[] } {
  const bad = (why: string): never => { throw new TraceError(`bad event chunk: ${why}`, offset); };
  const doc = decodeDoc(payload, offset);
  const meta = checkMeta(doc, bad, payload.length);
  const n = meta.count;
  const runs = doc[3];
  if (!Array.isArray(runs) || runs.length !== 4) bad('runs');
  const nRuns = (runs as unknown[])[3];
  if (typeof nRuns !== 'number' || !Number.isInteger(nRuns) || nRuns < 1 || nRuns > n) bad('run count out of bounds');
  // Run lengths and tick / step deltas are integers; anything else (a map, a
  // string from a forged dictionary) would reach arithmetic below.
  const runInts = (spec: unknown): number[] => {
    const col = decodeColumn(spec, nRuns as number, [], bad);
    for (const v of col) if (!Number.isSafeInteger(v)) bad('run column holds a non-integer');
    return col as number[];
  };
  const runLen = runInts((runs as unknown[])[0]);
  const runTick = runInts((runs as unknown[])[1]);
  const runStep = runInts((runs as unknown[])[2]);
  const layoutOf = decodeColumn(doc[4], n, [], bad);
  const layoutsDoc = doc[5];
  const colsDoc = doc[6];
  if (!Array.isArray(layoutsDoc) || layoutsDoc.length > LIMITS.schemas || !Array.isArray(colsDoc) || colsDoc.length !== layoutsDoc.length) bad('layouts');
  const layouts = (layoutsDoc as unknown[]).map((l) => {
    if (!Array.isArray(l) || typeof l[0] !== 'string' || !KIND_RE.test(l[0]) || !Array.isArray(l[1]) || l[1].length > LIMITS.fields) bad('layout');
    if (!KNOWN_KINDS.has((l as [string])[0])) bad(`unknown event kind ${JSON.stringify((l as [string])[0])}`);
    const fields = (l as [string, unknown[]])[1];
    for (const f of fields) if (typeof f !== 'string' || !FIELD_RE.test(f) || BASE_KEYS.has(f)) bad('field name');
    return { kind: (l as [string])[0], fields: fields as string[], rows: 0, make: maker((l as [string])[0], fields as string[]) };
  });
  // How many events each layout has decides its columns' lengths.
  for (let i = 0; i < n; i++) {
    const li = layoutOf[i];
    const l = typeof li === 'number' ? layouts[li] : undefined;
    if (!l) bad('layout index out of range');
    (l as { rows: number }).rows++;
  }
  const cols = layouts.map((l, li) => {
    const specs = (colsDoc as unknown[])[li];
    if (!Array.isArray(specs) || specs.length !== l.fields.length) bad('column count differs from the layout');
    const done: unknown[][] = [];
    for (const spec of specs as unknown[]) done.push(decodeColumn(spec, l.rows, done, bad));
    return done;
  });
  const cursor = new Uint32Array(layouts.length);
  const events = new Array<TraceEvent>(n);
  let r = 0;
  let left = 0;
  let tick = 0;
  let step = 0;
  for (let i = 0; i < n; i++) {
    if (left === 0) {
      if (r >= (nRuns as number)) bad('runs cover fewer events than the count');
      left = runLen[r] as number;
      if (left < 1) bad('empty run');
      tick += runTick[r] as number;
      step += runStep[r] as number;
      r++;
    }
    left--;
    const li = layoutOf[i] as number;
    const l = layouts[li] as { make: Make };
    const row = cursor[li]!++;
    const c = cols[li] as unknown[][];
    events[i] = (l.make as Make)(meta.first + i, tick, step, c, row);
  }
  if (left !== 0 || r !== nRuns) bad('runs cover more events than the count');
  if (layouts.some((l) => l.kind === 'platform')) {
    for (const ev of events) {
      if (ev.kind !== 'platform') continue;
      // The engine installs the platform once, as event 0 (engine/run.ts).
      if (ev.seq !== 0) bad(`a platform event at ${ev.seq}: only event 0 installs the platform`);
      const problem = platformProblems(ev.platform)[0];
      if (problem !== undefined) bad(`platform event ${ev.seq}: ${problem}`);
    }
  }
  return { meta, events };
}

// ---------------------------------------------------------------------------
// The fused decoder. One pass over the msgpack of the chunk reads its
// structure straight from the bytes (no array per column, bins as offsets,
// short ASCII strings through a cache, the layout list reused when its bytes
// repeat); then one generated function per layout and column encodings
// unpacks every column of a row straight into the event's object literal.
// It refuses nothing itself: at the first thing it does not expect (another
// msgpack form, a failed check, a platform event, a full cache) it returns
// null and decodeChunkReference decides. So it accepts only what the
// reference accepts, and builds the same events (test/trace-format.test.ts
// compares them over every corpus).

/** Plain msgpack decoding of the odd value (maps, long or non-ASCII strings), with the limits of every block. */
const rawDecoder = new Decoder(MSGPACK_LIMITS);

/** Parser state: the payload, a padded copy for 32-bit bit-window reads, the position. */
const EMPTY = new Uint8Array(0);
let buf: Uint8Array = EMPTY;
let view: DataView = new DataView(buf.buffer);
let bits = new Uint8Array(1 << 16);
let bitsView = new DataView(bits.buffer);
let p = 0;
let end = 0;
/** The decoder's array and map length limits for the payload being read. */
let limits: MsgpackLimits = MSGPACK_LIMITS;
/** Set by the parser when it meets something it leaves to the reference decoder. */
let bail = false;

function fail(): number { bail = true; return 0; }

/** An array header's length, or bail. */
function readArray(): number {
  if (p >= end) return fail();
  const b = buf[p] as number;
  if (b >= 0x90 && b <= 0x9f) { p++; return b - 0x90; }
  if (b === 0xdc && p + 3 <= end) { const n = ((buf[p + 1] as number) << 8) | (buf[p + 2] as number); p += 3; return n; }
  if (b === 0xdd && p + 5 <= end) { const n = view.getUint32(p + 1); p += 5; return n; }
  return fail();
}

/** A msgpack integer as @msgpack/msgpack decodes it (uint64 / int64 as high * 2^32 + low), or bail. */
function readInt(): number {
  if (p >= end) return fail();
  const b = buf[p] as number;
  if (b < 0x80) { p++; return b; }
  if (b >= 0xe0) { p++; return b - 0x100; }
  switch (b) {
    case 0xcc: if (p + 2 > end) return fail(); p += 2; return buf[p - 1] as number;
    case 0xcd: if (p + 3 > end) return fail(); p += 3; return view.getUint16(p - 2);
    case 0xce: if (p + 5 > end) return fail(); p += 5; return view.getUint32(p - 4);
    case 0xcf: if (p + 9 > end) return fail(); p += 9; return view.getUint32(p - 8) * 0x100000000 + view.getUint32(p - 4);
    case 0xd0: if (p + 2 > end) return fail(); p += 2; return view.getInt8(p - 1);
    case 0xd1: if (p + 3 > end) return fail(); p += 3; return view.getInt16(p - 2);
    case 0xd2: if (p + 5 > end) return fail(); p += 5; return view.getInt32(p - 4);
    case 0xd3: if (p + 9 > end) return fail(); p += 9; return view.getInt32(p - 8) * 0x100000000 + view.getUint32(p - 4);
    default: return fail();
  }
}

/** A bin's length (its bytes start at p, which moves past them), or bail. */
function readBin(): number {
  if (p >= end) return fail();
  const b = buf[p] as number;
  let n: number;
  if (b === 0xc4 && p + 2 <= end) { n = buf[p + 1] as number; p += 2; } else if (b === 0xc5 && p + 3 <= end) { n = view.getUint16(p + 1); p += 3; } else if (b === 0xc6 && p + 5 <= end) { n = view.getUint32(p + 1); p += 5; } else return fail();
  if (n > end - p) return fail();
  p += n;
  return n;
}

function readBool(): boolean {
  const b = p < end ? buf[p] : 0;
  if (b === 0xc2 || b === 0xc3) { p++; return b === 0xc3; }
  fail();
  return false;
}

/** Short ASCII strings by their bytes: field names, kinds and dictionary strings repeat from chunk to chunk. */
const STR_SLOTS = 4096;
const strBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(STR_SLOTS);
const strValues: (string | undefined)[] = new Array<string | undefined>(STR_SLOTS);

/** A string of `len` bytes at p (past its header), ASCII and at most 64 bytes; otherwise null (the caller decodes it generically). */
function asciiString(len: number): string | null {
  if (len > 64 || p + len > end) return null;
  let h = 0x811c9dc5 ^ len;
  for (let i = p; i < p + len; i++) {
    const c = buf[i] as number;
    if (c >= 0x80) return null;
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h >>> 0) & (STR_SLOTS - 1);
  const known = strBytes[slot];
  if (known && known.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) if (known[i] !== buf[p + i]) { same = false; break; }
    if (same) { p += len; return strValues[slot] as string; }
  }
  let s = '';
  for (let i = p; i < p + len; i++) s += String.fromCharCode(buf[i] as number);
  strBytes[slot] = buf.slice(p, p + len);
  strValues[slot] = s;
  p += len;
  return s;
}

/** Skip one msgpack value of any form (bounds checked), or bail. */
function skipValue(): void {
  let left = 1;
  while (left > 0) {
    if (p >= end) { fail(); return; }
    const b = buf[p] as number;
    left--;
    let head = 1;
    let body = 0;
    let kids = 0;
    if (b <= 0x7f || b >= 0xe0) { /* fixint */ } else if (b <= 0x8f) kids = (b & 0x0f) * 2;
    else if (b <= 0x9f) kids = b & 0x0f;
    else if (b <= 0xbf) body = b & 0x1f;
    else {
      const need = (k: number): boolean => p + 1 + k <= end;
      switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break;
        case 0xc4: case 0xd9: if (!need(1)) { fail(); return; } head = 2; body = buf[p + 1] as number; break;
        case 0xc5: case 0xda: if (!need(2)) { fail(); return; } head = 3; body = view.getUint16(p + 1); break;
        case 0xc6: case 0xdb: if (!need(4)) { fail(); return; } head = 5; body = view.getUint32(p + 1); break;
        case 0xca: body = 4; break;
        case 0xcb: body = 8; break;
        case 0xcc: case 0xd0: body = 1; break;
        case 0xcd: case 0xd1: body = 2; break;
        case 0xce: case 0xd2: body = 4; break;
        case 0xcf: case 0xd3: body = 8; break;
        case 0xdc: if (!need(2)) { fail(); return; } head = 3; kids = view.getUint16(p + 1); break;
        case 0xdd: if (!need(4)) { fail(); return; } head = 5; kids = view.getUint32(p + 1); break;
        case 0xde: if (!need(2)) { fail(); return; } head = 3; kids = view.getUint16(p + 1) * 2; break;
        case 0xdf: if (!need(4)) { fail(); return; } head = 5; kids = view.getUint32(p + 1) * 2; break;
        // ext and the rest: the reference decoder's business.
        default: fail(); return;
      }
    }
    if (head + body > end - p) { fail(); return; }
    p += head + body;
    left += kids;
    if (left > end - p) { fail(); return; }
  }
}

/**
 * Any value through the guarded msgpack decoder, as the reference decodes it
 * inside the whole payload: `open` containers enclose it there, so the
 * shape guard's depth limit is what is left of MAX_MSGPACK_DEPTH; and it is
 * decoded in place (decodeMulti from its first byte), because the decoder's
 * UTF-8 reader looks past the end of a string cut inside a character.
 */
function genericValue(open: number): unknown {
  const start = p;
  skipValue();
  if (bail) return undefined;
  // A string that is not valid UTF-8 (a damaged byte): @msgpack/msgpack's decoders read such a sequence past the
  // string's end, and its map-key cache can answer with an earlier string of the same bytes, so no second
  // decoder can agree with it: left to the guarded decoder.
  const b = buf[start] as number;
  const head = b >= 0xa0 && b <= 0xbf ? 1 : b === 0xd9 ? 2 : b === 0xda ? 3 : b === 0xdb ? 5 : 0;
  if (head && !isUtf8(buf.subarray(start + head, p))) { bail = true; return undefined; }
  if (msgpackShapeProblem(buf.subarray(start, p), MAX_MSGPACK_DEPTH - open) !== null) { bail = true; return undefined; }
  const it = rawDecoder.decodeMulti(buf.subarray(start));
  try {
    const r = it.next();
    if (r.done === true) { bail = true; return undefined; }
    return r.value;
  } catch {
    bail = true;
    return undefined;
  } finally {
    it.return(undefined);
  }
}

/**
 * A value as @msgpack/msgpack decodes it (arrays as new Array(n) filled in
 * order, maps as {} assigned key by key, string or number keys only and no
 * "__proto__", bins as views of the payload), with the shape guard's depth
 * limit: `open` containers enclose it. Extensions, and strings other than
 * short ASCII ones, go through genericValue.
 */
function readValue(open: number): unknown {
  if (p >= end) return fail();
  const b = buf[p] as number;
  if (b < 0x80) { p++; return b; }
  if (b >= 0xe0) { p++; return b - 0x100; }
  if (b <= 0x8f) return readMap(b - 0x80, 1, open);
  if (b <= 0x9f) return readList(b - 0x90, 1, open);
  if (b <= 0xbf) {
    const q = p;
    p++;
    const s = asciiString(b - 0xa0);
    if (s !== null) return s;
    p = q;
    return genericValue(open);
  }
  switch (b) {
    case 0xc0: p++; return null;
    case 0xc2: p++; return false;
    case 0xc3: p++; return true;
    case 0xd9: {
      if (p + 2 > end) return fail();
      const q = p;
      p += 2;
      const s = asciiString(buf[q + 1] as number);
      if (s !== null) return s;
      p = q;
      return genericValue(open);
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd0: case 0xd1: case 0xd2: case 0xd3: return readInt();
    // NaN and ±Infinity are refused (msgpack-guard.ts): the reference decoder says so.
    case 0xca: { if (p + 5 > end) return fail(); p += 5; const v = view.getFloat32(p - 4); return Number.isFinite(v) ? v : fail(); }
    case 0xcb: { if (p + 9 > end) return fail(); p += 9; const v = view.getFloat64(p - 8); return Number.isFinite(v) ? v : fail(); }
    case 0xc4: case 0xc5: case 0xc6: { const n = readBin(); return bail ? undefined : buf.subarray(p - n, p); }
    case 0xdc: if (p + 3 > end) return fail(); return readList(view.getUint16(p + 1), 3, open);
    case 0xdd: if (p + 5 > end) return fail(); return readList(view.getUint32(p + 1), 5, open);
    case 0xde: if (p + 3 > end) return fail(); return readMap(view.getUint16(p + 1), 3, open);
    case 0xdf: if (p + 5 > end) return fail(); return readMap(view.getUint32(p + 1), 5, open);
    default: return genericValue(open);
  }
}

/** An array of n elements whose header (head bytes) is at p. */
function readList(n: number, head: number, open: number): unknown {
  p += head;
  if (n === 0) return [];
  // The guard's depth and bytes-left checks, the decoder's length limit.
  if (open + 1 > MAX_MSGPACK_DEPTH || n > end - p || n > limits.maxArrayLength) return fail();
  const a = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    a[i] = readValue(open + 1);
    if (bail) return undefined;
  }
  return a;
}

/** A map of n entries whose header (head bytes) is at p. */
function readMap(n: number, head: number, open: number): unknown {
  p += head;
  const m: Record<string, unknown> = {};
  if (n === 0) return m;
  if (open + 1 > MAX_MSGPACK_DEPTH || 2 * n > end - p || n > limits.maxMapLength) return fail();
  for (let i = 0; i < n; i++) {
    const key = readValue(open + 1);
    if (bail) return undefined;
    if ((typeof key !== 'string' && typeof key !== 'number') || key === '__proto__') return fail();
    const value = readValue(open + 1);
    if (bail) return undefined;
    m[key] = value;
  }
  return m;
}

/** One column spec, as read (COL tags; packed bits as an offset into the payload). */
class Col {
  tag = 0;
  value: unknown = undefined;
  dict: unknown[] = NO_VALUES;
  width = 0;
  /** Where the packed bits start (a byte offset into the payload) and how many bytes they have. */
  at = 0;
  bytes = 0;
  lo = 0;
  nullable = false;
  ref = 0;
  inner: Col | null = null;
  values: unknown[] = NO_VALUES;
  /** `width` low bits set (all 32 for width 32). */
  mask = 0;
}
const NO_VALUES: unknown[] = [];

/** Col objects reused from chunk to chunk (a chunk has about a hundred); colsUsed resets per chunk. */
const colPool: Col[] = [];
let colsUsed = 0;
function takeCol(): Col {
  let c = colPool[colsUsed];
  if (c === undefined) { c = new Col(); if (colPool.length < 1 << 16) colPool.push(c); } else {
    c.tag = 0; c.value = undefined; c.dict = NO_VALUES; c.width = 0; c.at = 0; c.bytes = 0; c.lo = 0; c.nullable = false; c.ref = 0; c.inner = null; c.values = NO_VALUES; c.mask = 0;
  }
  colsUsed++;
  return c;
}

/**
 * A column spec at `open` enclosing containers (its elements at open + 1),
 * checked as decodeColumn checks it apart from what needs the row count
 * (checkRows). `nested`: the inner column of a rel.
 */
function readCol(open: number, nested: boolean): Col {
  const c = takeCol();
  const len = readArray();
  if (bail) return c;
  const tag = readInt();
  if (bail) return c;
  c.tag = tag;
  switch (tag) {
    case COL.const:
      if (len !== 2) { fail(); return c; }
      c.value = readValue(open + 1);
      return c;
    case COL.dict: {
      if (len !== 4) { fail(); return c; }
      const k = readArray();
      if (bail || k > MAX_DICT) { fail(); return c; }
      const dict = new Array<unknown>(k);
      for (let i = 0; i < k && !bail; i++) dict[i] = readValue(open + 2);
      c.dict = dict;
      c.width = readInt();
      if (bail || !(c.width >= 0 && c.width <= MAX_WIDTH)) { fail(); return c; }
      c.mask = c.width >= 32 ? -1 : (1 << c.width) - 1;
      c.bytes = readBin();
      c.at = p - c.bytes;
      return c;
    }
    case COL.for:
      if (len !== 5) { fail(); return c; }
      c.lo = readInt();
      if (bail || !Number.isSafeInteger(c.lo)) { fail(); return c; }
      c.width = readInt();
      if (bail || !(c.width >= 0 && c.width <= MAX_WIDTH)) { fail(); return c; }
      c.mask = c.width >= 32 ? -1 : (1 << c.width) - 1;
      c.bytes = readBin();
      c.at = p - c.bytes;
      c.nullable = readBool();
      return c;
    case COL.rel:
      if (len !== 3 || nested) { fail(); return c; }
      c.ref = readInt();
      if (bail) return c;
      c.inner = readCol(open + 1, true);
      return c;
    case COL.any: {
      if (len !== 2) { fail(); return c; }
      const v = readValue(open + 1);
      if (!Array.isArray(v)) { fail(); return c; }
      c.values = v as unknown[];
      return c;
    }
    default:
      fail();
      return c;
  }
}

/** What decodeColumn would check once it knows the column has `n` rows. */
function checkRows(c: Col, n: number): boolean {
  if (c.tag === COL.dict || c.tag === COL.for) return c.bytes >= Math.ceil((n * c.width) / 8);
  if (c.tag === COL.any) return c.values.length === n;
  if (c.tag === COL.rel) return checkRows(c.inner as Col, n);
  return true;
}

/** Value k of a packed column (k * width within 2^31 bits: payloads here are at most 4 MiB). */
function packedAt(c: Col, k: number): number {
  const w = c.width;
  if (w === 0) return 0;
  const bit = c.at * 8 + k * w;
  const q = bit >>> 3;
  const sh = bit & 7;
  const s = bits;
  const lo32 = ((s[q] as number) | ((s[q + 1] as number) << 8) | ((s[q + 2] as number) << 16) | ((s[q + 3] as number) << 24)) >>> 0;
  if (w <= 24) return (lo32 >>> sh) & ((1 << w) - 1);
  return wideAt(s, q, sh, w, lo32);
}

/** A 25..32-bit field at byte q, bit sh: the 32-bit window plus the fifth byte. */
function wideAt(s: Uint8Array, q: number, sh: number, w: number, lo32: number): number {
  const v = sh === 0 ? lo32 : (lo32 >>> sh) | ((s[q + 4] as number) << (32 - sh));
  return (v & (w >= 32 ? -1 : (1 << w) - 1)) >>> 0;
}

/** Integer values of a run or layout column (no rel), into out; false when the reference would refuse or a value is not a safe integer. */
function intValues(c: Col, n: number, out: Float64Array): boolean {
  if (!checkRows(c, n)) return false;
  switch (c.tag) {
    case COL.const: {
      const v = c.value;
      if (!(typeof v === 'number' && Number.isSafeInteger(v))) return false;
      out.fill(v, 0, n);
      return true;
    }
    case COL.dict: {
      const d = c.dict;
      // Every entry a safe integer, then indices only.
      const k = d.length;
      for (let j = 0; j < k; j++) { const v = d[j]; if (!(typeof v === 'number' && Number.isSafeInteger(v))) return false; }
      if (!unpackInto(c, n, out)) return false;
      for (let i = 0; i < n; i++) { const j = out[i] as number; if (j >= k) return false; out[i] = d[j] as number; }
      return true;
    }
    case COL.for: {
      if (!unpackInto(c, n, out)) return false;
      const lo = c.lo;
      // Every code is below 2^width: when lo plus the largest stays a safe integer, so does every value.
      if (!c.nullable && lo >= 0 && Number.isSafeInteger(lo + 2 ** c.width)) {
        if (lo !== 0) for (let i = 0; i < n; i++) out[i] = lo + (out[i] as number);
        return true;
      }
      if (c.nullable) {
        for (let i = 0; i < n; i++) { const x = out[i] as number; if (x === 0) return false; const v = lo + x - 1; if (!Number.isSafeInteger(v)) return false; out[i] = v; }
      } else if (lo !== 0) {
        for (let i = 0; i < n; i++) { const v = lo + (out[i] as number); if (!Number.isSafeInteger(v)) return false; out[i] = v; }
      }
      return true;
    }
    case COL.any: {
      const vals = c.values;
      for (let i = 0; i < n; i++) {
        const v = vals[i];
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) return false;
        out[i] = v;
      }
      return true;
    }
    default:
      return false;
  }
}

/** The n packed codes of a dict or FOR column into out. */
function unpackInto(c: Col, n: number, out: Float64Array): boolean {
  const w = c.width;
  if (w === 0) { out.fill(0, 0, n); return true; }
  if (w > 24) { for (let i = 0; i < n; i++) out[i] = packedAt(c, i); return true; }
  const dv = bitsView;
  const m = (1 << w) - 1;
  let b = c.at * 8;
  for (let i = 0; i < n; i++) {
    out[i] = (dv.getUint32(b >>> 3, true) >>> (b & 7)) & m;
    b += w;
  }
  return true;
}

interface FastLayout { kind: string; fields: string[]; fused: Map<string, Fused>; recent: { codes: Int32Array; f: Fused }[] }

/**
 * Validated layouts by their bytes: a layout ([kind, [field, ...]]) repeats
 * from chunk to chunk even when the list's order does not, and its object
 * keeps its generated decoders.
 */
const LAYOUT_SLOTS = 1024;
const layoutBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(LAYOUT_SLOTS);
const layoutValues: (FastLayout | undefined)[] = new Array<FastLayout | undefined>(LAYOUT_SLOTS);

function readLayouts(): FastLayout[] | null {
  const nl = readArray();
  if (bail || nl > LIMITS.schemas) return null;
  const layouts: FastLayout[] = [];
  for (let li = 0; li < nl; li++) {
    const start = p;
    skipValue();
    if (bail) return null;
    const stop = p;
    let h = 0x811c9dc5 ^ (stop - start);
    for (let i = start; i < stop; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    const slot = (h >>> 0) & (LAYOUT_SLOTS - 1);
    const known = layoutBytes[slot];
    if (known && known.length === stop - start) {
      let same = true;
      for (let i = 0; i < known.length; i++) if (known[i] !== buf[start + i]) { same = false; break; }
      if (same) { layouts.push(layoutValues[slot] as FastLayout); continue; }
    }
    p = start;
    if (readArray() !== 2 || bail) return null;
    const kind = readValue(3);
    if (bail || typeof kind !== 'string' || !KIND_RE.test(kind) || !KNOWN_KINDS.has(kind) || kind === 'platform') return null;
    const nf = readArray();
    if (bail || nf > LIMITS.fields) return null;
    const fields: string[] = [];
    for (let j = 0; j < nf; j++) {
      const f = readValue(4);
      if (bail || typeof f !== 'string' || !FIELD_RE.test(f) || BASE_KEYS.has(f) || fields.includes(f)) return null;
      fields.push(f);
    }
    if (p !== stop) return null;
    const l: FastLayout = { kind, fields, fused: new Map(), recent: [] };
    layoutBytes[slot] = buf.slice(start, stop);
    layoutValues[slot] = l;
    layouts.push(l);
  }
  return layouts;
}

/**
 * The generated decoder of one layout with given column encodings: for each
 * of the layout's rows (event index pos[start + r]) it reads every column
 * and stores the event literal. Returns false where decodeColumn would
 * refuse (a dictionary index out of range, rel over a non-number).
 */
type Fused = (events: TraceEvent[], pos: Int32Array, start: number, count: number, ticks: Int32Array, steps: Int32Array, first: number, s: Uint8Array, dv: DataView, cols: Col[]) => boolean;
const fusedCache = new Map<string, Fused>();

/**
 * Source of one column's value for row r into `v${j}` (the inner column of
 * rel j: into `u${j}`), specialised to the column's encoding, width class
 * and nullability; `known` says which earlier columns are numbers already.
 */
function colCode(c: Col, name: string, j: string, known: (string | null)[]): { pre: string; row: string; type: string | null } {
  const read = (x: string): string => {
    if (c.width === 0) return `const ${x} = 0;`;
    const body = `const q${j} = b${j} >>> 3; const l${j} = dv.getUint32(q${j}, true);`;
    const val = c.width <= 24 ? `(l${j} >>> (b${j} & 7)) & m${j}`
      : `(((b${j} & 7) === 0 ? l${j} : ((l${j} >>> (b${j} & 7)) | (s[q${j} + 4] << (32 - (b${j} & 7))))) & m${j}) >>> 0`;
    return `${body} const ${x} = ${val}; b${j} += w${j};`;
  };
  const packedPre = `let b${j} = C${j}.at * 8; const w${j} = C${j}.width; const m${j} = C${j}.mask;`;
  switch (c.tag) {
    case COL.const:
      return { pre: `const k${j} = C${j}.value;`, row: `const ${name} = k${j};`, type: typeof c.value === 'number' ? 'number' : null };
    case COL.dict:
      return { pre: `${packedPre} const d${j} = C${j}.dict; const n${j} = d${j}.length;`, row: `${read(`x${j}`)} if (x${j} >= n${j}) return false; const ${name} = d${j}[x${j}];`, type: null };
    case COL.for:
      return {
        pre: `${packedPre} const o${j} = C${j}.lo;`,
        row: `${read(`x${j}`)} const ${name} = ${c.nullable ? `x${j} === 0 ? null : o${j} + x${j} - 1` : `o${j} + x${j}`};`,
        type: c.nullable ? null : 'number',
      };
    case COL.any:
      return { pre: `const a${j} = C${j}.values;`, row: `const ${name} = a${j}[r];`, type: null };
    default: {
      // rel: the inner column under its own name, then added to the referenced column's value.
      const inner = c.inner as Col;
      const ic = colCode(inner, `u${j}`, `${j}i`, known);
      const checks = [known[c.ref] === 'number' ? '' : `typeof v${c.ref} !== 'number'`, ic.type === 'number' ? '' : `typeof u${j} !== 'number'`].filter(Boolean).join(' || ');
      return {
        pre: `const C${j}i = C${j}.inner; ${ic.pre}`,
        row: `${ic.row} ${checks ? `if (${checks}) return false; ` : ''}const ${name} = v${c.ref} + u${j};`,
        type: 'number',
      };
    }
  }
}

/** The shape of a column's code: encoding, width class, nullability (rel: its reference and inner shape). */
function colKey(c: Col): string {
  if (c.tag === COL.rel) return `r${c.ref}:${colKey(c.inner as Col)}`;
  const w = c.width === 0 ? 'z' : c.width <= 24 ? 's' : 'w';
  if (c.tag === COL.for) return `f${w}${c.nullable ? 'n' : ''}`;
  if (c.tag === COL.dict) return `d${w}`;
  if (c.tag === COL.const) return typeof c.value === 'number' ? 'cn' : 'c';
  return 'a';
}

/** A number per column shape (colKey's distinctions): the fast check that a layout's columns are shaped as last time. */
function colShape(c: Col): number {
  if (c.tag === COL.rel) return 1000 + c.ref * 64 + colShape(c.inner as Col);
  const w = c.width === 0 ? 0 : c.width <= 24 ? 1 : 2;
  if (c.tag === COL.for) return 10 + w * 2 + (c.nullable ? 1 : 0);
  if (c.tag === COL.dict) return 20 + w;
  if (c.tag === COL.const) return typeof c.value === 'number' ? 30 : 31;
  return 40;
}

function fused(l: FastLayout, cols: Col[]): Fused | null {
  // The few column shapes a layout alternates between (a flag column const in one chunk, a dictionary in the next).
  const recent = l.recent;
  for (let e = 0; e < recent.length; e++) {
    const codes = (recent[e] as { codes: Int32Array; f: Fused }).codes;
    if (codes.length !== cols.length) continue;
    let same = true;
    for (let j = 0; j < cols.length; j++) if (codes[j] !== colShape(cols[j] as Col)) { same = false; break; }
    if (same) return (recent[e] as { codes: Int32Array; f: Fused }).f;
  }
  const f = fusedLookup(l, cols);
  if (f !== null) {
    const codes = new Int32Array(cols.length);
    for (let j = 0; j < cols.length; j++) codes[j] = colShape(cols[j] as Col);
    if (recent.length >= 8) recent.pop();
    recent.unshift({ codes, f });
  }
  return f;
}

function fusedLookup(l: FastLayout, cols: Col[]): Fused | null {
  let shape = '';
  for (let j = 0; j < cols.length; j++) shape += `${colKey(cols[j] as Col)},`;
  let f = l.fused.get(shape);
  if (f) return f;
  const key = `${l.kind}\0${l.fields.join(',')}\0${shape}`;
  f = fusedCache.get(key);
  if (f) { l.fused.set(shape, f); return f; }
  if (fusedCache.size >= 4096) return null;
  const known: (string | null)[] = [];
  const pre: string[] = [];
  const row: string[] = [];
  for (let j = 0; j < cols.length; j++) {
    const code = colCode(cols[j] as Col, `v${j}`, String(j), known);
    pre.push(`const C${j} = cols[${j}]; ${code.pre}`);
    row.push(code.row);
    known.push(code.type);
  }
  // Safe to generate: kind and field names passed KIND_RE / FIELD_RE and enter as JSON strings; the rest is ours.
  const props = l.fields.map((name, j) => `, ${JSON.stringify(name)}: v${j}`).join('');
  const src = `${pre.join('\n')}
for (let r = 0; r < count; r++) {
  const i = pos[start + r];
  ${row.join('\n  ')}
  events[i] = { seq: first + i, tick: ticks[i], step: steps[i], kind: ${JSON.stringify(l.kind)}${props} };
}
return true;`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  f = new Function('events', 'pos', 'start', 'count', 'ticks', 'steps', 'first', 's', 'dv', 'cols', src) as Fused;
  fusedCache.set(key, f);
  l.fused.set(shape, f);
  return f;
}

let dLayout = new Int32Array(1024);
let dPos = new Int32Array(1024);
let dTicks = new Int32Array(1024);
let dSteps = new Int32Array(1024);
let runLen = new Float64Array(1024);
let runTick = new Float64Array(1024);
let runStep = new Float64Array(1024);

/**
 * The layout column into dLayout, each index checked against the layout
 * count (as the reference does: an integer below nl), counts[li + 1] the
 * events of layout li. The common FOR form is read straight from the bits.
 */
function layoutIndices(c: Col, n: number, nl: number, counts: Int32Array): boolean {
  const L = dLayout;
  if (c.tag === COL.for && !c.nullable && c.width <= 24 && c.lo >= 0) {
    if (!checkRows(c, n)) return false;
    const dv = bitsView;
    const w = c.width;
    const m = c.mask;
    const lo = c.lo;
    let b = c.at * 8;
    for (let i = 0; i < n; i++) {
      const li = lo + ((dv.getUint32(b >>> 3, true) >>> (b & 7)) & m);
      b += w;
      if (li >= nl) return false;
      L[i] = li;
      counts[li + 1]!++;
    }
    return true;
  }
  const lay = runLen.length >= n ? runLen : new Float64Array(n);
  if (!intValues(c, n, lay)) return false;
  for (let i = 0; i < n; i++) {
    const li = lay[i] as number;
    if (!(li >= 0 && li < nl)) return false;
    L[i] = li;
    counts[li + 1]!++;
  }
  return true;
}

/** Point the reader at `bytes`; false past 2^22 bytes, where the element bound (2^22 values) is no longer implied by the size. */
function startReading(bytes: Uint8Array, of: MsgpackLimits = MSGPACK_LIMITS): boolean {
  if (bytes.length > LIMITS.elements) return false;
  limits = of;
  buf = bytes;
  view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  p = 0;
  end = bytes.length;
  bail = false;
  return true;
}

/**
 * One msgpack value read by the fused decoder's reader (a checkpoint: its
 * cell keys and short strings repeat from one checkpoint to the next and
 * come from the string cache instead of being decoded again): what the
 * guarded decoder would return, or null wherever the reader leaves the bytes
 * to it (the caller then asks it, and it decides, errors included).
 */
export function readMsgpack(bytes: Uint8Array, of: MsgpackLimits = MSGPACK_LIMITS): { value: unknown } | null {
  if (!startReading(bytes, of)) return null;
  try {
    const value = readValue(0);
    return bail || p !== end ? null : { value };
  } catch {
    return null;
  } finally {
    buf = EMPTY;
  }
}

/**
 * A chunk's first sequence number and event count from the first bytes of its
 * payload (the 7-element array the writer writes starts with them), or null
 * where they are not in that form: the full decode then judges the chunk.
 * The opener compares them with the footer's index without decoding a chunk.
 */
export function chunkSpan(head: Uint8Array): { first: number; count: number } | null {
  if (!startReading(head)) return null;
  try {
    const n = readArray();
    const first = readInt();
    const count = readInt();
    return bail || n !== 7 || !Number.isSafeInteger(first) || first < 0 || count < 1 ? null : { first, count };
  } finally {
    buf = EMPTY;
  }
}

/** The fused decoder alone: null where it leaves the chunk to decodeChunkReference. */
export function fastDecode(payload: Uint8Array): { meta: ChunkMeta; events: TraceEvent[] } | null {
  if (!startReading(payload)) return null;
  colsUsed = 0;
  try {
    return fastDecodeDoc(payload);
  } catch {
    // Nothing here should throw; if anything does, the reference decides.
    return null;
  } finally {
    buf = EMPTY;
    // Nothing of this chunk stays reachable from the pool.
    for (let i = 0; i < colsUsed && i < colPool.length; i++) { const c = colPool[i] as Col; c.value = undefined; c.dict = NO_VALUES; c.values = NO_VALUES; c.inner = null; }
  }
}

function fastDecodeDoc(payload: Uint8Array): { meta: ChunkMeta; events: TraceEvent[] } | null {
  if (readArray() !== 7 || bail) return null;
  const first = readInt();
  if (bail || !Number.isSafeInteger(first) || first < 0) return null;
  const n = readInt();
  if (bail || !(n >= 1 && n <= LIMITS.chunkEvents) || n > LIMITS.eventsPerByte * payload.length) return null;
  const hashLen = readBin();
  if (bail || hashLen !== 16) return null;
  const hash = payload.subarray(p - 16, p);
  if (readArray() !== 4 || bail) return null;
  const runCols = [readCol(2, false), readCol(2, false), readCol(2, false)];
  const nRuns = readInt();
  if (bail || !(nRuns >= 1 && nRuns <= n)) return null;
  const layoutCol = readCol(1, false);
  if (bail) return null;
  const layouts = readLayouts();
  if (layouts === null || bail) return null;
  const nl = layouts.length;
  if (readArray() !== nl || bail) return null;
  const colSpecs: Col[][] = [];
  for (let li = 0; li < nl; li++) {
    const nf = (layouts[li] as FastLayout).fields.length;
    if (readArray() !== nf || bail) return null;
    const cols: Col[] = [];
    for (let j = 0; j < nf; j++) {
      const c = readCol(3, false);
      if (bail) return null;
      if (c.tag === COL.rel && !(Number.isInteger(c.ref) && c.ref >= 0 && c.ref < j)) return null;
      cols.push(c);
    }
    colSpecs.push(cols);
  }
  if (p !== end) return null;
  // The packed bits, padded so a 32-bit window never reads past the end.
  if (bits.length < end + 8) { bits = new Uint8Array(Math.max(end + 8, bits.length * 2)); bitsView = new DataView(bits.buffer); }
  bits.set(payload);
  bits.fill(0, end, end + 8);
  // Runs: ticks and steps of every event.
  if (runLen.length < nRuns) { runLen = new Float64Array(n); runTick = new Float64Array(n); runStep = new Float64Array(n); }
  if (!intValues(runCols[0] as Col, nRuns, runLen) || !intValues(runCols[1] as Col, nRuns, runTick) || !intValues(runCols[2] as Col, nRuns, runStep)) return null;
  if (dTicks.length < n) { const size = Math.max(n, dTicks.length * 2); dTicks = new Int32Array(size); dSteps = new Int32Array(size); dLayout = new Int32Array(size); dPos = new Int32Array(size); }
  const T = dTicks;
  const S = dSteps;
  const RL = runLen;
  const RT = runTick;
  const RS = runStep;
  // Run by run (the reference refuses an empty run and runs that cover more or fewer events than the count).
  let tick = 0;
  let step = 0;
  let i = 0;
  for (let r = 0; r < nRuns; r++) {
    const len = RL[r] as number;
    if (!(len >= 1) || len > n - i) return null;
    tick += RT[r] as number;
    step += RS[r] as number;
    // Int32Array: the event literal then stores small integers, not boxed doubles; larger ticks go to the reference decoder.
    if ((tick | 0) !== tick || (step | 0) !== step) return null;
    for (const e = i + len; i < e; i++) { T[i] = tick; S[i] = step; }
  }
  if (i !== n) return null;
  // Layout of every event, then the events grouped by layout.
  const counts = new Int32Array(nl + 1);
  if (!layoutIndices(layoutCol, n, nl, counts)) return null;
  for (let li = 0; li < nl; li++) counts[li + 1]! += counts[li] as number;
  const fill = counts.slice(0, nl);
  for (let i = 0; i < n; i++) dPos[fill[dLayout[i] as number]!++] = i;
  const events = new Array<TraceEvent>(n);
  for (let li = 0; li < nl; li++) {
    const rows = (counts[li + 1] as number) - (counts[li] as number);
    const cols = colSpecs[li] as Col[];
    for (const c of cols) if (!checkRows(c, rows)) return null;
    const f = fused(layouts[li] as FastLayout, cols);
    if (f === null || !f(events, dPos, counts[li] as number, rows, T, S, first, bits, bitsView, cols)) return null;
  }
  return { meta: { first, count: n, hash }, events };
}
