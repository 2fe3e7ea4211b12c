// iommufd objects and the ioctls that make them (include/uapi/linux/iommufd.h,
// drivers/iommu/iommufd/), plus the VFIO cdev attach/detach that binds devices.
import type { Ctx } from './ctx.js';
import { clearEntry, device, installEntry, invalidateAtc, invalidateIotlb, invalidatePasidCache, RID_PASID } from './iommu.js';
import { k } from './keys.js';
import { updateWbinvd } from './kvm.js';
import type { Fields } from './op.js';
import { compareKeys } from './state.js';
import type { Args, ArgValue, Errno, IommufdCell, IommufdType, PasidEntry, Rid, State } from './types.js';

export const HWPT_ALLOC_NEST_PARENT = 1 << 0;
export const HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
export const HWPT_FAULT_ID_VALID = 1 << 2;
export const HWPT_ALLOC_PASID = 1 << 3;
export const IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOAS_MAP_WRITEABLE = 1 << 1;
export const IOAS_MAP_READABLE = 1 << 2;
export const VFIO_DEVICE_ATTACH_PASID = 1 << 0;

export interface IoctlResult { errno: Errno | null; out: Args; value?: number | null }
const err = (errno: Errno, out: Args = {}): IoctlResult => ({ errno, out });
const done = (out: Args = {}, value: number | null = null): IoctlResult => ({ errno: null, out, value });

export function obj(state: State, fd: string, id: number): IommufdCell | undefined {
  return state.s.iommufd[k.iommufd(fd, id)];
}

function objects(state: State, fd: string): IommufdCell[] {
  const prefix = `${fd}/`;
  return Object.keys(state.s.iommufd).filter((key) => key.startsWith(prefix)).sort(compareKeys)
    .map((key) => state.s.iommufd[key]).filter((o): o is IommufdCell => o !== undefined);
}

/** Object ids come from an xarray with XA_FLAGS_ALLOC1: the lowest free id from 1. */
function nextId(state: State, fd: string): number {
  const used = new Set(objects(state, fd).map((o) => o.id));
  let id = 1;
  while (used.has(id)) id++;
  return id;
}

function create(ctx: Ctx, fd: string, type: IommufdType, refs: number[], attrs: IommufdCell['attrs']): number {
  const id = nextId(ctx.state, fd);
  ctx.emit({ kind: 'iommufd-obj', op: 'alloc', fd, id, type, refs, attrs });
  return id;
}

function update(ctx: Ctx, o: IommufdCell, refs: number[], attrs: IommufdCell['attrs']): void {
  ctx.emit({ kind: 'iommufd-obj', op: 'update', fd: o.fd, id: o.id, type: o.type, refs, attrs });
}

function destroyObj(ctx: Ctx, o: IommufdCell): void {
  ctx.emit({ kind: 'iommufd-obj', op: 'destroy', fd: o.fd, id: o.id, type: o.type, refs: o.refs, attrs: o.attrs });
}

/** A deterministic page-table root for a HWPT_PAGING (second stage over its IOAS). */
const hwptRoot = (id: number): number => 0x10000000 + id * 0x1000;

// ---------------------------------------------------------------- IOAS

export function ioasAlloc(ctx: Ctx, fd: string): IoctlResult {
  const id = create(ctx, fd, 'IOAS', [], {});
  return done({ out_ioas_id: id }, id);
}

export function ioasMap(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const ioas = obj(ctx.state, fd, a.ioas_id as number);
  if (!ioas) return err('ENOENT');
  if (ioas.type !== 'IOAS') return err('EINVAL');
  const length = a.length as number;
  const flags = (a.flags as number | undefined) ?? (IOAS_MAP_FIXED_IOVA | IOAS_MAP_READABLE | IOAS_MAP_WRITEABLE);
  if (length <= 0 || length % 4096 !== 0) return err('EINVAL');
  let iova = (a.iova as number | undefined) ?? 0;
  const maps = ioasMaps(ctx.state, fd, ioas.id);
  if (!(flags & IOAS_MAP_FIXED_IOVA)) {
    // Without FIXED_IOVA the kernel picks: here the first hole above every map.
    iova = maps.reduce((end, m) => Math.max(end, m.iova + m.length), 0x100000);
  }
  if (maps.some((m) => iova < m.iova + m.length && m.iova < iova + length)) return err('EEXIST');
  // The model's VMM maps its memory with user_va == HPA.
  ctx.emit({ kind: 'ioas-map', fd, ioas: ioas.id, iova, length, hpa: a.user_va as number, write: (flags & IOAS_MAP_WRITEABLE) !== 0 });
  return done({ iova }, iova);
}

