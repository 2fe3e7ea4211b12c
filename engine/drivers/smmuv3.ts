// ARM SMMUv3's iommufd driver ops (drivers/iommu/arm/arm-smmu-v3/): paging
// domains (arm_smmu_domain_alloc_paging_flags(), arm-smmu-v3.c), the nested
// domain a vIOMMU builds from the guest's vSTE, the guest's command-queue
// invalidations through the vIOMMU (arm-smmu-v3-iommufd.c), dirty tracking
// (HTTU) and IOMMU_GET_HW_INFO's data. SMMUv3 has no domain_alloc_nested op:
// nesting goes only through a vIOMMU. FEAT_NESTING and HTTU dirty (FEAT_HD
// with coherent walks) follow the platform's `nesting` / `dirtyTracking`.
import type { Ctx } from '../ctx.js';
import { invalidateAtc, invalidateIotlb, invalidatePasidCache } from '../iommu.js';
import { TAG } from '../indexes.js';
import { HW_INFO_TYPES } from '../iommufd/device.js';
import { objectsWith } from '../iommufd/object.js';
import { k } from '../keys.js';
import { u64 } from '../op.js';
import type { Args, Errno, IommuCell, IommufdCell, State } from '../types.js';
import { copyStructFromFullUserArray, copyStructFromUser, field64, type UserArray, type UserData } from './user-data.js';
import type { PagingDomain, PagingGeometry } from './vtd.js';

const NEST_PARENT = 1 << 0;
const DIRTY_TRACKING = 1 << 1;
const ALLOC_PASID = 1 << 3;

/** sizeof(struct iommu_hwpt_arm_smmuv3) (le64 ste[2]), also its initial length. */
export const SMMU_STE_SIZE = 16;
/** sizeof(struct iommu_viommu_arm_smmuv3_invalidate) (le64 cmd[2]). */
export const SMMU_CMD_SIZE = 16;
/** sizeof(struct iommu_hw_info_arm_smmuv3). */
export const SMMU_HW_INFO_LEN = 40;
/** CMDQ_BATCH_ENTRIES (BITS_PER_LONG): arm_vsmmu_cache_invalidate() issues every CMDQ_BATCH_ENTRIES - 1 commands. */
const CMDQ_BATCH = 64;

/** arm_smmu_dbm_capable(): FEAT_HD and FEAT_COHERENCY, what arm_smmu_capable(IOMMU_CAP_DIRTY_TRACKING) answers. */
export const smmuDbmCapable = (iommu: IommuCell): boolean => iommu.dirtyTracking !== false;
/** ARM_SMMU_FEAT_NESTING. */
export const smmuNesting = (iommu: IommuCell): boolean => iommu.nesting !== false;

/**
 * arm_smmu_domain_alloc_paging_flags(), arm-smmu-v3.c: flags beyond
 * DIRTY_TRACKING | ALLOC_PASID | NEST_PARENT, or user data, -EOPNOTSUPP; then
 * by the exact flag combination: 0 a stage-1 domain; NEST_PARENT a stage-2
 * nest parent (needs FEAT_NESTING); DIRTY_TRACKING, DIRTY_TRACKING |
 * ALLOC_PASID and ALLOC_PASID a stage-1 domain (dirty_ops with
 * DIRTY_TRACKING); any other combination (NEST_PARENT with DIRTY_TRACKING or
 * ALLOC_PASID) -EOPNOTSUPP. The model's SMMUv3 has both stages (FEAT_TRANS_S1/S2).
 * `flags` has FAULT_ID_VALID stripped.
 */
