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
import { device } from './iommu.js';
import { accessAttach, accessCreate, accessDetach, accessOf, accessUnbind } from './iommufd/access.js';
import { boundDevice, changePt, detachAt, deviceBind, deviceUnbind, IOMMU_NO_PASID, VFIO_DEVICE_BIND_FLAG_TOKEN } from './iommufd/device.js';
import { err, done, type IoctlResult } from './iommufd/object.js';
import type { Ctx } from './ctx.js';
import type { Fields, IoctlSpec } from './op.js';
import type { IommufdCell, Rid } from './types.js';

export const VFIO_DEVICE_ATTACH_PASID = 1 << 0;
export const VFIO_DEVICE_DETACH_PASID = 1 << 0;

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

/**
 * VFIO_DEVICE_BIND_IOMMUFD, vfio_df_ioctl_bind_iommufd(), drivers/vfio/device_cdev.c. A physical device goes
 * on to iommufd_device_bind() (deviceBind(), which makes VFIO's checks too); an emulated one to
 * vfio_iommufd_emulated_bind() -> iommufd_access_create(): no MSI-isolation check, as iommufd_device_bind()
 * is never called.
 */
export function vfioBind(ctx: Ctx, fd: string, rid: Rid, flags: number): IoctlResult {
  if (!emulated(ctx, rid)) return deviceBind(ctx, fd, rid, flags);
  // vfio_df_ioctl_bind_iommufd(), drivers/vfio/device_cdev.c: flags other than VFIO_DEVICE_BIND_FLAG_TOKEN -> -EINVAL
  if (flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN) return err('EINVAL');
  // vfio_df_ioctl_bind_iommufd(), drivers/vfio/device_cdev.c: df->access_granted -> -EINVAL; from another fd,
  // vfio_df_open(), drivers/vfio/vfio_main.c: open_count != 0 on the cdev path -> -EINVAL
  if (accessOf(ctx.state, rid)) return err('EINVAL');
  // vfio_df_check_token(), drivers/vfio/device_cdev.c: no device->ops->match_token_uuid (the emulated drivers)
  // and VFIO_DEVICE_BIND_FLAG_TOKEN -> -EINVAL
  if (flags & VFIO_DEVICE_BIND_FLAG_TOKEN) return err('EINVAL');
  return accessCreate(ctx, fd, rid);
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
  const flags = flagsOf(a);
  // vfio_df_ioctl_attach_pt(): flags other than VFIO_DEVICE_ATTACH_PASID -> -EINVAL
  if (flags & ~VFIO_DEVICE_ATTACH_PASID) return err('EINVAL');
  if (flags & VFIO_DEVICE_ATTACH_PASID) {
    // vfio_df_ioctl_attach_pt(): !device->ops->pasid_attach_ioas -> -EOPNOTSUPP
    if (!hasPasidOps(ctx, rid)) return err('EOPNOTSUPP');
    // vfio_df_ioctl_attach_pt(): argsz < offsetofend(pasid) -> -EINVAL (the model: no pasid given)
    if (typeof a.pasid !== 'number') return err('EINVAL');
    const pasid = a.pasid;
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

/** VFIO_DEVICE_DETACH_IOMMUFD_PT, vfio_df_ioctl_detach_pt(), drivers/vfio/device_cdev.c. Always 0 once the arguments pass. */
export function vfioDetach(ctx: Ctx, rid: Rid, a: Fields): IoctlResult {
  // vfio_device_fops_unl_ioctl(): not bound -> -EINVAL
  const dev = bound(ctx, rid);
  if (!dev) return err('EINVAL');
  const flags = flagsOf(a);
  // vfio_df_ioctl_detach_pt(): flags other than VFIO_DEVICE_DETACH_PASID -> -EINVAL
  if (flags & ~VFIO_DEVICE_DETACH_PASID) return err('EINVAL');
  if (flags & VFIO_DEVICE_DETACH_PASID) {
    // vfio_df_ioctl_detach_pt(): !device->ops->pasid_detach_ioas -> -EOPNOTSUPP
    if (!hasPasidOps(ctx, rid)) return err('EOPNOTSUPP');
    // vfio_df_ioctl_detach_pt(): argsz < offsetofend(pasid) -> -EINVAL
    if (typeof a.pasid !== 'number') return err('EINVAL');
    // vfio_iommufd_physical_pasid_detach_ioas(): a PASID not in vdev->pasids: nothing (and the ioctl returns 0)
    if (dev.attrs[`vfioPasid/${a.pasid}`] !== true) return done();
    detachAt(ctx, dev, a.pasid, { [`vfioPasid/${a.pasid}`]: null });
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
  VFIO_DEVICE_BIND_IOMMUFD: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?' }, run: (ctx, _f, a) => vfioBind(ctx, iommufdOf(a), a.dev as string, flagsOf(a)) },
  // `iommufd` is accepted for compatibility: the kernel attaches in the iommufd the device was bound to (df->iommufd)
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?', pt_id: 'int', pasid: 'int?' }, run: (ctx, _f, a) => vfioAttach(ctx, a.dev as string, a) },
  VFIO_DEVICE_DETACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?', pasid: 'int?' }, run: (ctx, _f, a) => vfioDetach(ctx, a.dev as string, a) },
};
