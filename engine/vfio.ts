// The VFIO device cdev ioctls that reach iommufd (drivers/vfio/device_cdev.c,
// drivers/vfio/iommufd.c): bind a device to an iommufd, attach it to (or
// detach it from) a page table at its RID or a PASID. VFIO keeps its own
// record of what it attached (vdev->iommufd_attached, the vdev->pasids ida:
// DEVICE attrs vfioRid / vfioPasid/N) and turns a second attach into an
// iommufd replace; a detach of something not attached is success.
//
// The device's driver picks the ops: vfio-pci (a PF or VF) has the physical
// ops (a DEVICE, engine/iommufd/device.ts); an mdev / SIOV device the emulated
// ops, which bind an ACCESS and attach it to an IOAS only
// (engine/iommufd/access.ts).
//
// Each struct starts with the caller's `argsz` (args.argsz; absent: the struct
// the given fields fill). Sizes from include/uapi/linux/vfio.h; the checks
// after the newest mainline drivers/vfio/device_cdev.c, whose bind copies the
// whole struct (commit 2f03f21fe751, "vfio: Fix ksize arg while copying user
// struct in vfio_df_ioctl_bind_iommufd()").
import { device } from './iommu.js';
import { copyStruct, type StructAbi } from './iommufd/abi.js';
import { accessAttach, accessCreate, accessDetach, accessOf, accessUnbind } from './iommufd/access.js';
import { boundDevice, changePt, detachAt, deviceBind, deviceUnbind, IOMMU_NO_PASID } from './iommufd/device.js';
import { err, done, type IoctlResult } from './iommufd/object.js';
import { ScenarioRunError } from './limits.js';
import type { Ctx } from './ctx.js';
import { u64, type Fields, type IoctlSpec } from './op.js';
import type { Errno, IommufdCell, Rid, State } from './types.js';

export const VFIO_DEVICE_BIND_FLAG_TOKEN = 1 << 0;
export const VFIO_DEVICE_ATTACH_PASID = 1 << 0;
export const VFIO_DEVICE_DETACH_PASID = 1 << 0;

/**
 * struct vfio_device_bind_iommufd: argsz, flags, iommufd, out_devid (minsz
 * offsetofend(out_devid) = 16), token_uuid_ptr (bytes 16..23), sizeof 24. The
 * token UUID itself is not the model's: an absent token_uuid_ptr addresses a
 * readable one, 0 is NULL.
 */
const BIND_ABI: StructAbi = { size: 24, min: 16, late: { token_uuid_ptr: { at: 16, end: 24 } }, pointee: { pointer: 'token_uuid_ptr' } };
/** struct vfio_device_attach_iommufd_pt: argsz, flags, pt_id (minsz offsetofend(pt_id) = 12), pasid (xend 16). */
const ATTACH_SZ = { minsz: 12, xend: 16 };
/** struct vfio_device_detach_iommufd_pt: argsz, flags (minsz offsetofend(flags) = 8), pasid (xend 12). */
const DETACH_SZ = { minsz: 8, xend: 12 };

const iommufdOf = (a: { iommufd?: unknown }): string => (typeof a.iommufd === 'string' ? a.iommufd : 'iommufd');
const flagsOf = (a: Fields): number => (typeof a.flags === 'number' ? a.flags : 0);

/**
 * The ops a VFIO driver provides: vfio-pci (a PF or VF) has the physical
 * ops (vfio_iommufd_physical_*) with pasid_attach_ioas / pasid_detach_ioas and
 * match_token_uuid; an mdev / SIOV device uses the emulated ops
 * (vfio_iommufd_emulated_*, vfio_register_emulated_iommu_dev()), which have
 * none of those three.
 */
const emulated = (ctx: Ctx, rid: Rid): boolean => device(ctx.state, rid).type === 'siov';
const hasPasidOps = (ctx: Ctx, rid: Rid): boolean => !emulated(ctx, rid);

/**
 * vfio_device_fops_unl_ioctl(), drivers/vfio/vfio_main.c: every ioctl but
 * BIND_IOMMUFD needs access_granted (a bound device) -> -EINVAL. The binding
 * is the DEVICE of a physical device, the ACCESS of an emulated one.
 */
function bound(ctx: Ctx, rid: Rid): IommufdCell | undefined {
  return emulated(ctx, rid) ? accessOf(ctx.state, rid) : boundDevice(ctx.state, rid);
}

/** The struct's size: `argsz` as given, else the struct the given fields fill (pasid is the struct's last field). */
const argszOf = (a: Fields, sz: { minsz: number; xend: number }): number =>
  (typeof a.argsz === 'number' ? a.argsz : a.pasid === undefined ? sz.minsz : sz.xend);