export function smmuDomainAllocPagingFlags(iommu: IommuCell, flags: number, user: UserData | null): Errno | PagingDomain {
  // arm_smmu_domain_alloc_paging_flags(), arm-smmu-v3.c: unknown flags -> -EOPNOTSUPP
  if (flags & ~(DIRTY_TRACKING | ALLOC_PASID | NEST_PARENT)) return 'EOPNOTSUPP';
  // arm_smmu_domain_alloc_paging_flags(): user data on a paging domain -> -EOPNOTSUPP
  if (user) return 'EOPNOTSUPP';
  switch (flags) {
    case 0: return { stage: 'first', nestParent: false, dirtyOps: false };
    case NEST_PARENT:
      // arm_smmu_domain_alloc_paging_flags(), arm-smmu-v3.c: a nest parent without FEAT_NESTING -> -EOPNOTSUPP
      if (!smmuNesting(iommu)) return 'EOPNOTSUPP';
      return { stage: 'second', nestParent: true, dirtyOps: false };
    case DIRTY_TRACKING: case DIRTY_TRACKING | ALLOC_PASID: case ALLOC_PASID:
      return { stage: 'first', nestParent: false, dirtyOps: (flags & DIRTY_TRACKING) !== 0 };
    // arm_smmu_domain_alloc_paging_flags(), arm-smmu-v3.c: NEST_PARENT with DIRTY_TRACKING or ALLOC_PASID -> -EOPNOTSUPP
    default: return 'EOPNOTSUPP';
  }
}

// STE fields the guest's vSTE may hold (arm-smmu-v3.h STRTAB_STE_*_NESTING_ALLOWED).
const STE0_V = 1n;
const STE0_CFG_SHIFT = 1n;
const STE0_CFG_MASK = 0x7n << STE0_CFG_SHIFT;
const STE0_S1FMT = 0x3n << 4n;
const STE0_S1CTXPTR = ((1n << 52n) - 1n) & ~((1n << 6n) - 1n);
const STE0_S1CDMAX = 0x1fn << 59n;
const STE0_NESTING_ALLOWED = STE0_V | STE0_CFG_MASK | STE0_S1FMT | STE0_S1CTXPTR | STE0_S1CDMAX;
const STE1_EATS_SHIFT = 28n;
const STE1_EATS_MASK = 0x3n << STE1_EATS_SHIFT;
// S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS
const STE1_NESTING_ALLOWED = 0x3n | (0x3n << 2n) | (0x3n << 4n) | (0x3n << 6n) | (1n << 27n) | STE1_EATS_MASK;
const CFG: Readonly<Record<string, bigint>> = { abort: 0n, bypass: 4n, 's1-trans': 5n, 's2-trans': 6n, nested: 7n };
const EATS: Readonly<Record<string, bigint>> = { abt: 0n, trans: 1n, s1chk: 2n };

/**
 * The vSTE as its two 64-bit words: raw `ste0` / `ste1` (u64), or by fields:
 * `ste` the stage-1 context-descriptor table address (S1ContextPtr), `valid`
 * (default true), `cfg` (abort / bypass / s1-trans / s2-trans / nested, or a
 * number; default s1-trans), `eats` (abt / trans / s1chk, or a number).
 */
function vste(d: Args): [bigint, bigint] {
  if (d.ste0 !== undefined || d.ste1 !== undefined) return [field64(d, 'ste0'), field64(d, 'ste1')];
  const named = (v: unknown, names: Readonly<Record<string, bigint>>, dflt: bigint): bigint =>
    typeof v === 'string' && Object.hasOwn(names, v) ? (names[v] as bigint) : (u64(v as never) ?? dflt);
  const cfg = named(d.cfg, CFG, CFG['s1-trans'] as bigint);
  const ste0 = (d.valid === false ? 0n : STE0_V) | ((cfg << STE0_CFG_SHIFT) & STE0_CFG_MASK) | (field64(d, 'ste') & STE0_S1CTXPTR);
  const ste1 = (named(d.eats, EATS, 0n) << STE1_EATS_SHIFT) & STE1_EATS_MASK;
  return [ste0, ste1];
}

