// Mutations of valid traces. Blind ones (bit flips, byte runs, cuts, inserted
// or deleted bytes) mostly meet a checksum; structure-aware ones re-frame
// the block with a correct CRC so the damage reaches the decoders: a lying
// msgpack length or count, a replaced value deep in a chunk, header, footer
// or checkpoint, swapped / repeated / dropped blocks with a stale or a
// rewritten footer, random bytes after a valid magic or a valid header; and
// forgeries that are valid end to end (forge-mutators.ts: every CRC, digest
// and the chain recomputed). A case is one to three of them on a corpus
// trace (a large one now and then), or a mutated scenario file
// (scenario-mutate.ts).
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Encoder } from '@msgpack/msgpack';
import { Prng } from '../../engine/prng.js';
import { decoder } from '../../trace/chunk.js';
import { BLOCK, BLOCK_HEAD, FORMAT_VERSION, MAGIC, preamble, TAIL_BYTES, tail } from '../../trace/format.js';
import type { Corpus } from './corpus.js';
import { forgeBytes, forgeCheckpoint, forgeEvent, forgeFooter, forgeHeader } from './forge-mutators.js';
import { mutateScenario } from './scenario-mutate.js';
import { assemble, blockOffsets, fixCrc, frame, lengthFields, parseTrace, type RawBlock } from './trace-bytes.js';

/** The engine's mulberry32 PRNG, with the draws the mutators need. */
export class Rng extends Prng {
  u32(): number { return this.next() * 4294967296; }
  /** Integer in [0, n); 0 for an empty range. */
  override int(n: number): number { return n <= 0 ? 0 : super.int(n); }
  pick<T>(list: readonly T[]): T { return list[this.int(list.length)] as T; }
  chance(p: number): boolean { return this.next() < p; }
  bytes(n: number): Buffer { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff; return b; }
}

