// Devices and what they are attached to (drivers/iommu/iommufd/device.c):
// iommufd_device_bind, attach / replace / detach of a RID or a PASID with the
// RID-vs-PASID compatibility rule, automatic domains for an IOAS pt_id, the
// DEVICE's lifetime (unbind, and the iommufd context a bound device keeps
// alive), and IOMMU_GET_HW_INFO. The VFIO cdev ioctls that reach these, with
// VFIO's own bookkeeping (vdev->iommufd_attached, vdev->pasids), are in
// engine/vfio.ts.
//
// State on a DEVICE object (attrs):
//   rid            the physical device
//   pasid/N        the HWPT attached at PASID N (0 = the RID, IOMMU_NO_PASID): iommufd's igroup->pasid_attach entry
//                  with this device in its device_array (the model puts every device in its own iommu group)
//   vfioRid        VFIO's vdev->iommufd_attached (drivers/vfio/iommufd.c)
//   vfioPasid/N    N is in VFIO's vdev->pasids ida
//   ctxClosed      the iommufd file was closed while this device was bound (its context lives on, see closeFd)
import type { Ctx } from '../ctx.js';
import { clearEntry, device, installEntry, invalidateAtc, invalidateIotlb, invalidatePasidCache } from '../iommu.js';
import { allocIndex, deviceKeysOf, presentUnder, TAG } from '../indexes.js';
import { k } from '../keys.js';
import { updateWbinvd } from '../kvm.js';
import type { Fields, IoctlSpec } from '../op.js';
import { compareKeys } from '../state.js';
import type { Errno, IommufdCell, Rid, State } from '../types.js';
import { entryFor, HWPT_ALLOC_PASID, hwptPagingAlloc } from './hwpt.js';
import { boundByDriver, create, destroyObj, done, err, firstWith, getObject, obj, objectsWith, update, type IoctlResult } from './object.js';
import { autoRespondFaults, eventFdsOpen } from './eventq.js';
import { ioptCanAddDomain, ioptCanReserveDevice } from './ioas.js';
import { releaseCtx } from './main.js';
import { enumValue, removeVdevice, vdeviceOf } from './viommu.js';
import { smmuAttachDevCheck, smmuDbmCapable, smmuHasSetDevPasid, smmuHwInfo } from '../drivers/smmuv3.js';
import { ssadsSupported, vtdAttachDevCheck, vtdHwInfo } from '../drivers/vtd.js';
import { maxPasids } from '../iommu-sva.js';

/** IOMMU_NO_PASID (include/linux/iommu.h): iommufd's PASID value for the RID, the model's RID_PASID (0). */
export const IOMMU_NO_PASID = 0;

// ---------------------------------------------------------------- lookups

/** Every DEVICE object of every iommufd bound to this RID (at most one: a VFIO device binds once). */
function devicesOf(state: State, rid: Rid): IommufdCell[] {
  // A live run's index has them by RID (engine/indexes.ts); a bare state sorts every object.
  const ix = allocIndex(state);
  return (ix ? deviceKeysOf(ix, rid) : Object.keys(state.s.iommufd).sort(compareKeys)).map((key) => state.s.iommufd[key])
    .filter((o): o is IommufdCell => o !== undefined && o.type === 'DEVICE' && o.attrs.rid === rid);
}

/** The DEVICE bound to this RID in one iommufd. */
export function deviceOf(state: State, fd: string, rid: Rid): IommufdCell | undefined {
  return firstWith(state, fd, TAG.rid(rid), (o) => o.type === 'DEVICE' && o.attrs.rid === rid);
}

/** The DEVICE a VFIO device fd is bound to, in whichever iommufd it was bound (df->iommufd). */
export function boundDevice(state: State, rid: Rid): IommufdCell | undefined {
  return devicesOf(state, rid)[0];
}

const pasidAttr = (pasid: number): string => `pasid/${pasid}`;

/** HWPT attached to (device, pasid); IOMMU_NO_PASID is the RID attachment. */
export function attachedAt(o: IommufdCell, pasid: number): number | null {
  const v = o.attrs[pasidAttr(pasid)];
  return typeof v === 'number' ? v : null;
}

/**
 * Whether the RID is on iommufd's blocked domain: a bound DEVICE with nothing
 * attached, at the RID or any PASID. iommufd_device_bind() claims DMA
 * ownership (iommu_device_claim_dma_owner() -> __iommu_take_dma_ownership(),
 * drivers/iommu/iommu.c, sets group->blocking_domain) and a detach returns the
 * RID to it (iommufd_device_detach(), device.c).
 */
export function onBlockedDomain(state: State, rid: Rid): boolean {
  const dev = boundDevice(state, rid);
  return dev !== undefined && attachedAt(dev, IOMMU_NO_PASID) === null && attachedPasids(dev).length === 0;
}

