// IOAS: an I/O address space and its areas, Linux v6.18 (drivers/iommu/iommufd/ioas.c, io_pagetable.c,
// pages.c): IOMMU_IOAS_ALLOC, IOMMU_IOAS_MAP, IOMMU_IOAS_UNMAP (incl. unmap-all), IOMMU_IOAS_COPY,
// IOMMU_IOAS_IOVA_RANGES, IOMMU_IOAS_ALLOW_IOVAS, the per-IOAS and global IOMMU_OPTIONs, and the selftest's
// IOMMU_TEST_OP_ADD_RESERVED. Every check is made in the kernel's order, each cited.
//
// The io_pagetable's state: areas are `ioas-map` cells (fd/ioas/iova -> length, hpa, prot, pages
// writable); the allowed ranges, the selftest's reserved ranges and the HUGE_PAGES option are attributes of
// the IOAS object. The rest of the kernel's reserved tree and its iova_alignment are not stored but derived,
// as the kernel keeps them in step with the objects: every HWPT_PAGING on the IOAS is a domain
// (iopt_table_add_domain: its aperture outside is reserved, its smallest page raises the alignment) and every
// device attached by RID to a HWPT on the IOAS has its driver's reserved regions reserved
// (iopt_table_enforce_dev_resv_regions); both go away with the HWPT / the attachment.
//
// All u64 arithmetic is done in BigInt, as the kernel's unsigned long (64-bit) arithmetic. The model's VMM
// maps its memory with user_va == HPA (pages are never pinned from a real mm: EFAULT and the memlock
// rlimit's ENOMEM are not modelled).
import { areaIntersects, areasIntersecting, areasUnder, type AreaCell } from '../areas.js';
import type { Ctx } from '../ctx.js';
import { dropDirtyUnmapped } from '../dirty.js';
import { smmuPagingGeometry, SMMUV3_RESV_REGIONS } from '../drivers/smmuv3.js';
import { vtdPagingGeometry, VTD_RESV_REGIONS, type PagingDomain, type PagingGeometry } from '../drivers/vtd.js';
import { device, invalidateAtc, invalidateIotlb, RID_PASID } from '../iommu.js';
import { U64_MAX, u64, type Fields, type IoctlSpec } from '../op.js';
import type { ArgValue, Args, Errno, IommufdCell, Rid, State } from '../types.js';
import { attachedDevices } from './device.js';
import { allocIndex, countTagged, objectsTagged, TAG } from '../indexes.js';
import { create, done, err, getObject, hasObjects, obj, objectsWith, update, type IoctlResult } from './object.js';

export const IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOAS_MAP_WRITEABLE = 1 << 1;
export const IOAS_MAP_READABLE = 1 << 2;
const MAP_FLAGS = 7n;
const FIXED = 1n;
const WRITE = 2n;
const READ = 4n;

/** enum iommufd_option / iommufd_option_ops, include/uapi/linux/iommufd.h. */
export const IOMMU_OPTION_RLIMIT_MODE = 0;
export const IOMMU_OPTION_HUGE_PAGES = 1;
export const IOMMU_OPTION_OP_SET = 0;
export const IOMMU_OPTION_OP_GET = 1;

/** x86-64 / arm64 with 4 KiB pages. */
const PAGE_SIZE = 4096n;
/** HPAGE_SIZE (PMD, 2 MiB) with CONFIG_TRANSPARENT_HUGEPAGE: iopt_alloc_iova()'s max_alignment. */
const HPAGE_SIZE = 2n << 20n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export interface Range { start: bigint; last: bigint }
interface Area extends Range { key: string; length: bigint; hpa: bigint; write: boolean; writable: boolean }
/** A slice of pages to map: the model's user_va (== HPA) of its first byte, its length, whether the pages are writable. */
interface PagesElm { hpa: bigint; length: bigint; writable: boolean }

// ---------------------------------------------------------------- helpers

/** An out field: a number when exact as one, else 0x-hex (what `expect.out` and the trace compare as u64). */
export const outInt = (b: bigint): ArgValue => (b <= MAX_SAFE ? Number(b) : `0x${b.toString(16)}`);
const valueOf = (b: bigint): number | null => (b <= MAX_SAFE ? Number(b) : null);
/** An integer the state stores as a JS number: exact when a double holds it (page-aligned values always are). */
const exact = (b: bigint): boolean => BigInt(Number(b)) === b;
const flagsOf = (v: ArgValue | undefined): bigint => u64(v) ?? 0n;
const intersects = (rs: readonly Range[], start: bigint, last: bigint): boolean => rs.some((r) => r.start <= last && start <= r.last);
const hex = (b: bigint): string => `0x${b.toString(16)}`;

function formatRanges(rs: readonly Range[]): string {
  return rs.map((r) => `${hex(r.start)}-${hex(r.last)}`).join(',');
}

function parseRanges(v: unknown): Range[] {
  if (typeof v !== 'string' || v === '') return [];
  return v.split(',').map((s) => {
    const [a, b] = s.split('-');
    return { start: BigInt(a ?? '0'), last: BigInt(b ?? '0') };
  });
}

/** The areas of an IOAS, ascending by IOVA (the area interval tree). */
function areas(state: State, fd: string, ioasId: number): Area[] {
  return areasUnder(state, `${fd}/${ioasId}/`).map(toArea);
}

function toArea({ key, iova, cell: m }: AreaCell): Area {
  const start = BigInt(iova);
  const length = BigInt(m.length);
  return { key, start, last: start + length - 1n, length, hpa: BigInt(m.hpa), write: m.write, writable: m.writable ?? m.write };
}

/** The areas of an IOAS that intersect [start, last], ascending: O(log n + k) from a live run's index (engine/areas.ts). */
const areasIn = (state: State, fd: string, ioasId: number, start: bigint, last: bigint): Area[] =>
  areasIntersecting(state, `${fd}/${ioasId}/`, start, last)?.map(toArea) ?? areas(state, fd, ioasId).filter((x) => x.last >= start && x.start <= last);

