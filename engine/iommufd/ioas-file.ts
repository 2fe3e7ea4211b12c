// The IOAS ioctls about file-backed areas (IOPT_ADDRESS_FILE), drivers/iommu/iommufd/ioas.c and
// io_pagetable.c (newest mainline: iopt_map_file_pages() takes the fd): IOMMU_IOAS_MAP_FILE up to its file
// lookup, and IOMMU_IOAS_CHANGE_PROCESS.
//
// The model has no files behind a map: every area is an IOMMU_IOAS_MAP one (or a COPY of one), pages from a
// user VA (IOPT_ADDRESS_USER). So MAP_FILE makes its argument checks in the kernel's order (those of
// iopt_map_file_pages() on length and start too) and then meets the fd lookup (dma_buf_get(), then
// fget()): the model's process has no open file but the event-queue fds a run hands out (FAULT / vEVENTQ,
// numbered 100 + object id, engine/iommufd/eventq.ts), so any other fd (-1, 0, an fd never handed out or
// closed) is -EBADF. A real process usually has fds 0-2 open; the model's has not. An fd that names an open
// event-queue file is refused as not modelled: the kernel would go on to iopt_alloc_file_pages() with it.
// CHANGE_PROCESS needs no process model: with no area there is nothing to re-charge, and any area the model
// can hold is not IOPT_ADDRESS_FILE.
import type { Ctx } from '../ctx.js';
import { areasUnder } from '../areas.js';
import { allocIndex, anyTagged, areaIovas, TAG } from '../indexes.js';
import { ScenarioRunError } from '../limits.js';
import { U64_MAX, u64, type Fields, type IoctlSpec } from '../op.js';
import type { State } from '../types.js';
import { IOAS_MAP_FIXED_IOVA, IOAS_MAP_READABLE, IOAS_MAP_WRITEABLE } from './ioas.js';
import { done, err, getObject, objectsWith, type IoctlResult } from './object.js';

const MAP_FLAGS = BigInt(IOAS_MAP_FIXED_IOVA | IOAS_MAP_WRITEABLE | IOAS_MAP_READABLE);
const PROT_FLAGS = BigInt(IOAS_MAP_WRITEABLE | IOAS_MAP_READABLE);

/**
 * Whether `fd` is an open event-queue file of the run (any iommufd: the fd
 * numbers are the process's): a live run's index answers per context
 * (TAG.efd is set only on open queues), a bare state scans.
 */
function openEventFd(state: State, fd: number): boolean {
  const ix = allocIndex(state);
  const tagged = ix ? anyTagged(ix, TAG.efd(fd)) : null;
  return tagged ?? Object.values(state.s.iommufd).some((o) => o !== undefined && o.attrs.efd === fd && o.attrs.open === true);
}

/** iommufd_ioas_map_file(), drivers/iommu/iommufd/ioas.c → iopt_map_file_pages(), io_pagetable.c, up to fget(). */
export function ioasMapFile(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  // The struct's zero-fill: an absent field is 0 (no default flags, unlike the model's IOMMU_IOAS_MAP).
  const flags = u64(a.flags) ?? 0n;
  const iova = u64(a.iova) ?? 0n;
  const length = u64(a.length) ?? 0n;
  // iommufd_ioas_map_file(), drivers/iommu/iommufd/ioas.c: unknown flags -> -EOPNOTSUPP (no __reserved: offset 12 holds the fd)
  if (flags & ~MAP_FLAGS) return err('EOPNOTSUPP');
  // iommufd_ioas_map_file(), drivers/iommu/iommufd/ioas.c: cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX -> -EOVERFLOW
  if (iova >= U64_MAX || length >= U64_MAX) return err('EOVERFLOW');
  // iommufd_ioas_map_file(), drivers/iommu/iommufd/ioas.c: neither WRITEABLE nor READABLE -> -EINVAL
  if (!(flags & PROT_FLAGS)) return err('EINVAL');
  // iommufd_get_ioas() -> iommufd_get_object(), main.c: no object, or not an IOAS -> -ENOENT
  const ioas = getObject(ctx.state, fd, a.ioas_id ?? 0, 'IOAS');
  if (!ioas) return err('ENOENT');
  // iopt_map_file_pages() takes the fd number and checks the range before it looks the fd up (mainline since
  // 217725f0b2c3 "iommufd: Have iopt_map_file_pages convert the fd to a file" / 44ebaa1744fd "iommufd: Accept a
  // DMABUF through IOMMU_IOAS_MAP_FILE"; v6.18 did fget() first in iommufd_ioas_map_file()).
  const start = u64(a.start) ?? 0n;
  // iopt_map_file_pages(), drivers/iommu/iommufd/io_pagetable.c: !length -> -EINVAL
  if (length === 0n) return err('EINVAL');
  // iopt_map_file_pages(), drivers/iommu/iommufd/io_pagetable.c: check_add_overflow(start, length - 1, &last) -> -EOVERFLOW
  if (start + length - 1n > U64_MAX) return err('EOVERFLOW');
  const file = typeof a.fd === 'number' ? a.fd : 0;
  if (openEventFd(ctx.state, file)) {
    throw new ScenarioRunError(ctx.step, `IOMMU_IOAS_MAP_FILE of fd ${file}, an open event-queue file, is not modelled (the model has no file-backed areas: iopt_alloc_file_pages() would take that file)`);
  }
  // iopt_map_file_pages(), drivers/iommu/iommufd/io_pagetable.c: not a DMABUF (dma_buf_get() fails), then
  // file = fget(fd); if (!file) return -EBADF
  return err('EBADF');
}

/** Whether the IOAS has an area: O(1) from a live run's index (engine/areas.ts), else a scan. */
function hasArea(state: State, fd: string, ioasId: number): boolean {
  const prefix = `${fd}/${ioasId}/`;
  const ix = allocIndex(state);
  const iovas = ix ? areaIovas(ix, prefix) : null;
  return iovas ? iovas.size > 0 : areasUnder(state, prefix).length > 0;
}

/** iommufd_ioas_change_process(), drivers/iommu/iommufd/ioas.c. */
export function ioasChangeProcess(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  // iommufd_ioas_change_process(): a non-zero __reserved -> -EOPNOTSUPP
  if ((u64(a.__reserved) ?? 0n) !== 0n) return err('EOPNOTSUPP');
  // iommufd_ioas_change_process(), drivers/iommu/iommufd/ioas.c: iommufd_take_all_iova_rwsem(): every IOAS of the context, in id order; then for_each_ioas_area():
  // area->pages->type != IOPT_ADDRESS_FILE -> -EINVAL (every area of the model is IOPT_ADDRESS_USER)
  for (const ioas of objectsWith(ctx.state, fd, TAG.type('IOAS'), (o) => o.type === 'IOAS')) {
    if (hasArea(ctx.state, fd, ioas.id)) return err('EINVAL');
  }
  // No area: no pinned pages to move, charge_current() of all-zero counts is 0, change_mm() runs for none.
  return done();
}

export const IOAS_FILE_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_IOAS_MAP_FILE: {
    file: 'iommufd', nr: 0x8f,
    args: { flags: 'int?', ioas_id: 'int?', fd: 's32?', start: 'u64?', length: 'u64?', iova: 'u64?' },
    run: (ctx, f, a) => ioasMapFile(ctx, f, a),
  },
  IOMMU_IOAS_CHANGE_PROCESS: { file: 'iommufd', nr: 0x92, args: { __reserved: 'int?' }, run: (ctx, f, a) => ioasChangeProcess(ctx, f, a) },
};
