// export --format perfetto (issue 16 part 1), through the library: every
// export is decoded with exporters/perfetto.proto and its tracks, names,
// time layout, flows, counters and metadata checked against the trace.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyState } from '../engine/state.js';
import type { EventKind, State, TraceEvent } from '../engine/types.js';
import { exportTrace } from '../exporters/export.js';
import { ExportError } from '../exporters/timeline.js';
import { F, SEQ, TYPE } from '../exporters/perfetto.js';
import { ProtoWriter } from '../exporters/protobuf.js';
import type { Replayer, TraceHeader } from '../replayer/api.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { decode, type Decoded, type DSlice, TraceMsg, trackPath } from './perfetto-decode.js';
import protobuf from 'protobufjs';

const TRACES = join(process.cwd(), 'traces');
const golden = (name: string): string => join(TRACES, `${name}.iotrace`);

async function perfetto(r: Replayer, opts: { from?: number; to?: number; kinds?: EventKind[] } = {}): Promise<Decoded> {
  const parts: Buffer[] = [];
  await exportTrace(r, { format: 'perfetto', from: opts.from ?? 0, to: opts.to ?? r.count, kinds: opts.kinds ?? null }, async (c) => { parts.push(typeof c === 'string' ? Buffer.from(c) : c); });
  return decode(Buffer.concat(parts));
}

const withTrace = async <T>(name: string, use: (r: TraceReplayer) => Promise<T>): Promise<T> => {
  const r = TraceReplayer.open(golden(name));
  try { return await use(r); } finally { r.close(); }
};

/** The slices that stand for events (not steps, not the metadata instant), by sequence number. */
const bySeq = (d: Decoded): Map<number, DSlice> => {
  const m = new Map<number, DSlice>();
  for (const s of d.slices) if (s.cat !== 'step' && s.cat !== 'metadata') {
    const seq = s.args.seq as number;
    if (m.has(seq)) throw new Error(`event ${seq} drawn twice`);
    m.set(seq, s);
  }
  return m;
};

/** Slices on one track either nest or are disjoint (what trace processor needs to build a stack). */
function expectNested(d: Decoded): void {
  const per = new Map<number, DSlice[]>();
  for (const s of d.slices) if (s.dur !== null) per.set(s.track, [...(per.get(s.track) ?? []), s]);
  for (const [track, list] of per) {
    list.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
    const stack: DSlice[] = [];
    for (const s of list) {
      while (stack.length > 0 && (stack.at(-1) as DSlice).ts + ((stack.at(-1) as DSlice).dur ?? 0) < s.ts) stack.pop();
      const top = stack.at(-1);
      if (top) expect(s.ts + (s.dur ?? 0), `${s.name} overlaps ${top.name} on ${trackPath(d, track)}`).toBeLessThanOrEqual(top.ts + (top.dur ?? 0));
      stack.push(s);
    }
  }
}

