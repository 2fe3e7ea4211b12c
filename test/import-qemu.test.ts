// The QEMU importer on lines in the log backend's real format: each prefix
// form, each family (vtd_*, smmuv3_*/smmu_*, iommufd_*), what is folded,
// what is skipped by name, what is malformed (with its line number).
import { describe, expect, it } from 'vitest';
import { MAX_SKIPPED_NAMES, OTHER_NAMES } from '../importers/import.js';
import { QEMU, qemuPrefix } from '../importers/qemu.js';
import { bodies, importLines } from './import-helpers.js';

describe('QEMU line prefixes', () => {
  it('reads <tid>@<sec>.<usec>:, the bare form and an ISO-8601 time, keeping the event and its arguments', () => {
    const tid = qemuPrefix('1692@1796171021.379289:vtd_dmar_fault sid 0x18 fault 6 addr 0xdead0090 write 0');
    expect(tid).toMatchObject({ event: 'vtd_dmar_fault', args: 'sid 0x18 fault 6 addr 0xdead0090 write 0', pid: 1692, form: 'tid@sec.usec', tsText: '1796171021.379289' });
    expect(tid.ns).toBe(1796171021379289000n);
    expect(qemuPrefix('vtd_inv_qi_fetch ')).toMatchObject({ event: 'vtd_inv_qi_fetch', args: '', ns: null, form: 'bare' });
    const iso = qemuPrefix('2026-12-01T23:59:39.844887Z vtd_reg_read addr 0x1c size 0x4');
    expect(iso).toMatchObject({ event: 'vtd_reg_read', args: 'addr 0x1c size 0x4', form: 'iso8601', tsText: '2026-12-01T23:59:39.844887Z' });
    expect(iso.ns).toBe(BigInt(Date.UTC(2026, 11, 1, 23, 59, 39)) * 1_000_000n + 844887000n);
    // An offset zone, and a tid prefix after the time.
    expect(qemuPrefix('2026-12-02T00:59:39.5+01:00 7@1.000002:vtd_reg_read addr 0x1c size 0x4')).toMatchObject({ event: 'vtd_reg_read', pid: 7, form: 'iso8601', ns: iso.ns! - 344887000n });
    expect(() => qemuPrefix('qemu-system-x86_64: warning: nic e1000e.0 has no peer')).toThrow(/not a QEMU trace line/);
  });

  it('gives every event its source line, time since the first timestamp and thread', async () => {
    const { events, sum } = await importLines(QEMU, [
      '1692@1796171021.000100:vtd_reg_dmar_root addr 0x31cd000 scalable 1',
      '1692@1796171021.000350:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0xffffe000 slpte 0x36b1003 domain 0x4',
    ]);
    expect(sum.source).toMatchObject({ tool: 'qemu', lines: 2, forms: ['tid@sec.usec'], t0: '1796171021.000100', malformed: 0 });
    expect(sum.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(events[0]).toMatchObject({ kind: 'platform', step: -1, platform: { iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }] } });
    expect(events[1]?.obs).toEqual({ line: 1, ts: 0, raw: '1692@1796171021.000100:vtd_reg_dmar_root addr 0x31cd000 scalable 1', pid: 1692 });
    expect(events[2]).toMatchObject({ tick: 2, step: 2, kind: 'iotlb-fill', obs: { line: 2, ts: 250_000, pid: 1692, unknown: ['pasid'] } });
  });
});

