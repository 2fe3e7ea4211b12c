// The VFIO compatibility side of an iommufd (drivers/iommu/iommufd/vfio_compat.c, v6.18): IOMMU_VFIO_IOAS,
// which chooses the compatibility IOAS (ictx->vfio_ioas), and VFIO_GET_API_VERSION, the one VFIO container
// ioctl iommufd_vfio_ioctl() answers from nothing but its number.
//
// The compatibility IOAS is an attribute of the IOAS it names (`vfioCompat: true`, at most one IOAS per
// iommufd), so it goes with the IOAS as the kernel's pointer does (iommufd_object_remove(), main.c:
// `if (ictx->vfio_ioas == ...) ictx->vfio_ioas = NULL`) and with the context at close. It holds no
// reference on the IOAS (get_compat_ioas() takes one only for the call).
//
// What the compatibility IOAS feeds: the VFIO type1 container ioctls on the iommufd (VFIO_CHECK_EXTENSION,
// VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA), engine/iommufd/vfio-type1.ts.
// Not modelled: the VFIO group path that attaches through it (VFIO_GROUP_SET_CONTAINER ->
// iommufd_vfio_compat_ioas_create(), the one creator of a compatibility IOAS: VFIO_SET_IOMMU creates none) and
// its no-IOMMU mode (iommufd_vfio_compat_set_no_iommu()). The model's devices attach through the VFIO cdev.
import type { Ctx } from '../ctx.js';
import { TAG } from '../indexes.js';
import { u64, type Fields, type IoctlSpec } from '../op.js';
import type { IommufdCell, State } from '../types.js';
import { done, err, firstWith, getObject, update, type IoctlResult } from './object.js';

/** enum iommufd_vfio_ioas_op, include/uapi/linux/iommufd.h. */
export const IOMMU_VFIO_IOAS_GET = 0;
export const IOMMU_VFIO_IOAS_SET = 1;
export const IOMMU_VFIO_IOAS_CLEAR = 2;

/** VFIO_API_VERSION, include/uapi/linux/vfio.h. */
export const VFIO_API_VERSION = 0;

/** ictx->vfio_ioas: the IOAS of this iommufd marked as the compatibility IOAS, if any. */
export function compatIoas(state: State, fd: string): IommufdCell | undefined {
  return firstWith(state, fd, TAG.type('IOAS'), (o) => o.type === 'IOAS' && o.attrs.vfioCompat === true);
}

/** Store ictx->vfio_ioas: the mark moves from the old IOAS (if another) to `next` (null: cleared). */
function setCompatIoas(ctx: Ctx, fd: string, next: IommufdCell | null): void {
  const cur = compatIoas(ctx.state, fd);
  if (cur && cur.id === next?.id) return;
  if (cur) {
    const attrs = { ...cur.attrs };
    delete attrs.vfioCompat;
    update(ctx, cur, cur.refs, attrs);
  }
  if (next) update(ctx, next, next.refs, { ...next.attrs, vfioCompat: true });
}

/** iommufd_vfio_ioas(), drivers/iommu/iommufd/vfio_compat.c. */
export function vfioIoas(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  // iommufd_vfio_ioas(): a non-zero __reserved -> -EOPNOTSUPP
  if ((u64(a.__reserved) ?? 0n) !== 0n) return err('EOPNOTSUPP');
  const op = u64(a.op) ?? 0n;
  if (op === BigInt(IOMMU_VFIO_IOAS_GET)) {
    const ioas = compatIoas(ctx.state, fd);
    // get_compat_ioas(), vfio_compat.c: no ictx->vfio_ioas -> ERR_PTR(-ENODEV)
    if (!ioas) return err('ENODEV');
    return done({ ioas_id: ioas.id });
  }
  if (op === BigInt(IOMMU_VFIO_IOAS_SET)) {
    // iommufd_get_ioas() -> iommufd_get_object(), main.c: no object, or not an IOAS -> -ENOENT
    const ioas = getObject(ctx.state, fd, a.ioas_id ?? 0, 'IOAS');
    if (!ioas) return err('ENOENT');
    setCompatIoas(ctx, fd, ioas);
    return done();
  }
  if (op === BigInt(IOMMU_VFIO_IOAS_CLEAR)) {
    setCompatIoas(ctx, fd, null);
    return done();
  }
  // iommufd_vfio_ioas(), drivers/iommu/iommufd/vfio_compat.c: any other op -> -EOPNOTSUPP
  return err('EOPNOTSUPP');
}

export const VFIO_COMPAT_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_VFIO_IOAS: { file: 'iommufd', nr: 0x88, args: { ioas_id: 'int?', op: 'int?', __reserved: 'int?' }, run: (ctx, f, a) => vfioIoas(ctx, f, a) },
  // _IO(VFIO_TYPE, VFIO_BASE + 0): below IOMMUFD_CMD_BASE, so iommufd_fops_ioctl() hands it to
  // iommufd_vfio_ioctl() before any size check; `case VFIO_GET_API_VERSION: return VFIO_API_VERSION`
  VFIO_GET_API_VERSION: { file: 'iommufd', nr: 100, args: {}, run: () => done({}, VFIO_API_VERSION) },
};
