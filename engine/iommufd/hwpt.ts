// HW pagetables (drivers/iommu/iommufd/hw_pagetable.c): IOMMU_HWPT_ALLOC of a
// HWPT_PAGING over an IOAS or a HWPT_NESTED over a nest parent or vIOMMU,
// and IOMMU_HWPT_INVALIDATE, whose entries the platform's driver handles.
import type { Ctx } from '../ctx.js';
import { device } from '../iommu.js';
import { invalidateVtdS1 } from '../drivers/vtd.js';
import { invalidateSmmu } from '../drivers/smmuv3.js';
import type { Fields, IoctlSpec } from '../op.js';
import type { Args, ArgValue, IommufdCell, PasidEntry, Rid } from '../types.js';
import { create, done, err, nextId, obj, type IoctlResult } from './object.js';

export const HWPT_ALLOC_NEST_PARENT = 1 << 0;
export const HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
export const HWPT_FAULT_ID_VALID = 1 << 2;
export const HWPT_ALLOC_PASID = 1 << 3;

/** A deterministic page-table root for a HWPT_PAGING (second stage over its IOAS). */
const hwptRoot = (id: number): number => 0x10000000 + id * 0x1000;

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

export function entryFor(h: IommufdCell): Omit<PasidEntry, 'p'> {
  const nested = h.type === 'HWPT_NESTED';
  return {
    fpd: false, pgtt: nested ? 3 : 2, slptptr: h.attrs.root as number, flptr: nested ? (h.attrs.s1 as number) : 0,
    did: h.id, pgsnp: h.attrs.enforceSnoop === true,
  };
}

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


export const HWPT_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_HWPT_ALLOC: { file: 'iommufd', nr: 0x89, args: { dev_id: 'int', pt_id: 'int', flags: 'int?', fault_id: 'int?', data_type: 'str?', data: 'args?' }, run: (ctx, f, a) => hwptAlloc(ctx, f, a) },
  IOMMU_HWPT_INVALIDATE: { file: 'iommufd', nr: 0x8d, args: { hwpt_id: 'int', data_type: 'str', entry_num: 'int?', entries: 'list?' }, run: (ctx, f, a) => hwptInvalidate(ctx, f, a) },
};