/**
 * An SR-IOV PF (pdev->is_physfn, so vfio_pci_vf_init() gave it a vdev->vf_token): a PF some VF of the platform names
 * as its `parent`. The platform says nothing of an SR-IOV capability whose VFs are not enabled, so a PF without VFs
 * is taken to have none.
 */
const sriovPf = (state: State, rid: Rid): boolean =>
  Object.values(state.s.device).some((d) => d !== undefined && d.type === 'vf' && d.parent === rid);

/**
 * vfio_df_check_token(), drivers/vfio/device_cdev.c, with vfio-pci's match_token_uuid,
 * vfio_pci_core_match_token_uuid(), drivers/vfio/pci/vfio_pci_core.c. Modelled: the emulated drivers (no
 * match_token_uuid), the token's copy, and a device that is neither a VF nor an SR-IOV PF. Not modelled (no
 * platform fact says whether a PF is bound to vfio-pci, what its VF token is, or whether its VFs are open): a VF's
 * token against its PF's (EINVAL when the PF is not vfio-pci, EACCES when missing or different) and an SR-IOV PF's
 * with VF users (EACCES); those are accepted, with or without a token.
 */
function checkToken(ctx: Ctx, rid: Rid, flags: number, ptr: Fields[string], argsz: number): Errno | null {
  const token = (flags & VFIO_DEVICE_BIND_FLAG_TOKEN) !== 0;
  // vfio_df_check_token(), drivers/vfio/device_cdev.c: no device->ops->match_token_uuid (the emulated drivers):
  // VFIO_DEVICE_BIND_FLAG_TOKEN -> -EINVAL, else 0
  if (emulated(ctx, rid)) return token ? 'EINVAL' : null;
  // vfio_df_check_token(): no FLAG_TOKEN -> match_token_uuid(device, NULL), 0 for every device the model tells apart
  if (!token) return null;
  if (ptr === undefined && argsz > BIND_ABI.min && argsz < BIND_ABI.size) {
    throw new ScenarioRunError(ctx.step, `VFIO_DEVICE_BIND_IOMMUFD with argsz ${argsz} copies ${argsz - BIND_ABI.min} of token_uuid_ptr's 8 bytes: without token_uuid_ptr the model gives the token no address, so which memory the kernel reads is not modelled (give token_uuid_ptr)`);
  }
  // vfio_df_check_token(), drivers/vfio/device_cdev.c: copy_from_user(&uuid, u64_to_user_ptr(bind->token_uuid_ptr),
  // sizeof(uuid)) -> -EFAULT; the one unreadable pointer the model knows is NULL (a cut one is made NULL by copyStruct())
  if (ptr !== undefined && u64(ptr) === 0n) return 'EFAULT';
  // vfio_pci_core_match_token_uuid(), drivers/vfio/pci/vfio_pci_core.c: not a VF, no vdev->vf_token (not an SR-IOV PF),
  // and a uuid: "VF token incorrectly provided, not a PF or VF" -> -EINVAL
  if (device(ctx.state, rid).type === 'pf' && !sriovPf(ctx.state, rid)) return 'EINVAL';
  return null;
}

/**
 * VFIO_DEVICE_BIND_IOMMUFD, vfio_df_ioctl_bind_iommufd(), drivers/vfio/device_cdev.c: the size, the copy, the
 * flags, access_granted, the VF token; then a physical device goes on to iommufd_device_bind() (deviceBind()), an
 * emulated one to vfio_iommufd_emulated_bind() -> iommufd_access_create(): no MSI-isolation check, as
 * iommufd_device_bind() is never called.
 */
export function vfioBind(ctx: Ctx, fd: string, rid: Rid, raw: Fields): IoctlResult {
  const argsz = typeof raw.argsz === 'number' ? raw.argsz : BIND_ABI.size;
  // vfio_df_ioctl_bind_iommufd(), drivers/vfio/device_cdev.c: get_user(user_size, &arg->argsz); user_size < minsz -> -EINVAL
  if (argsz < BIND_ABI.min) return err('EINVAL');
  // vfio_df_ioctl_bind_iommufd(), drivers/vfio/device_cdev.c: copy_struct_from_user(&bind, sizeof(bind), arg, user_size):
  // a non-zero byte past the struct -> -E2BIG; a shorter struct has token_uuid_ptr zero-filled (or cut)
  const copied = copyStruct('VFIO_DEVICE_BIND_IOMMUFD', BIND_ABI, argsz, raw, ctx.step, ['argsz', 'tail']);
  if ('errno' in copied) return err(copied.errno);
  const a = copied.args;
  const flags = flagsOf(a);
  // vfio_df_ioctl_bind_iommufd(), drivers/vfio/device_cdev.c: bind.flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN -> -EINVAL
  // (bind.iommufd < 0 is not expressible: the model names the iommufd)
  if (flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN) return err('EINVAL');
  // vfio_df_ioctl_bind_iommufd(), drivers/vfio/device_cdev.c: df->access_granted -> -EINVAL; from another fd of the
  // same device, vfio_df_open(), drivers/vfio/vfio_main.c: open_count != 0 on the cdev path -> -EINVAL. Either way a
  // device bound in any iommufd cannot be bound again. (The model has one VFIO fd per device: a second fd's bind,
  // which the kernel refuses in vfio_df_open() only after the token check, is refused here before it.)
  if (bound(ctx, rid)) return err('EINVAL');
  // vfio_df_ioctl_bind_iommufd(), drivers/vfio/device_cdev.c: ret = vfio_df_check_token(device, &bind) -> its errno
  const tokenErr = checkToken(ctx, rid, flags, a.token_uuid_ptr, argsz);
  if (tokenErr) return err(tokenErr);
  return emulated(ctx, rid) ? accessCreate(ctx, fd, rid) : deviceBind(ctx, fd, rid);
}

