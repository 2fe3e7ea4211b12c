import { describe, expect, it } from 'vitest';
import { events, ofKind, procA, procB, scenario, stateOf } from './helpers.js';
import type { Platform } from '../../engine/types.js';

const bindA = { op: 'sva-bind', rid: '00:02.0', owner: 'proc-a', root: 0x1000, as: 'pa' };

describe('IOMMU: PASID tables', () => {
  it('allocates leaf tables lazily, one per 64 PASIDs', () => {
    const evs = events([...procA, bindA, { op: 'ioasid-alloc', set: 'system', owner: 'x', min: 200, as: 'p2' }, { op: 'sva-bind', rid: '00:02.0', owner: 'x', root: 0x1000 }]);
    const allocs = ofKind(evs, 'pasid-table-alloc');
    expect(allocs.map((a) => a.dir)).toEqual([0, 3]);
    const st = stateOf(evs);
    expect(Object.keys(st.s['pasid-dir']).sort()).toEqual(['00:02.0/0', '00:02.0/3']);
  });

  it('EBUSY when setting up an entry that is already present', () => {
    // proc-b exits while bound: its PASID 1 is freed at once, its entry stays until the deferred clean-up runs.
    // proc-a then gets PASID 1 and finds the PASID taken by another mm's bond (iommu_sva_bind_device(): EBUSY).
    // (Binding the same device and mm again is not EBUSY: the existing bond comes back with one more reference.)
    const evs = events([...procA, ...procB, { op: 'sva-bind', rid: '00:02.0', owner: 'proc-b', root: 0x2000 }, { op: 'process-exit', owner: 'proc-b' },
      { op: 'sva-bind', rid: '00:02.0', owner: 'proc-a', root: 0x1000, expect: 'EBUSY' }]);
    expect(ofKind(evs, 'expect')).toEqual([]);
  });
});

