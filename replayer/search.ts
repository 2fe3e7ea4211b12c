// Matching an event against a search query (kind, RID, PASID, ioctl or kernel
// call name, free text over the one-line summary). One matcher for every
// consumer: `iotrace events --kind/--rid/--pasid/--cmd/--grep`, the TUI's `/`
// search and `t` filter, and Replayer.search, so the two never disagree.
import { EVENT_KINDS, family, summarize } from '../engine/summary.js';
import type { EventKind, Family, TraceEvent } from '../engine/types.js';
import type { SearchQuery } from './api.js';

/** The event families, each a set of kinds (engine/summary.ts family()). */
export const FAMILIES: readonly Family[] = ['ioctl', 'table', 'translation', 'invalidation', 'fault', 'violation', 'kernel', 'guest'];
const KIND_SET = new Set<string>(EVENT_KINDS);

/** Kinds named by a kind or a family name ("fault", "pasid-write", "table"), or null. */
export function kindsOf(word: string): EventKind[] | null {
  const w = word.toLowerCase();
  if (KIND_SET.has(w)) return [w as EventKind];
  if ((FAMILIES as readonly string[]).includes(w)) return EVENT_KINDS.filter((k) => family(k) === w);
  return null;
}

/**
 * Keys that hold a PASID, wherever they sit in an event: the host PASID
 * (`pasid`), the guest's (`gpasid`, KVM's and the VMCS table's), the host
 * side of a translation (`hpasid`), an mdev's virtual PASID (`vpasid`), the
 * 2021 uAPI's `ioasid` (an IOASID is a PASID), SMMUv3's substream ID
 * (`ssid`), per-PASID attributes (`pasid/1`); and ENQCMD's IA32_PASID value
 * (`msr`). They are looked for at the top of an event and inside ioctl and
 * kernel-call arguments and outputs, object attributes and queue records.
 */
const PASID_KEY = /^(?:[ghv]?pasid|ioasid|ssid)(?:\/\d+)?$/i;

function collect(v: unknown, key: RegExp, out: (x: unknown) => void, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 6) return;
  if (Array.isArray(v)) { for (const x of v) collect(x, key, out, depth + 1); return; }
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (key.test(k)) out(x);
    else if (x !== null && typeof x === 'object') collect(x, key, out, depth + 1);
  }
}

/** Every PASID an event carries (see PASID_KEY), in the order found; numbers only. */
export function pasidsOf(ev: TraceEvent): number[] {
  const out: number[] = [];
  const add = (x: unknown): void => { if (typeof x === 'number') out.push(x); };
  if (ev.kind === 'platform') return out;
  collect(ev, PASID_KEY, add, 0);
  if (ev.kind === 'enqcmd') add(ev.msr);
  return out;
}

/**
 * Keys that name a device: its requester id (`rid`), and `dev`, the device a
 * VFIO ioctl acts on (VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
 * VFIO_DEVICE_UNBIND, VFIO_ATTACH_IOASID, KVM_DEV_VFIO_FILE_ADD/DEL: the
 * device's cdev or group file, which the model names by RID or mdev name).
 */
const RID_KEY = /^(?:rid|dev)$/;

/** Every device an event names: its own `rid`, and any `rid` or `dev` inside its arguments, outputs or records. */
export function ridsOf(ev: TraceEvent): string[] {
  const out: string[] = [];
  if (ev.kind === 'platform') return out;
  collect(ev, RID_KEY, (x) => { if (typeof x === 'string') out.push(x.toLowerCase()); }, 0);
  return out;
}

export function matches(ev: TraceEvent, q: SearchQuery): boolean {
  if (q.kinds && q.kinds.length > 0 && !q.kinds.includes(ev.kind)) return false;
  const f = ev as unknown as Record<string, unknown>;
  if (q.rid !== undefined && !ridsOf(ev).includes(q.rid.toLowerCase())) return false;
  if (q.pasid !== undefined && !pasidsOf(ev).includes(q.pasid)) return false;
  if (q.cmd !== undefined && f.cmd !== q.cmd && f.fn !== q.cmd) return false;
  if (q.thread !== undefined && ev.thread !== q.thread) return false;
  if (q.text !== undefined && !summarize(ev).toLowerCase().includes(q.text.toLowerCase())) return false;
  return true;
}
