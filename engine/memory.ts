// Physical memory owners and page tables (process mm, guest first-level
// tables in GPA space, host second-level tables).
import type { Ctx } from './ctx.js';
import { k, page, PAGE_SIZE } from './keys.js';
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

/** Map [addr, addr+size) -> [pa, pa+size) in the page table at `root`, creating the root on first use. */
export function ptMap(ctx: Ctx, root: number, owner: string, addr: number, pa: number, size: number, write: boolean): void {
  const rootKey = String(root);
  if (!ctx.state.s['pt-root'][rootKey]) ctx.emit({ kind: 'pt-root', root, owner, ioas: null });
  const pages = Math.max(1, Math.ceil(size / PAGE_SIZE));
  for (let i = 0; i < pages; i++) {
    const pg = page(addr) + i;
    const before = ctx.state.s.pt[k.pt(root, pg)] ?? null;
    ctx.emit({ kind: 'pt-write', root, page: pg, before, after: { pa: pa + i * PAGE_SIZE, write } });
  }
}

export function ptUnmap(ctx: Ctx, root: number, addr: number, size: number): number {
  const pages = Math.max(1, Math.ceil(size / PAGE_SIZE));
  let n = 0;
  for (let i = 0; i < pages; i++) {
    const pg = page(addr) + i;
    const before = ctx.state.s.pt[k.pt(root, pg)];
    if (!before) continue;
    ctx.emit({ kind: 'pt-write', root, page: pg, before, after: null });
    n++;
  }
  return n;
}
