// QEMU's iommufd backend (backends/iommufd.c) and VFIO cdev attach
// (hw/vfio/iommufd.c) as the ioctls they make; the trace-events lines are
// copied from backends/trace-events and hw/vfio/trace-events (QEMU 9.x and
// later; the shorter forms of earlier releases beside them). QEMU prints the
// ioctl's return (0, or -1 with errno not printed), so a failure's errno is unknown.
import { ERRNOS, type Args, type Errno, type IommufdType } from '../engine/types.js';
import type { Ctx, Handler } from './ctx.js';
import type { Fields } from './format.js';
import { qemuEvent } from './handler.js';
import { ridOfName } from './rid.js';

/** The errno numbers of include/uapi/asm-generic/errno*.h, for a return QEMU printed as -errno. */
const ERRNO_NUMBERS: Record<number, Errno> = {
  1: 'EPERM', 2: 'ENOENT', 5: 'EIO', 6: 'ENXIO', 7: 'E2BIG', 9: 'EBADF', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT',
  16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 25: 'ENOTTY', 28: 'ENOSPC', 29: 'ESPIPE', 34: 'ERANGE', 38: 'ENOSYS',
  75: 'EOVERFLOW', 90: 'EMSGSIZE', 95: 'EOPNOTSUPP', 98: 'EADDRINUSE', 110: 'ETIMEDOUT', 114: 'EALREADY',
};

/** The iommufd file QEMU's backend holds, by its descriptor number. */
export const iommufdFd = (fd: number): string => `iommufd${fd}`;
/** A VFIO device cdev, by the device's name. */
const vfioFd = (name: string): string => `vfio:${name}`;

/** The errno of a return: 0 none; -1 (ioctl()'s failure, errno not printed) unknown; -N the errno N. */
function errnoOf(f: Fields): { errno: Errno | null; unknown: string[] } {
  if (!f.has('ret')) return { errno: null, unknown: [] };
  const ret = f.num('ret');
  if (ret === 0) return { errno: null, unknown: [] };
  const known = ret === -1 ? undefined : ERRNO_NUMBERS[-ret];
  return known && ERRNOS.includes(known) ? { errno: known, unknown: [] } : { errno: 'EIO', unknown: ['errno'] };
}

/** An ioctl on `fd`: args, outputs (only on success), and the errno of the line's `ret` field. */
function ioctl(c: Ctx, f: Fields, fd: string, cmd: string, args: Args, out: Args = {}): boolean {
  const { errno, unknown } = errnoOf(f);
  c.emit({ kind: 'ioctl', fd, cmd, args, errno, out: errno === null ? out : {} }, unknown);
  return errno === null;
}

function alloc(c: Ctx, fd: string, id: number, type: IommufdType, refs: number[], attrs: Record<string, number | string | boolean | null> = {}): void {
  c.emit({ kind: 'iommufd-obj', op: 'alloc', fd, id, type, refs: refs.filter((r) => c.state.s.iommufd[`${fd}/${r}`] !== undefined), attrs });
}

/** IOMMU_IOAS_MAP flags as QEMU sets them: FIXED_IOVA | READABLE, and WRITEABLE unless read-only (include/uapi/linux/iommufd.h). */
const mapFlags = (readonly: boolean): number => 1 | 4 | (readonly ? 0 : 2);

