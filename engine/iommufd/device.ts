// Devices and what they are attached to (drivers/iommu/iommufd/device.c):
// iommufd_device_bind, attach / replace / detach of a RID or a PASID, and
// IOMMU_GET_HW_INFO. The VFIO cdev ioctls that reach these are engine/vfio.ts.
import type { Ctx } from '../ctx.js';
import { clearEntry, device, installEntry, invalidateAtc, invalidateIotlb, invalidatePasidCache, RID_PASID } from '../iommu.js';
import { k } from '../keys.js';
import { updateWbinvd } from '../kvm.js';
import type { Fields, IoctlSpec } from '../op.js';
import { compareKeys } from '../state.js';
import type { IommufdCell, Rid, State } from '../types.js';
import { entryFor, HWPT_ALLOC_PASID } from './hwpt.js';
import { create, destroyObj, done, err, obj, objects, update, type IoctlResult } from './object.js';
import { removeVdevice, vdeviceOf } from './viommu.js';

export const VFIO_DEVICE_ATTACH_PASID = 1 << 0;

export function deviceBind(ctx: Ctx, fd: string, rid: Rid): IoctlResult {
  if (objects(ctx.state, fd).some((o) => o.type === 'DEVICE' && o.attrs.rid === rid)) return err('EBUSY');
  const id = create(ctx, fd, 'DEVICE', [], { rid });
  return done({ out_devid: id }, id);
}

export function deviceOf(state: State, fd: string, rid: Rid): IommufdCell | undefined {
  return objects(state, fd).find((o) => o.type === 'DEVICE' && o.attrs.rid === rid);
}

const pasidAttr = (pasid: number): string => `pasid/${pasid}`;

/** HWPT attached to (device, pasid); RID_PASID is the RID attachment. */
function attachedAt(o: IommufdCell, pasid: number): number | null {
  const v = o.attrs[pasidAttr(pasid)];
  return typeof v === 'number' ? v : null;
}

export function attachedDevices(state: State, fd: string, hwpt: number): { rid: Rid; pasid: number }[] {
  const out: { rid: Rid; pasid: number }[] = [];
  for (const o of objects(state, fd)) {
    if (o.type !== 'DEVICE') continue;
    for (const [key, v] of Object.entries(o.attrs)) {
      if (key.startsWith('pasid/') && v === hwpt) out.push({ rid: o.attrs.rid as Rid, pasid: Number(key.slice(6)) });
    }
  }
  return out.sort((x, y) => compareKeys(`${x.rid}/${x.pasid}`, `${y.rid}/${y.pasid}`));
}

function withAttach(o: IommufdCell, pasid: number, hwpt: number | null): { refs: number[]; attrs: IommufdCell['attrs'] } {
  const attrs = { ...o.attrs };
  if (hwpt === null) delete attrs[pasidAttr(pasid)];
  else attrs[pasidAttr(pasid)] = hwpt;
  const refs = Object.keys(attrs).filter((key) => key.startsWith('pasid/')).sort(compareKeys).map((key) => attrs[key] as number);
  return { refs, attrs };
}

/**
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT. A RID attach replaces what is attached (the
 * cdev calls iommufd_device_replace); a PASID attach of the same HWPT again
 * succeeds, of a different HWPT is EINVAL, of a HWPT without ALLOC_PASID is
 * EINVAL. A nested HWPT on a vIOMMU needs the device's vDEVICE first (ENOENT).
 */
