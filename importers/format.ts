// A printf format, as a QEMU trace-events line or a kernel TP_printk() writes
// it, turned into a matcher that reads the printed line back into named
// fields. The importers keep the formats verbatim from their sources (so a
// reader can check them against hw/i386/trace-events or the kernel header),
// and this file is the one place that knows printf.

/** A field as printed: the text, and what the conversion says it is. */
export interface Printed { text: string; conv: 'int' | 'hex' | 'str' | 'ptr' }

export class Fields {
  constructor(private readonly v: Record<string, Printed>, readonly event: string) {}

  private get(name: string): Printed {
    const f = this.v[name];
    if (!f) throw new FieldError(`${this.event}: no field ${name}`);
    return f;
  }

  /** A field as a bigint (integers up to 64 bits and beyond, any sign). */
  big(name: string): bigint {
    const f = this.get(name);
    const t = f.text.trim();
    if (f.conv === 'str') throw new FieldError(`${this.event}: ${name} is text`);
    if (t === '(nil)') return 0n;
    const neg = t.startsWith('-');
    const digits = neg ? t.slice(1) : t;
    const hex = f.conv === 'hex' || f.conv === 'ptr' || /^0x/i.test(digits);
    const body = digits.replace(/^0x/i, '');
    if (!(hex ? /^[0-9a-f]{1,32}$/i : /^[0-9]{1,40}$/).test(body)) throw new FieldError(`${this.event}: ${name} "${t}" is not a number`);
    const n = BigInt(hex ? `0x${body}` : body);
    return neg ? -n : n;
  }

  /** A field as a number; one past 2^53 (a 64-bit value QEMU printed whole) is refused, not rounded. */
  num(name: string): number {
    // The common case without a bigint: up to 13 hex or 15 decimal digits are exact in a double.
    const f = this.get(name);
    if (f.conv === 'hex' || f.conv === 'int') {
      const t = f.text;
      const body = t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t;
      if (f.conv === 'hex' || body !== t ? /^[0-9a-fA-F]{1,13}$/.test(body) : /^[0-9]{1,15}$/.test(body)) return parseInt(body, f.conv === 'hex' || body !== t ? 16 : 10);
    }
    const n = this.big(name);
    if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) throw new FieldError(`${this.event}: ${name} 0x${n.toString(16)} is wider than 53 bits`);
    return Number(n);
  }

  str(name: string): string { return this.get(name).text; }

  has(name: string): boolean { return this.v[name] !== undefined; }

  /** Every field as plain data (numbers when they fit in 53 bits, else "0x..." strings), for an event's args. */
  all(): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    for (const [name, f] of Object.entries(this.v)) {
      if (f.conv === 'str') { out[name] = f.text; continue; }
      try { out[name] = this.num(name); } catch { out[name] = f.text; }
    }
    return out;
  }
}

/** A field that is absent or not what its format says: the line is malformed. */
export class FieldError extends Error {
  constructor(message: string) { super(message); this.name = 'FieldError'; }
}

/** QEMU's PRI macros (<inttypes.h>) as the printf length and conversion they stand for. */
const PRI: Record<string, string> = { PRIx64: 'llx', PRIu64: 'llu', PRId64: 'lld', PRIx32: 'x', PRIu32: 'u', PRId32: 'd', PRIx16: 'x', PRIu16: 'u', PRIx8: 'x', PRIu8: 'u' };

/**
 * The C string of a trace-events format: `"a %"PRIx64" b"` -> `a %llx b`
 * (string pieces joined, PRI macros expanded).
 */
export function cFormat(src: string): string {
  let out = '';
  const re = /"((?:[^"\\]|\\.)*)"|(PRI[a-z]\d+)|\s+/g;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(src)) !== null) {
    if (m.index !== at) throw new Error(`format: cannot read ${JSON.stringify(src.slice(at))}`);
    at = re.lastIndex;
    if (m[1] !== undefined) out += m[1].replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    else if (m[2] !== undefined) {
      const p = PRI[m[2]];
      if (!p) throw new Error(`format: unknown macro ${m[2]}`);
      out += p;
    }
  }
  if (at !== src.length) throw new Error(`format: cannot read ${JSON.stringify(src.slice(at))}`);
  return out;
}

/** Longest argument text an importer hands a matcher: no TP_printk() or trace-events format prints more (a trace_marker write, the longest, is cut at the kernel's TRACE_MARKER_MAX_SIZE of 4096 bytes). */
export const MAX_ARGS = 8192;

/** One piece of a format: text printed as is, or a conversion and the characters it may print. */
type Part = { lit: string } | { conv: Printed['conv']; re: RegExp | null };

export interface Matcher { event: string; names: string[]; parts: Part[]; convs: Printed['conv'][] }

/** What a number or %c may print (sticky: read where the previous piece ended, as much as it takes). */
const INT = /-?[0-9]+/y;
const UINT = /[0-9]+/y;
const HEX = /(?:0x)?[0-9a-fA-F]+/y;
const PTR = /(?:0x)?[0-9a-fA-F]+|\(nil\)/y;
const CHAR = /./sy;
const PAD = / */y;

