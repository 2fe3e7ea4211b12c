// Intel VT-d's iommufd driver ops (drivers/iommu/intel/iommu.c, nested.c):
// paging-domain allocation (first or second stage), the nested (stage-1)
// domain over a nest parent, the guest's stage-1 cache invalidations, the
// IOMMU_CAP_DIRTY_TRACKING capability and IOMMU_GET_HW_INFO's data. The
// model's VT-d is in scalable mode with first- and second-stage translation
// (ecap FLTS/SLTS); nesting (ecap NEST) and second-stage A/D bits (ecap
// SSADS) follow the platform's `nesting` / `dirtyTracking` (default on).
import type { Ctx } from '../ctx.js';
import { device, invalidateAtc, invalidateIotlb, invalidatePasidCache } from '../iommu.js';
import { attachedDevices, HW_INFO_TYPES } from '../iommufd/device.js';
import { U64_MAX } from '../op.js';
import type { Errno, IommuCell, IommufdCell } from '../types.js';
import { copyStructFromUser, copyStructFromUserArray, field64, type UserArray, type UserData } from './user-data.js';

const NEST_PARENT = 1 << 0;
const DIRTY_TRACKING = 1 << 1;
const ALLOC_PASID = 1 << 3;

/**
 * sizeof(struct iommu_hwpt_vtd_s1) (flags u64, pgtbl_addr u64, addr_width u32, __reserved u32;
 * include/uapi/linux/iommufd.h), and its initial length offsetofend(__reserved): 24.
 */
export const VTD_S1_SIZE = 24;
/** sizeof(struct iommu_hwpt_vtd_s1_invalidate), also its min length (offsetofend(__reserved)). */
export const VTD_S1_INV_SIZE = 24;
/** sizeof(struct iommu_hw_info_vtd). */
export const VTD_HW_INFO_LEN = 24;
/** IOMMU_VTD_INV_FLAGS_LEAF. */
const INV_FLAGS_LEAF = 1n;
const VTD_PAGE = 4096n;

/** nested_supported(): sm_supported() && ecap_nest(). */
export const nestedSupported = (iommu: IommuCell): boolean => iommu.nesting !== false;
/** ssads_supported(): sm_supported() && ecap_slads(), what intel_iommu_capable(IOMMU_CAP_DIRTY_TRACKING) answers. */
export const ssadsSupported = (iommu: IommuCell): boolean => iommu.dirtyTracking !== false;

/** What a paging domain is, as the driver built it. */
export interface PagingDomain { stage: 'first' | 'second'; nestParent: boolean; dirtyOps: boolean }

/**
 * intel_iommu_domain_alloc_paging_flags(), drivers/iommu/intel/iommu.c: user
 * data is refused; a first-stage domain is preferred
 * (intel_iommu_domain_alloc_first_stage(): only ALLOC_PASID allowed, else
 * -EOPNOTSUPP and the second stage is tried); intel_iommu_domain_alloc_second_stage()
 * takes NEST_PARENT / DIRTY_TRACKING / ALLOC_PASID, NEST_PARENT needs nesting
 * and DIRTY_TRACKING needs SSADS (-EOPNOTSUPP). `flags` has FAULT_ID_VALID stripped.
 */
export function vtdDomainAllocPagingFlags(iommu: IommuCell, flags: number, user: UserData | null): Errno | PagingDomain {
  // intel_iommu_domain_alloc_paging_flags(), drivers/iommu/intel/iommu.c: user data -> -EOPNOTSUPP
  if (user) return 'EOPNOTSUPP';
  // intel_iommu_domain_alloc_first_stage(): flags & ~ALLOC_PASID -> -EOPNOTSUPP (falls through to the second stage)
  if ((flags & ~ALLOC_PASID) === 0) return { stage: 'first', nestParent: false, dirtyOps: false };
  // intel_iommu_domain_alloc_second_stage(), drivers/iommu/intel/iommu.c: flags beyond NEST_PARENT | DIRTY_TRACKING |
  // ALLOC_PASID -> -EOPNOTSUPP
  if (flags & ~(NEST_PARENT | DIRTY_TRACKING | ALLOC_PASID)) return 'EOPNOTSUPP';
  // intel_iommu_domain_alloc_second_stage(): NEST_PARENT && !nested_supported(), DIRTY && !ssads_supported() -> -EOPNOTSUPP
  if (((flags & NEST_PARENT) && !nestedSupported(iommu)) || ((flags & DIRTY_TRACKING) && !ssadsSupported(iommu))) return 'EOPNOTSUPP';
  return { stage: 'second', nestParent: (flags & NEST_PARENT) !== 0, dirtyOps: (flags & DIRTY_TRACKING) !== 0 };
}

