// IOMMU_DESTROY and close() of the iommufd (drivers/iommu/iommufd/main.c).
import type { Ctx } from '../ctx.js';
import type { IoctlSpec } from '../op.js';
import { holdCtxByAccesses } from './access.js';
import { holdCtx } from './device.js';
import { allocIndex, lastIdleObject } from '../indexes.js';
import { ioasDestroyAreas, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_RLIMIT_MODE, optionHugePages, optionRlimitMode } from './ioas.js';
import { destroyObj, done, err, obj, objects, type IoctlResult } from './object.js';
import type { IommufdCell } from '../types.js';
import { u64, type Fields } from '../op.js';
import { dropQueue, fdHeld, holdCtxByEventFds } from './eventq.js';
import { isTombstone, removeVdevice } from './viommu.js';

export function destroy(ctx: Ctx, fd: string, id: number): IoctlResult {
  const o = obj(ctx.state, fd, id);
  if (!o) return err('ENOENT');
  // iommufd_object_remove(): a tombstone (xa_is_zero: a vDEVICE its device's unbind destroyed) -> -ENOENT
  if (isTombstone(o)) return err('ENOENT');
  // iommufd_object_remove(): !refcount_dec_if_one(&obj->users) -> -EBUSY. A bound DEVICE always has one more:
  // "The calling driver is a user until iommufd_device_unbind()" (iommufd_device_bind(), device.c); so is an
  // emulated device's ACCESS: "... until iommufd_access_destroy()" (__iommufd_access_create(),
  // drivers/iommu/iommufd/device.c)
  if (o.type === 'DEVICE' || o.type === 'ACCESS') return err('EBUSY');
  if (o.users > 0) return err('EBUSY');
  // iommufd_eventq_init(), eventq.c: an open FAULT / vEVENTQ fd holds a users reference -> -EBUSY
  if (fdHeld(o)) return err('EBUSY');
  if (o.type === 'VDEVICE') removeVdevice(ctx, o);
  // iommufd_fault_destroy() / iommufd_veventq_destroy(), eventq.c: the queued records go
  dropQueue(ctx, o);
  // iommufd_ioas_destroy(), ioas.c: iopt_unmap_all()
  ioasDestroyAreas(ctx, o);
  // iommufd_object_remove(): `if (ictx->vfio_ioas == ...) ictx->vfio_ioas = NULL` — the mark is the IOAS's own
  // attribute (engine/iommufd/vfio-compat.ts), so it goes with the object
  destroyObj(ctx, o);
  return done();
}

export function closeFd(ctx: Ctx, fd: string): IoctlResult {
  // a bound VFIO device holds a reference on the context (iommufd_device_bind(): iommufd_ctx_get()): the close
  // releases nothing until the last one is unbound (deviceUnbind() then calls releaseCtx())
  const heldByDevices = holdCtx(ctx, fd);
  // so does an emulated device's access (iommufd_access_create(), device.c: iommufd_ctx_get())
  const heldByAccesses = holdCtxByAccesses(ctx, fd);
  // so does an open FAULT / vEVENTQ fd (iommufd_eventq_init(), eventq.c): the last eventq-close releases
  const heldByEventFds = holdCtxByEventFds(ctx, fd);
  if (heldByDevices || heldByAccesses || heldByEventFds) return done();
  releaseCtx(ctx, fd);
  return done();
}

/** iommufd_fops_release(), main.c: every object goes, children before parents, then the context. */
export function releaseCtx(ctx: Ctx, fd: string): void {
  for (;;) {
    // A live run's index names the last idle object at once (engine/indexes.ts): O(log n) a leaf, not a pass over every object.
    const ix = allocIndex(ctx.state);
    const idle = ix ? lastIdleObject(ix, `${fd}/`) : undefined;
    let leaf: IommufdCell | undefined;
    if (idle !== undefined) leaf = idle === null ? undefined : ctx.state.s.iommufd[idle];
    else leaf = [...objects(ctx.state, fd)].reverse().find((o) => o.users === 0);
    if (!leaf) break;
    if (leaf.type === 'VDEVICE') removeVdevice(ctx, leaf);
    dropQueue(ctx, leaf);
    ioasDestroyAreas(ctx, leaf);
    destroyObj(ctx, leaf);
  }
  // iommufd_fops_release(): the iommufd_ctx goes with the file (a new open starts from the defaults)
  if (ctx.state.s['iommufd-ctx'][fd]) ctx.emit({ kind: 'iommufd-ctx', fd, accountMode: null });
}

/** iommufd_option(), drivers/iommu/iommufd/main.c: the IOMMU_OPTION multiplexer. */
export function option(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  if ((u64(a.__reserved) ?? 0n) !== 0n) return err('EOPNOTSUPP');
  const id = u64(a.option_id) ?? 0n;
  // val64 is copied back only when the option succeeded
  if (id === BigInt(IOMMU_OPTION_RLIMIT_MODE)) return optionRlimitMode(ctx, fd, a);
  if (id === BigInt(IOMMU_OPTION_HUGE_PAGES)) return optionHugePages(ctx, fd, a);
  return err('EOPNOTSUPP');
}


export const MAIN_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_DESTROY: { file: 'iommufd', nr: 0x80, args: { id: 'int' }, run: (ctx, f, a) => destroy(ctx, f, a.id as number) },
  IOMMU_OPTION: { file: 'iommufd', nr: 0x87, args: { option_id: 'int', op: 'int', __reserved: 'int?', object_id: 'int?', val64: 'u64?' }, run: (ctx, f, a) => option(ctx, f, a) },
};
