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

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface Matcher { event: string; names: string[]; re: RegExp; convs: Printed['conv'][] }

/**
 * A matcher for the printf format `fmt` whose conversions are the fields
 * `names`, in order. The whole argument text must match (anchored).
 */
export function matcher(event: string, fmt: string, names: readonly string[]): Matcher {
  let re = '';
  const convs: Printed['conv'][] = [];
  const spec = /%([-+ #0]*)(\d+)?(?:\.(\d+))?(hh|h|ll|l|z|j|t)?([diuxXscp%])/g;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = spec.exec(fmt)) !== null) {
    re += escapeRe(fmt.slice(at, m.index));
    at = spec.lastIndex;
    const conv = m[5] as string;
    if (conv === '%') { re += '%'; continue; }
    // A width pads with spaces (or zeros, which the digit classes take).
    const pad = m[2] && !(m[1] ?? '').includes('0') ? ' *' : '';
    if (conv === 'd' || conv === 'i') { re += `${pad}(-?[0-9]+)`; convs.push('int'); }
    else if (conv === 'u') { re += `${pad}([0-9]+)`; convs.push('int'); }
    else if (conv === 'x' || conv === 'X') { re += `${pad}((?:0x)?[0-9a-fA-F]+)`; convs.push('hex'); }
    else if (conv === 'p') { re += '((?:0x)?[0-9a-fA-F]+|\\(nil\\))'; convs.push('ptr'); }
    else if (conv === 'c') { re += '(.)'; convs.push('str'); }
    else { re += '(.*?)'; convs.push('str'); }
  }
  re += escapeRe(fmt.slice(at));
  if (convs.length !== names.length) throw new Error(`format of ${event}: ${convs.length} conversions for ${names.length} fields`);
  return { event, names: [...names], re: new RegExp(`^${re}$`, 's'), convs };
}

/** The fields of `text` printed by `m`, or null when it does not match. */
export function readFields(m: Matcher, text: string): Fields | null {
  const r = m.re.exec(text);
  if (!r) return null;
  const v: Record<string, Printed> = {};
  m.names.forEach((name, i) => { v[name] = { text: r[i + 1] as string, conv: m.convs[i] as Printed['conv'] }; });
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