describe('the encoder and exporters/perfetto.proto agree', () => {
  const root = protobuf.loadSync(join(process.cwd(), 'exporters', 'perfetto.proto'));
  const id = (type: string, field: string): number | undefined => root.lookupType(`perfetto.protos.${type}`).fields[field]?.id;

  it('every field number the writer uses is the .proto field of that name', () => {
    const names: Record<keyof typeof F, string> = {
      trace: 'Trace', packet: 'TracePacket', internedData: 'InternedData', interned: 'EventName', trackDescriptor: 'TrackDescriptor', processDescriptor: 'ProcessDescriptor', trackEvent: 'TrackEvent', debugAnnotation: 'DebugAnnotation',
    };
    for (const t of ['EventCategory', 'DebugAnnotationName']) for (const [field, n] of Object.entries(F.interned)) expect(id(t, field), `${t}.${field}`).toBe(n);
    const flags = root.lookupEnum('perfetto.protos.TracePacket.SequenceFlags').values;
    expect(flags).toMatchObject({ SEQ_INCREMENTAL_STATE_CLEARED: SEQ.incrementalStateCleared, SEQ_NEEDS_INCREMENTAL_STATE: SEQ.needsIncrementalState });
    expect(root.lookupEnum('perfetto.protos.TrackEvent.Type').values).toMatchObject({ TYPE_SLICE_BEGIN: TYPE.sliceBegin, TYPE_SLICE_END: TYPE.sliceEnd, TYPE_INSTANT: TYPE.instant, TYPE_COUNTER: TYPE.counter });
    for (const [group, fields] of Object.entries(F)) {
      for (const [field, n] of Object.entries(fields)) expect(id(names[group as keyof typeof F], field), `${group}.${field}`).toBe(n);
    }
  });

  it('varints past 2^32, negative int64, doubles, fixed64 and padded nested lengths decode as written', () => {
    const w = new ProtoWriter(8);
    w.message(1, () => {
      w.uint(8, 2 ** 40 + 7);
      w.uint(10, 1);
      w.message(11, () => {
        w.uint(9, 4);
        w.int(30, -5);
        w.fixed64(47, 2 ** 50 + 1);
        w.message(4, () => { w.string(10, 'pi'); w.double(5, 3.25); });
        w.message(4, () => { w.string(10, 'neg'); w.int(4, -(2 ** 40)); });
        w.message(4, () => { w.string(10, 'é'.repeat(100)); w.string(6, 'ü'.repeat(300)); });
      });
    });
    const t = TraceMsg.toObject(TraceMsg.decode(w.take()), { longs: Number }) as { packet: { timestamp: number; trackEvent: { counterValue: number; flowIds: number[]; debugAnnotations: { name: string; doubleValue?: number; intValue?: number; stringValue?: string }[] } }[] };
    const p = t.packet[0];
    expect(p?.timestamp).toBe(2 ** 40 + 7);
    expect(p?.trackEvent.counterValue).toBe(-5);
    expect(p?.trackEvent.flowIds).toEqual([2 ** 50 + 1]);
    expect(p?.trackEvent.debugAnnotations.map((a) => a.doubleValue ?? a.intValue ?? a.stringValue)).toEqual([3.25, -(2 ** 40), 'ü'.repeat(300)]);
  });
});