function ioasMaps(state: State, fd: string, ioas: number): { iova: number; length: number }[] {
  const prefix = `${fd}/${ioas}/`;
  return Object.keys(state.s['ioas-map']).filter((key) => key.startsWith(prefix))
    .map((key) => ({ iova: Number(key.slice(prefix.length)), length: state.s['ioas-map'][key]?.length ?? 0 }));
}

/** IOMMU_IOAS_UNMAP: the range must cover whole earlier maps (no splitting). */
export function ioasUnmap(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const ioas = obj(ctx.state, fd, a.ioas_id as number);
  if (!ioas) return err('ENOENT');
  const iova = a.iova as number;
  const end = iova + (a.length as number);
  const hit = ioasMaps(ctx.state, fd, ioas.id).filter((m) => m.iova < end && iova < m.iova + m.length);
  if (hit.length === 0) return err('ENOENT');
  if (hit.some((m) => m.iova < iova || m.iova + m.length > end)) return err('EINVAL');
  let unmapped = 0;
  for (const m of hit.sort((x, y) => x.iova - y.iova)) {
    ctx.emit({ kind: 'ioas-map', fd, ioas: ioas.id, iova: m.iova, length: m.length, hpa: null, write: false });
    unmapped += m.length;
    flushIoasUsers(ctx, fd, ioas.id, m.iova, m.length);
  }
  return done({ length: unmapped });
}

/** An unmap must leave no cached translation behind: flush every domain built on the IOAS. */
function flushIoasUsers(ctx: Ctx, fd: string, ioas: number, iova: number, length: number): void {
  for (const h of objects(ctx.state, fd)) {
    if (h.type !== 'HWPT_PAGING' || h.attrs.ioas !== ioas) continue;
    for (const dev of attachedDevices(ctx.state, fd, h.id)) {
      const cell = device(ctx.state, dev.rid);
      invalidateIotlb(ctx, cell.iommu, 'page', h.id, null, iova, length / 4096);
      if (cell.ats) invalidateAtc(ctx, dev.rid, 'page', dev.pasid, iova, length / 4096);
    }
  }
}

// ---------------------------------------------------------------- HWPT

export function hwptAlloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const dev = obj(state, fd, a.dev_id as number);
  if (!dev || dev.type !== 'DEVICE') return err('ENOENT');
  const flags = (a.flags as number | undefined) ?? 0;
  const pt = obj(state, fd, a.pt_id as number);
  if (!pt) return err('EINVAL');
  const rid = dev.attrs.rid as Rid;
  const iommu = state.s.iommu[device(state, rid).iommu];
  const refs: number[] = [pt.id];
  if (flags & HWPT_FAULT_ID_VALID) {
    const fault = obj(state, fd, a.fault_id as number);
    if (!fault || fault.type !== 'FAULT') return err('EINVAL');
    refs.push(fault.id);
  }
  if (pt.type === 'IOAS') {
    if (a.data_type !== undefined && a.data_type !== 'DEFAULT') return err('EOPNOTSUPP');
    const id = nextId(state, fd);
    ctx.emit({ kind: 'pt-root', root: hwptRoot(id), owner: `${fd}:IOAS${pt.id}`, ioas: `${fd}/${pt.id}` });
    create(ctx, fd, 'HWPT_PAGING', refs, { ioas: pt.id, flags, root: hwptRoot(id), enforceSnoop: iommu?.snoopControl ?? false });
    return done({ out_hwpt_id: id }, id);
  }
  // A nested HWPT sits on a nest-parent HWPT_PAGING or on a vIOMMU.
  const parent = pt.type === 'VIOMMU' ? obj(state, fd, pt.attrs.hwpt as number) : pt;
  if (!parent || parent.type !== 'HWPT_PAGING' || !((parent.attrs.flags as number) & HWPT_ALLOC_NEST_PARENT)) return err('EINVAL');
  if (a.data_type !== 'VTD_S1' && a.data_type !== 'ARM_SMMUV3') return err('EINVAL');
  const data = (a.data ?? {}) as Args;
  const s1 = (data.pgtbl_addr ?? data.ste ?? 0) as number;
  const id = create(ctx, fd, 'HWPT_NESTED', refs, {
    parent: parent.id, viommu: pt.type === 'VIOMMU' ? pt.id : null, flags, s1, root: parent.attrs.root as number, enforceSnoop: parent.attrs.enforceSnoop as boolean,
  });
  return done({ out_hwpt_id: id }, id);
}

function entryFor(h: IommufdCell): Omit<PasidEntry, 'p'> {
  const nested = h.type === 'HWPT_NESTED';
  return {
    fpd: false, pgtt: nested ? 3 : 2, slptptr: h.attrs.root as number, flptr: nested ? (h.attrs.s1 as number) : 0,
    did: h.id, pgsnp: h.attrs.enforceSnoop === true,
  };
}

