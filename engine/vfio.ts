// The VFIO device cdev ioctls that reach iommufd (drivers/vfio/device_cdev.c,
// drivers/vfio/iommufd.c): bind a device to an iommufd, attach it to (or
// detach it from) a page table at its RID or a PASID. VFIO keeps its own
// record of what it attached (vdev->iommufd_attached, the vdev->pasids ida:
// DEVICE attrs vfioRid / vfioPasid/N) and turns a second attach into an
// iommufd replace; a detach of something not attached is success.
import { device } from './iommu.js';
import { boundDevice, changePt, detachAt, deviceBind, IOMMU_NO_PASID } from './iommufd/device.js';
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
 * ops with pasid_attach_ioas / pasid_detach_ioas; an mdev / SIOV device uses
 * the emulated ops (vfio_iommufd_emulated_*), which have none.
 */
const hasPasidOps = (ctx: Ctx, rid: Rid): boolean => device(ctx.state, rid).type !== 'siov';

/**
 * vfio_device_fops_unl_ioctl(), drivers/vfio/vfio_main.c: every ioctl but
 * BIND_IOMMUFD needs access_granted (a bound device) -> -EINVAL.
 */
function bound(ctx: Ctx, rid: Rid): IommufdCell | undefined {
  return boundDevice(ctx.state, rid);
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
  // vfio_iommufd_physical_detach_ioas(): !vdev->iommufd_attached: nothing
  if (dev.attrs.vfioRid !== true) return done();
  detachAt(ctx, dev, IOMMU_NO_PASID, { vfioRid: null });
  return done();
}

export const VFIO_IOCTLS: Record<string, IoctlSpec> = {
  VFIO_DEVICE_BIND_IOMMUFD: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?' }, run: (ctx, _f, a) => deviceBind(ctx, iommufdOf(a), a.dev as string, flagsOf(a)) },
  // `iommufd` is accepted for compatibility: the kernel attaches in the iommufd the device was bound to (df->iommufd)
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?', pt_id: 'int', pasid: 'int?' }, run: (ctx, _f, a) => vfioAttach(ctx, a.dev as string, a) },
  VFIO_DEVICE_DETACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?', pasid: 'int?' }, run: (ctx, _f, a) => vfioDetach(ctx, a.dev as string, a) },
};
