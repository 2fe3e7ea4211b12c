// Threads in scenarios (issue 13 §1): schedules, sched events, yield points,
// the waits (an unbound $ref, a lock, a translation in flight), and a
// threaded trace that replays its own schedule byte for byte.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../engine/run.js';
import type { Scenario } from '../engine/scenario.js';
import { scheduleOf, ScheduleError } from '../engine/threads.js';
import type { TraceEvent } from '../engine/types.js';
import { validateScenario } from '../engine/validate.js';
import { recordToFile } from '../recorder/record.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';

const events = (sc: Scenario, opts: Parameters<typeof run>[1] = {}): TraceEvent[] => [...run(sc, opts)];
const sched = (evs: TraceEvent[]) => evs.filter((e) => e.kind === 'sched');

function tiny(threads: Scenario['threads'], steps: Scenario['steps'] = []): Scenario {
  return validateScenario({
    name: 'tiny', description: 'threads',
    variants: { locking: { 'check-then-charge': 'racy', atomic: 'fixed' } },
    platform: { hosts: [{ id: 'host0', capacity: 64, systemQuota: 16 }], iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0', ats: true }], memory: [{ owner: 'p', base: 1048576, size: 65536 }] },
    steps,
    threads,
  }, 'tiny');
}

describe('threads and schedules', () => {
  it('a threaded scenario runs its set-up, then one sched event per decision; events carry their thread', () => {
    const sc = loadScenario('race-quota');
    const evs = events(sc, { variant: { locking: 'atomic' } });
    const setup = evs.filter((e) => e.step < sc.steps.length);
    expect(setup.every((e) => e.thread === undefined)).toBe(true);
    const s = sched(evs);
    expect(s.map((e) => e.kind === 'sched' && e.thread)).toEqual(['vcpu0', 'vcpu1']);
    expect(s[0]).toMatchObject({ runnable: ['vcpu0', 'vcpu1'], at: 'step' });
    const threaded = evs.filter((e) => e.step >= sc.steps.length);
    expect(threaded.every((e) => e.thread === 'vcpu0' || e.thread === 'vcpu1')).toBe(true);
    // the second allocation is refused: atomic check and charge
    expect(threaded.filter((e) => e.kind === 'kcall').map((e) => e.kind === 'kcall' && e.errno)).toEqual([null, 'ENOSPC']);
  });

  it('round-robin by default; --schedule is followed, then round-robin', () => {
    const sc = loadScenario('race-quota');
    const rr = scheduleOf(events(sc));
    expect(rr).toEqual(['vcpu0', 'vcpu1', 'vcpu0', 'vcpu1']);
    const given = events(sc, { schedule: ['vcpu0', 'vcpu0'] });
    // vcpu0 checks and charges; vcpu1's check then fails at once (ENOSPC, no yield)
    expect(scheduleOf(given)).toEqual(['vcpu0', 'vcpu0', 'vcpu1']);
    // serialised, the racy variant is clean; interleaved at the yield point, the set ends over its quota
    expect(given.some((e) => e.kind === 'violation')).toBe(false);
    expect(events(sc).filter((e) => e.kind === 'violation').map((e) => e.kind === 'violation' && e.invariant)).toEqual(['quota-overrun']);
  });

  it('a schedule naming a thread that cannot run is refused with what can', () => {
    const sc = loadScenario('race-quota');
    expect(() => events(sc, { schedule: ['vcpu0', 'vcpu0', 'vcpu0'] })).toThrow(ScheduleError);
    expect(() => events(sc, { schedule: ['vcpu0', 'vcpu0', 'vcpu0'] })).toThrow(/position 3: thread vcpu0 cannot run there \(runnable: vcpu1/);
    expect(() => events(sc, { schedule: ['nobody'] })).toThrow(/no thread "nobody"/);
  });

  it('a step waits for a $ref another thread binds; nothing runnable ends the run with a blocked sched event', () => {
    const sc = tiny({
      a: [{ op: 'ioasid-alloc', set: 'system', owner: 'p', min: '$y', as: 'x' }],
      b: [{ op: 'ioasid-alloc', set: 'system', owner: 'p', as: 'mine' }, { op: 'ioasid-alloc', set: 'system', owner: 'p', min: '$x', as: 'y' }],
    });
    const evs = events(sc);
    const last = evs[evs.length - 1];
    expect(sched(evs).map((e) => e.kind === 'sched' && e.thread)).toEqual(['b', 'b', null]);
    expect(last).toMatchObject({ kind: 'sched', thread: null, at: 'blocked: a waits for $y; b waits for $x' });
    const ok = tiny({
      a: [{ op: 'ioasid-alloc', set: 'system', owner: 'p', min: '$mine' }],
      b: [{ op: 'ioasid-alloc', set: 'system', owner: 'p', as: 'mine' }],
    });
    // a cannot start before b bound $mine (each allocation yields once under check-then-charge)
    expect(scheduleOf(events(ok))).toEqual(['b', 'b', 'a', 'a']);
  });

  it('yield points: the FREE chain, the workqueue, the quota check, the DMA walk; outside a thread the same steps are atomic', () => {
    const sc = loadScenario('race-free-while-bound');
    const evs = events(sc);
    const ats = sched(evs).map((e) => (e.kind === 'sched' ? e.at : ''));
    expect(ats.some((a) => a.startsWith('exit_mm() -> ioasid_free(): FREE delivered to iommu-driver (#0)'))).toBe(true);
    expect(ats.some((a) => a.startsWith('exit_mm() -> ioasid_free(): FREE delivered to kvm (#1)'))).toBe(true);
    expect(ats).toContain('dma: translation walked, IOTLB/ATC not yet filled');
  });

  it('an invalidation waits while a DMA has walked and not filled: the fill lands before it', () => {
    const sc = tiny({
      dev: [{ op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 4194304, write: true }],
      drv: [{ op: 'pt-unmap', root: 4096, addr: 4194304, size: 4096 }, { op: 'inval-iotlb', iommu: 'dmar0', granularity: 'global' }, { op: 'inval-atc', rid: '00:02.0', granularity: 'all' }],
    }, [
      { op: 'pt-map', root: 4096, owner: 'p', addr: 4194304, pa: 1048576, size: 4096 },
      { op: 'sva-bind', rid: '00:02.0', owner: 'p', root: 4096, as: 'pa' },
    ]);
    // dev walks and yields; drv unmaps; the IOTLB invalidation cannot run while dev's fill is pending
    const evs = events(sc, { schedule: ['dev', 'drv'] });
    const s = sched(evs).map((e) => (e.kind === 'sched' ? [e.thread, e.runnable] : []));
    expect(s[2]).toEqual(['dev', ['dev']]);
    expect(() => events(sc, { schedule: ['dev', 'drv', 'drv'] })).toThrow(/invalidation waits for dev's translation in flight/);
    // the fill came before the invalidations, which drop it: no stale line is ever used
    expect(evs.some((e) => e.kind === 'violation')).toBe(false);
    const kinds = evs.filter((e) => e.step >= 2).map((e) => e.kind);
    expect(kinds.indexOf('iotlb-fill')).toBeLessThan(kinds.indexOf('iotlb-inval'));
  });

  it('VDEVICE_ALLOC: two allocations of one device serialise on idev->igroup->lock', () => {
    const base = loadScenario('race-vdevice-alias');
    const sc = validateScenario({ ...base, threads: {
      x: [{ op: 'ioctl', cmd: 'IOMMU_VDEVICE_ALLOC', args: { viommu_id: '$viommu', dev_id: '$dev0', virt_id: 16 } }],
      y: [{ op: 'ioctl', cmd: 'IOMMU_VDEVICE_ALLOC', args: { viommu_id: '$viommu', dev_id: '$dev0', virt_id: 17 } }],
    } }, 'lock');
    const evs = events(sc, { schedule: ['x', 'y'] });
    const ats = sched(evs).map((e) => (e.kind === 'sched' ? `${e.thread}: ${e.at}` : ''));
    expect(ats[1]).toBe('y: step');
    expect(ats[2]).toMatch(/^x: iommufd_vdevice_alloc_ioctl\(\): vDEVICE allocated/);
    // y found the lock held and waits; only x can run until it lets go
    expect(sched(evs)[2]).toMatchObject({ runnable: ['x'] });
    const ioctls = evs.filter((e) => e.kind === 'ioctl').map((e) => e.kind === 'ioctl' && e.errno);
    expect(ioctls.slice(-2)).toEqual([null, 'EEXIST']);
  });

  it('validation: thread names, threads of steps, refs bound in another thread', () => {
    const doc = (threads: unknown) => ({ name: 'x', description: '', platform: { iommus: [], devices: [] }, steps: [], threads });
    expect(() => validateScenario(doc({ 'a,b': [] }), 'x')).toThrow(/threads\.a,b.*thread name/);
    expect(() => validateScenario(doc({ a: {} }), 'x')).toThrow(/threads\.a.*expected an array/);
    expect(() => validateScenario(doc({ a: [{ op: 'nope' }] }), 'x')).toThrow(/threads\.a\[0\]\.op/);
    expect(() => validateScenario(doc({ a: [{ op: 'process-exit', owner: 'p', as: 'n' }], b: [{ op: 'ioasid-free', pasid: '$n' }] }), 'x')).not.toThrow();
    expect(() => validateScenario(doc({ b: [{ op: 'ioasid-free', pasid: '$n' }] }), 'x')).toThrow(/"\$n" is not bound/);
  });
});

describe('a threaded trace replays its own schedule', () => {
  it('record under a schedule; the trace\'s sched events give that schedule back; re-recording it is byte-identical', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotrace-threads-'));
    const sc = loadScenario('race-free-while-bound');
    const schedule = ['exit', 'exit', 'exit', 'procb', 'procb', 'device', 'kworker'];
    const a = join(dir, 'a.iotrace');
    recordToFile(sc, { schedule }, a);
    const r = TraceReplayer.open(a);
    let recorded: string[];
    try {
      const evs: TraceEvent[] = [];
      for (let i = 0; i < r.count; i++) evs.push(r.event(i));
      recorded = scheduleOf(evs);
      expect(evs.some((e) => e.kind === 'violation' && e.invariant === 'entry-outlives-ioasid')).toBe(true);
      expect(evs.find((e) => e.kind === 'dma' && e.thread === 'device')).toBeDefined();
    } finally { r.close(); }
    expect(recorded.slice(0, schedule.length)).toEqual(schedule);
    const b = join(dir, 'b.iotrace');
    recordToFile(sc, { schedule: recorded }, b);
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
  });
});
