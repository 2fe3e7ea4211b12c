// Which state sections an event kind can write: a filter that lets
// `lastWriter` skip whole chunks without replaying them. It mirrors
// engine/apply.ts; a test checks every touch of a recorded trace against it,
// and a kind missing here is treated as "may write anything".
import type { EventKind, SectionName } from '../engine/types.js';

export const WRITES: Partial<Record<EventKind, readonly SectionName[]>> = {
  platform: ['host', 'ioasid-set', 'iommu', 'device', 'wq', 'vm', 'vcpu', 'mem'],
  'pasid-write': ['pasid'],
  'pasid-table-alloc': ['pasid-dir'],
  'pt-write': ['pt'],
  'pt-root': ['pt-root'],
  dirty: ['dirty'],
  'kvm-pasid-map': ['cpu-pasid'],
  'msr-write': ['vcpu'],
  'wq-config': ['wq'],
  'iotlb-fill': ['iotlb'],
  'iotlb-inval': ['iotlb'],
  'pasid-cache-fill': ['pasid-cache'],
  'pasid-cache-inval': ['pasid-cache'],
  'atc-fill': ['atc'],
  'atc-inval': ['atc'],
  'ioasid-alloc': ['ioasid', 'host'],
  'ioasid-free': ['ioasid'],
  'ioasid-set': ['ioasid-set'],
  'ioasid-mode': ['host'],
  deferred: ['deferred'],
  bind: ['bind'],
  'config-write': ['device'],
  'vm-host': ['vm'],
  'device-assign': ['device'],
  'device-table': ['device'],
  'iommufd-obj': ['iommufd'],
  'ioas-map': ['ioas-map'],
  'iommufd-ctx': ['iommufd-ctx'],
  'vdev-map': ['vdev'],
  eventq: ['eventq'],
  'guest-pasid-write': ['vpasid'],
  'mdev-pasid-map': ['mdev-pasid'],
  'kvm-wbinvd': ['vm'],
  'kvm-vfio': ['device'],
  ioctl: [], kcall: [], enqcmd: [], dma: [], fault: [], notify: [], 'config-read': [], migrate: [], expect: [], violation: [], 'guest-inval': [], sched: [],
};

export function mayWrite(kind: string, section: SectionName): boolean {
  const w = WRITES[kind as EventKind];
  return w === undefined || w.includes(section);
}
