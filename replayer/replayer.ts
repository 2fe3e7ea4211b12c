// TraceReplayer: the Replayer over a trace file. Opens by the footer (or a
// recovery scan), decodes only the chunks asked for (LRU), and rebuilds any
// state as the nearest checkpoint plus at most K applies.
import { closeSync } from 'node:fs';
import { apply } from '../engine/apply.js';
import { forgetCacheLines, indexedTouch } from '../engine/caches.js';
import { cloneState, emptyState } from '../engine/state.js';
import type { State, TraceEvent } from '../engine/types.js';
import { decodeChunk } from '../trace/chunk.js';
import { BLOCK, BLOCK_HEAD, checkCrc, digest, DIGEST_BYTES, parseBlockHead, TraceError } from '../trace/format.js';
import type { Index } from '../trace/footer.js';
import { decodeCheckpoint } from '../trace/state-codec.js';
import type { CellRef, Replayer, SearchQuery, TraceHeader, Truncation } from './api.js';
import { openTrace, readAt, readBlock } from './open.js';
import { mayWrite } from './provenance.js';
import { matches } from './search.js';

export interface ChunkInfo { first: number; count: number; offset: number; /** State-hash chain after the chunk, hex. */ hash: string }

/**
 * How far the footer's claims (counts, fault and violation lists, kinds) and
 * the checkpoints have been checked against the events themselves
 * (replayer/check.ts). Until then they are shown as unchecked.
 */
export type ClaimStatus = 'unchecked' | 'checked' | 'disagree';

/**
 * A tiny LRU in fixed slots, overwritten in place. Not a Map: a Map's
 * backing table is replaced as entries come and go, and a replaced table
 * that had reached the old generation still points at the young chunks and
 * states it held, so every scavenge kept them alive and promoted them (a
 * random-step probe: 2.7 MB surviving each scavenge with the Map, 0.1 MB with
 * slots, and the scavenge pauses were the p99).
 */
class Lru<V> {
  private readonly keys: number[];
  private readonly vals: (V | undefined)[];
  private readonly used: number[];
  private clock = 0;
  constructor(size: number) {
    this.keys = new Array<number>(size).fill(NaN);
    this.vals = new Array<V | undefined>(size).fill(undefined);
    this.used = new Array<number>(size).fill(0);
  }
  get(k: number): V | undefined {
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] === k) { this.used[i] = ++this.clock; return this.vals[i]; }
    }
    return undefined;
  }
  set(k: number, v: V): void {
    let slot = 0;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] === k) { slot = i; break; }
      if ((this.used[i] as number) < (this.used[slot] as number)) slot = i;
    }
    this.keys[slot] = k;
    this.vals[slot] = v;
    this.used[slot] = ++this.clock;
  }
  /** The values held, in no particular order. */
  *values(): IterableIterator<V> {
    for (let i = 0; i < this.vals.length; i++) { const v = this.vals[i]; if (v !== undefined) yield v; }
  }
  clear(): void {
    this.keys.fill(NaN);
    this.vals.fill(undefined);
    this.used.fill(0);
  }
}

/** Largest i with list[i] <= x, or -1. */
function floorIndex(list: readonly number[], x: number): number {
  let lo = 0;
  let hi = list.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] as number) <= x) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}

export class TraceReplayer implements Replayer {
  readonly path: string;
  readonly header: TraceHeader;
  readonly count: number;
  readonly bytes: number;
  readonly truncated: Truncation | null;
  readonly headerLost: string | null;
  /** K: any state is a checkpoint plus at most this many applies. */
  readonly checkpointEvery: number;
  /** The footer's counts and lists: checked (replayer/check.ts adopt) or not yet. */
  claims: ClaimStatus = 'unchecked';
  /** Checkpoints: 'unchecked' until every one was compared with the state its events build. */
  checkpointClaims: ClaimStatus = 'unchecked';
  private fd: number;
  private readonly ix: Index;
  private kindCounts: Readonly<Record<string, number>>;
  private faultList: readonly number[];
  private violationList: readonly number[];
  /** Checkpoints found to disagree with the events: never used again. */
  private readonly badCheckpoints = new Set<number>();
  private readonly chunkCache = new Lru<TraceEvent[]>(8);
  private readonly stateCache = new Lru<State>(8);

  static open(path: string): TraceReplayer { return new TraceReplayer(path); }

