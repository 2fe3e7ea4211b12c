// diff on forged-but-valid and damaged traces (red team B: F4, F10, F12,
// F15): its states come from the events or a checked checkpoint, never from
// an unchecked one unmarked; faults past a stopped alignment come from the
// events, not the footer; NaN, Infinity and null are three values; two
// damaged files that agree as far as they go are not "identical".
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../engine/types.js';
import { changedFields, identityOf, sameEvent } from '../replayer/identity.js';
import { MemorySide } from '../replayer/memory-side.js';
import { adoptCheck, checkTrace } from '../replayer/check.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { diffTraces } from '../replayer/trace-diff.js';
import { decodeChunk } from '../trace/chunk.js';
import { TraceError } from '../trace/format.js';
import { loadScenario } from '../scenarios/index.js';
import { forge, gapsOf } from './forge.js';
import { parseTrace } from './fuzz/trace-bytes.js';
import { engineEvents, recordTo, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

let dir: string;
const save = (name: string, bytes: Buffer): string => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
const open = (p: string): TraceReplayer => TraceReplayer.open(p);

interface DiffJson {
  identical: boolean | null;
  damaged: { a: number | null; b: number | null };
  commonPrefix: number;
  firstDivergence: { a: number; fields: string[]; state: { changed: number }; unchecked: { a: number | null; b: number | null } } | null;
  faultsOnlyInA: { step: number }[];
}

beforeAll(() => { dir = tmp(); });

describe('diff\'s states: never an unchecked checkpoint unmarked (F4)', () => {
  let good: string;
  let emptied: string;
  let later: string;
  /** One ioctl after the false checkpoint fails with another errno: the same event, another outcome (the state walk). */
  let other: string;
  let target: TraceEvent & { errno: number | null };
  let cp: number;
  beforeAll(() => {
    good = recordTo(dir, 'lifecycle', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 4, checkpointEvery: 8 }).path;
    const r = open(good);
    cp = r.index.checkpointSeqs[1] as number;
    r.close();
    // Checkpoint 1 of A holds the empty state (events untouched): a state that never happened.
    emptied = save('emptied.iotrace', forge(good, { checkpoint: (i, st) => { if (i === 1) for (const k of Object.keys(st.s)) (st.s as unknown as Record<string, unknown>)[k] = Object.create(null); return st; } }));
    // B: the same events, one tick later from just after that checkpoint on (a timing-only difference).
    later = save('later.iotrace', forge(good, { chunk: (_c, evs) => evs.map((ev) => (ev.seq >= cp + 2 ? { ...ev, tick: ev.tick + 1 } : ev)) }));
    const g = open(good);
    target = g.events(0, g.count).find((ev) => ev.seq > cp && ev.kind === 'ioctl') as TraceEvent & { errno: number | null };
    g.close();
    other = save('errno.iotrace', forge(good, { chunk: (_c, list) => list.map((ev) => (ev.seq === target.seq ? { ...ev, errno: (target.errno ?? 0) === 22 ? 1 : 22 } as unknown as TraceEvent : ev)) }));
  });

  it('a timing-only difference past a false checkpoint: "A and B agree" there, as against the genuine file', () => {
    const truth = JSON.parse(cli('diff', good, later, '--json').stdout) as DiffJson;
    expect(truth.firstDivergence).toMatchObject({ a: cp + 2, fields: ['tick'], state: { changed: 0 } });
    const res = cli('diff', emptied, later, '--json');
    expect(res.status).toBe(1);
    const j = JSON.parse(res.stdout) as DiffJson;
    expect(j.firstDivergence).toMatchObject({ a: cp + 2, fields: ['tick'], state: { changed: 0 }, unchecked: { a: null, b: null } });
    const text = cli('diff', emptied, later).stdout;
    expect(text).toContain('  state there: A and B agree\n');
    expect(text).not.toContain('UNCHECKED');
  });

  it('a false checkpoint on either side of the state walk: the states there are the events\'', () => {
    // The walk starts from the state before the first differing row, shared by both sides.
    const truth = diffTraces(open(good), open(other));
    expect(truth.firstDivergence?.a).toBe(target.seq);
    for (const [x, y] of [[emptied, other], [other, emptied]] as const) {
      const d = diffTraces(open(x), open(y));
      expect(d.firstDivergence?.state).toEqual(truth.firstDivergence?.state);
      expect(d.firstDivergence?.unchecked).toEqual({ a: null, b: null });
      expect(d.statesPart?.diff).toEqual(truth.statesPart?.diff);
    }
  });

  it('past the replay budget the state from an unchecked checkpoint says so; after --deep it is the events\' again', () => {
    const d = diffTraces(open(emptied), open(later), { replayEvents: 0 });
    // Built from the false checkpoint (it cannot be afforded otherwise), and it says where from: one base for both
    // sides, as the events before the divergence are identical, so they agree there.
    expect(d.firstDivergence?.unchecked).toEqual({ a: cp, b: cp });
    expect(d.firstDivergence).toMatchObject({ op: 't', fields: ['tick'], state: { changed: 0 } });
    const a = open(emptied);
    const b = open(later);
    adoptCheck(a, checkTrace(a, true));
    adoptCheck(b, checkTrace(b, true));
    // The false checkpoint is dropped; the state comes from an earlier one (compared true, still marked unchecked: the replayer says "checked" only when all were).
    const after = diffTraces(a, b, { replayEvents: 0 });
    expect(after.firstDivergence?.state.changed).toBe(0);
    const text = cli('diff', emptied, later, '--deep').stdout;
    expect(text).toContain('  state there: A and B agree');
    expect(text).toMatch(/A deep check: checkpoint after event \d+ .*holds a state the events do not build/);
  });

  it('the diff TUI at the first divergence (its cursor opens there): A and B agree, as against the genuine file', () => {
    const truth = cli('diff', good, other, '--dump', '160x44');
    expect(truth.stdout).toContain(`state A after event #${target.seq}`);
    expect(truth.stdout).toContain('A and B agree here');
    const res = cli('diff', emptied, other, '--dump', '160x44');
    expect(res.status).toBe(1);
    expect(res.stdout).toContain(`state A after event #${target.seq}`);
    expect(res.stdout).toContain('A and B agree here');
    expect(res.stdout).not.toMatch(/\d+ cells? differ/);
  });
});

