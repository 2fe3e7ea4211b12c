// IOAS / io_pagetable rules a scenario's `expect` cannot state: the state an
// ioctl leaves, the invalidations it issues, and the checks the HWPT and
// device paths call (engine/iommufd/ioas.ts, Linux v6.18 ioas.c / io_pagetable.c).
import { describe, expect, it } from 'vitest';
import { errnos, events, ofKind, stateOf } from './helpers.js';
import type { Step } from '../../engine/scenario.js';
import { ioptCanAddDomain, ioptCanReserveDevice, iovaAlignment, reservedRanges } from '../../engine/iommufd/ioas.js';
import { getObject } from '../../engine/iommufd/object.js';

const ioas: Step = { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' };
const map = (iova: number | string, length: number | string, user_va: number | string = 0x80000000, flags = 7): Step =>
  ({ op: 'ioctl', cmd: 'IOMMU_IOAS_MAP', args: { ioas_id: '$ioas', flags, user_va, length, iova } });

describe('IOMMU_IOAS_MAP / COPY state', () => {
  it('an area keeps whether its pages are writable, which a later COPY asking WRITEABLE checks (iopt_insert_area)', () => {
    const evs = events([ioas,
      map(0x1000, 0x1000),
      // a read-only copy of writable pages, then a writable copy of that copy: the pages are still writable
      { op: 'ioctl', cmd: 'IOMMU_IOAS_COPY', args: { flags: 5, src_ioas_id: '$ioas', dst_ioas_id: '$ioas', length: 0x1000, src_iova: 0x1000, dst_iova: 0x10000 } },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_COPY', args: { flags: 7, src_ioas_id: '$ioas', dst_ioas_id: '$ioas', length: 0x1000, src_iova: 0x10000, dst_iova: 0x20000 } },
      // read-only pages cannot be copied writable
      map(0x30000, 0x1000, 0x80001000, 5),
      { op: 'ioctl', cmd: 'IOMMU_IOAS_COPY', args: { flags: 7, src_ioas_id: '$ioas', dst_ioas_id: '$ioas', length: 0x1000, src_iova: 0x30000, dst_iova: 0x40000 } },
    ]);
    expect(errnos(evs)).toEqual([null, null, null, null, null, 'EPERM']);
    const m = stateOf(evs).s['ioas-map'];
    expect(m['iommufd/1/65536']).toEqual({ length: 0x1000, hpa: 0x80000000, write: false, writable: true });
    expect(m['iommufd/1/131072']).toEqual({ length: 0x1000, hpa: 0x80000000, write: true });
    expect(m['iommufd/1/196608']).toEqual({ length: 0x1000, hpa: 0x80001000, write: false });
    expect(m['iommufd/1/262144']).toBeUndefined();
  });

  it('a COPY slicing two areas makes two areas at the destination, each at its own HPA offset', () => {
    const evs = events([ioas,
      map(0x1000, 0x2000, 0x80000000),
      map(0x3000, 0x1000, 0x80004000),
      { op: 'ioctl', cmd: 'IOMMU_IOAS_COPY', args: { flags: 7, src_ioas_id: '$ioas', dst_ioas_id: '$ioas', length: 0x2000, src_iova: 0x2000, dst_iova: 0x100000 } },
    ]);
    const m = stateOf(evs).s['ioas-map'];
    expect(m['iommufd/1/1048576']).toEqual({ length: 0x1000, hpa: 0x80001000, write: true });
    expect(m['iommufd/1/1052672']).toEqual({ length: 0x1000, hpa: 0x80004000, write: true });
  });

  it('IOVAs past 2^53 that a double holds exactly are kept; an unaligned one is refused (model limit, no rounding)', () => {
    const evs = events([ioas,
      map('0xfffffffffffff000', 0x1000),
      map('0x20000000000001', 1, 0x80000000),
      { op: 'ioctl', cmd: 'IOMMU_IOAS_UNMAP', args: { ioas_id: '$ioas', iova: '0xfffffffffffff000', length: 0x1000 } },
    ]);
    expect(errnos(evs)).toEqual([null, null, 'EOVERFLOW', null]);
    expect(ofKind(evs, 'ioctl')[3]?.out).toEqual({ length: 0x1000 });
    expect(stateOf(evs).s['ioas-map']).toEqual({});
  });
});

describe('IOMMU_IOAS_UNMAP flushes', () => {
  it('an unmap on a nest parent flushes each nested domain on it whole (the IPA names no stage-1 address)', () => {
    const steps: Step[] = [
      { op: 'device-assign', rid: '00:02.0', vm: 'vm0' },
      ioas,
      map(0, 0x10000),
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 1 }, as: 's2' },
      { op: 'pt-map', root: 0x2000, owner: 'vm0', addr: 0x400000, pa: 0x1000, size: 0x1000 },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$s2', data_type: 'VTD_S1', data: { pgtbl_addr: 0x2000, addr_width: 48 } }, as: 's1' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$s1' } },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_UNMAP', args: { ioas_id: '$ioas', iova: 0, length: '0xffffffffffffffff' } },
    ];
    const evs = events(steps);
    const inval = ofKind(evs, 'iotlb-inval');
    expect(inval.some((e) => e.granularity === 'domain' && e.did === 4)).toBe(true);
    expect(ofKind(evs, 'atc-inval').some((e) => e.granularity === 'pasid' && e.rid === '00:02.0')).toBe(true);
  });
});

