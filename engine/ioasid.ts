// The kernel's IOASID allocator as the 2020 "IOASID extensions for guest SVA"
// series by Jacob Pan extends it (seed 001): capacity, sets with quotas, and
// a notifier chain (FREE / BIND / UNBIND). The series was never merged:
// mainline drivers/iommu/ioasid.c (v5.5 .. v6.4) had no capacity, no quotas
// and no set operations, and v6.18 has no ioasid.c at all.
//
// Two postings are modelled, chosen per host with `ioasid-config revision`:
//   v1  [PATCH 00/10] 2020-03-25, the one seed 001 answers (the default):
//       ioasid_alloc_set(token, quota, &sid), ioasid_free_set(sid, destroy_set),
//       ioasid_find_sid(), ioasid_adjust_set(sid, quota), a blocking chain.
//   v2  [PATCH v2 0/9] 2020-08-21: ioasid_alloc_set(token, quota, type) with
//       IOASID_SET_TYPE_NULL / _MM, ioasid_free(set, id) checks set ownership,
//       ioasid_set_put(), atomic chains (global, then per set).
// Each check cites `<function>(), drivers/iommu/ioasid.c (IOASID series vN
// NN/MM)`. The per-RID spaces and GLOBAL_MIN split belong to the 2021
// /dev/ioasid proposal (seed 000), `cyclic` allocation to option 1 of Jacob's
// reply in the seed 001 thread: neither is in any posting (all use xa_alloc,
// lowest free id).
import type { Ctx } from './ctx.js';
import { clearEntry } from './iommu.js';
import { k, parts } from './keys.js';
import { allocIndex, bindsOfPasid, cpuPasidsOf, freeSetId, mmTokenInUse, quotaSum, setCount, setKeys, spaceFirstFree } from './indexes.js';
import { compareKeys } from './state.js';
import type { Errno, HostCell, IoasidSetCell, Rid, State } from './types.js';

/**
 * Notifier-chain subscribers in delivery order. v1: one blocking chain in
 * registration order (ioasid_add_notifier() → blocking_notifier_chain_register,
 * equal priorities stay in registration order); the VT-d driver registers at
 * init (series 10/10), KVM later. v2: FREE goes down the global chain (where
 * the IOMMU driver registers, IOASID_PRIO_IOMMU) before the set's chain (where
 * KVM listens through ioasid_register_notifier_mm): ioasid_free_locked(),
 * series v2 6/9. Either way: the IOMMU driver, then KVM.
 */
export const SUBSCRIBERS = ['iommu-driver', 'kvm'] as const;
export type Subscriber = (typeof SUBSCRIBERS)[number];

/** The set bare-metal SVA allocates from (ioasid_alloc_system_set, series v1 05/10). */
export const SYSTEM_SET = 'system';

export type Revision = 'v1' | 'v2';

export function host(state: State, id: string): HostCell {
  const h = state.s.host[id];
  if (!h) throw new Error(`no host ${id}`);
  return h;
}

export const revisionOf = (state: State, hostId: string): Revision => host(state, hostId).revision ?? 'v1';

/** The sets of a host, sorted by name. */
function setsOf(state: State, hostId: string): Array<[string, IoasidSetCell]> {
  const out: Array<[string, IoasidSetCell]> = [];
  for (const key of Object.keys(state.s['ioasid-set']).sort(compareKeys)) {
    const [h, name] = parts(key);
    const cell = state.s['ioasid-set'][key];
    if (h === hostId && name !== undefined && cell) out.push([name, cell]);
  }
  return out;
}

/** ioasid_capacity_avail: the capacity not yet promised to a set (a set's quota is taken at ioasid_alloc_set). */
export function capacityAvail(state: State, hostId: string): number {
  const ix = allocIndex(state);
  const sum = ix ? quotaSum(ix, hostId) : null;
  if (sum !== null) return host(state, hostId).capacity - sum;
  let committed = 0;
  for (const [, cell] of setsOf(state, hostId)) committed += cell.quota;
  return host(state, hostId).capacity - committed;
}

/** How many IOASIDs of `set` are outstanding on `hostId` (nr_ioasids; every space). */
export function outstanding(state: State, hostId: string, set: string): number {
  const prefix = `${hostId}/`;
  const ix = allocIndex(state);
  if (ix) return setCount(ix, prefix, set);
  let n = 0;
  for (const key of Object.keys(state.s.ioasid)) {
    if (key.startsWith(prefix) && state.s.ioasid[key]?.set === set) n++;
  }
  return n;
}

