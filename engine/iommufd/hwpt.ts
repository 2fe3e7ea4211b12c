// HW pagetables (drivers/iommu/iommufd/hw_pagetable.c): IOMMU_HWPT_ALLOC of a
// HWPT_PAGING over an IOAS or a HWPT_NESTED over a nest parent or a vIOMMU,
// IOMMU_HWPT_INVALIDATE, whose entries the platform's driver handles, and the
// dirty-tracking ioctls IOMMU_HWPT_SET_DIRTY_TRACKING / _GET_DIRTY_BITMAP.
// Every check in the kernel's order, each cited; the driver rules live in
// engine/drivers/vtd.ts and smmuv3.ts.
import { areaContaining } from '../areas.js';
import type { Ctx } from '../ctx.js';
import { clearDirty, dirtyPages, setDirtyRecording } from '../dirty.js';
import { armVsmmuAllocDomainNested, armVsmmuCacheInvalidate, SMMU_CMD_SIZE, SMMU_STE_SIZE, smmuDbmCapable, smmuDomainAllocPagingFlags } from '../drivers/smmuv3.js';
import type { UserArray, UserData } from '../drivers/user-data.js';
import { ssadsSupported, VTD_S1_INV_SIZE, VTD_S1_SIZE, vtdCacheInvalidateUser, vtdDomainAllocNested, vtdDomainAllocPagingFlags, vtdReadDirtyAllowed, vtdSetDirtyTracking, type PagingDomain } from '../drivers/vtd.js';
import { device, invalidateIotlb } from '../iommu.js';
import { PAGE_SIZE } from '../keys.js';
import { u64, U64_MAX, type Fields, type IoctlSpec } from '../op.js';
import type { ArgValue, Args, Errno, IommuCell, IommufdCell, PasidEntry, Rid, State } from '../types.js';
import { attachedDevices } from './device.js';
import { enumName, enumValue } from './viommu.js';
import { ioptCanAddDomain } from './ioas.js';
import { create, done, err, getObject, nextId, update, type IoctlResult } from './object.js';

export const HWPT_ALLOC_NEST_PARENT = 1 << 0;
export const HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
export const HWPT_FAULT_ID_VALID = 1 << 2;
export const HWPT_ALLOC_PASID = 1 << 3;
/** enum iommu_hwpt_set_dirty_tracking_flags. */
export const HWPT_DIRTY_TRACKING_ENABLE = 1 << 0;
/** enum iommufd_hwpt_get_dirty_bitmap_flags. */
export const HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1 << 0;

/** A deterministic page-table root for a HWPT_PAGING (its table over the IOAS). */
const hwptRoot = (id: number): number => 0x10000000 + id * 0x1000;

/** A flags-like __u32 field: absent is 0. */
const flagsOf = (v: ArgValue | undefined): number => (typeof v === 'number' ? v : 0);
/** A __reserved field: set when non-zero. */
const reserved = (v: ArgValue | undefined): boolean => (u64(v) ?? 0n) !== 0n;

/**
 * enum iommu_hwpt_data_type (IOMMU_HWPT_ALLOC) and enum
 * iommu_hwpt_invalidate_data_type (IOMMU_HWPT_INVALIDATE), include/uapi/linux/iommufd.h:
 * two enums, two numberings. The model names a data type by its enum name
 * (DEFAULT is the model's alias of NONE); a number means what the ioctl's enum says.
 */
const HWPT_DATA_TYPES: Readonly<Record<string, number>> = { NONE: 0, DEFAULT: 0, VTD_S1: 1, ARM_SMMUV3: 2 };
const INVALIDATE_DATA_TYPES: Readonly<Record<string, number>> = { VTD_S1: 0, ARM_SMMUV3: 1 };

/** The enum name a data_type argument stands for (absent: the enum's 0); a name neither enum has stays as given, matching no driver. */
function dataTypeName(v: ArgValue | undefined, names: Readonly<Record<string, number>>): string {
  const n = enumValue(v, names);
  return n < 0 ? String(v) : enumName(n, names);
}

