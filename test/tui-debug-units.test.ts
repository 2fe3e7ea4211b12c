// The debugger's issue-15 pieces on their own: the cell a fault or violation
// is about, the scenario step an event's index names, the jump list, the goto
// forms, breakpoints between two events.
import { describe, expect, it } from 'vitest';
import { stepAt, type Scenario } from '../engine/scenario.js';
import { emptyState } from '../engine/state.js';
import type { TraceEvent } from '../engine/types.js';
import type { Replayer } from '../replayer/api.js';
import { aboutEvent } from '../tui/about.js';
import { Breakpoints } from '../tui/breakpoints.js';
import { JumpList } from '../tui/jumps.js';
import { wrap } from '../tui/format.js';

const base = { seq: 0, tick: 7, step: 3 };
const fake = (events: TraceEvent[]): Replayer => ({
  count: events.length, event: (n: number) => events[n] as TraceEvent, faults: [], violations: [],
  events: (a: number, b: number) => events.slice(a, b),
} as unknown as Replayer);

describe('the cell an event is about', () => {
  it('a stale-IOTLB violation: the IOTLB line of its PASID and the page of the DMA that follows', () => {
    const evs = [
      { ...base, seq: 0, kind: 'violation', invariant: 'stale-iotlb', rid: '00:02.0', pasid: 1, detail: 'IOTLB line dmar0 did 4 pasid 1 page 0x400000 -> 0x1000, tables give 0x3000' },
      { ...base, seq: 1, kind: 'dma', rid: '00:02.0', pasid: 1, addr: 0x400000, write: true, via: 'iotlb', pa: 0x1000, ok: true },
    ] as TraceEvent[];
    const state = emptyState();
    state.s.device['00:02.0'] = { iommu: 'dmar0' } as never;
    state.s.iotlb['dmar0/4/1/1024'] = { pa: 0x1000, write: true } as never;
    state.s.iotlb['dmar0/4/2/1024'] = { pa: 0x1000, write: true } as never;
    expect(aboutEvent(fake(evs), 0, evs[0] as TraceEvent, state)).toEqual({ cell: { section: 'iotlb', key: 'dmar0/4/1/1024' }, group: { section: 'iotlb', group: 'dmar0' } });
    // A DMA of another scenario step does not name the page: the IOMMU's group, no line.
    const other = [evs[0], { ...evs[1], step: 4 }] as TraceEvent[];
    expect(aboutEvent(fake(other), 0, other[0] as TraceEvent, state)).toEqual({ cell: null, group: { section: 'iotlb', group: 'dmar0' } });
  });

  it('a 0x59 fault: the missing PASID entry; an ENQCMD #GP: the vCPU\'s IA32_PASID or the missing translation', () => {
    const fault = { ...base, kind: 'fault', source: 'iommu', reason: 0x59, name: 'x', rid: '00:02.0', pasid: 5, addr: 0, vm: null } as TraceEvent;
    expect(aboutEvent(fake([fault]), 0, fault, emptyState())).toEqual({ cell: { section: 'pasid', key: '00:02.0/5' }, group: { section: 'pasid', group: '00:02.0' } });
    const enq = { ...base, seq: 0, kind: 'enqcmd', vm: 'vm0', vcpu: 1, rid: '00:02.0', wq: 'wq1', msr: null, pasid: null, gp: true } as TraceEvent;
    const gp = { ...base, seq: 1, kind: 'fault', source: 'cpu', reason: 13, name: '#GP', rid: '00:02.0', pasid: null, addr: null, vm: 'vm0' } as TraceEvent;
    expect(aboutEvent(fake([enq, gp]), 1, gp, emptyState()).cell).toEqual({ section: 'vcpu', key: 'vm0/1' });
    const miss = { ...gp, pasid: 7 } as TraceEvent;
    expect(aboutEvent(fake([enq, miss]), 1, miss, emptyState()).cell).toEqual({ section: 'cpu-pasid', key: 'vm0/7' });
  });
});

describe('scenario steps by index', () => {
  it('set-up steps first, then each thread in name order; -1, out of range and generated scenarios have none', () => {
    const sc = { name: 'x', description: '', platform: { iommus: [], devices: [] }, steps: [{ op: 'a' }, { op: 'b' }], threads: { t10: [{ op: 'z' }], t2: [{ op: 'c' }, { op: 'd' }] } } as unknown as Scenario;
    expect(stepAt(sc, 1)).toEqual({ step: { op: 'b' }, thread: null });
    expect(stepAt(sc, 2)).toEqual({ step: { op: 'c' }, thread: 't2' });
    expect(stepAt(sc, 4)).toEqual({ step: { op: 'z' }, thread: 't10' });
    expect(stepAt(sc, 5)).toBeNull();
    expect(stepAt(sc, -1)).toBeNull();
    expect(stepAt({ ...sc, generate: { builder: 'stress', params: { scale: 10 } } }, 0)).toBeNull();
  });
});

describe('jump list and breakpoints', () => {
  it('records jumps, goes back and forward, forgets the forward list on a new jump', () => {
    const j = new JumpList();
    j.record(0, 40);
    j.record(40, 26);
    expect(j.older(26)).toBe(40);
    expect(j.older(40)).toBe(0);
    expect(j.older(0)).toBeNull();
    expect(j.newer(0)).toBe(40);
    j.record(40, 7);
    expect(j.newer(7)).toBeNull();
    expect(j.older(7)).toBe(40);
  });

  it('between two events of a play frame: the first hit in the direction of travel, index and scanned alike', () => {
    const evs = Array.from({ length: 10 }, (_, i) => ({ ...base, seq: i, kind: i === 6 ? 'fault' : i === 3 ? 'dma' : 'notify' })) as TraceEvent[];
    const r = { ...fake(evs), faults: [6], violations: [] } as Replayer;
    const b = new Breakpoints();
    expect(b.between(r, 0, 9)?.n).toBe(6);
    expect(b.add('dma')).toMatchObject({ id: 2, text: 'dma' });
    expect(b.between(r, 0, 9)?.n).toBe(3);
    expect(b.between(r, 9, 0)?.n).toBe(6);
    expect(b.between(r, 5, 0)?.n).toBe(3);
    expect(b.between(r, 3, 0)).toBeNull();
    expect(b.add('  ')).toMatch(/needs an expression/);
    expect(b.add('any fault')).toBe(b.list[0]);
  });

  it('wrap keeps every character, breaks at blanks, indents continuation lines', () => {
    const text = 'the IOMMU recorded fault reason 0x59 for RID 00:02.0 and PASID 5';
    const lines = wrap(text, 20, 2);
    expect(lines.every((l) => l.length <= 20)).toBe(true);
    expect(lines.map((l, i) => (i ? l.slice(2) : l)).join(' ').replace(/\s+/g, ' ')).toBe(text);
  });
});
