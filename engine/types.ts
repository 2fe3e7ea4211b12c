// The model's plain-data types: platform, state sections and the one event
// union that every layer shares. Nothing here holds behaviour.

/** PCI requester id, printed bus:dev.fn ("00:02.0"). */
export type Rid = string;

/** The errnos a modelled kernel path can return (include/uapi/asm-generic/errno*.h names). */
export const ERRNOS = [
  'EPERM', 'ENOENT', 'EIO', 'ENXIO', 'E2BIG', 'EAGAIN', 'ENOMEM', 'EACCES', 'EFAULT', 'EBUSY', 'EEXIST', 'ENODEV',
  'EINVAL', 'ENOSPC', 'ENOTTY', 'ERANGE', 'EOPNOTSUPP', 'EOVERFLOW', 'EALREADY', 'ENOSYS', 'EMSGSIZE', 'ETIMEDOUT',
  // read()/write()/close() of an iommufd event-queue fd (eventq.c): a bad fd, a misaligned or seeking access.
  'EBADF', 'ESPIPE',
  // an IOVA range already used by an area, an allowed or a reserved range (io_pagetable.c).
  'EADDRINUSE',
] as const;
export type Errno = (typeof ERRNOS)[number];

// ---------------------------------------------------------------- platform

export interface HostSpec {
  id: string;
  /** Number of PASIDs the allocator may hand out (ioasid_install_capacity). */
  capacity?: number;
  /** Quota of the system set bare-metal SVA allocates from (default: half the capacity). */
  systemQuota?: number;
  /** First PASID the allocator hands out; PASID 0 is RID_PASID. */
  minPasid?: number;
  /** iommufd's allow_unsafe_interrupts module parameter: bind a device whose MSIs are not isolated (default false). */
  allowUnsafeInterrupts?: boolean;
}

export interface IommuSpec {
  id: string;
  host?: string;
  kind: 'vtd' | 'smmuv3';
  /** IOMMU_CAP_CACHE_COHERENCY: the IOMMU can force snoop (block no-snoop). */
  snoopControl?: boolean;
  /** Nested translation (VT-d ecap NEST, SMMUv3 FEAT_NESTING); default true. */
  nesting?: boolean;
  /** IOMMU_CAP_DIRTY_TRACKING (VT-d SSADS, SMMUv3 HTTU HD + coherent walks); default true. */
  dirtyTracking?: boolean;
  /** PASID width the IOMMU supports (VT-d ecap PSS+1, SMMUv3 SSIDSIZE), 0..20; default 20. */
  pasidBits?: number;
  /** MSIs of devices behind it are isolated (interrupt remapping / GICv3 ITS: iommu_group_has_isolated_msi()); default true. */
  msiIsolation?: boolean;
}

export interface WqSpec {
  id: string;
  mode: 'dedicated' | 'shared';
}

export interface DeviceSpec {
  rid: Rid;
  iommu: string;
  type?: 'pf' | 'vf' | 'siov';
  /** PF RID of a VF or the parent of a SIOV/mdev device. */
  parent?: Rid;
  ats?: boolean;
  /**
   * Has a PRI (Page Request Interface) capability, pdev->pri_cap; default false. Only a PF with `ats` may
   * have one (checkPlatform(), engine/validate.ts): a VF's PRI is its PF's (pci_pri_supported(),
   * drivers/pci/ats.c), and VT-d enables PRI only on an ATS device (intel_iommu_probe_device()).
   */
  pri?: boolean;
  /** PASID capability: config-space offset and supported width, or absent. */
  pasidCap?: { offset: number; width: number } | null;
  /** Free extended config space [start, end) where a VMM may place a capability. */
  configFree?: [number, number];
  wqs?: WqSpec[];
  /** DMA no-snoop: whether the device issues no-snoop TLPs. */
  noSnoop?: boolean;
}

export interface VmSpec {
  id: string;
  host?: string;
  vcpus?: number;
}