/** The PASIDs (not the RID) this device is attached at, lowest first. */
function attachedPasids(o: IommufdCell): number[] {
  return Object.keys(o.attrs).filter((key) => key.startsWith('pasid/')).map((key) => Number(key.slice(6)))
    .filter((p) => p !== IOMMU_NO_PASID).sort((x, y) => x - y);
}

export function attachedDevices(state: State, fd: string, hwpt: number): { rid: Rid; pasid: number }[] {
  const out: { rid: Rid; pasid: number }[] = [];
  for (const o of objectsWith(state, fd, TAG.attached(hwpt), (x) => x.type === 'DEVICE')) {
    for (const [key, v] of Object.entries(o.attrs)) {
      if (key.startsWith('pasid/') && v === hwpt) out.push({ rid: o.attrs.rid as Rid, pasid: Number(key.slice(6)) });
    }
  }
  return out.sort((x, y) => compareKeys(`${x.rid}/${x.pasid}`, `${y.rid}/${y.pasid}`));
}

/** The DEVICE's attrs with (pasid -> hwpt) set or cleared and `patch` applied; refs follow the attachments. */
function withAttach(o: IommufdCell, pasid: number, hwpt: number | null | undefined, patch: IommufdCell['attrs'] = {}): { refs: number[]; attrs: IommufdCell['attrs'] } {
  const attrs: IommufdCell['attrs'] = { ...o.attrs };
  if (hwpt === null) delete attrs[pasidAttr(pasid)];
  else if (hwpt !== undefined) attrs[pasidAttr(pasid)] = hwpt;
  for (const [key, v] of Object.entries(patch)) {
    if (v === null) delete attrs[key];
    else attrs[key] = v;
  }
  // Each attachment holds a users reference on its HWPT (iommufd_hw_pagetable_attach: refcount_inc(&hwpt->obj.users)).
  const refs = Object.keys(attrs).filter((key) => key.startsWith('pasid/')).sort(compareKeys).map((key) => attrs[key] as number);
  return { refs, attrs };
}

// ---------------------------------------------------------------- bind

/**
 * iommufd_device_bind(), device.c, as VFIO_DEVICE_BIND_IOMMUFD reaches it
 * (vfio_df_ioctl_bind_iommufd() -> vfio_df_open() -> vfio_iommufd_physical_bind()),
 * after VFIO's own checks (vfioBind(), engine/vfio.ts).
 * The DEVICE's users count starts with the driver's reference, so IOMMU_DESTROY
 * of a bound device is EBUSY (main.ts).
 */
export function deviceBind(ctx: Ctx, fd: string, rid: Rid): IoctlResult {
  const state = ctx.state;
  // iommufd_device_bind(), device.c: a group whose MSIs are not isolated (no interrupt remapping / ITS,
  // !iommu_group_has_isolated_msi()) is refused with -EPERM unless allow_unsafe_interrupts is set.
  const cell = device(state, rid);
  if (state.s.iommu[cell.iommu]?.msiIsolation === false && state.s.host[cell.host]?.allowUnsafeInterrupts !== true) return err('EPERM');
  // iommufd_device_bind(): the object, with refcount_inc(&idev->obj.users) for the calling driver
  const id = create(ctx, fd, 'DEVICE', [], { rid });
  return done({ out_devid: id }, id);
}

// ---------------------------------------------------------------- attach / replace checks

/** hwpt->pasid_compat: the HWPT was allocated with IOMMU_HWPT_ALLOC_PASID (automatic domains never are). */
const pasidCompat = (h: IommufdCell): boolean => ((h.attrs.flags as number | undefined ?? 0) & HWPT_ALLOC_PASID) !== 0;

/**
 * iommufd_hwpt_pasid_compat(), device.c. A RID attach of a HWPT without
 * ALLOC_PASID is refused while any PASID of the group is attached; a PASID
 * attach needs a HWPT with ALLOC_PASID and a RID that is not attached to one
 * without it.
 */
function pasidCompatCheck(state: State, dev: IommufdCell, pasid: number, h: IommufdCell): Errno | null {
  if (pasid === IOMMU_NO_PASID) {
    if (!pasidCompat(h) && attachedPasids(dev).length > 0) return 'EINVAL';
    return null;
  }
  if (!pasidCompat(h)) return 'EINVAL';
  const rid = attachedAt(dev, IOMMU_NO_PASID);
  const ridHwpt = rid === null ? undefined : obj(state, dev.fd, rid);
  if (ridHwpt && !pasidCompat(ridHwpt)) return 'EINVAL';
  return null;
}

/**
 * pci_pri_supported(), drivers/pci/ats.c: the device has a PRI capability; a VF
 * reads its PF's ("VFs share the PF PRI"), the platform's `pri` of its parent
 * (none when the platform names no parent). An mdev / SIOV device is no PCI
 * function. The one reading of the platform's `pri` both checks below use.
 */
function pciPriSupported(state: State, rid: Rid): boolean {
  const cell = device(state, rid);
  if (cell.type === 'vf') return cell.parent !== null && state.s.device[cell.parent]?.pri === true;
  return cell.type === 'pf' && cell.pri === true;
}

