// Hostile traces: msgpack that announces more than the file holds, nesting
// deeper than any recording, and prototype-pollution keys in a trace's
// header, chunks, checkpoints and footer or in a scenario file.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { Encoder } from '@msgpack/msgpack';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonical, canonicalState } from '../engine/state.js';
import { summarize } from '../engine/summary.js';
import type { TraceEvent } from '../engine/types.js';
import { decoder } from '../trace/chunk.js';
import { COL } from '../trace/columns.js';
import { ScenarioError } from '../engine/validate.js';
import { BLOCK, frameBlock, preamble, TraceError, type BlockType } from '../trace/format.js';
import { msgpackShapeProblem } from '../trace/msgpack-guard.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario, parseScenario } from '../scenarios/index.js';
import { assemble, parseTrace } from './fuzz/trace-bytes.js';
import { recordTo, tmp } from './trace-helpers.js';

const dir = tmp();
let good: Buffer;
let headerEnd = 0;

beforeAll(() => {
  good = readFileSync(recordTo(dir, 'dwq', loadScenario('dwq-gpasid'), { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 8 }).path);
  headerEnd = 12 + 12 + good.readUInt32LE(16);
});

const encoder = new Encoder();
const write = (name: string, ...parts: Buffer[]): string => { const p = join(dir, name); writeFileSync(p, Buffer.concat(parts)); return p; };
const block = (type: number, payload: Uint8Array): Buffer => frameBlock(type as BlockType, payload);

/** `n` nested array16 headers, each announcing 65 535 elements: 3 bytes each. */
const arrayBomb = (n: number): Buffer => { const b = Buffer.alloc(n * 3); for (let i = 0; i < n; i++) b.set([0xdc, 0xff, 0xff], i * 3); return b; };

function pollutionFree(): void {
  const probe = {} as Record<string, unknown>;
  expect(probe.polluted).toBeUndefined();
  expect(probe.x).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(Object.prototype).not.toHaveProperty('x');
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
  expect(typeof Object.prototype.toString).toBe('function');
}

afterEach(pollutionFree);

describe('msgpack decode limits: nothing larger than the file can hold', () => {
  it('the shape guard accepts every block the recorder writes', () => {
    for (const b of parseTrace(good).blocks) {
      if (b.type !== BLOCK.state) expect(msgpackShapeProblem(b.payload)).toBeNull();
    }
  });

  it('a header of nested array16 headers (9 KB announcing 2 G elements) is refused before the decoder allocates', () => {
    const rss = process.memoryUsage().rss;
    const t = performance.now();
    const p = write('bomb-header.iotrace', preamble(), block(BLOCK.header, arrayBomb(3000)));
    const r = TraceReplayer.open(p);
    expect(r.count).toBe(0);
    expect(r.truncated?.offset).toBe(12);
    expect(r.truncated?.reason).toMatch(/announces 65535 element\(s\)/);
    r.close();
    expect(performance.now() - t).toBeLessThan(500);
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 2 ** 20);
  });

  it('the same bomb as an event chunk or a footer stops recovery at its offset with a TraceError', () => {
    const head = good.subarray(0, headerEnd);
    const r = TraceReplayer.open(write('bomb-chunk.iotrace', head, block(BLOCK.events, arrayBomb(20_000))));
    expect(r.count).toBe(0);
    expect(r.truncated?.offset).toBe(headerEnd);
    r.close();
    const { blocks } = parseTrace(good);
    const footer = blocks[blocks.length - 1]!;
    footer.payload = arrayBomb(20_000);
    const f = TraceReplayer.open(write('bomb-footer.iotrace', assemble(blocks, 'keep')));
    expect(f.truncated?.reason).toMatch(/footer unusable \(bad footer: msgpack container/);
    expect(f.count).toBe(41);
    f.close();
  });

  it('strings, bins, maps and arrays that announce more bytes than are left are refused', () => {
    const cases: [string, number[]][] = [
      ['str32 of 4 GB', [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]],
      ['bin32 of 64 MB', [0xc6, 0x04, 0x00, 0x00, 0x00, 0x00]],
      ['map32 of 2^32-1 entries', [0xdf, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00]],
      ['array32 of 262144', [0xdd, 0x00, 0x04, 0x00, 0x00, 0x00]],
      ['fixarray of 15 with 2 elements', [0x9f, 0x01, 0x02]],
      ['unused type byte 0xc1', [0xc1]],
      ['trailing bytes', [0x01, 0x02]],
    ];
    for (const [what, bytes] of cases) expect(msgpackShapeProblem(Uint8Array.from(bytes)), what).not.toBeNull();
    expect(msgpackShapeProblem(encoder.encode({ a: [1, 2, { b: 'c' }], d: new Uint8Array(100), e: 'x'.repeat(70_000) }))).toBeNull();
  });

  it('nesting deeper than 64 is refused (it would overflow the stack of any recursive consumer)', () => {
    const deep = (n: number): unknown => { let v: unknown = 1; for (let i = 0; i < n; i++) v = [v]; return v; };
    expect(msgpackShapeProblem(encoder.encode(deep(64)))).toBeNull();
    expect(msgpackShapeProblem(encoder.encode(deep(65)))).toMatch(/deeper than 64/);
    const bytes = Buffer.alloc(200_000, 0x91);
    bytes[bytes.length - 1] = 0x01;
    expect(msgpackShapeProblem(bytes)).toMatch(/deeper/);
  });
});

