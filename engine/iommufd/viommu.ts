// vIOMMU, vDEVICE and HW queue (drivers/iommu/iommufd/viommu.c):
// IOMMU_VIOMMU_ALLOC over a nest parent, IOMMU_VDEVICE_ALLOC binding a
// virt_id to a device, IOMMU_HW_QUEUE_ALLOC up to the driver op the model's
// SMMUv3 lacks. Each check in the kernel's order, cited.
import type { Ctx } from '../ctx.js';
import { armSmmuCanBackViommu, armVsmmuInit } from '../drivers/smmuv3-viommu.js';
import { device } from '../iommu.js';
import { k } from '../keys.js';
import { u64, U64_MAX, type Fields, type IoctlSpec } from '../op.js';
import type { ArgValue, IommufdCell, Rid, State, VdevCell } from '../types.js';
import { HWPT_ALLOC_NEST_PARENT } from './hwpt.js';
import { TAG } from '../indexes.js';
import { create, done, err, firstWith, getObject, type IoctlResult } from './object.js';

/** enum iommu_viommu_type, include/uapi/linux/iommufd.h. */
export const VIOMMU_TYPES: Readonly<Record<string, number>> = { DEFAULT: 0, ARM_SMMUV3: 1, TEGRA241_CMDQV: 2 };
/** enum iommu_hw_queue_type. */
export const HW_QUEUE_TYPES: Readonly<Record<string, number>> = { DEFAULT: 0, TEGRA241_CMDQV: 1 };

/**
 * A __u32 type field: one of the enum's names, or a number written as a
 * decimal / 0x-hex string ("0xdead"). Absent is 0 (the zeroed struct field).
 * A name the enum does not have stands for a value no driver supports.
 */
export function enumValue(v: ArgValue | undefined, names: Readonly<Record<string, number>>): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string' && Object.hasOwn(names, v)) return names[v] as number;
  const n = u64(v);
  return n === undefined ? -1 : Number(n);
}

/** The enum name of a type value, for display (the number when it has none). */
export function enumName(value: number, names: Readonly<Record<string, number>>): string {
  return Object.keys(names).find((name) => names[name] === value) ?? `0x${value.toString(16)}`;
}

/** A flags-like field: absent is 0. */
const flagsOf = (v: ArgValue | undefined): number => (typeof v === 'number' ? v : 0);

export function viommuAlloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const type = enumValue(a.type, VIOMMU_TYPES);
  // iommufd_viommu_alloc_ioctl(), viommu.c: flags must be 0 and type DEFAULT is reserved -> -EOPNOTSUPP
  if (flagsOf(a.flags) !== 0 || type === VIOMMU_TYPES.DEFAULT) return err('EOPNOTSUPP');
  // iommufd_get_device(), iommufd_private.h: unknown id or not a DEVICE -> -ENOENT
  const dev = getObject(state, fd, a.dev_id, 'DEVICE');
  if (!dev) return err('ENOENT');
  const iommuId = device(state, dev.attrs.rid as Rid).iommu;
  const iommu = state.s.iommu[iommuId];
  // iommufd_viommu_alloc_ioctl(): dev_iommu_ops() without get_viommu_size / viommu_init -> -EOPNOTSUPP
  // (intel_iommu_ops has neither in 6.18: no vIOMMU on VT-d)
  if (!iommu || iommu.kind !== 'smmuv3') return err('EOPNOTSUPP');
  // iommufd_viommu_alloc_ioctl(): ops->get_viommu_size(dev, type) == 0 -> -EOPNOTSUPP (arm_smmu_get_viommu_size()),
  // checked before the HWPT is looked up
  if (!armSmmuCanBackViommu(iommu, type)) return err('EOPNOTSUPP');
  // iommufd_get_hwpt_paging(), iommufd_private.h: unknown id or not a HWPT_PAGING -> -ENOENT
  const h = getObject(state, fd, a.hwpt_id, 'HWPT_PAGING');
  if (!h) return err('ENOENT');
  // iommufd_viommu_alloc_ioctl(): !hwpt_paging->nest_parent -> -EINVAL
  if (!((h.attrs.flags as number) & HWPT_ALLOC_NEST_PARENT)) return err('EINVAL');
  // ops->viommu_init = arm_vsmmu_init(), arm-smmu-v3-iommufd.c: the S2 must be this SMMU's -> -EINVAL
  const initErr = armVsmmuInit(iommuId, h);
  if (initErr) return err(initErr);
  // viommu->iommu_dev = the device's IOMMU instance; the vIOMMU holds a users reference on the nest parent
  const id = create(ctx, fd, 'VIOMMU', [h.id], { hwpt: h.id, type: enumName(type, VIOMMU_TYPES), iommu: iommuId });
  return done({ out_viommu_id: id }, id);
}