/** The seed of case `index` of a campaign seeded `seed`: any case can be re-run alone. */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const INTERESTING_U32 = [0, 1, 2, 7, 8, 12, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 65_536, 65_537, 262_144, 262_145, 0x100000,
  64 * 1024 * 1024, 64 * 1024 * 1024 + 1, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

const INTERESTING_VALUES: unknown[] = [
  0, 1, -1, 2, 255, 256, 4095, 4096, 4097, 65_535, 65_536, 65_537, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1.5, -0.5, NaN, Infinity, -Infinity,
  null, true, false, '', 'x', '__proto__', 'constructor', 'prototype', 'toString', 'fault', 'violation', 'platform', 'a'.repeat(300),
  [], [0], [null], [[]], {}, { constructor: { prototype: { polluted: 1 } } }, { toString: 1, valueOf: 2 }, new Uint8Array(0), new Uint8Array(16), new Uint8Array(3),
];

const encoder = new Encoder({ ignoreUndefined: false });

type Mutator = (buf: Buffer, rng: Rng, corpus: readonly Buffer[]) => { buf: Buffer; note: string };

/** Small cases stay under 1 MiB; a case grown from a large trace may be up to 32 MiB. */
function clampBuf(b: Buffer, big: boolean): Buffer { const max = big ? 32 << 20 : 1 << 20; return b.length > max ? b.subarray(0, max) : b; }

const bitFlips: Mutator = (buf, rng) => {
  const out = Buffer.from(buf);
  const n = 1 + rng.int(8);
  for (let i = 0; i < n; i++) { const at = rng.int(out.length); out[at] = (out[at] as number) ^ (1 << rng.int(8)); }
  return { buf: out, note: `flip ${n} bit(s)` };
};

const byteRun: Mutator = (buf, rng) => {
  const out = Buffer.from(buf);
  const at = rng.int(out.length);
  const len = 1 + rng.int(64);
  const mode = rng.int(3);
  for (let i = at; i < Math.min(out.length, at + len); i++) out[i] = mode === 0 ? 0 : mode === 1 ? 0xff : rng.u32() & 0xff;
  return { buf: out, note: `byte run ${['0x00', '0xff', 'random'][mode]} x${len} at ${at}` };
};

const cut: Mutator = (buf, rng) => {
  const at = rng.int(buf.length);
  return { buf: buf.subarray(0, at), note: `cut at ${at}` };
};

const insertDelete: Mutator = (buf, rng) => {
  const at = rng.int(buf.length);
  const len = 1 + rng.int(32);
  if (rng.chance(0.5)) return { buf: Buffer.concat([buf.subarray(0, at), rng.bytes(len), buf.subarray(at)]), note: `insert ${len} at ${at}` };
  return { buf: Buffer.concat([buf.subarray(0, at), buf.subarray(at + len)]), note: `delete ${len} at ${at}` };
};

/** A block's length field (or the tail's footer length) set to an interesting value; the CRC is left alone. */
const lengthField: Mutator = (buf, rng) => {
  const out = Buffer.from(buf);
  const offs = blockOffsets(buf);
  const v = rng.chance(0.3) ? rng.u32() : rng.pick(INTERESTING_U32);
  if (rng.chance(0.2) && out.length >= TAIL_BYTES) {
    out.writeUInt32LE(v >>> 0, out.length - TAIL_BYTES);
    return { buf: out, note: `tail footer length = ${v}` };
  }
  const at = offs.length ? rng.pick(offs) : 12;
  if (at + 8 > out.length) return { buf: out, note: 'no block' };
  const old = out.readUInt32LE(at + 4);
  const val = rng.chance(0.3) ? Math.max(0, old + rng.int(17) - 8) : v;
  out.writeUInt32LE(val >>> 0, at + 4);
  return { buf: out, note: `block at ${at} length ${old} -> ${val}` };
};

/** Bytes inside one block's payload changed, CRC recomputed: the decoders see it. */
const payloadEdit: Mutator = (buf, rng) => {
  const out = Buffer.from(buf);
  const offs = blockOffsets(buf);
  if (!offs.length) return { buf: out, note: 'no block' };
  const at = rng.pick(offs);
  const len = out.readUInt32LE(at + 4);
  if (len === 0) return { buf: out, note: 'empty block' };
  const n = 1 + rng.int(4);
  for (let i = 0; i < n; i++) {
    const p = at + BLOCK_HEAD + rng.int(len);
    out[p] = rng.chance(0.5) ? (out[p] as number) ^ (1 << rng.int(8)) : rng.pick([0, 0xff, 0xc1, 0xdc, 0xdd, 0xde, 0xdf, 0xc6, 0xdb, 0x7f, 0x80, 0x90]);
  }
  fixCrc(out, at);
  return { buf: out, note: `edit ${n} byte(s) in block at ${at}, CRC fixed` };
};

/** A msgpack length or count inside a block made to lie, CRC recomputed. */
const msgpackLie: Mutator = (buf, rng) => {
  const out = Buffer.from(buf);
  const offs = blockOffsets(buf).filter((o) => out[o] !== BLOCK.state);
  if (!offs.length) return { buf: out, note: 'no block' };
  const at = rng.pick(offs);
  const len = out.readUInt32LE(at + 4);
  const payload = out.subarray(at + BLOCK_HEAD, at + BLOCK_HEAD + len);
  const fields = lengthFields(payload);
  if (!fields.length) return { buf: out, note: 'no length field' };
  const f = rng.pick(fields);
  const p = f.at;
  if (f.what === 'fix') {
    const b = payload[p] as number;
    const mask = b >= 0xa0 ? 0x1f : 0x0f;
    payload[p] = (b & ~mask) | (rng.int(mask + 1) & mask);
  } else {
    const max = f.bytes === 1 ? 0xff : f.bytes === 2 ? 0xffff : 0xffffffff;
    const v = Math.min(max, rng.chance(0.5) ? rng.pick(INTERESTING_U32) : Math.max(0, f.value + rng.int(9) - 4));
    if (f.bytes === 1) payload.writeUInt8(v, p);
    else if (f.bytes === 2) payload.writeUInt16BE(v, p);
    else payload.writeUInt32BE(v >>> 0, p);
  }
  fixCrc(out, at);
  return { buf: out, note: `msgpack ${f.what} length at payload+${p} of block ${at} (was ${f.value}), CRC fixed` };
};

/** Replace or reshape one node of a decoded block tree. */
function mutateTree(doc: unknown, rng: Rng): unknown {
  const nodes: { parent: unknown[] | Record<string, unknown>; key: number | string }[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 12 || nodes.length > 20_000) return;
    if (Array.isArray(v)) v.forEach((x, i) => { nodes.push({ parent: v, key: i }); walk(x, depth + 1); });
    else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
      for (const k of Object.keys(v)) { nodes.push({ parent: v as Record<string, unknown>, key: k }); walk((v as Record<string, unknown>)[k], depth + 1); }
    }
  };
  walk(doc, 0);
  if (!nodes.length) return rng.pick(INTERESTING_VALUES);
  const { parent, key } = rng.pick(nodes);
  const rec = parent as Record<string | number, unknown>;
  const old = rec[key];
  switch (rng.int(7)) {
    case 0: case 1: rec[key] = rng.pick(INTERESTING_VALUES); break;
    case 2: rec[key] = typeof old === 'number' ? old + rng.pick([-1, 1, 4096, -4096, 0.5]) : rng.pick(INTERESTING_VALUES); break;
    case 3: if (Array.isArray(old) && old.length) old.push(old[rng.int(old.length)]); else rec[key] = [old, old]; break;
    case 4: if (Array.isArray(old) && old.length) old.splice(rng.int(old.length), 1); else if (Array.isArray(parent)) parent.splice(key as number, 1); else delete rec[key]; break;
    case 5: if (old instanceof Uint8Array) rec[key] = rng.bytes(rng.chance(0.5) ? old.length : rng.int(old.length * 2 + 2)); else rec[key] = rng.pick(INTERESTING_VALUES); break;
    default:
      // A hostile key next to the existing ones.
      if (!Array.isArray(parent)) (parent as Record<string, unknown>)[rng.pick(['constructor', 'prototype', 'toString', 'hasOwnProperty', 'x'])] = rng.pick(INTERESTING_VALUES);
      else rec[key] = { constructor: old };
  }
  return doc;
}