// ---------------------------------------------------------------- devices

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

function attachedDevices(state: State, fd: string, hwpt: number): { rid: Rid; pasid: number }[] {
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

// ---------------------------------------------------------------- vIOMMU / vDEVICE

export function viommuAlloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const dev = obj(state, fd, a.dev_id as number);
  if (!dev || dev.type !== 'DEVICE') return err('ENOENT');
  const h = obj(state, fd, a.hwpt_id as number);
  if (!h) return err('ENOENT');
  if (h.type !== 'HWPT_PAGING' || !((h.attrs.flags as number) & HWPT_ALLOC_NEST_PARENT)) return err('EINVAL');
  const id = create(ctx, fd, 'VIOMMU', [h.id], { hwpt: h.id, type: (a.type as string | undefined) ?? 'DEFAULT', iommu: device(state, dev.attrs.rid as Rid).iommu });
  return done({ out_viommu_id: id }, id);
}

function vdeviceOf(state: State, fd: string, viommu: number, devId: number): number | null {
  const o = objects(state, fd).find((x) => x.type === 'VDEVICE' && x.attrs.viommu === viommu && x.attrs.dev === devId && x.attrs.leaked !== true);
  return o ? o.id : null;
}

/**
 * IOMMU_VDEVICE_ALLOC. A device with a vDEVICE already, or a virt_id in use on
 * the vIOMMU: EEXIST. The abort path of the losing allocation must remove only
 * its own xarray slot (xa_cmpxchg); the `abort=erase` design erases by
 * virt_id and deletes the legitimate owner's slot (seed 004).
 */
export function vdeviceAlloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const viommu = obj(state, fd, a.viommu_id as number);
  if (!viommu) return err('ENOENT');
  if (viommu.type !== 'VIOMMU') return err('EINVAL');
  const dev = obj(state, fd, a.dev_id as number);
  if (!dev || dev.type !== 'DEVICE') return err('ENOENT');
  const virtId = a.virt_id as number;
  if (vdeviceOf(state, fd, viommu.id, dev.id) !== null) return err('EEXIST');
  const slot = state.s.vdev[k.vdev(fd, viommu.id, virtId)];
  if (slot) {
    if (ctx.choice('abort', 'cmpxchg') === 'erase') {
      ctx.emit({ kind: 'vdev-map', fd, viommu: viommu.id, virtId, rid: null, vdevice: slot.vdevice });
    }
    return err('EEXIST');
  }
  const id = create(ctx, fd, 'VDEVICE', [viommu.id], { viommu: viommu.id, dev: dev.id, virt_id: virtId, rid: dev.attrs.rid as Rid });
  ctx.emit({ kind: 'vdev-map', fd, viommu: viommu.id, virtId, rid: dev.attrs.rid as Rid, vdevice: id });
  return done({ out_vdevice_id: id }, id);
}

export function faultQueueAlloc(ctx: Ctx, fd: string): IoctlResult {
  const id = create(ctx, fd, 'FAULT', [], {});
  return done({ out_fault_id: id, out_fault_fd: 100 + id }, id);
}

export function getHwInfo(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const dev = obj(ctx.state, fd, a.dev_id as number);
  if (!dev || dev.type !== 'DEVICE') return err('ENOENT');
  const cell = device(ctx.state, dev.attrs.rid as Rid);
  const iommu = ctx.state.s.iommu[cell.iommu];
  return done({ out_data_type: iommu?.kind === 'smmuv3' ? 'ARM_SMMUV3' : 'INTEL_VTD', out_max_pasid_log2: cell.pasidCap?.width ?? 0 });
}

// ---------------------------------------------------------------- destroy, close

function removeVdevice(ctx: Ctx, o: IommufdCell): void {
  const slot = ctx.state.s.vdev[k.vdev(o.fd, o.attrs.viommu as number, o.attrs.virt_id as number)];
  if (slot?.vdevice === o.id) ctx.emit({ kind: 'vdev-map', fd: o.fd, viommu: o.attrs.viommu as number, virtId: o.attrs.virt_id as number, rid: null, vdevice: o.id });
}