/** A vDEVICE that is not a tombstone (a device unbound before its vDEVICE leaves one). */
const live = (o: IommufdCell): boolean => o.type === 'VDEVICE' && o.attrs.leaked !== true;

/** The device's vDEVICE on this vIOMMU (the vSID a nested attach and a vEVENT need), or null. */
export function vdeviceOf(state: State, fd: string, viommu: number, devId: number): number | null {
  const o = firstWith(state, fd, TAG.vdevOf(devId), (x) => live(x) && x.attrs.viommu === viommu && x.attrs.dev === devId);
  return o ? o.id : null;
}

/** idev->vdev: the device's one vDEVICE, on whichever vIOMMU, or null. */
export function vdeviceOfDevice(state: State, fd: string, devId: number): IommufdCell | null {
  return firstWith(state, fd, TAG.vdevOf(devId), (x) => live(x) && x.attrs.dev === devId) ?? null;
}

/**
 * IOMMU_VDEVICE_ALLOC. The abort path of an allocation that loses the virt_id
 * removes only its own xarray slot (xa_cmpxchg); the `abort=erase` design
 * erases by virt_id and deletes the legitimate owner's slot (seed 004: raised
 * in review of the vDEVICE series, not what was merged).
 */
export function vdeviceAlloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const early = vdeviceEarly(ctx.state, fd, a);
  if ('errno' in early) return early;
  // iommufd_vdevice_alloc_ioctl(): idev->vdev already set -> -EEXIST (one vDEVICE per device, on any vIOMMU)
  if (early.exists) return err('EEXIST');
  const virtId = a.virt_id as number;
  if (vdeviceSlot(ctx.state, fd, early.viommu, virtId)) {
    // iommufd_vdevice_alloc_ioctl(): xa_cmpxchg(&viommu->vdevs, virt_id, NULL, vdev) finds the slot taken -> -EEXIST;
    // iommufd_vdevice_abort(): xa_cmpxchg(vdevs, virt_id, vdev, NULL) clears only a slot holding this vdev
    if (ctx.choice('abort', 'cmpxchg') === 'erase') vdeviceAbortErase(ctx, fd, early.viommu, virtId);
    return err('EEXIST');
  }
  return vdeviceCreate(ctx, fd, early.viommu, early.dev, virtId, early.rid);
}

/**
 * iommufd_vdevice_alloc_ioctl() up to mutex_lock(&idev->igroup->lock): the
 * vIOMMU and device lookups and the iommu_dev check; `exists`: idev->vdev is
 * set (checked under the lock: -EEXIST).
 */
export function vdeviceEarly(state: State, fd: string, a: Fields): IoctlResult | { viommu: number; dev: number; rid: Rid; exists: boolean } {
  // iommufd_vdevice_alloc_ioctl(), viommu.c: virt_id > ULONG_MAX -> -EINVAL (a u64 never is on 64-bit)
  // iommufd_get_viommu(), iommufd_private.h: unknown id or not a VIOMMU -> -ENOENT
  const viommu = getObject(state, fd, a.viommu_id, 'VIOMMU');
  if (!viommu) return err('ENOENT');
  // iommufd_get_device() -> -ENOENT
  const dev = getObject(state, fd, a.dev_id, 'DEVICE');
  if (!dev) return err('ENOENT');
  const rid = dev.attrs.rid as Rid;
  // iommufd_vdevice_alloc_ioctl(): viommu->iommu_dev != __iommu_get_iommu_dev(idev->dev) -> -EINVAL
  if (viommu.attrs.iommu !== device(state, rid).iommu) return err('EINVAL');
  return { viommu: viommu.id, dev: dev.id, rid, exists: vdeviceOfDevice(state, fd, dev.id) !== null };
}

/** What holds viommu->vdevs[virt_id] now, if anything. */
export function vdeviceSlot(state: State, fd: string, viommu: number, virtId: number): VdevCell | undefined {
  return state.s.vdev[k.vdev(fd, viommu, virtId)];
}