const dataTypeOf = (v: ArgValue | undefined): string => dataTypeName(v, HWPT_DATA_TYPES);
/** sizeof() the driver struct of a data type: what data_len is when the scenario does not say. */
const DATA_SIZE: Readonly<Record<string, number>> = { VTD_S1: VTD_S1_SIZE, ARM_SMMUV3: SMMU_STE_SIZE };
/** sizeof() an invalidation entry of a data type: entry_len's default. */
const ENTRY_SIZE: Readonly<Record<string, number>> = { VTD_S1: VTD_S1_INV_SIZE, ARM_SMMUV3: SMMU_CMD_SIZE };

/**
 * The struct iommu_user_data of an IOMMU_HWPT_ALLOC: `data` is what lies at
 * data_uptr, data_len its length (default: the data type's struct size when
 * data is given, else 0); data_uptr 0 is a NULL pointer.
 */
function userDataOf(a: Fields): UserData {
  const type = dataTypeOf(a.data_type);
  const data = (a.data !== undefined && a.data !== null && typeof a.data === 'object' && !Array.isArray(a.data) ? a.data : null) as Args | null;
  const len = typeof a.data_len === 'number' ? a.data_len : data ? (DATA_SIZE[type] ?? 16) : 0;
  return { type, len, nullPtr: (a.data_uptr !== undefined && u64(a.data_uptr) === 0n) || (data === null && len > 0), data: data ?? {} };
}

const kindOf = (state: State, iommuId: string): IommuCell | undefined => state.s.iommu[iommuId];

// ---------------------------------------------------------------- IOMMU_HWPT_ALLOC

/**
 * The checks of iommufd_hwpt_paging_alloc(), hw_pagetable.c, and the driver's
 * domain_alloc_paging_flags: the domain the driver would build, or the errno.
 * Nothing is emitted: the caller commits with commitPaging().
 */
function pagingDomain(state: State, idev: IommufdCell, flags: number, user: UserData | null): Errno | PagingDomain {
  const iommu = kindOf(state, device(state, idev.attrs.rid as Rid).iommu);
  if (!iommu) return 'ENODEV';
  const smmu = iommu.kind === 'smmuv3';
  // iommufd_hwpt_paging_alloc(): flags beyond NEST_PARENT | DIRTY_TRACKING | FAULT_ID_VALID | ALLOC_PASID -> -EOPNOTSUPP
  if (flags & ~(HWPT_ALLOC_NEST_PARENT | HWPT_ALLOC_DIRTY_TRACKING | HWPT_FAULT_ID_VALID | HWPT_ALLOC_PASID)) return 'EOPNOTSUPP';
  // iommufd_hwpt_paging_alloc(): DIRTY_TRACKING && !device_iommu_capable(IOMMU_CAP_DIRTY_TRACKING) -> -EOPNOTSUPP
  if ((flags & HWPT_ALLOC_DIRTY_TRACKING) && !(smmu ? smmuDbmCapable(iommu) : ssadsSupported(iommu))) return 'EOPNOTSUPP';
  // iommufd_hwpt_paging_alloc(): FAULT_ID_VALID with NEST_PARENT -> -EOPNOTSUPP (a nest parent takes no faults)
  if ((flags & HWPT_FAULT_ID_VALID) && (flags & HWPT_ALLOC_NEST_PARENT)) return 'EOPNOTSUPP';
  // ops->domain_alloc_paging_flags(dev, flags & ~IOMMU_HWPT_FAULT_ID_VALID, user_data): the driver's rules
  const driverFlags = flags & ~HWPT_FAULT_ID_VALID;
  return smmu ? smmuDomainAllocPagingFlags(iommu, driverFlags, user) : vtdDomainAllocPagingFlags(iommu, driverFlags, user);
}