/**
 * iommufd_hwpt_compatible_device(), device.c: a fault-capable HWPT is not for a
 * PCI VF whose PF has PRI (the shared PRI would take a response meant for one VF).
 */
function compatibleDevice(state: State, dev: IommufdCell, h: IommufdCell): boolean {
  if (typeof h.attrs.fault !== 'number') return true;
  const rid = dev.attrs.rid as Rid;
  return device(state, rid).type !== 'vf' || !pciPriSupported(state, rid);
}

/** find_hwpt_paging(), iommufd_private.h: a HWPT_PAGING itself, a HWPT_NESTED's parent. */
function pagingOf(state: State, h: IommufdCell): IommufdCell | undefined {
  if (h.type === 'HWPT_PAGING') return h;
  if (h.type === 'HWPT_NESTED') return obj(state, h.fd, h.attrs.parent as number);
  return undefined;
}

/** The driver a HWPT's domain belongs to (domain->owner): the IOMMU it was allocated on. */
function ownerKind(state: State, h: IommufdCell): 'vtd' | 'smmuv3' | undefined {
  return typeof h.attrs.iommu === 'string' ? state.s.iommu[h.attrs.iommu]?.kind : undefined;
}

/** SMMUv3 master->cd_table.used_ssids: a CD installed at a PASID other than 0 (an iommufd PASID attach, an SVA bond). */
function ssidsInUse(state: State, rid: Rid): boolean {
  const prefix = `${rid}/`;
  // A live run counts the present entries under each RID (engine/indexes.ts): all of them but PASID 0's.
  const ix = allocIndex(state);
  if (ix) return presentUnder(ix, prefix) - (state.s.pasid[k.pasid(rid, IOMMU_NO_PASID)]?.p === true ? 1 : 0) > 0;
  return Object.keys(state.s.pasid).some((key) => key.startsWith(prefix) && key !== k.pasid(rid, IOMMU_NO_PASID) && state.s.pasid[key]?.p === true);
}

/**
 * The driver's attach_dev / set_dev_pasid for a HWPT that iommufd and the
 * iommu core let through: the rules live in the driver model files
 * (vtdAttachDevCheck() in engine/drivers/vtd.ts, smmuAttachDevCheck() in
 * engine/drivers/smmuv3.ts); this finds what they look at.
 */
function driverAttachCheck(state: State, dev: IommufdCell, pasid: number, h: IommufdCell): Errno | null {
  const rid = dev.attrs.rid as Rid;
  const iommuId = device(state, rid).iommu;
  const iommu = state.s.iommu[iommuId];
  if (!iommu) return null;
  if (iommu.kind === 'smmuv3') {
    const viommu = h.type === 'HWPT_NESTED' && typeof h.attrs.viommu === 'number' ? h.attrs.viommu : null;
    const hasVdevice = viommu !== null && vdeviceOf(state, dev.fd, viommu, dev.id) !== null;
    return smmuAttachDevCheck(iommuId, h, pasid, { ssidsInUse: ssidsInUse(state, rid), hasVdevice });
  }
  const parent = h.type === 'HWPT_NESTED' ? obj(state, h.fd, h.attrs.parent as number) : undefined;
  const cell = device(state, rid);
  return vtdAttachDevCheck(iommu, h, parent, pasid, { ats: cell.ats, priSupported: pciPriSupported(state, rid) });
}

/**
 * master->vmaster, SMMUv3 (RID only): arm_smmu_attach_prepare_vmaster(),
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c, reads the vSID of the
 * device's vDEVICE on a nested domain's vIOMMU once, at attach; every other
 * attach commits no vmaster (arm_smmu_attach_commit_vmaster(), also from the
 * identity and blocked domains), which clears it. The DEVICE's `vmaster`
 * attribute: the vSID a forwarded event carries (eventq.ts), or absent.
 * `h` null is the blocked domain (a detach).
 */
function vmasterPatch(state: State, dev: IommufdCell, pasid: number, h: IommufdCell | null): IommufdCell['attrs'] {
  if (pasid !== IOMMU_NO_PASID || state.s.iommu[device(state, dev.attrs.rid as Rid).iommu]?.kind !== 'smmuv3') return {};
  const viommu = h?.type === 'HWPT_NESTED' && typeof h.attrs.viommu === 'number' ? h.attrs.viommu : null;
  const vdev = viommu === null ? null : vdeviceOf(state, dev.fd, viommu, dev.id);
  const vsid = vdev === null ? undefined : obj(state, dev.fd, vdev)?.attrs.virt_id;
  return { vmaster: typeof vsid === 'number' ? vsid : null };
}

