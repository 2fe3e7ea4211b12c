// The 2021 /dev/ioasid proposal exactly as seed 000 writes it (never merged):
// page-table IOASIDs, HWID mode LOCAL (per RID) or GLOBAL with a GLOBAL_MIN
// split, SET_HWID, BIND_PGTABLE, SET_PASID_TABLE, VFIO_ATTACH_IOASID.
import type { Ctx } from './ctx.js';
import * as ioasid from './ioasid.js';
import { clearEntry, device, installEntry } from './iommu.js';
import type { IoctlResult } from './iommufd/object.js';
import { obj } from './iommufd/object.js';
import { k } from './keys.js';
import type { Fields } from './op.js';
import { compareKeys } from './state.js';
import type { Errno, IommufdCell, Rid } from './types.js';

const err = (errno: Errno): IoctlResult => ({ errno, out: {} });
const done = (value: number | null = null, out: Record<string, number> = {}): IoctlResult => ({ errno: null, out, value });
/** DIDs of /dev/ioasid page tables sit above iommufd's object ids. */
const did = (o: IommufdCell): number => 0x100 + o.id;

function hostOfFd(ctx: Ctx): string {
  return Object.keys(ctx.state.s.host).sort(compareKeys)[0] ?? 'host0';
}

function pgtbl(ctx: Ctx, fd: string, id: unknown): IommufdCell | Errno {
  const o = obj(ctx.state, fd, id as number);
  if (!o) return 'ENOENT';
  if (o.type !== 'IOASID') return 'EINVAL';
  return o;
}

function set(ctx: Ctx, o: IommufdCell, attrs: IommufdCell['attrs']): void {
  ctx.emit({ kind: 'iommufd-obj', op: 'update', fd: o.fd, id: o.id, type: o.type, refs: o.refs, attrs: { ...o.attrs, ...attrs } });
}

export function setHwidMode(ctx: Ctx, a: Fields): IoctlResult {
  const hostId = (a.host as string | undefined) ?? hostOfFd(ctx);
  const h = ioasid.host(ctx.state, hostId);
  const mode = a.mode === 'IOASID_HWID_GLOBAL' ? 'global' : a.mode === 'IOASID_HWID_LOCAL' ? 'local' : null;
  if (!mode) return err('EINVAL');
  ctx.emit({ kind: 'ioasid-mode', host: hostId, hwidMode: mode, globalMin: h.globalMin, policy: h.policy });
  return done();
}

export function setGlobalMin(ctx: Ctx, a: Fields): IoctlResult {
  const hostId = (a.host as string | undefined) ?? hostOfFd(ctx);
  const h = ioasid.host(ctx.state, hostId);
  if (h.hwidMode !== 'global') return err('EINVAL');
  const min = a.global_min as number;
  if (min <= 0 || min >= h.capacity) return err('EINVAL');
  ctx.emit({ kind: 'ioasid-mode', host: hostId, hwidMode: h.hwidMode, globalMin: min, policy: h.policy });
  return done();
}

/** IOASID_ALLOC: a page-table IOASID; `s2` names the GPA -> HPA table it nests on. */
export function alloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  let id = 1;
  while (obj(ctx.state, fd, id)) id++;
  ctx.emit({ kind: 'iommufd-obj', op: 'alloc', fd, id, type: 'IOASID', refs: [], attrs: { rid: null, pasid: null, gpasid: null, s2: (a.s2 as number | undefined) ?? 0, vm: (a.vm as string | undefined) ?? null } });
  return done(id, { ioasid: id });
}

export function attach(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const o = pgtbl(ctx, fd, a.ioasid);
  if (typeof o === 'string') return err(o);
  if (o.attrs.rid !== null) return err('EBUSY');
  set(ctx, o, { rid: a.dev as string });
  return done();
}

/** Scheme 1: the whole RID's PASID table lives in guest memory (GPA). */
export function setPasidTable(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const o = pgtbl(ctx, fd, a.ioasid);
  if (typeof o === 'string') return err(o);
  const rid = o.attrs.rid as Rid | null;
  if (rid === null) return err('EINVAL');
  const host = ioasid.host(ctx.state, device(ctx.state, rid).host);
  if (host.hwidMode !== 'local') return err('EINVAL');
  ctx.emit({ kind: 'device-table', rid, guestTable: a.gpa as number });
  ctx.emit({ kind: 'bind', rid, pasid: 0, owner: device(ctx.state, rid).vm ?? fd, via: 'IOASID_SET_PASID_TABLE', space: null });
  return done();
}

/**
 * IOASID_SET_HWID. LOCAL: the guest's PASID is used as is, except behind an
 * mdev/SIOV parent, which allocates a real PASID from the per-RID space and
 * translates in its mediation path. GLOBAL: the PASID must be below
 * GLOBAL_MIN; the kernel also allocates a global PASID and returns it in the
 * same field. GLOBAL without GLOBAL_MIN: only the global PASID exists.
 */