/** Build the HWPT_PAGING: its table over the IOAS and the object (holding the IOAS, and the fault queue if any). */
function commitPaging(ctx: Ctx, fd: string, ioas: IommufdCell, idev: IommufdCell, flags: number, dom: PagingDomain, opts: { auto?: boolean; fault?: number | null }): number {
  const state = ctx.state;
  const iommuId = device(state, idev.attrs.rid as Rid).iommu;
  const iommu = kindOf(state, iommuId);
  const id = nextId(state, fd);
  const root = hwptRoot(id);
  // SMMUv3 HTTU: a dirty-capable stage-1 domain records dirty bits from the start (arm_smmu_set_dirty_tracking()
  // has nothing to do); VT-d records them once IOMMU_HWPT_SET_DIRTY_TRACKING turns SSADE on.
  const recording = iommu?.kind === 'smmuv3' && dom.dirtyOps;
  // A new table has no dirty bits: any left under this root by a destroyed HWPT of the same id go.
  clearDirty(ctx, root);
  ctx.emit({ kind: 'pt-root', root, owner: `${fd}:IOAS${ioas.id}`, ioas: `${fd}/${ioas.id}`, ...(recording ? { dirty: true } : {}) });
  create(ctx, fd, 'HWPT_PAGING', opts.fault ? [ioas.id, opts.fault] : [ioas.id], {
    ioas: ioas.id, flags, root, enforceSnoop: iommu?.snoopControl ?? false, iommu: iommuId, stage: dom.stage, nestParent: dom.nestParent,
    dirtyOps: dom.dirtyOps, dirtyTracking: recording, pasidCompat: (flags & HWPT_ALLOC_PASID) !== 0, fault: opts.fault ?? null,
    ...(opts.auto ? { auto: true } : {}),
  });
  return id;
}

/**
 * iommufd_hwpt_paging_alloc(), hw_pagetable.c: a PAGING domain over an IOAS
 * for the device. Also the path an attach to an IOAS takes for its automatic
 * domain (`auto`). Returns the errno, or the new HWPT_PAGING's id.
 */
export function hwptPagingAlloc(ctx: Ctx, fd: string, ioas: IommufdCell, idev: IommufdCell, flags: number, user: UserData | null, opts: { auto?: boolean } = {}): Errno | number {
  const dom = pagingDomain(ctx.state, idev, flags, user);
  if (typeof dom === 'string') return dom;
  const add = addDomainCheck(ctx.state, fd, ioas, idev, dom);
  return add ?? commitPaging(ctx, fd, ioas, idev, flags, dom, opts);
}

/**
 * iommufd_hwpt_paging_alloc(), hw_pagetable.c: after the driver built the
 * domain (and the enforce_cc / immediate_attach steps), iopt_table_add_domain()
 * (io_pagetable.c) joins it to the IOAS: the IOAS's alignment and aperture
 * rules, ioptCanAddDomain() in engine/iommufd/ioas.ts (-EINVAL / -EADDRINUSE;
 * out_detach / out_abort leave nothing).
 */
function addDomainCheck(state: State, fd: string, ioas: IommufdCell, idev: IommufdCell, dom: PagingDomain): Errno | null {
  const kind = kindOf(state, device(state, idev.attrs.rid as Rid).iommu)?.kind ?? 'vtd';
  return ioptCanAddDomain(state, fd, ioas.id, kind, dom.stage);
}

/**
 * IOMMU_HWPT_ALLOC: iommufd_hwpt_alloc(), hw_pagetable.c. The pt_id's type
 * decides what is built: a HWPT_PAGING over an IOAS, a HWPT_NESTED over a
 * nest-parent HWPT_PAGING (VT-d) or over a vIOMMU (SMMUv3). A fault queue
 * (FAULT_ID_VALID) is looked up last, after the domain exists; any failure
 * leaves nothing behind (iommufd_object_abort_and_destroy()).
 */