/**
 * The iommu core's part of an attach or replace (drivers/iommu/iommu.c) and
 * then the driver's, for a HWPT that passed iommufd_hwpt_pasid_compat():
 *  - RID attach, iommu_attach_group_handle(): xa_insert(&group->pasid_array, IOMMU_NO_PASID) -> -EBUSY when
 *    a non-iommufd binding holds the RID entry; __iommu_attach_group(): domain_iommu_ops_compatible() -> -EINVAL
 *    for another driver's domain; the driver's attach_dev.
 *  - RID replace, iommu_replace_group_handle(): the driver's attach_dev (a foreign domain -> -EINVAL).
 *  - PASID attach, iommu_attach_device_pasid(): no domain->ops->set_dev_pasid -> -EOPNOTSUPP (SMMUv3
 *    nested domains); another driver's domain -> -EINVAL; pasid >= max_pasids -> -EINVAL and
 *    xa_insert(&group->pasid_array) -> -EBUSY (an SVA bond, a 2021 /dev/ioasid binding), both only for a device
 *    with PASID support (v6.15+); __iommu_set_group_pasid(): set_dev_pasid, skipped for a device without it.
 *  - PASID replace, iommu_replace_device_pasid(): the same set_dev_pasid / ops checks, no range check; then
 *    set_dev_pasid (skipped without PASID support).
 */
function iommuAttachCheck(state: State, dev: IommufdCell, pasid: number, h: IommufdCell, mode: Mode): Errno | null {
  const rid = dev.attrs.rid as Rid;
  const kind = state.s.iommu[device(state, rid).iommu]?.kind;
  const foreign = kind !== undefined && ownerKind(state, h) !== undefined && ownerKind(state, h) !== kind;
  if (pasid === IOMMU_NO_PASID) {
    if (mode === 'attach' && state.s.pasid[k.pasid(rid, IOMMU_NO_PASID)]?.p) return 'EBUSY';
    if (foreign) return 'EINVAL';
    return driverAttachCheck(state, dev, pasid, h);
  }
  if (kind === 'smmuv3' && !smmuHasSetDevPasid(h)) return 'EOPNOTSUPP';
  if (foreign) return 'EINVAL';
  const max = maxPasids(state, rid);
  if (mode === 'attach') {
    if (max > 0 && pasid >= max) return 'EINVAL';
    if (max > 0 && state.s.pasid[k.pasid(rid, pasid)]?.p) return 'EBUSY';
  }
  return max > 0 ? driverAttachCheck(state, dev, pasid, h) : null;
}

/**
 * The checks of a first attach at (device, pasid), in the order of
 * iommufd_hw_pagetable_attach() -> iommufd_hwpt_attach_device() ->
 * iommu_attach_group_handle() / iommu_attach_device_pasid().
 */
function attachCheck(state: State, dev: IommufdCell, pasid: number, h: IommufdCell): Errno | null {
  // iommufd_hw_pagetable_attach(), device.c: xa_insert(&attach->device_array, idev) -> -EBUSY when this device is
  // already attached at this pasid ("attach does not allow overwrite, use REPLACE instead"), the same HWPT too
  if (attachedAt(dev, pasid) !== null) return 'EBUSY';
  // (an attach of another device of the same group to another HWPT -> -EINVAL: one device per group in the model)
  // iommufd_hw_pagetable_attach(): a RID attach to a HWPT with a paging domain reserves the device's regions in
  // its IOAS, iommufd_device_attach_reserved_iova() -> iopt_table_enforce_dev_resv_regions() -> -EADDRINUSE
  const paging = pagingOf(state, h);
  if (pasid === IOMMU_NO_PASID && paging) {
    const resv = ioptCanReserveDevice(state, dev.fd, paging.attrs.ioas as number, dev.attrs.rid as Rid);
    if (resv) return resv;
  }
  // iommufd_hwpt_compatible_device(), drivers/iommu/iommufd/device.c: a fault-capable HWPT on a VF whose PF has PRI -> -EINVAL
  if (!compatibleDevice(state, dev, h)) return 'EINVAL';
  // iommufd_hwpt_attach_device(): iommufd_hwpt_pasid_compat() -> -EINVAL
  const compat = pasidCompatCheck(state, dev, pasid, h);
  if (compat) return compat;
  return iommuAttachCheck(state, dev, pasid, h, 'attach');
}