/** Lowest free set ID in [0, limit]: xa_alloc(&ioasid_sets, …, XA_LIMIT(0, avail - quota)). */
function freeSid(state: State, hostId: string, limit: number): number | null {
  const ix = allocIndex(state);
  if (ix) return freeSetId(ix, hostId, limit);
  const used = new Set<number>();
  for (const [, cell] of setsOf(state, hostId)) if (cell.sid !== undefined) used.add(cell.sid);
  for (let sid = 0; sid <= limit; sid++) if (!used.has(sid)) return sid;
  return null;
}

export interface SetAllocRequest {
  host: string;
  /** The model's handle for the set the call returns (the sid / struct ioasid_set * a caller keeps). */
  set: string;
  quota: number;
  /** The token; null: a NULL token. */
  token: string | null;
  /** v2: IOASID_SET_TYPE_NULL or IOASID_SET_TYPE_MM (default: MM with a token, NULL without). */
  type?: 'null' | 'mm';
}

export type SetAllocResult = { errno: Errno; reason: string } | { sid: number };

/** ioasid_alloc_set(): a set with a quota carved out of the capacity. */
export function setAlloc(ctx: Ctx, req: SetAllocRequest): SetAllocResult {
  const state = ctx.state;
  const rev = revisionOf(state, req.host);
  // Model only: the name is the caller's variable for the new set; a second set cannot share it.
  if (state.s['ioasid-set'][k.ioasidSet(req.host, req.set)]) return { errno: 'EEXIST', reason: 'name in use (model handle, not a kernel check)' };
  const avail = capacityAvail(state, req.host);
  const type = req.type ?? (req.token === null ? 'null' : 'mm');
  if (rev === 'v1') {
    // ioasid_alloc_set(), drivers/iommu/ioasid.c (IOASID series v1 03/10): quota > ioasid_capacity_avail → -ENOSPC
    if (req.quota > avail) return { errno: 'ENOSPC', reason: 'quota > capacity available' };
    // ioasid_alloc_set() v1: xa_alloc of a set ID in [0, avail - quota] fails with -EBUSY when none is free
    const sid = freeSid(state, req.host, avail - req.quota);
    if (sid === null) return { errno: 'EBUSY', reason: 'no free set ID in [0, avail - quota]' };
    // v1 has no token check and accepts a quota of 0.
    ctx.emit({ kind: 'ioasid-set', host: req.host, set: req.set, op: 'alloc', quota: req.quota, token: req.token ?? '', sid });
    return { sid };
  }
  // ioasid_alloc_set(), drivers/iommu/ioasid.c (IOASID series v2 3/9): quota > ioasid_capacity_avail → -ENOSPC
  if (req.quota > avail) return { errno: 'ENOSPC', reason: 'quota > capacity available' };
  if (type === 'mm') {
    if (req.token === null) return { errno: 'EINVAL', reason: 'IOASID_SET_TYPE_MM needs a token' };
    // ioasid_alloc_set() v2: an MM-type set with this token exists → -EEXIST
    const ix = allocIndex(state);
    if (ix ? mmTokenInUse(ix, req.host, req.token) : setsOf(state, req.host).some(([, cell]) => cell.type === 'mm' && cell.token === req.token)) {
      return { errno: 'EEXIST', reason: 'token has a set' };
    }
  } else if (req.token !== null) {
    // ioasid_alloc_set() v2: IOASID_SET_TYPE_NULL with a non-NULL token → -EINVAL
    return { errno: 'EINVAL', reason: 'IOASID_SET_TYPE_NULL with a token' };
  }
  // ioasid_alloc_set() v2: a quota of 0 → -EINVAL ("REVISIT: may support set w/o quota")
  if (req.quota === 0) return { errno: 'EINVAL', reason: 'quota 0' };
  // ioasid_alloc_set() v2: xa_alloc of a set ID in [0, avail - quota] fails → -ENOSPC
  const sid = freeSid(state, req.host, avail - req.quota);
  if (sid === null) return { errno: 'ENOSPC', reason: 'no free set ID in [0, avail - quota]' };
  ctx.emit({ kind: 'ioasid-set', host: req.host, set: req.set, op: 'alloc', quota: req.quota, token: req.token ?? '', sid, type });
  return { sid };
}