export function destroy(ctx: Ctx, fd: string, id: number): IoctlResult {
  const o = obj(ctx.state, fd, id);
  if (!o) return err('ENOENT');
  if (o.users > 0) return err('EBUSY');
  if (o.type === 'DEVICE') return err('EINVAL');
  if (o.type === 'VDEVICE') removeVdevice(ctx, o);
  destroyObj(ctx, o);
  return done();
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
export function closeFd(ctx: Ctx, fd: string): IoctlResult {
  for (const d of objects(ctx.state, fd).filter((o) => o.type === 'DEVICE')) deviceUnbind(ctx, fd, d.attrs.rid as Rid);
  for (;;) {
    const live = objects(ctx.state, fd);
    if (live.length === 0) break;
    const leaf = [...live].reverse().find((o) => o.users === 0);
    if (!leaf) break;
    if (leaf.type === 'VDEVICE') removeVdevice(ctx, leaf);
    destroyObj(ctx, leaf);
  }
  return done();
}

// ---------------------------------------------------------------- HWPT_INVALIDATE

const SMMU_CMDS = ['TLBI_NH_ALL', 'TLBI_NH_ASID', 'TLBI_NH_VA', 'TLBI_NH_VAA', 'ATC_INV', 'CFGI_CD', 'CFGI_CD_ALL'];

/**
 * IOMMU_HWPT_INVALIDATE on a nested HWPT (VTD_S1) or a vIOMMU (ARM_SMMUV3).
 * entry_num comes back as the number of entries handled, also on failure;
 * entry_num == 0 only probes the data type.
 */
export function hwptInvalidate(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const target = obj(state, fd, a.hwpt_id as number);
  if (!target) return err('ENOENT', { entry_num: 0 });
  const type = a.data_type as string;
  const entries = (a.entries ?? []) as ArgValue[];
  const entryNum = typeof a.entry_num === 'number' ? a.entry_num : entries.length;
  if (type === 'VTD_S1' && target.type !== 'HWPT_NESTED') return err('EINVAL', { entry_num: 0 });
  if (type === 'ARM_SMMUV3' && target.type !== 'VIOMMU') return err('EINVAL', { entry_num: 0 });
  if (type !== 'VTD_S1' && type !== 'ARM_SMMUV3') return err('EOPNOTSUPP', { entry_num: 0 });
  if (entryNum > entries.length) return err('EINVAL', { entry_num: 0 });
  for (let i = 0; i < entryNum; i++) {
    const e = (entries[i] ?? {}) as Args;
    const errno = type === 'VTD_S1' ? invalidateVtdS1(ctx, target, e) : invalidateSmmu(ctx, target, e);
    if (errno) return err(errno, { entry_num: i });
  }
  return done({ entry_num: entryNum });
}

function invalidateVtdS1(ctx: Ctx, h: IommufdCell, e: Args): Errno | null {
  const addr = e.addr as number | undefined;
  const npages = e.npages as number | undefined;
  if (typeof addr !== 'number' || typeof npages !== 'number' || npages <= 0 || addr % 4096 !== 0) return 'EINVAL';
  const devs = attachedDevices(ctx.state, h.fd, h.id);
  const iommus = [...new Set(devs.map((d) => device(ctx.state, d.rid).iommu))].sort();
  for (const iommu of iommus) invalidateIotlb(ctx, iommu, 'page', h.id, null, addr, npages);
  // The device TLB is invalidated too when ATS is on.
  for (const d of devs) if (device(ctx.state, d.rid).ats) invalidateAtc(ctx, d.rid, 'page', d.pasid, addr, npages);
  return null;
}

function invalidateSmmu(ctx: Ctx, viommu: IommufdCell, e: Args): Errno | null {
  const opcode = e.opcode as string;
  if (!SMMU_CMDS.includes(opcode)) return 'EIO';
  const iommu = viommu.attrs.iommu as string;
  if (opcode === 'ATC_INV' || opcode === 'CFGI_CD') {
    // The vSID is replaced by the physical SID found through the vDEVICE.
    const slot = ctx.state.s.vdev[k.vdev(viommu.fd, viommu.id, e.sid as number)];
    if (!slot) return 'EIO';
    const ssid = (e.ssid as number | undefined) ?? 0;
    if (opcode === 'ATC_INV') {
      const size = (e.size as number | undefined) ?? 0;
      if (size === 0 && e.addr === undefined) invalidateAtc(ctx, slot.rid, 'pasid', ssid, null, null);
      else invalidateAtc(ctx, slot.rid, 'page', ssid, (e.addr as number | undefined) ?? 0, Math.max(1, Math.ceil(size / 4096)));
    } else {
      invalidatePasidCache(ctx, iommu, 'pasid', null, ssid);
    }
    return null;
  }
  if (opcode === 'CFGI_CD_ALL') { invalidatePasidCache(ctx, iommu, 'global', null, null); return null; }
  const did = typeof e.asid === 'number' ? e.asid : null;
  if (opcode === 'TLBI_NH_VA' || opcode === 'TLBI_NH_VAA') {
    invalidateIotlb(ctx, iommu, 'page', opcode === 'TLBI_NH_VA' ? did : null, null, (e.addr as number | undefined) ?? 0, 1);
  } else {
    invalidateIotlb(ctx, iommu, opcode === 'TLBI_NH_ALL' ? 'global' : 'domain', did, null, null, null);
  }
  return null;
}
