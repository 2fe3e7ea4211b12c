// The cells a platform description installs: the machine before step 0.
import { k } from './keys.js';
import type { Platform, SectionName } from './types.js';

export const DEFAULT_HOST = 'host0';
/** PASIDs are 20 bits (VT-d PASID_MAX 0x100000). */
export const PASID_MAX = 0x100000;
/** x86 KVM_MAX_VCPUS at its largest (CONFIG_KVM_MAX_NR_VCPUS, 1024..4096): a bound on a VM's vCPU count. */
export const KVM_MAX_VCPUS = 4096;
/** Most cells a platform may install: a machine, not a data centre. */
export const MAX_PLATFORM_CELLS = 1 << 16;

export function platformCells(p: Platform): [SectionName, string, unknown][] {
  const out: [SectionName, string, unknown][] = [];
  const hosts = p.hosts && p.hosts.length > 0 ? p.hosts : [{ id: DEFAULT_HOST }];
  for (const h of hosts) {
    out.push(['host', h.id, {
      capacity: h.capacity ?? PASID_MAX, minPasid: h.minPasid ?? 1,
      hwidMode: 'global', globalMin: 0, policy: 'lowest', last: 0,
      ...(h.allowUnsafeInterrupts !== undefined ? { allowUnsafeInterrupts: h.allowUnsafeInterrupts } : {}),
    }]);
    // The system set bare-metal SVA allocates from (ioasid_alloc_system_set):
    // "a reasonable quota" at boot; half the capacity unless the platform says.
    // The first set allocated: set ID 0; a NULL-token set (IOASID_SET_TYPE_NULL in v2 of the series).
    out.push(['ioasid-set', `${h.id}/system`, { quota: h.systemQuota ?? Math.floor((h.capacity ?? PASID_MAX) / 2), token: 'system', sid: 0, type: 'null' }]);
  }
  const defaultHost = hosts[0]?.id ?? DEFAULT_HOST;
  const iommuHost = new Map<string, string>();
  for (const i of p.iommus) {
    const host = i.host ?? defaultHost;
    iommuHost.set(i.id, host);
    out.push(['iommu', i.id, {
      host, kind: i.kind, snoopControl: i.snoopControl ?? true,
      // Capabilities the iommufd driver ops read (engine/drivers/*.ts): kept only when set, so a platform that
      // does not name them installs the same cell as before they existed.
      ...(i.nesting !== undefined ? { nesting: i.nesting } : {}),
      ...(i.dirtyTracking !== undefined ? { dirtyTracking: i.dirtyTracking } : {}),
      ...(i.pasidBits !== undefined ? { pasidBits: i.pasidBits } : {}),
      ...(i.msiIsolation !== undefined ? { msiIsolation: i.msiIsolation } : {}),
    }]);
  }
  for (const d of p.devices) {
    out.push(['device', d.rid, {
      host: iommuHost.get(d.iommu) ?? defaultHost, iommu: d.iommu, type: d.type ?? 'pf', parent: d.parent ?? null,
      ats: d.ats ?? false, ...(d.pri !== undefined ? { pri: d.pri } : {}), pasidCap: d.pasidCap === undefined ? { offset: 0x1b0, width: 20 } : d.pasidCap,
      configFree: d.configFree ?? [0x100, 0x1000], noSnoop: d.noSnoop ?? false, vm: null, guestTable: null,
    }]);
    for (const wq of d.wqs ?? []) out.push(['wq', k.wq(d.rid, wq.id), { mode: wq.mode, pasid: null, enabled: true }]);
  }
  for (const vm of p.vms ?? []) {
    const vcpus = vm.vcpus ?? 1;
    out.push(['vm', vm.id, { host: vm.host ?? defaultHost, vcpus, wbinvd: 'noop' }]);
    for (let c = 0; c < vcpus; c++) out.push(['vcpu', k.vcpu(vm.id, c), { pasid: null }]);
  }
  for (const m of p.memory ?? []) out.push(['mem', m.owner, { base: m.base, size: m.size }]);
  return out;
}