/** The VFIO device fd closes: vfio_df_unbind_iommufd(), device_cdev.c -> the driver's unbind_iommufd. */
export function vfioUnbind(ctx: Ctx, fd: string, rid: Rid): IoctlResult {
  return emulated(ctx, rid) ? accessUnbind(ctx, rid) : deviceUnbind(ctx, fd, rid);
}

/** VFIO_DEVICE_ATTACH_IOMMUFD_PT, vfio_df_ioctl_attach_pt(), drivers/vfio/device_cdev.c. */
export function vfioAttach(ctx: Ctx, rid: Rid, a: Fields): IoctlResult {
  // vfio_device_fops_unl_ioctl(): not bound -> -EINVAL
  const dev = bound(ctx, rid);
  if (!dev) return err('EINVAL');
  const argsz = argszOf(a, ATTACH_SZ);
  // vfio_df_ioctl_attach_pt(), drivers/vfio/device_cdev.c: attach.argsz < minsz (offsetofend(pt_id)) -> -EINVAL
  if (argsz < ATTACH_SZ.minsz) return err('EINVAL');
  const flags = flagsOf(a);
  // vfio_df_ioctl_attach_pt(): flags other than VFIO_DEVICE_ATTACH_PASID -> -EINVAL
  if (flags & ~VFIO_DEVICE_ATTACH_PASID) return err('EINVAL');
  if (flags & VFIO_DEVICE_ATTACH_PASID) {
    // vfio_df_ioctl_attach_pt(): !device->ops->pasid_attach_ioas -> -EOPNOTSUPP
    if (!hasPasidOps(ctx, rid)) return err('EOPNOTSUPP');
    // vfio_df_ioctl_attach_pt(), drivers/vfio/device_cdev.c: attach.argsz < xend (offsetofend(pasid)) -> -EINVAL
    if (argsz < ATTACH_SZ.xend) return err('EINVAL');
    // copy_from_user() of [minsz, xend): a pasid the scenario leaves out of a struct that holds it is 0
    const pasid = typeof a.pasid === 'number' ? a.pasid : 0;
    // vfio_iommufd_physical_pasid_attach_ioas(), drivers/vfio/iommufd.c: a PASID in vdev->pasids is replaced
    // (iommufd_device_replace), else it is allocated in the ida and attached (iommufd_device_attach); a failed
    // attach frees it again. PASID 0 is IOMMU_NO_PASID to iommufd.
    if (dev.attrs[`vfioPasid/${pasid}`] === true) return changePt(ctx, dev, pasid, a.pt_id, 'replace');
    // vfio_iommufd_physical_pasid_attach_ioas() -> ida_alloc_range(pasid, pasid), lib/idr.c: (int)min < 0 -> -ENOSPC
    // before iommufd sees it: a __u32 pasid above INT_MAX (the model's past U32_MAX alike)
    if (pasid > 0x7fffffff) return err('ENOSPC');
    return changePt(ctx, dev, pasid, a.pt_id, 'attach', { [`vfioPasid/${pasid}`]: true });
  }
  // vfio_iommufd_emulated_attach_ioas(): the access joins the IOAS pt_id names
  if (dev.type === 'ACCESS') return accessAttach(ctx, dev, a.pt_id);
  // vfio_iommufd_physical_attach_ioas(): iommufd_device_replace() when vdev->iommufd_attached, else
  // iommufd_device_attach(); success sets iommufd_attached
  if (dev.attrs.vfioRid === true) return changePt(ctx, dev, IOMMU_NO_PASID, a.pt_id, 'replace');
  return changePt(ctx, dev, IOMMU_NO_PASID, a.pt_id, 'attach', { vfioRid: true });
}

/** offsetofend(struct vfio_device_info, num_irqs), include/uapi/linux/vfio.h: argsz, flags, num_regions, num_irqs. */
const DEVICE_INFO_MINSZ = 16;

