// The device area (engine/iommufd/device.ts, engine/vfio.ts): what a scenario
// file cannot say — which objects exist after a close, which HWPT two devices
// share, the PASID-table entries a replace leaves, and VFIO's PASID-0 quirk.
import { describe, expect, it } from 'vitest';
import type { Step } from '../../engine/scenario.js';
import type { IommufdCell, Platform } from '../../engine/types.js';
import { smmuAttachDevCheck, smmuHasSetDevPasid } from '../../engine/drivers/smmuv3.js';
import { events, ofKind, scenario, stateOf } from './helpers.js';

const unmet = (evs: ReturnType<typeof events>) => ofKind(evs, 'expect').filter((e) => !e.ok);
const types = (evs: ReturnType<typeof events>) => Object.values(stateOf(evs).s.iommufd).map((o) => `${o.id}:${o.type}`).sort();

describe('close() of an iommufd with a bound VFIO device (iommufd_device_bind() holds the context)', () => {
  const setup: Step[] = [
    { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
    { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
    { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$ioas' }, expect: { out: { pt_id: 3 } } },
    { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'spare' },
  ];

  it('releases nothing while the device is bound, everything when its VFIO fd closes', () => {
    const closed = events([...setup, { op: 'close', fd: 'iommufd', expect: 'ok' }]);
    expect(unmet(closed)).toEqual([]);
    expect(types(closed)).toEqual(['1:IOAS', '2:DEVICE', '3:HWPT_PAGING', '4:IOAS']);
    expect(stateOf(closed).s.pasid['00:02.0/0']?.p).toBe(true);
    const unbound = events([...setup, { op: 'close', fd: 'iommufd' }, { op: 'device-unbind', dev: '00:02.0', expect: 'ok' }]);
    expect(unmet(unbound)).toEqual([]);
    expect(types(unbound)).toEqual([]);
    expect(stateOf(unbound).s.pasid['00:02.0/0']).toBeUndefined();
  });

  it('without a bound device the close releases at once; an unbind before the close leaves the fd to its close', () => {
    const evs = events([...setup, { op: 'device-unbind', dev: '00:02.0' }]);
    expect(types(evs)).toEqual(['1:IOAS', '4:IOAS']);
    expect(types(events([...setup, { op: 'device-unbind', dev: '00:02.0' }, { op: 'close', fd: 'iommufd' }]))).toEqual([]);
  });
});

describe('automatic domains (iommufd_device_auto_get_domain())', () => {
  it('two devices behind one IOMMU share the IOAS\'s automatic HWPT; the last detach destroys it', () => {
    const evs = events([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:03.0' } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$ioas' }, expect: { out: { pt_id: 4 } } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:03.0', pt_id: '$ioas' }, expect: { out: { pt_id: 4 } } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: '00:02.0' } },
    ]);
    expect(unmet(evs)).toEqual([]);
    expect(stateOf(evs).s.iommufd['iommufd/4']?.users).toBe(1);
    const after = events([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$ioas' } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: '00:02.0' } },
    ]);
    expect(types(after)).toEqual(['1:IOAS', '2:DEVICE']);
  });

  it('behind a VT-d unit without snoop control only a second-stage domain that forces snooping is refused (paging_domain_compatible_second_stage()); a first-stage automatic domain is reused', () => {
    const platform: Platform = {
      iommus: [{ id: 'sc', kind: 'vtd', snoopControl: true }, { id: 'nosc', kind: 'vtd', snoopControl: false }],
      devices: [{ rid: '00:02.0', iommu: 'sc' }, { rid: '00:03.0', iommu: 'nosc' }],
    };
    const evs = events(scenario([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$ioas' }, expect: { out: { pt_id: 3 } } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:03.0' } },
      // paging_domain_compatible_first_stage() has no snoop-control check: the coherent automatic domain is shared
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:03.0', pt_id: '$ioas' }, expect: { out: { pt_id: 3 } } },
      // a second-stage (DIRTY_TRACKING) HWPT that forces coherency is refused behind `nosc`, taken behind `sc`
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 2 }, as: 'ss' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:03.0', pt_id: '$ss' }, expect: 'EINVAL' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$ss' }, expect: 'ok' },
    ], { platform }));
    expect(unmet(evs)).toEqual([]);
  });

  it('an IOAS attach that cannot succeed creates no object (the aborted HWPT leaves nothing)', () => {
    const evs = events([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pasid: 5, pt_id: '$ioas' }, expect: 'EINVAL' },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', expect: { out: { out_ioas_id: 3 } } },
    ]);
    expect(unmet(evs)).toEqual([]);
    expect(ofKind(evs, 'iommufd-obj').filter((e) => e.type === 'HWPT_PAGING')).toEqual([]);
  });
});