export function hwptAlloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const flags = flagsOf(a.flags);
  const user = userDataOf(a);
  // iommufd_hwpt_alloc(): cmd->__reserved -> -EOPNOTSUPP
  if (reserved(a.__reserved)) return err('EOPNOTSUPP');
  // iommufd_hwpt_alloc(): data_type NONE with a data_len, or a data_type without one -> -EINVAL
  if ((user.type === 'NONE' && user.len) || (user.type !== 'NONE' && !user.len)) return err('EINVAL');
  // iommufd_get_device(), iommufd_private.h: unknown id or not a DEVICE -> -ENOENT
  const idev = getObject(state, fd, a.dev_id, 'DEVICE');
  if (!idev) return err('ENOENT');
  // iommufd_hwpt_alloc(): iommufd_get_object(pt_id, IOMMUFD_OBJ_ANY) fails -> -EINVAL (not -ENOENT)
  const pt = getObject(state, fd, a.pt_id, 'ANY');
  if (!pt) return err('EINVAL');
  // The fault queue, looked up after the domain is built (below): its failure aborts the new HWPT.
  const faultOf = (): 'ENOENT' | number | null => {
    if (!(flags & HWPT_FAULT_ID_VALID)) return null;
    // iommufd_get_fault(), iommufd_private.h: unknown id or not a FAULT -> -ENOENT
    const fault = getObject(state, fd, a.fault_id, 'FAULT');
    return fault ? fault.id : 'ENOENT';
  };
  const rid = idev.attrs.rid as Rid;
  const iommuId = device(state, rid).iommu;
  const iommu = kindOf(state, iommuId);
  if (pt.type === 'IOAS') {
    // iommufd_hwpt_paging_alloc(..., user_data.len ? &user_data : NULL)
    const dom = pagingDomain(state, idev, flags, user.len ? user : null);
    if (typeof dom === 'string') return err(dom);
    // iommufd_hwpt_paging_alloc(): iopt_table_add_domain() -> -EINVAL / -EADDRINUSE
    const add = addDomainCheck(state, fd, pt, idev, dom);
    if (add) return err(add);
    const fault = faultOf();
    // iommufd_hwpt_alloc(): iommufd_get_fault() failed -> the new HWPT is aborted (nothing remains), the errno returned
    if (fault === 'ENOENT') return err('ENOENT');
    const id = commitPaging(ctx, fd, pt, idev, flags, dom, { fault });
    return done({ out_hwpt_id: id }, id);
  }
  let nested: Errno | { parent: IommufdCell; viommu: IommufdCell | null; attrs: IommufdCell['attrs'] };
  if (pt.type === 'HWPT_PAGING') nested = nestedOnParent(state, pt, iommu, flags, user);
  else if (pt.type === 'VIOMMU') nested = nestedOnViommu(state, pt, iommuId, flags, user);
  // iommufd_hwpt_alloc(): any other object type cannot hold a HWPT -> -EINVAL
  else return err('EINVAL');
  if (typeof nested === 'string') return err(nested);
  const fault = faultOf();
  // iommufd_hwpt_alloc(): iommufd_get_fault() failed -> the new HWPT is aborted, the errno returned
  if (fault === 'ENOENT') return err('ENOENT');
  const holds = nested.viommu ?? nested.parent;
  const id = create(ctx, fd, 'HWPT_NESTED', fault ? [holds.id, fault] : [holds.id], {
    parent: nested.parent.id, viommu: nested.viommu?.id ?? null, flags, root: nested.parent.attrs.root as number,
    enforceSnoop: nested.parent.attrs.enforceSnoop as boolean, iommu: iommuId, pasidCompat: (flags & HWPT_ALLOC_PASID) !== 0,
    fault: fault ?? null, ...nested.attrs,
  });
  return done({ out_hwpt_id: id }, id);
}

/**
 * iommufd_hwpt_nested_alloc(), hw_pagetable.c, then the driver's
 * domain_alloc_nested (VT-d's intel_iommu_domain_alloc_nested(); SMMUv3's
 * iommu_ops have none: nesting there goes through a vIOMMU).
 */
function nestedOnParent(state: State, parent: IommufdCell, iommu: IommuCell | undefined, flags: number, user: UserData): Errno | { parent: IommufdCell; viommu: null; attrs: IommufdCell['attrs'] } {
  // iommufd_hwpt_nested_alloc(): flags beyond FAULT_ID_VALID | ALLOC_PASID, no user data, or no
  // ops->domain_alloc_nested -> -EOPNOTSUPP
  if ((flags & ~(HWPT_FAULT_ID_VALID | HWPT_ALLOC_PASID)) || !user.len || !iommu || iommu.kind !== 'vtd') return 'EOPNOTSUPP';
  // iommufd_hwpt_nested_alloc(): parent->auto_domain || !parent->nest_parent || another driver's domain -> -EINVAL
  const owner = typeof parent.attrs.iommu === 'string' ? kindOf(state, parent.attrs.iommu)?.kind : 'vtd';
  if (parent.attrs.auto === true || !((parent.attrs.flags as number) & HWPT_ALLOC_NEST_PARENT) || owner !== iommu.kind) return 'EINVAL';
  // ops->domain_alloc_nested(dev, parent, flags & ~IOMMU_HWPT_FAULT_ID_VALID, user_data)
  const d = vtdDomainAllocNested(iommu, parent, flags & ~HWPT_FAULT_ID_VALID, user);
  if (typeof d === 'string') return d;
  return { parent, viommu: null, attrs: { s1: d.s1, addrWidth: d.addrWidth, s1Flags: d.s1Flags } };
}

