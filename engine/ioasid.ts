// The kernel's IOASID allocator as seed 001 extends it: capacity, sets with
// quotas, global / per-RID spaces split at GLOBAL_MIN, lowest-free or cyclic
// allocation, and a blocking notifier chain (FREE / BIND / UNBIND).
import type { Ctx } from './ctx.js';
import { clearEntry } from './iommu.js';
import { k, parts } from './keys.js';
import { compareKeys } from './state.js';
import type { Errno, Rid, State } from './types.js';

/**
 * Notifier-chain subscribers in delivery order. The IOMMU driver registers
 * first (it must stop DMA before anyone else forgets the PASID), then KVM.
 */
export const SUBSCRIBERS = ['iommu-driver', 'kvm'] as const;
export type Subscriber = (typeof SUBSCRIBERS)[number];

/** The set bare-metal SVA allocates from (ioasid_alloc_system_set). */
export const SYSTEM_SET = 'system';

export function host(state: State, id: string) {
  const h = state.s.host[id];
  if (!h) throw new Error(`no host ${id}`);
  return h;
}

/** How many IOASIDs of `set` are outstanding on `hostId` (every space). */
export function outstanding(state: State, hostId: string, set: string): number {
  let n = 0;
  const prefix = `${hostId}/`;
  for (const key of Object.keys(state.s.ioasid)) {
    if (key.startsWith(prefix) && state.s.ioasid[key]?.set === set) n++;
  }
  return n;
}

export function setAlloc(ctx: Ctx, hostId: string, set: string, quota: number, token: string): Errno | null {
  const state = ctx.state;
  if (state.s['ioasid-set'][k.ioasidSet(hostId, set)]) return 'EEXIST';
  for (const key of Object.keys(state.s['ioasid-set'])) {
    if (parts(key)[0] === hostId && state.s['ioasid-set'][key]?.token === token) return 'EEXIST';
  }
  const h = host(state, hostId);
  let committed = 0;
  for (const key of Object.keys(state.s['ioasid-set'])) if (parts(key)[0] === hostId) committed += state.s['ioasid-set'][key]?.quota ?? 0;
  if (committed + quota > h.capacity) return 'ENOSPC';
  ctx.emit({ kind: 'ioasid-set', host: hostId, set, op: 'alloc', quota, token });
  return null;
}

/** ioasid_adjust_set: the new quota cannot be below what is outstanding. */
export function setQuota(ctx: Ctx, hostId: string, set: string, quota: number): Errno | null {
  const cur = ctx.state.s['ioasid-set'][k.ioasidSet(hostId, set)];
  if (!cur) return 'ENOENT';
  if (quota < outstanding(ctx.state, hostId, set)) return 'EINVAL';
  ctx.emit({ kind: 'ioasid-set', host: hostId, set, op: 'quota', quota, token: cur.token });
  return null;
}

export interface AllocRequest {
  host: string;
  /** host for the global space, host/rid for a per-RID one */
  space: string;
  set: string;
  owner: string;
  /** Inclusive lower bound: GLOBAL_MIN for global PASIDs in split mode. */
  min?: number;
  /** Exclusive upper bound: GLOBAL_MIN for the local range. */
  max?: number;
  /** Skip the quota check: models an allocation path that forgets to charge the set. */
  uncharged?: boolean;
}

export function alloc(ctx: Ctx, req: AllocRequest): { errno: Errno } | { pasid: number } {
  const state = ctx.state;
  const set = state.s['ioasid-set'][k.ioasidSet(req.host, req.set)];
  if (!set) return { errno: 'EINVAL' };
  if (!req.uncharged && outstanding(state, req.host, req.set) >= set.quota) return { errno: 'ENOSPC' };
  const h = host(state, req.host);
  const min = Math.max(req.min ?? h.minPasid, h.minPasid);
  const max = Math.min(req.max ?? h.capacity, h.capacity);
  const pasid = findFree(state, req.space, min, max, h.policy === 'cyclic' && req.space === req.host ? h.last + 1 : min);
  if (pasid === null) return { errno: 'ENOSPC' };
  ctx.emit({ kind: 'ioasid-alloc', host: req.host, space: req.space, set: req.set, pasid, owner: req.owner });
  return { pasid };
}