describe('no prototype pollution', () => {
  it('__proto__ keys in a header map are refused; constructor / prototype keys are inert', () => {
    const { blocks } = parseTrace(good);
    const header = blocks[0]!;
    // JSON.parse makes __proto__ an own key, which the encoder writes as a map key.
    const hostile = JSON.parse('{"format":2,"chunkEvents":1024,"checkpointEvery":1024,"engine":"0.1.0","seed":0,"variant":{"pasid":"translated"},"scenario":{"name":"x","platform":{"iommus":[],"devices":[]},"steps":[]},"__proto__":{"polluted":1}}') as Record<string, unknown>;
    header.payload = Buffer.from(encoder.encode(hostile));
    const r = TraceReplayer.open(write('proto-header.iotrace', assemble(blocks, 'keep')));
    expect(r.count).toBe(0);
    expect(r.truncated?.reason).toMatch(/__proto__ is not allowed/);
    r.close();
    const inert = JSON.parse('{"format":2,"chunkEvents":1024,"checkpointEvery":1024,"engine":"0.1.0","seed":0,"variant":{"constructor":"x"},"scenario":{"name":"x","constructor":{"prototype":{"polluted":1}},"platform":{"iommus":[],"devices":[]},"steps":[]}}') as Record<string, unknown>;
    header.payload = Buffer.from(encoder.encode(inert));
    const s = TraceReplayer.open(write('ctor-header.iotrace', assemble(blocks, 'keep')));
    expect(s.header.variant.constructor).toBe('x');
    s.close();
  });

  it('__proto__ and constructor as state cell keys stay plain keys of null-prototype sections', () => {
    const { blocks } = parseTrace(good);
    const i = blocks.findIndex((b) => b.type === BLOCK.state);
    const doc = [7, 0, [['pasid', ['__proto__', 'constructor', 'toString'], [{ polluted: 1 }, { x: 1 }, 3]]]];
    blocks[i] = { type: BLOCK.state, payload: deflateRawSync(encoder.encode(doc)) };
    const r = TraceReplayer.open(write('proto-state.iotrace', assemble(blocks, 'keep')));
    const st = r.stateAt(8);
    const pasid = st.s.pasid as Record<string, unknown>;
    expect(Object.getPrototypeOf(pasid)).toBeNull();
    expect(Object.keys(pasid)).toEqual(expect.arrayContaining(['__proto__', 'constructor', 'toString']));
    const json = JSON.stringify(canonicalState(st));
    expect(json).toContain('"__proto__"');
    expect(Object.fromEntries(canonicalState(st).sections.find(([n]) => n === 'pasid')![1])).toHaveProperty('constructor');
    r.close();
  });

  it('canonical() keeps a __proto__ key as data, not as a prototype', () => {
    const v = JSON.parse('{"__proto__":{"polluted":1},"a":1}') as unknown;
    const c = canonical(v) as Record<string, unknown>;
    expect(Object.getPrototypeOf(c)).toBe(Object.prototype);
    expect(JSON.stringify(c)).toBe('{"__proto__":{"polluted":1},"a":1}');
  });

  it('kinds and fields named after Object.prototype members are refused or inert', () => {
    const r = TraceReplayer.open(write('ok.iotrace', good));
    expect(r.kinds.constructor).toBeUndefined();
    expect(r.kinds.toString).toBeUndefined();
    r.close();
  });

  it('a scenario file with __proto__ or constructor keys is refused and pollutes nothing', () => {
    for (const text of [
      '{"name":"x","description":"d","platform":{"iommus":[],"devices":[]},"steps":[],"__proto__":{"polluted":1}}',
      '{"name":"x","description":"d","platform":{"iommus":[],"devices":[],"__proto__":{"polluted":1}},"steps":[]}',
      '{"name":"x","description":"d","platform":{"iommus":[],"devices":[]},"steps":[{"op":"run-deferred","constructor":{"prototype":{"polluted":1}}}]}',
      '{"name":"x","description":"d","variants":{"__proto__":{"polluted":"1"}},"platform":{"iommus":[],"devices":[]},"steps":[]}',
    ]) {
      let err: unknown = null;
      try { parseScenario(text, 'hostile.json'); } catch (e) { err = e; }
      expect(err, text).toBeInstanceOf(ScenarioError);
      pollutionFree();
    }
  });

  it('TraceError is what every hostile trace above ends in, never a RangeError', () => {
    const p = write('bomb-direct.iotrace', preamble(), block(BLOCK.header, arrayBomb(10)));
    expect(() => TraceReplayer.open(p).close()).not.toThrow();
    expect(new TraceError('x', 3).offset).toBe(3);
  });
});

