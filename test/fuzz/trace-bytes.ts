// The block structure of a trace file, for structure-aware mutation: split a
// valid trace into its blocks, put blocks back together (re-framed, with a
// fresh or a stale footer), and find msgpack headers inside a payload.
// Only used on traces the recorder wrote, so this parser trusts its input.
import { crc32 } from 'node:zlib';
import { Encoder } from '@msgpack/msgpack';
import { BLOCK, BLOCK_HEAD, frameBlock, preamble, tail, TAIL_BYTES, type BlockType } from '../../trace/format.js';
import { decoder } from '../../trace/chunk.js';

export interface RawBlock { type: number; payload: Buffer }
export interface TraceParts { blocks: RawBlock[] }

export function parseTrace(buf: Buffer): TraceParts {
  const blocks: RawBlock[] = [];
  let p = 12;
  const end = buf.length - TAIL_BYTES;
  while (p + BLOCK_HEAD <= end) {
    const type = buf[p] as number;
    const len = buf.readUInt32LE(p + 4);
    blocks.push({ type, payload: buf.subarray(p + BLOCK_HEAD, p + BLOCK_HEAD + len) });
    p += BLOCK_HEAD + len;
  }
  return { blocks };
}

/** Frame a block; a wrong CRC when asked (so the reader sees damage, not a forged block). */
export function frame(b: RawBlock, badCrc = false): Buffer {
  const f = frameBlock(b.type as BlockType, b.payload);
  if (badCrc) f.writeUInt32LE((f.readUInt32LE(8) ^ 1) >>> 0, 8);
  return f;
}

/** Recompute the CRC of the block whose head is at `offset` (after its payload was edited). */
export function fixCrc(buf: Buffer, offset: number): void {
  const len = buf.readUInt32LE(offset + 4);
  buf.writeUInt32LE(crc32(buf.subarray(offset + BLOCK_HEAD, offset + BLOCK_HEAD + len)), offset + 8);
}

/** Offsets of every block head in a (valid) trace, footer included. */
export function blockOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  let p = 12;
  const end = buf.length - TAIL_BYTES;
  while (p + BLOCK_HEAD <= end) {
    out.push(p);
    p += BLOCK_HEAD + buf.readUInt32LE(p + 4);
  }
  return out;
}

const encoder = new Encoder();

/**
 * Put blocks back into a file. footer: 'keep' writes the blocks exactly as
 * given (a stale footer stays stale); 'offsets' rewrites the footer's chunk
 * and checkpoint offsets to where the E and S blocks now are (a footer that
 * is consistent with the layout but maybe not with the chunks' contents);
 * 'drop' leaves footer and tail out (a crashed recorder).
 */
export function assemble(blocks: RawBlock[], footer: 'keep' | 'offsets' | 'drop'): Buffer {
  const parts: Buffer[] = [preamble()];
  let offset = 12;
  const eOffsets: number[] = [];
  const sOffsets: number[] = [];
  let footerLen = 0;
  for (const b of blocks) {
    if (b.type === BLOCK.footer) {
      if (footer === 'drop') continue;
      let payload = b.payload;
      if (footer === 'offsets') {
        // A footer an earlier mutation broke stays broken.
        try {
          const doc = decoder.decode(payload) as Record<string, unknown>;
          doc.chunkOffsets = gaps(eOffsets);
          doc.checkpointOffsets = sOffsets.slice(0, Array.isArray(doc.checkpointOffsets) ? doc.checkpointOffsets.length : 0);
          payload = Buffer.from(encoder.encode(doc));
        } catch { /* keep it */ }
      }
      const f = frame({ type: b.type, payload });
      parts.push(f);
      footerLen = f.length;
      offset += f.length;
      continue;
    }
    if (b.type === BLOCK.events) eOffsets.push(offset);
    if (b.type === BLOCK.state) sOffsets.push(offset);
    const f = frame(b);
    parts.push(f);
    offset += f.length;
  }
  if (footer !== 'drop' && footerLen > 0) parts.push(tail(footerLen));
  return Buffer.concat(parts);
}

function gaps(values: number[]): Uint8Array {
  const out: number[] = [];
  let prev = 0;
  for (const v of values) {
    let g = v - prev;
    prev = v;
    while (g >= 0x80) { out.push((g % 0x80) | 0x80); g = Math.floor(g / 0x80); }
    out.push(g);
  }
  return Uint8Array.from(out);
}

/** A msgpack length or count field: where it sits and how wide it is. */
export interface LengthField { at: number; bytes: 1 | 2 | 4; value: number; what: 'str' | 'bin' | 'array' | 'map' | 'fix' }

/** Every length/count field in a msgpack payload (fix-forms report their 4- or 5-bit count at the type byte). */
export function lengthFields(buf: Uint8Array): LengthField[] {
  const out: LengthField[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  while (p < buf.length) {
    const b = buf[p] as number;
    const u = (n: 1 | 2 | 4): number => (p + 1 + n > buf.length ? 0 : n === 1 ? view.getUint8(p + 1) : n === 2 ? view.getUint16(p + 1) : view.getUint32(p + 1));
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) { p += 1; continue; }
    if (b <= 0x9f) { out.push({ at: p, bytes: 1, value: b & 0x0f, what: 'fix' }); p += 1; continue; }
    if (b <= 0xbf) { out.push({ at: p, bytes: 1, value: b & 0x1f, what: 'fix' }); p += 1 + (b & 0x1f); continue; }
    switch (b) {
      case 0xc4: case 0xd9: out.push({ at: p + 1, bytes: 1, value: u(1), what: b === 0xc4 ? 'bin' : 'str' }); p += 2 + u(1); break;
      case 0xc5: case 0xda: out.push({ at: p + 1, bytes: 2, value: u(2), what: b === 0xc5 ? 'bin' : 'str' }); p += 3 + u(2); break;
      case 0xc6: case 0xdb: out.push({ at: p + 1, bytes: 4, value: u(4), what: b === 0xc6 ? 'bin' : 'str' }); p += 5 + u(4); break;
      case 0xca: p += 5; break;
      case 0xcb: p += 9; break;
      case 0xcc: case 0xd0: p += 2; break;
      case 0xcd: case 0xd1: p += 3; break;
      case 0xce: case 0xd2: p += 5; break;
      case 0xcf: case 0xd3: p += 9; break;
      case 0xdc: out.push({ at: p + 1, bytes: 2, value: u(2), what: 'array' }); p += 3; break;
      case 0xdd: out.push({ at: p + 1, bytes: 4, value: u(4), what: 'array' }); p += 5; break;
      case 0xde: out.push({ at: p + 1, bytes: 2, value: u(2), what: 'map' }); p += 3; break;
      case 0xdf: out.push({ at: p + 1, bytes: 4, value: u(4), what: 'map' }); p += 5; break;
      default: p += 1;
    }
  }
  return out;
}