/** What a nested domain keeps from the vSTE (arm_smmu_nested_domain). */
export interface SmmuNested { s1: number; cfg: 'abort' | 'bypass' | 's1-trans'; ats: boolean; ste0: string; ste1: string }

/**
 * arm_vsmmu_alloc_domain_nested(), arm-smmu-v3-iommufd.c: no flags
 * (FAULT_ID_VALID is stripped by the core; ALLOC_PASID is -EOPNOTSUPP);
 * iommu_copy_struct_from_user(ARM_SMMUV3, ste); arm_smmu_validate_vste(): an
 * invalid vSTE (V clear) is accepted and zeroed (an abort STE at attach); bits
 * outside the nesting-allowed set, a CFG other than ABORT / BYPASS /
 * S1_TRANS, or an EATS other than ABT / TRANS are -EIO.
 */
export function armVsmmuAllocDomainNested(flags: number, user: UserData): Errno | SmmuNested {
  // arm_vsmmu_alloc_domain_nested(), arm-smmu-v3-iommufd.c: flags -> -EOPNOTSUPP
  if (flags) return 'EOPNOTSUPP';
  // iommu_copy_struct_from_user(&arg, user_data, IOMMU_HWPT_DATA_ARM_SMMUV3, ste), include/linux/iommu.h
  const data = copyStructFromUser(user, 'ARM_SMMUV3', SMMU_STE_SIZE, SMMU_STE_SIZE);
  if (typeof data === 'string') return data;
  let [ste0, ste1] = vste(data);
  // arm_smmu_validate_vste(): V clear -> the vSTE is zeroed, accepted
  if (!(ste0 & STE0_V)) { ste0 = 0n; ste1 = 0n; return { s1: 0, cfg: 'abort', ats: false, ste0: '0x0', ste1: '0x0' }; }
  // arm_smmu_validate_vste(), arm-smmu-v3-iommufd.c: "EIO is reserved for invalid STE data": bits outside NESTING_ALLOWED -> -EIO
  if ((ste0 & ~STE0_NESTING_ALLOWED) || (ste1 & ~STE1_NESTING_ALLOWED)) return 'EIO';
  const cfg = (ste0 & STE0_CFG_MASK) >> STE0_CFG_SHIFT;
  // arm_smmu_validate_vste(): CFG not ABORT / BYPASS / S1_TRANS -> -EIO
  if (cfg !== CFG.abort && cfg !== CFG.bypass && cfg !== CFG['s1-trans']) return 'EIO';
  // arm_smmu_validate_vste(), arm-smmu-v3-iommufd.c: EATS not ABT / TRANS -> -EIO (EATS is cleared: the host sets it at attach)
  const eats = (ste1 & STE1_EATS_MASK) >> STE1_EATS_SHIFT;
  if (eats !== EATS.abt && eats !== EATS.trans) return 'EIO';
  const kind = cfg === CFG.abort ? 'abort' : cfg === CFG.bypass ? 'bypass' : 's1-trans';
  return {
    s1: kind === 's1-trans' ? Number(ste0 & STE0_S1CTXPTR) : 0, cfg: kind, ats: kind === 's1-trans' && eats === EATS.trans,
    ste0: `0x${ste0.toString(16)}`, ste1: `0x${(ste1 & ~STE1_EATS_MASK).toString(16)}`,
  };
}

/** CMDQ opcodes (arm-smmu-v3.h CMDQ_OP_*), by name. */
const CMDQ_OP: Readonly<Record<string, number>> = {
  PREFETCH_CFG: 0x01, CFGI_STE: 0x03, CFGI_ALL: 0x04, CFGI_CD: 0x05, CFGI_CD_ALL: 0x06,
  TLBI_NH_ALL: 0x10, TLBI_NH_ASID: 0x11, TLBI_NH_VA: 0x12, TLBI_NH_VAA: 0x13, TLBI_EL2_ALL: 0x20,
  TLBI_S12_VMALL: 0x28, TLBI_S2_IPA: 0x2a, TLBI_NSNH_ALL: 0x30, ATC_INV: 0x40, PRI_RESP: 0x41, RESUME: 0x44, CMD_SYNC: 0x46,
};

