// The state hash every chunk carries: its fast paths (trace/canonical-json.ts,
// the streamed cell digest and the digest pool of trace/state-codec.ts) give
// exactly the values of the plain definition, which every recorded trace's
// chunk hashes rest on.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonical, emptyState, SECTION_NAMES } from '../engine/state.js';
import type { SectionName } from '../engine/types.js';
import { canonicalJson } from '../trace/canonical-json.js';
import { StateHasher } from '../trace/state-codec.js';

const ODD: unknown[] = [
  0, -0, 1.5, -7, 2 ** 53, NaN, Infinity, -Infinity, 1e21, '', 'a"b\\c\n\u0000\u2028é😀', true, false, null,
  [], [1, [2, [3]]], [undefined, null], [, 1], { b: 1, a: 2 }, { a10: 1, a9: 2, A: 3 }, { 10: 'x', 9: 'y', b: 1 },
  { '01': 1, '1': 2 }, JSON.parse('{"__proto__": 1, "a": 2}'), { u: undefined, d: 1 }, { f: () => 1, g: 2 },
  Object.assign(Object.create(null) as object, { z: 1, y: { x: [1] } }), new Uint8Array([1, 2]), new Date(0),
  { nested: { deeper: { deepest: [{ k: 'v', j: -0 }] } } }, { toJSON: 5, a: 1 }, { 'é': 1, 'e': 2 },
  { pa: 268435456, write: true }, { p: true, fpd: false, pgtt: 1, flptr: 16777216, slptptr: 0, did: 1025, pgsnp: false },
];

/** The plain definition: FNV-1a style lanes over the concatenated texts (trace/state-codec.ts before the fast paths). */
function refDigest(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return [a >>> 0, b >>> 0];
}

function refChain(prev: Uint8Array, cells: Map<string, [string, string, unknown]>): Uint8Array {
  const lanes = new Uint32Array(4);
  for (const [section, key, value] of cells.values()) {
    const [a, b] = refDigest(`${section}\0${key}\0${JSON.stringify(canonical(value))}`);
    const [c, d] = refDigest(`${key}\u0001${a}`);
    lanes[0] = (lanes[0] as number) + a; lanes[1] = (lanes[1] as number) + b; lanes[2] = (lanes[2] as number) + c; lanes[3] = (lanes[3] as number) + d;
  }
  return new Uint8Array(createHash('sha256').update(prev).update(lanes).digest().subarray(0, 16));
}

describe('state hash', () => {
  it('canonicalJson is JSON.stringify(canonical(v)) for odd values and nestings of them', () => {
    for (const v of ODD) expect(canonicalJson(v), JSON.stringify(canonical(v))).toBe(JSON.stringify(canonical(v)));
    for (let i = 0; i < ODD.length; i++) {
      const v = { x: ODD[i], list: [ODD[(i + 1) % ODD.length], ODD[(i + 7) % ODD.length]], [`k${i}`]: { y: ODD[(i + 3) % ODD.length] } };
      expect(canonicalJson(v)).toBe(JSON.stringify(canonical(v)));
    }
  });

  it('seal gives the plain definition\'s chain over random writes and drops, odd keys and values included', () => {
    const hasher = new StateHasher();
    const state = emptyState();
    const truth = new Map<string, [string, string, unknown]>();
    let chain: Uint8Array = new Uint8Array(16);
    let x = 0x1234567;
    const rnd = (n: number): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) % n; };
    const keys = ['0', '00:02.0/1/1024', 'é', '😀', '__proto__', 'a\u0000b', ...Array.from({ length: 40 }, (_, i) => `k${i}`)];
    for (let round = 0; round < 300; round++) {
      for (let w = rnd(30); w >= 0; w--) {
        const section = SECTION_NAMES[rnd(SECTION_NAMES.length)] as SectionName;
        const key = keys[rnd(keys.length)] as string;
        const sec = state.s[section] as Record<string, unknown>;
        if (rnd(4) === 0) { delete sec[key]; truth.delete(`${section}\u0000${key}`); } else {
          const value = ODD[rnd(ODD.length)];
          sec[key] = value;
          if (value === undefined) truth.delete(`${section}\u0000${key}`); else truth.set(`${section}\u0000${key}`, [section, key, value]);
        }
        hasher.touch(section, key);
      }
      chain = refChain(chain, truth);
      expect(Buffer.from(hasher.seal(state)).toString('hex'), `round ${round}`).toBe(Buffer.from(chain).toString('hex'));
    }
  });
});