/** Whether an area of the IOAS intersects [start, last]: O(log n) from a live run's index (engine/areas.ts). */
const areaIn = (state: State, fd: string, ioasId: number, start: bigint, last: bigint): boolean =>
  areaIntersects(state, `${fd}/${ioasId}/`, start, last) ?? intersects(areas(state, fd, ioasId), start, last);

/** Every HWPT_PAGING built on the IOAS: each is a domain of its io_pagetable (iopt_table_add_domain()). */
export function domains(state: State, fd: string, ioasId: number): IommufdCell[] {
  return objectsWith(state, fd, TAG.ioas(ioasId), (o) => o.type === 'HWPT_PAGING' && o.attrs.ioas === ioasId);
}

/** The HWPT_NESTEDs whose nest parent is this HWPT_PAGING. */
const nestedOn = (state: State, fd: string, parent: number): IommufdCell[] =>
  objectsWith(state, fd, TAG.parent(parent), (o) => o.type === 'HWPT_NESTED' && o.attrs.parent === parent);

type Driver = 'vtd' | 'smmuv3';
type Stage = PagingDomain['stage'];
/** What a paging domain's geometry depends on: its driver and the stage the driver built it as. */
type DomainKind = `${Driver}/${Stage}`;
const STAGES: readonly Stage[] = ['first', 'second'];

function kindOfIommu(state: State, iommu: unknown): Driver | null {
  return typeof iommu === 'string' ? state.s.iommu[iommu]?.kind ?? null : null;
}

/**
 * The driver a HWPT's domain belongs to (its `iommu` attribute, else the IOMMU of a device attached to it)
 * and its stage (`attrs.stage`; the drivers' preferred first stage when absent).
 */
function hwptKind(state: State, h: IommufdCell): DomainKind {
  const stage: Stage = h.attrs.stage === 'second' ? 'second' : 'first';
  const own = kindOfIommu(state, h.attrs.iommu);
  if (own) return `${own}/${stage}`;
  const dev = attachedDevices(state, h.fd, h.id)[0];
  return `${(dev && kindOfIommu(state, state.s.device[dev.rid]?.iommu)) || 'vtd'}/${stage}`;
}

/**
 * The (driver, stage) kinds of the IOAS's domains, each once: all that its reserved ranges and its
 * alignment depend on (every domain of one driver and stage has the same geometry). A live run counts the
 * domains per IOMMU and stage (engine/indexes.ts): O(IOMMUs of the platform), not a pass over every domain.
 */
function domainKinds(state: State, fd: string, ioasId: number): DomainKind[] {
  const ix = allocIndex(state);
  const prefix = `${fd}/`;
  const all = ix ? countTagged(ix, prefix, TAG.ioas(ioasId)) : null;
  if (ix && all !== null) {
    const kinds = new Set<DomainKind>();
    let n = 0;
    for (const iommu of Object.keys(state.s.iommu).sort()) {
      const kind = kindOfIommu(state, iommu);
      for (const stage of STAGES) {
        const c = countTagged(ix, prefix, TAG.domainOn(ioasId, iommu, stage)) ?? 0;
        if (c > 0 && kind) { n += c; kinds.add(`${kind}/${stage}`); }
      }
    }
    // every domain on an IOMMU of the platform with a stage: else some kind comes from hwptKind()
    if (n === all) return [...kinds];
  }
  return [...new Set(domains(state, fd, ioasId).map((h) => hwptKind(state, h)))];
}

/** The paging domain's geometry, from the driver model (engine/drivers/*.ts). */
function geometryOf(kind: DomainKind): PagingGeometry {
  const [driver, stage] = kind.split('/') as [Driver, Stage];
  return driver === 'smmuv3' ? smmuPagingGeometry(stage) : vtdPagingGeometry(stage);
}

/** The reserved regions a device's driver reports (iommu_get_resv_regions()), from the driver model. */
function resvRegionsOf(state: State, rid: Rid): readonly Range[] {
  const kind = kindOfIommu(state, state.s.device[rid]?.iommu);
  return kind === 'smmuv3' ? SMMUV3_RESV_REGIONS : VTD_RESV_REGIONS;
}

/** Devices attached by RID (not by PASID) to a HWPT whose paging domain is on the IOAS (iommufd_hw_pagetable_attach()). */
function ridsOn(state: State, fd: string, ioasId: number): Rid[] {
  // A live run goes from the fd's DEVICE objects (at most one per RID of the platform) to the HWPT each is
  // attached to by RID, not from every domain of the IOAS to its devices.
  const ix = allocIndex(state);
  const devs = ix ? objectsTagged(ix, `${fd}/`, TAG.type('DEVICE')) : null;
  if (devs) {
    const onIoas = (h: IommufdCell | undefined): boolean => h?.type === 'HWPT_PAGING' && h.attrs.ioas === ioasId;
    const found = new Set<Rid>();
    for (const id of devs) {
      const d = obj(state, fd, id);
      if (d?.type !== 'DEVICE') continue;
      for (const [key, v] of Object.entries(d.attrs)) {
        if (!key.startsWith('pasid/') || Number(key.slice(6)) !== RID_PASID || typeof v !== 'number') continue;
        const h = obj(state, fd, v);
        if (onIoas(h) || (h?.type === 'HWPT_NESTED' && onIoas(obj(state, fd, h.attrs.parent as number)))) found.add(d.attrs.rid as Rid);
      }
    }
    return [...found].sort();
  }
  // (the set of RIDs is sorted below: the order the HWPTs are visited in does not matter)
  const paging = domains(state, fd, ioasId);
  const hwpts = [...paging, ...paging.flatMap((h) => nestedOn(state, fd, h.id))];
  const rids = new Set<Rid>();
  for (const h of hwpts) for (const d of attachedDevices(state, fd, h.id)) if (d.pasid === RID_PASID) rids.add(d.rid);
  return [...rids].sort();
}

