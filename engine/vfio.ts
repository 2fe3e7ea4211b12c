// The VFIO device cdev ioctls that reach iommufd (drivers/vfio/device_cdev.c,
// drivers/vfio/iommufd.c): bind a device to an iommufd, attach it to (or
// detach it from) a page table at its RID or a PASID.
import { deviceAttach, deviceBind, deviceDetach } from './iommufd/device.js';
import type { IoctlSpec } from './op.js';

const iommufdOf = (a: { iommufd?: unknown }): string => (typeof a.iommufd === 'string' ? a.iommufd : 'iommufd');

export const VFIO_IOCTLS: Record<string, IoctlSpec> = {
  VFIO_DEVICE_BIND_IOMMUFD: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?' }, run: (ctx, _f, a) => deviceBind(ctx, iommufdOf(a), a.dev as string) },
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?', pt_id: 'int', pasid: 'int?' }, run: (ctx, _f, a) => deviceAttach(ctx, iommufdOf(a), a.dev as string, a) },
  VFIO_DEVICE_DETACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?', pasid: 'int?' }, run: (ctx, _f, a) => deviceDetach(ctx, iommufdOf(a), a.dev as string, a) },
};
