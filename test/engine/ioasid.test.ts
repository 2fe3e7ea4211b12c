import { describe, expect, it } from 'vitest';
import { errnos, events, ofKind, procA, procB, scenario, stateOf } from './helpers.js';

describe('IOASID allocator (seed 001)', () => {
  // Rules: drivers/iommu/ioasid.c of the 2020 IOASID series, v1 (seed 001) unless the host says v2.
  it('v1: sets with quotas: ENOSPC past quota, no token check, EINVAL shrinking below outstanding', () => {
    const evs = events([
      { op: 'ioasid-set-alloc', set: 'vm0', quota: 2, token: 'kvm-vm0', expect: 'ok' },
      { op: 'ioasid-set-alloc', set: 'vm0b', quota: 2, token: 'kvm-vm0', expect: 'ok' },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', expect: 'ok' },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', expect: 'ok' },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', expect: 'ENOSPC' },
      { op: 'ioasid-set-quota', set: 'vm0', quota: 1, expect: 'EINVAL' },
      { op: 'ioasid-set-quota', set: 'vm0', quota: 3, expect: 'ok' },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', expect: 'ok' },
      { op: 'ioasid-find-set', pasid: 2, expectSet: 'vm0', expect: 'ok' },
      { op: 'ioasid-find-set', pasid: 2, expectSet: 'vm0b', expect: 'EACCES' },
      { op: 'ioasid-find-set', pasid: 99, expect: 'ENOENT' },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    expect(errnos(evs)).toEqual([null, null, null, null, 'ENOSPC', 'EINVAL', null, null, null, 'EACCES', 'ENOENT']);
    expect(ofKind(evs, 'ioasid-set').map((e) => [e.set, e.sid])).toEqual([['vm0', 1], ['vm0b', 2], ['vm0', 1]]);
  });

  it('v2: a duplicate MM token is EEXIST, a NULL-type set takes no token, quota 0 is EINVAL', () => {
    const evs = events([
      { op: 'ioasid-config', revision: 'v2' },
      { op: 'ioasid-set-alloc', set: 'vm0', quota: 2, token: 'kvm-vm0', expect: 'ok' },
      { op: 'ioasid-set-alloc', set: 'vm0b', quota: 2, token: 'kvm-vm0', expect: 'EEXIST' },
      { op: 'ioasid-set-alloc', set: 'n', quota: 2, token: 'x', type: 'null', expect: 'EINVAL' },
      { op: 'ioasid-set-alloc', set: 'n', quota: 2, type: 'null', expect: 'ok' },
      { op: 'ioasid-set-alloc', set: 'z', quota: 0, token: 'z', expect: 'EINVAL' },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    expect(stateOf(evs).s['ioasid-set']['host0/n']).toEqual({ quota: 2, token: '', sid: 2, type: 'null' });
  });

  it('ioasid_free(): FREE goes down the chain before the IOASID returns to the allocator; an unknown one is left alone', () => {
    const evs = events([
      { op: 'ioasid-set-alloc', set: 'vm0', quota: 4 },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', as: 'a' },
      { op: 'ioasid-free', pasid: '$a', expect: { out: { freed: true } } },
      { op: 'ioasid-free', pasid: '$a', expect: { out: { freed: false, reason: 'unknown IOASID' } } },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    const order = evs.filter((e) => e.kind === 'notify' || e.kind === 'ioasid-free').map((e) => (e.kind === 'notify' ? `notify ${e.subscriber}` : 'free'));
    expect(order).toEqual(['notify iommu-driver', 'notify kvm', 'free']);
  });

  it('v2: ioasid_free() of another set\'s IOASID does nothing; v1 has no such check', () => {
    const steps = (revision: string) => [
      { op: 'ioasid-config', revision },
      { op: 'ioasid-set-alloc', set: 'vm0', quota: 4 },
      { op: 'ioasid-set-alloc', set: 'vm1', quota: 4 },
      { op: 'ioasid-alloc', set: 'vm0', owner: 'vm0', as: 'a' },
      { op: 'ioasid-free', pasid: '$a', set: 'vm1' },
    ];
    expect(ofKind(events(steps('v2')), 'ioasid-free')).toHaveLength(0);
    expect(ofKind(events(steps('v1')), 'ioasid-free')).toHaveLength(1);
  });

  it('ioasid-config refuses an unknown revision or policy', () => {
    const evs = events([{ op: 'ioasid-config', revision: 'v9', expect: 'EINVAL' }, { op: 'ioasid-config', policy: 'random', expect: 'EINVAL' }]);
    expect(ofKind(evs, 'expect')).toEqual([]);
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

describe('KVM WBINVD and the kvm-vfio device (seed 003)', () => {
  const platform = {
    iommus: [{ id: 'coh', kind: 'vtd' as const, snoopControl: true }, { id: 'noncoh', kind: 'vtd' as const, snoopControl: false }],
    devices: [{ rid: '00:05.0', iommu: 'noncoh', noSnoop: true }, { rid: '00:06.0', iommu: 'coh', noSnoop: true }],
    vms: [{ id: 'vm0' }],
  };
  const attach = (rid: string, as: string) => [
    { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: rid }, as: `${as}d` },
    { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: `$${as}d`, pt_id: '$ioas' }, as: `${as}h` },
    { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: rid, pt_id: `$${as}h` } },
  ];
  const run = (steps: object[]) => events(scenario(steps as never, { platform }));

  it('KVM decides at KVM_DEV_VFIO_FILE_ADD / FILE_DEL from the IOMMU\'s snoop control, never at attach or detach', () => {
    const evs = run([
      { op: 'device-assign', rid: '00:05.0', vm: 'vm0' },
      { op: 'ioctl', cmd: 'KVM_DEV_VFIO_FILE_ADD', args: { vm: 'vm0', dev: '00:05.0' }, expect: 'ok' },
      { op: 'ioctl', cmd: 'KVM_DEV_VFIO_FILE_ADD', args: { vm: 'vm0', dev: '00:05.0' }, expect: 'EEXIST' },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      ...attach('00:05.0', 'a'),
      { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: '00:05.0' } },
      { op: 'ioctl', cmd: 'KVM_DEV_VFIO_FILE_DEL', args: { vm: 'vm0', dev: '00:05.0' }, expect: 'ok' },
      { op: 'ioctl', cmd: 'KVM_DEV_VFIO_FILE_DEL', args: { vm: 'vm0', dev: '00:05.0' }, expect: 'ENOENT' },
      { op: 'ioctl', cmd: 'KVM_DEV_VFIO_FILE_ADD', args: { vm: 'vm0', dev: '00:06.0' }, expect: 'EINVAL' },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    const seq = evs.filter((e) => e.kind === 'kvm-wbinvd' || (e.kind === 'ioctl' && e.errno === null)).map((e) => (e.kind === 'kvm-wbinvd' ? e.wbinvd : e.kind === 'ioctl' ? e.cmd : ''));
    expect(seq.filter((x) => x === 'honour' || x === 'noop')).toEqual(['honour', 'noop']);
    // honour right after the first FILE_ADD, noop right after the FILE_DEL: attach and detach changed nothing.
    expect(seq[seq.indexOf('KVM_DEV_VFIO_FILE_ADD') - 1]).toBe('honour');
    expect(seq[seq.indexOf('KVM_DEV_VFIO_FILE_DEL') - 1]).toBe('noop');
    expect(ofKind(evs, 'violation')).toEqual([]);
  });

  it('noncoherent-dma-without-wbinvd: a no-snoop device attached without PGSNP while KVM was never told', () => {
    const evs = run([
      { op: 'device-assign', rid: '00:05.0', vm: 'vm0' },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      ...attach('00:05.0', 'a'),
      { op: 'ioctl', cmd: 'KVM_DEV_VFIO_FILE_ADD', args: { vm: 'vm0', dev: '00:05.0' } },
    ]);
    const v = ofKind(evs, 'violation');
    expect(v.map((x) => [x.invariant, x.rid])).toEqual([['noncoherent-dma-without-wbinvd', '00:05.0']]);
    expect(v[0]?.detail).toContain('Processing no-snoop without a working wbinvd would be fatal');
    // Adding the file late ends it: WBINVD is honoured from then on.
    expect(ofKind(evs, 'kvm-wbinvd').map((e) => e.wbinvd)).toEqual(['honour']);
  });

  it('a device behind an IOMMU with snoop control gets PGSNP: no violation without any kvm-vfio file', () => {
    const evs = run([
      { op: 'device-assign', rid: '00:06.0', vm: 'vm0' },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      ...attach('00:06.0', 'b'),
    ]);
    expect(ofKind(evs, 'violation')).toEqual([]);
    expect(ofKind(evs, 'kvm-wbinvd')).toEqual([]);
  });
});