describe('forged blocks with valid checksums', () => {
  /** Re-encode block #i after `edit` changed its decoded tree. */
  function forge(name: string, i: (blocks: { type: number }[]) => number, edit: (doc: unknown[]) => void, footer: 'keep' | 'drop' = 'keep'): { path: string; offset: number } {
    const { blocks } = parseTrace(good);
    const k = i(blocks);
    const doc = decoder.decode(blocks[k]!.payload) as unknown[];
    edit(doc);
    blocks[k] = { type: blocks[k]!.type, payload: Buffer.from(encoder.encode(doc)) };
    const bytes = assemble(blocks, footer);
    let offset = 12;
    for (let j = 0; j < k; j++) offset += 12 + (j === 0 ? bytes.readUInt32LE(16) : blocks[j]!.payload.length);
    return { path: write(name, bytes), offset };
  }
  const firstChunk = (blocks: { type: number }[]) => blocks.findIndex((b) => b.type === BLOCK.events);

  it('an unknown event kind stops recovery at its chunk with a TraceError', () => {
    const { path, offset } = forge('kind.iotrace', firstChunk, (doc) => { ((doc[5] as unknown[][])[0] as unknown[])[0] = 'constructor'; }, 'drop');
    const r = TraceReplayer.open(path);
    expect(r.count).toBe(0);
    expect(r.truncated).toMatchObject({ offset });
    expect(r.truncated?.reason).toMatch(/unknown event kind "constructor"/);
    r.close();
  });

  it('an event whose fields do not fit its kind: stateAt throws a TraceError at its chunk, summarize does not throw', () => {
    // Event 2 (iommufd-obj, IOAS alloc) gets refs = 5: apply() would iterate it.
    const { path, offset } = forge('field.iotrace', firstChunk, (doc) => {
      const layouts = doc[5] as [string, string[]][];
      const li = layouts.findIndex(([kind]) => kind === 'iommufd-obj');
      ((doc[6] as unknown[][])[li] as unknown[])[(layouts[li] as [string, string[]])[1].indexOf('refs')] = [COL.const, 5];
    });
    const r = TraceReplayer.open(path);
    const ev = r.event(2) as TraceEvent & { refs: unknown };
    expect(ev.kind).toBe('iommufd-obj');
    expect(ev.refs).toBe(5);
    expect(() => summarize(ev)).not.toThrow();
    let err: unknown = null;
    try { r.stateAt(3); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(TraceError);
    expect((err as TraceError).offset).toBe(offset);
    expect((err as TraceError).message).toMatch(/event 2 \(iommufd-obj\) does not apply to the state/);
    expect(() => r.touched(2)).toThrow(TraceError);
    r.close();
  });

  it('a platform event whose platform is not one (the number 5) is damage at its chunk', () => {
    const { path, offset } = forge('platform5.iotrace', firstChunk, (doc) => { ((doc[6] as unknown[][])[0] as unknown[])[0] = [COL.const, 5]; }, 'drop');
    const r = TraceReplayer.open(path);
    expect(r.count).toBe(0);
    expect(r.truncated).toMatchObject({ offset });
    expect(r.truncated?.reason).toMatch(/platform event 0: platform: expected an object/);
    r.close();
  });

  it('a run column of maps (tick / step deltas that are not integers) stops recovery at its chunk (fuzz seed 1, cases 138807 and 163852)', () => {
    // A map with a toString key made `tick += delta` throw a TypeError from the decoder.
    const { path, offset } = forge('runs.iotrace', firstChunk, (doc) => { (doc[3] as unknown[])[1] = [COL.const, { toString: 1 }]; }, 'drop');
    const r = TraceReplayer.open(path);
    expect(r.count).toBe(0);
    expect(r.truncated).toMatchObject({ offset });
    expect(r.truncated?.reason).toMatch(/run column holds a non-integer/);
    r.close();
  });

  it('a platform event with vcpus = Infinity or 2^40 is damage at its chunk, not an endless apply (fuzz seed 1, cases 148932, 188848, 522006)', () => {
    // Infinity is a float no trace holds (the msgpack reader refuses it); 2^40 is an integer the platform check refuses.
    for (const [vcpus, why] of [[Infinity, /bad event chunk: msgpack float at \d+ is NaN or infinite/], [2 ** 40, /platform event 0: platform\.vms\[0\]\.vcpus: expected an integer 1\.\.4096, got 1099511627776/]] as const) {
      const { path, offset } = forge(`vcpus-${vcpus}.iotrace`, firstChunk, (doc) => {
        ((doc[6] as unknown[][])[0] as unknown[])[0] = [COL.const, { iommus: [], devices: [], vms: [{ id: 'vm0', vcpus }] }];
      }, 'drop');
      const r = TraceReplayer.open(path);
      expect(r.count).toBe(0);
      expect(r.truncated).toMatchObject({ offset });
      expect(r.truncated?.reason).toMatch(why);
      r.close();
    }
  });

  it('a platform event after event 0 (every event of chunk 0 made a platform) is damage at its chunk', () => {
    const { path, offset } = forge('platforms.iotrace', firstChunk, (doc) => {
      // One layout left, the platform's, and every event of the chunk uses it.
      doc[4] = [COL.const, 0];
      doc[5] = [(doc[5] as unknown[])[0]];
      doc[6] = [[[COL.const, { iommus: [], devices: [] }]]];
    }, 'drop');
    const r = TraceReplayer.open(path);
    expect(r.count).toBe(0);
    expect(r.truncated).toMatchObject({ offset });
    expect(r.truncated?.reason).toMatch(/a platform event at 1: only event 0 installs the platform/);
    r.close();
  });

  it('a value whose String() throws (a map with a toString key) is reported, not thrown as a TypeError', () => {
    const { blocks } = parseTrace(good);
    const i = blocks.findIndex((b) => b.type === BLOCK.state);
    blocks[i] = { type: BLOCK.state, payload: deflateRawSync(encoder.encode([7, 0, [[{ toString: 1, valueOf: 2 }, [], []]]])) };
    const r = TraceReplayer.open(write('tostring.iotrace', assemble(blocks, 'keep')));
    expect(() => r.stateAt(8)).toThrow(/bad checkpoint: unknown section object/);
    r.close();
  });
});
