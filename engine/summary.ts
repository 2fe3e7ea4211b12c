// One line per event, in the words a kernel engineer would use; shared by
// `iotrace run`, `events`, the TUI's event list and diff output.
import type { Args, EventKind, Family, PasidEntry, TraceEvent } from './types.js';

/**
 * A number in 0x form. Total over anything a forged trace can put in a field
 * (a string, a map with a toString key, undefined): a summary never throws.
 */
export const hex = (n: number | null): string => {
  if (typeof n === 'number') return Number.isFinite(n) ? `0x${n.toString(16)}` : String(n);
  if (n === null || n === undefined) return '-';
  try { return JSON.stringify(n) ?? '?'; } catch { return '?'; }
};

const PGTT = ['-', 'FL', 'SL', 'NESTED', 'PT'];

/** A PASID entry's translation type by its VT-d name (FL, SL, NESTED, PT): one spelling wherever it is shown. */
export const pgttName = (n: unknown): string => (typeof n === 'number' ? PGTT[n] ?? String(n) : String(n));

/**
 * Fields that hold an address, a pointer, a page address or a size in bytes:
 * every text output (summaries, `iotrace state`, the TUI's state pane and
 * diff) prints them in 0x form, as the kernel and its docs do; `--json`
 * keeps numbers. By name (the state cells' fields and the uAPI's argument
 * names: user_va, iova, length, data_uptr, ...).
 */
const ADDRESS_NAMES: ReadonlySet<string> = new Set(['pa', 'base', 'size', 'flptr', 'slptptr', 'table', 'hpa', 'length', 'iova', 'guestTable', 'root', 'addr', 'offset', 'gpa', 'configFree']);
const ADDRESS_SUFFIX = /(?:^|_)(?:va|iova|addr|hpa|gpa|uptr|ptr|base|length)$/i;
export const isAddressField = (key: string): boolean => ADDRESS_NAMES.has(key) || ADDRESS_SUFFIX.test(key);

/** A field's value as text: an address field's number in 0x form, `pgtt` by name, anything else as JSON. */
export function fieldValueText(key: string, v: unknown): string {
  if (typeof v === 'number') return (isAddressField(key) && Number.isInteger(v) && v >= 0) ? `0x${v.toString(16)}` : key === 'pgtt' ? pgttName(v) : String(v);
  return JSON.stringify(v) ?? String(v);
}

export function entryText(e: PasidEntry | null): string {
  if (!e) return 'not present';
  if (typeof e !== 'object') return `(not a PASID entry: ${hex(e as unknown as number)})`;
  return `P=${e.p ? 1 : 0} PGTT=${pgttName(e.pgtt)} DID=${e.did} FLPTR=${hex(e.flptr)} SLPTPTR=${hex(e.slptptr)}${e.fpd ? ' FPD' : ''}${e.pgsnp ? ' PGSNP' : ''}`;
}

const hexPart = (part: string | undefined, scale = 1): string => {
  if (part === undefined || !/^\d{1,15}$/.test(part)) return part ?? '';
  return `0x${(Number(part) * scale).toString(16)}`;
};

/**
 * A state cell's key as text output shows it: where the key holds an address
 * or a page frame, the address in 0x form (an IOTLB line `dmar0/4/1/1024` is
 * shown `dmar0/4/1/0x400000`, a page-table cell `root/page` as two
 * addresses), so a search for an address finds its cells. The key itself (in
 * the state, the trace's checkpoints, --json) is unchanged.
 */
export function displayKey(section: string, key: string): string {
  const p = key.split('/');
  switch (section) {
    case 'iotlb': if (p.length === 4) p[3] = hexPart(p[3], 4096); break;
    case 'atc': if (p.length === 3) p[2] = hexPart(p[2], 4096); break;
    case 'pt': case 'dirty': if (p.length === 2) { p[0] = hexPart(p[0]); p[1] = hexPart(p[1], 4096); } break;
    case 'pt-root': if (p.length === 1) p[0] = hexPart(p[0]); break;
    case 'ioas-map': if (p.length === 3) p[2] = hexPart(p[2]); break;
    default: return key;
  }
  return p.join('/');
}