/** The characters a conversion may start its next piece with and still be read whole, as a test on that piece's first character. */
const stops: Record<string, (ch: string) => boolean> = {
  int: (ch) => /[0-9]/.test(ch), hex: (ch) => /[0-9a-fA-FxX(]/.test(ch), ptr: (ch) => /[0-9a-fA-FxX(]/.test(ch),
};

/**
 * A matcher for the printf format `fmt` whose conversions are the fields
 * `names`, in order. The whole argument text must match. It reads left to
 * right and never goes back, so its cost is linear in the text: a number
 * takes every digit there is, and a %s ends at the first place the text the
 * format prints after it appears (or takes the rest, or all but the format's
 * last words). That is how the kernel and QEMU print them: a device or IOMMU
 * name holds no '/' or space (kobject_set_name_vargs() turns '/' into '!'),
 * and the %s strings of trace-events are fixed words. A format this cannot
 * read that way (a %s or number followed by a conversion, a number followed
 * by a character it could print) is refused here, when the module loads.
 */
export function matcher(event: string, fmt: string, names: readonly string[]): Matcher {
  const parts: Part[] = [];
  const convs: Printed['conv'][] = [];
  const lit = (text: string): void => {
    if (text === '') return;
    const last = parts[parts.length - 1];
    if (last && 'lit' in last) last.lit += text; else parts.push({ lit: text });
  };
  const spec = /%([-+ #0]*)(\d+)?(?:\.(\d+))?(hh|h|ll|l|z|j|t)?([diuxXscp%])/g;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = spec.exec(fmt)) !== null) {
    lit(fmt.slice(at, m.index));
    at = spec.lastIndex;
    const conv = m[5] as string;
    if (conv === '%') { lit('%'); continue; }
    // A width pads with spaces (or zeros, which the digit classes take).
    if (m[2] && !(m[1] ?? '').includes('0') && /[diuxX]/.test(conv)) parts.push({ conv: 'int', re: PAD });
    const c: Printed['conv'] = conv === 'd' || conv === 'i' || conv === 'u' ? 'int' : conv === 'x' || conv === 'X' ? 'hex' : conv === 'p' ? 'ptr' : 'str';
    const re = conv === 'd' || conv === 'i' ? INT : conv === 'u' ? UINT : conv === 'x' || conv === 'X' ? HEX : conv === 'p' ? PTR : conv === 'c' ? CHAR : null;
    parts.push({ conv: c, re });
    convs.push(c);
  }
  lit(fmt.slice(at));
  if (convs.length !== names.length) throw new Error(`format of ${event}: ${convs.length} conversions for ${names.length} fields`);
  parts.forEach((p, i) => {
    const next = parts[i + 1];
    if ('lit' in p || p.re === CHAR || p.re === PAD || next === undefined) return;
    if (!('lit' in next)) throw new Error(`format of ${event}: a conversion right after %${p.re === null ? 's' : p.conv}: ${fmt}`);
    const stop = stops[p.conv];
    if (stop && stop(next.lit[0] as string)) throw new Error(`format of ${event}: ${JSON.stringify(next.lit)} could be read as part of the number before it: ${fmt}`);
  });
  return { event, names: [...names], parts, convs };
}

/** The fields of `text` printed by `m`, or null when it does not match; in one pass over `text`. */
export function readFields(m: Matcher, text: string): Fields | null {
  const got: string[] = [];
  let pos = 0;
  for (let i = 0; i < m.parts.length; i++) {
    const p = m.parts[i] as Part;
    if ('lit' in p) {
      if (!text.startsWith(p.lit, pos)) return null;
      pos += p.lit.length;
    } else if (p.re !== null) {
      p.re.lastIndex = pos;
      const r = p.re.exec(text);
      if (!r) return null;
      if (p.re !== PAD) got.push(r[0]);
      pos += r[0].length;
    } else {
      // A %s: to the next piece of text (the last one printed, at the very end), or to the end.
      const next = m.parts[i + 1] as { lit: string } | undefined;
      const end = next === undefined ? text.length
        : i + 2 === m.parts.length ? (text.endsWith(next.lit) && text.length - next.lit.length >= pos ? text.length - next.lit.length : -1)
          : text.indexOf(next.lit, pos);
      if (end < 0) return null;
      got.push(text.slice(pos, end));
      pos = end;
    }
  }
  if (pos !== text.length) return null;
  const v: Record<string, Printed> = {};
  m.names.forEach((name, i) => { v[name] = { text: got[i] as string, conv: m.convs[i] as Printed['conv'] }; });
  return new Fields(v, m.event);
}

/**
 * A trace-events line (`name(type a, type b) "format"`) as a matcher: the
 * prototype names the fields, the format prints them.
 */
export function traceEvent(line: string): Matcher {
  const m = /^([a-z0-9_]+)\(([^)]*)\)\s*(.*)$/.exec(line.trim());
  if (!m) throw new Error(`trace-events line: ${line}`);
  const [, name = '', proto = '', fmt = ''] = m;
  const names = proto.trim() === 'void' || proto.trim() === '' ? [] : proto.split(',').map((p) => {
    const id = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(p.trim());
    if (!id) throw new Error(`trace-events line: ${line}`);
    return id[1] as string;
  });
  return matcher(name, fmt.trim() === '' ? '' : cFormat(fmt.trim()), names);
}