describe('export --format perfetto of a recorded trace', () => {
  it('draws every event once, on its track, named by what it is, inside its tick', async () => {
    await withTrace('dwq-gpasid--pasid=translated', async (r) => {
      const d = await perfetto(r);
      const events = r.events(0, r.count);
      const drawn = bySeq(d);
      expect([...drawn.keys()].sort((a, b) => a - b)).toEqual(events.map((e) => e.seq));
      const paths = new Set([...d.tracks.values()].map((t) => trackPath(d, t.uuid)));
      for (const p of ['IOMMU dmar0/PASID table', 'IOMMU dmar0/IOTLB', 'IOMMU dmar0/PASID cache', 'IOMMU dmar0/IOTLB entries', 'device 00:02.0/DMA', 'device 00:02.0/ATC',
        'VM vm0/vCPU 0', 'VM vm0/KVM', 'VM vm0/guest vIOMMU', 'files (ioctls by fd)/iommufd', 'files (ioctls by fd)/vfio', 'files (ioctls by fd)/kvm', 'kernel/kernel calls']) expect(paths, p).toContain(p);
      expect([...paths].some((p) => /vm0 vCPU/.test(p))).toBe(false);
      const at = (seq: number): { name: string; path: string; s: DSlice } => { const s = drawn.get(seq) as DSlice; return { name: s.name, path: trackPath(d, s.track), s }; };
      expect(at(10)).toMatchObject({ name: 'IOMMU_HWPT_ALLOC', path: 'files (ioctls by fd)/iommufd' });
      expect(at(15)).toMatchObject({ name: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', path: 'files (ioctls by fd)/vfio' });
      expect(at(12)).toMatchObject({ name: 'PASID 0 set SL', path: 'IOMMU dmar0/PASID table' });
      expect(at(36)).toMatchObject({ name: 'IOTLB fill', path: 'IOMMU dmar0/IOTLB' });
      expect(at(34)).toMatchObject({ name: 'ENQCMD wq1', path: 'VM vm0/vCPU 0' });
      expect(at(30)).toMatchObject({ name: 'PASID map guest 5 -> host 1', path: 'VM vm0/KVM' });
      const fault = at(40);
      expect(fault).toMatchObject({ name: 'FAULT 0x59 SM: Present bit in PASID Table Entry is clear', path: 'device 00:02.0/DMA' });
      expect(fault.s.dur).toBeNull();
      expect('kind' in fault.s.args).toBe(false);
      expect(fault.s.args).toMatchObject({ rid: '00:02.0', pasid: 5, addr: '0x400000', reason: 89, seq: 40, tick: 18 });
      expect(String(fault.s.args.summary)).toMatch(/^FAULT iommu 0x59/);
      // Fields as annotations, nested ones as dictionaries.
      expect(at(25).s.args).toMatchObject({ cmd: 'IOMMU_HWPT_ALLOC', fd: 'iommufd', args: { dev_id: 2, pt_id: 3, data_type: 'VTD_S1', data: { pgtbl_addr: '0x200000' } }, out: { out_hwpt_id: 4 } });
      // Logical time: a step's events lie in its tick's microsecond; the ioctl spans its step's effects.
      for (const ev of events) {
        const s = drawn.get(ev.seq) as DSlice;
        expect(s.ts, `event ${ev.seq}`).toBeGreaterThanOrEqual(ev.tick * 1000);
        expect(s.ts + (s.dur ?? 0), `event ${ev.seq}`).toBeLessThan(ev.tick * 1000 + 1000);
      }
      const ioctl = at(10).s;
      for (const seq of [8, 9]) { const e = at(seq).s; expect(e.ts).toBeGreaterThan(ioctl.ts); expect(e.ts + (e.dur ?? 0)).toBeLessThan(ioctl.ts + (ioctl.dur ?? 0)); }
      // The step's slice on the scenario's track, named by its command.
      const steps = d.slices.filter((s) => s.cat === 'step');
      expect(steps.find((s) => s.args.step === 4)).toMatchObject({ name: 'step 4 IOMMU_HWPT_ALLOC', ts: 5000 });
      expect(trackPath(d, (steps[0] as DSlice).track)).toBe('dwq-gpasid (pasid=translated) seed 0/steps');
      expectNested(d);
    });
  });

  it('flows: an ioctl through what its step wrote; a PASID entry write to the DMA that went through it; a DMA to its fault', async () => {
    await withTrace('dwq-gpasid--pasid=translated', async (r) => {
      const d = await perfetto(r);
      const drawn = bySeq(d);
      const flowOf = (seq: number): number[] => (drawn.get(seq) as DSlice).flows;
      const shared = (a: number, b: number): number[] => flowOf(a).filter((f) => flowOf(b).includes(f));
      // Step 12 (VFIO_DEVICE_ATTACH_IOMMUFD_PT, events 11..15): one flow through all of them, the ioctl first in time.
      const step = shared(15, 11);
      expect(step).toHaveLength(1);
      for (const seq of [12, 13, 14]) expect(flowOf(seq)).toContain(step[0]);
      const chain = [...drawn.values()].filter((s) => s.flows.includes(step[0] as number)).sort((a, b) => a.ts - b.ts).map((s) => s.args.seq);
      expect(chain).toEqual([15, 11, 12, 13, 14]);
      // The PASID 1 entry written at 26 starts a flow that the DMA through PASID 1 (38) continues.
      expect(shared(26, 38)).toHaveLength(1);
      // DMA 39 and its fault 40 are one step.
      expect(shared(39, 40)).toHaveLength(1);
      // A lone event carries no step flow; no flow is shared by unrelated steps.
      expect(flowOf(1)).toEqual([]);
      expect(shared(3, 5)).toEqual([]);
    });
  });

  it('a cleared PASID entry flows to the fault it causes', async () => {
    await withTrace('sriov-pasid-table', async (r) => {
      const events = r.events(0, r.count);
      // 54 clears PASID 7's entry (a context descriptor); the DMA through it faults C_BAD_CD at 60.
      const fault = events.find((e) => e.seq === 60) as TraceEvent & { rid: string; pasid: number };
      expect(fault).toMatchObject({ kind: 'fault', name: 'C_BAD_CD', pasid: 7 });
      expect(fault).toBeDefined();
      const clear = events.filter((e) => e.seq < fault.seq && e.kind === 'pasid-write' && e.rid === fault.rid && e.pasid === fault.pasid).at(-1);
      expect(clear).toMatchObject({ seq: 54, after: null });
      const d = await perfetto(r);
      const drawn = bySeq(d);
      const a = (drawn.get((clear as TraceEvent).seq) as DSlice).flows;
      expect((drawn.get(fault.seq) as DSlice).flows.some((f) => a.includes(f))).toBe(true);
    });
  });

  it('counters: cache occupancy and IOASIDs in use end at what the state holds', async () => {
    for (const name of readdirSync(TRACES).filter((f) => f.endsWith('.iotrace')).map((f) => f.replace(/\.iotrace$/, ''))) {
      await withTrace(name, async (r) => {
        const d = await perfetto(r);
        const last = new Map<number, number>();
        for (const c of d.counters) last.set(c.track, c.value);
        const got: Record<string, number> = {};
        for (const [track, v] of last) got[trackPath(d, track)] = v;
        const s: State = r.stateAt(r.count - 1);
        const want: Record<string, number> = {};
        const add = (path: string): void => { want[path] = (want[path] ?? 0) + 1; };
        for (const key of Object.keys(s.s.iotlb)) add(`IOMMU ${key.split('/')[0]}/IOTLB entries`);
        for (const key of Object.keys(s.s['pasid-cache'])) add(`IOMMU ${key.split('/')[0]}/PASID-cache entries`);
        for (const key of Object.keys(s.s.atc)) add(`device ${key.split('/')[0]}/ATC entries`);
        for (const cell of Object.values(s.s.ioasid)) add(`kernel/IOASIDs in use: set ${cell.set}`);
        // A counter that went back to 0 still ends at 0; one never touched is absent.
        for (const [path, v] of Object.entries(got)) expect(v, `${name}: ${path}`).toBe(want[path] ?? 0);
        for (const [path, v] of Object.entries(want)) expect(got[path], `${name}: ${path}`).toBe(v);
      });
    }
  });

  it('metadata: scenario, variant and seed on the first instant, and in the scenario track\'s name', async () => {
    await withTrace('live-migration--pasid-space=per-rid', async (r) => {
      const d = await perfetto(r);
      const meta = d.slices.find((s) => s.cat === 'metadata') as DSlice;
      expect(meta.name).toBe('trace live-migration (pasid-space=per-rid) seed 0');
      expect(meta.args).toMatchObject({ scenario: 'live-migration', variant: { 'pasid-space': 'per-rid' }, seed: 0, from: 0, to: r.count, kinds: 'all' });
      const group = d.tracks.get(d.slices.find((s) => s.cat === 'metadata')?.track as number)?.parent as number;
      expect(d.tracks.get(group)).toMatchObject({ name: 'live-migration (pasid-space=per-rid) seed 0', kind: 'group', pid: 1 });
      expectNested(d);
    });
  });

  it('--from/--to export a window; counters start from the state before it; --kind keeps those kinds and their counters', async () => {
    await withTrace('dwq-gpasid--pasid=translated', async (r) => {
      const d = await perfetto(r, { from: 38, to: 40 });
      expect([...bySeq(d).keys()].sort()).toEqual([38, 39]);
      const iotlb = d.counters.filter((c) => trackPath(d, c.track) === 'IOMMU dmar0/IOTLB entries');
      // Filled at 36: the window starts with one line.
      expect(iotlb.map((c) => c.value)).toEqual([1]);
      expect(d.slices.find((s) => s.cat === 'metadata')?.args).toMatchObject({ from: 38, to: 40 });
      const f = await perfetto(r, { kinds: ['fault', 'iotlb-fill'] });
      expect([...bySeq(f).values()].map((s) => s.cat).sort()).toEqual(['fault', 'iotlb-fill']);
      expect(new Set(f.counters.map((c) => trackPath(f, c.track)))).toEqual(new Set(['IOMMU dmar0/IOTLB entries']));
      const none = await perfetto(r, { kinds: ['fault'] });
      expect(none.counters).toEqual([]);
      const empty = await perfetto(r, { from: 5, to: 5 });
      expect(bySeq(empty).size).toBe(0);
      expect(empty.slices.filter((s) => s.cat === 'metadata')).toHaveLength(1);
    });
  });
});

describe('export of events a recording never makes', () => {
  const header = { format: 2, engine: 'test', scenario: { name: 'forged', description: '', platform: { iommus: [], devices: [] }, steps: [] }, variant: {}, seed: 0 } as unknown as TraceHeader;
  const fake = (events: TraceEvent[]) => ({ header, count: events.length, events: (a: number, b: number) => events.slice(a, b), stateAt: () => emptyState(), stateUnchecked: () => null }) as unknown as Replayer;

  it('more distinct names than an interning table holds are written out, each still decoding to its own', async () => {
    const n = 66_000;
    const events = Array.from({ length: n }, (_, i) => ({ seq: i, tick: i, step: i, kind: 'kcall', fn: `f${i}`, args: {}, errno: null, out: {} })) as unknown as TraceEvent[];
    const d = await perfetto(fake(events));
    const names = [...bySeq(d).values()].map((s) => s.name);
    expect(names).toHaveLength(n);
    expect(names.every((name, i) => name === `f${i}`)).toBe(true);
  });

  it('an event that does not apply to the state is an ExportError naming it, not a crash', async () => {
    const bad = [{ seq: 0, tick: 0, step: -1, kind: 'platform', platform: null }] as unknown as TraceEvent[];
    await expect(perfetto(fake(bad))).rejects.toThrow(/^event 0 \(platform\) does not apply to the state: /);
    await expect(perfetto(fake(bad))).rejects.toBeInstanceOf(ExportError);
  });

  it('a forged tick (negative, fractional, a string) joins the time of the event before it', async () => {
    const events = [
      { seq: 0, tick: 5, step: 0, kind: 'kcall', fn: 'a', args: {}, errno: null, out: {} },
      { seq: 1, tick: -3, step: 1, kind: 'kcall', fn: 'b', args: {}, errno: null, out: {} },
      { seq: 2, tick: 'x', step: 2, kind: 'kcall', fn: 'c', args: {}, errno: null, out: {} },
    ] as unknown as TraceEvent[];
    const s = bySeq(await perfetto(fake(events)));
    expect([0, 1, 2].map((i) => s.get(i)?.ts)).toEqual([5000, 5333, 5666]);
  });
});

describe('export --format perfetto of an imported trace', () => {
  const header = { format: 2, engine: 'test', scenario: { name: 'qemu:vtd.log', description: '', platform: { iommus: [], devices: [] }, steps: [] }, variant: {}, seed: 0, imported: { tool: 'qemu', file: 'vtd.log', t0: '12.5' } } as unknown as TraceHeader;
  const obs = (line: number, ts: number | null) => ({ obs: { line, ts, raw: `line ${line}` } });
  const events = [
    { seq: 0, tick: 1, step: 1, kind: 'iotlb-fill', iommu: 'dmar0', did: 1, pasid: 0, page: 4, pa: 8192, write: true, ...obs(1, 2000) },
    { seq: 1, tick: 2, step: 2, kind: 'iotlb-inval', iommu: 'dmar0', desc: 2, granularity: 'domain', did: 1, pasid: null, addr: null, npages: null, dropped: 1, ...obs(2, 5_000_000) },
    { seq: 2, tick: 3, step: 3, kind: 'iotlb-fill', iommu: 'dmar0', did: 1, pasid: 0, page: 5, pa: 8192, write: true, ...obs(3, null) },
    { seq: 3, tick: 4, step: 4, kind: 'kcall', fn: 'vtd_process_inv_desc', args: { iommu: 'dmar0', type: 'inv_wait' }, errno: null, out: {}, ...obs(4, 6_000_000) },
    { seq: 4, tick: 5, step: 5, kind: 'kcall', fn: 'iommufd_backend_connect', args: { fd: 'iommufd3' }, errno: null, out: {}, ...obs(5, 7_000_000) },
  ] as unknown as TraceEvent[];
  const fake = { header, count: events.length, events: (a: number, b: number) => events.slice(a, b), stateAt: () => emptyState(), stateUnchecked: () => null } as unknown as Replayer;

  it('keeps the log\'s timestamps (ns since its first), falls back to tick x 1000 without one, and names its source', async () => {
    const d = await perfetto(fake);
    const s = bySeq(d);
    expect(s.get(0)?.ts).toBe(2000);
    expect(s.get(1)?.ts).toBe(5_000_000);
    // No timestamp: tick 3 would be 3000 ns, but a cell never starts before the previous one ended.
    expect(s.get(2)?.ts).toBe(5_001_000);
    expect(s.get(0)?.args.obs).toMatchObject({ line: 1, raw: 'line 1' });
    expect(d.counters.map((c) => c.value)).toEqual([1, 0, 1]);
    const meta = d.slices.find((x) => x.cat === 'metadata') as DSlice;
    expect(meta.name).toBe('trace qemu:vtd.log (imported)');
    expect(meta.args).toMatchObject({ 'imported.tool': 'qemu', 'imported.file': 'vtd.log', 'imported.t0': '12.5' });
    // Queue work that names its IOMMU sits on its queue; other calls with the kernel's.
    expect(trackPath(d, s.get(3)?.track as number)).toBe('IOMMU dmar0/invalidation queue');
    expect(trackPath(d, s.get(4)?.track as number)).toBe('kernel/kernel calls');
    // No scenario steps to draw for a log.
    expect(d.slices.some((x) => x.cat === 'step')).toBe(false);
  });
});
