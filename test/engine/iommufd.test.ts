import { describe, expect, it } from 'vitest';
import { errnos, events, ofKind, scenario, stateOf } from './helpers.js';
import type { Step } from '../../engine/scenario.js';

// dev 00:02.0 bound, IOAS with guest RAM, a nest-parent HWPT with ALLOC_PASID.
const setup: Step[] = [
  { op: 'device-assign', rid: '00:02.0', vm: 'vm0' },
  { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
  { op: 'ioctl', cmd: 'IOMMU_IOAS_MAP', args: { ioas_id: '$ioas', user_va: 0x80000000, iova: 0, length: 0x10000 } },
  { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
  { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 9 }, as: 's2' },
];

const unmet = (steps: Step[]) => ofKind(events([...setup, ...steps]), 'expect');

// The same device behind an SMMUv3: VT-d has no vIOMMU ops (iommufd_viommu_alloc_ioctl(), viommu.c: EOPNOTSUPP).
const SMMU = {
  iommus: [{ id: 'smmu0', kind: 'smmuv3' as const }],
  devices: [{ rid: '00:02.0', iommu: 'smmu0', ats: true }],
  vms: [{ id: 'vm0' }],
  memory: [{ owner: 'vm0', base: 0x80000000, size: 0x10000 }],
};
const smmuEvents = (steps: Step[]) => events(scenario([...setup.slice(0, 4), { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 1 }, as: 's2' }, ...steps], { platform: SMMU }));

describe('iommufd objects and errnos', () => {
  it('EBUSY destroying an object in use, ENOENT for an unknown id, then destroy children first', () => {
    expect(unmet([
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$ioas' }, expect: 'EBUSY' },
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: 99 }, expect: 'ENOENT' },
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$s2' }, expect: 'ok' },
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$ioas' }, expect: 'ok' },
    ])).toEqual([]);
  });

  it('EINVAL: a pt_id of the wrong type, a vIOMMU on a HWPT that is not a nest parent, a PASID attach without ALLOC_PASID', () => {
    expect(unmet([
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$dev' }, expect: 'EINVAL' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 0 }, as: 'plain' },
      // VT-d: no vIOMMU at all, refused before the HWPT is looked at (iommufd_viommu_alloc_ioctl(), viommu.c)
      { op: 'ioctl', cmd: 'IOMMU_VIOMMU_ALLOC', args: { dev_id: '$dev', hwpt_id: '$plain', type: 'ARM_SMMUV3' }, expect: 'EOPNOTSUPP' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pt_id: '$plain', pasid: 3 }, expect: 'EINVAL' },
    ])).toEqual([]);
  });

  it('PASID attach: VFIO replaces an attached PASID (vfio_iommufd_physical_pasid_attach_ioas), the same HWPT or another; a RID attach replaces too', () => {
    const evs = events([...setup,
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 8 }, as: 'other' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pt_id: '$s2', pasid: 3 }, expect: 'ok' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pt_id: '$s2', pasid: 3 }, expect: 'ok' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', flags: 1, pt_id: '$other', pasid: 3 }, expect: 'ok' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$s2' }, expect: 'ok' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$other' }, expect: 'ok' },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    const st = stateOf(evs);
    expect(st.s.pasid['00:02.0/0']?.did).toBe(4);
    expect(st.s.iommufd['iommufd/3']?.users).toBe(0); // PASID 3 and the RID both moved to `other`
  });

  it('vIOMMU / vDEVICE: EEXIST for a duplicate virt_id or a second vDEVICE; nested attach before the vDEVICE is ENOENT', () => {
    const evs = smmuEvents([
      { op: 'ioctl', cmd: 'IOMMU_VIOMMU_ALLOC', args: { dev_id: '$dev', hwpt_id: '$s2', type: 'ARM_SMMUV3' }, as: 'viommu', expect: 'ok' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$viommu', data_type: 'ARM_SMMUV3', data: { ste: 0x4000 } }, as: 'nested', expect: 'ok' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$nested' }, expect: 'ENOENT' },
      { op: 'ioctl', cmd: 'IOMMU_VDEVICE_ALLOC', args: { viommu_id: '$viommu', dev_id: '$dev', virt_id: 16 }, as: 'vdev', expect: 'ok' },
      { op: 'ioctl', cmd: 'IOMMU_VDEVICE_ALLOC', args: { viommu_id: '$viommu', dev_id: '$dev', virt_id: 17 }, expect: 'EEXIST' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$nested' }, expect: 'ok' },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
  });

  it('HWPT_INVALIDATE reports entry_num handled, also on a partial failure', () => {
    const evs = events([...setup,
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$s2', data_type: 'VTD_S1', data: { pgtbl_addr: 0x4000, addr_width: 48 } }, as: 'nested' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$nested' } },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_INVALIDATE', args: { hwpt_id: '$nested', data_type: 'VTD_S1', entries: [{ addr: 0x1000, npages: 1 }, { addr: 0x1001, npages: 0 }] }, expect: 'EINVAL' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_INVALIDATE', args: { hwpt_id: '$nested', data_type: 'VTD_S1', entry_num: 0, entries: [] }, expect: 'ok' },
    ]);
    const inv = ofKind(evs, 'ioctl').filter((e) => e.cmd === 'IOMMU_HWPT_INVALIDATE');
    expect(inv.map((e) => [e.errno, e.out.entry_num])).toEqual([['EINVAL', 1], [null, 0]]);
    expect(ofKind(evs, 'iotlb-inval')).toHaveLength(1);
  });

  it('a device unbound before its vDEVICE force-destroys it (id leaked); closing the fd tears down depth-first', () => {
    const evs = smmuEvents([
      { op: 'ioctl', cmd: 'IOMMU_VIOMMU_ALLOC', args: { dev_id: '$dev', hwpt_id: '$s2', type: 'ARM_SMMUV3' }, as: 'viommu' },
      { op: 'ioctl', cmd: 'IOMMU_VDEVICE_ALLOC', args: { viommu_id: '$viommu', dev_id: '$dev', virt_id: 16 }, as: 'vdev' },
      { op: 'device-unbind', dev: '00:02.0', expect: 'ok' },
      { op: 'ioctl', cmd: 'IOMMU_VDEVICE_ALLOC', args: { viommu_id: '$viommu', dev_id: '$dev', virt_id: 16 }, expect: 'ENOENT' },
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$viommu' }, expect: 'ok' },
      { op: 'close', fd: 'iommufd', expect: 'ok' },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    const destroyed = ofKind(evs, 'iommufd-obj').filter((e) => e.op === 'destroy').map((e) => e.type);
    expect(destroyed).toEqual(['DEVICE', 'VIOMMU', 'VDEVICE', 'HWPT_PAGING', 'IOAS']);
    // The tombstoned vDEVICE keeps its id (5) until the fd closes.
    expect(ofKind(evs, 'iommufd-obj').find((e) => e.op === 'update' && e.type === 'VDEVICE')?.attrs.leaked).toBe(true);
    expect(Object.keys(stateOf(evs).s.iommufd)).toEqual([]);
  });

  it('IOAS_UNMAP must cover whole maps', () => {
    expect(errnos(events([...setup,
      { op: 'ioctl', cmd: 'IOMMU_IOAS_UNMAP', args: { ioas_id: '$ioas', iova: 0, length: 0x1000 } },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_UNMAP', args: { ioas_id: '$ioas', iova: 0x100000, length: 0x1000 } },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_UNMAP', args: { ioas_id: '$ioas', iova: 0, length: 0x10000 } },
    ])).slice(-3)).toEqual(['ENOENT', 'ENOENT', null]); // iopt_unmap_iova_range(): a split is ENOENT, not EINVAL
  });
});

