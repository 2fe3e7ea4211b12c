// KVM: the per-VM PASID translation table ENQCMD goes through (seed 000's
// proposal, never merged), and the WBINVD decision of seed 003 as v6.18 makes
// it: from the VFIO files the VMM hands to the VM's kvm-vfio device.
import type { Ctx } from './ctx.js';
import type { IoctlResult } from './iommufd/object.js';
import { k } from './keys.js';
import type { Fields, IoctlSpec } from './op.js';
import { compareKeys } from './state.js';
import type { DeviceCell, Errno, Rid, State } from './types.js';

/** KVM_SET_PASID_MAPPING (seed 000; not merged): guest PASID -> host PASID for ENQCMD. */
export function setPasidMapping(ctx: Ctx, vm: string, gpasid: number, hpasid: number | null): Errno | null {
  if (!ctx.state.s.vm[vm]) return 'ENOENT';
  const cur = ctx.state.s['cpu-pasid'][k.cpuPasid(vm, gpasid)];
  if (hpasid === null && !cur) return 'ENOENT';
  if (hpasid !== null && cur && cur.hpasid !== hpasid) return 'EEXIST';
  ctx.emit({ kind: 'kvm-pasid-map', vm, gpasid, hpasid });
  return null;
}

/**
 * vfio_file_enforced_coherent(), drivers/vfio/vfio_main.c: for a device cdev
 * file, device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY) — on
 * VT-d the IOMMU's snoop control (ecap SC). A static property of the IOMMU,
 * not of the domain the device happens to be attached to.
 */
function fileEnforcedCoherent(state: State, rid: Rid): boolean {
  const dev = state.s.device[rid];
  if (!dev) return true;
  // device_iommu_capable(), drivers/iommu/iommu.c: !dev_has_iommu(dev) -> false. An emulated (mdev/SIOV) device's
  // vfio_device->dev is its own struct device, which no IOMMU driver probed: never enforced coherent
  if (dev.type === 'siov') return false;
  return state.s.iommu[dev.iommu]?.snoopControl !== false;
}

/**
 * The VMs whose kvm-vfio device has this device's VFIO file on its list: each
 * kvm-vfio device keeps its own kv->file_list (virt/kvm/vfio.c), so one file
 * may be on several. (A cell from a file is read defensively: anything but a
 * list of names holds none.)
 */
export function kvmHolders(dev: DeviceCell): string[] {
  return Array.isArray(dev.kvm) ? dev.kvm.filter((vm): vm is string => typeof vm === 'string') : [];
}

/** The devices whose VFIO file `vm`'s kvm-vfio device holds, in a stable order. */
export function kvmFiles(state: State, vm: string): Rid[] {
  return Object.keys(state.s.device).sort(compareKeys).filter((rid) => {
    const dev = state.s.device[rid];
    return dev !== undefined && kvmHolders(dev).includes(vm);
  });
}

/**
 * kvm_vfio_update_coherency(), virt/kvm/vfio.c: noncoherent when any file the
 * kvm-vfio device holds is not enforced coherent; on a change,
 * kvm_arch_register_noncoherent_dma() / kvm_arch_unregister_noncoherent_dma().
 * x86 then honours WBINVD only while kvm_arch_has_noncoherent_dma()
 * (need_emulate_wbinvd(), kvm_emulate_wbinvd_noskip(), arch/x86/kvm/x86.c);
 * otherwise WBINVD is a no-op. Only FILE_ADD / FILE_DEL run this: attaching
 * or detaching a domain never tells KVM anything. Callers elsewhere may call
 * it freely: it emits only when the decision changes.
 */
export function updateWbinvd(ctx: Ctx, vm: string | null): void {
  if (vm === null) return;
  const cell = ctx.state.s.vm[vm];
  if (!cell) return;
  const noncoherent = kvmFiles(ctx.state, vm).filter((rid) => !fileEnforcedCoherent(ctx.state, rid)).length;
  const wbinvd = noncoherent > 0 ? 'honour' : 'noop';
  if (wbinvd !== cell.wbinvd) ctx.emit({ kind: 'kvm-wbinvd', vm, wbinvd, noncoherent });
}

/**
 * Not a uAPI output (the ioctl returns only 0 or an errno): the model's view of
 * kv->noncoherent after the call, so that a case can check KVM's decision.
 */
const coherency = (state: State, vm: string) => ({ noncoherent: state.s.vm[vm]?.wbinvd === 'honour' });

/** kvm_vfio_file_add(), virt/kvm/vfio.c (KVM_DEV_VFIO_FILE_ADD, alias KVM_DEV_VFIO_GROUP_ADD). */
function fileAdd(ctx: Ctx, a: Fields): IoctlResult {
  const vm = a.vm as string;
  const rid = a.dev as Rid;
  const dev = ctx.state.s.device[rid];
  // kvm_vfio_file_add(): !kvm_vfio_file_is_valid(filp) → -EINVAL (the model: a device not handed to a VM has no VFIO file)
  if (!dev || dev.vm === null) return { errno: 'EINVAL', out: {} };
  // kvm_vfio_file_add(), virt/kvm/vfio.c: the file is already on this kvm-vfio device's list → -EEXIST. Another VM's list holding it
  // refuses nothing: kvm_vfio_file_set_kvm() repoints the file's kvm (last add wins), which decides no errno here.
  if (kvmHolders(dev).includes(vm)) return { errno: 'EEXIST', out: {} };
  ctx.emit({ kind: 'kvm-vfio', vm, rid, op: 'add' });
  // kvm_vfio_file_add(): kvm_vfio_file_set_kvm(), then kvm_vfio_update_coherency()
  updateWbinvd(ctx, vm);
  return { errno: null, out: coherency(ctx.state, vm) };
}

/** KVM_DEV_VFIO_FILE_DEL (alias KVM_DEV_VFIO_GROUP_DEL): kvm_vfio_file_del(), virt/kvm/vfio.c. */
function fileDel(ctx: Ctx, a: Fields): IoctlResult {
  const vm = a.vm as string;
  const rid = a.dev as Rid;
  // kvm_vfio_file_del(): not on the list → -ENOENT (coherency is re-evaluated either way)
  const dev = ctx.state.s.device[rid];
  const found = dev !== undefined && kvmHolders(dev).includes(vm);
  if (found) ctx.emit({ kind: 'kvm-vfio', vm, rid, op: 'del' });
  updateWbinvd(ctx, vm);
  return { errno: found ? null : 'ENOENT', out: coherency(ctx.state, vm) };
}

/**
 * The kvm-vfio device's attributes as ioctls on the VM (KVM_SET_DEVICE_ATTR,
 * group KVM_DEV_VFIO_FILE): `dev` names the device whose VFIO cdev (or group)
 * fd the VMM passes. One kvm-vfio device per VM, created with the VM.
 */
export const KVM_IOCTLS: Record<string, IoctlSpec> = {
  KVM_DEV_VFIO_FILE_ADD: { file: 'kvm', args: { vm: 'vm', dev: 'rid' }, run: (ctx, _f, a) => fileAdd(ctx, a) },
  KVM_DEV_VFIO_FILE_DEL: { file: 'kvm', args: { vm: 'vm', dev: 'rid' }, run: (ctx, _f, a) => fileDel(ctx, a) },
};