/** The checks of iommufd_device_do_replace(), device.c; 'same' when the HWPT is already the one attached. */
function replaceCheck(state: State, dev: IommufdCell, pasid: number, h: IommufdCell): Errno | 'same' | null {
  // iommufd_device_do_replace(): nothing attached at this pasid, or not this device -> -EINVAL
  const cur = attachedAt(dev, pasid);
  if (cur === null) return 'EINVAL';
  // iommufd_device_do_replace(): hwpt == attach->hwpt -> success, nothing changes
  if (cur === h.id) return 'same';
  // iommufd_device_do_replace() -> iommufd_group_do_replace_reserved_iova(): for a RID replace onto a paging
  // domain of another IOAS (or from a HWPT without one) the device's regions are reserved there -> -EADDRINUSE
  const paging = pagingOf(state, h);
  if (pasid === IOMMU_NO_PASID && paging) {
    const old = obj(state, dev.fd, cur);
    const oldPaging = old ? pagingOf(state, old) : undefined;
    if (!oldPaging || oldPaging.attrs.ioas !== paging.attrs.ioas) {
      const resv = ioptCanReserveDevice(state, dev.fd, paging.attrs.ioas as number, dev.attrs.rid as Rid);
      if (resv) return resv;
    }
  }
  // iommufd_hwpt_compatible_device(), drivers/iommu/iommufd/device.c: iommufd_hwpt_replace_device() calls it first -> -EINVAL
  if (!compatibleDevice(state, dev, h)) return 'EINVAL';
  // iommufd_hwpt_replace_device(): iommufd_hwpt_pasid_compat() -> -EINVAL
  const compat = pasidCompatCheck(state, dev, pasid, h);
  if (compat) return compat;
  // iommu_replace_group_handle() / iommu_replace_device_pasid() -> the driver's attach
  return iommuAttachCheck(state, dev, pasid, h, 'replace');
}

type Mode = 'attach' | 'replace';

/** A HWPT to use, or a new automatic domain on an IOAS. */
type Target = { kind: 'hwpt'; h: IommufdCell; same: boolean } | { kind: 'new-auto'; ioas: IommufdCell };

/**
 * An automatic domain not yet created: what the checks need to know of it. It
 * is what iommufd_hwpt_paging_alloc() with flags 0 builds for this device
 * (both drivers: a first-stage domain, no dirty_ops, no nest parent, on the
 * device's IOMMU).
 */
function virtualAuto(state: State, dev: IommufdCell, ioas: IommufdCell): IommufdCell {
  const iommuId = device(state, dev.attrs.rid as Rid).iommu;
  const iommu = state.s.iommu[iommuId];
  return {
    fd: dev.fd, id: -1, type: 'HWPT_PAGING', refs: [ioas.id], users: 0,
    attrs: { ioas: ioas.id, flags: 0, auto: true, enforceSnoop: iommu?.snoopControl ?? false, iommu: iommuId, stage: 'first', nestParent: false, dirtyOps: false, pasidCompat: false },
  };
}

/** iopt_table_add_domain(), io_pagetable.c, for the automatic domain this device's driver would build. */
function addAutoDomainCheck(state: State, dev: IommufdCell, ioas: IommufdCell): Errno | null {
  const kind = state.s.iommu[device(state, dev.attrs.rid as Rid).iommu]?.kind ?? 'vtd';
  return ioptCanAddDomain(state, dev.fd, ioas.id, kind);
}

/**
 * iommufd_device_change_pt(), device.c: decide which HWPT (dev, pasid) ends up
 * on, or the errno; nothing is emitted here.
 */
function decideChangePt(state: State, dev: IommufdCell, pasid: number, ptId: unknown, mode: Mode): Target | Errno {
  const check = (h: IommufdCell): Errno | 'same' | null => (mode === 'attach' ? attachCheck(state, dev, pasid, h) : replaceCheck(state, dev, pasid, h));
  // iommufd_device_change_pt(): iommufd_get_object(ictx, *pt_id, IOMMUFD_OBJ_ANY) -> -ENOENT for an unknown id
  const pt = getObject(state, dev.fd, ptId, 'ANY');
  if (!pt) return 'ENOENT';
  if (pt.type === 'HWPT_PAGING' || pt.type === 'HWPT_NESTED') {
    const r = check(pt);
    if (r === 'same') return { kind: 'hwpt', h: pt, same: true };
    if (r) return r;
    return { kind: 'hwpt', h: pt, same: false };
  }
  if (pt.type === 'IOAS') {
    // iommufd_device_auto_get_domain(): the IOAS's automatic domains in list order; -EINVAL means "incompatible,
    // try the next one", any other error is returned
    for (const h of objectsWith(state, dev.fd, TAG.ioas(pt.id), (o) => o.type === 'HWPT_PAGING' && o.attrs.auto === true && o.attrs.ioas === pt.id)) {
      const r = check(h);
      if (r === 'EINVAL') continue;
      if (r === 'same') return { kind: 'hwpt', h, same: true };
      if (r) return r;
      return { kind: 'hwpt', h, same: false };
    }
    // none fits: iommufd_hwpt_paging_alloc(..., flags 0, immediate_attach) builds one; a failure aborts the new
    // object, so deciding against a virtual one leaves the same state. An attach is immediate: the attach
    // (iommufd_hw_pagetable_attach()) comes before iopt_table_add_domain(); a replace adds the domain to the
    // IOAS first and then replaces onto it (iommufd_device_do_replace()).
    const v = virtualAuto(state, dev, pt);
    if (mode === 'attach') {
      const r = attachCheck(state, dev, pasid, v);
      if (r) return r;
      const add = addAutoDomainCheck(state, dev, pt);
      if (add) return add;
    } else {
      const add = addAutoDomainCheck(state, dev, pt);
      if (add) return add;
      const r = replaceCheck(state, dev, pasid, v);
      if (r && r !== 'same') return r;
    }
    return { kind: 'new-auto', ioas: pt };
  }
  // iommufd_device_change_pt(): any other object type -> -EINVAL
  return 'EINVAL';
}