/** The IOAS's reserved interval tree: the selftest's ranges, each domain's outside-aperture, each attached device's regions. */
export function reservedRanges(state: State, fd: string, ioas: IommufdCell): Range[] {
  const out: Range[] = parseRanges(ioas.attrs.reserved);
  // (one domain's outside-aperture per driver and stage: the others' are the same ranges again)
  for (const kind of domainKinds(state, fd, ioas.id)) {
    const g = geometryOf(kind);
    if (g.apertureStart !== 0n) out.push({ start: 0n, last: g.apertureStart - 1n });
    if (g.apertureEnd !== U64_MAX) out.push({ start: g.apertureEnd + 1n, last: U64_MAX });
  }
  for (const rid of ridsOn(state, fd, ioas.id)) for (const r of resvRegionsOf(state, rid)) out.push({ start: r.start, last: r.last });
  return out;
}

const allowedOf = (ioas: IommufdCell): Range[] => parseRanges(ioas.attrs.allowed);
/** !iopt->disable_large_pages (IOMMU_OPTION_HUGE_PAGES, on by default). */
export const hugePages = (ioas: IommufdCell): boolean => ioas.attrs.hugePages !== false;
const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/**
 * iopt->iova_alignment: 1 for a table with no domain (iopt_init_table()), PAGE_SIZE with large pages
 * disabled, at least each domain's smallest page (iopt_table_add_domain(), iopt_calculate_iova_alignment()).
 */
export function iovaAlignment(state: State, fd: string, ioas: IommufdCell): bigint {
  let align = hugePages(ioas) ? 1n : PAGE_SIZE;
  for (const kind of domainKinds(state, fd, ioas.id)) align = maxBig(align, geometryOf(kind).minPage);
  if (hasAccess(state, fd, ioas.id)) align = maxBig(align, PAGE_SIZE);
  return align;
}

/**
 * iopt_calculate_iova_alignment(): every access in iopt->access_list counts with its iova_alignment, PAGE_SIZE
 * for the only accesses the model has: an emulated VFIO device's (vfio_user_ops.needs_pin_pages,
 * iommufd_access_create(), device.c), on the IOAS it is attached to (engine/iommufd/access.ts).
 */
const hasAccess = (state: State, fd: string, ioasId: number): boolean =>
  objectsWith(state, fd, TAG.type('ACCESS'), (o) => o.type === 'ACCESS' && o.attrs.ioas === ioasId).length > 0;

/** Maximal used spans of a set of ranges within [first, last], adjacent ranges merged (interval_tree_span_iter). */
function usedSpans(rs: readonly Range[], first: bigint, last: bigint): Range[] {
  const sorted = rs.filter((r) => r.last >= first && r.start <= last)
    .map((r) => ({ start: maxBig(r.start, first), last: r.last < last ? r.last : last }))
    .sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && r.start <= prev.last + 1n) prev.last = maxBig(prev.last, r.last);
    else out.push({ ...r });
  }
  return out;
}

/** The holes between used spans within [first, last]. */
function holes(rs: readonly Range[], first: bigint, last: bigint): Range[] {
  const out: Range[] = [];
  let at = first;
  for (const u of usedSpans(rs, first, last)) {
    if (u.start > at) out.push({ start: at, last: u.start - 1n });
    if (u.last >= last) return out;
    at = u.last + 1n;
  }
  if (at <= last) out.push({ start: at, last });
  return out;
}

function roundupPowOfTwo(n: bigint): bigint {
  let p = 1n;
  while (p < n) p <<= 1n;
  return p;
}

/** __alloc_iova_check_range(), io_pagetable.c: the aligned start of a fit in [start, last], or null. */
function checkRange(start: bigint, last: bigint, length: bigint, align: bigint, pageOffset: bigint): bigint | null {
  const up = start + align - 1n;
  if (up > U64_MAX) return null; // check_add_overflow()
  const aligned = (up & (U64_MAX ^ (align - 1n))) | pageOffset;
  if (aligned >= last || last - aligned < length - 1n) return null;
  return aligned;
}

/**
 * iopt_alloc_iova(), drivers/iommu/iommufd/io_pagetable.c: the lowest aligned IOVA of a hole in the
 * reserved and area trees, inside the allowed ranges (or [PAGE_SIZE, ULONG_MAX - PAGE_SIZE] when there are
 * none); never 0.
 */
function allocIova(state: State, fd: string, ioas: IommufdCell, addr: bigint, length: bigint, ioptAlign: bigint): bigint | Errno {
  const pageOffset = addr % PAGE_SIZE;
  // Protect roundup_pow_of_two() from overflow
  if (length === 0n || length >= U64_MAX / 2n) return 'EOVERFLOW';
  // Keep the alignment present in addr (more chance of a huge page)
  let align = addr === 0n ? roundupPowOfTwo(length) : (roundupPowOfTwo(length) < (addr & -addr) ? roundupPowOfTwo(length) : addr & -addr);
  if (align >= HPAGE_SIZE) align = HPAGE_SIZE;
  if (align < ioptAlign) return 'EINVAL';
  const allowed = allowedOf(ioas);
  const spans = allowed.length === 0 ? [{ start: PAGE_SIZE, last: U64_MAX - PAGE_SIZE }] : usedSpans(allowed, PAGE_SIZE, U64_MAX - PAGE_SIZE);
  const used: Range[] = [...reservedRanges(state, fd, ioas), ...areas(state, fd, ioas.id)];
  for (const span of spans) {
    const first = checkRange(span.start, span.last, length, align, pageOffset);
    if (first === null) continue;
    for (const hole of holes(used, first, span.last)) {
      const iova = checkRange(hole.start, hole.last, length, align, pageOffset);
      if (iova !== null) return iova;
    }
  }
  return 'ENOSPC';
}

/** iopt_check_iova(), io_pagetable.c: a FIXED_IOVA range. Allowed ranges do not restrict it. */
function checkIova(state: State, fd: string, ioas: IommufdCell, iova: bigint, length: bigint, align: bigint): Errno | null {
  if (iova & (align - 1n)) return 'EINVAL';
  const last = iova + length - 1n;
  if (last > U64_MAX) return 'EOVERFLOW'; // check_add_overflow()
  // iopt_check_iova(), drivers/iommu/iommufd/io_pagetable.c: no reserved IOVA (a domain's outside-aperture too) intersects the range
  if (intersects(reservedRanges(state, fd, ioas), iova, last)) return 'EINVAL';
  // iopt_check_iova(): there is not already a mapping in the range
  if (areaIn(state, fd, ioas.id, iova, last)) return 'EEXIST';
  return null;
}

