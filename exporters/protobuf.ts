// A protobuf wire-format writer for the few message shapes the Perfetto
// exporter emits: varints, fixed64, doubles, strings and nested messages.
// Nested lengths are written as 4-byte padded varints (as Perfetto's own
// protozero writer does), so a message is written in one pass without
// sizing it first; every proto decoder reads a padded varint.

const WIRE = { varint: 0, fixed64: 1, len: 2 } as const;
/** A nested message's length slot: 4 bytes, lengths below 2^28. */
const LEN_BYTES = 4;
const MAX_NESTED = 1 << 28;

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(size = 1 << 16) { this.buf = Buffer.allocUnsafe(size); }

  get length(): number { return this.pos; }

  /** The bytes written so far (a copy), and the writer emptied. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }

  /** An unsigned integer field (uint32/uint64/bool/enum); n a safe non-negative integer. */
  uint(field: number, n: number): void {
    this.tag(field, WIRE.varint);
    this.rawVarint(n);
  }

  /** An int64 field: negative values are 10-byte two's-complement varints. */
  int(field: number, n: number): void {
    if (n >= 0) { this.uint(field, n); return; }
    this.tag(field, WIRE.varint);
    let v = BigInt.asUintN(64, BigInt(n));
    this.room(10);
    while (v >= 0x80n) { this.buf[this.pos++] = Number(v & 0x7fn) | 0x80; v >>= 7n; }
    this.buf[this.pos++] = Number(v);
  }

  bool(field: number, b: boolean): void { this.uint(field, b ? 1 : 0); }

  double(field: number, x: number): void {
    this.tag(field, WIRE.fixed64);
    this.room(8);
    this.buf.writeDoubleLE(x, this.pos);
    this.pos += 8;
  }

  /** A fixed64 field; n a safe non-negative integer. */
  fixed64(field: number, n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`fixed64 ${n} is not a safe non-negative integer`);
    this.tag(field, WIRE.fixed64);
    const buf = this.room(8);
    buf.writeUInt32LE(n % 0x100000000, this.pos);
    buf.writeUInt32LE(Math.floor(n / 0x100000000), this.pos + 4);
    this.pos += 8;
  }

  string(field: number, s: string): void {
    this.tag(field, WIRE.len);
    // Short ASCII (names, RIDs, errnos: nearly every string here) byte by byte: no native call.
    if (s.length < 128) {
      const buf = this.room(s.length + 1);
      let p = this.pos + 1;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === s.length) { buf[this.pos] = s.length; this.pos = p; return; }
    }
    const bytes = Buffer.byteLength(s);
    this.rawVarint(bytes);
    this.room(bytes);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A nested message: `body` writes its fields. */
  message(field: number, body: () => void): void {
    const at = this.begin(field);
    body();
    this.end(at);
  }

  /** Open a nested message (its fields follow); end() with what this returns closes it. No closure: the hot path. */
  begin(field: number): number {
    this.tag(field, WIRE.len);
    this.room(LEN_BYTES);
    const at = this.pos;
    this.pos += LEN_BYTES;
    return at;
  }

  end(at: number): void {
    const n = this.pos - at - LEN_BYTES;
    if (n >= MAX_NESTED) throw new RangeError(`a nested message of ${n} bytes, more than ${MAX_NESTED}`);
    this.buf[at] = (n & 0x7f) | 0x80;
    this.buf[at + 1] = ((n >>> 7) & 0x7f) | 0x80;
    this.buf[at + 2] = ((n >>> 14) & 0x7f) | 0x80;
    this.buf[at + 3] = (n >>> 21) & 0x7f;
  }

  private tag(field: number, wire: number): void { this.rawVarint(field * 8 + wire); }

  private rawVarint(n: number): void {
    if (n >>> 0 === n) {
      const buf = this.room(5);
      while (n >= 0x80) { buf[this.pos++] = (n & 0x7f) | 0x80; n >>>= 7; }
      buf[this.pos++] = n;
      return;
    }
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint ${n} is not a safe non-negative integer`);
    this.room(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  /** The buffer, with room for n more bytes at pos. */
  private room(n: number): Buffer {
    if (this.pos + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    return this.buf;
  }
}
