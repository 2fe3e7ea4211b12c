// Host-kernel ops: the IOASID allocator API of seed 001 and bare-metal SVA
// bind/unbind. Each is recorded as a `kcall` event (a kernel function, not an ioctl).
import type { Ctx } from '../ctx.js';
import { allocIndex, ownerKeys } from '../indexes.js';
import * as ioasid from '../ioasid.js';
import { svaOps } from '../iommu-sva.js';
import { clearEntry, installEntry } from '../iommu.js';
import { k, parts } from '../keys.js';
import { bool, num, ok, optNum, optStr, str, type Fields, type OpSpec, type Outcome } from '../op.js';
import { compareKeys } from '../state.js';
import type { Args, Errno } from '../types.js';

/** Run a kernel call and record it with its arguments and result. */
type KResult = { errno: Errno | null; out?: Args; value?: number | null };

function kcall(ctx: Ctx, fn: string, callArgs: Args, body: () => KResult): Outcome {
  const r = body();
  ctx.emit({ kind: 'kcall', fn, args: callArgs, errno: r.errno, out: r.out ?? {} });
  return { errno: r.errno, value: r.value ?? null, out: r.out ?? {} };
}

const hostOf = (ctx: Ctx, f: Fields): string => optStr(f, 'host') ?? Object.keys(ctx.state.s.host).sort(compareKeys)[0] ?? 'host0';

// sva-bind / sva-unbind (drivers/iommu/iommu-sva.c) live in engine/iommu-sva.ts.

