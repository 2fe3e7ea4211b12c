// Intel VT-d's iommufd driver ops (drivers/iommu/intel/nested.c).
import type { Ctx } from '../ctx.js';
import { device, invalidateAtc, invalidateIotlb } from '../iommu.js';
import { attachedDevices } from '../iommufd/device.js';
import type { Args, Errno, IommufdCell } from '../types.js';

export function invalidateVtdS1(ctx: Ctx, h: IommufdCell, e: Args): Errno | null {
  const addr = e.addr as number | undefined;
  const npages = e.npages as number | undefined;
  if (typeof addr !== 'number' || typeof npages !== 'number' || npages <= 0 || addr % 4096 !== 0) return 'EINVAL';
  const devs = attachedDevices(ctx.state, h.fd, h.id);
  const iommus = [...new Set(devs.map((d) => device(ctx.state, d.rid).iommu))].sort();
  for (const iommu of iommus) invalidateIotlb(ctx, iommu, 'page', h.id, null, addr, npages);
  // The device TLB is invalidated too when ATS is on.
  for (const d of devs) if (device(ctx.state, d.rid).ats) invalidateAtc(ctx, d.rid, 'page', d.pasid, addr, npages);
  return null;
}

