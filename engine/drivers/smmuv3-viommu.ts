// ARM SMMUv3's vIOMMU ops (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c):
// arm_smmu_get_viommu_size() decides whether this SMMU can back a vIOMMU of a
// type, arm_vsmmu_init() ties the vIOMMU to its stage-2 nest parent, and
// arm_smmu_handle_event() (arm-smmu-v3.c) picks the events a vIOMMU's vEVENTQ
// receives. VT-d has no vIOMMU ops in 6.18 (intel_iommu_ops has neither
// get_viommu_size nor viommu_init).
import type { Errno, IommuCell, IommufdCell } from '../types.js';

export const IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1;

/**
 * arm_smmu_get_viommu_size(), arm-smmu-v3-iommufd.c: non-zero only for an SMMU
 * with FEAT_NESTING (the model's `nesting` platform flag, on unless it is set
 * to false) and type IOMMU_VIOMMU_TYPE_ARM_SMMUV3; another type goes to the
 * SMMU's impl_ops (NVIDIA Tegra241 CMDQV), which the model has none of. The
 * CMDQ_FORCE_SYNC and canwbs / S2FWB conditions are not modelled (taken as met).
 */
export function armSmmuCanBackViommu(iommu: IommuCell, type: number): boolean {
  if ((iommu as IommuCell & { nesting?: boolean }).nesting === false) return false;
  return type === IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
}

/**
 * arm_vsmmu_init(), arm-smmu-v3-iommufd.c: the nest parent's S2 domain must
 * belong to the SMMU instance behind the device (s2_parent->smmu != smmu ->
 * -EINVAL). The HWPT records the instance it was allocated on in attrs.iommu;
 * a HWPT without that attribute is not checked.
 */
export function armVsmmuInit(iommuId: string, parent: IommufdCell): Errno | null {
  const owner = parent.attrs.iommu;
  if (typeof owner === 'string' && owner !== iommuId) return 'EINVAL';
  return null;
}

/**
 * The SMMUv3 event ids arm_smmu_handle_event() (arm-smmu-v3.c) handles at all
 * (others are -EOPNOTSUPP, only logged); for a master with a vmaster and an
 * event not at stage 2, arm_vmaster_report_event() forwards it to the
 * vIOMMU's IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 queue with the StreamID replaced by
 * the vSID (include/uapi/linux/iommufd.h, struct iommu_vevent_arm_smmuv3).
 */
export const SMMU_VEVENT_IDS: ReadonlySet<number> = new Set([0x04, 0x06, 0x08, 0x0a, 0x10, 0x11, 0x12, 0x13]);

/**
 * Whether a fault of the model's walk (engine/iommu.ts, VT-d reason codes) is
 * a stage-2 fault (EVTQ_1_S2): the second-stage lookup of a nested walk fails
 * with 0x05 / 0x06. 0x05 also covers a read-only first-stage leaf (the walk
 * does not say which stage refused the write): counted as stage 2, not forwarded.
 */
export const isStage2 = (vtdReason: number): boolean => vtdReason === 0x05 || vtdReason === 0x06;