export interface MemorySpec {
  /** An address-space owner: a process "proc-a", a VM "vm0", the VMM. */
  owner: string;
  base: number;
  size: number;
}

export interface Platform {
  hosts?: HostSpec[];
  iommus: IommuSpec[];
  devices: DeviceSpec[];
  vms?: VmSpec[];
  memory?: MemorySpec[];
}

// ---------------------------------------------------------------- state cells

/** VT-d scalable-mode PASID-table entry (also used for an SMMUv3 CD). */
export interface PasidEntry {
  p: boolean;
  /** Fault processing disable. */
  fpd: boolean;
  /** 1 first-level, 2 second-level, 3 nested, 4 pass-through. */
  pgtt: 1 | 2 | 3 | 4;
  /** Second-level page-table pointer (host, HPA space). */
  slptptr: number;
  /** First-level page-table pointer (guest or process; GPA space when nested). */
  flptr: number;
  did: number;
  pgsnp: boolean;
}

export interface HostCell {
  capacity: number;
  minPasid: number;
  /** IOASID_SET_HWID_MODE: global PASID space or per RID. */
  hwidMode: 'global' | 'local';
  /** IOASID_HWID_SET_GLOBAL_MIN: PASIDs below it are local, guest owned. */
  globalMin: number;
  /** Allocation policy: lowest free, or cyclic from the last handed out. */
  policy: 'lowest' | 'cyclic';
  /** Last PASID handed out (cyclic allocation continues after it). */
  last: number;
  /** Which posting of the 2020 IOASID series the allocator follows (engine/ioasid.ts); absent: v1 (seed 001). */
  revision?: 'v1' | 'v2';
  /** iommufd allow_unsafe_interrupts; absent: false. */
  allowUnsafeInterrupts?: boolean;
}

export interface IommuCell {
  host: string; kind: 'vtd' | 'smmuv3'; snoopControl: boolean;
  /** Present only when the platform sets them (IommuSpec): absent means the default. */
  nesting?: boolean; dirtyTracking?: boolean; pasidBits?: number; msiIsolation?: boolean;
}

export interface DeviceCell {
  host: string;
  iommu: string;
  type: 'pf' | 'vf' | 'siov';
  parent: Rid | null;
  ats: boolean;
  /** DeviceSpec.pri, present only when the platform sets it (absent: no PRI capability). */
  pri?: boolean;
  /**
   * Where the PASID capability sits in the config space the guest sees.
   * `enabled` is its PASID Enable bit (PASID Control, cap + 6): absent means
   * the host enabled PASID at probe; a capability placed at run time starts
   * with it clear, as after a reset.
   */
  pasidCap: { offset: number; width: number; enabled?: boolean } | null;
  configFree: [number, number];
  noSnoop: boolean;
  /** VM the device is assigned to, if any. */
  vm: string | null;
  /** SMMUv3 / VT-d: set when the whole RID's PASID table is guest owned (GPA). */
  guestTable: number | null;
  /** The VMs whose kvm-vfio device holds this device's VFIO file on its list (KVM_DEV_VFIO_FILE_ADD), sorted; absent: none. */
  kvm?: string[];
}

export interface WqCell { mode: 'dedicated' | 'shared'; /** PASID register (dedicated WQ). */ pasid: number | null; enabled: boolean }

/** One lazily allocated leaf PASID table (64 entries) under a directory slot. */
export interface PasidDirCell { table: number }

export interface TlbCell { pa: number; write: boolean }

export interface PasidCacheCell { did: number; pgtt: PasidEntry['pgtt']; flptr: number; slptptr: number }

/**
 * A context-cache line (VT-d context entry cached for a RID): what an imported
 * log tells of it (QEMU's vtd_iotlb_cc_update). Legacy mode: `root` is the
 * second-level page-table pointer, `tt` the translation type, `did` the domain;
 * scalable mode: `root` is the PASID directory pointer, `tt` and `did` null (each PASID entry has its own).
 */