/**
 * iopt_map_pages() → iopt_alloc_area_pages() + iopt_insert_area(), io_pagetable.c: place the slices
 * contiguously at the chosen or fixed IOVA. Any failure leaves nothing behind (the areas are inserted with
 * no pages and aborted). Returns the IOVA.
 */
function mapPages(ctx: Ctx, fd: string, ioas: IommufdCell, elms: PagesElm[], length: bigint, fixedIova: bigint, flags: bigint): bigint | Errno {
  const state = ctx.state;
  const align = iovaAlignment(state, fd, ioas);
  // iopt_alloc_area_pages()
  if ((length & (align - 1n)) || length === 0n) return 'EINVAL';
  let iova: bigint;
  if (!(flags & FIXED)) {
    // Use the first entry to guess the ideal IOVA alignment
    const r = allocIova(state, fd, ioas, elms[0]?.hpa ?? 0n, length, align);
    if (typeof r === 'string') return r;
    iova = r;
  } else {
    const e = checkIova(state, fd, ioas, fixedIova, length, align);
    if (e) return e;
    iova = fixedIova;
  }
  const write = (flags & WRITE) !== 0n;
  let at = iova;
  for (const elm of elms) {
    // iopt_insert_area()
    if (write && !elm.writable) return 'EPERM';
    if ((elm.hpa % PAGE_SIZE) & (align - 1n)) return 'EINVAL';
    if (at + elm.length - 1n > U64_MAX || elm.hpa + elm.length - 1n > U64_MAX) return 'EOVERFLOW';
    // Model limit: the state keeps IOVAs, lengths and addresses as JS numbers. Above 2^53 only values a
    // double holds exactly (any multiple of 2 KiB) can be kept; an unaligned one (possible only with no
    // domain, alignment 1) is refused rather than rounded.
    if (!exact(at) || !exact(elm.length) || !exact(elm.hpa)) return 'EOVERFLOW';
    at += elm.length;
  }
  // iopt_fill_domains_pages() pins the pages into every domain: EFAULT / ENOMEM are not modelled.
  at = iova;
  for (const elm of elms) {
    ctx.emit({ kind: 'ioas-map', fd, ioas: ioas.id, iova: Number(at), length: Number(elm.length), hpa: Number(elm.hpa), write, ...(elm.writable !== write ? { writable: elm.writable } : {}) });
    at += elm.length;
  }
  return iova;
}

// ---------------------------------------------------------------- IOMMU_IOAS_ALLOC

/** iommufd_ioas_alloc_ioctl(), drivers/iommu/iommufd/ioas.c. */
export function ioasAlloc(ctx: Ctx, fd: string, a: Fields = {}): IoctlResult {
  if (flagsOf(a.flags) !== 0n) return err('EOPNOTSUPP');
  // iommufd_ioas_alloc() → iopt_init_table(): no areas, no reserved or allowed ranges, alignment 1.
  const id = create(ctx, fd, 'IOAS', [], {});
  return done({ out_ioas_id: id }, id);
}

// ---------------------------------------------------------------- IOMMU_IOAS_MAP

/** iommufd_ioas_map(), drivers/iommu/iommufd/ioas.c → iopt_map_user_pages(), io_pagetable.c. */
export function ioasMap(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  // A scenario that leaves flags out gets FIXED_IOVA | WRITEABLE | READABLE (the model's convenience).
  const flags = a.flags === undefined ? MAP_FLAGS : flagsOf(a.flags);
  const iova = u64(a.iova) ?? 0n;
  const length = u64(a.length) ?? 0n;
  const userVa = u64(a.user_va) ?? 0n;
  // iommufd_ioas_map(): unknown flags or a non-zero __reserved
  if ((flags & ~MAP_FLAGS) || flagsOf(a.__reserved) !== 0n) return err('EOPNOTSUPP');
  if (iova >= U64_MAX || length >= U64_MAX) return err('EOVERFLOW');
  if (!(flags & (WRITE | READ))) return err('EINVAL');
  // iommufd_get_ioas() → iommufd_get_object(), main.c: unknown id or not an IOAS
  const ioas = getObject(ctx.state, fd, a.ioas_id, 'IOAS');
  if (!ioas) return err('ENOENT');
  const r = mapUserPages(ctx, fd, ioas, userVa, length, iova, flags);
  if (typeof r === 'string') return err(r);
  return done({ iova: outInt(r) }, valueOf(r));
}

/**
 * iopt_map_user_pages(), io_pagetable.c: the user pages at `userVa` mapped at `iova` (`flags` FIXED) or at an
 * IOVA found for them; `flags` in IOMMU_IOAS_MAP's bits (WRITE: the pages are pinned writable). Returns the IOVA.
 * IOMMU_IOAS_MAP and VFIO_IOMMU_MAP_DMA (engine/iommufd/vfio-type1.ts) both map through it.
 */
export function mapUserPages(ctx: Ctx, fd: string, ioas: IommufdCell, userVa: bigint, length: bigint, iova: bigint, flags: bigint): bigint | Errno {
  // iopt_alloc_user_pages(), pages.c
  if (userVa + length > U64_MAX) return 'EOVERFLOW';
  // iopt_alloc_pages(), pages.c: the iommu API's size_t length, DIV_ROUND_UP kept from overflow
  if (length === 0n || length > U64_MAX - PAGE_SIZE) return 'EINVAL';
  return mapPages(ctx, fd, ioas, [{ hpa: userVa, length, writable: (flags & WRITE) !== 0n }], length, iova, flags);
}

// ---------------------------------------------------------------- IOMMU_IOAS_UNMAP

