// The trace file end to end: round trip, stateAt against replay from scratch,
// provenance, recovery from a cut or corrupted file, determinism.
import { closeSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { isDeepStrictEqual } from 'node:util';
import { decode as msgpackDecode, encode as msgpackEncode, Encoder } from '@msgpack/msgpack';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { apply } from '../engine/apply.js';
import { canonicalState, emptyState, SECTION_NAMES } from '../engine/state.js';
import type { SectionName, State, TraceEvent } from '../engine/types.js';
import { decodeChunk, decodeChunkReference, decoder, encodeChunk, fastDecode, readMsgpack } from '../trace/chunk.js';
import { BLOCK, TraceError } from '../trace/format.js';
import { WRITES } from '../replayer/provenance.js';
import { openTrace, readBlock } from '../replayer/open.js';
import { encodeCheckpoint } from '../trace/state-codec.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { main as infoMain } from '../cli/commands/info.js';
import { loadScenario } from '../scenarios/index.js';
import { Corpus } from './fuzz/corpus.js';
import { engineEvents, recordTo, stressScenario, tmp } from './trace-helpers.js';

const dir = tmp();
const stress = stressScenario(6000);
let stressPath = '';
let events: TraceEvent[] = [];

beforeAll(() => {
  stressPath = recordTo(dir, 'stress', stress).path;
  events = engineEvents(stress);
});

describe('round trip', () => {
  it('decodes exactly the events the engine produced (stress, many chunks)', () => {
    const r = TraceReplayer.open(stressPath);
    expect(r.truncated).toBeNull();
    expect(r.count).toBe(events.length);
    expect(r.chunks.length).toBeGreaterThan(10);
    expect(r.events(0, r.count)).toEqual(events);
    expect(r.event(events.length - 1)).toEqual(events[events.length - 1]);
    expect(r.faults).toEqual(events.filter((e) => e.kind === 'fault').map((e) => e.seq));
    r.close();
  });

  it('decodes dwq-gpasid under both variants, header included', () => {
    const sc = loadScenario('dwq-gpasid');
    for (const pasid of ['identity', 'translated']) {
      const { path, summary } = recordTo(dir, `dwq-${pasid}`, sc, { pasid }, {});
      const r = TraceReplayer.open(path);
      expect(r.events(0, r.count)).toEqual(engineEvents(sc, { pasid }));
      expect(r.header.scenario).toEqual(sc);
      expect(r.header.variant).toEqual({ pasid });
      expect(summary.faults).toBe(pasid === 'translated' ? 1 : 0);
      r.close();
    }
  });
});

describe('stateAt', () => {
  it('equals applying events 0..n from scratch, forwards, backwards and at random', () => {
    const want = new Map<number, unknown>();
    const picks = new Set<number>([-1, 0, 1, 255, 256, 1023, 1024, 1025, events.length - 1]);
    for (let n = 0; n < events.length; n += 97) picks.add(n);
    const s = emptyState();
    want.set(-1, canonicalState(s));
    events.forEach((ev, n) => { apply(s, ev); if (picks.has(n)) want.set(n, canonicalState(s)); });
    const r = TraceReplayer.open(stressPath);
    const sorted = [...picks].sort((a, b) => a - b);
    let seed = 7;
    const shuffled = [...sorted].sort(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 3) - 1);
    for (const order of [sorted, [...sorted].reverse(), shuffled]) {
      for (const n of order) expect(canonicalState(r.stateAt(n)), `step ${n}`).toEqual(want.get(n));
    }
    r.close();
  });
});