  private constructor(path: string) {
    const t = openTrace(path);
    this.path = path;
    this.fd = t.fd;
    this.header = t.header;
    this.ix = t.index;
    this.count = t.index.events;
    this.bytes = t.bytes;
    this.truncated = t.truncated;
    this.headerLost = t.headerLost;
    this.kindCounts = t.index.kinds;
    this.faultList = t.index.faults;
    this.violationList = t.index.violations;
    this.checkpointEvery = t.index.checkpointEvery;
  }

  get kinds(): Readonly<Record<string, number>> { return this.kindCounts; }
  get faults(): readonly number[] { return this.faultList; }
  get violations(): readonly number[] { return this.violationList; }
  /** The index as read (footer or recovery scan): for replayer/check.ts. */
  get index(): Readonly<Index> { return this.ix; }
  /** Format 2 and later: blocks carry SHA-256 digests; format 1 only CRC-32. */
  get strongHashes(): boolean { return this.header.format >= 2; }

  /**
   * Replace the footer's claims with what the events say (check.ts found
   * them false), and stop using checkpoints that disagree with the events.
   */
  adopt(truth: { kinds: Record<string, number>; faults: number[]; violations: number[]; badCheckpoints: number[]; claimsOk: boolean; checkpointsChecked: boolean }): void {
    // Checked and true: the counts are the events' own (a footer may also list kinds with a count of 0 that no event has).
    if (truth.claimsOk) this.kindCounts = truth.kinds;
    if (!truth.claimsOk) {
      this.kindCounts = truth.kinds;
      this.faultList = truth.faults;
      this.violationList = truth.violations;
    }
    this.claims = truth.claimsOk ? 'checked' : 'disagree';
    for (const i of truth.badCheckpoints) this.badCheckpoints.add(i);
    if (truth.badCheckpoints.length > 0) { this.stateCache.clear(); this.checkpointClaims = 'disagree'; } else if (truth.checkpointsChecked) this.checkpointClaims = 'checked';
  }

  /** The raw payload of chunk c (CRC and, in format 2, SHA-256 checked against the index). */
  chunkPayload(c: number): Buffer {
    const offset = this.ix.chunkOffsets[c] as number;
    const payload = this.readEventsBlock(offset, this.ix.chunkOffsets[c + 1]);
    checkDigest(this.ix.digests, c, payload, offset, 'chunk');
    return payload;
  }

  /**
   * An 'E' block's payload in one read when the index says where the next
   * chunk starts (the block, and any checkpoint after it, lie before that):
   * the same head, length and CRC checks as readBlock, which reads it (and
   * reports what is wrong) whenever anything does not fit.
   */
  private readEventsBlock(offset: number, next: number | undefined): Buffer {
    if (next !== undefined && next > offset + BLOCK_HEAD && next <= this.bytes && next - offset <= 1 << 22) {
      const buf = readAt(this.fd, offset, next - offset);
      if (buf.length === next - offset && buf[0] === BLOCK.events) {
        const head = parseBlockHead(buf.subarray(0, BLOCK_HEAD), offset);
        if (BLOCK_HEAD + head.length <= buf.length) {
          const payload = buf.subarray(BLOCK_HEAD, BLOCK_HEAD + head.length);
          checkCrc(head, payload, offset);
          return payload;
        }
      }
    }
    return readBlock(this.fd, this.bytes, offset, BLOCK.events).payload;
  }

  /**
   * The events of chunk c, read and checked as event() reads them (CRC-32,
   * SHA-256 against the index, decode, first and count against the index),
   * for a pass over the whole trace: not kept in the cache, so a scan neither
   * evicts the chunks on screen nor keeps thousands of events alive.
   */
  chunkEvents(c: number): readonly TraceEvent[] {
    if (!Number.isInteger(c) || c < 0 || c >= this.ix.chunkOffsets.length) throw new RangeError(`chunk ${c} is outside the trace (0..${this.ix.chunkOffsets.length - 1})`);
    return this.chunkCache.get(c) ?? this.readChunk(c);
  }

  /** Checkpoint i as stored (checked against its digest and the index's sequence number). */
  checkpointAt(i: number): State { return this.checkpoint(i); }

  /** Which checkpoint stateAt(n) would start from (-1: none, the empty state), skipping bad ones. */
  checkpointFor(n: number): number {
    let cp = floorIndex(this.ix.checkpointSeqs, n);
    while (cp >= 0 && this.badCheckpoints.has(cp)) cp--;
    return cp;
  }