/** Decode a block, mutate its tree, encode it back, re-frame with a good CRC (footer: tail fixed too). */
const treeEdit: Mutator = (buf, rng) => {
  const { blocks } = parseTrace(buf);
  if (!blocks.length) return { buf, note: 'no block' };
  const i = rng.int(blocks.length);
  const b = blocks[i] as RawBlock;
  let doc: unknown;
  try {
    doc = decoder.decode(b.type === BLOCK.state ? inflateRawSync(b.payload) : b.payload);
  } catch { return { buf, note: 'block does not decode' }; }
  const times = 1 + rng.int(3);
  for (let t = 0; t < times; t++) doc = mutateTree(doc, rng);
  let payload: Buffer;
  try {
    const enc = Buffer.from(encoder.encode(doc));
    payload = b.type === BLOCK.state ? deflateRawSync(enc) : enc;
  } catch { return { buf, note: 'mutated tree does not encode' }; }
  blocks[i] = { type: b.type, payload };
  return { buf: assemble(blocks, 'keep'), note: `tree edit x${times} in block #${i} (type ${String.fromCharCode(b.type)})` };
};

/** Swap, repeat or drop blocks; the footer stays stale, is rewritten to the new offsets, or goes. */
const shuffleBlocks: Mutator = (buf, rng) => {
  const { blocks } = parseTrace(buf);
  const body = blocks.filter((b) => b.type === BLOCK.events || b.type === BLOCK.state);
  if (body.length < 2) return { buf, note: 'too few blocks' };
  const header = blocks.filter((b) => b.type === BLOCK.header);
  const footer = blocks.filter((b) => b.type === BLOCK.footer);
  const op = rng.int(4);
  const a = rng.int(body.length);
  const c = rng.int(body.length);
  let note: string;
  if (op === 0) { const t = body[a] as RawBlock; body[a] = body[c] as RawBlock; body[c] = t; note = `swap blocks ${a} and ${c}`; }
  else if (op === 1) { body.splice(c, 0, body[a] as RawBlock); note = `repeat block ${a} before ${c}`; }
  else if (op === 2) { body.splice(a, 1); note = `drop block ${a}`; }
  else { body.reverse(); note = 'reverse blocks'; }
  const mode = rng.pick(['keep', 'offsets', 'drop'] as const);
  return { buf: assemble([...header, ...body, ...footer], mode), note: `${note}, footer ${mode}` };
};

