// Bare-metal SVA (drivers/iommu/iommu-sva.c): a process address space (mm)
// bound to a device's PASID. One PASID per mm, shared by every device the mm
// is bound to; a second bind of the same device and mm takes another
// reference on the same bond; the PASID stays with the mm until it exits.
// The `sva-bind` / `sva-unbind` ops, recorded as `kcall` events.
import type { Ctx } from './ctx.js';
import { allocIndex, ownerLowest } from './indexes.js';
import * as ioasid from './ioasid.js';
import { clearEntry, installEntry } from './iommu.js';
import { k, parts } from './keys.js';
import { num, optStr, str, type Fields, type OpSpec, type Outcome } from './op.js';
import { compareKeys } from './state.js';
import type { Args, Errno, Rid, State } from './types.js';

/** SVA domains get a DID above the ones iommufd and /dev/ioasid objects use. */
const svaDid = (pasid: number): number => 0x400 + pasid;

/** The via of a bind record an SVA bond made: how iommu_attach_handle_get() tells an SVA domain from another. */
const SVA = 'sva';

/**
 * dev->iommu->max_pasids: dev_iommu_get_max_pasids(), drivers/iommu/iommu.c:
 * min(pci_max_pasids() — the PASID capability's width —, the IOMMU's
 * iommu_device max_pasids — the platform's `pasidBits`, 20 when unset); 0
 * without a PASID capability (no PASID support). iommu_alloc_mm_data() and
 * iommu_alloc_global_pasid() (SVA) and iommu_attach_device_pasid() (iommufd)
 * all read this one number.
 */
export function maxPasids(state: State, rid: Rid): number {
  const cell = state.s.device[rid];
  if (!cell?.pasidCap) return 0;
  const iommuBits = state.s.iommu[cell.iommu]?.pasidBits;
  return 2 ** Math.min(cell.pasidCap.width, iommuBits ?? 20);
}

/** mm->iommu_mm->pasid: the PASID the mm already holds on this host, if any. */
function mmPasid(state: State, hostId: string, owner: string): number | null {
  // A live run's index knows the owner's lowest PASID (engine/indexes.ts); a bare state scans every IOASID in key order.
  const ix = allocIndex(state);
  const lowest = ix ? ownerLowest(ix, hostId, owner) : undefined;
  if (lowest !== undefined) return lowest;
  const key = Object.keys(state.s.ioasid).sort(compareKeys)
    .find((x) => parts(x).length === 2 && parts(x)[0] === hostId && state.s.ioasid[x]?.owner === owner);
  return key === undefined ? null : Number(parts(key)[1]);
}

interface Result { errno: Errno | null; out?: Args; value?: number | null }

function svaBind(ctx: Ctx, f: Fields): Result {
  const state = ctx.state;
  const rid = str(f, 'rid');
  const owner = str(f, 'owner');
  const hostId = state.s.device[rid]?.host ?? 'host0';
  const max = maxPasids(state, rid);
  // iommu_alloc_mm_data(), iommu-sva.c: an mm that has a PASID keeps it; one the device cannot address is -EOVERFLOW
  let pasid = mmPasid(state, hostId, owner);
  if (pasid !== null) {
    if (pasid >= max) return { errno: 'EOVERFLOW' };
  } else {
    // iommu_alloc_global_pasid(), iommu.c: max_pasids == 0 (no PASID support) or no free PASID in
    // [1, max_pasids - 1] -> IOMMU_PASID_INVALID -> -ENOSPC (iommu_alloc_mm_data()). The model's
    // allocator (engine/ioasid.ts, seed 001) keeps its sets and quotas on top.
    if (max === 0) return { errno: 'ENOSPC' };
    const r = ioasid.alloc(ctx, { host: hostId, space: hostId, set: optStr(f, 'set') ?? ioasid.SYSTEM_SET, owner, max: Math.min(max - 1, ioasid.host(state, hostId).capacity - 1) });
    if ('errno' in r) return { errno: r.errno };
    pasid = r.pasid;
  }
  // iommu_sva_bind_device(), iommu-sva.c: iommu_attach_handle_get(group, pasid, IOMMU_DOMAIN_SVA) finds a bond:
  // the same handle comes back with one more reference; another mm's SVA domain there is -EBUSY
  const bond = state.s.bind[k.bind(rid, pasid)];
  if (bond?.via === SVA) {
    if (bond.owner !== owner) return { errno: 'EBUSY' };
    const users = (bond.users ?? 1) + 1;
    ctx.emit({ kind: 'bind', rid, pasid, owner, via: SVA, space: bond.space, users });
    return { errno: null, out: { pasid, users }, value: pasid };
  }
  // iommu_attach_handle_get(): the PASID holds a domain of another type -> -EBUSY
  if (bond) return { errno: 'EBUSY' };
  // iommu_attach_device_pasid() (via iommu_sva_bind_device()): the PASID already has an entry -> -EBUSY
  const errno = installEntry(ctx, rid, pasid, { fpd: false, pgtt: 1, flptr: num(f, 'root'), slptptr: 0, did: svaDid(pasid), pgsnp: false });
  if (errno) return { errno };
  ctx.emit({ kind: 'bind', rid, pasid, owner, via: SVA, space: hostId, users: 1 });
  ioasid.notify(ctx, hostId, 'BIND', pasid);
  return { errno: null, out: { pasid, users: 1 }, value: pasid };
}

