// Physical memory owners and page tables (process mm, guest first-level
// tables in GPA space, host second-level tables).
import type { Ctx } from './ctx.js';
import { allocIndex, pagesIn } from './indexes.js';
import { k, page, PAGE_SIZE } from './keys.js';
import { MAX_PT_ENTRIES, MAX_PT_MAP_PAGES, ScenarioRunError } from './limits.js';
import type { State } from './types.js';

/** Whether `pa` lies in the memory `owner` owns (one region per owner, keyed by owner). */
export function owns(state: State, owner: string, pa: number): boolean {
  const region = state.s.mem[owner];
  return region !== undefined && pa >= region.base && pa < region.base + region.size;
}

/** The owner of the memory region holding `pa`, or null when nobody owns it. */
export function memOwner(state: State, pa: number): string | null {
  for (const owner in state.s.mem) if (owns(state, owner, pa)) return owner;
  return null;
}

/** Pages a mapping of `size` bytes spans (at least one, as the ops have always counted). */
export const ptPages = (size: number): number => Math.max(1, Math.ceil(size / PAGE_SIZE));

/**
 * Map [addr, addr+size) -> [pa, pa+size) in the page table at `root`, creating
 * the root on first use. At most MAX_PT_MAP_PAGES pages (the validator refuses
 * a larger literal size; this catches one that came through a "$ref").
 */
export function ptMap(ctx: Ctx, root: number, owner: string, addr: number, pa: number, size: number, write: boolean): void {
  const pages = ptPages(size);
  if (pages > MAX_PT_MAP_PAGES) throw new ScenarioRunError(ctx.step, `pt-map of ${pages} pages, more than the ${MAX_PT_MAP_PAGES} one step may write; split it into several steps`);
  let fresh = 0;
  for (let i = 0; i < pages; i++) if (!ctx.state.s.pt[k.pt(root, page(addr) + i)]) fresh++;
  if (ctx.ptEntries + fresh > MAX_PT_ENTRIES) throw new ScenarioRunError(ctx.step, `pt-map would leave ${ctx.ptEntries + fresh} page-table entries present, more than the ${MAX_PT_ENTRIES} a run may hold; unmap some first`);
  ctx.ptEntries += fresh;
  const rootKey = String(root);
  if (!ctx.state.s['pt-root'][rootKey]) ctx.emit({ kind: 'pt-root', root, owner, ioas: null });
  for (let i = 0; i < pages; i++) {
    const pg = page(addr) + i;
    const before = ctx.state.s.pt[k.pt(root, pg)] ?? null;
    ctx.emit({ kind: 'pt-write', root, page: pg, before, after: { pa: pa + i * PAGE_SIZE, write } });
  }
}

/** Ranges up to this many pages are looked up page by page; wider ones walk the table's entries instead. */
const DIRECT_PAGES = 512;

/**
 * Clear the entries of [addr, addr+size) in ascending page order. Like the
 * kernel's unmap, which walks the page tables that exist, a wide range costs
 * what is mapped in the table, not the width of the range (a 2^53-byte unmap
 * of an empty table is one pass over no entries).
 */
export function ptUnmap(ctx: Ctx, root: number, addr: number, size: number): number {
  const pages = ptPages(size);
  const first = page(addr);
  let victims: number[];
  if (pages <= DIRECT_PAGES) {
    victims = [];
    for (let i = 0; i < pages; i++) if (ctx.state.s.pt[k.pt(root, first + i)]) victims.push(first + i);
  } else {
    const prefix = k.pt(root, 0).slice(0, -1);
    // A live run's index has the table's pages sorted (engine/indexes.ts): the unmap costs what it clears, not a pass over every table.
    const ix = allocIndex(ctx.state);
    const indexed = ix ? pagesIn(ix, 'pt', prefix, first, first + pages) : null;
    victims = indexed ?? [];
    if (!indexed) for (const key in ctx.state.s.pt) {
      if (!key.startsWith(prefix)) continue;
      const pg = Number(key.slice(prefix.length));
      if (pg >= first && pg < first + pages) victims.push(pg);
    }
    if (!indexed) victims.sort((a, b) => a - b);
  }
  for (const pg of victims) {
    const before = ctx.state.s.pt[k.pt(root, pg)];
    if (!before) continue;
    ctx.emit({ kind: 'pt-write', root, page: pg, before, after: null });
    ctx.ptEntries--;
  }
  return victims.length;
}