/** One guest command after arm_vsmmu_convert_user_cmd(): what the host issues. */
interface HostCmd { op: number; rid: string | null; ssid: number; addr: number; size: number; npages: number }

/**
 * How many bits of a command field survive an entry_len under 16: arm_vsmmu_cache_invalidate() copies each
 * entry with copy_struct_from_user() into a 16-byte slot (iommu_copy_struct_from_full_user_array(),
 * include/linux/iommu.h: no minimum length), which keeps the first entry_len bytes and zero-fills the rest.
 * A field at bits [lo, lo + width) of 64-bit word `word` keeps its low (entry_len - 8 * word) * 8 - lo bits.
 */
function keptBits(entryLen: number, word: 0 | 1, lo: number, width: number): number {
  const inWord = Math.min(64, Math.max(0, (entryLen - 8 * word) * 8));
  return Math.min(width, Math.max(0, inWord - lo));
}

/**
 * A guest command in the model's words: `opcode` (a CMDQ_OP_* name or number),
 * `sid` (the vSID), `ssid`, `asid`, `addr`, `size` (ATC_INV bytes), `npages`
 * (TLBI range). An entry_len under 16 cuts each field at the bytes it
 * occupies (arm-smmu-v3.h): word 0 holds the opcode (bits 7:0, CMDQ_0_OP), the
 * SSID (31:12, CMDQ_CFGI_0_SSID / CMDQ_ATC_0_SSID) and the SID (63:32,
 * CMDQ_CFGI_0_SID / CMDQ_ATC_0_SID), each keeping the low bits that fit; word
 * 1 holds the address in place (63:12, CMDQ_TLBI_1_VA_MASK /
 * CMDQ_ATC_1_ADDR_MASK: cut the same way), ATC_INV's size (5:0,
 * CMDQ_ATC_1_SIZE: the model's byte count is kept only when all six bits are)
 * and a TLBI range's granule (11:10, CMDQ_TLBI_1_TG: without it the command
 * names one page, so `npages` is kept only when TG is).
 */
function userCmd(e: Args, entryLen: number): { op: number; sid: number; ssid: number; addr: number; size: number; npages: number } {
  const cut = (name: string, word: 0 | 1, lo: number, width: number): number => {
    const v = field64(e, name);
    const bits = keptBits(entryLen, word, lo, width);
    return Number(bits >= width ? v : v & ((1n << BigInt(bits)) - 1n));
  };
  const whole = (word: 0 | 1, lo: number, width: number): boolean => keptBits(entryLen, word, lo, width) === width;
  const op = typeof e.opcode === 'string' && Object.hasOwn(CMDQ_OP, e.opcode) ? (CMDQ_OP[e.opcode] as number) : Number(u64(e.opcode) ?? 0n) & 0xff;
  return {
    op: whole(0, 0, 8) ? op : 0, sid: cut('sid', 0, 32, 32), ssid: cut('ssid', 0, 12, 20), addr: cut('addr', 1, 0, 64),
    size: whole(1, 0, 6) ? Number(field64(e, 'size')) : 0, npages: whole(1, 10, 2) ? Number(field64(e, 'npages')) : 0,
  };
}

/**
 * arm_vsmmu_convert_user_cmd(), arm-smmu-v3-iommufd.c: TLBI_NSNH_ALL becomes
 * TLBI_NH_ALL, every TLBI_NH_* gets the vIOMMU's VMID; ATC_INV, CFGI_CD and
 * CFGI_CD_ALL get the physical SID of the vDEVICE whose virt_id is the vSID
 * (none: -EIO); any other command is -EIO.
 */