// ---------------------------------------------------------------- attach / replace / detach (commit)

/**
 * Create the automatic domain iommufd_device_auto_get_domain() allocates: iommufd_hwpt_paging_alloc(), flags 0,
 * no user data (hw_pagetable.c), with hwpt_paging->auto_domain set before the object is finalized.
 */
function createAuto(ctx: Ctx, dev: IommufdCell, ioas: IommufdCell): IommufdCell | Errno {
  const r = hwptPagingAlloc(ctx, dev.fd, ioas, dev, 0, null, { auto: true });
  if (typeof r === 'string') return r;
  return obj(ctx.state, dev.fd, r) ?? 'EINVAL';
}

/** Whether this (RID, PASID) has hardware behind it: the RID always; a PASID only on a device with PASID support. */
const programmed = (state: State, rid: Rid, pasid: number): boolean => pasid === IOMMU_NO_PASID || maxPasids(state, rid) > 0;

/**
 * iommufd_device_attach() / iommufd_device_replace(), device.c: attach (or
 * replace) (dev, pasid) to pt_id, an HWPT or an IOAS. `patch` is the caller's
 * (VFIO's) bookkeeping, written in the same DEVICE update. Returns the HWPT id
 * used (the automatic domain's for an IOAS) as out `pt_id`.
 */
export function changePt(ctx: Ctx, dev: IommufdCell, pasid: number, ptId: unknown, mode: Mode, patch: IommufdCell['attrs'] = {}): IoctlResult {
  const state = ctx.state;
  const decided = decideChangePt(state, dev, pasid, ptId, mode);
  if (typeof decided === 'string') return err(decided);
  const rid = dev.attrs.rid as Rid;
  if (decided.kind === 'hwpt' && decided.same) {
    // iommufd_device_do_replace(): the same HWPT: nothing changes but the caller's bookkeeping
    const next = withAttach(dev, pasid, undefined, patch);
    if (Object.keys(patch).length > 0) update(ctx, dev, next.refs, next.attrs);
    return done({ pt_id: decided.h.id }, decided.h.id);
  }
  let h: IommufdCell;
  if (decided.kind === 'new-auto') {
    const made = createAuto(ctx, dev, decided.ioas);
    if (typeof made === 'string') return err(made);
    h = made;
  } else {
    h = decided.h;
  }
  const cur = obj(state, dev.fd, dev.id) ?? dev;
  const old = attachedAt(cur, pasid);
  if (programmed(state, rid, pasid)) {
    const entry = entryFor(h);
    if (old !== null) {
      // the driver's replace (iommu_replace_group_handle / iommu_replace_device_pasid): rewrite the present entry,
      // then flush what the old domain cached
      const before = state.s.pasid[k.pasid(rid, pasid)] ?? null;
      ctx.emit({ kind: 'pasid-write', rid, pasid, before, after: { p: true, ...entry } });
      const cell = device(state, rid);
      invalidatePasidCache(ctx, cell.iommu, 'pasid', before?.did ?? null, pasid);
      invalidateIotlb(ctx, cell.iommu, 'pasid', before?.did ?? null, pasid, null, null);
      if (cell.ats) invalidateAtc(ctx, rid, 'pasid', pasid, null, null);
    } else if (installEntry(ctx, rid, pasid, entry) === 'EBUSY') {
      // the RID entry held by a non-iommufd binding (the 2021 /dev/ioasid path): the driver's attach fails
      return err('EBUSY');
    }
  }
  // iommufd_hwpt_replace_device(): once the replace succeeded, the old handle's pending faults are answered
  // (iommufd_auto_response_faults(), eventq.c)
  if (old !== null) autoRespondFaults(ctx, dev.fd, old, dev.id, pasid);
  const next = withAttach(cur, pasid, h.id, { ...patch, ...vmasterPatch(state, cur, pasid, h) });
  update(ctx, cur, next.refs, next.attrs);
  ctx.emit({ kind: 'bind', rid, pasid, owner: device(state, rid).vm ?? dev.fd, via: `${dev.fd} HWPT ${h.id}`, space: null });
  updateWbinvd(ctx, device(state, rid).vm);
  // iommufd_device_change_pt(): the replaced HWPT is put after everything is unlocked (iommufd_hw_pagetable_put)
  if (old !== null) putHwpt(ctx, dev.fd, old);
  return done({ pt_id: h.id }, h.id);
}

/**
 * iommufd_hw_pagetable_put(), iommufd_private.h: an automatic domain nobody
 * holds any more is destroyed (iommufd_object_put_and_try_destroy); any other
 * HWPT just loses the reference (done by the DEVICE update's refs).
 */
function putHwpt(ctx: Ctx, fd: string, id: number): void {
  const h = obj(ctx.state, fd, id);
  if (h && h.type === 'HWPT_PAGING' && h.attrs.auto === true && h.users === 0) destroyObj(ctx, h);
}