describe('null, NaN and Infinity are three values (F10)', () => {
  const base = (): TraceEvent[] => engineEvents(loadScenario('iommufd-lifecycle'));
  const withArg = (evs: TraceEvent[], n: number, value: unknown): TraceEvent[] => evs.map((ev) => (ev.seq === n ? { ...ev, args: { ...(ev as { args: object }).args, ioas_id: value } } as TraceEvent : ev));
  const mapAt = (evs: TraceEvent[]): number => (evs.find((ev) => ev.kind === 'ioctl' && ev.cmd === 'IOMMU_IOAS_MAP') as TraceEvent).seq;

  it('identity and sameEvent tell null, NaN, Infinity and -0 apart (NaN is NaN)', () => {
    const evs = base();
    const n = mapAt(evs);
    const values = [null, Infinity, -Infinity, NaN, 0, -0];
    const at = values.map((v) => withArg(evs, n, v)[n] as TraceEvent);
    for (let i = 0; i < values.length; i++) {
      for (let j = 0; j < values.length; j++) {
        expect(sameEvent(at[i] as TraceEvent, at[j] as TraceEvent), `${String(values[i])} vs ${String(values[j])}`).toBe(i === j);
        expect(identityOf(at[i] as TraceEvent) === identityOf(at[j] as TraceEvent)).toBe(i === j);
        expect(changedFields(at[i] as TraceEvent, at[j] as TraceEvent)).toEqual(i === j ? [] : ['args']);
      }
    }
    // Top-level fields too: -0 is not 0.
    const ev = evs[n] as TraceEvent;
    expect(sameEvent({ ...ev, fd: 0 } as unknown as TraceEvent, { ...ev, fd: -0 } as unknown as TraceEvent)).toBe(false);
  });

  it('diffTraces of two runs whose event holds null in A and Infinity in B: not identical, the field named', () => {
    const evs = base();
    const n = mapAt(evs);
    const d = diffTraces(new MemorySide(withArg(evs, n, null)), new MemorySide(withArg(evs, n, Infinity)));
    expect(d.identical).toBe(false);
    expect(d.commonPrefix).toBe(n);
    expect(d.firstDivergence?.a).toBe(n);
  });

  it('a trace holding Infinity or NaN in an event is refused with its byte offset (never printed as null)', () => {
    const good = recordTo(dir, 'lc-inf', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 4, checkpointEvery: 8 }).path;
    const n = mapAt(base());
    for (const value of [Infinity, NaN]) {
      const bad = save(`arg-${String(value)}.iotrace`, forge(good, { chunk: (_c, evs) => withArg(evs, n, value) }));
      const chunk = parseTrace(Buffer.from(readFileSync(bad))).blocks.filter((b) => b.type === 0x45)[Math.floor(n / 4)];
      expect(() => decodeChunk(Buffer.from(chunk?.payload ?? []), 0)).toThrow(TraceError);
      for (const args of [['events', bad, '--json'], ['export', bad, '--format', 'jsonl'], ['diff', good, bad]]) {
        const res = cli(...args);
        expect(res.status, args.join(' ')).toBe(2);
        expect(res.stdout).not.toContain('"ioas_id":null');
        expect(res.stderr).toMatch(/^iotrace: .*msgpack float at \d+ is NaN or infinite \(at byte \d+\)\n$/);
      }
    }
    // A finite float still reads back as itself.
    const half = save('arg-half.iotrace', forge(good, { chunk: (_c, evs) => withArg(evs, n, 1.5) }));
    expect((open(half).event(n) as unknown as { args: { ioas_id: number } }).args.ioas_id).toBe(1.5);
  });
});

