// Host-kernel ops: the IOASID allocator API of seed 001 and bare-metal SVA
// bind/unbind. Each is recorded as a `kcall` event (a kernel function, not an ioctl).
import type { Ctx } from '../ctx.js';
import * as ioasid from '../ioasid.js';
import { clearEntry, installEntry } from '../iommu.js';
import { k, parts } from '../keys.js';
import { num, ok, optNum, optStr, str, type Fields, type OpSpec, type Outcome } from '../op.js';
import { compareKeys } from '../state.js';
import type { Args, Errno } from '../types.js';

/** Run a kernel call and record it with its arguments and result. */
function kcall(ctx: Ctx, fn: string, callArgs: Args, body: () => { errno: Errno | null; out?: Args; value?: number | null }): Outcome {
  const r = body();
  ctx.emit({ kind: 'kcall', fn, args: callArgs, errno: r.errno, out: r.out ?? {} });
  return { errno: r.errno, value: r.value ?? null, out: r.out ?? {} };
}

const hostOf = (ctx: Ctx, f: Fields): string => optStr(f, 'host') ?? Object.keys(ctx.state.s.host).sort(compareKeys)[0] ?? 'host0';
const errnoOnly = (errno: Errno | null) => ({ errno });

/** SVA domains get a DID above the ones iommufd and /dev/ioasid objects use. */
const svaDid = (pasid: number): number => 0x400 + pasid;

function svaBind(ctx: Ctx, f: Fields): { errno: Errno | null; out?: Args; value?: number | null } {
  const rid = str(f, 'rid');
  const owner = str(f, 'owner');
  const hostId = ctx.state.s.device[rid]?.host ?? 'host0';
  // An mm keeps one PASID for every device it is bound to (mm->pasid).
  const existing = Object.keys(ctx.state.s.ioasid).sort(compareKeys)
    .find((key) => parts(key).length === 2 && parts(key)[0] === hostId && ctx.state.s.ioasid[key]?.owner === owner);
  let pasid: number;
  if (existing) pasid = Number(parts(existing)[1]);
  else {
    const r = ioasid.alloc(ctx, { host: hostId, space: hostId, set: optStr(f, 'set') ?? ioasid.SYSTEM_SET, owner });
    if ('errno' in r) return { errno: r.errno };
    pasid = r.pasid;
  }
  const errno = installEntry(ctx, rid, pasid, { fpd: false, pgtt: 1, flptr: num(f, 'root'), slptptr: 0, did: svaDid(pasid), pgsnp: false });
  if (errno) return { errno };
  ctx.emit({ kind: 'bind', rid, pasid, owner, via: 'sva', space: hostId });
  ioasid.notify(ctx, hostId, 'BIND', pasid);
  return { errno: null, out: { pasid }, value: pasid };
}

function svaUnbind(ctx: Ctx, f: Fields): { errno: Errno | null } {
  const rid = str(f, 'rid');
  const pasid = num(f, 'pasid');
  const b = ctx.state.s.bind[k.bind(rid, pasid)];
  if (!b) return { errno: 'ENOENT' };
  clearEntry(ctx, rid, pasid);
  ctx.emit({ kind: 'bind', rid, pasid, owner: null, via: 'sva unbind', space: null });
  ioasid.notify(ctx, ctx.state.s.device[rid]?.host ?? 'host0', 'UNBIND', pasid);
  return { errno: null };
}