describe('vtd_* (hw/i386/intel_iommu.c)', () => {
  it('IOTLB page update and hit, translations, a page invalidation that drops the line (QEMU prints the descriptor, then its decode: folded)', async () => {
    const { events, sum } = await importLines(QEMU, [
      'vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0xffffe000 slpte 0x36b1003 domain 0x4',
      'vtd_dmar_translate dev 00:02.00 iova 0xffffe000 -> gpa 0x36b1000 mask 0xfff',
      'vtd_iotlb_page_hit IOTLB page hit sid 0x10 iova 0xffffe040 slpte 0x36b1003 domain 0x4',
      'vtd_dmar_translate dev 00:02.00 iova 0xffffe040 -> gpa 0x36b1040 mask 0xfff',
      'vtd_inv_desc invalidate desc type iotlb high 0xffffe000 low 0x400f2',
      'vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x4 addr 0xffffe000 mask 0x0',
    ]);
    expect(bodies(events).slice(1)).toEqual([
      { kind: 'iotlb-fill', iommu: 'dmar0', did: 4, pasid: 0, page: 0xffffe, pa: 0x36b1000, write: true },
      { kind: 'dma', rid: '00:02.0', pasid: null, addr: 0xffffe000, write: false, via: 'walk', pa: 0x36b1000, ok: true },
      { kind: 'dma', rid: '00:02.0', pasid: null, addr: 0xffffe040, write: false, via: 'iotlb', pa: 0x36b1040, ok: true },
      { kind: 'iotlb-inval', iommu: 'dmar0', desc: 2, granularity: 'page', did: 4, pasid: null, addr: 0xffffe000, npages: 1, dropped: 1 },
    ]);
    // The dma after the update and the one the hit served carry no access type: QEMU does not print it.
    expect(events[2]?.obs?.unknown).toEqual(['write']);
    // The translate after the hit, and the descriptor's decode, add nothing.
    expect(sum.source.folded).toBe(2);
  });

  it('context-cache fills (legacy and scalable entries), a hit on a known line folded, global and device invalidations', async () => {
    const { events, sum } = await importLines(QEMU, [
      'vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x10 high 0x401 low 0x3278001 gen 0 -> gen 1',
      'vtd_iotlb_cc_hit IOTLB context hit bus 0x0 devfn 0x10 high 0x401 low 0x3278001 gen 1',
      'vtd_inv_desc invalidate desc type context-cache high 0x0 low 0x1000000031',
      'vtd_inv_desc_cc_device context invalidate device 00:02.00',
      'vtd_reg_dmar_root addr 0x31cd000 scalable 1',
      'vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x18 high 0x0 low 0x3245005 gen 1 -> gen 2',
      'vtd_inv_desc invalidate desc type context-cache high 0x0 low 0x11',
      'vtd_inv_desc_cc_global context invalidate globally',
      'vtd_context_cache_reset ',
    ]);
    const b = bodies(events);
    expect(b[1]).toEqual({ kind: 'context-cache-fill', iommu: 'dmar0', rid: '00:02.0', entry: { did: 4, tt: 0, root: 0x3278000, scalable: false } });
    expect(b[2]).toEqual({ kind: 'context-cache-inval', iommu: 'dmar0', granularity: 'device', did: null, rid: '00:02.0', fm: 0, dropped: 1 });
    expect(b[3]).toMatchObject({ kind: 'kcall', fn: 'vtd_reg_dmar_root', args: { addr: 0x31cd000, scalable: 1 } });
    expect(b[4]).toEqual({ kind: 'context-cache-fill', iommu: 'dmar0', rid: '00:03.0', entry: { did: null, tt: null, root: 0x3245000, scalable: true } });
    expect(b[5]).toEqual({ kind: 'context-cache-inval', iommu: 'dmar0', granularity: 'global', did: null, rid: null, fm: null, dropped: 1 });
    expect(b).toHaveLength(6);
    // The hit, the device decode, the global decode and QEMU's reset after it.
    expect(sum.source.folded).toBe(4);
  });

  it('a decode line with no descriptor before it is the event itself; wait and IEC descriptors are calls', async () => {
    const { events } = await importLines(QEMU, [
      'vtd_inv_desc_iotlb_domain iotlb invalidate whole domain 0x2',
      'vtd_inv_desc_iotlb_pasid_pages iotlb invalidate domain 0x2 addr 0x1000 mask 0x2 pasid 0x5',
      'vtd_iotlb_reset IOTLB reset (reason: global invalidation recved)',
      'vtd_inv_desc invalidate desc type wait high 0x2000c04 low 0x200000025',
      'vtd_inv_desc_wait_sw wait invalidate status write addr 0x2000c04 data 0x2',
      'vtd_inv_desc invalidate desc type iec high 0x0 low 0x4',
      'vtd_inv_desc_iec granularity 0x0 index 0x0 mask 0x0',
      'vtd_pasid_cache_psi PASID selective PC invalidation domain 0x2 pasid 0x5',
    ]);
    expect(bodies(events).slice(1)).toEqual([
      { kind: 'iotlb-inval', iommu: 'dmar0', desc: 2, granularity: 'domain', did: 2, pasid: null, addr: null, npages: null, dropped: 0 },
      { kind: 'iotlb-inval', iommu: 'dmar0', desc: 6, granularity: 'page', did: 2, pasid: 5, addr: 0x1000, npages: 4, dropped: 0 },
      // QEMU emptying its IOTLB on its own: no descriptor (desc 0).
      { kind: 'iotlb-inval', iommu: 'dmar0', desc: 0, granularity: 'global', did: null, pasid: null, addr: null, npages: null, dropped: 0 },
      { kind: 'kcall', fn: 'vtd_process_inv_desc', args: { iommu: 'dmar0', type: 'inv_wait', if: false, sw: true, fn: false, pd: false, data: 2, addr: 0x2000c04 }, errno: null, out: {} },
      { kind: 'kcall', fn: 'vtd_process_inv_desc', args: { iommu: 'dmar0', type: 'iec_inv', g: 'global', im: 0, iidx: 0 }, errno: null, out: {} },
      { kind: 'pasid-cache-inval', iommu: 'dmar0', granularity: 'pasid', did: 2, pasid: 5, dropped: 0 },
    ]);
  });

  it('a DMAR fault is a blocked DMA and a fault named as the kernel names the reason; entry-not-present lookups are calls', async () => {
    const { events, sum } = await importLines(QEMU, [
      'vtd_ce_not_present Context entry bus 0 devfn 24 not present',
      'vtd_dmar_fault sid 0x18 fault 6 addr 0xdead0090 write 0',
      'vtd_dmar_fault sid 0x18 fault 5 addr 0xdead009c write 1',
      'vtd_dmar_fault sid 0x18 fault 89 addr 0x1000 write 0',
    ]);
    const b = bodies(events);
    expect(b[1]).toEqual({ kind: 'kcall', fn: 'vtd_dev_to_context_entry', args: { rid: '00:03.0' }, errno: null, out: { fault: 2, reason: 'Present bit in context entry is clear' } });
    expect(b[2]).toEqual({ kind: 'dma', rid: '00:03.0', pasid: null, addr: 0xdead0090, write: false, via: 'walk', pa: null, ok: false });
    expect(b[3]).toEqual({ kind: 'fault', source: 'iommu', reason: 6, name: 'PTE Read access is not set', rid: '00:03.0', pasid: null, addr: 0xdead0090, vm: null });
    expect(b[5]).toMatchObject({ kind: 'fault', reason: 5, name: 'PTE Write access is not set' });
    expect(b[7]).toMatchObject({ kind: 'fault', reason: 0x59, name: 'SM: Present bit in PASID Table Entry is clear' });
    expect(sum.faults).toBe(3);
    expect(sum.firstFault).toBe(3);
  });
});

