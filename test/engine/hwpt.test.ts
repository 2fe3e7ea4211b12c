// HW pagetable rules a scenario's `expect` cannot state: the attributes and
// events an IOMMU_HWPT_ALLOC leaves, what each driver's invalidation reaches
// (engine/drivers/vtd.ts, smmuv3.ts; Linux v6.18 hw_pagetable.c, intel/nested.c,
// arm-smmu-v3-iommufd.c), and dirty bits through apply alone.
import { describe, expect, it } from 'vitest';
import type { Step } from '../../engine/scenario.js';
import type { Platform } from '../../engine/types.js';
import { errnos, events, ofKind, scenario, stateOf } from './helpers.js';

const SMMU: Platform = { iommus: [{ id: 'smmu0', kind: 'smmuv3' }], devices: [{ rid: '00:05.0', iommu: 'smmu0', ats: true }] };
const VTD: Platform = { iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }] };
const io = (cmd: string, args: Record<string, unknown> = {}, as?: string): Step => ({ op: 'ioctl', cmd, args: args as Step['args'], ...(as ? { as } : {}) });

/** An SMMUv3 vIOMMU with one nested HWPT attached through vSID 16. */
const smmuNested: Step[] = [
  io('IOMMU_IOAS_ALLOC', {}, 'ioas'),
  io('IOMMU_IOAS_MAP', { ioas_id: '$ioas', user_va: 0x80000000, iova: 0, length: 0x10000, flags: 7 }),
  io('VFIO_DEVICE_BIND_IOMMUFD', { dev: '00:05.0' }, 'dev'),
  io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 1 }, 's2'),
  io('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { dev: '00:05.0', pt_id: '$s2' }),
  io('IOMMU_VIOMMU_ALLOC', { dev_id: '$dev', hwpt_id: '$s2', type: 'ARM_SMMUV3' }, 'viommu'),
  io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$viommu', data_type: 'ARM_SMMUV3', data: { ste: 0x200000 } }, 'nested'),
  io('IOMMU_VDEVICE_ALLOC', { viommu_id: '$viommu', dev_id: '$dev', virt_id: 16 }),
];

describe('IOMMU_HWPT_ALLOC', () => {
  it('records what the driver built: VT-d first stage for flags 0, second stage for a nest parent or dirty tracking; the IOMMU instance', () => {
    const evs = events(scenario([
      io('IOMMU_IOAS_ALLOC', {}, 'ioas'), io('VFIO_DEVICE_BIND_IOMMUFD', { dev: '00:02.0' }, 'dev'),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas' }),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 1 }),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 10 }),
    ], { platform: VTD }));
    const hwpts = Object.values(stateOf(evs).s.iommufd).filter((o) => o.type === 'HWPT_PAGING').sort((a, b) => a.id - b.id);
    expect(hwpts.map((h) => [h.attrs.stage, h.attrs.nestParent, h.attrs.dirtyOps, h.attrs.pasidCompat, h.attrs.iommu]))
      .toEqual([['first', false, false, false, 'dmar0'], ['second', true, false, false, 'dmar0'], ['second', false, true, true, 'dmar0']]);
  });

  it('a failed allocation leaves nothing: no object, no page-table root, the id free for the next', () => {
    const evs = events(scenario([
      io('IOMMU_IOAS_ALLOC', {}, 'ioas'), io('VFIO_DEVICE_BIND_IOMMUFD', { dev: '00:02.0' }, 'dev'),
      io('IOMMU_FAULT_QUEUE_ALLOC', {}, 'fault'),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 4, fault_id: 99 }),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 4, fault_id: '$fault' }, 'h'),
    ], { platform: VTD }));
    expect(errnos(evs)).toEqual([null, null, null, 'ENOENT', null]);
    const st = stateOf(evs);
    const h = Object.values(st.s.iommufd).find((o) => o.type === 'HWPT_PAGING');
    expect(h?.id).toBe(4);
    expect(h?.refs).toEqual([1, 3]);
    expect(Object.keys(st.s['pt-root'])).toHaveLength(1);
  });

  it('a size that cuts data_uptr with no data_uptr given is refused: the model gives data no address (engine/iommufd/abi.ts)', () => {
    const nested = (args: Record<string, unknown>): Step[] => [
      io('IOMMU_IOAS_ALLOC', {}, 'ioas'), io('VFIO_DEVICE_BIND_IOMMUFD', { dev: '00:02.0' }, 'dev'),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 1 }, 'parent'),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$parent', data_type: 'VTD_S1', data: { pgtbl_addr: 0x200000, addr_width: 48 }, ...args }),
    ];
    expect(() => events(scenario(nested({ size: 39 }), { platform: VTD }))).toThrow(/step 3 .*size 39 copies 7 of data_uptr's 8 bytes.*not modelled/);
    // the whole pointer, or none of it (NULL), is the model's to answer
    expect(errnos(events(scenario(nested({ size: 40 }), { platform: VTD }))).at(-1)).toBeNull();
    expect(errnos(events(scenario(nested({ size: 32 }), { platform: VTD }))).at(-1)).toBe('EFAULT');
  });

  it('an SMMUv3 vSTE: the nested HWPT keeps the CD table pointer, CFG and whether ATS is enabled (EATS TRANS)', () => {
    const evs = events(scenario([...smmuNested,
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$viommu', data_type: 'ARM_SMMUV3', data: { ste: 0x200000, eats: 'trans' } }),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$viommu', data_type: 'ARM_SMMUV3', data: { ste0: '0x9', ste1: '0x0' } }),
    ], { platform: SMMU }));
    const nested = Object.values(stateOf(evs).s.iommufd).filter((o) => o.type === 'HWPT_NESTED').sort((a, b) => a.id - b.id);
    expect(nested.map((h) => [h.attrs.s1, h.attrs.cfg, h.attrs.ats, h.attrs.viommu])).toEqual([
      [0x200000, 's1-trans', false, 4], [0x200000, 's1-trans', true, 4], [0, 'bypass', false, 4],
    ]);
  });
});