/** First free PASID in [min, max) at or after `start`, wrapping once (cyclic) . */
function findFree(state: State, space: string, min: number, max: number, start: number): number | null {
  const from = start >= min && start < max ? start : min;
  for (let p = from; p < max; p++) if (!state.s.ioasid[k.ioasid(space, p)]) return p;
  for (let p = min; p < from; p++) if (!state.s.ioasid[k.ioasid(space, p)]) return p;
  return null;
}

/**
 * Tell every subscriber, in chain order. FREE: the IOMMU driver queues a
 * clean-up of each binding the PASID still has (it may not sleep in the
 * notifier, so the teardown is deferred — the window seed 001 argues about);
 * KVM drops its CPU PASID-translation entries at once.
 */
export function notify(ctx: Ctx, hostId: string, event: 'FREE' | 'BIND' | 'UNBIND', pasid: number): void {
  SUBSCRIBERS.forEach((subscriber, order) => {
    ctx.emit({ kind: 'notify', host: hostId, event, pasid, subscriber, order });
    if (event !== 'FREE') return;
    if (subscriber === 'iommu-driver') {
      for (const rid of boundRids(ctx.state, hostId, pasid)) {
        ctx.emit({ kind: 'deferred', host: hostId, pasid, subscriber, rid, op: 'queue' });
      }
    } else {
      for (const key of Object.keys(ctx.state.s['cpu-pasid']).sort(compareKeys)) {
        const [vm, gpasid] = parts(key);
        const vmCell = ctx.state.s.vm[vm ?? ''];
        if (ctx.state.s['cpu-pasid'][key]?.hpasid === pasid && vmCell?.host === hostId) {
          ctx.emit({ kind: 'kvm-pasid-map', vm: vm ?? '', gpasid: Number(gpasid), hpasid: null });
        }
      }
    }
  });
}

/** Devices with a live binding of this host PASID, in a stable order. */
function boundRids(state: State, hostId: string, pasid: number): Rid[] {
  const out: Rid[] = [];
  for (const key of Object.keys(state.s.bind).sort(compareKeys)) {
    const [rid, p] = parts(key);
    const b = state.s.bind[key];
    if (Number(p) === pasid && b?.space && parts(b.space)[0] === hostId && rid) out.push(rid);
  }
  return out;
}

/** ioasid_free: the PASID goes back to the allocator at once; FREE goes down the chain. */
export function free(ctx: Ctx, hostId: string, space: string, pasid: number): Errno | null {
  if (!ctx.state.s.ioasid[k.ioasid(space, pasid)]) return 'ENOENT';
  ctx.emit({ kind: 'ioasid-free', host: hostId, space, pasid });
  notify(ctx, hostId, 'FREE', pasid);
  return null;
}

/** Run the clean-up work FREE notifications queued: tear down the stale bindings. */
export function runDeferred(ctx: Ctx): number {
  let n = 0;
  for (const key of Object.keys(ctx.state.s.deferred).sort(compareKeys)) {
    const work = ctx.state.s.deferred[key];
    if (!work) continue;
    const [hostId] = parts(key);
    if (work.rid !== null) {
      clearEntry(ctx, work.rid, work.pasid);
      ctx.emit({ kind: 'bind', rid: work.rid, pasid: work.pasid, owner: null, via: 'deferred clean-up', space: null });
    }
    ctx.emit({ kind: 'deferred', host: hostId ?? '', pasid: work.pasid, subscriber: work.subscriber, rid: work.rid, op: 'run' });
    n++;
  }
  return n;
}

/** ioasid_free_set: free every IOASID of the set (each with its FREE notifications), then the set. */
export function setFree(ctx: Ctx, hostId: string, set: string): Errno | null {
  const cur = ctx.state.s['ioasid-set'][k.ioasidSet(hostId, set)];
  if (!cur) return 'ENOENT';
  const prefix = `${hostId}/`;
  const keys = Object.keys(ctx.state.s.ioasid).filter((key) => key.startsWith(prefix) && ctx.state.s.ioasid[key]?.set === set);
  for (const key of keys.sort(compareKeys)) {
    const p = parts(key);
    const pasid = Number(p[p.length - 1]);
    free(ctx, hostId, p.slice(0, -1).join('/'), pasid);
  }
  ctx.emit({ kind: 'ioasid-set', host: hostId, set, op: 'free', quota: cur.quota, token: cur.token });
  return null;
}

/** ioasid_find_sid: which set an IOASID belongs to. */
export function findSet(state: State, space: string, pasid: number): string | null {
  return state.s.ioasid[k.ioasid(space, pasid)]?.set ?? null;
}