/** The stage-1 configuration a nested domain keeps (struct iommu_hwpt_vtd_s1). */
export interface VtdNested { s1: number; addrWidth: number; s1Flags: number }

/**
 * intel_iommu_domain_alloc_nested(), drivers/iommu/intel/nested.c: nesting
 * and no flag but ALLOC_PASID (-EOPNOTSUPP); data type VTD_S1 (-EOPNOTSUPP);
 * the parent a second-stage nest parent (-EINVAL); then
 * iommu_copy_struct_from_user(). pgtbl_addr, addr_width and flags are not
 * checked here: intel_pasid_setup_nested() checks them at attach
 * (vtdNestedAttachCheck).
 */
export function vtdDomainAllocNested(iommu: IommuCell, parent: IommufdCell, flags: number, user: UserData): Errno | VtdNested {
  // intel_iommu_domain_alloc_nested(): !nested_supported() || flags & ~IOMMU_HWPT_ALLOC_PASID -> -EOPNOTSUPP
  if (!nestedSupported(iommu) || (flags & ~ALLOC_PASID)) return 'EOPNOTSUPP';
  // intel_iommu_domain_alloc_nested(): user_data->type != IOMMU_HWPT_DATA_VTD_S1 -> -EOPNOTSUPP
  if (user.type !== 'VTD_S1') return 'EOPNOTSUPP';
  // intel_iommu_domain_alloc_nested(): !intel_domain_is_ss_paging(s2) || !s2->nested_parent -> -EINVAL
  if (parent.attrs.stage !== 'second' || parent.attrs.nestParent === false) return 'EINVAL';
  // iommu_copy_struct_from_user(&vtd, user_data, IOMMU_HWPT_DATA_VTD_S1, __reserved), include/linux/iommu.h
  const data = copyStructFromUser(user, 'VTD_S1', VTD_S1_SIZE, VTD_S1_SIZE);
  if (typeof data === 'string') return data;
  return { s1: Number(field64(data, 'pgtbl_addr')), addrWidth: Number(field64(data, 'addr_width')), s1Flags: Number(field64(data, 'flags')) };
}

/**
 * intel_pasid_setup_nested(), drivers/iommu/intel/pasid.c: at attach the
 * stage-1 address width must be 4-level (48) or 5-level (57) paging, else
 * -EINVAL. (SRE / EAFE need ecap SRS / EAFS, which the model's VT-d has.)
 * Called by the attach path (engine/iommufd/device.ts).
 */
export function vtdNestedAttachCheck(h: IommufdCell): Errno | null {
  const width = h.attrs.addrWidth;
  if (typeof width === 'number' && width !== 48 && width !== 57) return 'EINVAL';
  return null;
}

/**
 * paging_domain_compatible(), drivers/iommu/intel/iommu.c (newest mainline,
 * kangharison/linux-study @a940746d, after the generic page-table
 * conversion), for a paging domain on the device's IOMMU: the stage's rules
 * only. paging_domain_compatible_second_stage(): dirty_ops without SSADS, a
 * nest parent without nesting, then (after the SLTS / coherency / width /
 * page-size / iotlb_sync_map checks, which the model's VT-d always passes) a
 * domain whose table forces snooping (PT_FEAT_VTDSS_FORCE_COHERENCE) on an
 * IOMMU without snoop control (ecap SC) -> -EINVAL.
 * paging_domain_compatible_first_stage() needs FLTS, coherency, levels and
 * page sizes (the model's VT-d has them) and has no snoop-control check: a
 * first-stage domain that enforces cache coherency attaches behind an IOMMU
 * without SC. (v6.18 checked `force_snooping && !ecap_sc_support()` for both
 * stages, after the stage's rules.) Called through vtdAttachDevCheck().
 */
