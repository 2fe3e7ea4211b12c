import { describe, expect, it } from 'vitest';
import { errnos, events, ofKind, procA, procB, scenario, stateOf } from './helpers.js';

describe('IOASID allocator (seed 001)', () => {
  it('sets with quotas: ENOSPC past quota, EEXIST for a duplicate token, EINVAL shrinking below outstanding', () => {
    const evs = events([
      { op: 'ioasid-set-alloc', set: 'vm0', quota: 2, token: 'kvm-vm0', expect: 'ok' },
      { op: 'ioasid-set-alloc', set: 'vm0b', quota: 2, token: 'kvm-vm0', expect: 'EEXIST' },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', expect: 'ok' },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', expect: 'ok' },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', expect: 'ENOSPC' },
      { op: 'ioasid-set-quota', set: 'vm0', quota: 1, expect: 'EINVAL' },
      { op: 'ioasid-set-quota', set: 'vm0', quota: 3, expect: 'ok' },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', expect: 'ok' },
      { op: 'ioasid-find-set', pasid: 2, expectSet: 'vm0', expect: 'ok' },
      { op: 'ioasid-find-set', pasid: 99, expect: 'ENOENT' },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    expect(errnos(evs)).toEqual([null, 'EEXIST', null, null, 'ENOSPC', 'EINVAL', null, null, null, 'ENOENT']);
  });

  it('ENOSPC when a set would exceed the installed capacity', () => {
    const s = scenario([{ op: 'ioasid-set-alloc', set: 'big', quota: 10, expect: 'ENOSPC' }], {
      platform: { hosts: [{ id: 'h', capacity: 8 }], iommus: [{ id: 'dmar0', kind: 'vtd', host: 'h' }], devices: [] },
    });
    expect(ofKind(events(s), 'expect')).toEqual([]);
  });

  it('freeing a set frees every IOASID and notifies FREE to the IOMMU driver, then KVM', () => {
    const evs = events([
      { op: 'ioasid-set-alloc', set: 'vm0', quota: 4 },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', as: 'a' },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', as: 'b' },
      { op: 'ioctl', cmd: 'KVM_SET_PASID_MAPPING', args: { vm: 'vm0', gpasid: 7, hpasid: '$a' } },
      { op: 'ioasid-set-free', set: 'vm0', expect: 'ok' },
    ]);
    const n = ofKind(evs, 'notify');
    expect(n.map((x) => `${x.event} ${x.pasid} ${x.subscriber}`)).toEqual(['FREE 1 iommu-driver', 'FREE 1 kvm', 'FREE 2 iommu-driver', 'FREE 2 kvm']);
    const st = stateOf(evs);
    expect(Object.keys(st.s.ioasid)).toEqual([]);
    expect(Object.keys(st.s['cpu-pasid'])).toEqual([]);
    expect(st.s['ioasid-set']['host0/vm0']).toBeUndefined();
  });

  it('lowest-free reuses a freed PASID at once; cyclic moves on', () => {
    const steps = (policy: string) => [
      { op: 'ioasid-config', policy },
      { op: 'ioasid-alloc', set: 'system', owner: 'a', as: 'a' },
      { op: 'ioasid-free', pasid: '$a' },
      { op: 'ioasid-alloc', set: 'system', owner: 'b' },
    ];
    expect(ofKind(events(steps('lowest')), 'ioasid-alloc').map((e) => e.pasid)).toEqual([1, 1]);
    expect(ofKind(events(steps('cyclic')), 'ioasid-alloc').map((e) => e.pasid)).toEqual([1, 2]);
  });

  it('GLOBAL mode with GLOBAL_MIN: local PASIDs below it, global ones allocated above it', () => {
    const evs = events([
      { op: 'device-assign', rid: '00:02.0', vm: 'vm0' },
      { op: 'ioctl', cmd: 'IOASID_SET_HWID_MODE', args: { mode: 'IOASID_HWID_GLOBAL' } },
      { op: 'ioctl', cmd: 'IOASID_HWID_SET_GLOBAL_MIN', args: { global_min: 1024 } },
      { op: 'ioctl', cmd: 'IOASID_ALLOC', as: 'io' },
      { op: 'ioctl', cmd: 'VFIO_ATTACH_IOASID', args: { dev: '00:02.0', ioasid: '$io' } },
      { op: 'ioctl', cmd: 'IOASID_SET_HWID', args: { ioasid: '$io', pasid: 2000 }, expect: 'EINVAL' },
      { op: 'ioctl', cmd: 'IOASID_SET_HWID', args: { ioasid: '$io', pasid: 5 }, as: 'g', expect: 'ok' },
      { op: 'ioctl', cmd: 'IOASID_BIND_PGTABLE', args: { ioasid: '$io', gpa: 0x4000 }, expect: 'ok' },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    expect(ofKind(evs, 'ioasid-alloc').map((e) => e.pasid)).toEqual([1024]);
    // Without ENQCMD both the local and the global entry are installed.
    expect(ofKind(evs, 'pasid-write').map((e) => e.pasid)).toEqual([1024, 5]);
  });
});

describe('free while bound (seed 001)', () => {
  const base = (policy: string) => [
    ...procA, ...procB,
    { op: 'ioasid-config', policy },
    { op: 'sva-bind', rid: '00:02.0', owner: 'proc-a', root: 0x1000, as: 'pa' },
    { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400000 },
    { op: 'process-exit', owner: 'proc-a' },
    { op: 'sva-bind', rid: '00:03.0', owner: 'proc-b', root: 0x2000, as: 'pb' },
    { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400000, note: 'proc-a\'s descriptor still queued on the device' },
  ];

  it('lowest + deferred clean-up: the PASID is reused while the old entry remains: two violations', () => {
    const evs = events(base('lowest'));
    expect(ofKind(evs, 'violation').map((v) => v.invariant)).toEqual(['entry-outlives-ioasid', 'wrong-address-space']);
  });

  it('cyclic + deferred clean-up: no reuse in the window; the clean-up runs later; no violation', () => {
    const evs = events([...base('cyclic'), { op: 'run-deferred' }, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400000 }]);
    expect(ofKind(evs, 'violation')).toEqual([]);
    expect(ofKind(evs, 'deferred').map((d) => d.op)).toEqual(['queue', 'run']);
    expect(ofKind(evs, 'fault').map((f) => f.reason)).toEqual([0x59]);
  });

  it('a present entry whose IOASID was freed with no clean-up pending is a violation', () => {
    const evs = events([...procA, { op: 'sva-bind', rid: '00:02.0', owner: 'proc-a', root: 0x1000, as: 'pa' },
      { op: 'ioasid-free', pasid: '$pa' }, { op: 'run-deferred' }, { op: 'sva-bind', rid: '00:02.0', owner: 'proc-a', root: 0x1000 }]);
    expect(ofKind(evs, 'violation')).toEqual([]);
  });

  it('quota overrun: an uncharged allocation path breaks the set quota', () => {
    const bad = events([{ op: 'ioasid-set-alloc', set: 'vm0', quota: 1 }, { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0' }, { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', uncharged: true }]);
    expect(ofKind(bad, 'violation').map((v) => v.invariant)).toEqual(['quota-overrun']);
    const good = events([{ op: 'ioasid-set-alloc', set: 'vm0', quota: 1 }, { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0' }, { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0' }]);
    expect(ofKind(good, 'violation')).toEqual([]);
  });
});