/** A valid magic (and maybe a valid header), then noise, maybe with a forged tail. */
const noiseAfterMagic: Mutator = (buf, rng) => {
  const offs = blockOffsets(buf);
  const keepHeader = rng.chance(0.5) && offs.length > 1;
  const head = keepHeader ? buf.subarray(0, offs[1]) : preamble();
  const noise = rng.bytes(rng.int(4096));
  const parts = [head, noise];
  if (rng.chance(0.2)) {
    // Plausible-looking block heads in the noise.
    for (let i = 0; i + BLOCK_HEAD < noise.length; i += 1 + rng.int(400)) {
      noise[i] = rng.pick([BLOCK.events, BLOCK.state, BLOCK.footer, BLOCK.header]);
      noise[i + 1] = 0; noise[i + 2] = 0; noise[i + 3] = 0;
      noise.writeUInt32LE(rng.int(noise.length), i + 4);
    }
  }
  if (rng.chance(0.4)) parts.push(tail(rng.chance(0.5) ? rng.int(noise.length + 24) : rng.u32()));
  return { buf: Buffer.concat(parts), note: `${keepHeader ? 'header' : 'magic'} + ${noise.length} random bytes` };
};

const version: Mutator = (buf, rng) => {
  const out = Buffer.from(buf);
  const v = rng.pick([0, FORMAT_VERSION + 1, 2, 0xffffffff, rng.u32()]);
  if (out.length >= 12) out.writeUInt32LE(v >>> 0, 8);
  return { buf: out, note: `version ${v}` };
};

/** Blocks of another trace spliced in (a chunk from a different recording). */
const splice: Mutator = (buf, rng, corpus) => {
  const other = rng.pick(corpus);
  const mine = parseTrace(buf).blocks;
  const theirs = parseTrace(other).blocks.filter((b) => b.type !== BLOCK.header);
  if (!mine.length || !theirs.length) return { buf, note: 'nothing to splice' };
  const at = 1 + rng.int(mine.length);
  mine.splice(at, rng.int(3), ...theirs.slice(rng.int(theirs.length), rng.int(theirs.length) + 1 + rng.int(2)));
  return { buf: assemble(mine, rng.pick(['keep', 'offsets', 'drop'] as const)), note: `splice at block ${at}` };
};

/** A block framed with a deliberately wrong CRC among good ones. */
const badCrc: Mutator = (buf, rng) => {
  const { blocks } = parseTrace(buf);
  if (!blocks.length) return { buf, note: 'no block' };
  const i = rng.int(blocks.length);
  const parts = [preamble(), ...blocks.map((b, j) => frame(b, j === i))];
  const f = blocks[blocks.length - 1];
  if (f && f.type === BLOCK.footer) parts.push(tail(BLOCK_HEAD + f.payload.length));
  return { buf: Buffer.concat(parts), note: `bad CRC on block #${i}` };
};