export function vtdPagingCompatible(iommu: IommuCell, h: IommufdCell): Errno | null {
  // paging_domain_compatible_first_stage(), drivers/iommu/intel/iommu.c: FLTS, SMPWC, FL5LP, FL1GP, RWBF: always met here
  if (h.attrs.stage === 'first') return null;
  // paging_domain_compatible_second_stage(), drivers/iommu/intel/iommu.c: dirty_ops && !ssads_supported() -> -EINVAL
  if (h.attrs.dirtyOps === true && !ssadsSupported(iommu)) return 'EINVAL';
  // paging_domain_compatible_second_stage(), drivers/iommu/intel/iommu.c: nested_parent && !nested_supported() -> -EINVAL
  if (h.attrs.nestParent === true && !nestedSupported(iommu)) return 'EINVAL';
  // paging_domain_compatible_second_stage(), drivers/iommu/intel/iommu.c: PT_FEAT_VTDSS_FORCE_COHERENCE && !ecap_sc_support() -> -EINVAL
  if (h.attrs.enforceSnoop === true && !iommu.snoopControl) return 'EINVAL';
  return null;
}

/**
 * The VT-d driver's attach for a HWPT the iommufd core lets through
 * (engine/iommufd/device.ts calls it; `parent` is a nested HWPT's nest
 * parent, `pasid` 0 the RID; `dev` the device's ATS and pci_pri_supported()):
 *  - a paging domain at the RID: intel_iommu_attach_device() -> paging_domain_compatible();
 *    at a PASID: intel_iommu_set_dev_pasid() -> paging_domain_compatible() (newest mainline has
 *    no dirty_ops refusal there: ae2fafc19e7b "iommu/vt-d: Support dirty tracking on PASID";
 *    v6.18 refused a domain with dirty_ops at a PASID, -EINVAL);
 *  - a nested domain (RID or PASID): intel_nested_attach_dev() / intel_nested_set_dev_pasid(),
 *    nested.c: paging_domain_compatible() of the stage-2 parent, then intel_pasid_setup_nested()
 *    (vtdNestedAttachCheck);
 *  - either, for a fault-capable HWPT (domain->iopf_handler), before the PASID entry is set up:
 *    iopf_for_domain_set() / iopf_for_domain_replace() -> intel_iommu_enable_iopf(). PRI was enabled
 *    at probe only with ATS and a PRI capability (intel_iommu_probe_device(): ats_supported &&
 *    ecap_prs && pci_pri_supported(); the model's VT-d has PRS, and the enable in
 *    iommu_enable_pci_pri() is taken to succeed).
 * Every VT-d domain type has set_dev_pasid (intel_nested_domain_ops too, v6.14+).
 */
export function vtdAttachDevCheck(iommu: IommuCell, h: IommufdCell, parent: IommufdCell | undefined, pasid: number, dev: { ats: boolean; priSupported: boolean }): Errno | null {
  const priEnabled = dev.ats && dev.priSupported;
  const iopf = typeof h.attrs.fault === 'number';
  if (h.type === 'HWPT_NESTED') {
    if (parent) {
      const e = vtdPagingCompatible(iommu, parent);
      if (e) return e;
    }
    // intel_iommu_enable_iopf(), drivers/iommu/intel/iommu.c: !info->pri_enabled -> -ENODEV (before intel_pasid_setup_nested())
    if (iopf && !priEnabled) return 'ENODEV';
    return vtdNestedAttachCheck(h);
  }
  // intel_iommu_set_dev_pasid() / intel_iommu_attach_device(), drivers/iommu/intel/iommu.c: paging_domain_compatible()
  const e = vtdPagingCompatible(iommu, h);
  if (e) return e;
  // intel_iommu_enable_iopf(), drivers/iommu/intel/iommu.c: !info->pri_enabled -> -ENODEV
  return iopf && !priEnabled ? 'ENODEV' : null;
}

