// The iommufd object table (drivers/iommu/iommufd/main.c): ids from an
// xarray with XA_FLAGS_ALLOC1, typed lookups, and the events that create,
// update and destroy an object. Every other iommufd file builds on these.
import type { Ctx } from '../ctx.js';
import { allocIndex, anyObjectUnder, countTagged, freeObjectId, objectKeysUnder, objectsTagged, TAG } from '../indexes.js';
import { k } from '../keys.js';
import { compareKeys } from '../state.js';
import type { Args, Errno, IommufdCell, IommufdType, State } from '../types.js';

export interface IoctlResult { errno: Errno | null; out: Args; value?: number | null }
export const err = (errno: Errno, out: Args = {}): IoctlResult => ({ errno, out });
export const done = (out: Args = {}, value: number | null = null): IoctlResult => ({ errno: null, out, value });

export function obj(state: State, fd: string, id: number): IommufdCell | undefined {
  return state.s.iommufd[k.iommufd(fd, id)];
}

/**
 * iommufd_get_object(), drivers/iommu/iommufd/main.c: an id that names no
 * object, or an object of another type than the one asked for, is -ENOENT.
 * `type` 'ANY' is IOMMUFD_OBJ_ANY: the caller switches on the type itself.
 */
export function getObject(state: State, fd: string, id: unknown, type: IommufdType | 'ANY'): IommufdCell | null {
  if (typeof id !== 'number') return null;
  const o = obj(state, fd, id);
  if (!o || (type !== 'ANY' && o.type !== type)) return null;
  // a tombstone (XA_ZERO_ENTRY: a vDEVICE destroyed by its device's unbind, id kept until close) is no object
  if (o.attrs.leaked === true) return null;
  return o;
}

/** Every object of one iommufd, in id order. */
export function objects(state: State, fd: string): IommufdCell[] {
  const prefix = `${fd}/`;
  // A live run's index lists this fd's keys in id order (engine/indexes.ts): O(objects of the fd), not a sort of every object.
  const ix = allocIndex(state);
  const keys = ix ? objectKeysUnder(ix, prefix) : null;
  return (keys ?? Object.keys(state.s.iommufd).filter((key) => key.startsWith(prefix)).sort(compareKeys))
    .map((key) => state.s.iommufd[key]).filter((o): o is IommufdCell => o !== undefined);
}

/**
 * The objects of one iommufd that `keep` accepts, in id order. `tag` (TAG in
 * engine/indexes.ts) must be implied by `keep`: a live run's index finds the
 * objects with the tag at once and `keep` filters them; a bare state, or a
 * tag the index cannot answer (null), filters every object of the fd.
 */
export function objectsWith(state: State, fd: string, tag: string | null, keep: (o: IommufdCell) => boolean): IommufdCell[] {
  const ix = allocIndex(state);
  const ids = ix ? objectsTagged(ix, `${fd}/`, tag) : null;
  if (!ids) return objects(state, fd).filter(keep);
  const out: IommufdCell[] = [];
  for (const id of ids) { const o = obj(state, fd, id); if (o && keep(o)) out.push(o); }
  return out;
}

/** The first object of one iommufd (id order) that `keep` accepts, found as objectsWith() finds them. */
export const firstWith = (state: State, fd: string, tag: string | null, keep: (o: IommufdCell) => boolean): IommufdCell | undefined =>
  objectsWith(state, fd, tag, keep)[0];

/** Whether the iommufd has an object of `type`. */
export function hasObjectOfType(state: State, fd: string, type: IommufdType): boolean {
  const ix = allocIndex(state);
  const n = ix ? countTagged(ix, `${fd}/`, TAG.type(type)) : null;
  return n === null ? objects(state, fd).some((o) => o.type === type) : n > 0;
}

/**
 * Whether a driver's binding holds the iommufd's context: a DEVICE (iommufd_device_bind()) or an ACCESS
 * (iommufd_access_create()) each took iommufd_ctx_get(), put when the driver unbinds. While one exists, a
 * close of the iommufd releases nothing (main.ts closeFd()).
 */
export const boundByDriver = (state: State, fd: string): boolean => hasObjectOfType(state, fd, 'DEVICE') || hasObjectOfType(state, fd, 'ACCESS');

/** Whether the iommufd has any object (!xa_empty(&ictx->objects)). */
export function hasObjects(state: State, fd: string): boolean {
  const ix = allocIndex(state);
  return (ix ? anyObjectUnder(ix, `${fd}/`) : null) ?? objects(state, fd).length > 0;
}

/** Object ids come from an xarray with XA_FLAGS_ALLOC1: the lowest free id from 1. */
export function nextId(state: State, fd: string): number {
  // A live run answers from its index of object ids (engine/indexes.ts) in O(log n); a bare state scans.
  const ix = allocIndex(state);
  if (ix) return freeObjectId(ix, `${fd}/`);
  const used = new Set(objects(state, fd).map((o) => o.id));
  let id = 1;
  while (used.has(id)) id++;
  return id;
}

export function create(ctx: Ctx, fd: string, type: IommufdType, refs: number[], attrs: IommufdCell['attrs']): number {
  const id = nextId(ctx.state, fd);
  ctx.emit({ kind: 'iommufd-obj', op: 'alloc', fd, id, type, refs, attrs });
  return id;
}

export function update(ctx: Ctx, o: IommufdCell, refs: number[], attrs: IommufdCell['attrs']): void {
  ctx.emit({ kind: 'iommufd-obj', op: 'update', fd: o.fd, id: o.id, type: o.type, refs, attrs });
}

export function destroyObj(ctx: Ctx, o: IommufdCell): void {
  ctx.emit({ kind: 'iommufd-obj', op: 'destroy', fd: o.fd, id: o.id, type: o.type, refs: o.refs, attrs: o.attrs });
}
