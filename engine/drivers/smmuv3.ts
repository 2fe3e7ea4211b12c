// ARM SMMUv3's iommufd driver ops (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c).
import type { Ctx } from '../ctx.js';
import { invalidateAtc, invalidateIotlb, invalidatePasidCache } from '../iommu.js';
import { k } from '../keys.js';
import type { Args, Errno, IommufdCell } from '../types.js';

const SMMU_CMDS = ['TLBI_NH_ALL', 'TLBI_NH_ASID', 'TLBI_NH_VA', 'TLBI_NH_VAA', 'ATC_INV', 'CFGI_CD', 'CFGI_CD_ALL'];

export function invalidateSmmu(ctx: Ctx, viommu: IommufdCell, e: Args): Errno | null {
  const opcode = e.opcode as string;
  if (!SMMU_CMDS.includes(opcode)) return 'EIO';
  const iommu = viommu.attrs.iommu as string;
  if (opcode === 'ATC_INV' || opcode === 'CFGI_CD') {
    // The vSID is replaced by the physical SID found through the vDEVICE.
    const slot = ctx.state.s.vdev[k.vdev(viommu.fd, viommu.id, e.sid as number)];
    if (!slot) return 'EIO';
    const ssid = (e.ssid as number | undefined) ?? 0;
    if (opcode === 'ATC_INV') {
      const size = (e.size as number | undefined) ?? 0;
      if (size === 0 && e.addr === undefined) invalidateAtc(ctx, slot.rid, 'pasid', ssid, null, null);
      else invalidateAtc(ctx, slot.rid, 'page', ssid, (e.addr as number | undefined) ?? 0, Math.max(1, Math.ceil(size / 4096)));
    } else {
      invalidatePasidCache(ctx, iommu, 'pasid', null, ssid);
    }
    return null;
  }
  if (opcode === 'CFGI_CD_ALL') { invalidatePasidCache(ctx, iommu, 'global', null, null); return null; }
  const did = typeof e.asid === 'number' ? e.asid : null;
  if (opcode === 'TLBI_NH_VA' || opcode === 'TLBI_NH_VAA') {
    invalidateIotlb(ctx, iommu, 'page', opcode === 'TLBI_NH_VA' ? did : null, null, (e.addr as number | undefined) ?? 0, 1);
  } else {
    invalidateIotlb(ctx, iommu, opcode === 'TLBI_NH_ALL' ? 'global' : 'domain', did, null, null, null);
  }
  return null;
}

// ---- paging-domain geometry and reserved regions, as iommufd's io_pagetable sees them (H1, ioas)

/**
 * An SMMUv3 paging domain with the 4 KiB granule: pgsize_bitmap's smallest page 4 KiB, aperture
 * [0, (1 << ias) - 1] with a 48-bit input address size, arm_smmu_domain_finalise(),
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c.
 */
export const SMMUV3_PAGING_GEOMETRY = { minPage: 4096n, apertureStart: 0n, apertureEnd: (1n << 48n) - 1n } as const;

/**
 * arm_smmu_get_resv_regions(), arm-smmu-v3.c: the software-managed MSI window MSI_IOVA_BASE 0x8000000,
 * MSI_IOVA_LENGTH 0x100000 (IOMMU_RESV_SW_MSI); reserved in the IOAS at attach.
 */
export const SMMUV3_RESV_REGIONS: readonly { start: bigint; last: bigint; type: string }[] = [{ start: 0x8000000n, last: 0x80fffffn, type: 'sw-msi' }];
