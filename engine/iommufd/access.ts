// The iommufd_access object (drivers/iommu/iommufd/device.c, iommufd_access_*): what an emulated VFIO device
// binds as. An mdev / SIOV device uses VFIO's emulated ops (vfio_iommufd_emulated_*, drivers/vfio/iommufd.c):
// its bind is iommufd_access_create(), not iommufd_device_bind(), so its out_devid names an IOMMUFD_OBJ_ACCESS
// that no ioctl looking for a DEVICE accepts (ENOENT), and it is attached to an IOAS only, as an access
// (iopt_add_access()): no HWPT, no domain, no PASID entry, no reserved region. The device does no DMA of its
// own; its parent driver reads and pins the IOAS's pages through the access (iommufd_access_rw() /
// iommufd_access_pin_pages(), not modelled: the model keeps no page contents and pins nothing).
//
// State on an ACCESS object (attrs):
//   rid        the emulated device (access->data is its vfio_device)
//   ioas       the IOAS it is attached to (access->ioas); refs [ioas] hold that IOAS's users reference. VFIO's
//              vdev->iommufd_attached is set and cleared together with it, so the model keeps the one attr.
//   ctxClosed  the iommufd file was closed while the access existed (its context lives on, as for a DEVICE)
import type { Ctx } from '../ctx.js';
import { allocIndex, deviceKeysOf, TAG } from '../indexes.js';
import { compareKeys } from '../state.js';
import type { IommufdCell, Rid, State } from '../types.js';
import { eventFdsOpen } from './eventq.js';
import { ioptCanAddAccess } from './ioas.js';
import { releaseCtx } from './main.js';
import { boundByDriver, create, destroyObj, done, err, getObject, obj, objectsWith, update, type IoctlResult } from './object.js';

/** The ACCESS an emulated VFIO device is bound as (vdev->iommufd_access), in whichever iommufd. */
export function accessOf(state: State, rid: Rid): IommufdCell | undefined {
  // A live run's index has the bindings by RID (engine/indexes.ts); a bare state sorts every object.
  const ix = allocIndex(state);
  return (ix ? deviceKeysOf(ix, rid) : Object.keys(state.s.iommufd).sort(compareKeys)).map((key) => state.s.iommufd[key])
    .find((o): o is IommufdCell => o !== undefined && o.type === 'ACCESS' && o.attrs.rid === rid);
}

/** The IOAS the access is attached to (access->ioas), or null. */
const ioasOf = (a: IommufdCell): number | null => (typeof a.attrs.ioas === 'number' ? a.attrs.ioas : null);

/**
 * iommufd_access_create(), device.c, as vfio_iommufd_emulated_bind() calls it (vfio_user_ops): the object
 * starts with the calling driver's users reference ("The calling driver is a user until
 * iommufd_access_destroy()", so IOMMU_DESTROY of it is EBUSY, main.ts), iova_alignment PAGE_SIZE
 * (needs_pin_pages) and a reference on the context (iommufd_ctx_get()); *id is out_devid.
 */
export function accessCreate(ctx: Ctx, fd: string, rid: Rid): IoctlResult {
  const id = create(ctx, fd, 'ACCESS', [], { rid });
  return done({ out_devid: id }, id);
}

/**
 * iommufd_access_change_ioas(), device.c: move the access to `next` (null: off its IOAS). The same IOAS is
 * no change. Joining an IOAS is iopt_add_access() (the alignment check, -EADDRINUSE) and a users reference
 * on it; leaving one calls the driver's unmap (vfio_emulated_unmap(): nothing is pinned in the model),
 * iopt_remove_access() and drops the reference. (cur_ioas != access->ioas_unpin, -EBUSY, is a race with a
 * concurrent detach the model cannot have.)
 */