export const kernelOps: Record<string, OpSpec> = {
  // ---- the 2020 IOASID series (seed 001; never merged): engine/ioasid.ts holds the rules and their citations
  'ioasid-config': {
    doc: 'Host IOASID allocator settings: lowest-free or cyclic allocation (cyclic: the seed 001 thread, not in the series); revision v1 (2020-03, the seed\'s, default) or v2 (2020-08) of the series.',
    fields: { host: 'host?', policy: 'str?', revision: 'str?' },
    run: (ctx, f) => {
      const hostId = hostOf(ctx, f);
      const h = ioasid.host(ctx.state, hostId);
      const policy = optStr(f, 'policy') ?? h.policy;
      const revision = optStr(f, 'revision') ?? h.revision ?? 'v1';
      // Model settings, not a kernel call: an unknown value is refused.
      if ((policy !== 'lowest' && policy !== 'cyclic') || (revision !== 'v1' && revision !== 'v2')) return { errno: 'EINVAL' };
      ctx.emit({ kind: 'ioasid-mode', host: hostId, hwidMode: h.hwidMode, globalMin: h.globalMin, policy, revision });
      return ok();
    },
  },
  'ioasid-set-alloc': {
    doc: 'ioasid_alloc_set(token, quota[, type]): a set whose quota comes out of the capacity. v1: ENOSPC past the capacity available, EBUSY when no set ID is free in [0, avail - quota], no token check. v2: ENOSPC, EEXIST for an MM-type token that has a set, EINVAL for a NULL-type set with a token or a quota of 0. out.sid: the set ID.',
    fields: { host: 'host?', set: 'str', quota: 'int', token: 'str?', type: 'str?' },
    run: (ctx, f) => kcall(ctx, 'ioasid_alloc_set', { set: str(f, 'set'), quota: num(f, 'quota'), token: optStr(f, 'token'), type: optStr(f, 'type') }, (): KResult => {
      const type = optStr(f, 'type');
      // ioasid_alloc_set() v2: type >= IOASID_SET_TYPE_NR → -EINVAL (the model's names: "null", "mm")
      if (type !== null && type !== 'null' && type !== 'mm') return { errno: 'EINVAL', out: { reason: 'unknown set type' } };
      const r = ioasid.setAlloc(ctx, { host: hostOf(ctx, f), set: str(f, 'set'), quota: num(f, 'quota'), token: optStr(f, 'token'), ...(type !== null ? { type } : {}) });
      return 'errno' in r ? { errno: r.errno, out: { reason: r.reason } } : { errno: null, out: { sid: r.sid }, value: r.sid };
    }),
  },
  'ioasid-set-quota': {
    doc: 'ioasid_adjust_set(set, quota): EINVAL for no such set or below what is outstanding, ENOSPC when the new quota is >= the capacity available.',
    fields: { host: 'host?', set: 'str', quota: 'int' },
    run: (ctx, f) => kcall(ctx, 'ioasid_adjust_set', { set: str(f, 'set'), quota: num(f, 'quota') }, (): KResult => {
      const r = ioasid.setQuota(ctx, hostOf(ctx, f), str(f, 'set'), num(f, 'quota'));
      return r === null ? { errno: null } : { errno: r.errno, out: { reason: r.reason } };
    }),
  },
  'ioasid-set-free': {
    doc: 'ioasid_free_set(set, destroy_set) (v1) / ioasid_set_put(set) (v2): free every IOASID of the set (FREE to each subscriber), then the set unless destroy is false (v1). Void: out.found, out.freed.',
    fields: { host: 'host?', set: 'str', destroy: 'bool?' },
    run: (ctx, f) => kcall(ctx, 'ioasid_free_set', { set: str(f, 'set'), destroy: bool(f, 'destroy', true) }, (): KResult => {
      const r = ioasid.setFree(ctx, hostOf(ctx, f), str(f, 'set'), bool(f, 'destroy', true));
      return { errno: null, out: { found: r.found, freed: r.freed }, value: r.freed };
    }),
  },
  'ioasid-alloc': {
    doc: 'ioasid_alloc(set, min, max, owner): the lowest free PASID in [min, max] (inclusive; default minPasid .. capacity - 1). INVALID_IOASID (no such set, quota used up, range full) is ENOSPC, as vfio_pasid_alloc() reports it; out.reason says which.',
    fields: { host: 'host?', set: 'str', owner: 'str', min: 'int?', max: 'int?', uncharged: 'bool?' },
    run: (ctx, f) => kcall(ctx, 'ioasid_alloc', { set: str(f, 'set'), owner: str(f, 'owner') }, (): KResult => {
      const hostId = hostOf(ctx, f);
      const r = ioasid.alloc(ctx, {
        host: hostId, space: hostId, set: str(f, 'set'), owner: str(f, 'owner'),
        ...(optNum(f, 'min') !== null ? { min: num(f, 'min') } : {}), ...(optNum(f, 'max') !== null ? { max: num(f, 'max') } : {}),
        uncharged: f.uncharged === true,
      });
      return 'errno' in r ? { errno: r.errno, out: { reason: r.reason } } : { errno: null, out: { pasid: r.pasid }, value: r.pasid };
    }),
  },
  'ioasid-free': {
    doc: 'ioasid_free([set,] pasid): void. FREE goes down the notifier chain, then the PASID returns to the allocator. An unknown PASID, or (v2) one of another set, is left alone: out.freed false, out.reason.',
    fields: { host: 'host?', pasid: 'int', set: 'str?' },
    run: (ctx, f) => kcall(ctx, 'ioasid_free', { pasid: num(f, 'pasid'), set: optStr(f, 'set') }, (): KResult => {
      const r = ioasid.free(ctx, hostOf(ctx, f), hostOf(ctx, f), num(f, 'pasid'), optStr(f, 'set'));
      return { errno: null, out: r.freed ? { freed: true } : { freed: false, reason: r.reason } };
    }),
  },
  'ioasid-find-set': {
    doc: 'ioasid_find_sid(pasid): the set an IOASID belongs to (out.set, out.sid); ENOENT when it is not allocated. With expectSet: ioasid_find(set, pasid), EACCES when it belongs to another set.',
    fields: { host: 'host?', pasid: 'int', expectSet: 'str?' },
    run: (ctx, f) => {
      const inSet = optStr(f, 'expectSet');
      return kcall(ctx, inSet === null ? 'ioasid_find_sid' : 'ioasid_find', { pasid: num(f, 'pasid'), set: inSet }, (): KResult => {
        const hostId = hostOf(ctx, f);
        const r = ioasid.findSet(ctx.state, hostId, hostId, num(f, 'pasid'), inSet);
        return 'errno' in r ? { errno: r.errno, out: { reason: r.reason } } : { errno: null, out: { set: r.set, sid: r.sid } };
      });
    },
  },
  'run-deferred': {
    doc: 'The workqueue runs the clean-up FREE notifications deferred: stale bindings are torn down.',
    fields: {},
    run: (ctx) => kcall(ctx, 'flush_workqueue', {}, () => ({ errno: null, value: ioasid.runDeferred(ctx) })),
  },
  ...svaOps,
  'process-exit': {
    doc: 'A process exits: the PASIDs it owns are freed (FREE notifications), bound or not.',
    fields: { host: 'host?', owner: 'str' },
    run: (ctx, f) => kcall(ctx, 'exit_mm', { owner: str(f, 'owner') }, () => {
      const hostId = hostOf(ctx, f);
      // A live run's index lists the owner's IOASIDs (engine/indexes.ts); a bare state scans them all.
      const ix = allocIndex(ctx.state);
      const owned = (ix ? [...ownerKeys(ix, str(f, 'owner'))] : Object.keys(ctx.state.s.ioasid))
        .filter((key) => parts(key).length === 2 && parts(key)[0] === hostId && ctx.state.s.ioasid[key]?.owner === str(f, 'owner')).sort(compareKeys);
      for (const key of owned) ioasid.free(ctx, hostId, hostId, Number(parts(key)[1]));
      return { errno: owned.length === 0 ? 'ENOENT' : null, value: owned.length };
    }),
  },
};
