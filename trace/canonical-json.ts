// JSON.stringify(canonical(value)) without building the canonical copy: the
// text every state-hash cell digest is taken over (state-codec.ts seal). It
// must be exactly that string (chunk hashes in every trace rest on it), so
// anything off the common path (integer-like or "__proto__" keys, which
// change where a key lands; functions, bigints, class instances, typed
// arrays, deep nesting) goes to the original.
import { canonical, compareKeys } from '../engine/state.js';

const DEPTH = 32;

/** Recent key lists and their sorted, quoted form: state values of one kind share a key list. */
interface KeyOrder { keys: string[]; order: Int32Array; quoted: string[] }
const ORDERS = 32;
const orders: KeyOrder[] = [];

function keyOrder(keys: string[]): KeyOrder | null {
  for (let e = 0; e < orders.length; e++) {
    const o = orders[e] as KeyOrder;
    const ks = o.keys;
    if (ks.length !== keys.length) continue;
    let same = true;
    for (let i = 0; i < ks.length; i++) if (ks[i] !== keys[i]) { same = false; break; }
    if (same) return o;
  }
  for (const k of keys) {
    const c = k.charCodeAt(0);
    // A leading digit may be an array index (JSON.stringify puts those first, numerically); "__proto__" is special in canonical().
    if ((c >= 48 && c <= 57) || k === '__proto__') return null;
  }
  const sorted = keys.map((k, i) => i).sort((a, b) => compareKeys(keys[a] as string, keys[b] as string));
  const o: KeyOrder = { keys: keys.slice(), order: Int32Array.from(sorted), quoted: sorted.map((i) => `${JSON.stringify(keys[i])}:`) };
  if (orders.length >= ORDERS) orders.pop();
  orders.unshift(o);
  return o;
}

/** The JSON of v, or null when v is not plain data of the common kind. */
function plain(v: unknown, depth: number): string | null {
  switch (typeof v) {
    case 'string': return JSON.stringify(v);
    case 'number': return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean': return v ? 'true' : 'false';
    case 'object': break;
    default: return null;
  }
  if (v === null) return 'null';
  if (depth > DEPTH) return null;
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      // JSON writes undefined (and holes) in an array as null.
      const j = x === undefined ? 'null' : plain(x, depth + 1);
      if (j === null) return null;
      s += i === 0 ? j : `,${j}`;
    }
    return `${s}]`;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return null;
  const o = keyOrder(Object.keys(v));
  if (o === null) return null;
  let s = '{';
  let first = true;
  for (let i = 0; i < o.order.length; i++) {
    const k = o.keys[o.order[i] as number] as string;
    const x = (v as Record<string, unknown>)[k];
    // JSON leaves out a key whose value is undefined.
    if (x === undefined) continue;
    const j = plain(x, depth + 1);
    if (j === null) return null;
    s += first ? `${o.quoted[i] as string}${j}` : `,${o.quoted[i] as string}${j}`;
    first = false;
  }
  return `${s}}`;
}

export function canonicalJson(value: unknown): string {
  return plain(value, 0) ?? JSON.stringify(canonical(value));
}
