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
  if (iommu.nesting === false) return false;
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
  // arm_vsmmu_init(), drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c: s2_parent->smmu != smmu -> -EINVAL
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
 * Whether a fault of the model's walk (engine/iommu.ts names it by its VT-d
 * reason) is a stage-2 fault (EVTQ_1_S2), which arm_smmu_handle_event() keeps
 * from the guest: a second-level miss or bad second-level entry (0x78..0x7b).
 * A permission fault (0x85 / 0x86) is the walk's verdict on both stages
 * together: `firstStageRefuses` says whether the first stage alone refuses the
 * access (then it is the guest's, stage 1).
 */
export function isStage2(vtdReason: number, firstStageRefuses: () => boolean): boolean {
  if (vtdReason >= 0x78 && vtdReason <= 0x7b) return true;
  if (vtdReason === 0x85 || vtdReason === 0x86) return !firstStageRefuses();
  return false;
}