/**
 * iommufd_device_detach(), device.c: nothing attached at (dev, pasid) is a
 * no-op; else the device goes back to blocking DMA there and the HWPT is put.
 */
export function detachAt(ctx: Ctx, dev: IommufdCell, pasid: number, patch: IommufdCell['attrs'] = {}): void {
  const cur = obj(ctx.state, dev.fd, dev.id) ?? dev;
  const old = attachedAt(cur, pasid);
  const next = withAttach(cur, pasid, null, old === null ? patch : { ...patch, ...vmasterPatch(ctx.state, cur, pasid, null) });
  if (old === null) {
    if (Object.keys(patch).length > 0) update(ctx, cur, next.refs, next.attrs);
    return;
  }
  const rid = cur.attrs.rid as Rid;
  // iommufd_hwpt_detach_device(): iommu_detach_group_handle() / iommu_detach_device_pasid() (blocked domain)
  if (programmed(ctx.state, rid, pasid)) clearEntry(ctx, rid, pasid);
  // iommufd_hwpt_detach_device(): then the pending faults of that attach handle are answered INVALID
  autoRespondFaults(ctx, cur.fd, old, cur.id, pasid);
  update(ctx, cur, next.refs, next.attrs);
  ctx.emit({ kind: 'bind', rid, pasid, owner: null, via: `${cur.fd} detach`, space: null });
  updateWbinvd(ctx, device(ctx.state, rid).vm);
  putHwpt(ctx, cur.fd, old);
}

// ---------------------------------------------------------------- unbind, and the context a device holds

/**
 * close() of the iommufd while devices are bound. A bound physical device
 * holds a reference on the context (iommufd_ctx_get() in iommufd_device_bind(),
 * put in iommufd_device_destroy(); VFIO's df->iommufd too), so the close
 * releases nothing: each DEVICE is marked, and the release
 * (iommufd_fops_release(), main.ts releaseCtx) runs when the last one is
 * unbound. Returns whether a device holds the context.
 */
export function holdCtx(ctx: Ctx, fd: string): boolean {
  const devs = objectsWith(ctx.state, fd, TAG.type('DEVICE'), (o) => o.type === 'DEVICE');
  for (const d of devs) if (d.attrs.ctxClosed !== true) update(ctx, d, d.refs, { ...d.attrs, ctxClosed: true });
  return devs.length > 0;
}

/**
 * The VFIO device fd closes: vfio_df_unbind_iommufd() -> vfio_iommufd_physical_unbind(), drivers/vfio/iommufd.c:
 * every PASID VFIO attached, lowest first, then the RID, then iommufd_device_unbind() -> iommufd_object_destroy_user():
 * pre_destroy iommufd_device_remove_vdev() destroys the device's vDEVICE and leaves its id a tombstone, then the
 * DEVICE goes (its id is free again). A device that is not bound: nothing happens.
 */
export function deviceUnbind(ctx: Ctx, _fd: string, rid: Rid): IoctlResult {
  const dev = boundDevice(ctx.state, rid);
  if (!dev) return done();
  const fd = dev.fd;
  const vfioPasids = Object.keys(dev.attrs).filter((key) => key.startsWith('vfioPasid/')).map((key) => Number(key.slice(10))).sort((x, y) => x - y);
  for (const pasid of vfioPasids) detachAt(ctx, dev, pasid, { [`vfioPasid/${pasid}`]: null });
  if (dev.attrs.vfioRid === true) detachAt(ctx, dev, IOMMU_NO_PASID, { vfioRid: null });
  // anything iommufd still has attached (not through VFIO's bookkeeping) goes too
  const left = obj(ctx.state, fd, dev.id) ?? dev;
  for (const key of Object.keys(left.attrs).filter((x) => x.startsWith('pasid/')).sort(compareKeys)) detachAt(ctx, left, Number(key.slice(6)));
  for (const v of objectsWith(ctx.state, fd, TAG.vdevOf(dev.id), (x) => x.type === 'VDEVICE' && x.attrs.dev === dev.id && x.attrs.leaked !== true)) {
    removeVdevice(ctx, v);
    update(ctx, v, [], { ...v.attrs, leaked: true });
  }
  const cur = obj(ctx.state, fd, dev.id);
  const closed = cur?.attrs.ctxClosed === true;
  if (cur) destroyObj(ctx, cur);
  // the last device of a closed iommufd drops its reference on the context (iommufd_device_destroy():
  // iommufd_ctx_put()); the release, iommufd_fops_release(), runs when no emulated device's ACCESS and no open
  // FAULT / vEVENTQ fd holds one either (iommufd_eventq_init() took one; the last eventq-close releases otherwise)
  if (closed && !boundByDriver(ctx.state, fd) && !eventFdsOpen(ctx.state, fd)) releaseCtx(ctx, fd);
  return done();
}