describe('IOMMU_HWPT_INVALIDATE: what reaches the hardware', () => {
  it('SMMUv3 issues commands in batches of 63: a bad 66th entry leaves the first 63 issued, entry_num 65', () => {
    const tlbi = Array.from({ length: 65 }, () => ({ opcode: 'TLBI_NH_ALL' }));
    const evs = events(scenario([...smmuNested,
      io('IOMMU_HWPT_INVALIDATE', { hwpt_id: '$viommu', data_type: 'ARM_SMMUV3', entries: [...tlbi, { opcode: 'CMD_SYNC' }] }),
    ], { platform: SMMU }));
    const last = ofKind(evs, 'ioctl').at(-1);
    expect(last?.errno).toBe('EIO');
    expect(last?.out).toEqual({ entry_num: 65 });
    const issued = ofKind(evs, 'iotlb-inval').filter((e) => e.step === smmuNested.length);
    expect(issued).toHaveLength(63);
  });

  it('SMMUv3 TLBI_NH_ALL is scoped to the vIOMMU: only its nested HWPTs\' IOTLB lines (domain-selective by their ids)', () => {
    const evs = events(scenario([...smmuNested,
      io('IOMMU_HWPT_INVALIDATE', { hwpt_id: '$viommu', data_type: 'ARM_SMMUV3', entries: [{ opcode: 'TLBI_NH_ALL' }] }),
    ], { platform: SMMU }));
    const inv = ofKind(evs, 'iotlb-inval').filter((e) => e.step === smmuNested.length);
    expect(inv.map((e) => [e.granularity, e.did])).toEqual([['domain', 5]]);
  });

  it('SMMUv3 ATC_INV reaches the physical device of the vSID; CFGI_CD the cached CD of that SSID', () => {
    const evs = events(scenario([...smmuNested,
      io('IOMMU_HWPT_INVALIDATE', { hwpt_id: '$viommu', data_type: 'ARM_SMMUV3', entries: [{ opcode: 'ATC_INV', sid: 16, ssid: 3, addr: 0x4000, size: 0x2000 }, { opcode: 'CFGI_CD', sid: 16, ssid: 3 }] }),
    ], { platform: SMMU }));
    const at = smmuNested.length;
    expect(ofKind(evs, 'atc-inval').filter((e) => e.step === at).map((e) => [e.rid, e.pasid, e.addr, e.npages])).toEqual([['00:05.0', 3, 0x4000, 2]]);
    expect(ofKind(evs, 'pasid-cache-inval').filter((e) => e.step === at).map((e) => [e.granularity, e.pasid])).toEqual([['pasid', 3]]);
  });

  it('SMMUv3 with entry_len under 16: each field keeps the bytes it occupies (copy_struct_from_user() zero-fills the rest)', () => {
    const atc = { opcode: 'ATC_INV', sid: 16, ssid: 3, addr: 0x34000, size: 0x2000 };
    const evs = events(scenario([...smmuNested,
      io('IOMMU_HWPT_INVALIDATE', { hwpt_id: '$viommu', data_type: 'ARM_SMMUV3', entry_len: 10, entries: [atc] }),
      io('IOMMU_HWPT_INVALIDATE', { hwpt_id: '$viommu', data_type: 'ARM_SMMUV3', entry_len: 8, entries: [atc] }),
    ], { platform: SMMU }));
    const at = smmuNested.length;
    // entry_len 10: word 1's bytes 8..9 stay, so the address keeps bits 15:0 (0x4000) and CMDQ_ATC_1_SIZE (bits 5:0) whole
    expect(ofKind(evs, 'atc-inval').filter((e) => e.step === at).map((e) => [e.granularity, e.pasid, e.addr, e.npages])).toEqual([['page', 3, 0x4000, 2]]);
    // entry_len 8: word 1 is all zero-fill: no address, no size — the whole SSID
    expect(ofKind(evs, 'atc-inval').filter((e) => e.step === at + 1).map((e) => [e.granularity, e.pasid])).toEqual([['pasid', 3]]);
  });

  it('VT-d flushes each entry as it goes: a page-selective IOTLB flush by the nested domain id; U64_MAX pages from 0 the whole domain', () => {
    const evs = events(scenario([
      io('IOMMU_IOAS_ALLOC', {}, 'ioas'), io('VFIO_DEVICE_BIND_IOMMUFD', { dev: '00:02.0' }, 'dev'),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 1 }, 'p'),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$p', data_type: 'VTD_S1', data: { pgtbl_addr: 0x200000, addr_width: 48 } }, 'n'),
      io('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { dev: '00:02.0', pt_id: '$n' }),
      io('IOMMU_HWPT_INVALIDATE', { hwpt_id: '$n', entries: [{ addr: 0x3000, npages: 2 }, { addr: 0, npages: 'U64_MAX' }, { addr: 1, npages: 1 }] }),
    ], { platform: VTD }));
    const inv = ofKind(evs, 'iotlb-inval').filter((e) => e.step === 5);
    expect(inv.map((e) => [e.granularity, e.did, e.addr, e.npages])).toEqual([['page', 4, 0x3000, 2], ['domain', 4, null, null]]);
    expect(ofKind(evs, 'ioctl').at(-1)?.out).toEqual({ entry_num: 2 });
  });
});