export const MUTATORS: [string, Mutator, number][] = [
  ['bit-flips', bitFlips, 10], ['byte-run', byteRun, 8], ['cut', cut, 10], ['insert-delete', insertDelete, 4],
  ['length-field', lengthField, 8], ['payload-edit', payloadEdit, 12], ['msgpack-lie', msgpackLie, 12], ['tree-edit', treeEdit, 20],
  ['shuffle-blocks', shuffleBlocks, 8], ['noise-after-magic', noiseAfterMagic, 4], ['version', version, 1], ['splice', splice, 4], ['bad-crc', badCrc, 3],
  // Valid forgeries (test/forge.ts): every CRC, digest and the chain recomputed.
  ['forge-event', forgeEvent, 16], ['forge-checkpoint', forgeCheckpoint, 8], ['forge-footer', forgeFooter, 5], ['forge-bytes', forgeBytes, 4], ['forge-header', forgeHeader, 6],
];
const TOTAL_WEIGHT = MUTATORS.reduce((s, [, , w]) => s + w, 0);

function pickMutator(rng: Rng): [string, Mutator] {
  let x = rng.int(TOTAL_WEIGHT);
  for (const [name, m, w] of MUTATORS) { if (x < w) return [name, m]; x -= w; }
  return [MUTATORS[0]![0], MUTATORS[0]![1]];
}

/** A fraction of trace cases start from a large trace (a few MB, ~200 chunks and checkpoints). */
export const BIG_RATE = 1 / 400;
/** A fraction of cases are scenario files for run / record / matrix instead of traces. */
export const SCENARIO_RATE = 0.08;

export interface FuzzCase {
  seed: number;
  kind: 'trace' | 'scenario';
  big: boolean;
  /** Index into corpus.small, corpus.big() or corpus.scenarios. */
  base: number;
  bytes: Buffer;
  steps: string[];
}

/** What case `index` is (its first draws, as makeCase makes them), without building it or the large corpus. */
export function caseShape(seed: number, index: number): { kind: 'trace' | 'scenario'; big: boolean } {
  const rng = new Rng(caseSeed(seed, index));
  if (rng.chance(SCENARIO_RATE)) return { kind: 'scenario', big: false };
  return { kind: 'trace', big: rng.chance(BIG_RATE) };
}

/** Case `index` of a campaign: a corpus trace and one to three mutations (or a mutated scenario), all from the case seed. */
export function makeCase(corpus: Corpus, seed: number, index: number): FuzzCase {
  const cs = caseSeed(seed, index);
  const rng = new Rng(cs);
  if (rng.chance(SCENARIO_RATE)) {
    const base = rng.int(corpus.scenarios.length);
    const sc = corpus.scenarios[base]!;
    const m = mutateScenario(sc.text, rng);
    return { seed: cs, kind: 'scenario', big: false, base, bytes: Buffer.from(m.text), steps: [`scenario ${sc.name}`, ...m.steps] };
  }
  const big = rng.chance(BIG_RATE);
  const list = big ? corpus.big() : corpus.small;
  const base = rng.int(list.length);
  const entry = list[base]!;
  let buf = entry.bytes;
  const steps: string[] = [`${big ? 'large ' : ''}trace ${entry.name}`];
  const n = 1 + (rng.chance(0.6) ? 0 : rng.int(3));
  for (let i = 0; i < n; i++) {
    const [name, m] = pickMutator(rng);
    let r: { buf: Buffer; note: string };
    // A mutator that cannot handle what an earlier one left (it parses structure) skips.
    try { r = m(buf, rng, corpus.smallBytes); } catch (e) { r = { buf, note: `skipped (${(e as Error).message.split('\n')[0]})` }; }
    buf = clampBuf(r.buf, big);
    steps.push(`${name}: ${r.note}`);
  }
  if (buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC) === false && rng.chance(0.5)) {
    // Keep most cases past the magic check so they reach the interesting code.
    buf = Buffer.concat([MAGIC, buf.subarray(MAGIC.length)]);
    steps.push('magic restored');
  }
  return { seed: cs, kind: 'trace', big, base, bytes: buf, steps };
}
