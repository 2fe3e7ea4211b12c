// Which track an event goes on in a timeline export: a group per IOMMU (its
// PASID table, invalidation queue, IOTLB, PASID cache), per device (DMA and
// its faults, ATC, config space), per VM (a track per vCPU, KVM, the guest's
// vIOMMU), the scenario (a track per thread), the open files (ioctls by fd,
// with the iommufd objects they make nested inside), the kernel and the page
// tables. Read before the event is applied: a freed page table still names
// its owner.
import type { State, TraceEvent } from '../engine/types.js';

export type GroupKind = 'scenario' | 'files' | 'iommu' | 'device' | 'vm' | 'cpu' | 'kernel' | 'pt';

/** A group (a Perfetto process track, a Chrome pid) and the track in it. */
export interface Place { group: GroupKind; id: string; track: string }

export const GROUP_TITLE: Record<GroupKind, (id: string) => string> = {
  scenario: (id) => `scenario ${id}`,
  files: () => 'files (ioctls by fd)',
  iommu: (id) => `IOMMU ${id}`,
  device: (id) => `device ${id}`,
  vm: (id) => `VM ${id}`,
  cpu: () => 'host CPUs',
  kernel: () => 'kernel',
  pt: () => 'page tables',
};

/** The scenario group's track for a step of thread `thread` (unthreaded: set-up and plain steps). */
export const stepTrack = (thread: string | undefined): string => (thread === undefined ? 'steps' : `thread ${thread}`);

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function place(ev: TraceEvent, state: State, scenario: string): Place {
  const f = ev as unknown as Record<string, unknown>;
  const rid = str(f.rid);
  const g = GROUP_OF.get(ev.kind);
  // The common kinds by table: no closure or lookup beyond the group's id (this runs once per exported event).
  if (g !== undefined) {
    const [group, track] = g;
    switch (group) {
      case 'files': return { group, id: '', track: str(f.fd) ?? 'unknown' };
      case 'iommu': return { group, id: str(f.iommu) ?? iommuOf(state, rid), track };
      case 'device': return { group, id: rid ?? 'unknown', track };
      case 'vm': return { group, id: str(f.vm) ?? 'unknown', track };
      default: return { group, id: '', track };
    }
  }
  switch (ev.kind) {
    case 'kcall': {
      // An imported log's queue work with no state (QEMU's vtd_process_inv_desc, smmuv3_cmdq_consume; the kernel's
      // qi_submit of a wait descriptor) names its IOMMU: on that IOMMU's queue, other calls that name one beside it.
      const on = str((f.args as Record<string, unknown> | null | undefined)?.iommu);
      if (on === null) return { group: 'kernel', id: '', track: 'kernel calls' };
      return { group: 'iommu', id: on, track: /inv|cmdq|qi_/.test(String(f.fn)) ? 'invalidation queue' : 'calls' };
    }
    case 'fault':
      if (ev.source !== 'cpu' && rid !== null) return { group: 'device', id: rid, track: 'DMA' };
      return str(f.vm) !== null ? { group: 'vm', id: str(f.vm) as string, track: 'CPU faults' } : { group: 'kernel', id: '', track: 'CPU faults' };
    case 'violation': return rid !== null ? { group: 'device', id: rid, track: 'DMA' } : { group: 'kernel', id: '', track: 'invariants' };
    case 'enqcmd': return str(f.vm) !== null ? { group: 'vm', id: str(f.vm) as string, track: `vCPU ${String(f.vcpu)}` } : { group: 'cpu', id: '', track: `CPU ${String(f.vcpu)}` };
    case 'msr-write': return { group: 'vm', id: str(f.vm) ?? 'unknown', track: `vCPU ${String(f.vcpu)}` };
    case 'pt-write': case 'pt-root': case 'dirty': {
      const root = typeof f.root === 'number' ? f.root : -1;
      const owner = str(state.s['pt-root'][String(root)]?.owner) ?? str(f.owner);
      return { group: 'pt', id: '', track: owner ?? `root 0x${root.toString(16)}` };
    }
    case 'sched': return { group: 'scenario', id: scenario, track: 'scheduler' };
    case 'expect': return { group: 'scenario', id: scenario, track: stepTrack(ev.thread) };
    case 'platform': return { group: 'scenario', id: scenario, track: stepTrack(undefined) };
    default: {
      // Kinds of imported traces (context-cache-*) and any later kind: by the IOMMU or device it names.
      const kind = String(f.kind);
      if (str(f.iommu) !== null) return { group: 'iommu', id: str(f.iommu) as string, track: kind.startsWith('context-cache-inval') ? 'invalidation queue' : kind.startsWith('context-cache') ? 'context cache' : 'events' };
      if (rid !== null) return { group: 'device', id: rid, track: 'events' };
      return { group: 'kernel', id: '', track: 'other' };
    }
  }
}

/** The IOMMU a device sits behind, by the state. */
const iommuOf = (state: State, rid: string | null): string => (rid !== null ? str(state.s.device[rid]?.iommu) : null) ?? 'unknown';

/** Kinds whose group and track follow from the kind alone (the group's id from the event's iommu/rid/vm/fd). */
const GROUP_OF = new Map<string, [GroupKind, string]>(Object.entries({
  ioctl: ['files', ''], 'iommufd-obj': ['files', ''], 'ioas-map': ['files', ''], 'iommufd-ctx': ['files', ''], 'vdev-map': ['files', ''], eventq: ['files', ''],
  'pasid-write': ['iommu', 'PASID table'], 'pasid-table-alloc': ['iommu', 'PASID table'],
  'iotlb-fill': ['iommu', 'IOTLB'], 'pasid-cache-fill': ['iommu', 'PASID cache'],
  'iotlb-inval': ['iommu', 'invalidation queue'], 'pasid-cache-inval': ['iommu', 'invalidation queue'],
  'context-cache-fill': ['iommu', 'context cache'], 'context-cache-inval': ['iommu', 'invalidation queue'],
  'atc-fill': ['device', 'ATC'], 'atc-inval': ['device', 'ATC'], dma: ['device', 'DMA'],
  'config-write': ['device', 'config space'], 'config-read': ['device', 'config space'],
  bind: ['device', 'assignment & binding'], 'wq-config': ['device', 'assignment & binding'], 'mdev-pasid-map': ['device', 'assignment & binding'],
  'device-assign': ['device', 'assignment & binding'], 'device-table': ['device', 'assignment & binding'],
  'kvm-pasid-map': ['vm', 'KVM'], 'kvm-wbinvd': ['vm', 'KVM'], 'kvm-vfio': ['vm', 'KVM'],
  'guest-pasid-write': ['vm', 'guest vIOMMU'], 'guest-inval': ['vm', 'guest vIOMMU'], 'vm-host': ['vm', 'lifecycle'], migrate: ['vm', 'lifecycle'],
  'ioasid-alloc': ['kernel', 'IOASID allocator'], 'ioasid-free': ['kernel', 'IOASID allocator'], 'ioasid-set': ['kernel', 'IOASID allocator'],
  'ioasid-mode': ['kernel', 'IOASID allocator'], notify: ['kernel', 'IOASID allocator'], deferred: ['kernel', 'IOASID allocator'],
} satisfies Record<string, [GroupKind, string]>));
