// What a slice or instant is called in a timeline export: by what it is
// (IOMMU_HWPT_ALLOC, FAULT 0x59 SM: Present bit in PASID Table Entry is
// clear, IOTLB inval pasid), short enough to read on a track and to group
// by in Perfetto's aggregation (so no addresses: few distinct names, which
// the Perfetto export interns); the event's fields go beside it.
import { hex, pgttName } from '../engine/summary.js';
import type { TraceEvent } from '../engine/types.js';
import { stepClaim, type StepSpec } from '../replayer/step-claim.js';

/** Kinds drawn as instants (a point in time, not work that takes a slot). */
export const isInstant = (ev: TraceEvent): boolean => ev.kind === 'fault' || ev.kind === 'violation' || ev.kind === 'expect' || ev.kind === 'platform' || ev.kind === 'sched';

const failed = (name: string, errno: string | null): string => (errno === null ? name : `${name} ${errno}`);

/** A scenario step's slice: `step 12 IOMMU_HWPT_ALLOC` (an ioctl or kernel-call step by its command), `step 3 dma`. */
export function stepName(step: number, spec: { op?: unknown; cmd?: unknown; fn?: unknown } | undefined): string {
  if (step < 0) return 'set-up';
  const what = [spec?.cmd, spec?.fn, spec?.op].find((v) => typeof v === 'string');
  return `step ${step}${what !== undefined ? ` ${String(what)}` : ''}`;
}

/**
 * What names a step's slice: the header's scenario step when the step's own
 * events agree with it (replayer/step-claim.ts: the rule every reader uses),
 * else the command its trigger ran, so a forged header cannot rename what a
 * step did or annotate it. An op name or note with nothing in the events to
 * compare stays the header's (unchecked: the export's metadata says so;
 * verify re-runs the scenario).
 */
export function checkedStep(spec: StepSpec | undefined, trigger: TraceEvent | null): StepSpec | undefined {
  const claim = stepClaim(spec, trigger);
  if (spec !== undefined && claim.agrees) return spec;
  return claim.call !== null ? { cmd: claim.call } : undefined;
}

/** The slice's name. Total: a forged event with fields of the wrong type gets its kind. */
export function sliceName(ev: TraceEvent): string {
  try {
    const name = nameOf(ev);
    return typeof name === 'string' && name.length > 0 ? name : String(ev.kind);
  } catch {
    return String(ev.kind);
  }
}

function nameOf(ev: TraceEvent): string {
  switch (ev.kind) {
    case 'ioctl': return failed(ev.cmd, ev.errno);
    case 'kcall': return failed(ev.fn, ev.errno);
    case 'fault': return ev.source === 'cpu' ? `#GP ${ev.name}` : `FAULT ${hex(ev.reason)} ${ev.name}`;
    case 'violation': return `VIOLATION ${ev.invariant}`;
    case 'expect': return ev.ok ? 'expectation met' : 'EXPECTATION FAILED';
    case 'pasid-write': return ev.after === null ? `PASID ${ev.pasid} clear` : `PASID ${ev.pasid} ${ev.before === null ? 'set' : 'update'} ${pgttName(ev.after.pgtt)}`;
    case 'pasid-table-alloc': return `PASID table alloc dir ${ev.dir}`;
    case 'pt-write': return `PTE ${ev.after === null ? 'unmap' : ev.before === null ? 'map' : 'update'}`;
    case 'pt-root': return ev.owner === null ? 'page table free' : 'page table alloc';
    case 'dirty': return ev.dirty ? 'dirty bit set' : 'dirty bit clear';
    case 'kvm-pasid-map': return ev.hpasid === null ? `PASID unmap guest ${ev.gpasid}` : `PASID map guest ${ev.gpasid} -> host ${ev.hpasid}`;
    case 'msr-write': return `IA32_PASID ${ev.pasid === null ? 'invalid' : ev.pasid}`;
    case 'wq-config': return `${ev.wq} PASID ${ev.pasid ?? 'none'}`;
    case 'enqcmd': return ev.gp ? `ENQCMD ${ev.wq} #GP` : `ENQCMD ${ev.wq}`;
    case 'dma': return `DMA ${ev.write ? 'write' : 'read'} ${ev.ok ? `via ${ev.via}` : 'blocked'}`;
    case 'iotlb-fill': return 'IOTLB fill';
    case 'iotlb-inval': return `IOTLB inval ${ev.granularity}`;
    case 'pasid-cache-fill': return 'PASID-cache fill';
    case 'pasid-cache-inval': return `PASID-cache inval ${ev.granularity}`;
    case 'context-cache-fill': return 'context-cache fill';
    case 'context-cache-inval': return `context-cache inval ${ev.granularity}`;
    case 'atc-fill': return 'ATC fill';
    case 'atc-inval': return `ATC inval ${ev.granularity}`;
    case 'ioasid-alloc': return `IOASID alloc ${ev.pasid}`;
    case 'ioasid-free': return `IOASID free ${ev.pasid}`;
    case 'ioasid-set': return `IOASID set ${ev.op} ${ev.set}`;
    case 'ioasid-mode': return `PASID space ${ev.hwidMode}`;
    case 'notify': return `notify ${ev.event} -> ${ev.subscriber}`;
    case 'deferred': return `deferred ${ev.op} ${ev.subscriber}`;
    case 'bind': return ev.owner === null ? `unbind PASID ${ev.pasid}` : `bind PASID ${ev.pasid}`;
    case 'guest-pasid-write': return `guest PASID ${ev.pasid} ${ev.flptr === null ? 'clear' : 'set'}`;
    case 'guest-inval': return `guest ${ev.what} inval`;
    case 'mdev-pasid-map': return `vPASID ${ev.vpasid} -> ${ev.pasid ?? 'none'}`;
    case 'config-write': return `config write ${ev.what}`;
    case 'config-read': return `config read ${ev.what}`;
    case 'migrate': return `migrate ${ev.phase}`;
    case 'vm-host': return `runs on ${ev.host}`;
    case 'device-assign': return ev.vm === null ? `release ${ev.rid}` : `assign ${ev.rid}`;
    case 'device-table': return ev.guestTable === null ? 'PASID table host owned' : 'PASID table guest owned';
    case 'iommufd-obj': return `${ev.op} ${ev.type} ${ev.id}`;
    case 'ioas-map': return `IOAS ${ev.ioas} ${ev.hpa === null ? 'unmap' : 'map'}`;
    case 'iommufd-ctx': return ev.accountMode === null ? 'context reset' : `account per ${ev.accountMode}`;
    case 'vdev-map': return `virt_id ${ev.virtId} ${ev.rid === null ? 'erase' : `-> ${ev.rid}`}`;
    case 'eventq': return `event queue ${ev.queue} ${ev.why}`;
    case 'kvm-wbinvd': return `WBINVD ${ev.wbinvd}`;
    case 'kvm-vfio': return `kvm-vfio ${ev.op} ${ev.rid}`;
    case 'sched': return ev.thread === null ? 'sched: none runnable' : `sched -> ${ev.thread}`;
    case 'platform': return 'platform';
    default: return String((ev as { kind: unknown }).kind).replace(/-/g, ' ');
  }
}