describe('CPU and KVM', () => {
  it('ENQCMD: invalid IA32_PASID is #GP; a guest PASID missing from the VM table is a CPU fault', () => {
    const evs = events([
      { op: 'enqcmd', vm: 'vm0', rid: '00:02.0', wq: 'wq1', addr: 0 },
      { op: 'guest-msr', vm: 'vm0', pasid: 5 },
      { op: 'enqcmd', vm: 'vm0', rid: '00:02.0', wq: 'wq1', addr: 0 },
    ]);
    expect(ofKind(evs, 'fault').map((f) => [f.source, f.name])).toEqual([['cpu', '#GP: IA32_PASID not valid'], ['cpu', 'PASID translation miss']]);
    expect(ofKind(evs, 'enqcmd').every((e) => e.gp)).toBe(true);
  });

  // kvm_vfio_update_coherency(), virt/kvm/vfio.c: KVM decides when the VMM adds / removes the VFIO file, not at attach / detach.
  it('KVM keeps WBINVD while the kvm-vfio device holds the file of a device whose IOMMU cannot force snoop', () => {
    const platform = {
      iommus: [{ id: 'coh', kind: 'vtd' as const, snoopControl: true }, { id: 'noncoh', kind: 'vtd' as const, snoopControl: false }],
      devices: [{ rid: '00:05.0', iommu: 'noncoh', noSnoop: true }],
      vms: [{ id: 'vm0' }],
    };
    const steps: Step[] = [
      { op: 'device-assign', rid: '00:05.0', vm: 'vm0' },
      { op: 'ioctl', cmd: 'KVM_DEV_VFIO_FILE_ADD', args: { vm: 'vm0', dev: '00:05.0' } },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:05.0' }, as: 'dev' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas' }, as: 'h' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:05.0', pt_id: '$h' } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: '00:05.0' } },
      { op: 'ioctl', cmd: 'KVM_DEV_VFIO_FILE_DEL', args: { vm: 'vm0', dev: '00:05.0' } },
    ];
    const evs = [...(function* () { yield* events({ name: 't', description: '', platform, steps }); })()];
    expect(ofKind(evs, 'kvm-wbinvd').map((e) => e.wbinvd)).toEqual(['honour', 'noop']);
  });
});
