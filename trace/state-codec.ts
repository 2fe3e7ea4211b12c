// State checkpoints (the whole state, every K events) and the state hash
// carried by every chunk. See docs/trace-format.md, "Checkpoints" and
// "State hash".
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Touch } from '../engine/apply.js';
import { emptyState, SECTION_NAMES } from '../engine/state.js';
import { canonicalJson } from './canonical-json.js';
import type { SectionName, State } from '../engine/types.js';
import { checkpointDecoder, readMsgpack } from './chunk.js';
import { putArrayHeader, putDeep, putString, sinkReset, sinkView } from './columns.js';
import { CHECKPOINT_MSGPACK_LIMITS, LIMITS, RecordLimitError, showValue, TraceError } from './format.js';
import { msgpackShapeProblem } from './msgpack-guard.js';


/**
 * [seq, tick, [[section, keys[], values[]], ...]] in SECTION_NAMES order, keys
 * in the state's own insertion order (deterministic, since the state is built
 * by a deterministic event stream), then raw-deflated: checkpoints are rare
 * and repetitive, so the deflate time is small and the saving large.
 */
export function encodeCheckpoint(state: State): Uint8Array {
  // What decodeCheckpoint() refuses is refused here, before a byte of it is written.
  const refuse = (why: string): never => {
    throw new RecordLimitError(`cannot record: the state after event ${state.seq} ${why} (a trace reader refuses such a checkpoint)`);
  };
  let cells = 0;
  for (const name of SECTION_NAMES) cells += Object.keys(state.s[name] as object).length;
  if (cells > LIMITS.cells) refuse(`holds ${cells} cells, more than ${LIMITS.cells}`);
  // Written by the chunk encoder's msgpack writer (columns.ts: the bytes @msgpack/msgpack writes, without its walk).
  sinkReset();
  putArrayHeader(3);
  putDeep(state.seq, 2);
  putDeep(state.tick, 2);
  putArrayHeader(SECTION_NAMES.length);
  for (const name of SECTION_NAMES) {
    const sec = state.s[name] as Record<string, unknown>;
    const keys = Object.keys(sec);
    putArrayHeader(3);
    putString(name);
    putArrayHeader(keys.length);
    for (let i = 0; i < keys.length; i++) putString(keys[i] as string);
    putArrayHeader(keys.length);
    for (let i = 0; i < keys.length; i++) putDeep(sec[keys[i] as string], 5);
  }
  const raw = sinkView();
  if (raw.length > LIMITS.checkpointBytes) refuse(`is ${raw.length} bytes of msgpack, more than ${LIMITS.checkpointBytes}`);
  // The reader's shape guard: LIMITS.elements decoded values, the nesting bound.
  const shape = msgpackShapeProblem(raw);
  if (shape !== null) refuse(`is a checkpoint that ${shape.replace(/^msgpack /, '')}`);
  const out = deflateRawSync(raw, { level: 6 });
  if (out.length > LIMITS.blockBytes) refuse(`deflates to ${out.length} bytes, more than a block's ${LIMITS.blockBytes}`);
  return out;
}

const KNOWN_SECTIONS = new Set<string>(SECTION_NAMES);

export function decodeCheckpoint(payload: Uint8Array, offset: number): State {
  const bad = (why: string): never => { throw new TraceError(`bad checkpoint: ${why}`, offset); };
  let doc: unknown;
  try {
    const raw = inflateRawSync(payload, { maxOutputLength: LIMITS.checkpointBytes });
    const fast = readMsgpack(raw, CHECKPOINT_MSGPACK_LIMITS);
    doc = fast ? fast.value : checkpointDecoder.decode(raw);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (!Array.isArray(doc) || doc.length !== 3) return bad('not a 3-element array');
  const [seq, tick, sections] = doc as unknown[];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < -1) bad('sequence number');
  if (typeof tick !== 'number' || !Number.isSafeInteger(tick)) bad('tick');
  if (!Array.isArray(sections)) return bad('sections');
  const state = emptyState();
  state.seq = seq as number;
  state.tick = tick as number;
  let cells = 0;
  for (const entry of sections) {
    if (!Array.isArray(entry) || entry.length !== 3) bad('section entry');
    const [name, keys, values] = entry as unknown[];
    if (typeof name !== 'string' || !KNOWN_SECTIONS.has(name)) bad(`unknown section ${showValue(name)}`);
    if (!Array.isArray(keys) || !Array.isArray(values) || keys.length !== values.length) bad(`section ${showValue(name)}`);
    const ks = keys as unknown[];
    const vs = values as unknown[];
    cells += ks.length;
    if (cells > LIMITS.cells) bad('too many cells');
    // Sections are null-prototype objects, so a "__proto__" key is just a key.
    const sec = state.s[name as SectionName] as Record<string, unknown>;
    for (let i = 0; i < ks.length; i++) {
      const key = ks[i];
      if (typeof key !== 'string') bad('cell key');
      sec[key as string] = vs[i];
    }
  }
  return state;
}