function convertUserCmd(state: State, viommu: IommufdCell, c: ReturnType<typeof userCmd>): Errno | HostCmd {
  const base = { ssid: c.ssid, addr: c.addr, size: c.size, npages: c.npages };
  switch (c.op) {
    case CMDQ_OP.TLBI_NSNH_ALL: return { ...base, op: CMDQ_OP.TLBI_NH_ALL as number, rid: null };
    case CMDQ_OP.TLBI_NH_VA: case CMDQ_OP.TLBI_NH_VAA: case CMDQ_OP.TLBI_NH_ALL: case CMDQ_OP.TLBI_NH_ASID:
      return { ...base, op: c.op, rid: null };
    case CMDQ_OP.ATC_INV: case CMDQ_OP.CFGI_CD: case CMDQ_OP.CFGI_CD_ALL: {
      // arm_vsmmu_vsid_to_sid(), arm-smmu-v3-iommufd.c: no vDEVICE at that virt_id -> -EIO
      const slot = state.s.vdev[k.vdev(viommu.fd, viommu.id, c.sid)];
      if (!slot) return 'EIO';
      return { ...base, op: c.op, rid: slot.rid };
    }
    // arm_vsmmu_convert_user_cmd(), arm-smmu-v3-iommufd.c: any other opcode -> -EIO
    default: return 'EIO';
  }
}

/** The domain ids (the model's VMID-tagged stage-1 IOTLB lines) of the nested HWPTs on this vIOMMU. */
function vmidDomains(state: State, viommu: IommufdCell): number[] {
  // A live run's index has the nested HWPTs of each vIOMMU (engine/indexes.ts); a bare state filters every object of the fd.
  return objectsWith(state, viommu.fd, TAG.nestedOn(viommu.id), (o) => o.type === 'HWPT_NESTED' && o.attrs.viommu === viommu.id)
    .map((o) => o.id).sort((a, b) => a - b);
}

/**
 * The hardware doing one converted command. TLBI_NH_* are scoped by the
 * vIOMMU's VMID: the model drops the IOTLB lines of every nested HWPT on the
 * vIOMMU (it keeps no ASIDs, so ASID-scoped commands over-invalidate within
 * the VMID); ATC_INV drops the device's ATC lines of that SSID (the range, or
 * all of them when size is 0); CFGI_CD / CFGI_CD_ALL drop cached CDs.
 */
function issue(ctx: Ctx, viommu: IommufdCell, c: HostCmd): void {
  const iommu = viommu.attrs.iommu as string;
  switch (c.op) {
    case CMDQ_OP.TLBI_NH_ALL: case CMDQ_OP.TLBI_NH_ASID:
      for (const did of vmidDomains(ctx.state, viommu)) invalidateIotlb(ctx, iommu, 'domain', did, null, null, null);
      break;
    case CMDQ_OP.TLBI_NH_VA: case CMDQ_OP.TLBI_NH_VAA:
      for (const did of vmidDomains(ctx.state, viommu)) invalidateIotlb(ctx, iommu, 'page', did, null, c.addr, Math.max(1, c.npages));
      break;
    case CMDQ_OP.ATC_INV:
      if (c.size === 0 && c.addr === 0) invalidateAtc(ctx, c.rid as string, 'pasid', c.ssid, null, null);
      else invalidateAtc(ctx, c.rid as string, 'page', c.ssid, c.addr, Math.max(1, Math.ceil(c.size / 4096)));
      break;
    case CMDQ_OP.CFGI_CD: invalidatePasidCache(ctx, iommu, 'pasid', null, c.ssid); break;
    case CMDQ_OP.CFGI_CD_ALL: invalidatePasidCache(ctx, iommu, 'global', null, null); break;
    default: break;
  }
}