/** An unmap must leave no cached translation behind (iopt_area_unfill_domains() → iommu_unmap() → the driver's flush). */
function flushIoasUsers(ctx: Ctx, fd: string, ioasId: number, iova: number, length: number): void {
  const state = ctx.state;
  for (const h of domains(state, fd, ioasId)) {
    for (const dev of attachedDevices(state, fd, h.id)) {
      const cell = device(state, dev.rid);
      invalidateIotlb(ctx, cell.iommu, 'page', h.id, null, iova, Math.ceil(length / 4096));
      if (cell.ats) invalidateAtc(ctx, dev.rid, 'page', dev.pasid, iova, Math.ceil(length / 4096));
    }
    // A nest parent's unmap flushes every nested domain on it whole: the IPA says nothing about the
    // stage-1 addresses cached (VT-d cache_tag_flush_range() on the parent's tags; SMMUv3 issues
    // CMDQ_OP_TLBI_NH_ALL after the stage-2 invalidation of a nest parent).
    for (const n of nestedOn(state, fd, h.id)) {
      for (const dev of attachedDevices(state, fd, n.id)) {
        const cell = device(state, dev.rid);
        invalidateIotlb(ctx, cell.iommu, 'domain', n.id, null, null, null);
        if (cell.ats) invalidateAtc(ctx, dev.rid, 'pasid', dev.pasid, null, null);
      }
    }
  }
}

/**
 * iopt_unmap_iova_range(), io_pagetable.c: remove, lowest IOVA first, every area intersecting
 * [start, last]; an area that sticks out of the range stops the walk with -ENOENT, leaving the areas
 * already removed removed (no splitting). No area at all is success with 0 bytes.
 */
function unmapRange(ctx: Ctx, fd: string, ioas: IommufdCell, start: bigint, last: bigint): { errno: Errno | null; unmapped: bigint } {
  let unmapped = 0n;
  for (const area of areasIn(ctx.state, fd, ioas.id, start, last)) {
    // (area->pages == NULL, a racing map, or area->num_locks, a HW queue's pin: EBUSY — neither arises here)
    if (area.start < start || area.last > last) return { errno: 'ENOENT', unmapped };
    ctx.emit({ kind: 'ioas-map', fd, ioas: ioas.id, iova: Number(area.start), length: Number(area.length), hpa: null, write: false });
    flushIoasUsers(ctx, fd, ioas.id, Number(area.start), Number(area.length));
    // iopt_area_unfill_domains() → iommu_unmap(): the PTEs go from every domain's table, and their dirty bits with them
    dropDirtyUnmapped(ctx, fd, ioas.id, Number(area.start), Number(area.length));
    unmapped += area.length;
  }
  return { errno: null, unmapped };
}

/**
 * iommufd_ioas_unmap(), drivers/iommu/iommufd/ioas.c. Since afb47765f923 ("iommufd: Make vfio_compat's unmap succeed
 * if the range is already empty") an empty range is ENOENT here, not in iopt_unmap_iova_range(): VFIO_IOMMU_UNMAP_DMA
 * of the same range succeeds with size 0 (engine/iommufd/vfio-type1.ts).
 */
export function ioasUnmap(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const ioas = getObject(ctx.state, fd, a.ioas_id, 'IOAS');
  if (!ioas) return err('ENOENT');
  const iova = u64(a.iova) ?? 0n;
  const length = u64(a.length) ?? 0n;
  if (iova === 0n && length === U64_MAX) {
    const r = unmapAll(ctx, fd, ioas);
    if (r.errno) return err(r.errno);
    return done({ length: outInt(r.unmapped) });
  }
  if (iova >= U64_MAX || length >= U64_MAX) return err('EOVERFLOW');
  const r = unmapIova(ctx, fd, ioas, iova, length);
  if (r.errno) return err(r.errno);
  // iommufd_ioas_unmap(), drivers/iommu/iommufd/ioas.c: iopt_unmap_iova() succeeded with nothing unmapped -> -ENOENT
  // (unmap-all of an empty IOAS does not get here: it is 0 with length 0)
  if (r.unmapped === 0n) return err('ENOENT');
  return done({ length: outInt(r.unmapped) });
}

/** What an io_pagetable unmap did: its error, and the bytes it unmapped before it (the caller may report them). */
export interface Unmapped { errno: Errno | null; unmapped: bigint }

/** iopt_unmap_all(), io_pagetable.c: every area; an empty IOAS succeeds (iopt_unmap_iova_range() of nothing is 0). */
export const unmapAll = (ctx: Ctx, fd: string, ioas: IommufdCell): Unmapped => unmapRange(ctx, fd, ioas, 0n, U64_MAX);

/**
 * iopt_unmap_iova(), io_pagetable.c: the areas inside [iova, iova + length - 1]. A range with no area in it is
 * success with 0 bytes (iopt_unmap_iova_range(): "If there are no mapped entries then success", afb47765f923);
 * IOMMU_IOAS_UNMAP turns that into ENOENT itself, VFIO_IOMMU_UNMAP_DMA does not.
 */
export function unmapIova(ctx: Ctx, fd: string, ioas: IommufdCell, iova: bigint, length: bigint): Unmapped {
  if (length === 0n) return { errno: 'EINVAL', unmapped: 0n };
  const last = iova + length - 1n;
  // iopt_unmap_iova(), drivers/iommu/iommufd/io_pagetable.c: check_add_overflow(iova, length - 1) -> -EOVERFLOW
  if (last > U64_MAX) return { errno: 'EOVERFLOW', unmapped: 0n };
  return unmapRange(ctx, fd, ioas, iova, last);
}

/**
 * iopt_cut_iova(), io_pagetable.c: the area holding each IOVA is split so that one part ends there (VFIO
 * type1's unmap inside a mapping, engine/iommufd/vfio-type1.ts); the first failure stops the cuts, those
 * made stay.
 */
export function cutIova(ctx: Ctx, fd: string, ioas: IommufdCell, iovas: readonly bigint[]): Errno | null {
  for (const iova of iovas) {
    const area = areasIn(ctx.state, fd, ioas.id, iova, iova)[0];
    if (!area) continue;
    const e = splitArea(ctx, fd, ioas, area, iova);
    if (e) return e;
  }
  return null;
}

/**
 * iopt_area_split(), io_pagetable.c: [start, iova] and [iova + 1, last] on the same pages. The domains keep
 * their PTEs ("No change to domains or accesses"), so nothing is flushed.
 */