describe('IOMMU: DMA translation and faults', () => {
  it('a translation fills PASID cache, IOTLB and ATC; the next DMA hits the ATC', () => {
    const evs = events([...procA, bindA, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400010 }, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400020 }]);
    const dmas = ofKind(evs, 'dma');
    expect(dmas.map((d) => [d.ok, d.via, d.pa])).toEqual([[true, 'walk', 0x100010], [true, 'atc', 0x100020]]);
    expect(ofKind(evs, 'iotlb-fill')).toHaveLength(1);
    expect(ofKind(evs, 'pasid-cache-fill')).toHaveLength(1);
    expect(ofKind(evs, 'atc-fill')).toHaveLength(1);
  });

  it('a device without ATS hits the IOTLB', () => {
    const evs = events([...procA, { ...bindA, rid: '00:03.0' }, { op: 'dma', rid: '00:03.0', pasid: '$pa', addr: 0x400000 }, { op: 'dma', rid: '00:03.0', pasid: '$pa', addr: 0x400000 }]);
    expect(ofKind(evs, 'dma').map((d) => d.via)).toEqual(['walk', 'iotlb']);
    expect(ofKind(evs, 'atc-fill')).toHaveLength(0);
  });

  const faultOf = (steps: object[], platform?: Platform) => {
    const evs = events(platform ? scenario(steps as never, { platform }) : (steps as never));
    const f = ofKind(evs, 'fault');
    return f.map((x) => [x.reason, x.name]);
  };

  // Reasons and texts: dma_remap_sm_fault_reasons[], drivers/iommu/intel/dmar.c (scalable mode).
  it('0x51 PASID directory entry not present', () => {
    expect(faultOf([{ op: 'dma', rid: '00:02.0', pasid: 130, addr: 0 }])).toEqual([[0x51, 'SM: Present bit in Directory Entry is clear']]);
  });
  it('0x59 PASID entry not present', () => {
    expect(faultOf([...procA, bindA, { op: 'dma', rid: '00:02.0', pasid: 7, addr: 0x400000 }])).toEqual([[0x59, 'SM: Present bit in PASID Table Entry is clear']]);
  });
  it('0x71 first-level entry not present', () => {
    expect(faultOf([...procA, bindA, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x900000 }])).toEqual([[0x71, 'SM: Present bit in first-level paging entry is clear']]);
  });
  it('0x70 first-level entry access error, 0x72 reserved bit set', () => {
    expect(faultOf([...procA, bindA, { op: 'pt-corrupt', root: 0x1000, addr: 0x400000, how: 'invalid' }, { op: 'pt-corrupt', root: 0x1000, addr: 0x401000, how: 'reserved' },
      { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400000 }, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x401000 }]))
      .toEqual([[0x70, 'SM: Error attempting to access first-level paging entry'], [0x72, 'SM: Non-zero reserved field set in first-level paging entry']]);
  });
  it('0x73 first-level table pointer unusable (FL-PML4 access error)', () => {
    expect(faultOf([{ op: 'sva-bind', rid: '00:02.0', owner: 'proc-a', root: 0xdead000, as: 'pa' }, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400000 }])).toEqual([[0x73, 'SM: Error attempting to access FL-PML4 entry']]);
  });
  it('0x85 write to a read-only page (scalable mode, not the legacy 0x5)', () => {
    expect(faultOf([{ op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: 0x400000, pa: 0x100000, write: false }, bindA, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400000, write: true }])).toEqual([[0x85, 'SM: No write permission for Write/AtomicOp request']]);
  });
  it('0x85 also when the read-only line is already in the IOTLB', () => {
    expect(faultOf([{ op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: 0x400000, pa: 0x100000, write: false }, { ...bindA, rid: '00:03.0' },
      { op: 'dma', rid: '00:03.0', pasid: '$pa', addr: 0x400000 }, { op: 'dma', rid: '00:03.0', pasid: '$pa', addr: 0x400000, write: true }])).toEqual([[0x85, 'SM: No write permission for Write/AtomicOp request']]);
  });
  it('0x5b invalid PASID-table entry (nested entry without a second stage) and 0x79 second-level miss (not the legacy 0x6)', () => {
    const steps = [
      { op: 'ioctl', cmd: 'IOASID_SET_HWID_MODE', args: { mode: 'IOASID_HWID_LOCAL' } },
      { op: 'ioctl', cmd: 'IOASID_ALLOC', as: 'io' },
      { op: 'ioctl', cmd: 'VFIO_ATTACH_IOASID', args: { dev: '00:02.0', ioasid: '$io' } },
      { op: 'ioctl', cmd: 'IOASID_SET_PASID_TABLE', args: { ioasid: '$io', gpa: 0x300000 } },
      { op: 'pt-map', root: 0x4000, owner: 'vm0', addr: 0x400000, pa: 0x1000 },
      { op: 'guest-pasid-entry', vm: 'vm0', rid: '00:02.0', pasid: 3, flptr: 0x4000, s2: 0 },
      { op: 'dma', rid: '00:02.0', pasid: 3, addr: 0x400000 },
      { op: 'guest-pasid-entry', vm: 'vm0', rid: '00:02.0', pasid: 4, flptr: 0x4000, s2: 0x9000 },
      { op: 'pt-map', root: 0x9000, owner: 'vm0', addr: 0x0, pa: 0x80000000 },
      { op: 'dma', rid: '00:02.0', pasid: 4, addr: 0x400000 },
    ];
    expect(faultOf(steps)).toEqual([[0x5b, 'SM: Invalid Scalable-Mode PASID Table Entry'], [0x79, 'SM: Read/Write permission error in second-level paging entry']]);
  });
  it('FPD in the PASID entry silences the faults found at or below it; a missing directory entry still faults', () => {
    const steps = [
      { op: 'ioctl', cmd: 'IOASID_SET_HWID_MODE', args: { mode: 'IOASID_HWID_LOCAL' } },
      { op: 'ioctl', cmd: 'IOASID_ALLOC', as: 'io' },
      { op: 'ioctl', cmd: 'VFIO_ATTACH_IOASID', args: { dev: '00:02.0', ioasid: '$io' } },
      { op: 'ioctl', cmd: 'IOASID_SET_PASID_TABLE', args: { ioasid: '$io', gpa: 0x300000 } },
      { op: 'pt-map', root: 0x9000, owner: 'vm0', addr: 0x0, pa: 0x80000000 },
      { op: 'guest-pasid-entry', vm: 'vm0', rid: '00:02.0', pasid: 4, flptr: 0x4000, s2: 0x9000, fpd: true },
      { op: 'dma', rid: '00:02.0', pasid: 4, addr: 0x400000 },
      { op: 'dma', rid: '00:02.0', pasid: 200, addr: 0x400000 },
    ];
    const evs = events(steps as never);
    expect(ofKind(evs, 'dma').map((d) => d.ok)).toEqual([false, false]);
    expect(ofKind(evs, 'fault').map((f) => f.reason)).toEqual([0x51]);
  });
  it('SMMUv3 reports event ids: C_BAD_CD, C_BAD_SUBSTREAMID, F_TRANSLATION', () => {
    const smmu: Platform = { iommus: [{ id: 'smmu0', kind: 'smmuv3' }], devices: [{ rid: '00:04.0', iommu: 'smmu0' }], memory: [{ owner: 'proc-a', base: 0x100000, size: 0x10000 }] };
    const steps = [...procA, { op: 'sva-bind', rid: '00:04.0', owner: 'proc-a', root: 0x1000, as: 'pa' },
      { op: 'dma', rid: '00:04.0', pasid: 9, addr: 0 }, { op: 'dma', rid: '00:04.0', pasid: 200, addr: 0 }, { op: 'dma', rid: '00:04.0', pasid: '$pa', addr: 0x800000 }];
    expect(faultOf(steps, smmu)).toEqual([[0x0a, 'C_BAD_CD'], [0x08, 'C_BAD_SUBSTREAMID'], [0x10, 'F_TRANSLATION']]);
  });
});

