// One chunk of events <-> one msgpack payload. Events are split by layout
// (kind + field names in order) and stored column-wise; seq is implicit
// (first + index) and tick/step are stored once per run of events that share
// them. See docs/trace-format.md, "Event chunks".
import { Encoder } from '@msgpack/msgpack';
import { EVENT_KINDS } from '../engine/summary.js';
import type { TraceEvent } from '../engine/types.js';
import { platformProblems } from '../engine/validate.js';
import { decodeColumn, encodeColumn, type ColSpec } from './columns.js';
import { LIMITS, MSGPACK_LIMITS, TraceError } from './format.js';
import { GuardedDecoder } from './msgpack-guard.js';

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

interface Layout { kind: string; fields: string[]; rows: number[] }

const encoder = new Encoder({ ignoreUndefined: false, initialBufferSize: 1 << 16 });
/** Every block's msgpack goes through the shape guard before the decoder allocates anything. */
export const decoder = new GuardedDecoder(MSGPACK_LIMITS);

type Extract = (events: readonly TraceEvent[], rows: readonly number[], out: unknown[][]) => void;
const extractors = new Map<string, Extract>();

/**
 * Copies one layout's fields into its columns, one generated function per
 * field list, so each property read sees one object shape instead of every
 * event kind's (a keyed read per field and row measured the slowest part of
 * encoding). Field names come from the engine's events and enter the source
 * as JSON strings.
 */
function extractor(fields: readonly string[]): Extract {
  const key = fields.join('\0');
  let f = extractors.get(key);
  if (!f) {
    const body = fields.map((name, j) => `o${j}[r] = ev[${JSON.stringify(name)}];`).join(' ');
    const decl = fields.map((_, j) => `const o${j} = out[${j}];`).join(' ');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    f = new Function('events', 'rows', 'out', `${decl} for (let r = 0; r < rows.length; r++) { const ev = events[rows[r]]; ${body} }`) as Extract;
    if (extractors.size < 4096) extractors.set(key, f);
  }
  return f;
}

function layoutMatches(l: Layout, ev: TraceEvent): boolean {
  let i = 0;
  for (const key in ev) {
    if (key === 'seq' || key === 'tick' || key === 'step' || key === 'kind') continue;
    if (l.fields[i++] !== key) return false;
  }
  return i === l.fields.length;
}

export function encodeChunk(events: readonly TraceEvent[], hash: Uint8Array): Uint8Array {
  const n = events.length;
  const first = events[0]?.seq ?? 0;
  const layouts: Layout[] = [];
  const byKind = new Map<string, number[]>();
  const layoutOf = new Uint32Array(n);
  // Runs of events sharing (tick, step): lengths and deltas.
  const runLen: number[] = [];
  const runTick: number[] = [];
  const runStep: number[] = [];
  let tick = 0;
  let step = 0;
  for (let i = 0; i < n; i++) {
    const ev = events[i] as TraceEvent;
    if (ev.seq !== first + i) throw new Error(`events are not consecutive: seq ${ev.seq} after ${first + i - 1}`);
    if (i === 0 || ev.tick !== tick || ev.step !== step) {
      runLen.push(1); runTick.push(ev.tick - tick); runStep.push(ev.step - step);
      tick = ev.tick; step = ev.step;
    } else runLen[runLen.length - 1]! += 1;
    let cands = byKind.get(ev.kind);
    if (!cands) byKind.set(ev.kind, (cands = []));
    let li = -1;
    for (const c of cands) if (layoutMatches(layouts[c] as Layout, ev)) { li = c; break; }
    if (li < 0) {
      li = layouts.length;
      layouts.push({ kind: ev.kind, fields: Object.keys(ev).filter((key) => !BASE_KEYS.has(key)), rows: [] });
      cands.push(li);
    }
    layoutOf[i] = li;
    (layouts[li] as Layout).rows.push(i);
  }
  const columns: ColSpec[][] = layouts.map((l) => {
    const values = l.fields.map(() => new Array<unknown>(l.rows.length));
    extractor(l.fields)(events, l.rows, values);
    const cols: unknown[][] = [];
    return values.map((v) => {
      const spec = encodeColumn(v, cols);
      cols.push(v);
      return spec;
    });
  });
  const layoutCol = encodeColumn(Array.from(layoutOf), []);
  return encoder.encode([
    first, n, hash,
    [encodeColumn(runLen, []), encodeColumn(runTick, []), encodeColumn(runStep, []), runLen.length],
    layoutCol,
    layouts.map((l) => [l.kind, l.fields]),
    columns,
  ]);
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

export function decodeChunk(payload: Uint8Array, offset: number): { meta: ChunkMeta; events: TraceEvent[] } {
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
