// Dirty bits in iommufd HWPT_PAGING tables: the IOMMU sets one when a DMA
// write goes through a table whose A/D recording is on (VT-d: SSADE in the
// PASID entry, second-stage Dirty bit; SMMUv3: HTTU with DBM in the stage-1
// descriptors); IOMMU_HWPT_GET_DIRTY_BITMAP reads and clears them
// (engine/iommufd/hwpt.ts). Kept in the `dirty` section, key root/page.
import type { Ctx } from './ctx.js';
import { allocIndex, pagesIn, rootsOfIoas } from './indexes.js';
import { k, page, PAGE_SIZE } from './keys.js';
import type { Rid, State } from './types.js';

/**
 * The table and page a write through (rid, pasid) at addr dirties: the
 * second-stage table for second-level (PGTT 2) and nested (PGTT 3, at the
 * guest-physical page the first stage gave) entries, the first-stage table
 * itself for first-level (PGTT 1) ones. null when the entry has none.
 */
function dirtyTarget(state: State, rid: Rid, pasid: number, addr: number): { root: number; page: number } | null {
  const entry = state.s.pasid[k.pasid(rid, pasid)];
  if (!entry?.p) return null;
  if (entry.pgtt === 2) return { root: entry.slptptr, page: page(addr) };
  if (entry.pgtt === 1) return { root: entry.flptr, page: page(addr) };
  if (entry.pgtt === 3) {
    const first = state.s.pt[k.pt(entry.flptr, page(addr))];
    return first ? { root: entry.slptptr, page: page(first.pa) } : null;
  }
  return null;
}

/**
 * After a DMA write that succeeded: set the dirty bit of the page it wrote,
 * when the table records A/D and the bit is not set yet (the hardware writes
 * it once; reading the bitmap clears it and flushes the IOTLB so the next
 * write sets it again).
 */
export function recordDirty(ctx: Ctx, rid: Rid, pasid: number, addr: number): void {
  const state = ctx.state;
  const t = dirtyTarget(state, rid, pasid, addr);
  if (!t || !state.s['pt-root'][String(t.root)]?.dirty) return;
  if (state.s.dirty[k.pt(t.root, t.page)]) return;
  ctx.emit({ kind: 'dirty', root: t.root, page: t.page, rid, dirty: true });
}

/** The dirty pages of one table, in page order; only those in [lo, hi) when given (a superset of them on a bare state). */
export function dirtyPages(state: State, root: number, lo = 0, hi = Infinity): number[] {
  const prefix = `${root}/`;
  // A live run's index has each table's dirty pages sorted (engine/indexes.ts); a bare state scans.
  const ix = allocIndex(state);
  const indexed = ix ? pagesIn(ix, 'dirty', prefix, lo, hi) : null;
  if (indexed) return indexed;
  return Object.keys(state.s.dirty).filter((key) => key.startsWith(prefix)).map((key) => Number(key.slice(prefix.length))).sort((a, b) => a - b);
}

/** Clear dirty bits of a table in [iova, iova + length) (all when length is null); returns the pages cleared. */
export function clearDirty(ctx: Ctx, root: number, iova = 0, length: number | null = null): number[] {
  const inRange = (pg: number): boolean => length === null || (pg * PAGE_SIZE >= iova && pg * PAGE_SIZE < iova + length);
  // The pages the filter can keep, widened by one page each side against rounding: the filter decides.
  const bounded = length !== null && Number.isFinite(iova) && Number.isFinite(iova + length);
  const lo = bounded ? Math.max(0, Math.floor(iova / PAGE_SIZE) - 1) : 0;
  const hi = bounded ? Math.ceil((iova + (length as number)) / PAGE_SIZE) + 1 : Infinity;
  const cleared = dirtyPages(ctx.state, root, lo, hi).filter(inRange);
  for (const pg of cleared) ctx.emit({ kind: 'dirty', root, page: pg, rid: null, dirty: false });
  return cleared;
}

/** Turn the table's A/D recording on or off (the pt-root cell's `dirty`). */
export function setDirtyRecording(ctx: Ctx, root: number, on: boolean): void {
  const cell = ctx.state.s['pt-root'][String(root)];
  if (!cell || (cell.dirty === true) === on) return;
  ctx.emit({ kind: 'pt-root', root, owner: cell.owner, ioas: cell.ioas, ...(on ? { dirty: true } : {}) });
}

/**
 * An unmap of [iova, iova + length) from an IOAS takes the PTEs, and their
 * dirty bits, out of every HWPT_PAGING table over it (iopt_unmap_iova_range(),
 * io_pagetable.c): for the unmap path (engine/iommufd/ioas.ts) to call.
 */
export function dropDirtyUnmapped(ctx: Ctx, fd: string, ioas: number, iova: number, length: number): void {
  const want = `${fd}/${ioas}`;
  // A live run's index has the tables of each IOAS (engine/indexes.ts); a bare state filters every table root.
  const ix = allocIndex(ctx.state);
  const keys = ix ? [...rootsOfIoas(ix, want)] : Object.keys(ctx.state.s['pt-root']).filter((r) => ctx.state.s['pt-root'][r]?.ioas === want);
  const roots = keys.map(Number).sort((a, b) => a - b);
  for (const root of roots) clearDirty(ctx, root, iova, length);
}