const ON: [string, Handler][] = [
  qemuEvent([`iommufd_backend_connect(int fd, bool owned, uint32_t users) "fd=%d owned=%d users=%d"`, `iommufd_backend_connect(int fd, bool owned, uint32_t users, int ret) "fd=%d owned=%d users=%d (%d)"`],
    (f, c) => c.emit({ kind: 'kcall', fn: 'iommufd_backend_connect', args: { fd: iommufdFd(f.num('fd')), owned: f.num('owned') !== 0 }, errno: errnoOf(f).errno, out: { users: f.num('users') } })),
  qemuEvent(`iommufd_backend_disconnect(int fd, uint32_t users) "fd=%d users=%d"`,
    (f, c) => c.emit({ kind: 'kcall', fn: 'iommufd_backend_disconnect', args: { fd: iommufdFd(f.num('fd')) }, errno: null, out: { users: f.num('users') } })),
  qemuEvent(`iommu_backend_set_fd(int fd) "pre-opened /dev/iommu fd=%d"`,
    (f, c) => c.emit({ kind: 'kcall', fn: 'iommu_backend_set_fd', args: { fd: iommufdFd(f.num('fd')) }, errno: null, out: {} })),
  qemuEvent(`iommufd_backend_map_dma(int iommufd, uint32_t ioas, uint64_t iova, uint64_t size, void *vaddr, bool readonly, int ret) " iommufd=%d ioas=%d iova=0x%"PRIx64" size=0x%"PRIx64" addr=%p readonly=%d (%d)"`, (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const readonly = f.num('readonly') !== 0;
    const a = { ioas_id: f.num('ioas'), flags: mapFlags(readonly), user_va: f.num('vaddr'), length: f.num('size'), iova: f.num('iova') };
    // The pages' host physical address is not in the log.
    if (ioctl(c, f, fd, 'IOMMU_IOAS_MAP', a, { iova: a.iova })) c.emit({ kind: 'ioas-map', fd, ioas: a.ioas_id, iova: a.iova, length: a.length, hpa: 0, write: !readonly }, ['hpa']);
  }),
  qemuEvent(`iommufd_backend_map_file_dma(int iommufd, uint32_t ioas, uint64_t iova, uint64_t size, int fd, unsigned long start, bool readonly, int ret) " iommufd=%d ioas=%d iova=0x%"PRIx64" size=0x%"PRIx64" fd=%d start=%ld readonly=%d (%d)"`, (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const readonly = f.num('readonly') !== 0;
    const a = { ioas_id: f.num('ioas'), flags: mapFlags(readonly), fd: f.num('fd'), start: f.num('start'), length: f.num('size'), iova: f.num('iova') };
    if (ioctl(c, f, fd, 'IOMMU_IOAS_MAP_FILE', a, { iova: a.iova })) c.emit({ kind: 'ioas-map', fd, ioas: a.ioas_id, iova: a.iova, length: a.length, hpa: 0, write: !readonly }, ['hpa']);
  }),
  qemuEvent(`iommufd_backend_unmap_dma(int iommufd, uint32_t ioas, uint64_t iova, uint64_t size, int ret) " iommufd=%d ioas=%d iova=0x%"PRIx64" size=0x%"PRIx64" (%d)"`, (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const a = { ioas_id: f.num('ioas'), iova: f.num('iova'), length: f.num('size') };
    const mapped = c.state.s['ioas-map'][`${fd}/${a.ioas_id}/${a.iova}`];
    if (ioctl(c, f, fd, 'IOMMU_IOAS_UNMAP', a, { length: a.length }) && mapped) c.emit({ kind: 'ioas-map', fd, ioas: a.ioas_id, iova: a.iova, length: mapped.length, hpa: null, write: mapped.write });
  }),
  // QEMU prints this one when the kernel said ENOENT (iommufd_backend_unmap_dma()).
  qemuEvent(`iommufd_backend_unmap_dma_non_exist(int iommufd, uint32_t ioas, uint64_t iova, uint64_t size, int ret) " Unmap nonexistent mapping: iommufd=%d ioas=%d iova=0x%"PRIx64" size=0x%"PRIx64" (%d)"`,
    (f, c) => c.emit({ kind: 'ioctl', fd: iommufdFd(f.num('iommufd')), cmd: 'IOMMU_IOAS_UNMAP', args: { ioas_id: f.num('ioas'), iova: f.num('iova'), length: f.num('size') }, errno: 'ENOENT', out: {} })),
  qemuEvent([`iommufd_backend_alloc_ioas(int iommufd, uint32_t ioas) " iommufd=%d ioas=%d"`, `iommufd_backend_alloc_ioas(int iommufd, uint32_t ioas, int ret) " iommufd=%d ioas=%d (%d)"`], (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const id = f.num('ioas');
    if (ioctl(c, f, fd, 'IOMMU_IOAS_ALLOC', {}, { out_ioas_id: id })) alloc(c, fd, id, 'IOAS', []);
    c.remember('ioas', id);
  }),
  qemuEvent(`iommufd_backend_free_id(int iommufd, uint32_t id, int ret) " iommufd=%d id=%d (%d)"`, (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const id = f.num('id');
    const obj = c.state.s.iommufd[`${fd}/${id}`];
    if (ioctl(c, f, fd, 'IOMMU_DESTROY', { id }) && obj) c.emit({ kind: 'iommufd-obj', op: 'destroy', fd, id, type: obj.type, refs: obj.refs, attrs: obj.attrs });
  }),
  qemuEvent([
    `iommufd_backend_alloc_hwpt(int iommufd, uint32_t dev_id, uint32_t pt_id, uint32_t flags, uint32_t hwpt_type, uint32_t len, uint64_t data_ptr, uint32_t out_hwpt_id, int ret) " iommufd=%d dev_id=%u pt_id=%u flags=0x%x hwpt_type=%u len=%u data_ptr=0x%"PRIx64" out_hwpt=%u (%d)"`,
    `iommufd_backend_alloc_hwpt(int iommufd, uint32_t dev_id, uint32_t pt_id, int ret) " iommufd=%d dev_id=%u pt_id=%u (%d)"`,
  ], (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const full = f.has('hwpt_type');
    const args: Args = { dev_id: f.num('dev_id'), pt_id: f.num('pt_id'), ...(full ? { flags: f.num('flags'), data_type: f.num('hwpt_type'), data_len: f.num('len'), data_uptr: f.num('data_ptr') } : {}) };
    const out: Args = full ? { out_hwpt_id: f.num('out_hwpt_id') } : {};
    // A user data type (IOMMU_HWPT_DATA_VTD_S1, _ARM_SMMUV3) makes a nested HWPT over the parent pt_id.
    if (ioctl(c, f, fd, 'IOMMU_HWPT_ALLOC', args, out) && full) alloc(c, fd, f.num('out_hwpt_id'), f.num('hwpt_type') !== 0 ? 'HWPT_NESTED' : 'HWPT_PAGING', [f.num('pt_id')], { dev: f.num('dev_id') });
  }),
  qemuEvent(`iommufd_backend_set_dirty(int iommufd, uint32_t hwpt_id, bool start, int ret) " iommufd=%d hwpt=%u enable=%d (%d)"`,
    (f, c) => { ioctl(c, f, iommufdFd(f.num('iommufd')), 'IOMMU_HWPT_SET_DIRTY_TRACKING', { hwpt_id: f.num('hwpt_id'), flags: f.num('start') !== 0 ? 1 : 0 }); }),
  qemuEvent(`iommufd_backend_get_dirty_bitmap(int iommufd, uint32_t hwpt_id, uint64_t iova, uint64_t size, uint64_t page_size, int ret) " iommufd=%d hwpt=%u iova=0x%"PRIx64" size=0x%"PRIx64" page_size=0x%"PRIx64" (%d)"`,
    (f, c) => { ioctl(c, f, iommufdFd(f.num('iommufd')), 'IOMMU_HWPT_GET_DIRTY_BITMAP', { hwpt_id: f.num('hwpt_id'), iova: f.num('iova'), length: f.num('size'), page_size: f.num('page_size') }); }),
  qemuEvent(`iommufd_backend_invalidate_cache(int iommufd, uint32_t hwpt_id, uint32_t data_type, uint32_t entry_len, uint32_t entry_num, uint32_t done_num, uint64_t data_ptr, int ret) " iommufd=%d hwpt_id=%u data_type=%u entry_len=%u entry_num=%u done_num=%u data_ptr=0x%"PRIx64" (%d)"`,
    (f, c) => { ioctl(c, f, iommufdFd(f.num('iommufd')), 'IOMMU_HWPT_INVALIDATE', { hwpt_id: f.num('hwpt_id'), data_type: f.num('data_type'), entry_len: f.num('entry_len'), entry_num: f.num('entry_num'), data_uptr: f.num('data_ptr') }, { entry_num: f.num('done_num') }); }),
  qemuEvent(`iommufd_viommu_invalidate_cache(int iommufd, uint32_t viommu_id, uint32_t data_type, uint32_t entry_len, uint32_t entry_num, uint32_t done_num, uint64_t data_ptr, int ret) " iommufd=%d viommu_id=%u data_type=%u entry_len=%u entry_num=%u done_num=%u data_ptr=0x%"PRIx64" (%d)"`,
    (f, c) => { ioctl(c, f, iommufdFd(f.num('iommufd')), 'IOMMU_HWPT_INVALIDATE', { hwpt_id: f.num('viommu_id'), data_type: f.num('data_type'), entry_len: f.num('entry_len'), entry_num: f.num('entry_num'), data_uptr: f.num('data_ptr') }, { entry_num: f.num('done_num') }); }),
  qemuEvent(`iommufd_backend_alloc_viommu(int iommufd, uint32_t type, uint32_t dev_id, uint32_t hwpt_id, uint32_t viommu_id, int ret) " iommufd=%d type=%u dev_id=%u hwpt_id=%u viommu_id=%u (%d)"`, (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const id = f.num('viommu_id');
    if (ioctl(c, f, fd, 'IOMMU_VIOMMU_ALLOC', { type: f.num('type'), dev_id: f.num('dev_id'), hwpt_id: f.num('hwpt_id') }, { out_viommu_id: id })) alloc(c, fd, id, 'VIOMMU', [f.num('hwpt_id')], { type: f.num('type'), dev: f.num('dev_id') });
  }),
  qemuEvent(`iommufd_backend_alloc_vdev(int iommufd, uint32_t dev_id, uint32_t viommu_id, uint64_t virt_id, uint32_t vdev_id, int ret) " iommufd=%d dev_id=%u viommu_id=%u virt_id=0x%"PRIx64" vdev_id=%u (%d)"`, (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const id = f.num('vdev_id');
    if (ioctl(c, f, fd, 'IOMMU_VDEVICE_ALLOC', { viommu_id: f.num('viommu_id'), dev_id: f.num('dev_id'), virt_id: f.num('virt_id') }, { out_vdevice_id: id })) alloc(c, fd, id, 'VDEVICE', [f.num('viommu_id'), f.num('dev_id')], { virt_id: f.num('virt_id') });
  }),
  qemuEvent(`iommufd_viommu_alloc_eventq(int iommufd, uint32_t viommu_id, uint32_t type, uint32_t veventq_id, uint32_t veventq_fd, int ret) " iommufd=%d viommu_id=%u type=%u veventq_id=%u veventq_fd=%u (%d)"`, (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const id = f.num('veventq_id');
    if (ioctl(c, f, fd, 'IOMMU_VEVENTQ_ALLOC', { viommu_id: f.num('viommu_id'), type: f.num('type') }, { out_veventq_id: id, out_veventq_fd: f.num('veventq_fd') })) alloc(c, fd, id, 'VEVENTQ', [f.num('viommu_id')], { type: f.num('type') });
  }),
  qemuEvent(`iommufd_cdev_connect_and_bind(int iommufd, const char *name, int devfd, int devid) " [iommufd=%d] Successfully bound device %s (fd=%d): output devid=%d"`, (f, c) => {
    const fd = iommufdFd(f.num('iommufd'));
    const name = f.str('name');
    const id = f.num('devid');
    c.emit({ kind: 'ioctl', fd: vfioFd(name), cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { iommufd: fd }, errno: null, out: { out_devid: id } });
    alloc(c, fd, id, 'DEVICE', [], { name, rid: ridOfName(name) });
  }),
  qemuEvent(`iommufd_cdev_getfd(const char *dev, int devfd) " %s (fd=%d)"`,
    (f, c) => c.emit({ kind: 'kcall', fn: 'iommufd_cdev_getfd', args: { dev: f.str('dev') }, errno: null, out: { fd: f.num('devfd') } })),
  qemuEvent([
    `iommufd_cdev_attach_ioas_hwpt(int iommufd, const char *name, int devfd, int id) " [iommufd=%d] Successfully attached device %s (%d) to id=%d"`,
    `iommufd_cdev_attach_ioas_hwpt(int iommufd, const char *name, int devfd, const char *str, int hwptid) " [iommufd=%d] Successfully attached device %s (%d) to %s_id=%d"`,
  ], (f, c) => c.emit({ kind: 'ioctl', fd: vfioFd(f.str('name')), cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { pt_id: f.has('id') ? f.num('id') : f.num('hwptid') }, errno: null, out: {} })),
  qemuEvent([
    `iommufd_cdev_detach_ioas_hwpt(int iommufd, const char *name) " [iommufd=%d] Successfully detached %s"`,
    `iommufd_cdev_detach_ioas_hwpt(int iommufd, const char *name, const char *str, int hwptid) " [iommufd=%d] Successfully detached %s from %s_id=%d"`,
  ], (f, c) => c.emit({ kind: 'ioctl', fd: vfioFd(f.str('name')), cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: {}, errno: null, out: {} })),
  // QEMU's container for the IOAS it just allocated: the IOMMU_IOAS_ALLOC line before it, said again.
  qemuEvent(`iommufd_cdev_alloc_ioas(int iommufd, int ioas_id) " [iommufd=%d] new IOMMUFD container with ioasid=%d"`, (f, c) => {
    if (c.recall<number>('ioas') === f.num('ioas_id')) { c.forget('ioas'); c.fold(); return; }
    const fd = iommufdFd(f.num('iommufd'));
    c.emit({ kind: 'ioctl', fd, cmd: 'IOMMU_IOAS_ALLOC', args: {}, errno: null, out: { out_ioas_id: f.num('ioas_id') } });
    alloc(c, fd, f.num('ioas_id'), 'IOAS', []);
  }),
  qemuEvent(`iommufd_cdev_device_info(char *name, int devfd, int num_irqs, int num_regions, int flags) " %s (%d) num_irqs=%d num_regions=%d flags=%d"`,
    (f, c) => c.emit({ kind: 'ioctl', fd: vfioFd(f.str('name')), cmd: 'VFIO_DEVICE_GET_INFO', args: {}, errno: null, out: { flags: f.num('flags'), num_regions: f.num('num_regions'), num_irqs: f.num('num_irqs') } })),
  qemuEvent(`iommufd_cdev_fail_attach_existing_container(const char *msg) " %s"`,
    (f, c) => c.emit({ kind: 'kcall', fn: 'iommufd_cdev_attach_container', args: { existing: true }, errno: null, out: { message: f.str('msg') } })),
  qemuEvent(`iommufd_cdev_rebuild_hwpt(int iommufd, int hwpt_id) " [iommufd=%d] hwpt %d"`,
    (f, c) => c.emit({ kind: 'kcall', fn: 'iommufd_cdev_rebuild_hwpt', args: { fd: iommufdFd(f.num('iommufd')), hwpt_id: f.num('hwpt_id') }, errno: null, out: {} })),
];

export const IOMMUFD_HANDLERS: Record<string, Handler> = Object.fromEntries(ON);