export function deviceAttach(ctx: Ctx, fd: string, rid: Rid, a: Fields): IoctlResult {
  const state = ctx.state;
  const dev = deviceOf(state, fd, rid);
  if (!dev) return err('EINVAL');
  const flags = (a.flags as number | undefined) ?? 0;
  const usePasid = (flags & VFIO_DEVICE_ATTACH_PASID) !== 0;
  const pasid = usePasid ? (a.pasid as number) : RID_PASID;
  const h = obj(state, fd, a.pt_id as number);
  if (!h) return err('ENOENT');
  if (h.type !== 'HWPT_PAGING' && h.type !== 'HWPT_NESTED') return err('EINVAL');
  if (usePasid) {
    const cap = device(state, rid).pasidCap;
    if (!cap || pasid <= 0 || pasid >= 2 ** cap.width) return err('EINVAL');
    if (!((h.attrs.flags as number) & HWPT_ALLOC_PASID)) return err('EINVAL');
  }
  if (h.type === 'HWPT_NESTED' && typeof h.attrs.viommu === 'number' && vdeviceOf(state, fd, h.attrs.viommu, dev.id) === null) return err('ENOENT');
  const cur = attachedAt(dev, pasid);
  if (cur === h.id) return done();
  if (cur !== null && usePasid) return err('EINVAL');
  const entry = entryFor(h);
  if (cur !== null) {
    // Replace: rewrite the present entry, then flush what the old domain cached.
    const before = state.s.pasid[k.pasid(rid, pasid)] ?? null;
    ctx.emit({ kind: 'pasid-write', rid, pasid, before, after: { p: true, ...entry } });
    const cell = device(state, rid);
    invalidatePasidCache(ctx, cell.iommu, 'pasid', before?.did ?? null, pasid);
    invalidateIotlb(ctx, cell.iommu, 'pasid', before?.did ?? null, pasid, null, null);
    if (cell.ats) invalidateAtc(ctx, rid, 'pasid', pasid, null, null);
  } else if (installEntry(ctx, rid, pasid, entry) === 'EBUSY') {
    return err('EBUSY');
  }
  const next = withAttach(dev, pasid, h.id);
  update(ctx, dev, next.refs, next.attrs);
  ctx.emit({ kind: 'bind', rid, pasid, owner: device(state, rid).vm ?? fd, via: `${fd} HWPT ${h.id}`, space: null });
  updateWbinvd(ctx, device(state, rid).vm);
  return done();
}

export function deviceDetach(ctx: Ctx, fd: string, rid: Rid, a: Fields): IoctlResult {
  const dev = deviceOf(ctx.state, fd, rid);
  if (!dev) return err('EINVAL');
  const flags = (a.flags as number | undefined) ?? 0;
  const pasid = flags & VFIO_DEVICE_ATTACH_PASID ? (a.pasid as number) : RID_PASID;
  if (attachedAt(dev, pasid) === null) return err('ENOENT');
  detach(ctx, dev, pasid);
  return done();
}

function detach(ctx: Ctx, dev: IommufdCell, pasid: number): void {
  const rid = dev.attrs.rid as Rid;
  clearEntry(ctx, rid, pasid);
  const cur = obj(ctx.state, dev.fd, dev.id) ?? dev;
  const next = withAttach(cur, pasid, null);
  update(ctx, cur, next.refs, next.attrs);
  ctx.emit({ kind: 'bind', rid, pasid, owner: null, via: `${dev.fd} detach`, space: null });
  updateWbinvd(ctx, device(ctx.state, rid).vm);
}

export function getHwInfo(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const dev = obj(ctx.state, fd, a.dev_id as number);
  if (!dev || dev.type !== 'DEVICE') return err('ENOENT');
  const cell = device(ctx.state, dev.attrs.rid as Rid);
  const iommu = ctx.state.s.iommu[cell.iommu];
  return done({ out_data_type: iommu?.kind === 'smmuv3' ? 'ARM_SMMUV3' : 'INTEL_VTD', out_max_pasid_log2: cell.pasidCap?.width ?? 0 });
}

/**
 * The physical device goes away (VFIO device fd closed) while objects still
 * point at it: detach everything, force-destroy its vDEVICEs (their ids stay
 * leaked until the iommufd is closed), then the DEVICE.
 */
export function deviceUnbind(ctx: Ctx, fd: string, rid: Rid): IoctlResult {
  const dev = deviceOf(ctx.state, fd, rid);
  if (!dev) return err('ENOENT');
  for (const key of Object.keys(dev.attrs).filter((x) => x.startsWith('pasid/')).sort(compareKeys)) {
    const cur = obj(ctx.state, fd, dev.id);
    if (cur) detach(ctx, cur, Number(key.slice(6)));
  }
  for (const v of objects(ctx.state, fd)) {
    if (v.type !== 'VDEVICE' || v.attrs.dev !== dev.id || v.attrs.leaked === true) continue;
    removeVdevice(ctx, v);
    update(ctx, v, [], { ...v.attrs, leaked: true });
  }
  const cur = obj(ctx.state, fd, dev.id);
  if (cur) destroyObj(ctx, cur);
  return done();
}

/** Closing the iommufd destroys everything, children before parents. */

export const DEVICE_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_GET_HW_INFO: { file: 'iommufd', nr: 0x8a, args: { dev_id: 'int' }, run: (ctx, f, a) => getHwInfo(ctx, f, a) },
};
