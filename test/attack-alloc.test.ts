// Small inputs, huge costs (issue 12), on the allocators: each allocation
// used to scan what was allocated before it (outstanding() over every IOASID
// for the quota, findFree() over the PASID space, nextId() over every
// iommufd object, freeSid() and capacityAvail() over every set, sorted), and
// the quota invariant did so once per set after every step (and the
// entry-outlives-IOASID invariant once per binding, scanning the deferred
// work for each): 4000
// `ioasid-alloc` steps took 3 s, 20 000 (a 1 MB scenario) did not finish in
// two minutes, 10 000 IOMMU_IOAS_ALLOC took 16 s. With the allocators'
// indexes (engine/indexes.ts) each costs O(log n). No timing assertions:
// these only have to finish, within the suite's own timeout.
import { describe, expect, it } from 'vitest';
import { RunSession } from '../engine/run.js';
import type { Step } from '../engine/scenario.js';
import type { TraceEvent } from '../engine/types.js';
import { validateScenario } from '../engine/validate.js';
import { VTD } from './engine/helpers.js';

function runSteps(steps: Step[], platform = VTD): { events: number; last: TraceEvent[] } {
  const session = new RunSession(validateScenario({ name: 'attack-alloc', description: 'd', platform, steps }, 'attack-alloc'));
  let events = 0;
  let last: TraceEvent[] = [];
  while (session.next()) { events += session.out.length; last = [...session.out]; }
  return { events, last };
}

describe('allocation costs O(log n), not a scan of what is allocated', () => {
  it('20 000 ioasid-alloc steps (lowest free): every one allocates, the last gets PASID 20 000', () => {
    const { events, last } = runSteps(Array.from({ length: 20_000 }, () => ({ op: 'ioasid-alloc', set: 'system', owner: 'proc-a' })));
    expect(events).toBe(1 + 2 * 20_000);
    expect(last.find((e) => e.kind === 'ioasid-alloc')).toMatchObject({ pasid: 20_000 });
  });

  it('20 000 ioasid-alloc steps under the cyclic allocator, alternating with frees of the lowest', () => {
    const steps: Step[] = [{ op: 'ioasid-config', policy: 'cyclic' }];
    for (let i = 0; i < 10_000; i++) steps.push({ op: 'ioasid-alloc', set: 'system', owner: 'proc-a' }, { op: 'ioasid-free', pasid: i + 1 });
    const { last } = runSteps(steps);
    expect(last.some((e) => e.kind === 'ioasid-free' && e.pasid === 10_000)).toBe(true);
  });

  it('20 000 ioasid-set-alloc steps (each a set ID and the capacity available)', () => {
    const { events, last } = runSteps(Array.from({ length: 20_000 }, (_, i) => ({ op: 'ioasid-set-alloc', set: `s${i}`, quota: 0, token: `t${i}` })));
    expect(events).toBe(1 + 2 * 20_000);
    // sid 0 is the system set's
    expect(last.find((e) => e.kind === 'ioasid-set')).toMatchObject({ sid: 20_000 });
  });

  it('10 000 IOMMU_IOAS_ALLOC steps: the last IOAS is object 10 000', () => {
    const { events, last } = runSteps(Array.from({ length: 10_000 }, () => ({ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC' })));
    expect(events).toBe(1 + 2 * 10_000);
    expect(last.find((e) => e.kind === 'iommufd-obj')).toMatchObject({ op: 'alloc', id: 10_000 });
  });

  it('20 000 sva-bind steps of distinct processes on one device: the entry-outlives-IOASID invariant after each looks at the stale bindings only', () => {
    // It sorted every binding and, for each, scanned the deferred work: 4000 binds took 14 s.
    const { last } = runSteps(Array.from({ length: 20_000 }, (_, i) => ({ op: 'sva-bind', rid: '00:02.0', owner: `p${i}`, root: 0x1000 })));
    expect(last.find((e) => e.kind === 'bind')).toMatchObject({ pasid: 20_000, owner: 'p19999' });
  });

  it('close of an iommufd holding 10 000 IOAS: each leaf found at once, not by a pass over every object (26.8 s before)', () => {
    const steps: Step[] = Array.from({ length: 10_000 }, () => ({ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC' }));
    steps.push({ op: 'close', fd: 'iommufd' });
    const { last } = runSteps(steps);
    const destroyed = last.filter((e) => e.kind === 'iommufd-obj' && e.op === 'destroy').map((e) => (e as { id: number }).id);
    expect(destroyed.length).toBe(10_000);
    expect(destroyed.slice(0, 2)).toEqual([10_000, 9_999]);
  });

  it('10 000 VFIO_DEVICE_BIND_IOMMUFD of a bound device beside 10 000 objects: each finds the DEVICE by its RID, not by sorting every object (8000 steps took 6 s)', () => {
    const steps: Step[] = Array.from({ length: 10_000 }, () => ({ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC' }));
    for (let i = 0; i < 10_000; i++) steps.push({ op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' } });
    const { last } = runSteps(steps);
    expect(last.find((e) => e.kind === 'ioctl')).toMatchObject({ cmd: 'VFIO_DEVICE_BIND_IOMMUFD', errno: 'EINVAL' });
  });

  it('the quota invariant after each of 10 000 uncharged allocations past a quota: reported once', () => {
    const steps: Step[] = [{ op: 'ioasid-set-alloc', set: 'small', quota: 1, token: 't' }];
    for (let i = 0; i < 10_000; i++) steps.push({ op: 'ioasid-alloc', set: 'small', owner: 'proc-a', uncharged: true });
    const session = new RunSession(validateScenario({ name: 'attack-alloc', description: 'd', platform: VTD, steps }, 'attack-alloc'));
    let violations = 0;
    while (session.next()) violations += session.out.filter((e) => e.kind === 'violation' && e.invariant === 'quota-overrun').length;
    expect(violations).toBe(1);
  });
});

describe('a wide pt-unmap costs what it clears, not a pass over every table', () => {
  it('20 000 wide unmaps of an empty range beside a full table of 65 536 entries, then one that clears it (each scanned all 65 536: 1000 took 32 s)', () => {
    const steps: Step[] = [{ op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: 0, pa: 0x100000, size: 65_536 * 4096 }];
    for (let i = 0; i < 20_000; i++) steps.push({ op: 'pt-unmap', root: 0x1000, addr: 0x40000000, size: 1024 * 4096 });
    steps.push({ op: 'pt-unmap', root: 0x1000, addr: 0, size: 65_536 * 4096 });
    const { last } = runSteps(steps);
    const cleared = last.filter((e) => e.kind === 'pt-write');
    expect(cleared.length).toBe(65_536);
    expect(cleared[0]).toMatchObject({ page: 0, after: null });
  });
});
