// A forger's toolkit for the integrity tests: take a valid trace apart, edit
// its events, checkpoints or footer, and put it back together with every
// CRC, offset, SHA-256 digest and chain value recomputed — a forged but
// valid file, the input a reader must not be fooled by.
import { readFileSync } from 'node:fs';
import { Encoder } from '@msgpack/msgpack';
import type { State, TraceEvent } from '../engine/types.js';
import { encodeGaps } from '../trace/bits.js';
import { decodeChunk, decoder, encodeChunk } from '../trace/chunk.js';
import { BLOCK, chainStep, digest, DIGEST_BYTES, frameBlock, preamble, tail } from '../trace/format.js';
import { decodeCheckpoint, encodeCheckpoint } from '../trace/state-codec.js';
import { parseTrace, type RawBlock } from './fuzz/trace-bytes.js';

export interface Forgery {
  /** Rewrite the events of chunk c (same count keeps the index consistent). */
  chunk?: (c: number, events: TraceEvent[]) => TraceEvent[];
  /** Rewrite checkpoint i's state. */
  checkpoint?: (i: number, state: State) => State;
  /** Edit the footer map after offsets and digests were recomputed. */
  footer?: (doc: Record<string, unknown>) => void;
  /** Edit the raw payload bytes of the E and S blocks before framing (digests follow the new bytes). */
  bytes?: (kind: 'E' | 'S', i: number, payload: Buffer) => Buffer;
  /** Edit the header map (scenario, variant, imported, ...; re-encoded and re-framed). */
  header?: (doc: Record<string, unknown>) => void;
  /** Write this format version: 1 drops the header's chunk sizes and the footer's SHA-256 digests and chain. */
  version?: 1 | 2;
}

const encoder = new Encoder();

export function forge(path: string, f: Forgery): Buffer {
  const { blocks } = parseTrace(Buffer.from(readFileSync(path)));
  const version = f.version ?? 2;
  const out: Buffer[] = [preamble(version)];
  let offset = 12;
  const eOff: number[] = []; const sOff: number[] = [];
  const digests: Buffer[] = []; const cpDigests: Buffer[] = [];
  let chain: Uint8Array = new Uint8Array(DIGEST_BYTES);
  let footer: Record<string, unknown> | null = null;
  let e = 0; let s = 0;
  const put = (b: RawBlock): void => { const framed = frameBlock(b.type as 0x48, b.payload); out.push(framed); offset += framed.length; };
  for (const b of blocks) {
    if (b.type === BLOCK.footer) { footer = decoder.decode(b.payload) as Record<string, unknown>; continue; }
    let payload: Buffer = Buffer.from(b.payload);
    if (b.type === BLOCK.header && (f.header || version !== 2)) {
      const doc = decoder.decode(payload) as Record<string, unknown>;
      doc.format = version;
      if (version === 1) { delete doc.chunkEvents; delete doc.checkpointEvery; }
      f.header?.(doc);
      payload = Buffer.from(encoder.encode(doc));
    } else if (b.type === BLOCK.events) {
      if (f.chunk) {
        const { meta, events } = decodeChunk(payload, 0);
        payload = Buffer.from(encodeChunk(f.chunk(e, events), meta.hash));
      }
      if (f.bytes) payload = f.bytes('E', e, payload);
      eOff.push(offset);
      const d = digest(payload); digests.push(d); chain = chainStep(chain, d);
      e++;
    } else if (b.type === BLOCK.state) {
      if (f.checkpoint) payload = Buffer.from(encodeCheckpoint(f.checkpoint(s, decodeCheckpoint(payload, 0))));
      if (f.bytes) payload = f.bytes('S', s, payload);
      sOff.push(offset);
      cpDigests.push(digest(payload));
      s++;
    }
    put({ type: b.type, payload });
  }
  if (!footer) throw new Error('forge: no footer');
  footer.chunkOffsets = encodeGaps(eOff);
  footer.checkpointOffsets = sOff;
  footer.digests = Buffer.concat(digests);
  footer.checkpointDigests = Buffer.concat(cpDigests);
  footer.chain = Buffer.from(chain);
  if (version === 1) { delete footer.digests; delete footer.checkpointDigests; delete footer.chain; }
  f.footer?.(footer);
  const framed = frameBlock(BLOCK.footer, encoder.encode(footer));
  out.push(framed, tail(framed.length));
  return Buffer.concat(out);
}

/** Gap-encode a sorted list the way the footer stores sequence numbers. */
export const gapsOf = (xs: number[]): Uint8Array => encodeGaps(xs);