describe('dirty bits', () => {
  const vtdDirty: Step[] = [
    io('IOMMU_IOAS_ALLOC', {}, 'ioas'),
    io('IOMMU_IOAS_MAP', { ioas_id: '$ioas', user_va: 0x80000000, iova: 0x100000, length: 0x4000, flags: 7 }),
    io('VFIO_DEVICE_BIND_IOMMUFD', { dev: '00:02.0' }, 'dev'),
    io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 2 }, 'h'),
    io('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { dev: '00:02.0', pt_id: '$h' }),
    io('IOMMU_HWPT_SET_DIRTY_TRACKING', { hwpt_id: '$h', flags: 1 }),
    { op: 'dma', rid: '00:02.0', addr: 0x101000, write: true },
  ];

  it('a write through a tracked table sets one dirty cell (root/page) naming the writer; the table root says tracking is on', () => {
    const st = stateOf(events(scenario(vtdDirty, { platform: VTD })));
    const root = Object.values(st.s.iommufd).find((o) => o.type === 'HWPT_PAGING')?.attrs.root as number;
    expect(st.s['pt-root'][String(root)]?.dirty).toBe(true);
    expect(st.s.dirty).toEqual({ [`${root}/${0x101}`]: { rid: '00:02.0' } });
  });

  it('enabling dirty tracking on VT-d rewrites SSADE on each attached device: PASID-cache, IOTLB (domain) and no ATC flush without ATS', () => {
    const evs = events(scenario(vtdDirty, { platform: VTD }));
    expect(ofKind(evs, 'pasid-cache-inval').filter((e) => e.step === 5).map((e) => [e.granularity, e.did, e.pasid])).toEqual([['pasid', 3, 0]]);
    expect(ofKind(evs, 'iotlb-inval').filter((e) => e.step === 5).map((e) => [e.granularity, e.did])).toEqual([['domain', 3]]);
  });

  it('a HWPT allocated again under the id (and table root) of a destroyed one starts with no dirty bits', () => {
    const evs = events(scenario([...vtdDirty,
      io('VFIO_DEVICE_DETACH_IOMMUFD_PT', { dev: '00:02.0' }),
      io('IOMMU_DESTROY', { id: '$h' }),
      io('IOMMU_HWPT_ALLOC', { dev_id: '$dev', pt_id: '$ioas', flags: 2 }, 'h2'),
    ], { platform: VTD }));
    expect(errnos(evs).slice(-3)).toEqual([null, null, null]);
    expect(stateOf(evs).s.dirty).toEqual({});
  });

  it('reading the bitmap clears the bits and flushes the IOTLB lines of the range read (iommu_iotlb_sync)', () => {
    const evs = events(scenario([...vtdDirty,
      io('IOMMU_HWPT_GET_DIRTY_BITMAP', { hwpt_id: '$h', iova: 0x100000, length: 0x4000, page_size: 0x1000 }),
    ], { platform: VTD }));
    const at = vtdDirty.length;
    expect(ofKind(evs, 'dirty').filter((e) => e.step === at).map((e) => [e.page, e.dirty])).toEqual([[0x101, false]]);
    expect(ofKind(evs, 'iotlb-inval').filter((e) => e.step === at).map((e) => [e.granularity, e.addr, e.npages])).toEqual([['page', 0x101000, 1]]);
    expect(stateOf(evs).s.dirty).toEqual({});
  });
});