/**
 * iommufd_hwpt_alloc() on a vIOMMU, then iommufd_viommu_alloc_hwpt_nested(),
 * hw_pagetable.c, and the vIOMMU's alloc_domain_nested (SMMUv3's
 * arm_vsmmu_alloc_domain_nested(); the model has no other vIOMMU).
 */
function nestedOnViommu(state: State, viommu: IommufdCell, iommuId: string, flags: number, user: UserData): Errno | { parent: IommufdCell; viommu: IommufdCell; attrs: IommufdCell['attrs'] } {
  // iommufd_hwpt_alloc(): viommu->iommu_dev != the device's IOMMU instance -> -EINVAL
  if (viommu.attrs.iommu !== iommuId) return 'EINVAL';
  // iommufd_viommu_alloc_hwpt_nested(): flags beyond FAULT_ID_VALID | ALLOC_PASID -> -EOPNOTSUPP
  if (flags & ~(HWPT_FAULT_ID_VALID | HWPT_ALLOC_PASID)) return 'EOPNOTSUPP';
  // iommufd_viommu_alloc_hwpt_nested(): !user_data->len -> -EOPNOTSUPP
  if (!user.len) return 'EOPNOTSUPP';
  // iommufd_viommu_alloc_hwpt_nested(): !viommu->ops->alloc_domain_nested -> -EOPNOTSUPP
  if (kindOf(state, iommuId)?.kind !== 'smmuv3') return 'EOPNOTSUPP';
  const parent = getObject(state, viommu.fd, viommu.attrs.hwpt, 'HWPT_PAGING');
  if (!parent) return 'EINVAL';
  // viommu->ops->alloc_domain_nested(viommu, flags & ~IOMMU_HWPT_FAULT_ID_VALID, user_data)
  const d = armVsmmuAllocDomainNested(flags & ~HWPT_FAULT_ID_VALID, user);
  if (typeof d === 'string') return d;
  return { parent, viommu, attrs: { s1: d.s1, cfg: d.cfg, ats: d.ats, ste0: d.ste0, ste1: d.ste1 } };
}

/**
 * The PASID-table entry (VT-d) / CD (SMMUv3) an attach writes for a HWPT: a
 * HWPT_PAGING the driver built as a first-stage domain (VT-d's preferred
 * kind, domain_setup_first_level(); an SMMUv3 stage-1 domain) is first-level
 * only (PGTT 1, FLPTR its table), a second-stage one (a nest parent, dirty
 * tracking on VT-d) second-level (PGTT 2); a HWPT_NESTED is nested (first
 * stage over the parent's table); an SMMUv3 vSTE with CFG bypass installs
 * only the stage 2. An abort vSTE (or an invalid one, which
 * arm_smmu_validate_vste() zeroes) becomes a physical abort STE
 * (arm_smmu_make_nested_domain_ste() -> arm_smmu_make_abort_ste(),
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c): STE.Config abort
 * terminates every transaction and records no event (SMMUv3 spec, STE.Config
 * 0b000), which the model writes as an entry whose faults are not recorded
 * (FPD): no fault record, so no vEVENT either.
 */
export function entryFor(h: IommufdCell): Omit<PasidEntry, 'p'> {
  const root = h.attrs.root as number;
  const abortSte = h.type === 'HWPT_NESTED' && h.attrs.cfg === 'abort';
  const base = { fpd: abortSte, did: h.id, pgsnp: h.attrs.enforceSnoop === true };
  if (h.type === 'HWPT_NESTED' && h.attrs.cfg !== 'bypass') return { ...base, pgtt: 3, slptptr: root, flptr: h.attrs.s1 as number };
  if (h.type === 'HWPT_PAGING' && h.attrs.stage === 'first') return { ...base, pgtt: 1, slptptr: 0, flptr: root };
  return { ...base, pgtt: 2, slptptr: root, flptr: 0 };
}