describe('provenance', () => {
  it('touched() stays within the sections provenance.ts allows for each kind', () => {
    const r = TraceReplayer.open(stressPath);
    for (let n = 0; n < Math.min(r.count, 3000); n++) {
      const kind = r.event(n).kind;
      for (const c of r.touched(n)) expect(WRITES[kind]?.includes(c.section), `${kind} wrote ${c.section}`).toBe(true);
    }
    r.close();
  });

  it('lastWriter finds the same event as a scan from scratch', () => {
    const r = TraceReplayer.open(stressPath);
    const writers = new Map<string, number[]>();
    const s = emptyState();
    for (const ev of events) apply(s, ev, (section, key) => {
      const id = `${section}\0${key}`;
      const list = writers.get(id) ?? [];
      if (list[list.length - 1] !== ev.seq) list.push(ev.seq);
      writers.set(id, list);
    });
    let checked = 0;
    for (const [id, list] of [...writers].filter((_, i) => i % 7 === 0)) {
      const [section, key] = id.split('\0') as [SectionName, string];
      const at = events.length - 1;
      expect(r.lastWriter({ section, key }, at)).toBe(list[list.length - 1]);
      if (list.length > 1) expect(r.lastWriter({ section, key }, (list[list.length - 1] as number) - 1)).toBe(list[list.length - 2]);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
    r.close();
  });
});

describe('damage', () => {
  /** Block ends: preamble + header, then every block up to the footer. */
  function chunkEnds(bytes: Buffer, r: TraceReplayer): { end: number; events: number }[] {
    return r.chunks.map((c) => ({ end: c.offset + 12 + bytes.readUInt32LE(c.offset + 4), events: c.first + c.count }));
  }

  it('a trace cut at any byte opens and recovers exactly the whole chunks before the cut', () => {
    const bytes = readFileSync(stressPath);
    const whole = TraceReplayer.open(stressPath);
    const ends = chunkEnds(bytes, whole);
    const footerStart = bytes.length - 12 - bytes.readUInt32LE(bytes.length - 12);
    whole.close();
    const cuts = new Set<number>([0, 3, 8, 11, 12, 13, 20, 40, 200, footerStart, footerStart + 5, bytes.length - 13, bytes.length - 12, bytes.length - 1]);
    for (const { end } of ends) for (const d of [-13, -1, 0, 1, 12]) cuts.add(end + d);
    for (let c = 0; c < bytes.length; c += 4999) cuts.add(c);
    const path = join(dir, 'cut.iotrace');
    for (const cut of [...cuts].filter((c) => c >= 0 && c < bytes.length).sort((a, b) => a - b)) {
      writeFileSync(path, bytes.subarray(0, cut));
      const r = TraceReplayer.open(path);
      const expected = cut >= footerStart ? events.length : ends.filter((e) => e.end <= cut).reduce((m, e) => Math.max(m, e.events), 0);
      expect(r.count, `cut at ${cut}`).toBe(expected);
      expect(r.truncated, `cut at ${cut}`).not.toBeNull();
      if (r.count > 0) {
        expect(r.event(r.count - 1)).toEqual(events[r.count - 1]);
        expect(canonicalState(r.stateAt(r.count - 1))).toEqual(canonicalState(events.slice(0, r.count).reduce((s, ev) => apply(s, ev), emptyState())));
      }
      r.close();
    }
  });

  /** Cut `path` at every byte: the reader keeps exactly the whole chunks before the cut, info --json says truncated with that count. */
  async function everyCut(path: string, want: TraceEvent[], chunks: number): Promise<void> {
    const bytes = readFileSync(path);
    const whole = TraceReplayer.open(path);
    const ends = chunkEnds(bytes, whole);
    whole.close();
    expect(ends.length).toBe(chunks);
    const states = new Map<number, unknown>();
    const s = emptyState();
    want.forEach((ev) => { apply(s, ev); states.set(ev.seq, canonicalState(s)); });
    const info = async (p: string): Promise<{ truncated: boolean; events: number }> => {
      const log = console.log;
      let out = '';
      console.log = (line: string) => { out += line; };
      try { expect(await infoMain([p, '--json'])).toBe(0); } finally { console.log = log; }
      return JSON.parse(out) as { truncated: boolean; events: number };
    };
    const cutPath = join(dir, 'every-cut.iotrace');
    for (let cut = 0; cut <= bytes.length; cut++) {
      writeFileSync(cutPath, bytes.subarray(0, cut));
      const expected = ends.filter((e) => e.end <= cut).reduce((m, e) => Math.max(m, e.events), 0);
      const r = TraceReplayer.open(cutPath);
      const at = `cut at ${cut}`;
      if (cut === bytes.length) expect(r.truncated, at).toBeNull();
      else {
        expect(r.count, at).toBe(expected);
        expect(r.truncated, at).not.toBeNull();
        expect(r.truncated!.offset, at).toBeLessThanOrEqual(cut);
      }
      if (r.count > 0) expect(r.event(r.count - 1), at).toEqual(want[r.count - 1]);
      // State through checkpoint + applies, at chunk boundaries and a sample of other cuts.
      if (r.count > 0 && (ends.some((e) => Math.abs(e.end - cut) <= 1) || cut % 101 === 0)) expect(canonicalState(r.stateAt(r.count - 1)), at).toEqual(states.get(r.count - 1));
      r.close();
      expect(await info(cutPath), at).toMatchObject({ truncated: cut < bytes.length, events: cut < bytes.length ? expected : want.length });
    }
  }

  it('every byte offset of the golden trace dwq-gpasid--pasid=translated as a cut point (one chunk: nothing or everything)', async () => {
    await everyCut(join('traces', 'dwq-gpasid--pasid=translated.iotrace'), engineEvents(loadScenario('dwq-gpasid'), { pasid: 'translated' }), 1);
  });

  it('every byte offset of the same run in 4-event chunks as a cut point: exactly the whole chunks before it, and info --json says truncated with that count', async () => {
    // dwq-gpasid (41 events) in 4-event chunks: 11 chunks and 5 checkpoints in about 11 KB.
    const sc = loadScenario('dwq-gpasid');
    const { path } = recordTo(dir, 'dwq-every-cut', sc, { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 8 });
    await everyCut(path, engineEvents(sc, { pasid: 'translated' }), 11);
  // ~11 000 cuts, each opened and read back (and info --json on a sample): a correctness sweep, not a speed goal; 20-30 s idle, 80-120 s at load 15.
  }, 300_000);

  it('a flipped byte inside a chunk keeps the chunks before it and names the offset', () => {
    const bytes = Buffer.from(readFileSync(stressPath));
    const whole = TraceReplayer.open(stressPath);
    const c5 = whole.chunks[5];
    whole.close();
    if (!c5) throw new Error('need 6 chunks');
    bytes[c5.offset + 40] = (bytes[c5.offset + 40] ?? 0) ^ 0xff;
    // Damage the footer too so the reader must scan.
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    const path = join(dir, 'flip.iotrace');
    writeFileSync(path, bytes);
    const r = TraceReplayer.open(path);
    expect(r.count).toBe(c5.first);
    expect(r.truncated?.offset).toBe(c5.offset);
    expect(r.truncated?.reason).toMatch(/checksum/);
    r.close();
  });

  it('garbage gives a TraceError with an offset, never a RangeError', () => {
    const path = join(dir, 'junk.iotrace');
    writeFileSync(path, Buffer.from('not a trace at all'));
    expect(() => TraceReplayer.open(path)).toThrow(TraceError);
    // A valid preamble and a header block announcing 4 GB.
    const huge = Buffer.concat([readFileSync(stressPath).subarray(0, 12), Buffer.from([0x48, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]);
    writeFileSync(path, huge);
    const r = TraceReplayer.open(path);
    expect(r.count).toBe(0);
    expect(r.truncated?.offset).toBe(12);
    r.close();
    // Random bytes after a whole header, with a forged tail claiming a huge footer.
    const head = readFileSync(stressPath).subarray(0, TraceReplayer.open(stressPath).chunks[0]?.offset ?? 0);
    let x = 1;
    const noise = Buffer.alloc(5000, 0).map(() => (x = (x * 48271) % 2147483647) & 0xff);
    writeFileSync(path, Buffer.concat([head, noise, Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.from('IOTEND\0\0', 'latin1')]));
    const g = TraceReplayer.open(path);
    expect(g.count).toBe(0);
    expect(g.truncated?.offset).toBe(head.length);
    g.close();
  });
});

describe('determinism', () => {
  it('recording the same run twice gives byte-identical files', () => {
    const a = recordTo(dir, 'det-a', stress, {}, {}).path;
    const b = recordTo(dir, 'det-b', stress, {}, {}).path;
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const c = recordTo(dir, 'det-c', stress, {}, {}, 1).path;
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);
  });
});

describe('fused chunk codec (trace/chunk.ts)', () => {
  /** Every chunk payload of a trace, with its offset. */
  const payloadsOf = (path: string): { payload: Buffer; offset: number }[] => {
    const r = TraceReplayer.open(path);
    const out = r.chunks.map((c, i) => ({ payload: r.chunkPayload(i), offset: c.offset }));
    r.close();
    return out;
  };
  /** The reference decoder's answer: its result, or its error message. */
  const reference = (payload: Uint8Array): unknown => {
    try { return decodeChunkReference(payload, 0); } catch (e) { return e instanceof TraceError ? `TraceError: ${e.message}` : `other: ${String(e)}`; }
  };
  const answer = (payload: Uint8Array): unknown => {
    try { return decodeChunk(payload, 0); } catch (e) { return e instanceof TraceError ? `TraceError: ${e.message}` : `other: ${String(e)}`; }
  };

  it('decodes every chunk of every corpus exactly as the reference decoder, and re-encodes it byte for byte', () => {
    const corpus = new Corpus();
    try {
      const paths = [
        ...readdirSync(join(process.cwd(), 'traces')).filter((f) => f.endsWith('.iotrace')).map((f) => join(process.cwd(), 'traces', f)),
        stressPath,
        recordTo(dir, 'stress-default-chunks', stressScenario(30_000), {}, {}).path,
        recordTo(dir, 'stress-odd-chunks', stressScenario(4000), {}, { chunkEvents: 1000, checkpointEvery: 2000 }).path,
        ...corpus.small.map((e) => e.path),
        ...corpus.big().map((e) => e.path),
      ];
      let chunks = 0;
      let fused = 0;
      for (const path of paths) {
        for (const { payload, offset } of payloadsOf(path)) {
          chunks++;
          const ref = decodeChunkReference(payload, offset);
          const fast = fastDecode(payload);
          // The fused decoder leaves only the platform chunk (event 0) to the reference.
          if (fast === null) expect(ref.events.some((e) => e.kind === 'platform'), `${path} @${offset}`).toBe(true);
          else {
            fused++;
            expect(isDeepStrictEqual(fast.events, ref.events), `${path} @${offset}: events`).toBe(true);
            expect(isDeepStrictEqual(fast.meta, ref.meta), `${path} @${offset}: meta`).toBe(true);
          }
          expect(Buffer.from(encodeChunk(ref.events, ref.meta.hash)).equals(payload), `${path} @${offset}: re-encoded bytes`).toBe(true);
        }
      }
      expect(chunks).toBeGreaterThan(300);
      expect(fused).toBeGreaterThan(chunks - paths.length - 1);
    } finally {
      corpus.done();
    }
  });

  it('gives the reference decoder\'s answer (events or the same TraceError) for damaged chunks', () => {
    const sources = [...payloadsOf(stressPath).slice(1, 6), ...payloadsOf(join(process.cwd(), 'traces', 'dwq-gpasid--pasid=translated.iotrace'))].map((c) => c.payload);
    let x = 0x9e3779b9;
    const rnd = (n: number): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) % n; };
    const odd: unknown[] = [0, 1, -1, 31, 32, 33, 255, 65536, 2 ** 32, 2 ** 53, -(2 ** 40), 0.5, NaN, null, true, false, '', 'dma', 'x'.repeat(70), 'é', [], [0], [1, [], 0, new Uint8Array(0)], {}, { a: 1 }, new Uint8Array(3)];
    let decodedSome = 0;
    for (let k = 0; k < 3000; k++) {
      const src = sources[rnd(sources.length)] as Buffer;
      let bytes: Uint8Array;
      if (k % 2 === 0) {
        // Bytes: flips, random values, a cut.
        const b = Buffer.from(src);
        const flips = 1 + rnd(3);
        for (let f = 0; f < flips; f++) b[rnd(b.length)] = k % 4 === 0 ? rnd(256) : (b[rnd(b.length)] as number) ^ (1 << rnd(8));
        bytes = k % 10 === 2 ? b.subarray(0, rnd(b.length)) : b;
      } else {
        // Structure: one node of the decoded chunk replaced, then re-encoded (valid msgpack, wrong content).
        const doc = msgpackDecode(src) as unknown[];
        const nodes: [unknown[], number][] = [];
        const walk = (a: unknown): void => { if (Array.isArray(a)) a.forEach((v, i) => { nodes.push([a, i]); walk(v); }); };
        walk(doc);
        const [arr, i] = nodes[rnd(nodes.length)] as [unknown[], number];
        const pick = rnd(4);
        if (pick === 0) arr[i] = odd[rnd(odd.length)];
        else if (pick === 1) arr[i] = typeof arr[i] === 'number' ? (arr[i] as number) + (rnd(2) ? 1 : -1) : odd[rnd(odd.length)];
        else if (pick === 2) arr.splice(i, 1);
        else arr.push(odd[rnd(odd.length)]);
        bytes = msgpackEncode(doc);
      }
      const want = reference(bytes);
      const got = answer(bytes);
      if (typeof want !== 'string') decodedSome++;
      expect(isDeepStrictEqual(got, want), `mutation ${k}`).toBe(true);
    }
    expect(decodedSome).toBeGreaterThan(100);
  });

  it('reads every checkpoint of every corpus, and damaged ones, as the guarded decoder does (or leaves them to it)', () => {
    const corpus = new Corpus();
    try {
      const paths = [
        ...readdirSync(join(process.cwd(), 'traces')).filter((f) => f.endsWith('.iotrace')).map((f) => join(process.cwd(), 'traces', f)),
        stressPath,
        ...corpus.small.map((e) => e.path),
      ];
      const raws: Uint8Array[] = [];
      for (const path of paths) {
        const t = openTrace(path);
        for (const offset of t.index.checkpointOffsets) {
          const raw = inflateRawSync(readBlock(t.fd, t.bytes, offset, BLOCK.state).payload);
          const fast = readMsgpack(raw);
          expect(fast, `${path} @${offset}`).not.toBeNull();
          expect(isDeepStrictEqual(fast?.value, decoder.decode(raw)), `${path} @${offset}`).toBe(true);
          raws.push(raw);
        }
        closeSync(t.fd);
      }
      expect(raws.length).toBeGreaterThan(20);
      let x = 0x2545f491;
      const rnd = (n: number): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) % n; };
      let read = 0;
      for (let k = 0; k < 3000; k++) {
        const b = Buffer.from(raws[rnd(raws.length)] as Uint8Array);
        for (let f = 1 + rnd(3); f > 0; f--) b[rnd(b.length)] = k % 2 === 0 ? rnd(256) : (b[rnd(b.length)] as number) ^ (1 << rnd(8));
        const bytes = k % 7 === 3 ? b.subarray(0, rnd(b.length)) : b;
        const fast = readMsgpack(bytes);
        if (fast === null) continue;
        read++;
        // What the fused reader accepts, the guarded decoder accepts too, with the same value.
        expect(isDeepStrictEqual(fast.value, decoder.decode(bytes)), `mutation ${k}`).toBe(true);
      }
      expect(read).toBeGreaterThan(100);
    } finally {
      corpus.done();
    }
  });

  it('writes checkpoints as @msgpack/msgpack encodes [seq, tick, sections] (stress states and odd cell values)', () => {
    const enc = new Encoder();
    const plain = (st: State): Uint8Array => deflateRawSync(enc.encode([st.seq, st.tick, SECTION_NAMES.map((name) => {
      const sec = st.s[name] as Record<string, unknown>;
      const keys = Object.keys(sec);
      return [name, keys, keys.map((k) => sec[k])];
    })]), { level: 6 });
    const st = emptyState();
    let checked = 0;
    events.forEach((ev, i) => {
      apply(st, ev);
      if (i % 500 === 0) { expect(Buffer.from(encodeCheckpoint(st)).equals(plain(st)), `after event ${i}`).toBe(true); checked++; }
    });
    const odd = emptyState();
    const values: unknown[] = [0, -0, -1, -33, -129, -40000, -(2 ** 31), 2 ** 32, 2 ** 53, 0.5, '', 'é', 'x'.repeat(40), 'y'.repeat(300), null, undefined, true, [], [[], [1, 'a']], {}, { a: { b: [null] } },
      Object.assign(Object.create(null) as object, { n: 1 }), new Uint8Array([1, 2, 3]), { u: undefined }];
    values.forEach((v, i) => { (odd.s.mem as Record<string, unknown>)[`k${i}`] = v; (odd.s.pt as Record<string, unknown>)[`é${i}`] = { v }; });
    odd.seq = 2 ** 40;
    odd.tick = -5;
    expect(Buffer.from(encodeCheckpoint(odd)).equals(plain(odd))).toBe(true);
    expect(checked).toBeGreaterThan(5);
    // NaN and Infinity: the reader refuses them (msgpack-guard.ts), so the writer does too.
    for (const v of [NaN, Infinity, { deep: [-Infinity] }]) {
      const bad = emptyState();
      (bad.s.mem as Record<string, unknown>).k = v;
      expect(() => encodeCheckpoint(bad)).toThrow(/cannot record: the state after event -1 is a checkpoint that float at \d+ is NaN or infinite/);
    }
  });

  it('round-trips integers whose range spans more than 2^32 (they once got a wrapped bit width)', () => {
    const evs = [0, 2 ** 32 + 1, 5, 2 ** 52].map((addr, i) => ({ seq: i, tick: 0, step: 0, kind: 'dma', rid: 'r', pasid: 1, addr, write: false, via: 'walk', pa: addr + 4096, ok: true })) as unknown as TraceEvent[];
    const back = decodeChunk(encodeChunk(evs, new Uint8Array(16)), 0).events;
    expect(back).toEqual(evs);
  });
});