/**
 * VFIO_DEVICE_GET_INFO: vfio_device_fops_unl_ioctl(), drivers/vfio/vfio_main.c, then the driver's ioctl
 * (vfio_pci_ioctl_get_info(), drivers/vfio/pci/vfio_pci_core.c). The model decides only whether it succeeds: the
 * info itself (flags such as RESET, the region and IRQ counts, the zPCI caps) depends on the PCI function, which
 * the platform does not describe, so nothing is written back.
 */
export function vfioGetInfo(ctx: Ctx, rid: Rid, a: Fields): IoctlResult {
  // vfio_device_fops_unl_ioctl(), drivers/vfio/vfio_main.c: !df->access_granted (not bound) -> -EINVAL
  if (!bound(ctx, rid)) return err('EINVAL');
  // vfio_pci_ioctl_get_info(), drivers/vfio/pci/vfio_pci_core.c: info.argsz < minsz -> -EINVAL
  if (typeof a.argsz === 'number' && a.argsz < DEVICE_INFO_MINSZ) return err('EINVAL');
  return done();
}

/** VFIO_DEVICE_DETACH_IOMMUFD_PT, vfio_df_ioctl_detach_pt(), drivers/vfio/device_cdev.c. Always 0 once the arguments pass. */
export function vfioDetach(ctx: Ctx, rid: Rid, a: Fields): IoctlResult {
  // vfio_device_fops_unl_ioctl(): not bound -> -EINVAL
  const dev = bound(ctx, rid);
  if (!dev) return err('EINVAL');
  const argsz = argszOf(a, DETACH_SZ);
  // vfio_df_ioctl_detach_pt(), drivers/vfio/device_cdev.c: detach.argsz < minsz (offsetofend(flags)) -> -EINVAL
  if (argsz < DETACH_SZ.minsz) return err('EINVAL');
  const flags = flagsOf(a);
  // vfio_df_ioctl_detach_pt(): flags other than VFIO_DEVICE_DETACH_PASID -> -EINVAL
  if (flags & ~VFIO_DEVICE_DETACH_PASID) return err('EINVAL');
  if (flags & VFIO_DEVICE_DETACH_PASID) {
    // vfio_df_ioctl_detach_pt(): !device->ops->pasid_detach_ioas -> -EOPNOTSUPP
    if (!hasPasidOps(ctx, rid)) return err('EOPNOTSUPP');
    // vfio_df_ioctl_detach_pt(), drivers/vfio/device_cdev.c: detach.argsz < xend (offsetofend(pasid)) -> -EINVAL
    if (argsz < DETACH_SZ.xend) return err('EINVAL');
    const pasid = typeof a.pasid === 'number' ? a.pasid : 0;
    // vfio_iommufd_physical_pasid_detach_ioas(): a PASID not in vdev->pasids: nothing (and the ioctl returns 0)
    if (dev.attrs[`vfioPasid/${pasid}`] !== true) return done();
    detachAt(ctx, dev, pasid, { [`vfioPasid/${pasid}`]: null });
    return done();
  }
  // vfio_iommufd_emulated_detach_ioas(): off its IOAS, if on one
  if (dev.type === 'ACCESS') {
    accessDetach(ctx, dev);
    return done();
  }
  // vfio_iommufd_physical_detach_ioas(): !vdev->iommufd_attached: nothing
  if (dev.attrs.vfioRid !== true) return done();
  detachAt(ctx, dev, IOMMU_NO_PASID, { vfioRid: null });
  return done();
}

export const VFIO_IOCTLS: Record<string, IoctlSpec> = {
  // `tail`: the bytes past the kernel's struct when argsz is larger, as for the iommufd ioctls (engine/iommufd/abi.ts)
  VFIO_DEVICE_BIND_IOMMUFD: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', argsz: 'int?', flags: 'int?', token_uuid_ptr: 'u64?', tail: 'u64?' }, run: (ctx, _f, a) => vfioBind(ctx, iommufdOf(a), a.dev as string, a) },
  // `iommufd` is accepted for compatibility: the kernel attaches in the iommufd the device was bound to (df->iommufd)
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', argsz: 'int?', flags: 'int?', pt_id: 'int', pasid: 'int?' }, run: (ctx, _f, a) => vfioAttach(ctx, a.dev as string, a) },
  VFIO_DEVICE_DETACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', argsz: 'int?', flags: 'int?', pasid: 'int?' }, run: (ctx, _f, a) => vfioDetach(ctx, a.dev as string, a) },
  VFIO_DEVICE_GET_INFO: { file: 'vfio', args: { dev: 'rid', argsz: 'int?' }, run: (ctx, _f, a) => vfioGetInfo(ctx, a.dev as string, a) },
};
