// A pre-pass over a msgpack payload before @msgpack/msgpack decodes it.
// The decoder allocates `new Array(n)` for an array header as soon as it
// reads it, before any element: a few kilobytes of nested array16 headers
// (3 bytes each, 65 535 elements announced) made it allocate gigabytes.
// This scan walks the tokens once, without allocating, and rejects a payload
// whose containers announce more elements than the bytes left could hold
// (every element takes at least one byte), or that nests deeper than any
// value the recorder writes. What passes cannot make the decoder allocate
// more element slots than the payload has bytes. It also refuses a float
// that is NaN or infinite: the engine and the importers write integers and
// finite numbers only, and JSON (every export, --json) has no such value, so
// one would print as null: a value the trace does not hold.
import { Decoder, type DecoderOptions } from '@msgpack/msgpack';

/** Deepest nesting accepted: events, checkpoints and scenarios stay far below. */
export const MAX_MSGPACK_DEPTH = 64;

/**
 * Most values one payload may decode to: bytes alone do not bound it (a
 * 64 MiB inflated checkpoint of one-byte fixints is 64 M objects). Equal to
 * LIMITS.elements in trace/format.ts, which imports this module's limit.
 */
export const MAX_MSGPACK_ELEMENTS = 1 << 22;

/** The 1-, 2- or 4-byte length after the type byte at p, or -1 when it is cut (a function, not a closure per token). */
function lengthAt(view: DataView, p: number, end: number, bytes: 1 | 2 | 4): number {
  if (p + 1 + bytes > end) return -1;
  return bytes === 1 ? view.getUint8(p + 1) : bytes === 2 ? view.getUint16(p + 1) : view.getUint32(p + 1);
}

/**
 * Whether the big-endian float after the type byte at p has every exponent
 * bit set (NaN or ±Infinity); `mask` is the exponent's bits in the first 16
 * bits without the sign (float32 0x7f80, float64 0x7ff0).
 */
function nonFinite(buf: Uint8Array, p: number, mask: number): boolean {
  return ((((buf[p + 1] as number) << 8) | (buf[p + 2] as number)) & mask) === mask;
}

/** Why `buf` is not a single well-sized msgpack value, or null when it is. */
export function msgpackShapeProblem(buf: Uint8Array, maxDepth = MAX_MSGPACK_DEPTH, maxElements = MAX_MSGPACK_ELEMENTS): string | null {
  const end = buf.length;
  let values = 0;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // Elements still owed by each open container (a map owes two per entry).
  const open: number[] = [];
  let need = 1;
  let p = 0;
  while (need > 0) {
    if (p >= end) return `msgpack ends ${need} value(s) early`;
    if (++values > maxElements) return `msgpack holds more than ${maxElements} values`;
    const b = buf[p] as number;
    let head = 1;
    let body = 0;
    let children = 0;
    if (b <= 0x7f || b >= 0xe0) { /* fixint */ } else if (b <= 0x8f) children = (b & 0x0f) * 2;
    else if (b <= 0x9f) children = b & 0x0f;
    else if (b <= 0xbf) body = b & 0x1f;
    else {
      let n = 0;
      switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break;
        case 0xc4: case 0xd9: head = 2; body = n = lengthAt(view, p, end, 1); break;
        case 0xc5: case 0xda: head = 3; body = n = lengthAt(view, p, end, 2); break;
        case 0xc6: case 0xdb: head = 5; body = n = lengthAt(view, p, end, 4); break;
        case 0xc7: head = 3; body = n = lengthAt(view, p, end, 1); break;
        case 0xc8: head = 4; body = n = lengthAt(view, p, end, 2); break;
        case 0xc9: head = 6; body = n = lengthAt(view, p, end, 4); break;
        case 0xca: body = 4; if (p + 3 <= end && nonFinite(buf, p, 0x7f80)) return `msgpack float at ${p} is NaN or infinite`; break;
        case 0xcb: body = 8; if (p + 3 <= end && nonFinite(buf, p, 0x7ff0)) return `msgpack float at ${p} is NaN or infinite`; break;
        case 0xcc: case 0xd0: body = 1; break;
        case 0xcd: case 0xd1: body = 2; break;
        case 0xce: case 0xd2: body = 4; break;
        case 0xcf: case 0xd3: body = 8; break;
        case 0xd4: body = 2; break;
        case 0xd5: body = 3; break;
        case 0xd6: body = 5; break;
        case 0xd7: body = 9; break;
        case 0xd8: body = 17; break;
        case 0xdc: head = 3; children = n = lengthAt(view, p, end, 2); break;
        case 0xdd: head = 5; children = n = lengthAt(view, p, end, 4); break;
        case 0xde: head = 3; n = lengthAt(view, p, end, 2); children = n * 2; break;
        case 0xdf: head = 5; n = lengthAt(view, p, end, 4); children = n * 2; break;
        default: return `byte 0x${b.toString(16)} at ${p} is not a msgpack type`;
      }
      if (n < 0) return `msgpack header at ${p} is cut`;
    }
    if (p + head + body > end) return `msgpack value at ${p} announces ${body} bytes, ${end - p - head} left`;
    p += head + body;
    // This value fills one slot of the innermost open container; a container
    // stays open (for the depth count) until its last element is complete.
    need--;
    if (open.length > 0) open[open.length - 1]!--;
    if (children > 0) {
      need += children;
      if (need > end - p) return `msgpack container at ${p - head} announces ${children} element(s), only ${end - p} bytes left`;
      open.push(children);
      if (open.length > maxDepth) return `msgpack nests deeper than ${maxDepth}`;
    } else {
      while (open.length > 0 && open[open.length - 1] === 0) open.pop();
    }
  }
  if (p !== end) return `${end - p} byte(s) after the msgpack value`;
  return null;
}

/** A Decoder that runs msgpackShapeProblem first; throws a plain Error the callers turn into TraceError. */
export class GuardedDecoder {
  private readonly inner: Decoder;
  constructor(options: DecoderOptions) { this.inner = new Decoder(options); }
  decode(payload: Uint8Array): unknown {
    const why = msgpackShapeProblem(payload);
    if (why !== null) throw new Error(why);
    return this.inner.decode(payload);
  }
}
