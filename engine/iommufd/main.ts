// IOMMU_DESTROY and close() of the iommufd (drivers/iommu/iommufd/main.c).
import type { Ctx } from '../ctx.js';
import type { IoctlSpec } from '../op.js';
import type { Rid } from '../types.js';
import { deviceUnbind } from './device.js';
import { destroyObj, done, err, obj, objects, type IoctlResult } from './object.js';
import { removeVdevice } from './viommu.js';

export function destroy(ctx: Ctx, fd: string, id: number): IoctlResult {
  const o = obj(ctx.state, fd, id);
  if (!o) return err('ENOENT');
  if (o.users > 0) return err('EBUSY');
  if (o.type === 'DEVICE') return err('EINVAL');
  if (o.type === 'VDEVICE') removeVdevice(ctx, o);
  destroyObj(ctx, o);
  return done();
}

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


export const MAIN_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_DESTROY: { file: 'iommufd', nr: 0x80, args: { id: 'int' }, run: (ctx, f, a) => destroy(ctx, f, a.id as number) },
};