/**
 * arm_vsmmu_cache_invalidate(), arm-smmu-v3-iommufd.c: the whole array is
 * copied first (iommu_copy_struct_from_full_user_array(): an empty array or
 * another data type is -EINVAL); the commands are then converted one by one
 * and issued in batches of CMDQ_BATCH_ENTRIES - 1, and at the end. A command
 * that does not convert stops everything: entry_num comes back as its index,
 * and only the batches issued before it reached the hardware (for a batch of
 * fewer than 64 commands: none).
 */
export function armVsmmuCacheInvalidate(ctx: Ctx, viommu: IommufdCell, ua: UserArray): { errno: Errno | null; entryNum: number } {
  const cmds = copyStructFromFullUserArray(ua, 'ARM_SMMUV3', SMMU_CMD_SIZE);
  if (typeof cmds === 'string') return { errno: cmds, entryNum: 0 };
  let batch: HostCmd[] = [];
  for (let cur = 0; cur < cmds.length; cur++) {
    const c = convertUserCmd(ctx.state, viommu, userCmd(cmds[cur] as Args, ua.entryLen));
    if (typeof c === 'string') return { errno: c, entryNum: cur };
    batch.push(c);
    if (cur + 1 !== cmds.length && batch.length !== CMDQ_BATCH - 1) continue;
    // arm_smmu_cmdq_issue_cmdlist(): the batch reaches the hardware
    for (const h of batch) issue(ctx, viommu, h);
    batch = [];
  }
  return { errno: null, entryNum: cmds.length };
}

/**
 * arm_smmu_hw_info(), arm-smmu-v3-iommufd.c: only the DEFAULT or ARM_SMMUV3
 * type (another goes to the implementation's ops, which the model has none
 * of: -EOPNOTSUPP); reports struct iommu_hw_info_arm_smmuv3.
 */
export function smmuHwInfo(type: number): Errno | { type: string; len: number } {
  // arm_smmu_hw_info(), drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c: neither DEFAULT (0) nor ARM_SMMUV3 (2) -> -EOPNOTSUPP
  if (type !== HW_INFO_TYPES.DEFAULT && type !== HW_INFO_TYPES.ARM_SMMUV3) return 'EOPNOTSUPP';
  return { type: 'ARM_SMMUV3', len: SMMU_HW_INFO_LEN };
}

/**
 * arm_smmu_attach_dev() / arm_smmu_attach_dev_nested(), arm-smmu-v3.c /
 * arm-smmu-v3-iommufd.c: a domain belongs to the SMMU instance it was
 * allocated on; a device behind another one cannot attach it (-EINVAL).
 * Called by the attach path.
 */
export function smmuAttachCompatible(iommuId: string, h: IommufdCell): Errno | null {
  // arm_smmu_attach_dev(), arm-smmu-v3.c: a domain of another SMMU instance -> -EINVAL
  return typeof h.attrs.iommu === 'string' && h.attrs.iommu !== iommuId ? 'EINVAL' : null;
}

/**
 * Whether the domain has a set_dev_pasid op, which iommu_attach_device_pasid() /
 * iommu_replace_device_pasid() (drivers/iommu/iommu.c) require (-EOPNOTSUPP):
 * a nested domain's arm_smmu_nested_ops (arm-smmu-v3-iommufd.c) have only
 * attach_dev and free; paging domains have arm_smmu_s1_set_dev_pasid().
 */
export const smmuHasSetDevPasid = (h: IommufdCell): boolean => h.type !== 'HWPT_NESTED';

/**
 * What the SMMUv3 attach looks at besides the HWPT, found by the caller:
 * `ssidsInUse` master->cd_table.used_ssids (a CD installed at a PASID other
 * than 0, by iommufd or an SVA bond); `hasVdevice` whether the device has a
 * vDEVICE on the nested HWPT's vIOMMU (iommufd_viommu_get_vdev_id()).
 */
export interface SmmuAttachFacts { ssidsInUse: boolean; hasVdevice: boolean }

