// The ftrace importer on lines as the kernel prints them: a tracefs trace
// file and trace-cmd report text, each tracepoint family, the VT-d
// descriptors qi_submit prints decoded field by field (drivers/iommu/intel/iommu.h QI_*).
import { describe, expect, it } from 'vitest';
import { FTRACE } from '../importers/ftrace.js';
import { decodeDesc, devTlbRange } from '../importers/vtd-desc.js';
import { bodies, importLines } from './import-helpers.js';

const HEADER = [
  '# tracer: nop',
  '#',
  '# entries-in-buffer/entries-written: 1617/1617   #P:1',
  '#',
  '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |         |   |||||     |         |',
];

describe('VT-d descriptors as qi_submit prints them (qw0, qw1)', () => {
  it('decodes type and fields of each descriptor the kernel builds', () => {
    // qi_flush_iotlb(): page-selective, DR|DW, DID 4; qw1 the address and AM.
    expect(decodeDesc(0x400f2n, 0xffefc000n)).toEqual({ type: 2, name: 'iotlb_inv', fields: { g: 'page', dr: true, dw: true, did: 4, addr: 0xffefc000, ih: false, am: 0 } });
    expect(decodeDesc(0x200e2n, 0n).fields).toMatchObject({ g: 'domain', did: 2 });
    // qi_flush_context(): 0x31 device-selective (SID 0), 0x11 global.
    expect(decodeDesc(0x31n, 0n)).toEqual({ type: 1, name: 'cc_inv', fields: { g: 'device', did: 0, sid: 0, fm: 0 } });
    expect(decodeDesc(0x11n, 0n).fields.g).toBe('global');
    // qi_flush_pasid_cache() and qi_flush_piotlb() at boot: PASID-selective PASID cache, all-of-PASID IOTLB, DID 2.
    expect(decodeDesc(0x20017n, 0n)).toEqual({ type: 7, name: 'pc_inv', fields: { g: 'pasid', did: 2, pasid: 0 } });
    expect(decodeDesc(0x20026n, 0n)).toEqual({ type: 6, name: 'p_iotlb_inv', fields: { g: 'pasid', did: 2, pasid: 0, addr: 0, ih: false, am: 0 } });
    expect(decodeDesc((5n << 32n) | (3n << 16n) | 0x36n, 0x7f0000n | 0x41n).fields).toEqual({ g: 'page', did: 3, pasid: 5, addr: 0x7f0000, ih: true, am: 1 });
    expect(decodeDesc(0x4n, 0n)).toEqual({ type: 4, name: 'iec_inv', fields: { g: 'global', im: 0, iidx: 0 } });
    expect(decodeDesc((0x15n << 32n) | 0x10n | 0x4n, 0n).fields).toEqual({ g: 'index', im: 0, iidx: 0x15 });
    expect(decodeDesc(0x200000025n, 0x2000c04n).fields).toEqual({ if: false, sw: true, fn: false, pd: false, data: 2, addr: 0x2000c04 });
    // qi_flush_dev_iotlb(): SID 0x18, PFSID 0x18 (bits 15:12 and 63:52), QDEP 32 & 0x1f.
    expect(decodeDesc((0x18n << 32n) | (0x8n << 12n) | (1n << 52n) | 0x3n, 0x1000n).fields).toMatchObject({ sid: 0x18, pfsid: 0x18, addr: 0x1000, s: false });
    // qi_flush_dev_iotlb_pasid(): SID in 31:16, PASID 51:32, S in qw1 bit 11.
    expect(decodeDesc((7n << 32n) | (0x18n << 16n) | 0x8n, 0x3000n | (1n << 11n)).fields).toMatchObject({ sid: 0x18, pasid: 7, s: true, g: false });
    expect(decodeDesc((3n << 32n) | (0x18n << 16n) | (0xfn << 12n) | 0x9n, (2n << 3n) | 4n)).toEqual({ type: 9, name: 'page_grp_resp', fields: { pasidP: false, pdp: false, code: 0xf, rid: 0x18, pasid: 3, lpig: true, prgi: 2 } });
  });

  it('reads a device-TLB size from the address as qi_flush_dev_iotlb() encodes it', () => {
    expect(devTlbRange(0x5000, false)).toEqual({ addr: 0x5000, npages: 1 });
    // mask 1 (2 pages at 0x8000): addr |= (1 << 12) - 1, which QI_DEV_IOTLB_ADDR's page mask drops: 0x8000, S set.
    expect(devTlbRange(0x8000, true)).toEqual({ addr: 0x8000, npages: 2 });
    // mask 2 (4 pages at 0x8000): addr |= (1 << 13) - 1 -> 0x9fff -> 0x9000.
    expect(devTlbRange(0x9000, true)).toEqual({ addr: 0x8000, npages: 4 });
    expect(devTlbRange(0x7fffffffff000, true)).toEqual({ addr: 0, npages: 2 ** 40 });
    expect(devTlbRange(0xfffffffffffff000, true)).toEqual({ addr: null, npages: null });
  });
});