/**
 * intel_nested_cache_invalidate_user(), drivers/iommu/intel/nested.c: the
 * entries one by one; the first bad one stops the loop with the entries
 * before it already flushed, and entry_num says how many were. Each
 * cache_tag_flush_range() flushes the nested domain's IOTLB (by its domain id)
 * on every IOMMU it is attached through, and the device TLB of each attached
 * device with ATS on.
 */
export function vtdCacheInvalidateUser(ctx: Ctx, h: IommufdCell, ua: UserArray): { errno: Errno | null; entryNum: number } {
  // intel_nested_cache_invalidate_user(): array->type != IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 -> -EINVAL, none processed
  if (ua.type !== 'VTD_S1') return { errno: 'EINVAL', entryNum: 0 };
  let processed = 0;
  for (let index = 0; index < ua.entryNum; index++) {
    // iommu_copy_struct_from_user_array(&inv_entry, array, VTD_S1, index, __reserved): entry_len != 24 -> -EINVAL
    const e = copyStructFromUserArray(ua, 'VTD_S1', index, VTD_S1_INV_SIZE, VTD_S1_INV_SIZE);
    if (typeof e === 'string') return { errno: e, entryNum: processed };
    const addr = field64(e, 'addr');
    const npages = field64(e, 'npages');
    // intel_nested_cache_invalidate_user(): flags & ~IOMMU_VTD_INV_FLAGS_LEAF || __reserved -> -EOPNOTSUPP
    if ((field64(e, 'flags') & ~INV_FLAGS_LEAF) !== 0n || field64(e, '__reserved') !== 0n) return { errno: 'EOPNOTSUPP', entryNum: processed };
    // intel_nested_cache_invalidate_user(): addr not VTD_PAGE_SIZE aligned, or npages U64_MAX with addr != 0 -> -EINVAL
    if (addr % VTD_PAGE !== 0n || (npages === U64_MAX && addr !== 0n)) return { errno: 'EINVAL', entryNum: processed };
    cacheTagFlushRange(ctx, h, addr, npages);
    processed++;
  }
  return { errno: null, entryNum: processed };
}

/**
 * cache_tag_flush_range(), drivers/iommu/intel/cache.c, for [addr, addr +
 * npages pages): a page-selective IOTLB flush per IOMMU, or the whole domain
 * when npages is U64_MAX; the device TLB too where ATS is on. npages 0 names
 * an empty range (the kernel computes an end before the start): nothing flushed.
 */
function cacheTagFlushRange(ctx: Ctx, h: IommufdCell, addr: bigint, npages: bigint): void {
  if (npages === 0n) return;
  const all = npages === U64_MAX;
  const pages = all ? null : Number(npages > 1n << 40n ? 1n << 40n : npages);
  const devs = attachedDevices(ctx.state, h.fd, h.id);
  const iommus = [...new Set(devs.map((d) => device(ctx.state, d.rid).iommu))].sort();
  for (const iommu of iommus) invalidateIotlb(ctx, iommu, all ? 'domain' : 'page', h.id, null, all ? null : Number(addr), pages);
  for (const d of devs) {
    if (device(ctx.state, d.rid).ats) invalidateAtc(ctx, d.rid, all ? 'pasid' : 'page', d.pasid, all ? null : Number(addr), pages);
  }
}

/**
 * intel_iommu_hw_info(), drivers/iommu/intel/iommu.c: only the DEFAULT or
 * INTEL_VTD type (-EOPNOTSUPP); reports struct iommu_hw_info_vtd.
 */
export function vtdHwInfo(type: number): Errno | { type: string; len: number } {
  // intel_iommu_hw_info(), drivers/iommu/intel/iommu.c: *type neither DEFAULT (0) nor INTEL_VTD (1) -> -EOPNOTSUPP
  if (type !== HW_INFO_TYPES.DEFAULT && type !== HW_INFO_TYPES.INTEL_VTD) return 'EOPNOTSUPP';
  return { type: 'INTEL_VTD', len: VTD_HW_INFO_LEN };
}