// ---------------------------------------------------------------- IOMMU_HWPT_INVALIDATE

/**
 * The struct iommu_user_data_array of an IOMMU_HWPT_INVALIDATE: `entries` is
 * the array at data_uptr (absent, or data_uptr 0: a NULL pointer), entry_num
 * its length unless given, entry_len the data type's entry size unless given.
 */
function userArrayOf(a: Fields, type: string): UserArray {
  const entries = Array.isArray(a.entries) ? a.entries : null;
  return {
    type, entries: entries ?? [],
    entryNum: typeof a.entry_num === 'number' ? a.entry_num : entries?.length ?? 0,
    entryLen: typeof a.entry_len === 'number' ? a.entry_len : ENTRY_SIZE[type] ?? 16,
    nullPtr: entries === null || (a.data_uptr !== undefined && u64(a.data_uptr) === 0n),
  };
}

/**
 * IOMMU_HWPT_INVALIDATE: iommufd_hwpt_invalidate(), hw_pagetable.c. The
 * target is a HWPT_NESTED (its domain's cache_invalidate_user: VT-d) or a
 * vIOMMU (its cache_invalidate: SMMUv3). entry_num always comes back: 0 on
 * the core's own errors, else what the driver says it handled — also on
 * failure. data_type 0 is VTD_S1, the default.
 */
export function hwptInvalidate(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const ua = userArrayOf(a, dataTypeName(a.data_type, INVALIDATE_DATA_TYPES));
  const none = { entry_num: 0 };
  // iommufd_hwpt_invalidate(): cmd->__reserved -> -EOPNOTSUPP
  if (reserved(a.__reserved)) return err('EOPNOTSUPP', none);
  // iommufd_hwpt_invalidate(): entry_num with a NULL data_uptr or a zero entry_len -> -EINVAL
  if (ua.entryNum && (ua.nullPtr || !ua.entryLen)) return err('EINVAL', none);
  // iommufd_get_object(hwpt_id, IOMMUFD_OBJ_ANY), main.c: unknown id -> -ENOENT
  const target = getObject(state, fd, a.hwpt_id, 'ANY');
  if (!target) return err('ENOENT', none);
  let r: { errno: Errno | null; entryNum: number };
  if (target.type === 'HWPT_NESTED') {
    // iommufd_hwpt_invalidate(): the nested domain has no cache_invalidate_user op -> -EOPNOTSUPP
    // (an SMMUv3 nested domain, arm_smmu_nested_ops: its invalidations go through the vIOMMU)
    if (kindOf(state, target.attrs.iommu as string)?.kind === 'smmuv3') return err('EOPNOTSUPP', none);
    r = vtdCacheInvalidateUser(ctx, target, ua);
  } else if (target.type === 'VIOMMU') {
    // iommufd_hwpt_invalidate(): the vIOMMU has no cache_invalidate op -> -EOPNOTSUPP
    if (kindOf(state, target.attrs.iommu as string)?.kind !== 'smmuv3') return err('EOPNOTSUPP', none);
    r = armVsmmuCacheInvalidate(ctx, target, ua);
  } else {
    // iommufd_hwpt_invalidate(): any other type (a HWPT_PAGING, also a nest parent) -> -EINVAL
    return err('EINVAL', none);
  }
  return r.errno ? err(r.errno, { entry_num: r.entryNum }) : done({ entry_num: r.entryNum });
}

// ---------------------------------------------------------------- dirty tracking

/** The IOMMU instances a HWPT is attached through, sorted. */
function attachedIommus(state: State, h: IommufdCell): string[] {
  return [...new Set(attachedDevices(state, h.fd, h.id).map((d) => device(state, d.rid).iommu))].sort();
}

/**
 * iopt_clear_dirty_data() / the end of iommu_read_and_clear_dirty(),
 * io_pagetable.c: clear the table's dirty bits in the range, then
 * iommu_iotlb_sync(): the IOTLB lines of the cleared range are flushed so the
 * next write sets the bit again.
 */
