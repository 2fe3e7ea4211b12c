// Who wrote a cell, answered from an index instead of a scan: a chain asks
// for the writer of every cell each decision read, and on a 10 M-event
// trace a cell last written by the platform set-up (or never) made
// Replayer.lastWriter replay the whole trace backwards. One pass over the
// trace (every event applied to a private state, the touch of apply noted)
// gives, for each cell, the chunks that wrote it with the first and last
// write in each; a query is then a binary search, and at most one chunk is
// replayed when the answer lies inside the cursor's own chunk. Built in
// steps (a chunk each) that the TUI runs in idle time.
import { apply } from '../engine/apply.js';
import { indexedTouch } from '../engine/caches.js';
import { cloneState, emptyState } from '../engine/state.js';
import type { TraceEvent } from '../engine/types.js';
import type { CellRef, Replayer } from '../replayer/api.js';
import type { TraceReplayer } from '../replayer/replayer.js';

/** Cell-chunk pairs kept at most (each two numbers): past it the index stops and queries fall back to the replayer. */
const MAX_PAIRS = 8_000_000;

interface Postings { chunks: number[]; first: number[]; last: number[] }

/** Index of the last element <= x in an ascending list, or -1. */
function floor(list: readonly number[], x: number): number {
  let lo = 0;
  let hi = list.length - 1;
  let ans = -1;
  while (lo <= hi) { const mid = (lo + hi) >> 1; if ((list[mid] as number) <= x) { ans = mid; lo = mid + 1; } else hi = mid - 1; }
  return ans;
}

const id = (section: string, key: string): string => `${section}\0${key}`;

export class WriterIndex {
  private readonly cells = new Map<string, Postings>();
  private pairs = 0;
  /** Chunks indexed (0 .. built-1); -1: given up (too big), the replayer answers. */
  built = 0;
  private readonly firsts: readonly number[];
  private readonly steps: Generator<number, void>;

  constructor(private readonly r: TraceReplayer) {
    this.firsts = r.index.chunkFirsts;
    this.steps = this.build();
  }

  get chunks(): number { return this.firsts.length; }
  get complete(): boolean { return this.built === this.firsts.length; }
  get usable(): boolean { return this.built !== -1; }

  /** Index the next chunk; false once there is nothing left to do. */
  step(): boolean { return !this.steps.next().done; }

  private *build(): Generator<number, void> {
    const r = this.r;
    const state = emptyState();
    let c = 0;
    let seq = 0;
    // One state for the whole pass: its cache lines indexed, so a wide invalidation costs what it drops.
    const touch = indexedTouch(state, (section, key) => {
      const k = id(section, key);
      let p = this.cells.get(k);
      if (!p) this.cells.set(k, (p = { chunks: [], first: [], last: [] }));
      const n = p.chunks.length - 1;
      if (p.chunks[n] === c) { p.last[n] = seq; return; }
      p.chunks.push(c); p.first.push(seq); p.last.push(seq);
      this.pairs++;
    });
    for (; c < this.firsts.length; c++) {
      const evs = r.chunkEvents(c);
      for (const ev of evs) { seq = ev.seq; apply(state, ev, touch); }
      if (this.pairs > MAX_PAIRS) { this.built = -1; this.cells.clear(); return; }
      this.built = c + 1;
      yield c;
    }
  }

  private chunkOf(n: number): number { return floor(this.firsts, n); }

  /** The last event at or before `at` that wrote the cell (the chunks up to `at`'s must be indexed). */
  lastWriter(cell: CellRef, at: number): number | null {
    if (at < 0) return null;
    const p = this.cells.get(id(cell.section, cell.key));
    if (!p) return null;
    const c0 = this.chunkOf(at);
    for (let i = floor(p.chunks, c0); i >= 0; i--) {
      if ((p.last[i] as number) <= at) return p.last[i] as number;
      if ((p.first[i] as number) > at) continue;
      // Written in at's own chunk both before and after `at`: replay the chunk up to it.
      return this.scanChunk(cell, p.chunks[i] as number, at, -1);
    }
    return null;
  }

  /** The first event after `after` that writes the cell (every chunk must be indexed). */
  nextWriter(cell: CellRef, after: number): number | null {
    const p = this.cells.get(id(cell.section, cell.key));
    if (!p) return null;
    const c0 = Math.max(0, this.chunkOf(after));
    for (let i = Math.max(0, floor(p.chunks, c0)); i < p.chunks.length; i++) {
      if ((p.last[i] as number) <= after) continue;
      if ((p.first[i] as number) > after) return p.first[i] as number;
      return this.scanChunk(cell, p.chunks[i] as number, after, 1);
    }
    return null;
  }

  /** Within chunk c: the last write at or before `n` (dir -1), or the first after it (dir 1). */
  private scanChunk(cell: CellRef, c: number, n: number, dir: 1 | -1): number | null {
    const r = this.r;
    const first = this.firsts[c] as number;
    const state = cloneState(r.stateAt(first - 1));
    let found: number | null = null;
    let seq = 0;
    const touch = indexedTouch(state, (section, key) => {
      if (section !== cell.section || key !== cell.key) return;
      if (dir === -1 ? seq <= n : seq > n && found === null) found = seq;
    });
    for (const ev of r.chunkEvents(c) as TraceEvent[]) {
      if (dir === -1 && ev.seq > n) break;
      seq = ev.seq;
      apply(state, ev, touch);
      if (dir === 1 && found !== null) break;
    }
    return found;
  }
}

/** The index of a trace file's replayer, or null for any other Replayer (its own lastWriter answers). */
export function writerIndexOf(r: Replayer): WriterIndex | null {
  return 'chunkEvents' in r && 'index' in r ? new WriterIndex(r as TraceReplayer) : null;
}
