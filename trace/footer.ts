// The footer index: where every chunk and checkpoint is, the state-hash
// chain, fault and violation positions and counts per kind. Written last;
// a reader that finds it never has to scan the file.
import { Encoder } from '@msgpack/msgpack';
import { decodeGaps, encodeGaps } from './bits.js';
import { decoder } from './chunk.js';
import { DIGEST_BYTES, LIMITS, TraceError } from './format.js';

export interface Index {
  events: number;
  /** Events per chunk the recorder aimed for (the last chunk may be shorter). */
  chunkEvents: number;
  /** K: a checkpoint follows every chunk that ends at a multiple of K events. */
  checkpointEvery: number;
  chunkOffsets: number[];
  chunkFirsts: number[];
  /** 16 bytes per chunk: the state-hash chain after that chunk. */
  hashes: Uint8Array;
  /** Sequence number of the last event each checkpoint includes, and its block offset. */
  checkpointSeqs: number[];
  checkpointOffsets: number[];
  faults: number[];
  violations: number[];
  kinds: Record<string, number>;
  /**
   * Format 2: SHA-256 of every chunk payload (32 bytes each, in chunk order),
   * of every checkpoint payload, and the chain over the chunk digests
   * (chainStep). Empty in a format-1 footer, which has only CRC-32s.
   */
  digests: Uint8Array;
  checkpointDigests: Uint8Array;
  chain: Uint8Array;
}

const encoder = new Encoder();

export function encodeFooter(ix: Index): Uint8Array {
  return encoder.encode({
    events: ix.events, chunkEvents: ix.chunkEvents, checkpointEvery: ix.checkpointEvery,
    chunkOffsets: encodeGaps(ix.chunkOffsets), chunkFirsts: encodeGaps(ix.chunkFirsts), hashes: ix.hashes,
    checkpointSeqs: ix.checkpointSeqs, checkpointOffsets: ix.checkpointOffsets,
    faults: encodeGaps(ix.faults), violations: encodeGaps(ix.violations), kinds: ix.kinds,
    digests: ix.digests, checkpointDigests: ix.checkpointDigests, chain: ix.chain,
  });
}

const isCount = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

export function decodeFooter(payload: Uint8Array, offset: number, fileBytes: number, format: number): Index {
  const bad = (why: string): never => { throw new TraceError(`bad footer: ${why}`, offset); };
  let doc: unknown;
  try { doc = decoder.decode(payload); } catch (e) { return bad((e as Error).message); }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return bad('not a map');
  const d = doc as Record<string, unknown>;
  if (!isCount(d.events, Number.MAX_SAFE_INTEGER)) bad('events');
  if (!isCount(d.chunkEvents, LIMITS.chunkEvents) || d.chunkEvents === 0) bad('chunkEvents');
  if (!isCount(d.checkpointEvery, Number.MAX_SAFE_INTEGER) || d.checkpointEvery === 0) bad('checkpointEvery');
  const events = d.events as number;
  const gaps = (name: string, max: number, limit: number): number[] => {
    const v = d[name];
    const out = v instanceof Uint8Array ? decodeGaps(v, max, limit) : null;
    return out ?? bad(name);
  };
  const chunkOffsets = gaps('chunkOffsets', LIMITS.chunks, fileBytes);
  const chunkFirsts = gaps('chunkFirsts', LIMITS.chunks, Math.max(events, 1));
  if (chunkFirsts.length !== chunkOffsets.length || (chunkFirsts.length > 0 && chunkFirsts[0] !== 0)) bad('chunk index');
  if ((chunkFirsts.length === 0) !== (events === 0)) bad('chunk index');
  const hashes = d.hashes;
  if (!(hashes instanceof Uint8Array) || hashes.length !== chunkOffsets.length * 16) bad('hashes');
  const cpSeqs = d.checkpointSeqs;
  const cpOffs = d.checkpointOffsets;
  if (!Array.isArray(cpSeqs) || !Array.isArray(cpOffs) || cpSeqs.length !== cpOffs.length) return bad('checkpoints');
  cpSeqs.forEach((s, i) => { if (!isCount(s, events - 1) || (i > 0 && s <= (cpSeqs[i - 1] as number))) bad('checkpoint sequence numbers'); });
  cpOffs.forEach((o) => { if (!isCount(o, fileBytes)) bad('checkpoint offsets'); });
  const kinds = d.kinds;
  if (kinds === null || typeof kinds !== 'object' || Array.isArray(kinds)) return bad('kinds');
  const kindMap: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [k, v] of Object.entries(kinds as Record<string, unknown>)) {
    if (!isCount(v, events)) bad(`count of ${k}`);
    kindMap[k] = v as number;
  }
  // Format 2 carries a digest per block; format 1 has none (CRC-32 only).
  const bin = (name: string, length: number): Uint8Array => {
    const v = d[name];
    if (format < 2) return new Uint8Array(0);
    if (!(v instanceof Uint8Array) || v.length !== length) return bad(name);
    return v;
  };
  return {
    events, chunkEvents: d.chunkEvents as number, checkpointEvery: d.checkpointEvery as number,
    chunkOffsets, chunkFirsts, hashes: hashes as Uint8Array,
    checkpointSeqs: cpSeqs as number[], checkpointOffsets: cpOffs as number[],
    faults: gaps('faults', events, events), violations: gaps('violations', events, events), kinds: kindMap,
    digests: bin('digests', chunkOffsets.length * DIGEST_BYTES),
    checkpointDigests: bin('checkpointDigests', cpOffs.length * DIGEST_BYTES),
    chain: bin('chain', DIGEST_BYTES),
  };
}