describe('smmuv3_* / smmu_* (hw/arm/smmuv3.c, smmu-common.c)', () => {
  it('commands, a TLBI by range (smmu_iotlb_inv_iova restates it), an insert completed by the translation after it, a hit', async () => {
    const { events, sum } = await importLines(QEMU, [
      '900@10.000001:smmu_iotlb_lookup_miss IOTLB cache MISS asid=1 addr=0x8000000 hit=0 miss=1 hit rate=0',
      '900@10.000002:smmu_iotlb_insert IOTLB ++ asid=1 addr=0x8000000 tg=1 level=3',
      '900@10.000003:smmuv3_translate_success smmuv3-iommu-memory-region-8-0 sid=0x8 iova=0x8000000 translated=0x45678000 perm=0x3',
      '900@10.000004:smmu_iotlb_lookup_hit IOTLB cache HIT asid=1 addr=0x8000010 hit=1 miss=1 hit rate=50',
      '900@10.000005:smmuv3_translate_success smmuv3-iommu-memory-region-8-0 sid=0x8 iova=0x8000010 translated=0x45678010 perm=0x3',
      '901@10.000006:smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_VA',
      '901@10.000007:smmuv3_s1_range_inval vmid=0 asid=1 addr=0x8000000 tg=1 num_pages=0x2 ttl=3 leaf=1',
      '901@10.000008:smmu_iotlb_inv_iova IOTLB invalidate asid=1 addr=0x8000000',
      '901@10.000009:smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC',
    ]);
    const b = bodies(events);
    expect(b[0]).toMatchObject({ kind: 'platform', platform: { iommus: [{ id: 'smmu0', kind: 'smmuv3' }], devices: [{ rid: '00:01.0', iommu: 'smmu0' }] } });
    expect(b.slice(1)).toEqual([
      { kind: 'iotlb-fill', iommu: 'smmu0', did: 1, pasid: 0, page: 0x8000, pa: 0x45678000, write: true },
      { kind: 'dma', rid: '00:01.0', pasid: null, addr: 0x8000000, write: false, via: 'walk', pa: 0x45678000, ok: true },
      { kind: 'dma', rid: '00:01.0', pasid: null, addr: 0x8000010, write: false, via: 'iotlb', pa: 0x45678010, ok: true },
      { kind: 'kcall', fn: 'smmuv3_cmdq_consume', args: { iommu: 'smmu0', opcode: 'SMMU_CMD_TLBI_NH_VA', op: 0x12 }, errno: null, out: {} },
      { kind: 'iotlb-inval', iommu: 'smmu0', desc: 0x12, granularity: 'page', did: 1, pasid: null, addr: 0x8000000, npages: 2, dropped: 1 },
      { kind: 'kcall', fn: 'smmuv3_cmdq_consume', args: { iommu: 'smmu0', opcode: 'SMMU_CMD_SYNC', op: 0x46 }, errno: null, out: {} },
    ]);
    // The fill was held from its insert line (2) until the translation (3) gave its address.
    expect(events[1]?.obs?.line).toBe(2);
    // The lookups (their result is in the dma's via) and the address invalidation smmuv3_s1_range_inval already is.
    expect(sum.source.folded).toBe(3);
  });

  it('an abort and the event it records: a blocked DMA and an SMMU fault at that address; config-cache fill and invalidation', async () => {
    const { events } = await importLines(QEMU, [
      'smmuv3_config_cache_miss Config cache MISS for sid=0x8 (hits=0, misses=1, hit rate=0)',
      'smmuv3_translate_abort smmuv3-iommu-memory-region-8-0 sid=0x8 abort on iova:0xdead0000 is_write=1',
      'smmuv3_record_event SMMU_EVT_F_TRANSLATION sid=0x8',
      'smmuv3_cmdq_opcode <--- SMMU_CMD_CFGI_STE',
      'smmuv3_cmdq_cfgi_ste streamid= 0x8',
      'smmuv3_config_cache_inv Config cache INV for sid=0x8',
    ]);
    const b = bodies(events);
    expect(b[1]).toEqual({ kind: 'context-cache-fill', iommu: 'smmu0', rid: '00:01.0', entry: { did: null, tt: null, root: 0, scalable: false } });
    expect(events[1]?.obs?.unknown).toEqual(['entry']);
    expect(b[2]).toEqual({ kind: 'dma', rid: '00:01.0', pasid: null, addr: 0xdead0000, write: true, via: 'walk', pa: null, ok: false });
    expect(b[3]).toEqual({ kind: 'fault', source: 'smmu', reason: 0x10, name: 'F_TRANSLATION', rid: '00:01.0', pasid: null, addr: 0xdead0000, vm: null });
    expect(b[5]).toEqual({ kind: 'context-cache-inval', iommu: 'smmu0', granularity: 'device', did: null, rid: '00:01.0', fm: 0, dropped: 1 });
  });
});