describe('faults past a stopped alignment come from the events (F12)', () => {
  it('a footer that omits the fault: the unaligned rest still has it only in A', () => {
    const good = recordTo(dir, 'dwq', loadScenario('dwq-gpasid'), { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 8 }).path;
    const noFault = save('dwq-nofault.iotrace', forge(good, { footer: (d) => { d.faults = gapsOf([]); (d.kinds as Record<string, number>).fault = 0; } }));
    // B: every PASID and address moved, so nothing aligns and alignment stops early.
    const moved = save('dwq-moved.iotrace', forge(good, { chunk: (_c, evs) => evs.map((ev) => { const e = ev as unknown as Record<string, unknown>; return (typeof e.pasid === 'number' ? { ...e, pasid: e.pasid + 1000 } : typeof e.addr === 'number' ? { ...e, addr: e.addr + 0x1000000 } : e) as unknown as TraceEvent; }) }));
    const opts = { window: 4, maxFailures: 1, maxEditLength: 1 };
    const truth = diffTraces(open(good), open(moved), opts);
    expect(truth.stopped?.a).toBeLessThan(40);
    expect(truth.faultsOnlyInA.map((p) => p.step)).toEqual([40]);
    const d = diffTraces(open(noFault), open(moved), opts);
    expect(d.stopped).toEqual(truth.stopped);
    expect(d.faultsOnlyInA.map((p) => p.step)).toEqual([40]);
    expect(d.faultsOnlyInB.map((p) => p.step)).toEqual([40]);
    expect(d.problemsUnread).toEqual({ a: null, b: null });
    // Past the scan budget: not read, and said so (not taken from the footer).
    const short = diffTraces(open(noFault), open(moved), { ...opts, scanEvents: 5 });
    expect(short.faultsOnlyInA).toEqual([]);
    expect(short.problemsUnread).toEqual({ a: (d.stopped?.a ?? 0) + 5, b: (d.stopped?.b ?? 0) + 5 });
  });
});

describe('two damaged traces that agree as far as they go (F15)', () => {
  let good: string;
  let other: string;
  /** The file cut inside its 6th events block: read up to the damage (5 whole chunks). */
  const cut = (p: string): Buffer => {
    const buf = Buffer.from(readFileSync(p));
    let o = 12;
    let e = 0;
    while (o < buf.length - 12) {
      const len = buf.readUInt32LE(o + 4);
      if (buf[o] === 0x45 && e++ === 5) return buf.subarray(0, o + 20);
      o += 12 + len;
    }
    throw new Error('no 6th chunk');
  };
  beforeAll(() => {
    good = recordTo(dir, 'dwq4', loadScenario('dwq-gpasid'), { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 8 }).path;
    // The fault's reason changed: the traces differ at event 40, which neither cut file still holds.
    other = save('dwq-reason.iotrace', forge(good, { chunk: (_c, evs) => evs.map((ev) => (ev.kind === 'fault' ? { ...ev, reason: 0 } : ev)) }));
  });

  it('both cut at the same place: cannot tell, exit 1, identical null', () => {
    const ca = save('ca.iotrace', cut(good));
    const cb = save('cb.iotrace', cut(other));
    const res = cli('diff', ca, cb);
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(/\ncannot tell: the 20 event\(s\) both hold agree; the rest cannot be compared \(A damaged at byte \d+, 20 event\(s\) recovered; B damaged at byte \d+, 20 event\(s\) recovered\)\n$/);
    expect(res.stdout).not.toContain('identical');
    const j = cli('diff', ca, cb, '--json');
    expect(j.status).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ identical: null, damaged: { a: 20, b: 20 }, commonPrefix: 20, firstDivergence: null });
    expect(cli('diff', ca, cb, '--dump', '120x30').stdout).toContain('cannot tell past 20');
  });

  it('one side cut: cannot tell when its events agree; a whole side that ends first differs', () => {
    const ca = save('ca2.iotrace', cut(good));
    expect(JSON.parse(cli('diff', ca, other, '--json').stdout)).toMatchObject({ identical: null, damaged: { a: 20, b: null } });
    expect(JSON.parse(cli('diff', other, ca, '--json').stdout)).toMatchObject({ identical: null, damaged: { a: null, b: 20 } });
    // A whole run of 10 events against a damaged trace holding 20: the whole one really ends first, a difference.
    const r = open(good);
    const first10 = r.events(0, 10);
    r.close();
    expect(diffTraces(new MemorySide(first10), open(ca))).toMatchObject({ identical: false, commonPrefix: 10 });
    // A difference inside the events both hold is a difference, damage or not: an event's tick, an event's field.
    const early = save('early.iotrace', forge(good, { chunk: (_c, evs) => evs.map((ev) => (ev.seq === 3 ? { ...ev, tick: ev.tick + 1 } : ev)) }));
    const d = diffTraces(open(save('cut-early.iotrace', cut(early))), open(good));
    expect(d.identical).toBe(false);
    expect(d.firstDivergence).toMatchObject({ a: 3, fields: ['tick'] });
    const res = cli('diff', join(dir, 'cut-early.iotrace'), good);
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(/\ndamaged: A damaged at byte \d+, 20 event\(s\) recovered; past a damaged side's last event, rows and faults only in the other may be ones it lost\n/);
  });
});