function svaUnbind(ctx: Ctx, f: Fields): Result {
  const rid = str(f, 'rid');
  const pasid = num(f, 'pasid');
  const b = ctx.state.s.bind[k.bind(rid, pasid)];
  // The kernel takes the handle bind returned; the model names the bond by (RID, PASID): none there -> ENOENT (model).
  if (!b) return { errno: 'ENOENT' };
  // iommu_sva_unbind_device(), iommu-sva.c: refcount_dec_and_test(&handle->users) — only the last reference detaches
  if (b.via === SVA && (b.users ?? 1) > 1) {
    const users = (b.users ?? 1) - 1;
    ctx.emit({ kind: 'bind', rid, pasid, owner: b.owner, via: SVA, space: b.space, users });
    return { errno: null, out: { users } };
  }
  // iommu_detach_device_pasid(): clear the entry, flush PASID cache, IOTLB, ATC. The PASID stays with the mm
  // (mm_pasid_drop() frees it at exit, not here).
  clearEntry(ctx, rid, pasid);
  ctx.emit({ kind: 'bind', rid, pasid, owner: null, via: 'sva unbind', space: null });
  ioasid.notify(ctx, ctx.state.s.device[rid]?.host ?? 'host0', 'UNBIND', pasid);
  return { errno: null, out: { users: 0 } };
}

function kcall(ctx: Ctx, fn: string, callArgs: Args, r: Result): Outcome {
  ctx.emit({ kind: 'kcall', fn, args: callArgs, errno: r.errno, out: r.out ?? {} });
  return { errno: r.errno, value: r.value ?? null, out: r.out ?? {} };
}

export const svaOps: Record<string, OpSpec> = {
  'sva-bind': {
    doc: 'iommu_sva_bind_device(dev, mm): the mm\'s PASID (allocated on first bind) gets a first-level entry pointing at its page table; binding the same device and mm again returns the same PASID with one more reference.',
    fields: { rid: 'rid', owner: 'str', root: 'int', set: 'str?' },
    run: (ctx, f) => kcall(ctx, 'iommu_sva_bind_device', { rid: str(f, 'rid'), owner: str(f, 'owner') }, svaBind(ctx, f)),
  },
  'sva-unbind': {
    doc: 'iommu_sva_unbind_device: drop one reference; the last clears the entry and flushes PASID cache, IOTLB and ATC (UNBIND to subscribers). The PASID stays with the mm.',
    fields: { rid: 'rid', pasid: 'int' },
    run: (ctx, f) => kcall(ctx, 'iommu_sva_unbind_device', { rid: str(f, 'rid'), pasid: num(f, 'pasid') }, svaUnbind(ctx, f)),
  },
};