// ---------------------------------------------------------------- GET_HW_INFO

/**
 * enum iommu_hw_info_type, include/uapi/linux/iommufd.h: NONE and DEFAULT are
 * both 0 (NONE is what a driver without info reports, DEFAULT what a caller
 * asks for).
 */
export const HW_INFO_TYPES: Readonly<Record<string, number>> = { NONE: 0, DEFAULT: 0, INTEL_VTD: 1, ARM_SMMUV3: 2, TEGRA241_CMDQV: 3 };

/** IOMMU_HW_INFO_FLAG_INPUT_TYPE: in_data_type carries the type asked for. */
export const HW_INFO_FLAG_INPUT_TYPE = 1 << 0;
/** IOMMU_HW_CAP_DIRTY_TRACKING in out_capabilities. */
export const HW_CAP_DIRTY_TRACKING = 1 << 0;
/** IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED in out_capabilities (enum iommufd_hw_capabilities, newest mainline). */
export const HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3;

/**
 * IOMMU_GET_HW_INFO: iommufd_get_hw_info(), device.c (H2). Out: out_data_type
 * and data_len (the driver's struct; the buffer's contents are not modelled),
 * out_capabilities (DIRTY_TRACKING, PCI_ATS_NOT_SUPPORTED; not PCI_PASID_EXEC /
 * _PRIV), out_max_pasid_log2.
 */
export function getHwInfo(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const flags = typeof a.flags === 'number' ? a.flags : 0;
  // iommufd_get_hw_info(): flags beyond IOMMU_HW_INFO_FLAG_INPUT_TYPE -> -EOPNOTSUPP
  if (flags & ~HW_INFO_FLAG_INPUT_TYPE) return err('EOPNOTSUPP');
  // iommufd_get_hw_info(): cmd->__reserved[] -> -EOPNOTSUPP
  if (typeof a.__reserved === 'number' && a.__reserved !== 0) return err('EOPNOTSUPP');
  // iommufd_get_hw_info(): without INPUT_TYPE the type field is taken as IOMMU_HW_INFO_TYPE_DEFAULT
  // (the type is a number: a name and its number are the same request)
  const type = flags & HW_INFO_FLAG_INPUT_TYPE ? enumValue(a.in_data_type, HW_INFO_TYPES) : 0;
  // iommufd_get_device(), iommufd_private.h: unknown id or not a DEVICE -> -ENOENT
  const dev = getObject(ctx.state, fd, a.dev_id, 'DEVICE');
  if (!dev) return err('ENOENT');
  const cell = device(ctx.state, dev.attrs.rid as Rid);
  const iommu = ctx.state.s.iommu[cell.iommu];
  if (!iommu) return err('ENODEV');
  const smmu = iommu.kind === 'smmuv3';
  // ops->hw_info(dev, &data_len, &type): intel_iommu_hw_info() / arm_smmu_hw_info(): another type -> -EOPNOTSUPP
  const info = smmu ? smmuHwInfo(type) : vtdHwInfo(type);
  if (typeof info === 'string') return err(info);
  // iommufd_get_hw_info(): IOMMU_HW_CAP_DIRTY_TRACKING when device_iommu_capable(IOMMU_CAP_DIRTY_TRACKING)
  let caps = (smmu ? smmuDbmCapable(iommu) : ssadsSupported(iommu)) ? HW_CAP_DIRTY_TRACKING : 0;
  // iommufd_get_hw_info(), drivers/iommu/iommufd/device.c (newest mainline, after v6.18): "Report when ATS cannot be
  // used for this device": IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED when !device_iommu_capable(IOMMU_CAP_PCI_ATS_SUPPORTED).
  // intel_iommu_capable() answers info->ats_supported (ecap DT, the device's ATS capability, dmar_ats_supported());
  // arm_smmu_capable() answers arm_smmu_ats_supported() (FEAT_ATS, IOMMU_FWSPEC_PCI_RC_ATS, pci_ats_supported()):
  // in the model both are the device's `ats` (an ATC the IOMMU uses)
  if (!cell.ats) caps |= HW_CAP_PCI_ATS_NOT_SUPPORTED;
  // iommufd_get_hw_info(): ilog2(dev->iommu->max_pasids), 0 without PASID: the smaller of the device's PASID
  // width and the IOMMU's (dev_iommu_get_max_pasids(), iommu.c), and only when PASID was enabled at probe
  const cap = cell.pasidCap;
  const maxPasid = cap && cap.enabled !== false ? Math.min(cap.width, iommu.pasidBits ?? 20) : 0;
  return done({ out_data_type: info.type, data_len: info.len, out_capabilities: caps, out_max_pasid_log2: maxPasid });
}

export const DEVICE_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_GET_HW_INFO: { file: 'iommufd', nr: 0x8a, args: { dev_id: 'int', flags: 'int?', in_data_type: 'str?', data_len: 'int?', __reserved: 'int?' }, run: (ctx, f, a) => getHwInfo(ctx, f, a) },
};