/** ioasid_adjust_set(): change a set's quota. */
export function setQuota(ctx: Ctx, hostId: string, set: string, quota: number): { errno: Errno; reason: string } | null {
  const cur = ctx.state.s['ioasid-set'][k.ioasidSet(hostId, set)];
  // ioasid_adjust_set(), drivers/iommu/ioasid.c (IOASID series v1 09/10): no such set → -EINVAL
  // (v2 takes the caller's set pointer; the model refuses an unknown name the same way)
  if (!cur) return { errno: 'EINVAL', reason: 'no such set' };
  // ioasid_adjust_set() v1 09/10, v2: new quota below nr_ioasids → -EINVAL
  if (quota < outstanding(ctx.state, hostId, set)) return { errno: 'EINVAL', reason: 'below outstanding' };
  // ioasid_adjust_set(): quota >= ioasid_capacity_avail → -ENOSPC (the new quota itself, not the delta, with >=)
  if (quota >= capacityAvail(ctx.state, hostId)) return { errno: 'ENOSPC', reason: 'quota >= capacity available' };
  ctx.emit({ kind: 'ioasid-set', host: hostId, set, op: 'quota', quota, token: cur.token, ...(cur.sid !== undefined ? { sid: cur.sid } : {}), ...(cur.type !== undefined ? { type: cur.type } : {}) });
  return null;
}

export interface AllocRequest {
  host: string;
  /** host for the global space, host/rid for a per-RID one (seed 000's proposal) */
  space: string;
  set: string;
  owner: string;
  /** Inclusive lower bound; absent: the host's minPasid (the caller's PASID_MIN: PASID 0 is RID_PASID). */
  min?: number;
  /** Inclusive upper bound; absent: capacity - 1 (intel-svm passes pasid_max - 1). */
  max?: number;
  /** Skip the quota check: models an allocation path that forgets to charge the set. */
  uncharged?: boolean;
}

/**
 * Why ioasid_alloc() returned INVALID_IOASID. The callers turn every one into
 * -ENOSPC (vfio_pasid_alloc() in the VFIO half of the series; intel-svm too).
 */
export type AllocFailure = 'no-set' | 'quota' | 'range';

export function alloc(ctx: Ctx, req: AllocRequest): { errno: Errno; reason: AllocFailure } | { pasid: number } {
  return allocCheck(ctx.state, req) ?? allocCharge(ctx, req);
}

/**
 * The first half of ioasid_alloc(): the set and its quota. Under the
 * series' ioasid_allocator_lock the charge follows at once (alloc()); a
 * threaded run under `locking=check-then-charge` yields between the two
 * (engine/ops/kernel.ts), the design seed 001's quota race is about.
 */
export function allocCheck(state: State, req: AllocRequest): { errno: Errno; reason: AllocFailure } | null {
  const set = state.s['ioasid-set'][k.ioasidSet(req.host, req.set)];
  // ioasid_alloc(), drivers/iommu/ioasid.c (IOASID series v1 06/10; v2 3/9): the set must exist → INVALID_IOASID
  if (!set) return { errno: 'ENOSPC', reason: 'no-set' };
  // ioasid_alloc(): quota <= nr_ioasids → INVALID_IOASID (checked before the range)
  if (!req.uncharged && outstanding(state, req.host, req.set) >= set.quota) return { errno: 'ENOSPC', reason: 'quota' };
  return null;
}

/** The second half of ioasid_alloc(): the id from the allocator, charged to the set (nr_ioasids++). */
export function allocCharge(ctx: Ctx, req: AllocRequest): { errno: Errno; reason: AllocFailure } | { pasid: number } {
  const state = ctx.state;
  // The set may have gone while a check-then-charge caller slept: nothing to charge.
  if (!state.s['ioasid-set'][k.ioasidSet(req.host, req.set)]) return { errno: 'ENOSPC', reason: 'no-set' };
  const h = host(state, req.host);
  const min = req.min ?? h.minPasid;
  const max = req.max ?? h.capacity - 1;
  // ioasid_alloc() → default_alloc(): xa_alloc(XA_LIMIT(min, max)), max inclusive; no free id
  // (or min > max) → INVALID_IOASID. Nothing bounds max by the capacity: that only bounds the quotas.
  const start = h.policy === 'cyclic' && req.space === req.host ? h.last + 1 : min;
  const pasid = min > max ? null : findFree(state, req.space, min, max, start);
  if (pasid === null) return { errno: 'ENOSPC', reason: 'range' };
  ctx.emit({ kind: 'ioasid-alloc', host: req.host, space: req.space, set: req.set, pasid, owner: req.owner });
  return { pasid };
}

