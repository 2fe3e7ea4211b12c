// The VFIO type1 container ioctls an iommufd answers itself (iommufd_vfio_ioctl(),
// drivers/iommu/iommufd/vfio_compat.c, v6.18): VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO,
// VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA. Each works on the compatibility IOAS (ictx->vfio_ioas, chosen with
// IOMMU_VFIO_IOAS: engine/iommufd/vfio-compat.ts) through the io_pagetable calls IOMMU_IOAS_MAP / UNMAP make
// (engine/iommufd/ioas.ts), so a map or unmap emits the same `ioas-map` events and flushes.
//
// An integer-argument ioctl (CHECK_EXTENSION, SET_IOMMU) takes the integer as `args.arg`; a struct one takes the
// struct's fields, `argsz` defaulting to the struct's size. Not modelled, and refused when a step needs it:
// VFIO_CHECK_EXTENSION(VFIO_NOIOMMU_IOMMU) (IS_ENABLED(CONFIG_VFIO_NOIOMMU): a kernel configuration), a map with
// neither READ nor WRITE (an area with iommu_prot IOMMU_CACHE alone: the model's areas are always readable).
// Not reported: GET_INFO's iova_pgsizes on an IOAS with a domain (the model knows only a domain's smallest page),
// and the capability bytes the kernel writes into a buffer too short for the whole chain (cap_offset stays 0).
// The compat path's no-IOMMU mode (ictx->no_iommu_mode) is set only by VFIO's group path for a no-IOMMU device,
// which the model has not: it is always off, so VFIO_SET_IOMMU(VFIO_NOIOMMU_IOMMU) is -EINVAL.
import type { Ctx } from '../ctx.js';
import { ScenarioRunError } from '../limits.js';
import { U64_MAX, u64, type Fields, type IoctlSpec } from '../op.js';
import type { Args } from '../types.js';
import {
  cutIova, disableLargePages, domains, hugePages, IOAS_MAP_FIXED_IOVA, IOAS_MAP_READABLE, IOAS_MAP_WRITEABLE,
  iovaAlignment, mapUserPages, outInt, unmapAll, unmapIova, usableRanges, type Unmapped,
} from './ioas.js';
import { done, err, type IoctlResult } from './object.js';
import { compatIoas } from './vfio-compat.js';

/** Extensions and IOMMU types, include/uapi/linux/vfio.h. */
export const VFIO_TYPE1_IOMMU = 1n;
export const VFIO_TYPE1v2_IOMMU = 3n;
export const VFIO_DMA_CC_IOMMU = 4n;
export const VFIO_NOIOMMU_IOMMU = 8n;
export const VFIO_UNMAP_ALL = 9n;

const MAP_FLAG_READ = 1n;
const MAP_FLAG_WRITE = 2n;
const UNMAP_FLAG_ALL = 2n;
const INFO_PGSIZES = 1;
const INFO_CAPS = 2;
const CAP_IOVA_RANGE = 1;
const CAP_DMA_AVAIL = 3;
const U32_MAX = 0xffffffff;
const PAGE_SIZE = 4096n;

/** offsetofend(struct vfio_iommu_type1_dma_map, size): also its size. */
const MAP_MINSZ = 32n;
/** offsetofend(struct vfio_iommu_type1_dma_unmap, size): also its size (data[] is a flexible array). */
const UNMAP_MINSZ = 24n;
/** offsetofend(struct vfio_iommu_type1_info, iova_pgsizes) and sizeof(struct vfio_iommu_type1_info). */
const INFO_MINSZ = 16n;
const INFO_SIZE = 24n;
/** sizeof(struct vfio_iommu_type1_info_dma_avail) = 12, ALIGN()ed to a u64. */
const DMA_AVAIL_CAP = 16n;
/** struct_size(struct vfio_iommu_type1_info_cap_iova_range, iova_ranges, n): a 16-byte head, 16 bytes a range. */
const iovaCapSize = (n: number): bigint => 16n + 16n * BigInt(n);

const notModelled = (ctx: Ctx, what: string): never => {
  throw new ScenarioRunError(ctx.step, `${what}: not modelled (iommufd_vfio_ioctl(), drivers/iommu/iommufd/vfio_compat.c)`);
};

