// How far two trace files agree, found from their indexes without decoding a
// single event.
//
// The footer's state-hash chain says where the *states* part: chain values
// are chained, so "equal at chunk i" holds for a prefix of the chunks and a
// binary search finds its end. But an event that writes no state (a DMA's
// outcome, a fault, an ioctl's errno) leaves the chain untouched, so equal
// chains do not mean equal events. Each chunk block also carries a CRC-32 of
// its payload (the chunk's events and its chain value) in its 12-byte head;
// inside the state-equal prefix, the first chunk whose head (length, CRC)
// differs is where the events may first differ. Reading those heads costs one
// 12-byte read per chunk.
import { closeSync, openSync } from 'node:fs';
import { BLOCK_HEAD, parseBlockHead } from '../trace/format.js';
import { readAt } from './open.js';
import type { ChunkInfo, TraceReplayer } from './replayer.js';

export interface CommonPrefix {
  /** Events 0 .. events-1 are byte-identical in both traces. */
  events: number;
  /** Whole chunks that are byte-identical. */
  chunks: number;
  /** First chunk whose state-hash differs (or the shorter trace's chunk count). */
  stateChunk: number;
  /** First event of that chunk: the states agree after every chunk before it. */
  stateFrom: number;
}

const sameSlot = (x: ChunkInfo | undefined, y: ChunkInfo | undefined): boolean =>
  x !== undefined && y !== undefined && x.first === y.first && x.count === y.count && x.hash === y.hash;

export function commonPrefix(a: TraceReplayer, b: TraceReplayer): CommonPrefix {
  const ca = a.chunks;
  const cb = b.chunks;
  // First chunk whose chain value (or position) differs; the predicate is monotone.
  let lo = 0;
  let hi = Math.min(ca.length, cb.length);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sameSlot(ca[mid], cb[mid])) lo = mid + 1; else hi = mid;
  }
  const stateChunk = lo;
  let chunks = 0;
  if (stateChunk > 0) {
    const fa = openSync(a.path, 'r');
    const fb = openSync(b.path, 'r');
    try {
      for (; chunks < stateChunk; chunks++) {
        const x = ca[chunks] as ChunkInfo;
        const y = cb[chunks] as ChunkInfo;
        const hx = parseBlockHead(readAt(fa, x.offset, BLOCK_HEAD), x.offset);
        const hy = parseBlockHead(readAt(fb, y.offset, BLOCK_HEAD), y.offset);
        if (hx.length !== hy.length || hx.crc !== hy.crc) break;
      }
    } finally {
      closeSync(fa);
      closeSync(fb);
    }
  }
  const end = (i: number): number => (i === 0 ? 0 : (ca[i - 1] as ChunkInfo).first + (ca[i - 1] as ChunkInfo).count);
  return { events: end(chunks), chunks, stateChunk, stateFrom: end(stateChunk) };
}
