// The workloads of bench/scans.ts: scenarios of one step repeated N times,
// each of which once scanned a whole state section. test/index-equivalence.test.ts
// runs them small with and without the derived indexes and compares the events.
import type { Step } from '../engine/scenario.js';
import type { Platform } from '../engine/types.js';

const VTD: Platform = {
  iommus: [{ id: 'dmar0', kind: 'vtd' }],
  devices: [{ rid: '00:02.0', iommu: 'dmar0', ats: true }, { rid: '00:03.0', iommu: 'dmar0' }],
  memory: [{ owner: 'proc-a', base: 0x100000, size: 0x10000 }],
};
const SMMU: Platform = {
  iommus: [{ id: 'smmu0', kind: 'smmuv3' }],
  devices: [{ rid: '00:05.0', iommu: 'smmu0', ats: true }],
  hosts: [{ id: 'host0' }, { id: 'host1' }],
  vms: [{ id: 'vm0', host: 'host0' }, { id: 'vm1', host: 'host0' }],
  memory: [{ owner: 'vm0', base: 0x80000000, size: 0x10000 }],
};

const ioctl = (cmd: string, args: Record<string, unknown> = {}, as?: string): Step => ({ op: 'ioctl', cmd, args, ...(as ? { as } : {}) } as Step);
const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

/** A VT-d device bound to an iommufd with an IOAS: what every iommufd workload starts from. */
const vtdBound: Step[] = [ioctl('IOMMU_IOAS_ALLOC', {}, 'ioas'), ioctl('VFIO_DEVICE_BIND_IOMMUFD', { dev: '00:02.0' }, 'dev')];
/** The SMMUv3 nesting set-up of conformance/viommu/fault_queue.json: a nest parent, a vIOMMU, the guest's stage-1 table. */
const smmuNested: Step[] = [
  { op: 'device-assign', rid: '00:05.0', vm: 'vm0' } as Step,
  ioctl('IOMMU_IOAS_ALLOC', {}, 'ioas'),
  ioctl('IOMMU_IOAS_MAP', { ioas_id: '$ioas', user_va: 0x80000000, iova: 0, length: 0x10000, flags: 7 }),
  ioctl('VFIO_DEVICE_BIND_IOMMUFD', { dev: '00:05.0' }, 'dev'),
  ioctl('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 1 }, 's2'),
  ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { dev: '00:05.0', pt_id: '$s2' }),
  ioctl('IOMMU_VIOMMU_ALLOC', { dev_id: '$dev', hwpt_id: '$s2', type: 'ARM_SMMUV3' }, 'viommu'),
  { op: 'pt-map', root: 0x200000, owner: 'vm0', addr: 0x400000, pa: 0x1000, size: 0x1000 } as Step,
];

