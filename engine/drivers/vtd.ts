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


// ---- paging-domain geometry and reserved regions, as iommufd's io_pagetable sees them (H1, ioas)

/**
 * A VT-d paging domain: the smallest page of pgsize_bitmap is 4 KiB (SZ_4K | 2M | 1G) and the aperture is
 * [0, __DOMAIN_MAX_ADDR(gaw)] with a 48-bit guest address width (4-level tables), paging_domain_alloc() /
 * intel_iommu_domain_alloc_paging_flags(), drivers/iommu/intel/iommu.c. iopt_table_add_domain() turns these
 * into the IOAS's iova_alignment and a reserved range above the aperture.
 */
export const VTD_PAGING_GEOMETRY = { minPage: 4096n, apertureStart: 0n, apertureEnd: (1n << 48n) - 1n } as const;

/**
 * intel_iommu_get_resv_regions(), drivers/iommu/intel/iommu.c: every device reports the interrupt window
 * IOAPIC_RANGE_START..IOAPIC_RANGE_END (0xfee00000..0xfeefffff) as IOMMU_RESV_MSI (RMRRs are platform
 * firmware data the model has none of). iopt_table_enforce_dev_resv_regions() reserves it in the IOAS at attach.
 */
export const VTD_RESV_REGIONS: readonly { start: bigint; last: bigint; type: string }[] = [{ start: 0xfee00000n, last: 0xfeefffffn, type: 'msi' }];
