// What makes two events "the same event" when two traces are aligned: the
// kind plus the fields that say what was asked for (ioctl command and
// arguments, RID, PASID, work queue, cache line, address), never seq, tick or
// step (an event inserted earlier shifts those for everything after it) and
// never the outcome (errno, translated PASID, the entry written, how many
// lines an invalidation dropped). Two events with the same identity whose
// other fields differ are one *changed* event; the same event and outcome at
// another tick, step or source line (obs) is one *retimed* event; events
// without a partner are only in A or only in B.
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

/** A number JSON cannot hold as itself (NaN and ±Infinity print as null, -0 as 0). */
const oddNumber = (v: unknown): v is number => typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0));

/**
 * v with every Uint8Array (a msgpack bin) replaced by a tagged hex string,
 * so that binary data never reads as the map of its indexes (canonical()
 * makes an empty bin {}, and a forged trace can swap one for the other), and
 * every number JSON cannot hold by a tagged string of it (else null, NaN and
 * Infinity would all read as null).
 */
function tagged(v: unknown, depth = 0): unknown {
  if (v instanceof Uint8Array) return `\u0000bin:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (oddNumber(v)) return `\u0000num:${Object.is(v, -0) ? '-0' : String(v)}`;
  if (v === null || typeof v !== 'object' || depth > 64) return v;
  if (Array.isArray(v)) return v.map((x) => tagged(x, depth + 1));
  const out: Record<string, unknown> = {};
  // defineProperty: an own "__proto__" key stays data.
  for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: tagged((v as Record<string, unknown>)[k], depth + 1), enumerable: true, writable: true, configurable: true });
  return out;
}

/** Whether v holds a Uint8Array or an odd number anywhere (a walk that allocates nothing: the common case pays only this). */
function needsTags(v: unknown, depth = 0): boolean {
  if (v instanceof Uint8Array || oddNumber(v)) return true;
  if (v === null || typeof v !== 'object' || depth > 64) return false;
  if (Array.isArray(v)) { for (const x of v) if (needsTags(x, depth + 1)) return true; return false; }
  for (const k in v) if (Object.hasOwn(v, k) && needsTags((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

function part(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(canonical(needsTags(v) ? tagged(v) : v));
  return oddNumber(v) ? `\u0000num:${Object.is(v, -0) ? '-0' : String(v)}` : String(v);
}

/** Two values are the same value (-0 is not 0, NaN is NaN; objects by their tagged canonical JSON): an event field, a state cell. */
export function sameValue(x: unknown, y: unknown): boolean {
  if (x === y) return x !== 0 || Object.is(x, y);
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return Object.is(x, y);
  return part(x) === part(y);
}

/** The identity of an event as one string: equal strings, same event. */
export function identityOf(ev: TraceEvent): string {
  const f = ev as unknown as Record<string, unknown>;
  let s = ev.kind;
  for (const name of IDENTITY[ev.kind] ?? []) s += `|${part(f[name])}`;
  return s;
}

/**
 * The fields other than seq whose values differ (tick, step and obs
 * included: a divergence names every field it has); empty when the events are
 * identical. seq is a position: two events at one position share it.
 */
export function changedFields(a: TraceEvent, b: TraceEvent): string[] {
  const fa = a as unknown as Record<string, unknown>;
  const fb = b as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const k of new Set([...Object.keys(fa), ...Object.keys(fb)])) {
    if (k === 'seq') continue;
    if (!sameValue(fa[k], fb[k])) out.push(k);
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
    if (x === fb[k] && x !== 0) continue;
    if (!sameValue(x, fb[k])) return false;
  }
  let m = 0;
  for (const k in fb) if (!BASE.has(k)) m++;
  return n === m;
}

/**
 * Identical but for seq: sameEvent, and at the same tick, scenario step and
 * source line. The common prefix and '=' rows rest on this; sameEvent alone
 * makes a row retimed.
 */
export function identicalEvent(a: TraceEvent, b: TraceEvent): boolean {
  return sameValue(a.tick, b.tick) && sameValue(a.step, b.step) && sameValue(a.obs, b.obs) && sameEvent(a, b);
}