/** The `abort=erase` design's abort: xa_erase(&viommu->vdevs, virt_id) takes whatever holds the slot (seed 004). */
export function vdeviceAbortErase(ctx: Ctx, fd: string, viommu: number, virtId: number): void {
  const slot = vdeviceSlot(ctx.state, fd, viommu, virtId);
  if (slot) ctx.emit({ kind: 'vdev-map', fd, viommu, virtId, rid: null, vdevice: slot.vdevice });
}

/** xa_cmpxchg put the vDEVICE in its slot: the object (finalized) and the slot. */
export function vdeviceCreate(ctx: Ctx, fd: string, viommu: number, devId: number, virtId: number, rid: Rid): IoctlResult {
  // the vDEVICE holds a users reference on the vIOMMU (refcount_inc(&viommu->obj.users))
  const id = create(ctx, fd, 'VDEVICE', [viommu], { viommu, dev: devId, virt_id: virtId, rid });
  ctx.emit({ kind: 'vdev-map', fd, viommu, virtId, rid, vdevice: id });
  return done({ out_vdevice_id: id }, id);
}

/** iommufd_vdevice_abort(), viommu.c: the vIOMMU's xarray slot goes, if it is still this vDEVICE's (xa_cmpxchg). */
export function removeVdevice(ctx: Ctx, o: IommufdCell): void {
  const slot = ctx.state.s.vdev[k.vdev(o.fd, o.attrs.viommu as number, o.attrs.virt_id as number)];
  if (slot?.vdevice === o.id) ctx.emit({ kind: 'vdev-map', fd: o.fd, viommu: o.attrs.viommu as number, virtId: o.attrs.virt_id as number, rid: null, vdevice: o.id });
}

/** A vDEVICE its device's unbind destroyed: its id stays a tombstone until the iommufd closes. */
export const isTombstone = (o: IommufdCell): boolean => o.type === 'VDEVICE' && o.attrs.leaked === true;

/**
 * IOMMU_HW_QUEUE_ALLOC, iommufd_hw_queue_alloc_ioctl(), viommu.c. Modelled up
 * to the driver op: the model's SMMUv3 has no Tegra241 CMDQV, whose
 * hw_queue_init_phys is the only one besides the selftest's mock, so a valid
 * request ends in -EOPNOTSUPP and creates nothing.
 */
export function hwQueueAlloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const type = enumValue(a.type, HW_QUEUE_TYPES);
  // iommufd_hw_queue_alloc_ioctl(): flags must be 0, type DEFAULT is reserved -> -EOPNOTSUPP
  if (flagsOf(a.flags) !== 0 || type === HW_QUEUE_TYPES.DEFAULT) return err('EOPNOTSUPP');
  const length = u64(a.length) ?? 0n;
  const base = u64(a.nesting_parent_iova) ?? 0n;
  // iommufd_hw_queue_alloc_ioctl(): length == 0 -> -EINVAL
  if (length === 0n) return err('EINVAL');
  // iommufd_hw_queue_alloc_ioctl(): check_add_overflow(nesting_parent_iova, length - 1) -> -EOVERFLOW
  if (base + length - 1n > U64_MAX) return err('EOVERFLOW');
  // iommufd_get_viommu() -> -ENOENT
  const viommu = getObject(ctx.state, fd, a.viommu_id, 'VIOMMU');
  if (!viommu) return err('ENOENT');
  // iommufd_hw_queue_alloc_ioctl(): !viommu->ops->get_hw_queue_size || !hw_queue_init_phys -> -EOPNOTSUPP
  // (arm_vsmmu_ops has neither; only the Tegra241 CMDQV vIOMMU type does)
  return err('EOPNOTSUPP');
}

export const VIOMMU_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_VIOMMU_ALLOC: { file: 'iommufd', nr: 0x90, args: { dev_id: 'int', hwpt_id: 'int', type: 'str?', flags: 'int?' }, run: (ctx, f, a) => viommuAlloc(ctx, f, a) },
  IOMMU_VDEVICE_ALLOC: { file: 'iommufd', nr: 0x91, args: { viommu_id: 'int', dev_id: 'int', virt_id: 'int' }, run: (ctx, f, a) => vdeviceAlloc(ctx, f, a) },
  IOMMU_HW_QUEUE_ALLOC: {
    file: 'iommufd', nr: 0x94,
    args: { viommu_id: 'int', type: 'str?', index: 'int?', nesting_parent_iova: 'u64?', length: 'u64?', flags: 'int?' },
    run: (ctx, f, a) => hwQueueAlloc(ctx, f, a),
  },
};
