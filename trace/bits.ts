// Byte-level primitives of the chunk encoding: bit-packed unsigned integers
// of a fixed width, and a growable byte sink. Widths are at most 32 bits so
// every operation stays in V8's fast small-integer and uint32 paths.

/** Bits needed to tell `n` values apart (0 for n <= 1). */
export function bitsFor(n: number): number {
  if (n <= 1) return 0;
  if (n <= 2 ** 32) return 32 - Math.clz32(n - 1);
  // Past 32 bits clz32 would wrap (2^32 + 1 values looked like 0 bits): count them.
  let w = 32;
  while (2 ** w < n) w++;
  return w;
}

/** Pack `count` values (each < 2^width, width <= 32) little-endian, LSB first. */
export function packBits(values: ArrayLike<number>, count: number, width: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((count * width) / 8));
  if (width === 0) return out;
  let acc = 0; // pending bits, < 2^8 before each add
  let nacc = 0;
  let o = 0;
  for (let i = 0; i < count; i++) {
    let v = (values[i] ?? 0) >>> 0;
    let w = width;
    // Feed the value in pieces of at most 24 bits so acc never overflows 32 bits.
    while (w > 0) {
      const take = w > 24 ? 24 : w;
      acc |= (v & ((1 << take) - 1)) << nacc;
      nacc += take;
      v = Math.floor(v / (1 << take));
      w -= take;
      while (nacc >= 8) { out[o++] = acc & 0xff; acc >>>= 8; nacc -= 8; }
    }
  }
  if (nacc > 0) out[o] = acc & 0xff;
  return out;
}

/** Inverse of packBits into `out` (which has room for `count` values). */
export function unpackBits(src: Uint8Array, count: number, width: number, out: Float64Array | number[]): void {
  if (width === 0) { for (let i = 0; i < count; i++) out[i] = 0; return; }
  let acc = 0;
  let nacc = 0;
  let p = 0;
  if (width <= 24) {
    const mask = (1 << width) - 1;
    for (let i = 0; i < count; i++) {
      while (nacc < width) { acc |= (src[p++] ?? 0) << nacc; nacc += 8; }
      out[i] = acc & mask;
      acc >>>= width;
      nacc -= width;
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    let v = 0;
    let scale = 1;
    let w = width;
    while (w > 0) {
      const take = w > 16 ? 16 : w;
      while (nacc < take) { acc |= (src[p++] ?? 0) << nacc; nacc += 8; }
      v += (acc & ((1 << take) - 1)) * scale;
      acc >>>= take;
      nacc -= take;
      scale *= 1 << take;
      w -= take;
    }
    out[i] = v;
  }
}

/** Ascending non-negative integers as LEB128 varints of their gaps. */
export function encodeGaps(values: readonly number[]): Uint8Array {
  const out: number[] = [];
  let prev = 0;
  for (const v of values) {
    let gap = v - prev;
    prev = v;
    while (gap >= 0x80) { out.push((gap % 0x80) | 0x80); gap = Math.floor(gap / 0x80); }
    out.push(gap);
  }
  return Uint8Array.from(out);
}

/** Inverse of encodeGaps; at most `max` values, each below `limit`, or null when malformed. */
export function decodeGaps(src: Uint8Array, max: number, limit: number): number[] | null {
  const out: number[] = [];
  let prev = 0;
  let p = 0;
  while (p < src.length) {
    let gap = 0;
    let scale = 1;
    for (;;) {
      if (p >= src.length || scale > 2 ** 49) return null;
      const b = src[p++] ?? 0;
      gap += (b & 0x7f) * scale;
      scale *= 0x80;
      if (b < 0x80) break;
    }
    prev += gap;
    if (out.length >= max || prev >= limit || (out.length > 0 && gap === 0)) return null;
    out.push(prev);
  }
  return out;
}