  get chunks(): ChunkInfo[] {
    const ix = this.ix;
    return ix.chunkFirsts.map((first, i) => ({
      first, count: (ix.chunkFirsts[i + 1] ?? ix.events) - first, offset: ix.chunkOffsets[i] as number,
      hash: Buffer.from(ix.hashes.subarray(i * 16, i * 16 + 16)).toString('hex'),
    }));
  }

  event(n: number): TraceEvent {
    this.check(n);
    const c = floorIndex(this.ix.chunkFirsts, n);
    return this.chunk(c)[n - (this.ix.chunkFirsts[c] as number)] as TraceEvent;
  }

  events(from: number, to: number): TraceEvent[] {
    const lo = Math.max(0, from);
    const hi = Math.min(this.count, to);
    const out: TraceEvent[] = [];
    for (let n = lo; n < hi;) {
      const c = floorIndex(this.ix.chunkFirsts, n);
      const first = this.ix.chunkFirsts[c] as number;
      const evs = this.chunk(c);
      const end = Math.min(hi, first + evs.length);
      for (let i = n - first; i < end - first; i++) out.push(evs[i] as TraceEvent);
      n = end;
    }
    return out;
  }

  stateAt(n: number): State {
    if (n !== -1) this.check(n);
    const hit = this.stateCache.get(n);
    if (hit) return hit;
    // Nearest start: a cached state or a checkpoint at or before n, whichever is later.
    let cached: State | null = null;
    for (const s of this.stateCache.values()) if (s.seq <= n && (!cached || s.seq > cached.seq)) cached = s;
    const cp = this.checkpointFor(n);
    const cpSeq = cp >= 0 ? (this.ix.checkpointSeqs[cp] as number) : -1;
    let state: State;
    if (cached && cached.seq >= cpSeq) state = cloneState(cached);
    else if (cp >= 0) state = this.checkpoint(cp);
    else state = emptyState();
    this.applyRange(state, state.seq + 1, n);
    this.stateCache.set(n, state);
    return state;
  }

  /**
   * The state after event n built from the empty state by applying every
   * event 0..n: trusts no checkpoint. O(n) applies, bounded by the file.
   */
  replayedState(n: number): State {
    if (n !== -1) this.check(n);
    const state = emptyState();
    this.applyRange(state, 0, n);
    return state;
  }

  /** Whether stateAt(n) rests on a checkpoint that has not been checked against the events. */
  stateUnchecked(n: number): number | null {
    const cp = this.checkpointFor(n);
    return cp >= 0 && this.checkpointClaims !== 'checked' ? (this.ix.checkpointSeqs[cp] as number) : null;
  }

  touched(n: number): CellRef[] {
    this.check(n);
    const state = cloneState(this.stateAt(n - 1));
    const out: CellRef[] = [];
    const ev = this.event(n);
    try { apply(state, ev, (section, key) => { out.push({ section, key }); }); } catch (e) { throw this.malformed(ev, e); }
    this.stateCache.set(n, state);
    return out;
  }

  lastWriter(cell: CellRef, at: number): number | null {
    if (this.count === 0 || at < 0) return null;
    const last = Math.min(at, this.count - 1);
    for (let c = floorIndex(this.ix.chunkFirsts, last); c >= 0; c--) {
      const first = this.ix.chunkFirsts[c] as number;
      const evs = this.chunk(c);
      const upto = Math.min(last, first + evs.length - 1);
      // Skip the chunk unless one of its events can write the cell's section.
      let candidate = false;
      for (let i = 0; i <= upto - first && !candidate; i++) candidate = mayWrite((evs[i] as TraceEvent).kind, cell.section);
      if (!candidate) continue;
      const state = cloneState(this.stateAt(first - 1));
      let found: number | null = null;
      let seq = -1;
      // This copy is thrown away after the chunk, so its line index (engine/caches.ts) is too.
      const touch = indexedTouch(state, (section, key) => { if (section === cell.section && key === cell.key) found = seq; });
      for (let i = 0; i <= upto - first; i++) {
        const ev = evs[i] as TraceEvent;
        seq = ev.seq;
        try { apply(state, ev, touch); } catch (e) { throw this.malformed(ev, e); }
      }
      if (found !== null) return found;
    }
    return null;
  }

  search(query: SearchQuery, from: number, dir: 1 | -1): number | null {
    for (let n = from + dir; n >= 0 && n < this.count; n += dir) {
      if (matches(this.event(n), query)) return n;
    }
    return null;
  }