export interface ContextCacheCell { did: number | null; tt: number | null; root: number; scalable: boolean }

export interface VcpuCell { /** IA32_PASID MSR (0xd93): PASID in bits 19:0, valid bit 31. */ pasid: number | null }

export interface CpuPasidCell { hpasid: number }

export interface IoasidSetCell {
  quota: number;
  token: string;
  /** Set ID: lowest free index of the ioasid_sets xarray (ioasid_alloc_set); absent on traces from before it was kept. */
  sid?: number;
  /** IOASID series v2: IOASID_SET_TYPE_NULL (token NULL) or IOASID_SET_TYPE_MM (token an mm). */
  type?: 'null' | 'mm';
}

export interface IoasidCell {
  set: string;
  owner: string;
}

export type IommufdType =
  | 'IOAS' | 'DEVICE' | 'HWPT_PAGING' | 'HWPT_NESTED' | 'FAULT' | 'VIOMMU' | 'VDEVICE' | 'VEVENTQ'
  /** IOMMUFD_OBJ_ACCESS: an emulated (mdev/SIOV) VFIO device's binding (iommufd_access_create()); no uAPI of its own. */
  | 'ACCESS'
  /** A page-table IOASID of the 2021 /dev/ioasid proposal. */
  | 'IOASID';

export interface IommufdCell {
  fd: string;
  id: number;
  type: IommufdType;
  /** Objects this one holds a reference on (its parents). */
  refs: number[];
  /** How many objects hold a reference on this one. */
  users: number;
  /** Type-specific fields (dev rid, flags, virt_id, parent ids, ...). */
  attrs: Record<string, number | string | boolean | null>;
}

export interface IoasMapCell {
  length: number; hpa: number; write: boolean;
  /** The pages were pinned writable (iopt_pages.writable: mapped with WRITEABLE); absent: same as write. A COPY asking WRITEABLE of unwritable pages is EPERM. */
  writable?: boolean;
}

/** Per-iommufd context (struct iommufd_ctx), key fd: the pinned-page accounting mode (IOMMU_OPTION_RLIMIT_MODE). */
export interface IommufdCtxCell { accountMode: 'user' | 'mm' }

export interface PtCell {
  pa: number;
  write: boolean;
  /** A malformed entry a buggy writer left behind: present bit clear with other bits set, or a reserved bit set. */
  bad?: 'invalid' | 'reserved';
}

export interface PtRootCell {
  owner: string; /** IOAS an iommufd HWPT_PAGING takes its mappings from. */ ioas: string | null;
  /** The IOMMU records dirty bits for writes through this table (VT-d SSADE in the PASID entries that point at it,
   * SMMUv3 HTTU HD in the CD); present only when on. */
  dirty?: boolean;
}

export interface BindCell {
  owner: string;
  via: string;
  /** Allocator space the PASID came from (host or host/rid), null when the guest owns it. */
  space: string | null;
  /** SVA: references on the bond (iommu_sva_bind_device of the same device and mm again takes one more). */
  users?: number;
}

/**
 * One record in an iommufd event queue (drivers/iommu/iommufd/eventq.c), key fd/queue/index:
 * a FAULT object's I/O page-fault group (`iopf`: struct iommu_hwpt_pgfault's fields; cookie 0 while
 * undelivered, the cookie read() assigned while it waits for a response), or a vEVENTQ's vIOMMU event
 * (`vevent`) or its LOST_EVENTS header (`lost`), each with its sequence number.
 */
export interface EventqCell {
  type: 'iopf' | 'vevent' | 'lost';
  data: Record<string, number | string | boolean | null>;
}

export interface MdevPasidCell { pasid: number }

export interface VpasidCell { flptr: number }

export interface VmCell {
  host: string;
  vcpus: number;
  /** KVM: whether WBINVD must be honoured (non-coherent DMA attached). */
  wbinvd: 'noop' | 'honour';
}