describe('replace (iommufd_device_do_replace())', () => {
  it('rewrites the present entry and flushes the old domain; a failed replace leaves the entry alone', () => {
    const evs = events([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 8 }, as: 'a' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas' }, as: 'b' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$a' } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pasid: 7, pt_id: '$a' } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$b' }, expect: 'EINVAL' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pasid: 7 } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$b' }, expect: 'ok' },
    ]);
    expect(unmet(evs)).toEqual([]);
    const st = stateOf(evs);
    expect(st.s.pasid['00:02.0/0']?.did).toBe(4);
    expect(st.s.iommufd['iommufd/3']?.users).toBe(0);
    const writes = ofKind(evs, 'pasid-write').filter((e) => e.pasid === 0);
    expect(writes.map((e) => [e.before?.did ?? null, e.after?.did ?? null])).toEqual([[null, 3], [3, 4]]);
    expect(ofKind(evs, 'iotlb-inval').some((e) => e.did === 3 && e.pasid === 0)).toBe(true);
  });
});

describe('VFIO bookkeeping beside iommufd\'s (vdev->iommufd_attached, vdev->pasids)', () => {
  it('a PASID attach with pasid 0 is IOMMU_NO_PASID to iommufd: EBUSY once the RID is attached', () => {
    const evs = events([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 8 }, as: 'a' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$a' } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pasid: 0, pt_id: '$a' }, expect: 'EBUSY' },
    ]);
    expect(unmet(evs)).toEqual([]);
  });

  it('the RID attached through the PASID-0 path is not VFIO\'s RID attachment: a plain attach is a second iommufd attach, EBUSY', () => {
    const evs = events([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 8 }, as: 'a' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pasid: 0, pt_id: '$a' }, expect: 'ok' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$a' }, expect: 'EBUSY' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: '00:02.0' }, expect: 'ok' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pasid: 0 }, expect: 'ok' },
    ]);
    expect(unmet(evs)).toEqual([]);
    const st = stateOf(evs);
    expect(st.s.pasid['00:02.0/0']).toBeUndefined();
    expect(st.s.iommufd['iommufd/3']?.users).toBe(0);
  });

  it('a device bound in one iommufd cannot be bound in another; attach and detach act in the one it is bound to', () => {
    const evs = events([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', fd: 'b', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0', iommufd: 'b' }, expect: { out: { out_devid: 2 } } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, expect: 'EINVAL' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$ioas' }, expect: { out: { pt_id: 3 } } },
    ]);
    expect(unmet(evs)).toEqual([]);
    expect(Object.keys(stateOf(evs).s.iommufd).sort()).toEqual(['b/1', 'b/2', 'b/3']);
  });
});