function scalar(field: string, v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return field === 'pgtt' ? pgttName(v) : isAddressField(field) || v >= 0x10000 ? `0x${v.toString(16)}` : String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map((x) => scalar(field, x)).join(',')}]`;
  return `{${cellFields(v as Record<string, unknown>)}}`;
}

function cellFields(o: Record<string, unknown>): string {
  return Object.keys(o).sort().map((k) => `${k}=${scalar(k, o[k])}`).join(' ');
}

/**
 * One-line text of a state cell, as `iotrace state` and the TUI show it:
 * `key=value` in key order, addresses in 0x form, pgtt by name, a PASID
 * entry as the table shows it (P=1 PGTT=NESTED ...). Not escaped: the
 * caller escapes (a cell's strings come from the file).
 */
export function cellText(section: string, value: unknown): string {
  // A forged trace can leave a cell of any shape: show it, never throw (the TUI's state pane draws every cell).
  try { return cellTextOf(section, value); } catch { return `(malformed cell: ${hex(value as number)})`; }
}

function cellTextOf(section: string, value: unknown): string {
  if (section === 'pasid') return entryText(value as PasidEntry | null);
  if (value === null || value === undefined) return 'absent';
  if (typeof value !== 'object') return scalar('', value);
  return cellFields(value as Record<string, unknown>);
}

/** Field-by-field changes between two versions of a cell ("did 3 → 4"). */
export function fieldChanges(before: unknown, after: unknown): string[] {
  if (typeof before !== 'object' || typeof after !== 'object' || before === null || after === null) return [];
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
    const x = scalar(k, b[k]);
    const y = scalar(k, a[k]);
    if (x !== y) out.push(`${k} ${x} → ${y}`);
  }
  return out;
}

function argsText(a: Args): string {
  return Object.keys(a).map((key) => `${key}=${fieldValueText(key, a[key])}`).join(' ');
}

const pasidText = (p: number | null): string => (p === null ? 'no PASID' : `PASID ${p}`);

/**
 * The one-line summary. Total: an event read from a damaged or forged trace
 * (a field of the wrong type, a missing one) gets a "malformed" line instead
 * of a TypeError in the middle of a listing.
 */
export function summarize(ev: TraceEvent): string {
  try {
    const text = describe(ev);
    // An imported event says which of its fields the source line did not carry (importers/: their values are placeholders).
    const unknown = Array.isArray(ev.obs?.unknown) && ev.obs.unknown.length ? ` [not in the log: ${ev.obs.unknown.join(', ')}]` : '';
    // An event of a threaded run says whose step produced it (engine/threads.ts).
    if (typeof text === 'string') return `${typeof ev.thread === 'string' && ev.kind !== 'sched' ? `[${ev.thread}] ` : ''}${text}${unknown}`;
  } catch { /* below */ }
  let json: string;
  try { json = JSON.stringify(ev); } catch { json = '?'; }
  return `(malformed ${String(ev.kind)} event: ${json.length > 200 ? `${json.slice(0, 200)}...` : json})`;
}

function describe(ev: TraceEvent): string {
  switch (ev.kind) {
    case 'platform': return `platform: ${ev.platform.iommus.length} IOMMU(s), ${ev.platform.devices.length} device(s), ${ev.platform.vms?.length ?? 0} VM(s)`;
    case 'ioctl': return `${ev.cmd}(${argsText(ev.args)}) on ${ev.fd} = ${ev.errno ?? `0 ${argsText(ev.out)}`.trim()}`;
    case 'kcall': return `${ev.fn}(${argsText(ev.args)}) = ${ev.errno ?? `0 ${argsText(ev.out)}`.trim()}`;
    case 'pasid-write': return `${ev.rid} PASID ${ev.pasid}: ${entryText(ev.before)} -> ${entryText(ev.after)}`;
    case 'pasid-table-alloc': return `${ev.rid} PASID directory[${ev.dir}] -> leaf table ${hex(ev.table)} (PASIDs ${ev.dir * 64}..${ev.dir * 64 + 63})`;
    case 'pt-write': return `page table ${hex(ev.root)} page ${hex(ev.page * 4096)}: ${ev.before ? hex(ev.before.pa) : 'none'} -> ${ev.after ? `${hex(ev.after.pa)}${ev.after.write ? ' rw' : ' ro'}` : 'none'}`;
    case 'pt-root': return `page table ${hex(ev.root)} ${ev.owner === null ? 'freed' : `for ${ev.owner}${ev.ioas ? ` over IOAS ${ev.ioas}` : ''}${ev.dirty ? ', dirty tracking on' : ''}`}`;
    case 'dirty': return `page table ${hex(ev.root)} page ${hex(ev.page * 4096)}: dirty bit ${ev.dirty ? `set by ${ev.rid ?? '?'}` : 'cleared'}`;
    case 'kvm-pasid-map': return `KVM ${ev.vm} PASID translation: guest ${ev.gpasid} -> ${ev.hpasid === null ? 'removed' : `host ${ev.hpasid}`}`;
    case 'msr-write': return `${ev.vm} vCPU${ev.vcpu} IA32_PASID = ${ev.pasid === null ? 'invalid' : `${ev.pasid} (valid)`}`;
    case 'wq-config': return `${ev.rid} ${ev.wq} PASID register = ${ev.pasid ?? 'none'}`;
    case 'enqcmd': return ev.gp
      ? `ENQCMD ${ev.vm ?? 'host'} vCPU${ev.vcpu} -> ${ev.rid} ${ev.wq}: IA32_PASID ${ev.msr ?? 'invalid'} not translated, #GP`
      : `ENQCMD ${ev.vm ?? 'host'} vCPU${ev.vcpu} -> ${ev.rid} ${ev.wq}: guest PASID ${ev.msr} -> host PASID ${ev.pasid}`;
    case 'dma': return `DMA ${ev.write ? 'write' : 'read'} ${ev.rid} ${pasidText(ev.pasid)} ${hex(ev.addr)} -> ${ev.ok ? `${hex(ev.pa)} via ${ev.via}` : 'blocked'}`;
    case 'iotlb-fill': return `IOTLB fill ${ev.iommu} DID ${ev.did} PASID ${ev.pasid} ${hex(ev.page * 4096)} -> ${hex(ev.pa)}`;
    case 'iotlb-inval': return `IOTLB inval (desc ${hex(ev.desc)}, ${ev.granularity}) ${ev.iommu}${ev.did !== null ? ` DID ${ev.did}` : ''}${ev.pasid !== null ? ` PASID ${ev.pasid}` : ''}${ev.addr !== null ? ` ${hex(ev.addr)}+${ev.npages}p` : ''}: dropped ${ev.dropped}`;
    case 'pasid-cache-fill': return `PASID cache fill ${ev.iommu} ${ev.rid} PASID ${ev.pasid} DID ${ev.entry.did}`;
    case 'pasid-cache-inval': return `PASID-cache inval (desc 0x7, ${ev.granularity}) ${ev.iommu}${ev.did !== null ? ` DID ${ev.did}` : ''}${ev.pasid !== null ? ` PASID ${ev.pasid}` : ''}: dropped ${ev.dropped}`;
    case 'context-cache-fill': return `context cache fill ${ev.iommu} ${ev.rid}${ev.entry.did !== null ? ` DID ${ev.entry.did}` : ''} ${ev.entry.scalable ? 'PASID dir' : 'SLPTPTR'} ${hex(ev.entry.root)}`;
    case 'context-cache-inval': return `context-cache inval (${ev.granularity}) ${ev.iommu}${ev.did !== null ? ` DID ${ev.did}` : ''}${ev.rid !== null ? ` ${ev.rid}${ev.fm ? ` FM ${ev.fm}` : ''}` : ''}: dropped ${ev.dropped}`;
    case 'atc-fill': return `ATC fill ${ev.rid} PASID ${ev.pasid} ${hex(ev.page * 4096)} -> ${hex(ev.pa)}`;
    case 'atc-inval': return `ATC inval (${ev.granularity}) ${ev.rid}${ev.pasid !== null ? ` PASID ${ev.pasid}` : ''}${ev.addr !== null ? ` ${hex(ev.addr)}+${ev.npages}p` : ''}: dropped ${ev.dropped}`;
    case 'fault': return `FAULT ${ev.source} ${hex(ev.reason)} ${ev.name}: ${ev.rid ?? ''} ${pasidText(ev.pasid)}${ev.addr !== null ? ` addr ${hex(ev.addr)}` : ''}${ev.vm ? ` (${ev.vm})` : ''}`;
    case 'ioasid-alloc': return `IOASID ${ev.pasid} allocated in ${ev.space} set ${ev.set} for ${ev.owner}`;
    case 'ioasid-free': return `IOASID ${ev.pasid} freed in ${ev.space}`;
    case 'ioasid-set': return `IOASID set ${ev.set} on ${ev.host}: ${ev.op} quota ${ev.quota}`;
    case 'ioasid-mode': return `${ev.host} PASID space ${ev.hwidMode}${ev.globalMin ? ` GLOBAL_MIN ${ev.globalMin}` : ''}, ${ev.policy} allocation`;
    case 'notify': return `notify ${ev.event} PASID ${ev.pasid} -> ${ev.subscriber} (#${ev.order})`;
    case 'deferred': return `${ev.op === 'queue' ? 'queued' : 'ran'} ${ev.subscriber} clean-up of PASID ${ev.pasid}${ev.rid ? ` on ${ev.rid}` : ''}`;
    case 'bind': return ev.owner === null ? `${ev.rid} PASID ${ev.pasid} unbound (${ev.via})` : `${ev.rid} PASID ${ev.pasid} bound to ${ev.owner} (${ev.via})`;
    case 'mdev-pasid-map': return `${ev.rid} mediation: virtual PASID ${ev.vpasid} -> ${ev.pasid ?? 'removed'}`;
    case 'guest-pasid-write': return `${ev.vm} vIOMMU PASID table ${ev.rid} PASID ${ev.pasid} -> ${ev.flptr === null ? 'cleared' : `FLPTR ${hex(ev.flptr)}`}`;
    case 'guest-inval': return `${ev.vm} vIOMMU ${ev.what} invalidation${ev.rid ? ` ${ev.rid}` : ''}${ev.pasid !== null ? ` PASID ${ev.pasid}` : ''} (captured by the VMM)`;
    case 'config-write': return `${ev.rid} config space ${hex(ev.offset)}: ${ev.what} = ${ev.value === null ? 'removed' : hex(ev.value)}`;
    case 'config-read': return `${ev.vm ?? 'host'} reads ${ev.rid} config ${hex(ev.offset)} expecting ${ev.what}: ${ev.found ?? 'not there'}`;
    case 'migrate': return `migrate ${ev.vm} ${ev.from} -> ${ev.to}: ${ev.phase}`;
    case 'vm-host': return `${ev.vm} now runs on ${ev.host}`;
    case 'device-assign': return ev.vm === null ? `${ev.rid} released` : `${ev.rid} assigned to ${ev.vm}`;
    case 'device-table': return `${ev.rid} PASID table ${ev.guestTable === null ? 'host owned' : `guest owned at GPA ${hex(ev.guestTable)}`}`;
    case 'iommufd-obj': return `${ev.fd} ${ev.op} ${ev.type} ${ev.id}${ev.refs.length ? ` (holds ${ev.refs.join(', ')})` : ''}`;
    case 'ioas-map': return `${ev.fd} IOAS ${ev.ioas} ${ev.hpa === null ? 'unmap' : 'map'} ${hex(ev.iova)}+${hex(ev.length)}${ev.hpa !== null ? ` -> ${hex(ev.hpa)}` : ''}`;
    case 'vdev-map': return `${ev.fd} vIOMMU ${ev.viommu} virt_id ${ev.virtId} -> ${ev.rid === null ? 'erased' : `${ev.rid} (vDEVICE ${ev.vdevice})`}`;
    case 'eventq': return `${ev.fd} event queue ${ev.queue} #${ev.idx} ${ev.why}: ${ev.record === null ? 'removed' : `${ev.record.type} ${argsText(ev.record.data)}`}`;
    case 'kvm-wbinvd': return `KVM ${ev.vm}: WBINVD ${ev.wbinvd === 'noop' ? 'is a no-op (KVM knows of no non-coherent DMA)' : `honoured (${ev.noncoherent} non-coherent device(s))`}`;
    case 'iommufd-ctx': return `${ev.fd} context: ${ev.accountMode === null ? 'reset (fd closed)' : `pinned pages accounted per ${ev.accountMode === 'mm' ? 'mm (RLIMIT_MODE 1)' : 'user (RLIMIT_MODE 0)'}`}`;
    case 'kvm-vfio': return `kvm-vfio device of ${ev.vm}: ${ev.op === 'add' ? 'file of' : 'dropped file of'} ${ev.rid}`;
    case 'expect': return `EXPECTATION FAILED: expected ${ev.expected}, got ${ev.actual}`;
    case 'violation': return `VIOLATION ${ev.invariant}: ${ev.detail}`;
    case 'sched': return ev.thread === null ? `sched: nothing can run (${ev.at})` : `sched -> ${ev.thread} ${ev.at === 'step' ? 'starts its next step' : `resumes after ${ev.at}`} (runnable: ${ev.runnable.join(', ')})`;
  }
}