describe('iommufd_backend_* / iommufd_cdev_* (backends/iommufd.c, hw/vfio/iommufd.c)', () => {
  it('are the ioctls QEMU made, with the objects and mappings they create; a failure whose errno QEMU did not print is unknown', async () => {
    const { events } = await importLines(QEMU, [
      'iommufd_backend_connect fd=22 owned=1 users=1',
      'iommufd_backend_alloc_ioas  iommufd=22 ioas=2',
      'iommufd_cdev_alloc_ioas  [iommufd=22] new IOMMUFD container with ioasid=2',
      'iommufd_cdev_connect_and_bind  [iommufd=22] Successfully bound device 0000:01:00.0 (fd=25): output devid=1',
      'iommufd_backend_alloc_hwpt  iommufd=22 dev_id=1 pt_id=2 flags=0x0 hwpt_type=0 len=0 data_ptr=0x0 out_hwpt=3 (0)',
      'iommufd_cdev_attach_ioas_hwpt  [iommufd=22] Successfully attached device 0000:01:00.0 (25) to id=3',
      'iommufd_backend_map_dma  iommufd=22 ioas=2 iova=0x0 size=0xa0000 addr=0x7f2a40000000 readonly=0 (0)',
      'iommufd_backend_unmap_dma  iommufd=22 ioas=2 iova=0x0 size=0xa0000 (0)',
      'iommufd_backend_free_id  iommufd=22 id=9 (-1)',
    ]);
    const b = bodies(events);
    expect(b[2]).toEqual({ kind: 'ioctl', fd: 'iommufd22', cmd: 'IOMMU_IOAS_ALLOC', args: {}, errno: null, out: { out_ioas_id: 2 } });
    expect(b[3]).toEqual({ kind: 'iommufd-obj', op: 'alloc', fd: 'iommufd22', id: 2, type: 'IOAS', refs: [], attrs: {} });
    expect(b[4]).toEqual({ kind: 'ioctl', fd: 'vfio:0000:01:00.0', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { iommufd: 'iommufd22' }, errno: null, out: { out_devid: 1 } });
    expect(b[6]).toMatchObject({ kind: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: 1, pt_id: 2, data_type: 0 }, out: { out_hwpt_id: 3 } });
    expect(b[7]).toEqual({ kind: 'iommufd-obj', op: 'alloc', fd: 'iommufd22', id: 3, type: 'HWPT_PAGING', refs: [2], attrs: { dev: 1 } });
    expect(b[8]).toMatchObject({ kind: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { pt_id: 3 } });
    expect(b[9]).toEqual({ kind: 'ioctl', fd: 'iommufd22', cmd: 'IOMMU_IOAS_MAP', args: { ioas_id: 2, flags: 7, user_va: 0x7f2a40000000, length: 0xa0000, iova: 0 }, errno: null, out: { iova: 0 } });
    expect(b[10]).toMatchObject({ kind: 'ioas-map', fd: 'iommufd22', ioas: 2, iova: 0, length: 0xa0000, write: true });
    expect(b[12]).toMatchObject({ kind: 'ioas-map', hpa: null });
    expect(b[13]).toEqual({ kind: 'ioctl', fd: 'iommufd22', cmd: 'IOMMU_DESTROY', args: { id: 9 }, errno: 'EIO', out: {} });
    expect(events[13]?.obs?.unknown).toEqual(['errno']);
    expect(b).toHaveLength(14);
  });
});

