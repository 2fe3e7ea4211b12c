// What makes two events "the same event" when two traces are aligned: the
// kind plus the fields that say what was asked for (ioctl command and
// arguments, RID, PASID, work queue, cache line, address), never seq, tick or
// step (an event inserted earlier shifts those for everything after it) and
// never the outcome (errno, translated PASID, the entry written, how many
// lines an invalidation dropped). Two events with the same identity whose
// other fields differ are one *changed* event; events without a partner are
// only in A or only in B.
import { canonical } from '../engine/state.js';
import type { EventKind, TraceEvent } from '../engine/types.js';

/**
 * Identity fields per kind. A Record over EventKind, so a new kind does not
 * compile until someone decides what identifies it.
 */
export const IDENTITY: Readonly<Record<EventKind, readonly string[]>> = {
  platform: [],
  ioctl: ['fd', 'cmd', 'args'],
  kcall: ['fn', 'args'],
  'pasid-write': ['rid', 'pasid'],
  'pasid-table-alloc': ['rid', 'dir'],
  'pt-write': ['root', 'page'],
  'pt-root': ['root'],
  dirty: ['root', 'page', 'dirty'],
  'kvm-pasid-map': ['vm', 'gpasid'],
  'msr-write': ['vm', 'vcpu'],
  'wq-config': ['rid', 'wq'],
  // msr is the PASID the submitter put in; `pasid` is what the CPU translated it to.
  enqcmd: ['vm', 'vcpu', 'rid', 'wq', 'msr'],
  dma: ['rid', 'pasid', 'addr', 'write'],
  'iotlb-fill': ['iommu', 'did', 'pasid', 'page'],
  'iotlb-inval': ['iommu', 'desc', 'granularity', 'did', 'pasid', 'addr', 'npages'],
  'pasid-cache-fill': ['iommu', 'rid', 'pasid'],
  'pasid-cache-inval': ['iommu', 'granularity', 'did', 'pasid'],
  'context-cache-fill': ['iommu', 'rid'],
  'context-cache-inval': ['iommu', 'granularity', 'did', 'rid', 'fm'],
  'atc-fill': ['rid', 'pasid', 'page'],
  'atc-inval': ['rid', 'granularity', 'pasid', 'addr', 'npages'],
  fault: ['source', 'reason', 'rid', 'pasid', 'addr'],
  // The allocated PASID is the allocator's answer, not the request.
  'ioasid-alloc': ['host', 'space', 'set', 'owner'],
  'ioasid-free': ['host', 'space', 'pasid'],
  'ioasid-set': ['host', 'set', 'op'],
  'ioasid-mode': ['host'],
  notify: ['host', 'event', 'pasid', 'subscriber'],
  deferred: ['host', 'pasid', 'subscriber', 'rid', 'op'],
  bind: ['rid', 'pasid', 'via'],
  'guest-pasid-write': ['vm', 'rid', 'pasid'],
  'guest-inval': ['vm', 'what', 'rid', 'pasid'],
  'mdev-pasid-map': ['rid', 'vpasid'],
  'config-write': ['rid', 'offset', 'what'],
  'config-read': ['vm', 'rid', 'offset', 'what'],
  migrate: ['vm', 'from', 'to', 'phase'],
  'vm-host': ['vm'],
  'device-assign': ['rid'],
  'device-table': ['rid'],
  // Object ids are handed out by iommufd: an outcome.
  'iommufd-obj': ['fd', 'op', 'type'],
  'ioas-map': ['fd', 'ioas', 'iova'],
  'iommufd-ctx': ['fd'],
  'vdev-map': ['fd', 'viommu', 'virtId'],
  // The queue record's slot; what it holds (cookie, sequence) is the outcome.
  eventq: ['fd', 'queue', 'idx', 'why'],
  'kvm-wbinvd': ['vm'],
  'kvm-vfio': ['vm', 'rid', 'op'],
  expect: ['expected'],
  violation: ['invariant', 'rid', 'pasid'],
  // Two schedules of one scenario part where a sched event picks another thread.
  sched: ['thread', 'at'],
};

// `obs` (an imported event's source line and time) says where an event was read, not what happened.
const BASE = new Set(['seq', 'tick', 'step', 'obs']);

/**
 * v with every Uint8Array (a msgpack bin) replaced by a tagged hex string,
 * so that binary data never reads as the map of its indexes (canonical()
 * makes an empty bin {}, and a forged trace can swap one for the other).
 */
function tagBinary(v: unknown, depth = 0): unknown {
  if (v instanceof Uint8Array) return `\u0000bin:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (v === null || typeof v !== 'object' || depth > 64) return v;
  if (Array.isArray(v)) return v.map((x) => tagBinary(x, depth + 1));
  const out: Record<string, unknown> = {};
  // defineProperty: an own "__proto__" key stays data.
  for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: tagBinary((v as Record<string, unknown>)[k], depth + 1), enumerable: true, writable: true, configurable: true });
  return out;
}

/** Whether v holds a Uint8Array anywhere (a walk that allocates nothing: the common case pays only this). */
function hasBinary(v: unknown, depth = 0): boolean {
  if (v instanceof Uint8Array) return true;
  if (v === null || typeof v !== 'object' || depth > 64) return false;
  if (Array.isArray(v)) { for (const x of v) if (hasBinary(x, depth + 1)) return true; return false; }
  for (const k in v) if (Object.hasOwn(v, k) && hasBinary((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

function part(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(canonical(hasBinary(v) ? tagBinary(v) : v));
  return String(v);
}

/** The identity of an event as one string: equal strings, same event. */
export function identityOf(ev: TraceEvent): string {
  const f = ev as unknown as Record<string, unknown>;
  let s = ev.kind;
  for (const name of IDENTITY[ev.kind] ?? []) s += `|${part(f[name])}`;
  return s;
}

/** The fields (other than seq / tick / step / obs) whose values differ; empty when the events are the same. */
export function changedFields(a: TraceEvent, b: TraceEvent): string[] {
  const fa = a as unknown as Record<string, unknown>;
  const fb = b as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const k of new Set([...Object.keys(fa), ...Object.keys(fb)])) {
    if (BASE.has(k)) continue;
    const x = fa[k];
    const y = fb[k];
    if (x === y) continue;
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object' && part(x) === part(y)) continue;
    out.push(k);
  }
  return out;
}

/**
 * Same event, outcome included (seq / tick / step / obs aside). The hot path of a
 * full diff: events decoded from the same layout share their key order, so
 * one pass over A's keys with === settles almost every pair.
 */
export function sameEvent(a: TraceEvent, b: TraceEvent): boolean {
  if (a.kind !== b.kind) return false;
  const fa = a as unknown as Record<string, unknown>;
  const fb = b as unknown as Record<string, unknown>;
  let n = 0;
  for (const k in fa) {
    if (BASE.has(k)) continue;
    n++;
    const x = fa[k];
    const y = fb[k];
    if (x === y) continue;
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
    if (part(x) !== part(y)) return false;
  }
  let m = 0;
  for (const k in fb) if (!BASE.has(k)) m++;
  return n === m;
}