describe('calls across areas (H9): the context, dirty bits, driver ops', () => {
  it('the last of {device-unbind, eventq-close} releases a closed iommufd (iommufd_device_destroy() and iommufd_eventq_fops_release() each put a context reference)', () => {
    const base: Step[] = [
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
      { op: 'ioctl', cmd: 'IOMMU_FAULT_QUEUE_ALLOC', as: 'fault' },
      { op: 'close', fd: 'iommufd', expect: 'ok' },
    ];
    const unbindFirst = events([...base, { op: 'device-unbind', dev: '00:02.0', expect: 'ok' }]);
    expect(unmet(unbindFirst)).toEqual([]);
    expect(types(unbindFirst)).toEqual(['1:IOAS', '3:FAULT']);
    const thenClose = events([...base, { op: 'device-unbind', dev: '00:02.0' }, { op: 'eventq-close', queue: '$fault', expect: 'ok' }]);
    expect(unmet(thenClose)).toEqual([]);
    expect(types(thenClose)).toEqual([]);
    const closeFirst = events([...base, { op: 'eventq-close', queue: '$fault' }]);
    expect(types(closeFirst)).toEqual(['1:IOAS', '2:DEVICE', '3:FAULT']);
    expect(types(events([...base, { op: 'eventq-close', queue: '$fault' }, { op: 'device-unbind', dev: '00:02.0' }]))).toEqual([]);
  });

  it('an IOAS unmap takes the dirty bits of the unmapped pages out of every table over it (iopt_unmap_iova_range())', () => {
    const steps: Step[] = [
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_MAP', args: { ioas_id: '$ioas', user_va: 0x80000000, iova: 0x100000, length: 0x4000, flags: 7 } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 2 }, as: 'h' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$h' } },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_SET_DIRTY_TRACKING', args: { hwpt_id: '$h', flags: 1 } },
      { op: 'dma', rid: '00:02.0', addr: 0x101000, write: true },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_UNMAP', args: { ioas_id: '$ioas', iova: 0x100000, length: 0x4000 }, expect: 'ok' },
    ];
    const evs = events(steps);
    expect(unmet(evs)).toEqual([]);
    expect(ofKind(evs, 'dirty').filter((e) => e.step === 7).map((e) => [e.page, e.dirty])).toEqual([[0x101, false]]);
    expect(stateOf(evs).s.dirty).toEqual({});
    // mapped again, the page reads clean: no stale bit from before the unmap
    const again = events([...steps,
      { op: 'ioctl', cmd: 'IOMMU_IOAS_MAP', args: { ioas_id: '$ioas', user_va: 0x80000000, iova: 0x100000, length: 0x4000, flags: 7 } },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_GET_DIRTY_BITMAP', args: { hwpt_id: '$h', iova: 0x100000, length: 0x4000, page_size: 0x1000 }, expect: 'ok' },
    ]);
    expect(unmet(again)).toEqual([]);
    expect(ofKind(again, 'dirty').filter((e) => e.step === steps.length + 1)).toEqual([]);
  });

  it('SMMUv3 nested domains have no set_dev_pasid (iommu_attach_device_pasid() -EOPNOTSUPP), paging domains do', () => {
    const h = (type: 'HWPT_NESTED' | 'HWPT_PAGING'): IommufdCell => ({ fd: 'iommufd', id: 1, type, refs: [], users: 0, attrs: {} });
    expect(smmuHasSetDevPasid(h('HWPT_NESTED'))).toBe(false);
    expect(smmuHasSetDevPasid(h('HWPT_PAGING'))).toBe(true);
    // an abort / bypass vSTE needs no vDEVICE; a translating one does; a foreign instance is checked first
    const nested = (cfg: string, iommu = 'smmu0'): IommufdCell => ({ ...h('HWPT_NESTED'), attrs: { cfg, iommu } });
    const none = { ssidsInUse: false, hasVdevice: false };
    expect(smmuAttachDevCheck('smmu0', nested('bypass'), 0, none)).toBeNull();
    expect(smmuAttachDevCheck('smmu0', nested('s1-trans'), 0, none)).toBe('ENOENT');
    expect(smmuAttachDevCheck('smmu0', nested('s1-trans'), 0, { ssidsInUse: true, hasVdevice: false })).toBe('EBUSY');
    expect(smmuAttachDevCheck('smmu1', nested('s1-trans'), 0, { ssidsInUse: true, hasVdevice: false })).toBe('EINVAL');
  });
});