describe('a tracefs trace file', () => {
  it('qi_submit descriptors become the invalidations they are, with the devices and IOMMUs they name', async () => {
    const { events, sum } = await importLines(FTRACE, [
      ...HEADER,
      '          <idle>-0       [000] d..2.     0.024000: qi_submit: iec_inv dmar0: 0x4 0x0 0x0 0x0',
      '            init-1       [000] d..1.     0.996007: qi_submit: pc_inv dmar0: 0x20017 0x0 0x0 0x0',
      '            init-1       [000] d..1.     0.996089: qi_submit: p_iotlb_inv dmar0: 0x20026 0x0 0x0 0x0',
      '            init-1       [000] d..2.     0.996411: qi_submit: cc_inv dmar0: 0x1000000031 0x0 0x0 0x0',
      '     kworker/0:1-17      [000] D.h2.    11.972453: qi_submit: iotlb_inv dmar0: 0x400f2 0xffefc000 0x0 0x0',
      '     kworker/0:1-17      [000] D.h2.    11.972460: qi_submit: dev_tlb_inv dmar1: 0x1800000003 0x9001 0x0 0x0',
      '            init-1       [000] .....     4.509962: tracing_mark_write: iotrace-mark: nvme read 1 MiB direct',
    ]);
    expect(sum.source).toMatchObject({ tool: 'ftrace', forms: ['trace'], t0: '0.024000', malformed: 0, skipped: {} });
    expect(events[0]).toMatchObject({ kind: 'platform', platform: { iommus: [{ id: 'dmar0', kind: 'vtd' }, { id: 'dmar1', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }, { rid: '00:03.0', iommu: 'dmar1' }] } });
    expect(bodies(events).slice(1)).toEqual([
      { kind: 'kcall', fn: 'qi_submit', args: { iommu: 'dmar0', type: 'iec_inv', g: 'global', im: 0, iidx: 0 }, errno: null, out: {} },
      { kind: 'pasid-cache-inval', iommu: 'dmar0', granularity: 'pasid', did: 2, pasid: 0, dropped: 0 },
      { kind: 'iotlb-inval', iommu: 'dmar0', desc: 6, granularity: 'pasid', did: 2, pasid: 0, addr: null, npages: null, dropped: 0 },
      { kind: 'context-cache-inval', iommu: 'dmar0', granularity: 'device', did: null, rid: '00:02.0', fm: 0, dropped: 0 },
      { kind: 'iotlb-inval', iommu: 'dmar0', desc: 2, granularity: 'page', did: 4, pasid: null, addr: 0xffefc000, npages: 1, dropped: 0 },
      { kind: 'atc-inval', rid: '00:03.0', pasid: null, addr: 0x8000, npages: 4, granularity: 'page', dropped: 0 },
      { kind: 'kcall', fn: 'trace_marker', args: { text: 'iotrace-mark: nvme read 1 MiB direct' }, errno: null, out: {} },
    ]);
    expect(events[5]?.obs).toEqual({ line: 11, ts: 11948453000, raw: '     kworker/0:1-17      [000] D.h2.    11.972453: qi_submit: iotlb_inv dmar0: 0x400f2 0xffefc000 0x0 0x0', pid: 17, cpu: 0, task: 'kworker/0:1' });
  });

  it('prq_report, cache_tag_*, iommu:map/unmap/io_page_fault/attach_device_to_domain', async () => {
    const { events, sum } = await importLines(FTRACE, [
      ...HEADER,
      '   irq/24-dmar0-140     [002] d....  1234.567890: prq_report: dmar0/0000:00:03.0 seq# 1: rid=0x18 addr=0x7f001000 rw--l pasid=0x5 index=0x1',
      '     modprobe-312     [001] .....  1234.600000: cache_tag_assign: dmar0/0000:00:03.0 type iotlb did 3 pasid 0 ref 1',
      '     modprobe-312     [001] .....  1234.600100: cache_tag_flush_range: dmar0 0000:00:03.0[0] type iotlb did 3 [0xffff0000-0xffff0fff] addr 0xffff0000 pages 0x1 mask 0x0',
      '            init-1       [000] .N...     0.999468: map: IOMMU: iova=0x0000000000000000 - 0x0000000001000000 paddr=0x0000000000000000 size=16777216',
      '    kworker/u2:1-24      [000] d.h..     3.285553: unmap: IOMMU: iova=0x00000000ffffd000 - 0x00000000ffffe000 size=4096 unmapped_size=4096',
      '     ksoftirqd/0-12      [000] ..s1.  1240.000000: io_page_fault: IOMMU:e1000e 0000:00:03.0 iova=0x00000000dead0000 flags=0x0001',
      '            init-1       [000] .....     0.996593: attach_device_to_domain: IOMMU: device=0000:00:00.0',
      '            init-1       [000] .....     0.994245: add_device_to_group: IOMMU: groupID=4 device=0000:00:1f.3',
    ]);
    const b = bodies(events);
    expect(b[1]).toEqual({ kind: 'fault', source: 'iommu', reason: 0, name: 'page request rw--l (seq 1, index 1)', rid: '00:03.0', pasid: 5, addr: 0x7f001000, vm: null });
    expect(events[1]?.obs?.unknown).toEqual(['reason']);
    expect(b[2]).toEqual({ kind: 'kcall', fn: 'cache_tag_assign', args: { iommu: 'dmar0', dev: '0000:00:03.0', type: 'iotlb', did: 3, pasid: 0 }, errno: null, out: { users: 1 } });
    expect(b[3]).toEqual({ kind: 'kcall', fn: 'cache_tag_flush_range', args: { iommu: 'dmar0', dev: '0000:00:03.0', pasid: 0, type: 'iotlb', did: 3, start: 0xffff0000, end: 0xffff0fff, addr: 0xffff0000, pages: 1, mask: 0 }, errno: null, out: {} });
    expect(b[4]).toEqual({ kind: 'kcall', fn: 'iommu_map', args: { iova: 0, paddr: 0, size: 16777216 }, errno: null, out: {} });
    expect(b[5]).toEqual({ kind: 'kcall', fn: 'iommu_unmap', args: { iova: 0xffffd000, size: 4096 }, errno: null, out: { unmapped: 4096 } });
    expect(b[6]).toEqual({ kind: 'fault', source: 'iommu', reason: 1, name: 'io_page_fault write (e1000e 0000:00:03.0)', rid: '00:03.0', pasid: null, addr: 0xdead0000, vm: null });
    expect(b[7]).toEqual({ kind: 'kcall', fn: 'iommu_attach_device', args: { device: '0000:00:00.0' }, errno: null, out: {} });
    expect(b[8]).toEqual({ kind: 'kcall', fn: 'iommu_group_add_device', args: { group: 4, device: '0000:00:1f.3' }, errno: null, out: {} });
    expect(sum.faults).toBe(2);
  });
});

describe('trace-cmd report text', () => {
  it('reads its header, padded arguments and a system-qualified name; bad lines are counted by number, unknown ones by name', async () => {
    const { events, sum } = await importLines(FTRACE, [
      'cpus=2',
      '          <idle>-0     [000]   11.972453: qi_submit:            iotlb_inv dmar0: 0x400f2 0xffefc000 0x0 0x0',
      '            bash-812   [001]   11.972500: intel_iommu:qi_submit: cc_inv dmar0: 0x11 0x0 0x0 0x0',
      'CPU 1 is empty',
      '            bash-812   [001]   11.972600: sched_switch:         prev_comm=bash prev_pid=812',
      '            bash-812   [001]   11.972700: qi_submit:            iotlb_inv dmar0: 0x400fz 0x0 0x0 0x0',
      'this is not a trace line',
    ]);
    expect(sum.source).toMatchObject({ forms: ['trace-cmd'], skipped: { sched_switch: 1 }, malformed: 2 });
    expect(sum.source.malformedLines.map((m) => m.line)).toEqual([6, 7]);
    expect(bodies(events).slice(1).map((b) => [b.kind, b.granularity])).toEqual([['iotlb-inval', 'page'], ['context-cache-inval', 'global']]);
  });
});