const FAMILY: Record<EventKind, Family> = {
  platform: 'kernel', ioctl: 'ioctl', kcall: 'ioctl', 'pasid-write': 'table', 'pasid-table-alloc': 'table', 'pt-write': 'table', 'pt-root': 'table', dirty: 'table',
  'kvm-pasid-map': 'table', 'msr-write': 'guest', 'wq-config': 'table', enqcmd: 'translation', dma: 'translation',
  'iotlb-fill': 'translation', 'iotlb-inval': 'invalidation', 'pasid-cache-fill': 'translation', 'pasid-cache-inval': 'invalidation',
  'context-cache-fill': 'translation', 'context-cache-inval': 'invalidation',
  'atc-fill': 'translation', 'atc-inval': 'invalidation', fault: 'fault', 'ioasid-alloc': 'kernel', 'ioasid-free': 'kernel',
  'ioasid-set': 'kernel', 'ioasid-mode': 'kernel', notify: 'kernel', deferred: 'kernel', bind: 'kernel', 'mdev-pasid-map': 'table',
  'guest-pasid-write': 'guest', 'guest-inval': 'guest', 'config-write': 'table', 'config-read': 'guest', migrate: 'kernel', 'vm-host': 'kernel',
  'device-assign': 'kernel', 'device-table': 'table', 'iommufd-obj': 'kernel', 'ioas-map': 'table', 'iommufd-ctx': 'kernel', 'vdev-map': 'table', eventq: 'fault',
  'kvm-wbinvd': 'kernel', 'kvm-vfio': 'kernel', expect: 'violation', violation: 'violation', sched: 'kernel',
};

/** The colour family of an event kind: ioctl, table write, translation, invalidation, fault, violation, ... */
export const family = (kind: EventKind): Family => FAMILY[kind];

export const EVENT_KINDS = Object.keys(FAMILY) as EventKind[];