describe('lines the importer does not take', () => {
  it('counts at most MAX_SKIPPED_NAMES names one by one, the rest together', async () => {
    const { sum } = await importLines(QEMU, Array.from({ length: MAX_SKIPPED_NAMES + 20 }, (_, i) => `made_up_${i} x`));
    expect(Object.keys(sum.source.skipped)).toHaveLength(MAX_SKIPPED_NAMES + 1);
    expect(sum.source.skipped[OTHER_NAMES]).toBe(20);
  });

  it('counts unknown events by name, reports a malformed line by number and goes on', async () => {
    const { events, sum } = await importLines(QEMU, [
      'vtd_reg_read addr 0x1c size 0x4',
      'vtd_reg_read addr 0x20 size 0x4',
      'vtd_ir_remap_type IOAPIC',
      'vtd_dmar_fault sid 0x18 fault six addr 0xdead0090 write 0',
      '',
      'qemu-system-x86_64: warning: nic e1000e.0 has no peer',
      `vtd_reg_read ${'x'.repeat(70_000)}`,
      'vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0xfffffffffffff000 slpte 0x36b1003 domain 0x4',
      'vtd_dmar_fault sid 0x18 fault 6 addr 0xdead0090 write 0',
    ]);
    expect(sum.source.skipped).toEqual({ vtd_reg_read: 2, vtd_ir_remap_type: 1 });
    expect(sum.source.malformed).toBe(4);
    expect(sum.source.malformedLines.map((m) => m.line)).toEqual([4, 6, 7, 8]);
    expect(sum.source.malformedLines[0]?.why).toMatch(/^vtd_dmar_fault: the arguments do not read as its format/);
    expect(sum.source.malformedLines[1]?.why).toMatch(/not a QEMU trace line/);
    expect(sum.source.malformedLines[2]?.why).toMatch(/longer than/);
    expect(sum.source.malformedLines[3]?.why).toMatch(/addr 0xfffffffffffff000 is wider than 53 bits/);
    // The good line after them is still imported.
    expect(bodies(events, 'fault')).toHaveLength(1);
    expect(events.find((e) => e.kind === 'fault')?.obs?.line).toBe(9);
  });
});