/** iommufd_vfio_check_extension(), vfio_compat.c: the answer is the ioctl's return value, also out `ret`. */
export function checkExtension(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const type = u64(a.arg) ?? 0n;
  const answer = (n: number): IoctlResult => done({ ret: n }, n);
  if (type === VFIO_TYPE1_IOMMU || type === VFIO_TYPE1v2_IOMMU || type === VFIO_UNMAP_ALL) return answer(1);
  if (type === VFIO_NOIOMMU_IOMMU) return notModelled(ctx, 'VFIO_CHECK_EXTENSION(VFIO_NOIOMMU_IOMMU) returns IS_ENABLED(CONFIG_VFIO_NOIOMMU), a kernel configuration');
  if (type === VFIO_DMA_CC_IOMMU) {
    const ioas = compatIoas(ctx.state, fd);
    // iommufd_vfio_cc_iommu() -> get_compat_ioas(), vfio_compat.c: no ictx->vfio_ioas -> -ENODEV
    if (!ioas) return err('ENODEV');
    // iommufd_vfio_cc_iommu(): 0 when any HWPT_PAGING of ioas->hwpt_list lacks enforce_cache_coherency (every
    // HWPT_PAGING on the IOAS is on the list; the model's is attrs.enforceSnoop)
    return answer(domains(ctx.state, fd, ioas.id).every((h) => h.attrs.enforceSnoop === true) ? 1 : 0);
  }
  // iommufd_vfio_check_extension(): __VFIO_RESERVED_TYPE1_NESTING_IOMMU, VFIO_UPDATE_VADDR and every other -> 0
  return answer(0);
}

/** iommufd_vfio_set_iommu(), vfio_compat.c. */
export function setIommu(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const type = u64(a.arg) ?? 0n;
  // iommufd_vfio_set_iommu(): not TYPE1 / TYPE1v2, or no_iommu_mode (never set here) -> -EINVAL
  if (type !== VFIO_TYPE1_IOMMU && type !== VFIO_TYPE1v2_IOMMU) return err('EINVAL');
  // get_compat_ioas(), vfio_compat.c: no ictx->vfio_ioas -> -ENODEV ("VFIO fails the set_iommu if there is no group")
  const ioas = compatIoas(ctx.state, fd);
  if (!ioas) return err('ENODEV');
  // iommufd_vfio_set_iommu(): TYPE1 may unmap inside a mapping, so large pages go (iopt_disable_large_pages())
  if (type === VFIO_TYPE1_IOMMU) {
    const e = disableLargePages(ctx, fd, ioas);
    if (e) return err(e);
  }
  return done();
}

/** iommufd_vfio_map_dma(), vfio_compat.c. */
export function mapDma(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const argsz = u64(a.argsz) ?? MAP_MINSZ;
  const flags = u64(a.flags) ?? 0n;
  // iommufd_vfio_map_dma(), drivers/iommu/iommufd/vfio_compat.c: map.argsz < minsz || unknown flags -> -EINVAL
  if (argsz < MAP_MINSZ || (flags & ~(MAP_FLAG_READ | MAP_FLAG_WRITE))) return err('EINVAL');
  // get_compat_ioas(), vfio_compat.c: no ictx->vfio_ioas -> -ENODEV
  const ioas = compatIoas(ctx.state, fd);
  if (!ioas) return err('ENODEV');
  if (!(flags & (MAP_FLAG_READ | MAP_FLAG_WRITE))) return notModelled(ctx, 'VFIO_IOMMU_MAP_DMA with neither VFIO_DMA_MAP_FLAG_READ nor WRITE maps with iommu_prot IOMMU_CACHE alone, an area the model cannot hold');
  // iopt_map_user_pages(..., flags 0): at map.iova, never an allocated IOVA
  let iopt = BigInt(IOAS_MAP_FIXED_IOVA);
  if (flags & MAP_FLAG_READ) iopt |= BigInt(IOAS_MAP_READABLE);
  if (flags & MAP_FLAG_WRITE) iopt |= BigInt(IOAS_MAP_WRITEABLE);
  const r = mapUserPages(ctx, fd, ioas, u64(a.vaddr) ?? 0n, u64(a.size) ?? 0n, u64(a.iova) ?? 0n, iopt);
  return typeof r === 'string' ? err(r) : done();
}

/** iommufd_vfio_unmap_dma(), vfio_compat.c: out `size` is the bytes unmapped, written back even when it fails. */
export function unmapDma(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const argsz = u64(a.argsz) ?? UNMAP_MINSZ;
  const flags = u64(a.flags) ?? 0n;
  const iova = u64(a.iova) ?? 0n;
  const size = u64(a.size) ?? 0n;
  // iommufd_vfio_unmap_dma(), vfio_compat.c: unmap.argsz < minsz || flags other than UNMAP_FLAG_ALL -> -EINVAL
  // (VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP is not supported)
  if (argsz < UNMAP_MINSZ || (flags & ~UNMAP_FLAG_ALL)) return err('EINVAL');
  // get_compat_ioas(), vfio_compat.c: no ictx->vfio_ioas -> -ENODEV
  const ioas = compatIoas(ctx.state, fd);
  if (!ioas) return err('ENODEV');
  let r: Unmapped;
  if (flags & UNMAP_FLAG_ALL) {
    // iommufd_vfio_unmap_dma(), drivers/iommu/iommufd/vfio_compat.c: UNMAP_FLAG_ALL with a non-zero iova or size -> -EINVAL (goto err_put: nothing written back)
    if (iova !== 0n || size !== 0n) return err('EINVAL');
    r = unmapAll(ctx, fd, ioas);
  } else {
    if (!hugePages(ioas)) {
      // iommufd_vfio_unmap_dma(): with large pages off (VFIO_TYPE1_IOMMU), cut the areas at the range's last byte and
      // before its first (unsigned long arithmetic; no cut before IOVA 0); a failed cut -> goto err_put
      const iovas = [(iova + size - 1n) & U64_MAX];
      if (iova !== 0n) iovas.push(iova - 1n);
      const e = cutIova(ctx, fd, ioas, iovas);
      if (e) return err(e);
    }
    r = unmapIova(ctx, fd, ioas, iova, size);
  }
  // iommufd_vfio_unmap_dma(): unmap.size = unmapped; copy_to_user(); return rc
  const out = { size: outInt(r.unmapped) };
  return r.errno ? err(r.errno, out) : done(out);
}