/** The digest's two lanes, fed a string at a time (no string is built for the digest's text). */
let dA = 0;
let dB = 0;

/** Start the two FNV-1a style lanes for a text of `length` characters. */
function digestStart(length: number): void {
  dA = 0x811c9dc5;
  dB = 0x01000193 ^ length;
}

function digestFeed(text: string): void {
  let a = dA;
  let b = dB;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  dA = a;
  dB = b;
}

function digestChar(c: number): void {
  dA = Math.imul(dA ^ c, 0x01000193);
  dB = Math.imul(dB ^ c, 0x5bd1e995) ^ (dB >>> 15);
}

/** Decimal digits of a uint32. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) { n = Math.floor(n / 10); d++; }
  return d;
}
const pow10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * A cell's four lanes: the two of `${section}\0${key}\0${json}` and the two
 * of `${key}\u0001${first lane in decimal}` (a 128-bit cell digest), into
 * pool[at..at + 3].
 */
function cellDigest(section: string, key: string, json: string, pool: Uint32Array, at: number): void {
  digestStart(section.length + key.length + json.length + 2);
  digestFeed(section); digestChar(0); digestFeed(key); digestChar(0); digestFeed(json);
  const a = dA >>> 0;
  pool[at] = a;
  pool[at + 1] = dB >>> 0;
  const n = digits(a);
  digestStart(key.length + 1 + n);
  digestFeed(key);
  digestChar(1);
  for (let d = n - 1; d >= 0; d--) digestChar(48 + (Math.floor(a / (pow10[d] as number)) % 10));
  pool[at + 2] = dA >>> 0;
  pool[at + 3] = dB >>> 0;
}

/**
 * An order-independent hash of the whole state, kept up to date from the
 * cells each event touches: the sum (mod 2^32, in four lanes) of a digest of
 * every cell. Updating costs one digest per cell written in a chunk, not a
 * pass over the state. After each chunk the sum is folded into a SHA-256
 * chain, so equal chain values mean equal states and equal histories of
 * chunk states. Not a defence against forgery: a tool for comparison.
 *
 * Touched cells are remembered per section (a Set add per touch, no string
 * built). Each cell's digest sits in one pool of 32-bit words, four per
 * cell, the cell's place in it kept per section (small integers in the
 * Maps, no object per cell for a scavenge to keep).
 */
export class StateHasher {
  private readonly cells: Record<string, Map<string, number>> = Object.create(null) as Record<string, Map<string, number>>;
  private readonly dirty: Record<string, Set<string>> = Object.create(null) as Record<string, Set<string>>;
  private readonly lanes = new Uint32Array(4);
  private pool = new Uint32Array(4 * 1024);
  private readonly free: number[] = [];
  private used = 0;
  private chain: Uint8Array = new Uint8Array(16);

  constructor() {
    for (const name of SECTION_NAMES) { this.cells[name] = new Map(); this.dirty[name] = new Set(); }
  }

  readonly touch: Touch = (section, key) => { (this.dirty[section] as Set<string>).add(key); };

  /** Fold the cells written since the last call into the sum, then extend the chain. */
  seal(state: State): Uint8Array {
    const lanes = this.lanes;
    for (const section of SECTION_NAMES) {
      const dirty = this.dirty[section] as Set<string>;
      if (dirty.size === 0) continue;
      const cells = this.cells[section] as Map<string, number>;
      const sec = state.s[section] as Record<string, unknown>;
      for (const key of dirty) {
        let at = cells.get(key);
        let pool = this.pool;
        if (at !== undefined) for (let i = 0; i < 4; i++) lanes[i] = (lanes[i] as number) - (pool[at + i] as number);
        const value = sec[key];
        if (value === undefined) {
          if (at !== undefined) { cells.delete(key); this.free.push(at); }
          continue;
        }
        if (at === undefined) {
          at = this.free.pop() ?? this.grow();
          pool = this.pool;
          cells.set(key, at);
        }
        cellDigest(section, key, canonicalJson(value), pool, at);
        for (let i = 0; i < 4; i++) lanes[i] = (lanes[i] as number) + (pool[at + i] as number);
      }
      dirty.clear();
    }
    const h = createHash('sha256');
    h.update(this.chain);
    h.update(lanes);
    this.chain = new Uint8Array(h.digest().subarray(0, 16));
    return this.chain;
  }

  /** A new cell's place at the end of the pool (doubled when full). */
  private grow(): number {
    if (this.used + 4 > this.pool.length) {
      const next = new Uint32Array(this.pool.length * 2);
      next.set(this.pool);
      this.pool = next;
    }
    const at = this.used;
    this.used += 4;
    return at;
  }
}