/** First free PASID in [min, max] at or after `start`, wrapping once (cyclic; seed 001 thread, not in the series). */
function findFree(state: State, space: string, min: number, max: number, start: number): number | null {
  const from = start >= min && start <= max ? start : min;
  const ix = allocIndex(state);
  if (ix) {
    const p = spaceFirstFree(ix, space, from, max);
    if (p !== null) return p;
    return from > min ? spaceFirstFree(ix, space, min, from - 1) : null;
  }
  for (let p = from; p <= max; p++) if (!state.s.ioasid[k.ioasid(space, p)]) return p;
  for (let p = min; p < from; p++) if (!state.s.ioasid[k.ioasid(space, p)]) return p;
  return null;
}

/**
 * Tell every subscriber, in chain order. FREE: the IOMMU driver queues a
 * clean-up of each binding the PASID still has (v2's chains are atomic, so
 * the teardown must go to a workqueue — the window seed 001 argues about; the
 * model defers under v1 too); KVM drops its CPU PASID-translation entries.
 */
export function notify(ctx: Ctx, hostId: string, event: 'FREE' | 'BIND' | 'UNBIND', pasid: number): void {
  for (let order = 0; order < SUBSCRIBERS.length; order++) notifyOne(ctx, hostId, event, pasid, order);
}

/** One subscriber's call-out of the chain (`order`: its place in SUBSCRIBERS). */
export function notifyOne(ctx: Ctx, hostId: string, event: 'FREE' | 'BIND' | 'UNBIND', pasid: number, order: number): void {
  const subscriber = SUBSCRIBERS[order];
  if (subscriber === undefined) return;
  ctx.emit({ kind: 'notify', host: hostId, event, pasid, subscriber, order });
  if (event !== 'FREE') return;
  if (subscriber === 'iommu-driver') {
    for (const rid of boundRids(ctx.state, hostId, pasid)) {
      ctx.emit({ kind: 'deferred', host: hostId, pasid, subscriber, rid, op: 'queue' });
    }
  } else {
    const ix = allocIndex(ctx.state);
    for (const key of ix ? [...cpuPasidsOf(ix, pasid)].sort(compareKeys) : Object.keys(ctx.state.s['cpu-pasid']).sort(compareKeys)) {
      const [vm, gpasid] = parts(key);
      const vmCell = ctx.state.s.vm[vm ?? ''];
      if (ctx.state.s['cpu-pasid'][key]?.hpasid === pasid && vmCell?.host === hostId) {
        ctx.emit({ kind: 'kvm-pasid-map', vm: vm ?? '', gpasid: Number(gpasid), hpasid: null });
      }
    }
  }
}

/** Devices with a live binding of this host PASID, in a stable order. */
function boundRids(state: State, hostId: string, pasid: number): Rid[] {
  const out: Rid[] = [];
  const ix = allocIndex(state);
  for (const key of ix ? [...bindsOfPasid(ix, pasid)].sort(compareKeys) : Object.keys(state.s.bind).sort(compareKeys)) {
    const [rid, p] = parts(key);
    const b = state.s.bind[key];
    if (Number(p) === pasid && b?.space && parts(b.space)[0] === hostId && rid) out.push(rid);
  }
  return out;
}

/** What a void ioasid_free() did: freed, or the pr_err / pr_warn it printed instead. */
export type FreeResult = { freed: true } | { freed: false; reason: 'unknown IOASID' | 'set ownership' };

/**
 * ioasid_free(): void in every posting. FREE goes down the notifier chain
 * *before* the IOASID returns to the allocator (the subscribers still see it
 * allocated), then it is erased from the allocator and its set.
 * `set`: v2's ownership argument (null: the IOASID's own set).
 */
export function free(ctx: Ctx, hostId: string, space: string, pasid: number, set: string | null = null): FreeResult {
  const refused = freeCheck(ctx.state, hostId, space, pasid, set);
  if (refused) return refused;
  // ioasid_free_locked() v1 08/10 (blocking_notifier_call_chain), v2 6/9 (global chain, then the set's): IOASID_FREE first
  notify(ctx, hostId, 'FREE', pasid);
  freeErase(ctx, hostId, space, pasid);
  return { freed: true };
}

/** Why ioasid_free() would leave the IOASID alone, or null when it frees it. */
export function freeCheck(state: State, hostId: string, space: string, pasid: number, set: string | null): FreeResult | null {
  const cell = state.s.ioasid[k.ioasid(space, pasid)];
  // ioasid_free_locked(), drivers/iommu/ioasid.c (IOASID series v1 06/10, v2): unknown → pr_err, nothing
  if (!cell) return { freed: false, reason: 'unknown IOASID' };
  // ioasid_free_locked() v2 3/9: data->set != set → pr_warn "Cannot free IOASID due to set ownership", nothing
  if (revisionOf(state, hostId) === 'v2' && set !== null && set !== cell.set) return { freed: false, reason: 'set ownership' };
  return null;
}