export interface VdevCell { rid: Rid; vdevice: number }

export interface DeferredCell { subscriber: string; pasid: number; rid: Rid | null }

export interface MemCell { base: number; size: number }

/** A dirty bit the IOMMU set in a HWPT_PAGING's table: the device whose write set it (first since the last clear). */
export interface DirtyCell { rid: Rid }

/** Every section of the state: a flat map of cells keyed by a string. */
export interface Sections {
  host: Record<string, HostCell>;
  iommu: Record<string, IommuCell>;
  device: Record<string, DeviceCell>;
  /** key rid/dirIndex */
  'pasid-dir': Record<string, PasidDirCell>;
  /** key rid/pasid */
  pasid: Record<string, PasidEntry>;
  /** key iommu/did/pasid/page */
  iotlb: Record<string, TlbCell>;
  /** key iommu/rid/pasid */
  'pasid-cache': Record<string, PasidCacheCell>;
  /** key iommu/rid (imported traces: what the log shows of the context cache) */
  'context-cache': Record<string, ContextCacheCell>;
  /** key rid/pasid/page (device TLB) */
  atc: Record<string, TlbCell>;
  /** key rid/wq */
  wq: Record<string, WqCell>;
  /** key vm/vcpu */
  vcpu: Record<string, VcpuCell>;
  /** VMCS PASID translation table, key vm/gpasid */
  'cpu-pasid': Record<string, CpuPasidCell>;
  /** key host/set */
  'ioasid-set': Record<string, IoasidSetCell>;
  /** key host/pasid (global space) or host/rid/pasid (per-RID space) */
  ioasid: Record<string, IoasidCell>;
  /** key fd/id */
  iommufd: Record<string, IommufdCell>;
  /** key fd/ioasId/iova */
  'ioas-map': Record<string, IoasMapCell>;
  /** per-iommufd context, key fd (absent: the defaults of a fresh open of /dev/iommu) */
  'iommufd-ctx': Record<string, IommufdCtxCell>;
  /** page tables, key root/page */
  pt: Record<string, PtCell>;
  /** page-table roots and whose address space they are, key root */
  'pt-root': Record<string, PtRootCell>;
  /** the kernel's record of what each (RID, PASID) is bound to, key rid/pasid */
  bind: Record<string, BindCell>;
  /** mediation path of an mdev / SIOV parent driver: virtual PASID -> real PASID, key rid/vpasid */
  'mdev-pasid': Record<string, MdevPasidCell>;
  /** the guest's vIOMMU PASID table (GPA space, not walked by hardware), key vm/rid/pasid */
  vpasid: Record<string, VpasidCell>;
  /** key vm */
  vm: Record<string, VmCell>;
  /** vIOMMU virt_id -> device, key fd/viommu/virtId */
  vdev: Record<string, VdevCell>;
  /** iommufd event-queue records (FAULT page requests, vEVENTQ events), key fd/queue/index */
  eventq: Record<string, EventqCell>;
  /** clean-up work queued by a FREE notification, key host/pasid/subscriber */
  deferred: Record<string, DeferredCell>;
  /** physical memory: one region per owner, key owner */
  mem: Record<string, MemCell>;
  /** dirty bits in HWPT_PAGING tables (IOMMU_HWPT_GET_DIRTY_BITMAP reads them), key root/page */
  dirty: Record<string, DirtyCell>;
}

export type SectionName = keyof Sections;

export interface State {
  s: Sections;
  /** Last applied sequence number, -1 before the first event. */
  seq: number;
  tick: number;
}

// ---------------------------------------------------------------- events

export interface EventBase {
  seq: number;
  tick: number;
  /** Index of the scenario step that produced the event (-1: platform set-up). */
  step: number;
  /** The thread whose step produced the event: present only in a threaded run (engine/threads.ts). */
  thread?: string;
  /** Present only in an imported trace (importers/): the source line this event was read from. */
  obs?: Observed;
}