function changeIoas(ctx: Ctx, a: IommufdCell, next: IommufdCell | null): IoctlResult {
  if (ioasOf(a) === (next?.id ?? null)) return done();
  if (next) {
    // iopt_add_access(), drivers/iommu/iommufd/io_pagetable.c: iopt_calculate_iova_alignment() -> -EADDRINUSE
    // for an area that does not conform to PAGE_SIZE
    const e = ioptCanAddAccess(ctx.state, a.fd, next);
    if (e) return err(e);
  }
  const attrs: IommufdCell['attrs'] = { ...a.attrs };
  if (next) attrs.ioas = next.id;
  else delete attrs.ioas;
  update(ctx, a, next ? [next.id] : [], attrs);
  return done();
}

/**
 * vfio_iommufd_emulated_attach_ioas(), drivers/vfio/iommufd.c: iommufd_access_replace() once attached, else
 * iommufd_access_attach(), both iommufd_access_change_ioas_id(), device.c. (Their own checks,
 * iommufd_access_attach()'s WARN_ON(access->ioas) and iommufd_access_replace()'s !access->ioas, cannot fire:
 * iommufd_attached and access->ioas change together.) `pt_id` must be an IOAS and comes back unchanged.
 */
export function accessAttach(ctx: Ctx, a: IommufdCell, ptId: unknown): IoctlResult {
  // iommufd_access_change_ioas_id(), drivers/iommu/iommufd/device.c: iommufd_get_ioas() -> -ENOENT for an id
  // that is not an IOAS (a HWPT among them: an access is never attached to a page table)
  const ioas = getObject(ctx.state, a.fd, ptId, 'IOAS');
  if (!ioas) return err('ENOENT');
  const r = changeIoas(ctx, a, ioas);
  if (r.errno) return r;
  // vfio_df_ioctl_attach_pt(), device_cdev.c: attach.pt_id is copied back as it came: the IOAS
  return done({ pt_id: ioas.id }, ioas.id);
}

/**
 * vfio_iommufd_emulated_detach_ioas(), drivers/vfio/iommufd.c: nothing when not attached
 * (!vdev->iommufd_attached), else iommufd_access_detach() -> iommufd_access_change_ioas(access, NULL).
 */
export function accessDetach(ctx: Ctx, a: IommufdCell): void {
  if (ioasOf(a) === null) return;
  changeIoas(ctx, a, null);
}

/**
 * The emulated device's VFIO fd closes: vfio_iommufd_emulated_unbind(), drivers/vfio/iommufd.c ->
 * iommufd_access_destroy() -> iommufd_object_destroy_user(): the destroy op, iommufd_access_destroy_object()
 * (device.c), takes the access off its IOAS and puts the context; the id is free again. The last binding of a
 * closed iommufd then runs the release (iommufd_fops_release(), main.ts), unless an event-queue fd still
 * holds the context. A device that is not bound: nothing happens.
 */
export function accessUnbind(ctx: Ctx, rid: Rid): IoctlResult {
  const a = accessOf(ctx.state, rid);
  if (!a) return done();
  const fd = a.fd;
  const closed = a.attrs.ctxClosed === true;
  changeIoas(ctx, a, null);
  const cur = obj(ctx.state, fd, a.id);
  if (cur) destroyObj(ctx, cur);
  if (closed && !boundByDriver(ctx.state, fd) && !eventFdsOpen(ctx.state, fd)) releaseCtx(ctx, fd);
  return done();
}

/**
 * close() of the iommufd while emulated devices are bound: each access holds the context
 * (iommufd_access_create(): iommufd_ctx_get(); VFIO's df->iommufd too), so nothing is released; each ACCESS
 * is marked and the last unbind runs the release. Returns whether an access holds the context.
 */
export function holdCtxByAccesses(ctx: Ctx, fd: string): boolean {
  const accesses = objectsWith(ctx.state, fd, TAG.type('ACCESS'), (o) => o.type === 'ACCESS');
  for (const a of accesses) if (a.attrs.ctxClosed !== true) update(ctx, a, a.refs, { ...a.attrs, ctxClosed: true });
  return accesses.length > 0;
}