function splitArea(ctx: Ctx, fd: string, ioas: IommufdCell, area: Area, iova: bigint): Errno | null {
  if (iova === area.start || iova === area.last) return null;
  // (!pages || area->prevent_access: -EBUSY — a racing map, or an access being told to unmap: neither arises here)
  const mask = iovaAlignment(ctx.state, fd, ioas) - 1n;
  const newStart = iova + 1n;
  const offset = newStart - area.start;
  // iopt_area_split(), drivers/iommu/iommufd/io_pagetable.c: the second part's IOVA and its first byte in the pages must both be aligned -> -EINVAL
  // (the pages start on a page boundary and the alignment is at most PAGE_SIZE: the user address's low bits are the byte's)
  if ((newStart & mask) || ((area.hpa + offset) & mask)) return 'EINVAL';
  // (area->num_accesses -> -EINVAL: the model's only accesses, an emulated device's, pin no pages)
  // iopt_area_split(), drivers/iommu/iommufd/io_pagetable.c: "not permitted if a domain could have been mapped with huge pages" (area->storage_domain
  // is set while the IOAS has a domain) -> -EINVAL
  if (hugePages(ioas) && domainKinds(ctx.state, fd, ioas.id).length > 0) return 'EINVAL';
  const part = (start: bigint, length: bigint, hpa: bigint): void => {
    ctx.emit({ kind: 'ioas-map', fd, ioas: ioas.id, iova: Number(start), length: Number(length), hpa: Number(hpa), write: area.write, ...(area.writable !== area.write ? { writable: area.writable } : {}) });
  };
  part(area.start, offset, area.hpa);
  part(newStart, area.last - iova, area.hpa + offset);
  return null;
}

/** iommufd_ioas_destroy(), ioas.c: iopt_unmap_all() before the table goes. No domain is left to flush. */
export function ioasDestroyAreas(ctx: Ctx, o: IommufdCell): void {
  if (o.type !== 'IOAS') return;
  for (const area of areas(ctx.state, o.fd, o.id)) {
    ctx.emit({ kind: 'ioas-map', fd: o.fd, ioas: o.id, iova: Number(area.start), length: Number(area.length), hpa: null, write: false });
  }
}

// ---------------------------------------------------------------- IOMMU_IOAS_COPY

/** iommufd_ioas_copy(), drivers/iommu/iommufd/ioas.c: map the pages under a source range again, in another (or the same) IOAS. */
export function ioasCopy(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const flags = flagsOf(a.flags);
  const length = u64(a.length) ?? 0n;
  const srcIova = u64(a.src_iova) ?? 0n;
  const dstIova = u64(a.dst_iova) ?? 0n;
  if (flags & ~MAP_FLAGS) return err('EOPNOTSUPP');
  if (length >= U64_MAX || srcIova >= U64_MAX || dstIova >= U64_MAX) return err('EOVERFLOW');
  if (!(flags & (WRITE | READ))) return err('EINVAL');
  const src = getObject(state, fd, a.src_ioas_id, 'IOAS');
  if (!src) return err('ENOENT');
  // iopt_get_pages(), io_pagetable.c: contiguous areas must cover [src_iova, last]
  if (length === 0n) return err('EINVAL');
  const last = srcIova + length - 1n;
  if (last > U64_MAX) return err('EOVERFLOW');
  const elms: PagesElm[] = [];
  const srcAreas = areas(state, fd, src.id);
  let cur = srcIova;
  for (;;) {
    const area = srcAreas.find((x) => x.start <= cur && cur <= x.last);
    if (!area) return err('ENOENT');
    const end = last < area.last ? last : area.last;
    elms.push({ hpa: area.hpa + (cur - area.start), length: end - cur + 1n, writable: area.writable });
    if (end === last) break;
    cur = end + 1n;
  }
  const dst = getObject(state, fd, a.dst_ioas_id, 'IOAS');
  if (!dst) return err('ENOENT');
  const r = mapPages(ctx, fd, dst, elms, length, dstIova, flags);
  if (typeof r === 'string') return err(r);
  return done({ dst_iova: outInt(r) }, valueOf(r));
}

// ---------------------------------------------------------------- IOMMU_IOAS_IOVA_RANGES

/** The holes of the IOAS's reserved tree over [0, ULONG_MAX], ascending (interval_tree_for_each_span() is_hole). */
export const usableRanges = (state: State, fd: string, ioas: IommufdCell): Range[] => holes(reservedRanges(state, fd, ioas), 0n, U64_MAX);

/** iommufd_ioas_iova_ranges(), drivers/iommu/iommufd/ioas.c: the holes of the reserved tree over [0, ULONG_MAX]. */
export function ioasIovaRanges(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  if (flagsOf(a.__reserved) !== 0n) return err('EOPNOTSUPP');
  const ioas = getObject(state, fd, a.ioas_id, 'IOAS');
  if (!ioas) return err('ENOENT');
  const max = u64(a.num_iovas) ?? 0n;
  const all = usableRanges(state, fd, ioas);
  const written: Args[] = all.slice(0, Number(max < BigInt(all.length) ? max : BigInt(all.length)))
    .map((r) => ({ start: outInt(r.start), last: outInt(r.last) }));
  const out = { num_iovas: all.length, out_iova_alignment: outInt(iovaAlignment(state, fd, ioas)), allowed_iovas: written };
  // The answer is written back, then a buffer too small for every range is -EMSGSIZE
  if (BigInt(all.length) > max) return err('EMSGSIZE', out);
  return done(out);
}

// ---------------------------------------------------------------- IOMMU_IOAS_ALLOW_IOVAS