/**
 * Where an imported event comes from: the source line (1-based number, as read,
 * at most 4096 characters), its time in nanoseconds since the file's first
 * timestamp (null: the line had none), QEMU's thread id or ftrace's pid, CPU
 * and task, and the names of the event's fields the line did not carry (their
 * values are placeholders, shown as unknown).
 */
export interface Observed {
  line: number;
  ts: number | null;
  raw: string;
  pid?: number;
  cpu?: number;
  task?: string;
  unknown?: string[];
}

export type Family =
  | 'ioctl' | 'table' | 'translation' | 'invalidation' | 'fault' | 'violation' | 'kernel' | 'guest';

export type ArgValue = number | string | boolean | null | ArgValue[] | { [k: string]: ArgValue };
export type Args = { [k: string]: ArgValue };

/** The event payloads, without seq/tick/step. Discriminated by `kind`. */
export type EventBody =
  | { kind: 'platform'; platform: Platform }
  | { kind: 'ioctl'; fd: string; cmd: string; args: Args; errno: Errno | null; out: Args }
  | { kind: 'pasid-write'; rid: Rid; pasid: number; before: PasidEntry | null; after: PasidEntry | null }
  | { kind: 'pasid-table-alloc'; rid: Rid; dir: number; table: number }
  | { kind: 'pt-write'; root: number; page: number; before: PtCell | null; after: PtCell | null }
  | { kind: 'pt-root'; root: number; owner: string | null; ioas: string | null; dirty?: boolean }
  | { kind: 'dirty'; root: number; page: number; rid: Rid | null; dirty: boolean }
  | { kind: 'kvm-pasid-map'; vm: string; gpasid: number; hpasid: number | null }
  | { kind: 'msr-write'; vm: string; vcpu: number; pasid: number | null }
  | { kind: 'wq-config'; rid: Rid; wq: string; pasid: number | null; enabled: boolean }
  | { kind: 'enqcmd'; vm: string | null; vcpu: number; rid: Rid; wq: string; msr: number | null; pasid: number | null; gp: boolean }
  | { kind: 'dma'; rid: Rid; pasid: number | null; addr: number; write: boolean; via: 'iotlb' | 'atc' | 'walk' | 'none'; pa: number | null; ok: boolean }
  | { kind: 'iotlb-fill'; iommu: string; did: number; pasid: number; page: number; pa: number; write: boolean }
  | { kind: 'iotlb-inval'; iommu: string; desc: number; granularity: 'global' | 'domain' | 'pasid' | 'page'; did: number | null; pasid: number | null; addr: number | null; npages: number | null; dropped: number }
  | { kind: 'pasid-cache-fill'; iommu: string; rid: Rid; pasid: number; entry: PasidCacheCell }
  | { kind: 'pasid-cache-inval'; iommu: string; granularity: 'global' | 'domain' | 'pasid'; did: number | null; pasid: number | null; dropped: number }
  | { kind: 'context-cache-fill'; iommu: string; rid: Rid; entry: ContextCacheCell }
  /** VT-d 0x1 descriptor: global, domain-selective or device-selective (source id, function mask). */
  | { kind: 'context-cache-inval'; iommu: string; granularity: 'global' | 'domain' | 'device'; did: number | null; rid: Rid | null; fm: number | null; dropped: number }
  | { kind: 'atc-fill'; rid: Rid; pasid: number; page: number; pa: number; write: boolean }
  | { kind: 'atc-inval'; rid: Rid; pasid: number | null; addr: number | null; npages: number | null; granularity: 'all' | 'pasid' | 'page'; dropped: number }
  | { kind: 'fault'; source: 'iommu' | 'cpu' | 'smmu'; reason: number; name: string; rid: Rid | null; pasid: number | null; addr: number | null; vm: string | null }
  | { kind: 'ioasid-alloc'; host: string; space: string; set: string; pasid: number; owner: string }
  | { kind: 'ioasid-free'; host: string; space: string; pasid: number }
  | { kind: 'ioasid-set'; host: string; set: string; op: 'alloc' | 'quota' | 'free'; quota: number; token: string; sid?: number; type?: 'null' | 'mm' }
  | { kind: 'ioasid-mode'; host: string; hwidMode: 'global' | 'local'; globalMin: number; policy: 'lowest' | 'cyclic'; revision?: 'v1' | 'v2' }
  | { kind: 'notify'; host: string; event: 'FREE' | 'BIND' | 'UNBIND'; pasid: number; subscriber: string; order: number }
  | { kind: 'deferred'; host: string; pasid: number; subscriber: string; rid: Rid | null; op: 'queue' | 'run' }
  | { kind: 'bind'; rid: Rid; pasid: number; owner: string | null; via: string; space: string | null; users?: number }
  | { kind: 'guest-pasid-write'; vm: string; rid: Rid; pasid: number; flptr: number | null }
  | { kind: 'guest-inval'; vm: string; what: 'pasid-cache' | 'iotlb'; rid: Rid | null; pasid: number | null }
  | { kind: 'mdev-pasid-map'; rid: Rid; vpasid: number; pasid: number | null }
  | { kind: 'kcall'; fn: string; args: Args; errno: Errno | null; out: Args }
  | { kind: 'config-write'; rid: Rid; offset: number; what: string; value: number | null }
  | { kind: 'config-read'; rid: Rid; vm: string | null; offset: number; what: string; found: string | null }
  | { kind: 'migrate'; vm: string; from: string; to: string; phase: 'save' | 'restore' }
  | { kind: 'vm-host'; vm: string; host: string }
  | { kind: 'device-assign'; rid: Rid; vm: string | null; host: string }
  | { kind: 'device-table'; rid: Rid; guestTable: number | null }
  | { kind: 'iommufd-obj'; op: 'alloc' | 'update' | 'destroy'; fd: string; id: number; type: IommufdType; refs: number[]; attrs: Record<string, number | string | boolean | null> }
  | { kind: 'ioas-map'; fd: string; ioas: number; iova: number; length: number; hpa: number | null; write: boolean; writable?: boolean }
  | { kind: 'iommufd-ctx'; fd: string; accountMode: 'user' | 'mm' | null }
  | { kind: 'vdev-map'; fd: string; viommu: number; virtId: number; rid: Rid | null; vdevice: number }
  /** A record enters, changes in (cookie assigned) or leaves an iommufd event queue; `why` says which. */
  | { kind: 'eventq'; fd: string; queue: number; idx: number; record: EventqCell | null; why: string }
  | { kind: 'kvm-wbinvd'; vm: string; wbinvd: 'noop' | 'honour'; noncoherent: number }
  | { kind: 'kvm-vfio'; vm: string; rid: Rid; op: 'add' | 'del' }
  | { kind: 'expect'; expected: string; actual: string; ok: boolean }
  /**
   * A scheduling decision of a threaded run (engine/threads.ts): `thread` runs next, from `at` (`step`: the
   * start of its next step; else the yield point it resumes after), chosen among `runnable`. `thread` null:
   * nothing can run while threads still have steps (`at` says who waits for what).
   */
  | { kind: 'sched'; thread: string | null; runnable: string[]; at: string }
  | { kind: 'violation'; invariant: ViolationKind; detail: string; rid: Rid | null; pasid: number | null };

export type ViolationKind = 'stale-iotlb' | 'stale-atc' | 'wrong-address-space' | 'entry-outlives-ioasid' | 'quota-overrun' | 'noncoherent-dma-without-wbinvd';

export type EventKind = EventBody['kind'];
export type TraceEvent = EventBase & EventBody;
export type EventOf<K extends EventKind> = EventBase & Extract<EventBody, { kind: K }>;