describe('what the HWPT and attach paths ask of the IOAS', () => {
  const withAreas = (extra: Step[]): ReturnType<typeof stateOf> => stateOf(events([ioas, ...extra]));

  it('iopt_table_add_domain(): areas not aligned to the domain page are EADDRINUSE; an allowed range past the aperture too', () => {
    expect(ioptCanAddDomain(withAreas([map(0x1000, 0x1000)]), 'iommufd', 1, 'vtd')).toBeNull();
    expect(ioptCanAddDomain(withAreas([map(0x1800, 0x800)]), 'iommufd', 1, 'vtd')).toBe('EADDRINUSE');
    expect(ioptCanAddDomain(withAreas([map(0x1000, 0x1000, 0x80000800)]), 'iommufd', 1, 'smmuv3')).toBe('EADDRINUSE');
    expect(ioptCanAddDomain(withAreas([map('0x1000000000000', 0x1000)]), 'iommufd', 1, 'vtd')).toBe('EADDRINUSE');
    // paging_domain_alloc(): a VT-d first-stage domain ends at 2^47 - 1, a second-stage one at 2^48 - 1
    expect(ioptCanAddDomain(withAreas([map('0x800000000000', 0x1000)]), 'iommufd', 1, 'vtd')).toBe('EADDRINUSE');
    expect(ioptCanAddDomain(withAreas([map('0x800000000000', 0x1000)]), 'iommufd', 1, 'vtd', 'second')).toBeNull();
    expect(ioptCanAddDomain(withAreas([map('0x800000000000', 0x1000)]), 'iommufd', 1, 'smmuv3')).toBeNull();
    const allowed: Step = { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOW_IOVAS', args: { ioas_id: '$ioas', allowed_iovas: [{ start: '0xffff00000000', last: '0x1000000000fff' }] } };
    expect(ioptCanAddDomain(withAreas([allowed]), 'iommufd', 1, 'vtd')).toBe('EADDRINUSE');
    expect(ioptCanAddDomain(withAreas([]), 'iommufd', 99, 'vtd')).toBe('ENOENT');
  });

  it('iopt_table_enforce_dev_resv_regions(): an area over the driver\'s MSI window is EADDRINUSE', () => {
    const st = withAreas([map(0xfee00000, 0x1000), map(0x8000000, 0x1000)]);
    expect(ioptCanReserveDevice(st, 'iommufd', 1, '00:02.0')).toBe('EADDRINUSE');
    const st2 = withAreas([map(0x8000000, 0x1000)]);
    expect(ioptCanReserveDevice(st2, 'iommufd', 1, '00:02.0')).toBeNull();
  });

  it('the derived reserved ranges and alignment follow the HWPT_PAGING and the attachment, and go with them', () => {
    const base: Step[] = [
      ioas,
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, as: 'dev' },
      { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas' }, as: 'h' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:02.0', pt_id: '$h' } },
    ];
    const look = (steps: Step[]) => {
      const st = stateOf(events(steps));
      const o = getObject(st, 'iommufd', 1, 'IOAS');
      if (!o) throw new Error('no IOAS');
      return { align: iovaAlignment(st, 'iommufd', o), reserved: reservedRanges(st, 'iommufd', o).map((r) => [r.start.toString(16), r.last.toString(16)]) };
    };
    expect(look(base)).toEqual({ align: 4096n, reserved: [['800000000000', 'ffffffffffffffff'], ['fee00000', 'feefffff']] });
    // a second domain of the same driver reserves the same range again: it is listed once
    expect(look([...base, { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas' } } as Step])).toEqual(look(base));
    const detached = [...base, { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: '00:02.0' } } as Step];
    expect(look(detached)).toEqual({ align: 4096n, reserved: [['800000000000', 'ffffffffffffffff']] });
    expect(look([...detached, { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$h' } }])).toEqual({ align: 1n, reserved: [] });
  });
});

describe('IOMMU_OPTION_RLIMIT_MODE', () => {
  it('is per iommufd and forgotten when the fd closes (iommufd_fops_release)', () => {
    const opt = (fd: string, op: number, val64?: number): Step => ({ op: 'ioctl', cmd: 'IOMMU_OPTION', fd, args: { option_id: 0, op, ...(val64 !== undefined ? { val64 } : {}) } });
    const evs = events([opt('a', 0, 1), opt('b', 1), opt('a', 1), { op: 'close', fd: 'a' }, opt('a', 1)]);
    expect(ofKind(evs, 'ioctl').map((e) => e.out.val64)).toEqual([1, 0, 1, undefined, 0]);
    expect(stateOf(evs).s['iommufd-ctx']).toEqual({});
  });
});