/** iommufd_ioas_allow_iovas(), drivers/iommu/iommufd/ioas.c → iopt_set_allow_iova(), io_pagetable.c. */
export function ioasAllowIovas(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  if (flagsOf(a.__reserved) !== 0n) return err('EOPNOTSUPP');
  const ioas = getObject(state, fd, a.ioas_id, 'IOAS');
  if (!ioas) return err('ENOENT');
  const list = Array.isArray(a.allowed_iovas) ? a.allowed_iovas : [];
  const num = u64(a.num_iovas) ?? BigInt(list.length);
  // iommufd_ioas_load_iovas()
  const next: Range[] = [];
  for (let i = 0n; i < num; i++) {
    const e = list[Number(i)];
    const start = e !== null && typeof e === 'object' && !Array.isArray(e) ? u64(e.start) : undefined;
    const last = e !== null && typeof e === 'object' && !Array.isArray(e) ? u64(e.last) : undefined;
    // copy_from_user() past the array the scenario gave (num_iovas > its length): the model's EFAULT
    if (start === undefined || last === undefined) return err('EFAULT');
    if (start >= last) return err('EINVAL');
    if (intersects(next, start, last)) return err('EINVAL');
    next.push({ start, last });
  }
  // iopt_set_allow_iova(): atomic; an allowed range over a reserved one is -EADDRINUSE and the old set stays
  const reserved = reservedRanges(state, fd, ioas);
  if (next.some((r) => intersects(reserved, r.start, r.last))) return err('EADDRINUSE');
  next.sort((x, y) => (x.start < y.start ? -1 : 1));
  const attrs = { ...ioas.attrs };
  if (next.length === 0) delete attrs.allowed;
  else attrs.allowed = formatRanges(next);
  if (attrs.allowed !== ioas.attrs.allowed) update(ctx, ioas, ioas.refs, attrs);
  return done();
}

// ---------------------------------------------------------------- reserved ranges from other objects

/**
 * iopt_reserve_iova(), io_pagetable.c: a reserved range may not cover an area or an allowed range. Used
 * for every reservation the kernel adds: a domain's outside-aperture, a device's regions, the selftest's.
 */
function reserveProblem(state: State, fd: string, ioas: IommufdCell, start: bigint, last: bigint): Errno | null {
  // iopt_reserve_iova(): an area or an allowed range in the way -> -EADDRINUSE
  if (areaIn(state, fd, ioas.id, start, last) || intersects(allowedOf(ioas), start, last)) return 'EADDRINUSE';
  return null;
}

/**
 * iopt_table_add_domain(), io_pagetable.c: whether a new paging domain of the given driver and stage can
 * join the IOAS (called by HWPT_PAGING allocation, iommufd_hwpt_paging_alloc(), before the HWPT is
 * created; `stage` defaults to the first stage every automatic domain is built as).
 * The alignment grows to the domain's smallest page (areas that do not conform: -EADDRINUSE; a page above
 * PAGE_SIZE: -EINVAL), then everything outside the aperture is reserved (-EADDRINUSE over an area or an
 * allowed range).
 */
export function ioptCanAddDomain(state: State, fd: string, ioasId: number, driver: Driver, stage: Stage = 'first'): Errno | null {
  const ioas = getObject(state, fd, ioasId, 'IOAS');
  if (!ioas) return 'ENOENT';
  const g = geometryOf(`${driver}/${stage}`);
  const cur = iovaAlignment(state, fd, ioas);
  const next = maxBig(g.minPage, cur);
  if (next > PAGE_SIZE) return 'EINVAL';
  if (next !== cur) {
    const e = alignmentProblem(state, fd, ioas, next);
    if (e) return e;
  }
  if (g.apertureStart !== 0n) {
    const e = reserveProblem(state, fd, ioas, 0n, g.apertureStart - 1n);
    if (e) return e;
  }
  if (g.apertureEnd !== U64_MAX) {
    // iopt_table_add_domain(), drivers/iommu/iommufd/io_pagetable.c: reserve above aperture_end (iopt_reserve_iova(): -EADDRINUSE)
    const e = reserveProblem(state, fd, ioas, g.apertureEnd + 1n, U64_MAX);
    if (e) return e;
  }
  return null;
}

/**
 * iopt_table_enforce_dev_resv_regions(), io_pagetable.c: whether attaching `rid` by RID to a HWPT on the
 * IOAS can reserve its driver's regions (iommufd_hw_pagetable_attach() → iommufd_device_attach_reserved_iova(),
 * device.c). -EADDRINUSE when an area or an allowed range covers one of them.
 */
export function ioptCanReserveDevice(state: State, fd: string, ioasId: number, rid: Rid): Errno | null {
  const ioas = getObject(state, fd, ioasId, 'IOAS');
  if (!ioas) return 'ENOENT';
  for (const r of resvRegionsOf(state, rid)) {
    const e = reserveProblem(state, fd, ioas, r.start, r.last);
    if (e) return e;
  }
  return null;
}

/**
 * iopt_add_access(), io_pagetable.c: whether an access with iova_alignment PAGE_SIZE can join the IOAS
 * (iommufd_access_change_ioas(), device.c). iopt_calculate_iova_alignment(): when that raises the IOAS's
 * alignment, every area must conform (-EADDRINUSE).
 */
export function ioptCanAddAccess(state: State, fd: string, ioas: IommufdCell): Errno | null {
  if (PAGE_SIZE > iovaAlignment(state, fd, ioas)) return alignmentProblem(state, fd, ioas, PAGE_SIZE);
  return null;
}

/** iopt_check_iova_alignment(), io_pagetable.c: every area's IOVA, length and page offset conform. */
function alignmentProblem(state: State, fd: string, ioas: IommufdCell, align: bigint): Errno | null {
  const mask = align - 1n;
  for (const x of areas(state, fd, ioas.id)) if ((x.start & mask) || (x.length & mask) || ((x.hpa % PAGE_SIZE) & mask)) return 'EADDRINUSE';
  return null;
}

/**
 * IOMMU_TEST_OP_ADD_RESERVED: iommufd_test_add_reserved(), drivers/iommu/iommufd/selftest.c
 * (CONFIG_IOMMUFD_TEST): reserve [start, start+length-1] in the IOAS, owner NULL.
 */
export function testAddReserved(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const start = u64(a.start) ?? 0n;
  const length = u64(a.length) ?? 0n;
  if (length === 0n) return err('EINVAL');
  const last = start + length - 1n;
  if (last > U64_MAX) return err('EOVERFLOW');
  const ioas = getObject(ctx.state, fd, a.id, 'IOAS');
  if (!ioas) return err('ENOENT');
  const e = reserveProblem(ctx.state, fd, ioas, start, last);
  if (e) return err(e);
  const mine = [...parseRanges(ioas.attrs.reserved), { start, last }];
  update(ctx, ioas, ioas.refs, { ...ioas.attrs, reserved: formatRanges(mine) });
  return done();
}