  /** Next (dir 1) or previous (dir -1) fault after / before `from`. */
  nextFault(from: number, dir: 1 | -1): number | null { return neighbour(this.faults, from, dir); }
  nextViolation(from: number, dir: 1 | -1): number | null { return neighbour(this.violations, from, dir); }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private check(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n >= this.count) throw new RangeError(`step ${n} is outside the trace (0..${this.count - 1})`);
  }

  private applyRange(state: State, from: number, to: number): void {
    // A long replay (a file without usable checkpoints) leaves a state every
    // K events in the cache, so walking on from there never repeats it.
    const every = Math.max(1, this.checkpointEvery);
    // The state's cache lines indexed while it is extended (an invalidation costs what it drops, not the cache); the
    // index goes once it is done, since the state is then cached and only ever cloned.
    const touch = indexedTouch(state);
    try {
      for (let n = from; n <= to;) {
        const c = floorIndex(this.ix.chunkFirsts, n);
        const first = this.ix.chunkFirsts[c] as number;
        const evs = this.chunk(c);
        const end = Math.min(to, first + evs.length - 1);
        let i = n - first;
        try {
          for (; i <= end - first; i++) apply(state, evs[i] as TraceEvent, touch);
        } catch (e) { throw this.malformed(evs[i] as TraceEvent, e); }
        n = end + 1;
        if (n <= to && to - from >= every && (end + 1) % every === 0) this.stateCache.set(end, cloneState(state));
      }
    } finally { forgetCacheLines(state); }
  }

  /**
   * An event whose fields do not fit its kind (a forged or damaged chunk with
   * a valid checksum) makes apply() throw a TypeError: report it as damage at
   * the chunk's offset instead.
   */
  private malformed(ev: TraceEvent, e: unknown): TraceError {
    if (e instanceof TraceError) return e;
    const c = floorIndex(this.ix.chunkFirsts, ev.seq);
    return new TraceError(`event ${ev.seq} (${String(ev.kind)}) does not apply to the state: ${e instanceof Error ? e.message : String(e)}`, this.ix.chunkOffsets[c] ?? 0);
  }

  private chunk(c: number): TraceEvent[] {
    const hit = this.chunkCache.get(c);
    if (hit) return hit;
    const events = this.readChunk(c);
    this.chunkCache.set(c, events);
    return events;
  }

  /** Chunk c read, checked and decoded (uncached). */
  private readChunk(c: number): TraceEvent[] {
    const offset = this.ix.chunkOffsets[c] as number;
    const { meta, events } = decodeChunk(this.chunkPayload(c), offset);
    if (this.header.chunkEvents !== undefined && meta.count > this.header.chunkEvents) throw new TraceError(`chunk of ${meta.count} events, the header's chunk size is ${this.header.chunkEvents}`, offset);
    const want = (this.ix.chunkFirsts[c + 1] ?? this.ix.events) - (this.ix.chunkFirsts[c] as number);
    if (meta.first !== this.ix.chunkFirsts[c] || meta.count !== want) throw new TraceError(`chunk holds events ${meta.first}+${meta.count}, the index says ${this.ix.chunkFirsts[c]}+${want}`, offset);
    return events;
  }

  private checkpoint(i: number): State {
    const offset = this.ix.checkpointOffsets[i] as number;
    const block = readBlock(this.fd, this.bytes, offset, BLOCK.state);
    checkDigest(this.ix.checkpointDigests, i, block.payload, offset, 'checkpoint');
    const state = decodeCheckpoint(block.payload, offset);
    if (state.seq !== this.ix.checkpointSeqs[i]) throw new TraceError(`checkpoint is after event ${state.seq}, the index says ${this.ix.checkpointSeqs[i]}`, offset);
    return state;
  }
}

/** A block whose bytes are not the ones the index's SHA-256 names (format 2; format 1 has no digests). */
function checkDigest(digests: Uint8Array, i: number, payload: Uint8Array, offset: number, what: string): void {
  if (digests.length === 0) return;
  const want = digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
  if (!digest(payload).equals(want)) throw new TraceError(`${what} ${i}: SHA-256 of its bytes differs from the index's`, offset);
}

/** The first element of an ascending list after `from` (dir 1) or before it (dir -1), or null. */
export function neighbour(list: readonly number[], from: number, dir: 1 | -1): number | null {
  if (dir === 1) { const i = floorIndex(list, from) + 1; return list[i] ?? null; }
  const i = floorIndex(list, from - 1);
  return i >= 0 ? (list[i] as number) : null;
}

export function openReplayer(path: string): TraceReplayer { return TraceReplayer.open(path); }