/** The end of ioasid_free(): active_allocator->ops->free(), xa_erase from the set, nr_ioasids--. */
export function freeErase(ctx: Ctx, hostId: string, space: string, pasid: number): void {
  // (v2 frees only when the last reference goes: the model takes no extra references)
  ctx.emit({ kind: 'ioasid-free', host: hostId, space, pasid });
}

/** Run the clean-up work FREE notifications queued: tear down the stale bindings. */
export function runDeferred(ctx: Ctx): number {
  let n = 0;
  for (const key of Object.keys(ctx.state.s.deferred).sort(compareKeys)) if (runWork(ctx, key)) n++;
  return n;
}

/** One work item of the clean-up workqueue (process_one_work): false when it is no longer queued. */
export function runWork(ctx: Ctx, key: string): boolean {
  const work = ctx.state.s.deferred[key];
  if (!work) return false;
  const [hostId] = parts(key);
  if (work.rid !== null) {
    clearEntry(ctx, work.rid, work.pasid);
    ctx.emit({ kind: 'bind', rid: work.rid, pasid: work.pasid, owner: null, via: 'deferred clean-up', space: null });
  }
  ctx.emit({ kind: 'deferred', host: hostId ?? '', pasid: work.pasid, subscriber: work.subscriber, rid: work.rid, op: 'run' });
  return true;
}

/**
 * ioasid_free_set(sid, destroy_set) (v1 03/10 + 06/10) / ioasid_set_put() (v2
 * 3/9, the last reference): void. Frees every IOASID of the set in ascending
 * order (xa_for_each), each with its FREE notifications; then, when
 * destroying, the set goes and its quota returns to the capacity.
 */
export function setFree(ctx: Ctx, hostId: string, set: string, destroy = true): { found: boolean; freed: number } {
  const cur = ctx.state.s['ioasid-set'][k.ioasidSet(hostId, set)];
  // ioasid_free_set() v1: no such set → pr_err, nothing
  if (!cur) return { found: false, freed: 0 };
  const prefix = `${hostId}/`;
  const ix = allocIndex(ctx.state);
  const keys = ix ? [...setKeys(ix, prefix, set)] : Object.keys(ctx.state.s.ioasid).filter((key) => key.startsWith(prefix) && ctx.state.s.ioasid[key]?.set === set);
  let freed = 0;
  for (const key of keys.sort(compareKeys)) {
    const p = parts(key);
    const pasid = Number(p[p.length - 1]);
    if (free(ctx, hostId, p.slice(0, -1).join('/'), pasid, set).freed) freed++;
  }
  // ioasid_free_set() v1: destroy_set false keeps the set (and its quota) for further allocation;
  // v2 ioasid_set_put() always destroys at the last reference
  const keep = !destroy && revisionOf(ctx.state, hostId) === 'v1';
  if (!keep) ctx.emit({ kind: 'ioasid-set', host: hostId, set, op: 'free', quota: cur.quota, token: cur.token, ...(cur.sid !== undefined ? { sid: cur.sid } : {}) });
  return { found: true, freed };
}

export type FindResult = { errno: Errno; reason: string } | { set: string; sid: number | null };

/**
 * ioasid_find_sid() (v1 03/10): the set an IOASID belongs to, -ENOENT when it
 * is not allocated. With `inSet`: ioasid_find(set, ioasid) (v1 06/10, v2, and
 * mainline): -ENOENT unknown, -EACCES when it belongs to another set.
 */
export function findSet(state: State, hostId: string, space: string, pasid: number, inSet: string | null = null): FindResult {
  const cell = state.s.ioasid[k.ioasid(space, pasid)];
  // ioasid_find_sid() / ioasid_find(): xa_load() finds nothing → -ENOENT
  if (!cell) return { errno: 'ENOENT', reason: 'not allocated' };
  // ioasid_find(): set given and not the IOASID's → -EACCES ("data found but does not belong to the set")
  if (inSet !== null && inSet !== cell.set) return { errno: 'EACCES', reason: `belongs to set ${cell.set}` };
  return { set: cell.set, sid: state.s['ioasid-set'][k.ioasidSet(hostId, cell.set)]?.sid ?? null };
}