// ---------------------------------------------------------------- IOMMU_OPTION

/** iommufd_option_rlimit_mode(), drivers/iommu/iommufd/ioas.c. The model's user is root (CAP_SYS_RESOURCE). */
export function optionRlimitMode(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  if (flagsOf(a.object_id) !== 0n) return err('EOPNOTSUPP');
  const op = u64(a.op) ?? 0n;
  const mode = ctx.state.s['iommufd-ctx'][fd]?.accountMode ?? 'user';
  if (op === BigInt(IOMMU_OPTION_OP_GET)) return done({ val64: mode === 'mm' ? 1 : 0 });
  if (op === BigInt(IOMMU_OPTION_OP_SET)) {
    // iommufd_option_rlimit_mode(): capable(CAP_SYS_RESOURCE) (EPERM otherwise), then no object may exist yet
    if (hasObjects(ctx.state, fd)) return err('EBUSY');
    const val = u64(a.val64) ?? 0n;
    if (val !== 0n && val !== 1n) return err('EINVAL');
    const next = val === 1n ? 'mm' : 'user';
    if (next !== mode) ctx.emit({ kind: 'iommufd-ctx', fd, accountMode: next });
    return done({ val64: Number(val) });
  }
  return err('EOPNOTSUPP');
}

/** iommufd_ioas_option() + iommufd_ioas_option_huge_pages(), drivers/iommu/iommufd/ioas.c. */
export function optionHugePages(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  if (flagsOf(a.__reserved) !== 0n) return err('EOPNOTSUPP');
  const ioas = getObject(state, fd, a.object_id ?? 0, 'IOAS');
  if (!ioas) return err('ENOENT');
  const op = u64(a.op) ?? 0n;
  if (op === BigInt(IOMMU_OPTION_OP_GET)) return done({ val64: hugePages(ioas) ? 1 : 0 });
  if (op !== BigInt(IOMMU_OPTION_OP_SET)) return err('EOPNOTSUPP');
  const val = u64(a.val64) ?? 0n;
  if (val === 1n) {
    // iopt_enable_large_pages(): the alignment may drop back
    if (!hugePages(ioas)) update(ctx, ioas, ioas.refs, withoutKey(ioas.attrs, 'hugePages'));
    return done({ val64: 1 });
  }
  if (val !== 0n) return err('EINVAL');
  const e = disableLargePages(ctx, fd, ioas);
  if (e) return err(e);
  return done({ val64: 0 });
}

/** iopt_disable_large_pages(), io_pagetable.c (IOMMU_OPTION HUGE_PAGES 0, and VFIO_SET_IOMMU VFIO_TYPE1_IOMMU). */
export function disableLargePages(ctx: Ctx, fd: string, ioas: IommufdCell): Errno | null {
  const state = ctx.state;
  if (!hugePages(ioas)) return null;
  // iopt_disable_large_pages(), drivers/iommu/iommufd/io_pagetable.c: won't do it if domains already have pages mapped in them -> -EINVAL
  if (domainKinds(state, fd, ioas.id).length > 0 && areaIn(state, fd, ioas.id, 0n, U64_MAX)) return 'EINVAL';
  // iopt_calculate_iova_alignment(): at least PAGE_SIZE now; a misaligned area refuses the upgrade
  const cur = iovaAlignment(state, fd, ioas);
  if (PAGE_SIZE > cur) {
    const e = alignmentProblem(state, fd, ioas, PAGE_SIZE);
    if (e) return e;
  }
  update(ctx, ioas, ioas.refs, { ...ioas.attrs, hugePages: false });
  return null;
}

function withoutKey(attrs: IommufdCell['attrs'], key: string): IommufdCell['attrs'] {
  const out = { ...attrs };
  delete out[key];
  return out;
}

export const IOAS_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_IOAS_ALLOC: { file: 'iommufd', nr: 0x81, args: { flags: 'int?' }, run: (ctx, f, a) => ioasAlloc(ctx, f, a) },
  IOMMU_IOAS_ALLOW_IOVAS: { file: 'iommufd', nr: 0x82, args: { ioas_id: 'int', num_iovas: 'int?', __reserved: 'int?', allowed_iovas: 'list?' }, run: (ctx, f, a) => ioasAllowIovas(ctx, f, a) },
  IOMMU_IOAS_COPY: { file: 'iommufd', nr: 0x83, args: { flags: 'int', dst_ioas_id: 'int', src_ioas_id: 'int', length: 'u64', dst_iova: 'u64?', src_iova: 'u64' }, run: (ctx, f, a) => ioasCopy(ctx, f, a) },
  IOMMU_IOAS_IOVA_RANGES: { file: 'iommufd', nr: 0x84, args: { ioas_id: 'int', num_iovas: 'int?', __reserved: 'int?' }, run: (ctx, f, a) => ioasIovaRanges(ctx, f, a) },
  IOMMU_IOAS_MAP: { file: 'iommufd', nr: 0x85, args: { ioas_id: 'int', flags: 'int?', __reserved: 'int?', user_va: 'u64', length: 'u64', iova: 'u64?' }, run: (ctx, f, a) => ioasMap(ctx, f, a) },
  IOMMU_IOAS_UNMAP: { file: 'iommufd', nr: 0x86, args: { ioas_id: 'int', iova: 'u64', length: 'u64' }, run: (ctx, f, a) => ioasUnmap(ctx, f, a) },
  // The selftest's IOMMU_TEST_CMD (nr 0xa0) op IOMMU_TEST_OP_ADD_RESERVED (CONFIG_IOMMUFD_TEST kernels only).
  IOMMU_TEST_OP_ADD_RESERVED: { file: 'iommufd', args: { id: 'int', start: 'u64', length: 'u64' }, run: (ctx, f, a) => testAddReserved(ctx, f, a) },
};
