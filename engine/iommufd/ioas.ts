// IOAS: an I/O address space and its areas (drivers/iommu/iommufd/ioas.c,
// io_pagetable.c): IOMMU_IOAS_ALLOC, IOMMU_IOAS_MAP, IOMMU_IOAS_UNMAP.
import type { Ctx } from '../ctx.js';
import { device, invalidateAtc, invalidateIotlb } from '../iommu.js';
import type { Fields } from '../op.js';
import type { IoctlSpec } from '../op.js';
import type { State } from '../types.js';
import { attachedDevices } from './device.js';
import { create, done, err, obj, objects, type IoctlResult } from './object.js';

export const IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOAS_MAP_WRITEABLE = 1 << 1;
export const IOAS_MAP_READABLE = 1 << 2;

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


export const IOAS_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_IOAS_ALLOC: { file: 'iommufd', nr: 0x81, args: {}, run: (ctx, f) => ioasAlloc(ctx, f) },
  IOMMU_IOAS_MAP: { file: 'iommufd', nr: 0x85, args: { ioas_id: 'int', user_va: 'int', length: 'int', iova: 'int?', flags: 'int?' }, run: (ctx, f, a) => ioasMap(ctx, f, a) },
  IOMMU_IOAS_UNMAP: { file: 'iommufd', nr: 0x86, args: { ioas_id: 'int', iova: 'int', length: 'int' }, run: (ctx, f, a) => ioasUnmap(ctx, f, a) },
};