/**
 * intel_iommu_set_dirty_tracking(), drivers/iommu/intel/iommu.c: nothing to do
 * when the state does not change; else each attached device's PASID entry gets
 * SSADE set or cleared (intel_pasid_setup_dirty_tracking(), pasid.c), followed
 * by a PASID-selective PASID-cache, a domain-selective IOTLB and a device-TLB
 * flush, then the domain's dirty_tracking changes. Returns whether it changed
 * (the caller records it on the table and the HWPT).
 */
export function vtdSetDirtyTracking(ctx: Ctx, h: IommufdCell, enable: boolean): boolean {
  if ((h.attrs.dirtyTracking === true) === enable) return false;
  for (const d of attachedDevices(ctx.state, h.fd, h.id)) {
    const dev = device(ctx.state, d.rid);
    invalidatePasidCache(ctx, dev.iommu, 'pasid', h.id, d.pasid);
    invalidateIotlb(ctx, dev.iommu, 'domain', h.id, null, null, null);
    if (dev.ats) invalidateAtc(ctx, d.rid, 'pasid', d.pasid, null, null);
  }
  return true;
}

/**
 * intel_iommu_read_and_clear_dirty(), drivers/iommu/intel/iommu.c: reading
 * the bits into a bitmap while tracking is off is -EINVAL.
 */
export const vtdReadDirtyAllowed = (h: IommufdCell): boolean => h.attrs.dirtyTracking === true;

// ---- paging-domain geometry and reserved regions, as iommufd's io_pagetable sees them (H1, ioas)

/** The model's VT-d guest address width (domain->gaw): 48 bits, 4-level tables. */
const VTD_GAW = 48n;
/** __DOMAIN_MAX_ADDR(gaw), drivers/iommu/intel/iommu.h. */
const domainMaxAddr = (gaw: bigint): bigint => (1n << gaw) - 1n;
/** A paging domain's geometry as iommufd sees it: pgsize_bitmap's smallest page and domain->geometry's aperture. */
export interface PagingGeometry { readonly minPage: bigint; readonly apertureStart: bigint; readonly apertureEnd: bigint }
const VTD_FIRST_STAGE_GEOMETRY: PagingGeometry = { minPage: 4096n, apertureStart: 0n, apertureEnd: domainMaxAddr(VTD_GAW - 1n) };
const VTD_SECOND_STAGE_GEOMETRY: PagingGeometry = { minPage: 4096n, apertureStart: 0n, apertureEnd: domainMaxAddr(VTD_GAW) };

/**
 * A VT-d paging domain, paging_domain_alloc(dev, first_stage), drivers/iommu/intel/iommu.c: the smallest
 * page of pgsize_bitmap is 4 KiB (SZ_4K | 2M | 1G); the aperture is [0, __DOMAIN_MAX_ADDR(gaw - 1)] for a
 * first-stage domain (first-level translation takes canonical input addresses only, so bit gaw-1 is
 * skipped: 2^47 - 1) and [0, __DOMAIN_MAX_ADDR(gaw)] for a second-stage one (2^48 - 1). First stage is what
 * intel_iommu_domain_alloc_first_stage() builds (flags 0 / ALLOC_PASID, every automatic domain); second
 * stage is intel_iommu_domain_alloc_second_stage()'s (NEST_PARENT / DIRTY_TRACKING).
 * iopt_table_add_domain() turns these into the IOAS's iova_alignment and a reserved range above the aperture.
 */
export const vtdPagingGeometry = (stage: PagingDomain['stage']): PagingGeometry =>
  (stage === 'second' ? VTD_SECOND_STAGE_GEOMETRY : VTD_FIRST_STAGE_GEOMETRY);

/**
 * intel_iommu_get_resv_regions(), drivers/iommu/intel/iommu.c: every device reports the interrupt window
 * IOAPIC_RANGE_START..IOAPIC_RANGE_END (0xfee00000..0xfeefffff) as IOMMU_RESV_MSI (RMRRs are platform
 * firmware data the model has none of). iopt_table_enforce_dev_resv_regions() reserves it in the IOAS at attach.
 */
export const VTD_RESV_REGIONS: readonly { start: bigint; last: bigint; type: string }[] = [{ start: 0xfee00000n, last: 0xfeefffffn, type: 'msi' }];