export function setHwid(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const o = pgtbl(ctx, fd, a.ioasid);
  if (typeof o === 'string') return err(o);
  const rid = o.attrs.rid as Rid | null;
  if (rid === null) return err('EINVAL');
  if (o.attrs.pasid !== null) return err('EBUSY');
  const dev = device(ctx.state, rid);
  const hostId = dev.host;
  const h = ioasid.host(ctx.state, hostId);
  const local = a.pasid as number;
  const owner = dev.vm ?? fd;
  const setName = (a.set as string | undefined) ?? ioasid.SYSTEM_SET;
  if (h.hwidMode === 'local') {
    if (dev.type !== 'siov') {
      set(ctx, o, { pasid: local, gpasid: local });
      return done(local, { pasid: local });
    }
    const space = `${hostId}/${dev.parent ?? rid}`;
    const r = ioasid.alloc(ctx, { host: hostId, space, set: setName, owner });
    if ('errno' in r) return err(r.errno);
    ctx.emit({ kind: 'mdev-pasid-map', rid, vpasid: local, pasid: r.pasid });
    set(ctx, o, { pasid: r.pasid, gpasid: local, space });
    return done(r.pasid, { pasid: r.pasid });
  }
  if (h.globalMin > 0 && local >= h.globalMin) return err('EINVAL');
  const r = ioasid.alloc(ctx, { host: hostId, space: hostId, set: setName, owner, min: Math.max(h.globalMin, h.minPasid) });
  if ('errno' in r) return err(r.errno);
  // Without a GLOBAL_MIN split there is no local range: the guest is handed
  // the global PASID itself (the "exposing global PASID into guest" case of
  // seed 000), so there is no second, local entry to install. The PASID the
  // caller passed in is ignored; the field comes back holding the global one.
  set(ctx, o, { pasid: r.pasid, gpasid: h.globalMin > 0 ? local : r.pasid, space: hostId });
  return done(r.pasid, { pasid: r.pasid });
}

/** IOASID_BIND_PGTABLE: a nested entry for the guest table; in GLOBAL mode at both the local and the global PASID. */
export function bindPgtable(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const o = pgtbl(ctx, fd, a.ioasid);
  if (typeof o === 'string') return err(o);
  const rid = o.attrs.rid as Rid | null;
  const pasid = o.attrs.pasid as number | null;
  if (rid === null || pasid === null) return err('EINVAL');
  const entry = { fpd: false, pgtt: 3 as const, flptr: a.gpa as number, slptptr: o.attrs.s2 as number, did: did(o), pgsnp: false };
  const owner = device(ctx.state, rid).vm ?? fd;
  const pasids = [pasid];
  const gpasid = o.attrs.gpasid as number | null;
  const dev = device(ctx.state, rid);
  // The local entry serves a guest that programs its own PASID into the device (no ENQCMD).
  if (gpasid !== null && gpasid !== pasid && dev.type !== 'siov') pasids.push(gpasid);
  for (const p of pasids) {
    const errno = installEntry(ctx, rid, p, entry);
    if (errno) return err(errno);
    ctx.emit({ kind: 'bind', rid, pasid: p, owner, via: `IOASID_BIND_PGTABLE ${o.id}`, space: p === pasid ? ((o.attrs.space as string | undefined) ?? null) : null });
  }
  set(ctx, o, { flptr: a.gpa as number });
  return done();
}

export function unbindPgtable(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const o = pgtbl(ctx, fd, a.ioasid);
  if (typeof o === 'string') return err(o);
  const rid = o.attrs.rid as Rid | null;
  const pasid = o.attrs.pasid as number | null;
  if (rid === null || pasid === null) return err('EINVAL');
  for (const p of new Set([pasid, (o.attrs.gpasid as number | null) ?? pasid])) {
    if (!ctx.state.s.pasid[k.pasid(rid, p)]) continue;
    clearEntry(ctx, rid, p);
    ctx.emit({ kind: 'bind', rid, pasid: p, owner: null, via: `IOASID_UNBIND_PGTABLE ${o.id}`, space: null });
  }
  return done();
}

/** IOASID_FREE: drop the page-table IOASID; a global PASID it holds goes back (FREE notifications). */
export function free(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const o = pgtbl(ctx, fd, a.ioasid);
  if (typeof o === 'string') return err(o);
  const space = o.attrs.space as string | undefined;
  const pasid = o.attrs.pasid as number | null;
  if (space && pasid !== null) ioasid.free(ctx, space.split('/')[0] ?? '', space, pasid);
  ctx.emit({ kind: 'iommufd-obj', op: 'destroy', fd, id: o.id, type: o.type, refs: o.refs, attrs: o.attrs });
  return done();
}
