// vIOMMU and vDEVICE (drivers/iommu/iommufd/viommu.c): IOMMU_VIOMMU_ALLOC
// over a nest parent, IOMMU_VDEVICE_ALLOC binding a virt_id to a device.
import type { Ctx } from '../ctx.js';
import { device } from '../iommu.js';
import { k } from '../keys.js';
import type { Fields, IoctlSpec } from '../op.js';
import type { IommufdCell, Rid, State } from '../types.js';
import { HWPT_ALLOC_NEST_PARENT } from './hwpt.js';
import { create, done, err, obj, objects, type IoctlResult } from './object.js';

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

export function vdeviceOf(state: State, fd: string, viommu: number, devId: number): number | null {
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

export function removeVdevice(ctx: Ctx, o: IommufdCell): void {
  const slot = ctx.state.s.vdev[k.vdev(o.fd, o.attrs.viommu as number, o.attrs.virt_id as number)];
  if (slot?.vdevice === o.id) ctx.emit({ kind: 'vdev-map', fd: o.fd, viommu: o.attrs.viommu as number, virtId: o.attrs.virt_id as number, rid: null, vdevice: o.id });
}


export const VIOMMU_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_VIOMMU_ALLOC: { file: 'iommufd', nr: 0x90, args: { dev_id: 'int', hwpt_id: 'int', type: 'str?' }, run: (ctx, f, a) => viommuAlloc(ctx, f, a) },
  IOMMU_VDEVICE_ALLOC: { file: 'iommufd', nr: 0x91, args: { viommu_id: 'int', dev_id: 'int', virt_id: 'int' }, run: (ctx, f, a) => vdeviceAlloc(ctx, f, a) },
};
