// Mutations of scenario JSON files (the corpus scenarios): values replaced by
// interesting ones (negative, fractional, 2^53 and past it, 1e308, hex and
// numeric strings, "$ref"s that do not resolve, reserved keys, control
// characters), types changed, fields dropped or unknown ones added, steps
// repeated, reordered or dropped, variant axes added (integer-like values,
// many axes), deep nesting; and text-level damage (cut, BOM, a huge number
// literal, a million brackets, stray bytes). The scenario commands must
// answer each with exit 0/1/2 and at most one line on stderr.
import type { Rng } from './mutate.js';

const NUMBERS: unknown[] = [0, 1, -1, -4096, 0.5, 4095, 4096, 4097, 65_535, 65_536, 2 ** 20, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 2 ** 64];
const STRINGS: unknown[] = ['', 'x', '0x1000', '0X1000', '4096', '-1', '1e3', ' 1', '$', '$nope', '$ioas', '__proto__', 'constructor', 'toString', 'ok', 'EINVAL', 'ENOENT',
  '\u001b]0;pwned\u0007', 'a\nb', '\u202e', '00:02.0', 'zz:zz.z', 'a'.repeat(10_000)];
const OTHERS: unknown[] = [null, true, false, [], {}, [1, 2, 3], { x: 1 }, { $ref: 'ioas' }, { constructor: { prototype: 1 } }];
const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'x', 'generate', 'variants', 'when', 'as', 'expect', 'steps', 'platform', 'op', 'cmd', 'args', 'size', 'addr', 'pasid', 'rid', 'vcpus'];

type Json = unknown;
interface Slot { parent: Record<string, Json> | Json[]; key: string | number; depth: number }

function slots(doc: Json): Slot[] {
  const out: Slot[] = [];
  const walk = (v: Json, depth: number): void => {
    if (depth > 40 || out.length > 50_000) return;
    if (Array.isArray(v)) v.forEach((x, i) => { out.push({ parent: v, key: i, depth }); walk(x, depth + 1); });
    else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) { out.push({ parent: v as Record<string, Json>, key: k, depth }); walk((v as Record<string, Json>)[k], depth + 1); }
  };
  walk(doc, 0);
  return out;
}

function interesting(rng: Rng): Json {
  const r = rng.int(10);
  if (r < 4) return rng.pick(NUMBERS);
  if (r < 8) return rng.pick(STRINGS);
  return JSON.parse(JSON.stringify(rng.pick(OTHERS))) as Json;
}

function nest(v: Json, depth: number, rng: Rng): Json {
  let out = v;
  for (let i = 0; i < depth; i++) out = rng.chance(0.5) ? [out] : { x: out };
  return out;
}