function clearAndSync(ctx: Ctx, h: IommufdCell, iova = 0, length: number | null = null): void {
  const cleared = clearDirty(ctx, h.attrs.root as number, iova, length);
  const first = cleared[0];
  const last = cleared[cleared.length - 1];
  if (first === undefined || last === undefined) return;
  for (const iommu of attachedIommus(ctx.state, h)) invalidateIotlb(ctx, iommu, 'page', h.id, null, first * PAGE_SIZE, last - first + 1);
}

/**
 * IOMMU_HWPT_SET_DIRTY_TRACKING: iommufd_hwpt_set_dirty_tracking(),
 * hw_pagetable.c, and iopt_set_dirty_tracking(), io_pagetable.c: only a
 * HWPT_PAGING allocated with DIRTY_TRACKING has dirty_ops; enabling first
 * clears every dirty bit (a clean snapshot), then the driver turns recording
 * on or off (VT-d: SSADE; SMMUv3: always on, nothing to do).
 */
export function hwptSetDirtyTracking(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const flags = flagsOf(a.flags);
  // iommufd_hwpt_set_dirty_tracking(): flags beyond IOMMU_HWPT_DIRTY_TRACKING_ENABLE -> -EOPNOTSUPP
  if (flags & ~HWPT_DIRTY_TRACKING_ENABLE) return err('EOPNOTSUPP');
  // iommufd_get_hwpt_paging(), iommufd_private.h: unknown id or not a HWPT_PAGING -> -ENOENT
  const h = getObject(state, fd, a.hwpt_id, 'HWPT_PAGING');
  if (!h) return err('ENOENT');
  const enable = (flags & HWPT_DIRTY_TRACKING_ENABLE) !== 0;
  // iopt_set_dirty_tracking(): !domain->dirty_ops -> -EOPNOTSUPP
  if (h.attrs.dirtyOps !== true) return err('EOPNOTSUPP');
  // iopt_set_dirty_tracking(): enabling clears the dirty bits first (iopt_clear_dirty_data())
  if (enable) clearAndSync(ctx, h);
  const smmu = kindOf(state, h.attrs.iommu as string)?.kind === 'smmuv3';
  // ops->set_dirty_tracking(): arm_smmu_set_dirty_tracking() returns 0 (always on);
  // intel_iommu_set_dirty_tracking() sets/clears SSADE on every attached device
  if (!smmu && vtdSetDirtyTracking(ctx, h, enable)) {
    setDirtyRecording(ctx, h.attrs.root as number, enable);
    const cur = getObject(ctx.state, fd, h.id, 'HWPT_PAGING') ?? h;
    update(ctx, cur, cur.refs, { ...cur.attrs, dirtyTracking: enable });
  }
  return done();
}

/**
 * iommufd_check_iova_range(), io_pagetable.c: the range must not wrap
 * (-EOVERFLOW), must be aligned to the IOAS's IOVA alignment (the 4 KiB page
 * of the model's domains) and to page_size, which must not be 0 (-EINVAL).
 */
function checkIovaRange(iova: bigint, length: bigint, pageSize: bigint): Errno | bigint {
  const last = (iova + ((length - 1n) & U64_MAX));
  if (last > U64_MAX) return 'EOVERFLOW';
  const align = BigInt(PAGE_SIZE) - 1n;
  if ((iova & align) || (((last + 1n) & U64_MAX) & align)) return 'EINVAL';
  if (pageSize === 0n) return 'EINVAL';
  if ((iova & (pageSize - 1n)) || (((last + 1n) & U64_MAX) & (pageSize - 1n))) return 'EINVAL';
  return last;
}

/** Whether the IOAS maps the 4 KiB page at pageIova (dirty bits exist only under mapped areas). */
const mapped = (state: State, fd: string, ioas: number, pageIova: number): boolean => areaContaining(state, `${fd}/${ioas}/`, pageIova) !== undefined;

/**
 * IOMMU_HWPT_GET_DIRTY_BITMAP: iommufd_hwpt_get_dirty_bitmap(),
 * hw_pagetable.c, iopt_read_and_clear_dirty_data() and
 * iommu_read_and_clear_dirty(), io_pagetable.c. Out: `dirty`, the IOVAs of the
 * page_size chunks whose bit is set (the user bitmap's set bits), in order.
 * Without NO_CLEAR the bits read are cleared and the IOTLB synced.
 */
