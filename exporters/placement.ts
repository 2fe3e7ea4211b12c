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
  const iommuOf = (r: string | null): string => (r !== null ? str(state.s.device[r]?.iommu) : null) ?? 'unknown';
  const iommu = (track: string): Place => ({ group: 'iommu', id: str(f.iommu) ?? iommuOf(rid), track });
  const device = (track: string): Place => ({ group: 'device', id: rid ?? 'unknown', track });
  const vm = (track: string): Place => ({ group: 'vm', id: str(f.vm) ?? 'unknown', track });
  const kernel = (track: string): Place => ({ group: 'kernel', id: '', track });
  const file = (): Place => ({ group: 'files', id: '', track: str(f.fd) ?? 'unknown' });
  const scene = (track: string): Place => ({ group: 'scenario', id: scenario, track });
  switch (ev.kind) {
    case 'ioctl': case 'iommufd-obj': case 'ioas-map': case 'iommufd-ctx': case 'vdev-map': case 'eventq': return file();
    case 'kcall': return kernel('kernel calls');
    case 'pasid-write': case 'pasid-table-alloc': return iommu('PASID table');
    case 'iotlb-fill': return iommu('IOTLB');
    case 'pasid-cache-fill': return iommu('PASID cache');
    case 'iotlb-inval': case 'pasid-cache-inval': return iommu('invalidation queue');
    case 'atc-fill': case 'atc-inval': return device('ATC');
    case 'dma': return device('DMA');
    case 'fault':
      if (ev.source !== 'cpu' && rid !== null) return device('DMA');
      return str(f.vm) !== null ? vm('CPU faults') : kernel('CPU faults');
    case 'violation': return rid !== null ? device('DMA') : kernel('invariants');
    case 'config-write': case 'config-read': return device('config space');
    case 'bind': case 'wq-config': case 'mdev-pasid-map': case 'device-assign': case 'device-table': return device('assignment & binding');
    case 'enqcmd': return str(f.vm) !== null ? vm(`vCPU ${String(f.vcpu)}`) : { group: 'cpu', id: '', track: `CPU ${String(f.vcpu)}` };
    case 'msr-write': return vm(`vCPU ${String(f.vcpu)}`);
    case 'kvm-pasid-map': case 'kvm-wbinvd': case 'kvm-vfio': return vm('KVM');
    case 'guest-pasid-write': case 'guest-inval': return vm('guest vIOMMU');
    case 'vm-host': case 'migrate': return vm('lifecycle');
    case 'ioasid-alloc': case 'ioasid-free': case 'ioasid-set': case 'ioasid-mode': case 'notify': case 'deferred': return kernel('IOASID allocator');
    case 'pt-write': case 'pt-root': case 'dirty': {
      const root = typeof f.root === 'number' ? f.root : -1;
      const owner = str(state.s['pt-root'][String(root)]?.owner) ?? str(f.owner);
      return { group: 'pt', id: '', track: owner ?? `root 0x${root.toString(16)}` };
    }
    case 'sched': return scene('scheduler');
    case 'expect': return scene(stepTrack(ev.thread));
    case 'platform': return scene(stepTrack(undefined));
    default: {
      // Kinds of imported traces (context-cache-*) and any later kind: by the IOMMU or device it names.
      const kind = String(f.kind);
      if (str(f.iommu) !== null) return iommu(kind.startsWith('context-cache-inval') ? 'invalidation queue' : kind.startsWith('context-cache') ? 'context cache' : 'events');
      if (rid !== null) return device('events');
      return kernel('other');
    }
  }
}