function treeMutation(doc: Record<string, Json>, rng: Rng): string {
  const all = slots(doc);
  const s = all.length ? rng.pick(all) : null;
  const steps = Array.isArray(doc.steps) ? (doc.steps as Json[]) : null;
  switch (rng.int(11)) {
    case 0: case 1: case 2: {
      if (!s) break;
      const rec = s.parent as Record<string | number, Json>;
      rec[s.key] = interesting(rng);
      return `value at ${String(s.key)} (depth ${s.depth}) replaced`;
    }
    case 3: {
      if (!s) break;
      const rec = s.parent as Record<string | number, Json>;
      const old = rec[s.key];
      rec[s.key] = typeof old === 'number' ? (rng.chance(0.5) ? String(old) : `0x${old.toString(16)}`) : typeof old === 'string' ? (Number(old) || old.length) : Array.isArray(old) ? Object.fromEntries(old.map((x, i) => [String(i), x])) : old && typeof old === 'object' ? Object.values(old) : String(old);
      return `type of ${String(s.key)} changed`;
    }
    case 4: {
      if (!s) break;
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1); else delete (s.parent as Record<string, Json>)[s.key as string];
      return `${String(s.key)} removed`;
    }
    case 5: {
      const objs = all.map((x) => (x.parent as Record<string, Json>)[x.key as never] as Json).filter((v): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v));
      const target = objs.length && rng.chance(0.8) ? rng.pick(objs) : doc;
      const key = rng.pick(KEYS);
      // JSON.parse gives a "__proto__" key as an own property: the text written below holds it as such.
      Object.defineProperty(target, key, { value: interesting(rng), enumerable: true, configurable: true, writable: true });
      return `field ${key} added`;
    }
    case 6: {
      if (!steps || !steps.length) break;
      const i = rng.int(steps.length);
      const k = 1 + rng.int(rng.chance(0.2) ? 400 : 8);
      steps.splice(i, 0, ...Array.from({ length: k }, () => JSON.parse(JSON.stringify(steps[i])) as Json));
      return `step ${i} repeated ${k} times`;
    }
    case 7: {
      if (!steps || steps.length < 2) break;
      if (rng.chance(0.5)) { const i = rng.int(steps.length); const j = rng.int(steps.length); const t = steps[i]; steps[i] = steps[j]; steps[j] = t; return `steps ${i} and ${j} swapped`; }
      const i = rng.int(steps.length);
      steps.splice(i, 1 + rng.int(3));
      return `steps from ${i} dropped`;
    }
    case 8: {
      const variants = (doc.variants && typeof doc.variants === 'object' ? doc.variants : (doc.variants = {})) as Record<string, Json>;
      const mode = rng.int(3);
      if (mode === 0) { variants[`axis${rng.int(100)}`] = { a: 'one', b: 'two' }; return 'variant axis added'; }
      if (mode === 1) { variants[rng.pick(['n', 'size', 'mode'])] = { 2: 'two', 10: 'ten', x: 'x' }; return 'integer-like variant values'; }
      for (let i = 0; i < 9; i++) variants[`many${i}`] = { a: 'a', b: 'b' };
      return '9 two-valued axes (512 combinations)';
    }
    case 9: {
      if (!s) break;
      const rec = s.parent as Record<string | number, Json>;
      const depth = rng.pick([8, 31, 33, 64, 1000]);
      rec[s.key] = nest(rec[s.key], depth, rng);
      return `${String(s.key)} nested ${depth} deep`;
    }
    default: {
      // A step's field made a $ref, bound or not.
      if (!steps || !steps.length) break;
      const st = rng.pick(steps);
      if (st && typeof st === 'object' && !Array.isArray(st)) {
        const keys = Object.keys(st);
        const k = keys.length ? rng.pick(keys) : 'x';
        (st as Record<string, Json>)[k] = rng.pick(['$ioas', '$nope', '$dev0', '$', '$__proto__']);
        (st as Record<string, Json>).when = rng.chance(0.3) ? { x: 'y' } : (st as Record<string, Json>).when;
        return `step field ${k} made a $ref`;
      }
    }
  }
  doc[`x${rng.int(10)}`] = interesting(rng);
  return 'unknown top-level field';
}

function textMutation(text: string, rng: Rng): { text: string; note: string } {
  switch (rng.int(6)) {
    case 0: { const at = rng.int(text.length); return { text: text.slice(0, at), note: `cut at ${at}` }; }
    case 1: return { text: `\uFEFF${text}`, note: 'BOM' };
    case 2: { const at = text.indexOf(':', rng.int(text.length)); return at < 0 ? { text, note: 'no colon' } : { text: `${text.slice(0, at + 1)} 1${'0'.repeat(400)}, "pad":${text.slice(at + 1)}`, note: 'a 401-digit number' }; }
    case 3: { const n = rng.pick([40, 10_000, 1_000_000]); return { text: '['.repeat(n) + ']'.repeat(rng.chance(0.5) ? n : 0), note: `${n} nested brackets` }; }
    case 4: { const at = rng.int(text.length); const junk = String.fromCharCode(...Array.from({ length: 1 + rng.int(4) }, () => rng.int(256))); return { text: text.slice(0, at) + junk + text.slice(at), note: `bytes inserted at ${at}` }; }
    default: { const at = text.indexOf('{', 1 + rng.int(Math.max(1, text.length - 1))); return at < 0 ? { text, note: 'no object' } : { text: `${text.slice(0, at + 1)}"op": "x", "op": "y", ${text.slice(at + 1)}`, note: 'duplicate keys' }; }
  }
}

export function mutateScenario(text: string, rng: Rng): { text: string; steps: string[] } {
  const steps: string[] = [];
  if (rng.chance(0.15)) {
    const m = textMutation(text, rng);
    steps.push(`text: ${m.note}`);
    return { text: m.text, steps };
  }
  const doc = JSON.parse(text) as Record<string, Json>;
  const n = 1 + (rng.chance(0.5) ? 0 : rng.int(3));
  for (let i = 0; i < n; i++) steps.push(`tree: ${treeMutation(doc, rng)}`);
  return { text: JSON.stringify(doc), steps };
}