export function hwptGetDirtyBitmap(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const flags = flagsOf(a.flags);
  // iommufd_hwpt_get_dirty_bitmap(): flags beyond NO_CLEAR, or __reserved -> -EOPNOTSUPP
  if ((flags & ~HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || reserved(a.__reserved)) return err('EOPNOTSUPP');
  // iommufd_get_hwpt_paging(): unknown id or not a HWPT_PAGING -> -ENOENT
  const h = getObject(state, fd, a.hwpt_id, 'HWPT_PAGING');
  if (!h) return err('ENOENT');
  const iova = u64(a.iova) ?? 0n;
  const length = u64(a.length) ?? 0n;
  const pageSize = u64(a.page_size) ?? 0n;
  // iopt_read_and_clear_dirty_data() -> iommufd_check_iova_range()
  const last = checkIovaRange(iova, length, pageSize);
  if (typeof last === 'string') return err(last);
  // iommu_read_and_clear_dirty(): !dirty_ops -> -EOPNOTSUPP
  if (h.attrs.dirtyOps !== true) return err('EOPNOTSUPP');
  const smmu = kindOf(state, h.attrs.iommu as string)?.kind === 'smmuv3';
  // intel_iommu_read_and_clear_dirty(), drivers/iommu/intel/iommu.c: tracking off with a bitmap -> -EINVAL before any
  // PTE is read; iommu_read_and_clear_dirty(), drivers/iommu/iommufd/io_pagetable.c, drops iova_bitmap_for_each()'s
  // result and returns its own ret, 0: success, no bit set, nothing cleared
  if (!smmu && !vtdReadDirtyAllowed(h)) return done({ dirty: [] });
  const root = h.attrs.root as number;
  const ioas = h.attrs.ioas as number;
  const bits = new Set<bigint>();
  const read: number[] = [];
  for (const pg of dirtyPages(state, root)) {
    const at = BigInt(pg) * BigInt(PAGE_SIZE);
    if (at < iova || at > last || !mapped(state, fd, ioas, pg * PAGE_SIZE)) continue;
    bits.add(iova + ((at - iova) / pageSize) * pageSize);
    read.push(pg);
  }
  const dirty = [...bits].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)).map((b) => (b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : `0x${b.toString(16)}`));
  // iommu_read_and_clear_dirty(): unless IOMMU_DIRTY_NO_CLEAR the bits are cleared and the IOTLB synced
  const lo = read[0];
  const hi = read[read.length - 1];
  if (!(flags & HWPT_GET_DIRTY_BITMAP_NO_CLEAR) && lo !== undefined && hi !== undefined) clearAndSync(ctx, h, lo * PAGE_SIZE, (hi - lo + 1) * PAGE_SIZE);
  return done({ dirty });
}

export const HWPT_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_HWPT_ALLOC: {
    file: 'iommufd', nr: 0x89,
    args: { dev_id: 'int', pt_id: 'int', flags: 'int?', fault_id: 'int?', data_type: 'str?', data: 'args?', data_len: 'int?', data_uptr: 'u64?', __reserved: 'int?' },
    run: (ctx, f, a) => hwptAlloc(ctx, f, a),
  },
  IOMMU_HWPT_SET_DIRTY_TRACKING: { file: 'iommufd', nr: 0x8b, args: { hwpt_id: 'int', flags: 'int?', __reserved: 'int?' }, run: (ctx, f, a) => hwptSetDirtyTracking(ctx, f, a) },
  IOMMU_HWPT_GET_DIRTY_BITMAP: {
    file: 'iommufd', nr: 0x8c,
    args: { hwpt_id: 'int', flags: 'int?', iova: 'u64?', length: 'u64?', page_size: 'u64?', data: 'u64?', __reserved: 'int?' },
    run: (ctx, f, a) => hwptGetDirtyBitmap(ctx, f, a),
  },
  IOMMU_HWPT_INVALIDATE: {
    file: 'iommufd', nr: 0x8d,
    args: { hwpt_id: 'int', data_type: 'str?', entry_len: 'int?', entry_num: 'int?', entries: 'list?', data_uptr: 'u64?', __reserved: 'int?' },
    run: (ctx, f, a) => hwptInvalidate(ctx, f, a),
  },
};