/**
 * The SMMUv3 driver's attach for a HWPT the iommufd core lets through
 * (engine/iommufd/device.ts calls it; `pasid` 0 is the RID):
 *  - nested (RID only: no set_dev_pasid): arm_smmu_attach_dev_nested(), arm-smmu-v3-iommufd.c:
 *    vsmmu->smmu != master->smmu -> -EINVAL; arm_smmu_ssids_in_use() -> -EBUSY; then
 *    arm_smmu_attach_prepare() -> arm_smmu_attach_prepare_vmaster(): no vDEVICE -> -ENOENT, except
 *    for an abort or bypass vSTE ("allowed to attach w/o vmaster for GBPA case");
 *  - paging at the RID: arm_smmu_attach_dev(), arm-smmu-v3.c: another instance's domain -> -EINVAL;
 *    a stage-2 domain while SSIDs are in use -> -EBUSY;
 *  - paging at a PASID: arm_smmu_s1_set_dev_pasid(): another instance's domain -> -EINVAL; not
 *    stage 1 -> -EINVAL (unreachable through iommufd: an SMMUv3 stage-2 domain never has
 *    ALLOC_PASID, so iommufd_hwpt_pasid_compat() refuses it first). arm_smmu_set_pasid()'s
 *    "RID on a CD-table domain or blocked" rule is unreachable the same way (not modelled).
 */
export function smmuAttachDevCheck(iommuId: string, h: IommufdCell, pasid: number, facts: SmmuAttachFacts): Errno | null {
  if (h.type === 'HWPT_NESTED') {
    const e = smmuAttachCompatible(iommuId, h);
    if (e) return e;
    // arm_smmu_attach_dev_nested(), drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c: arm_smmu_ssids_in_use() -> -EBUSY
    if (facts.ssidsInUse) return 'EBUSY';
    // arm_smmu_attach_prepare_vmaster(), arm-smmu-v3-iommufd.c: no vDEVICE -> -ENOENT unless the vSTE is abort / bypass
    if (!facts.hasVdevice && h.attrs.cfg !== 'abort' && h.attrs.cfg !== 'bypass') return 'ENOENT';
    return null;
  }
  const e = smmuAttachCompatible(iommuId, h);
  if (e) return e;
  // arm_smmu_s1_set_dev_pasid(), drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: not a stage-1 domain -> -EINVAL
  if (pasid !== 0) return h.attrs.stage === 'first' ? null : 'EINVAL';
  // arm_smmu_attach_dev(), drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: a stage-2 domain while SSIDs are in use -> -EBUSY
  if (h.attrs.stage === 'second' && facts.ssidsInUse) return 'EBUSY';
  return null;
}

// ---- paging-domain geometry and reserved regions, as iommufd's io_pagetable sees them (H1, ioas)

/**
 * An SMMUv3 paging domain with the 4 KiB granule, arm_smmu_domain_finalise(),
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: pgsize_bitmap's smallest page 4 KiB, aperture
 * [0, (1 << ias) - 1]. Stage 1's ias is 48 without FEAT_VAX, stage 2's is smmu->ias (the IPA size,
 * 48 in the model): the same geometry for either stage.
 */
const SMMUV3_PAGING_GEOMETRY: PagingGeometry = { minPage: 4096n, apertureStart: 0n, apertureEnd: (1n << 48n) - 1n };
export const smmuPagingGeometry = (_stage: PagingDomain['stage']): PagingGeometry => SMMUV3_PAGING_GEOMETRY;

/**
 * arm_smmu_get_resv_regions(), arm-smmu-v3.c: the software-managed MSI window MSI_IOVA_BASE 0x8000000,
 * MSI_IOVA_LENGTH 0x100000 (IOMMU_RESV_SW_MSI); reserved in the IOAS at attach.
 */
export const SMMUV3_RESV_REGIONS: readonly { start: bigint; last: bigint; type: string }[] = [{ start: 0x8000000n, last: 0x80fffffn, type: 'sw-msi' }];
