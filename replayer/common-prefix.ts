// How far two trace files agree, byte for byte, without decoding an event.
//
// Chunk i of both files is compared by the SHA-256 of its bytes, read from
// each file (TraceReplayer.chunkPayload also checks them against the index's
// digest in format 2): equal digests mean equal events and an equal state
// hash, and a collision is not a practical concern. Nothing in either
// footer is trusted for this: a forged footer, or two chunks that share a
// CRC-32, cannot make diff call different traces identical. The cost is one
// read and one hash per chunk of the common prefix.
import { digest, TraceError } from '../trace/format.js';
import type { ChunkInfo, TraceReplayer } from './replayer.js';

export interface CommonPrefix {
  /** Events 0 .. events-1 are byte-identical in both traces. */
  events: number;
  /** Whole chunks that are byte-identical. */
  chunks: number;
}

function chunkDigest(r: TraceReplayer, c: number): Buffer | null {
  try { return digest(r.chunkPayload(c)); } catch (e) {
    if (e instanceof TraceError) return null;
    throw e;
  }
}

export function commonPrefix(a: TraceReplayer, b: TraceReplayer): CommonPrefix {
  const ca = a.chunks;
  const cb = b.chunks;
  const n = Math.min(ca.length, cb.length);
  let chunks = 0;
  for (; chunks < n; chunks++) {
    const x = ca[chunks] as ChunkInfo;
    const y = cb[chunks] as ChunkInfo;
    if (x.first !== y.first || x.count !== y.count) break;
    const dx = chunkDigest(a, chunks);
    const dy = chunkDigest(b, chunks);
    if (dx === null || dy === null || !dx.equals(dy)) break;
  }
  const last = chunks === 0 ? undefined : ca[chunks - 1];
  return { events: last ? last.first + last.count : 0, chunks };
}