export const kernelOps: Record<string, OpSpec> = {
  'ioasid-config': {
    doc: 'Host allocator policy: lowest-free or cyclic allocation.',
    fields: { host: 'host?', policy: ['lowest', 'cyclic'] },
    run: (ctx, f) => {
      const h = ioasid.host(ctx.state, hostOf(ctx, f));
      ctx.emit({ kind: 'ioasid-mode', host: hostOf(ctx, f), hwidMode: h.hwidMode, globalMin: h.globalMin, policy: str(f, 'policy') as 'lowest' | 'cyclic' });
      return ok();
    },
  },
  'ioasid-set-alloc': {
    doc: 'ioasid_alloc_set(token, quota): a per-VM set; EEXIST for a duplicate token, ENOSPC past capacity.',
    fields: { host: 'host?', set: 'str', quota: 'int', token: 'str?' },
    run: (ctx, f) => kcall(ctx, 'ioasid_alloc_set', { set: str(f, 'set'), quota: num(f, 'quota') }, () =>
      errnoOnly(ioasid.setAlloc(ctx, hostOf(ctx, f), str(f, 'set'), num(f, 'quota'), optStr(f, 'token') ?? str(f, 'set')))),
  },
  'ioasid-set-quota': {
    doc: 'ioasid_adjust_set(set, quota): EINVAL below what is outstanding.',
    fields: { host: 'host?', set: 'str', quota: 'int' },
    run: (ctx, f) => kcall(ctx, 'ioasid_adjust_set', { set: str(f, 'set'), quota: num(f, 'quota') }, () =>
      errnoOnly(ioasid.setQuota(ctx, hostOf(ctx, f), str(f, 'set'), num(f, 'quota')))),
  },
  'ioasid-set-free': {
    doc: 'ioasid_free_set(set): free every IOASID of the set (FREE to each subscriber), then the set.',
    fields: { host: 'host?', set: 'str' },
    run: (ctx, f) => kcall(ctx, 'ioasid_free_set', { set: str(f, 'set') }, () => errnoOnly(ioasid.setFree(ctx, hostOf(ctx, f), str(f, 'set')))),
  },
  'ioasid-alloc': {
    doc: 'ioasid_alloc(set, min, max, owner): a PASID from the global space; ENOSPC past the quota.',
    fields: { host: 'host?', set: 'str', owner: 'str', min: 'int?', max: 'int?', uncharged: 'bool?' },
    run: (ctx, f) => kcall(ctx, 'ioasid_alloc', { set: str(f, 'set'), owner: str(f, 'owner') }, () => {
      const hostId = hostOf(ctx, f);
      const r = ioasid.alloc(ctx, {
        host: hostId, space: hostId, set: str(f, 'set'), owner: str(f, 'owner'),
        ...(optNum(f, 'min') !== null ? { min: num(f, 'min') } : {}), ...(optNum(f, 'max') !== null ? { max: num(f, 'max') } : {}),
        uncharged: f.uncharged === true,
      });
      return 'errno' in r ? { errno: r.errno } : { errno: null, out: { pasid: r.pasid }, value: r.pasid };
    }),
  },
  'ioasid-free': {
    doc: 'ioasid_free(pasid): back to the allocator at once; FREE goes down the notifier chain.',
    fields: { host: 'host?', pasid: 'int' },
    run: (ctx, f) => kcall(ctx, 'ioasid_free', { pasid: num(f, 'pasid') }, () => errnoOnly(ioasid.free(ctx, hostOf(ctx, f), hostOf(ctx, f), num(f, 'pasid')))),
  },
  'ioasid-find-set': {
    doc: 'ioasid_find_sid(pasid): the set an IOASID belongs to; ENOENT when it is not allocated.',
    fields: { host: 'host?', pasid: 'int', expectSet: 'str?' },
    run: (ctx, f) => kcall(ctx, 'ioasid_find_sid', { pasid: num(f, 'pasid') }, () => {
      const set = ioasid.findSet(ctx.state, hostOf(ctx, f), num(f, 'pasid'));
      if (set === null) return { errno: 'ENOENT' };
      const want = optStr(f, 'expectSet');
      return { errno: want !== null && want !== set ? 'EINVAL' : null, out: { set } };
    }),
  },
  'run-deferred': {
    doc: 'The workqueue runs the clean-up FREE notifications deferred: stale bindings are torn down.',
    fields: {},
    run: (ctx) => kcall(ctx, 'flush_workqueue', {}, () => ({ errno: null, value: ioasid.runDeferred(ctx) })),
  },
  'sva-bind': {
    doc: 'iommu_sva_bind_device(dev, mm): the mm\'s PASID (allocated on first bind) gets a first-level entry pointing at its page table.',
    fields: { rid: 'rid', owner: 'str', root: 'int', set: 'str?' },
    run: (ctx, f) => kcall(ctx, 'iommu_sva_bind_device', { rid: str(f, 'rid'), owner: str(f, 'owner') }, () => svaBind(ctx, f)),
  },
  'sva-unbind': {
    doc: 'iommu_sva_unbind_device: clear the entry, flush PASID cache, IOTLB and ATC; UNBIND to subscribers.',
    fields: { rid: 'rid', pasid: 'int' },
    run: (ctx, f) => kcall(ctx, 'iommu_sva_unbind_device', { rid: str(f, 'rid'), pasid: num(f, 'pasid') }, () => svaUnbind(ctx, f)),
  },
  'process-exit': {
    doc: 'A process exits: the PASIDs it owns are freed (FREE notifications), bound or not.',
    fields: { host: 'host?', owner: 'str' },
    run: (ctx, f) => kcall(ctx, 'exit_mm', { owner: str(f, 'owner') }, () => {
      const hostId = hostOf(ctx, f);
      const owned = Object.keys(ctx.state.s.ioasid).sort(compareKeys)
        .filter((key) => parts(key).length === 2 && parts(key)[0] === hostId && ctx.state.s.ioasid[key]?.owner === str(f, 'owner'));
      for (const key of owned) ioasid.free(ctx, hostId, hostId, Number(parts(key)[1]));
      return { errno: owned.length === 0 ? 'ENOENT' : null, value: owned.length };
    }),
  },
};