export interface Workload { platform: Platform; steps: (n: number) => Step[] }
export const WORKLOADS: Record<string, Workload> = {
  'ioasid-alloc (lowest free)': { platform: VTD, steps: (n) => times(n, () => ({ op: 'ioasid-alloc', set: 'system', owner: 'proc-a' } as Step)) },
  'ioasid-alloc (cyclic)': { platform: VTD, steps: (n) => [{ op: 'ioasid-config', policy: 'cyclic' } as Step, ...times(n, () => ({ op: 'ioasid-alloc', set: 'system', owner: 'proc-a' } as Step))] },
  'ioasid-set-alloc': { platform: VTD, steps: (n) => times(n, (i) => ({ op: 'ioasid-set-alloc', set: `s${i}`, quota: 0, token: `t${i}` } as Step)) },
  'sva-bind (distinct processes)': { platform: VTD, steps: (n) => times(n, (i) => ({ op: 'sva-bind', rid: '00:02.0', owner: `p${i}`, root: 0x1000 } as Step)) },
  'IOMMU_IOAS_ALLOC': { platform: VTD, steps: (n) => times(n, () => ioctl('IOMMU_IOAS_ALLOC')) },
  // iommufd_ioas_map_file()'s fd: whether it is an open event-queue file of any iommufd was a pass over every object.
  'IOMMU_IOAS_MAP_FILE (N objects)': { platform: VTD, steps: (n) => [...times(n, () => ioctl('IOMMU_IOAS_ALLOC')), ...times(n, () => ({ op: 'ioctl-nr', nr: 143, args: { flags: 6, ioas_id: 1, fd: -1, length: 4096 } } as Step))] },
  'IOMMU_IOAS_ALLOC, then close': { platform: VTD, steps: (n) => [...times(n, () => ioctl('IOMMU_IOAS_ALLOC')), { op: 'close', fd: 'iommufd' } as Step] },
  // iopt_table_add_domain() looks at every domain of the IOAS: once a filter of every object of the fd.
  'IOMMU_HWPT_ALLOC (one IOAS)': { platform: VTD, steps: (n) => [...vtdBound, ...times(n, () => ioctl('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas' }))] },
  // each HWPT on its own IOAS, attached and detached in turn: the attach checks, reserved ranges and auto-domain search
  'IOMMU_IOAS_ALLOC + HWPT_ALLOC + attach + detach': {
    platform: VTD,
    steps: (n) => [ioctl('VFIO_DEVICE_BIND_IOMMUFD', { dev: '00:02.0' }, 'dev'), ...times(n / 4 | 0, (i) => [
      ioctl('IOMMU_IOAS_ALLOC', {}, `a${i}`), ioctl('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: `$a${i}` }, `h${i}`),
      ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { dev: '00:02.0', pt_id: `$h${i}` }), ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', { dev: '00:02.0' }),
    ]).flat() as Step[]],
  },
  // every page request joins its FAULT queue (iommufd_fault_iopf_handler()); one read hands out N cookies, one write answers them
  'page requests to a FAULT queue, read, answered': {
    platform: SMMU,
    steps: (n) => [
      ...smmuNested,
      ioctl('IOMMU_FAULT_QUEUE_ALLOC', {}, 'fault'),
      ioctl('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$viommu', flags: 4, fault_id: '$fault', data_type: 'ARM_SMMUV3', data: { ste: 0x200000 } }, 'iopf'),
      ioctl('IOMMU_VDEVICE_ALLOC', { viommu_id: '$viommu', dev_id: '$dev', virt_id: 153 }),
      ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { dev: '00:05.0', pt_id: '$iopf' }),
      ...times(n, () => ({ op: 'dma', rid: '00:05.0', addr: 0x500000 } as Step)),
      { op: 'eventq-read', queue: '$fault' } as Step,
      { op: 'eventq-write', queue: '$fault', responses: times(n, (i) => ({ cookie: i + 1, code: 'SUCCESS' })) } as unknown as Step,
    ],
  },
  // vIOMMU events into a vEVENTQ of depth N (iommufd_viommu_report_event())
  'vEVENTs into a vEVENTQ': {
    platform: SMMU,
    steps: (n) => [
      ...smmuNested,
      ioctl('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$viommu', data_type: 'ARM_SMMUV3', data: { ste: 0x200000 } }, 'nested'),
      ioctl('IOMMU_VEVENTQ_ALLOC', { viommu_id: '$viommu', type: 'ARM_SMMUV3', veventq_depth: n }, 'veventq'),
      ioctl('IOMMU_VDEVICE_ALLOC', { viommu_id: '$viommu', dev_id: '$dev', virt_id: 16 }),
      ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { dev: '00:05.0', pt_id: '$nested' }),
      ...times(n, () => ({ op: 'dma', rid: '00:05.0', addr: 0x500000 } as Step)),
      { op: 'eventq-read', queue: '$veventq' } as Step,
    ],
  },
  // PASID-selective PASID-cache invalidations (0x7) beside N cached entries of other PASIDs
  'inval-pasid-cache (pasid) beside N entries': {
    platform: VTD,
    steps: (n) => [
      ...times(n / 2 | 0, (i) => ({ op: 'sva-bind', rid: '00:02.0', owner: `p${i}`, root: 0x1000, as: `p${i}` } as Step)),
      ...times(n / 2 | 0, (i) => ({ op: 'dma', rid: '00:02.0', pasid: `$p${i}`, addr: 0 } as unknown as Step)),
      ...times(n / 2 | 0, () => ({ op: 'inval-pasid-cache', iommu: 'dmar0', granularity: 'pasid', did: 0, pasid: 1 } as Step)),
    ],
  },
  // an unmap drops the dirty bits of the tables over its IOAS (iopt_unmap_iova_range()): once a filter of every table root
  'IOMMU_IOAS_MAP + UNMAP beside N HWPTs': {
    platform: VTD,
    steps: (n) => [
      ...vtdBound, ioctl('IOMMU_IOAS_ALLOC', {}, 'other'),
      ...times(n / 2 | 0, () => ioctl('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$other' })),
      ...times(n / 4 | 0, () => [
        ioctl('IOMMU_IOAS_MAP', { ioas_id: '$ioas', user_va: 0x100000, iova: 0x100000, length: 0x1000 }),
        ioctl('IOMMU_IOAS_UNMAP', { ioas_id: '$ioas', iova: 0x100000, length: 0x1000 }),
      ]).flat() as Step[],
    ],
  },
  // FIXED_IOVA maps into one IOAS (iopt_check_iova()), then a DMA through each area (the HWPT_PAGING's second stage)
  'IOMMU_IOAS_MAP (FIXED_IOVA) + DMA through the HWPT': {
    platform: VTD,
    steps: (n) => [
      ...vtdBound, ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { dev: '00:02.0', pt_id: '$ioas' }),
      ...times(n / 2 | 0, (i) => ioctl('IOMMU_IOAS_MAP', { ioas_id: '$ioas', user_va: 0x100000, iova: 0x100000 + i * 0x1000, length: 0x1000 })),
      ...times(n / 2 | 0, (i) => ({ op: 'dma', rid: '00:02.0', addr: 0x100000 + i * 0x1000 } as Step)),
    ],
  },
  // N/2 FIXED_IOVA maps, then each area unmapped (iopt_unmap_iova_range(): the areas of the range, not of the IOAS)
  'IOMMU_IOAS_UNMAP of each of N/2 areas': {
    platform: VTD,
    steps: (n) => [
      ...vtdBound,
      ...times(n / 2 | 0, (i) => ioctl('IOMMU_IOAS_MAP', { ioas_id: '$ioas', user_va: 0x100000, iova: 0x100000 + i * 0x1000, length: 0x1000 })),
      ...times(n / 2 | 0, (i) => ioctl('IOMMU_IOAS_UNMAP', { ioas_id: '$ioas', iova: 0x100000 + i * 0x1000, length: 0x1000 })),
    ],
  },
  // migration drops the VM's KVM PASID translations: once a sort of every VM's
  'migrate beside N KVM PASID translations': {
    platform: SMMU,
    steps: (n) => [
      ...times(n / 2 | 0, (i) => ioctl('KVM_SET_PASID_MAPPING', { vm: 'vm1', gpasid: i + 1, hpasid: i + 1 })),
      ...times(n / 4 | 0, () => [{ op: 'migrate', vm: 'vm0', to: 'host1' } as Step, { op: 'migrate', vm: 'vm0', to: 'host0' } as Step]).flat(),
    ],
  },
};