/**
 * iommufd_get_pagesizes(), vfio_compat.c, for an IOAS with no domain: ULONG_MAX with the bits below PAGE_SIZE
 * folded into PAGE_SIZE, at least iova_alignment. null with a domain (its pgsize_bitmap above the smallest page
 * is not modelled).
 */
function pageSizes(ctx: Ctx, fd: string, ioasId: number, alignment: bigint): bigint | null {
  if (domains(ctx.state, fd, ioasId).length > 0) return null;
  const bitmap = (U64_MAX & ~(PAGE_SIZE - 1n)) | PAGE_SIZE;
  return bitmap > alignment ? bitmap : alignment;
}

/**
 * iommufd_vfio_iommu_get_info(), vfio_compat.c. The capability chain follows the struct: DMA_AVAIL
 * (iommufd_fill_cap_dma_avail(): avail U32_MAX) then IOVA_RANGE (iommufd_fill_cap_iova(): the holes of the
 * reserved tree). Out: the first min(argsz, sizeof) bytes of the struct (argsz now the size the whole chain
 * needs), and `caps` when the chain fits (cap_offset sizeof(info)).
 */
export function getInfo(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const argsz = u64(a.argsz) ?? INFO_SIZE;
  // iommufd_vfio_iommu_get_info(), vfio_compat.c: info.argsz < minsz -> -EINVAL
  if (argsz < INFO_MINSZ) return err('EINVAL');
  // get_compat_ioas(), vfio_compat.c: no ictx->vfio_ioas -> -ENODEV
  const ioas = compatIoas(ctx.state, fd);
  if (!ioas) return err('ENODEV');
  const ranges = usableRanges(ctx.state, fd, ioas);
  const total = INFO_SIZE + DMA_AVAIL_CAP + iovaCapSize(ranges.length);
  const pgsizes = pageSizes(ctx, fd, ioas.id, iovaAlignment(ctx.state, fd, ioas));
  const out: Args = { argsz: outInt(total), flags: INFO_PGSIZES | INFO_CAPS };
  if (pgsizes !== null) out.iova_pgsizes = outInt(pgsizes);
  const fits = argsz >= total;
  // copy_to_user(arg, &info, min(argsz, sizeof(info))): cap_offset (bytes 16..19) only when argsz covers it
  if (argsz >= 20n) out.cap_offset = fits ? Number(INFO_SIZE) : 0;
  if (fits) {
    out.caps = [
      { id: CAP_DMA_AVAIL, version: 1, next: outInt(INFO_SIZE + DMA_AVAIL_CAP), avail: U32_MAX },
      {
        id: CAP_IOVA_RANGE, version: 1, next: 0, nr_iovas: ranges.length,
        iova_ranges: ranges.map((r) => ({ start: outInt(r.start), end: outInt(r.last) })),
      },
    ];
  }
  return done(out);
}

export const VFIO_TYPE1_IOCTLS: Record<string, IoctlSpec> = {
  // _IO(VFIO_TYPE, VFIO_BASE + n): below IOMMUFD_CMD_BASE, so iommufd_fops_ioctl() hands each to iommufd_vfio_ioctl()
  // before any iommufd size check; the integer ones read the ioctl's argument itself
  VFIO_CHECK_EXTENSION: { file: 'iommufd', nr: 101, args: { arg: 'u64' }, run: (ctx, f, a) => checkExtension(ctx, f, a) },
  VFIO_SET_IOMMU: { file: 'iommufd', nr: 102, args: { arg: 'u64' }, run: (ctx, f, a) => setIommu(ctx, f, a) },
  VFIO_IOMMU_GET_INFO: { file: 'iommufd', nr: 112, args: { argsz: 'int?' }, run: (ctx, f, a) => getInfo(ctx, f, a) },
  VFIO_IOMMU_MAP_DMA: { file: 'iommufd', nr: 113, args: { argsz: 'int?', flags: 'int?', vaddr: 'u64?', iova: 'u64?', size: 'u64?' }, run: (ctx, f, a) => mapDma(ctx, f, a) },
  VFIO_IOMMU_UNMAP_DMA: { file: 'iommufd', nr: 114, args: { argsz: 'int?', flags: 'int?', iova: 'u64?', size: 'u64?' }, run: (ctx, f, a) => unmapDma(ctx, f, a) },
};