describe('IOMMU: caches are emptied only by invalidations', () => {
  const warm = [...procA, bindA, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400000 }, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x401000 }];

  it('unmapping a page does not drop cached lines; the next DMA is a stale-ATC violation', () => {
    const evs = events([...warm, { op: 'pt-unmap', root: 0x1000, addr: 0x400000 }, { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400000 }]);
    const st = stateOf(evs);
    expect(Object.keys(st.s.iotlb)).toHaveLength(2);
    expect(ofKind(evs, 'violation').map((v) => v.invariant)).toEqual(['stale-atc']);
  });

  it('with the invalidations a driver owes, the DMA faults instead and no invariant breaks', () => {
    const evs = events([...warm, { op: 'pt-unmap', root: 0x1000, addr: 0x400000 },
      { op: 'inval-iotlb', iommu: 'dmar0', granularity: 'page', pasid: '$pa', addr: 0x400000, npages: 1 },
      { op: 'inval-atc', rid: '00:02.0', granularity: 'page', pasid: '$pa', addr: 0x400000, npages: 1 },
      { op: 'dma', rid: '00:02.0', pasid: '$pa', addr: 0x400000 }]);
    expect(ofKind(evs, 'iotlb-inval')[0]?.dropped).toBe(1);
    expect(ofKind(evs, 'atc-inval')[0]?.dropped).toBe(1);
    expect(ofKind(evs, 'violation')).toEqual([]);
    expect(ofKind(evs, 'fault').map((f) => f.reason)).toEqual([0x71]);
  });

  it('a stale IOTLB line used by a device without ATS is a violation', () => {
    const evs = events([...procA, { ...bindA, rid: '00:03.0' }, { op: 'dma', rid: '00:03.0', pasid: '$pa', addr: 0x400000 },
      { op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: 0x400000, pa: 0x108000 }, { op: 'dma', rid: '00:03.0', pasid: '$pa', addr: 0x400000 }]);
    expect(ofKind(evs, 'violation').map((v) => v.invariant)).toEqual(['stale-iotlb']);
  });

  it('invalidation granularities: global, domain, pasid, page; PASID cache domain/pasid/global; ATC all', () => {
    const evs = events([...warm,
      { op: 'inval-iotlb', iommu: 'dmar0', granularity: 'page', did: 0x401, pasid: '$pa', addr: 0x400000, npages: 1 },
      { op: 'inval-iotlb', iommu: 'dmar0', granularity: 'domain', did: 7 },
      { op: 'inval-iotlb', iommu: 'dmar0', granularity: 'pasid', did: 0x401, pasid: '$pa' },
      { op: 'inval-iotlb', iommu: 'dmar0', granularity: 'global' },
      { op: 'inval-pasid-cache', iommu: 'dmar0', granularity: 'domain', did: 7 },
      { op: 'inval-pasid-cache', iommu: 'dmar0', granularity: 'pasid', pasid: '$pa' },
      { op: 'inval-pasid-cache', iommu: 'dmar0', granularity: 'global' },
      { op: 'inval-atc', rid: '00:02.0', granularity: 'all' }]);
    expect(ofKind(evs, 'iotlb-inval').map((e) => [e.granularity, e.desc, e.dropped])).toEqual([['page', 6, 1], ['domain', 2, 0], ['pasid', 6, 1], ['global', 2, 0]]);
    expect(ofKind(evs, 'pasid-cache-inval').map((e) => e.dropped)).toEqual([0, 1, 0]);
    expect(ofKind(evs, 'atc-inval').map((e) => e.dropped)).toEqual([2]);
    const st = stateOf(evs);
    expect(Object.keys(st.s.iotlb).length + Object.keys(st.s.atc).length + Object.keys(st.s['pasid-cache']).length).toBe(0);
  });

  it('sva-unbind tears down in order: entry, PASID cache, PASID-IOTLB, ATC', () => {
    const evs = events([...warm, { op: 'sva-unbind', rid: '00:02.0', pasid: '$pa' }]);
    const tail = evs.slice(evs.findIndex((e) => e.kind === 'pasid-write' && e.after === null));
    expect(tail.map((e) => e.kind).slice(0, 4)).toEqual(['pasid-write', 'pasid-cache-inval', 'iotlb-inval', 'atc-inval']);
  });
});
