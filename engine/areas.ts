// The areas of an IOAS (`ioas-map`, key fd/ioas/iova): what iopt's area
// interval tree answers. A live run's index (engine/indexes.ts) keeps each
// IOAS's IOVAs sorted, so a DMA through a HWPT_PAGING, a FIXED_IOVA map, a
// reservation and a dirty-bitmap read find their area in O(log n) instead of
// a pass over every area of every IOAS; a state without the index scans.
// Areas of one IOAS never overlap (iopt_check_iova() and iopt_alloc_iova()
// refuse it, engine/iommufd/ioas.ts), so the area holding an address is the
// last one starting at or below it.
import { allocIndex, areaIovas } from './indexes.js';
import type { IoasMapCell, State } from './types.js';

export interface AreaCell { key: string; iova: number; cell: IoasMapCell }

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function at(state: State, prefix: string, iova: number | null): AreaCell | undefined {
  if (iova === null) return undefined;
  const key = `${prefix}${iova}`;
  const cell = state.s['ioas-map'][key];
  return cell ? { key, iova, cell } : undefined;
}

/** The areas under `prefix` (fd/ioas/), ascending by IOVA. */
export function areasUnder(state: State, prefix: string): AreaCell[] {
  const ix = allocIndex(state);
  const iovas = ix ? areaIovas(ix, prefix) : null;
  const out: AreaCell[] = [];
  if (iovas) {
    for (const iova of iovas.values()) { const a = at(state, prefix, iova); if (a) out.push(a); }
    return out;
  }
  for (const key of Object.keys(state.s['ioas-map'])) {
    if (!key.startsWith(prefix)) continue;
    const cell = state.s['ioas-map'][key];
    if (cell) out.push({ key, iova: Number(key.slice(prefix.length)), cell });
  }
  return out.sort((x, y) => (x.iova < y.iova ? -1 : x.iova > y.iova ? 1 : 0));
}

/**
 * The areas under `prefix` that intersect [start, last] (u64), ascending, from
 * the index: the last one starting at or below `start`, then those starting in
 * the range; null when the run keeps no index for the IOAS (the caller then
 * filters every area).
 */
export function areasIntersecting(state: State, prefix: string, start: bigint, last: bigint): AreaCell[] | null {
  const ix = allocIndex(state);
  const iovas = ix ? areaIovas(ix, prefix) : null;
  if (!iovas) return null;
  const num = (b: bigint): number => (b > MAX_SAFE ? Number.MAX_SAFE_INTEGER : Number(b));
  const out: AreaCell[] = [];
  const first = at(state, prefix, iovas.prev(num(start)));
  if (first && BigInt(first.iova) < start && BigInt(first.iova) + BigInt(first.cell.length) - 1n >= start) out.push(first);
  // IOVAs are safe integers here: those in [start, last] are the ones in [num(start), num(last) + 1)
  if (start <= MAX_SAFE) for (const iova of iovas.range(num(start), num(last) + 1)) { const a = at(state, prefix, iova); if (a) out.push(a); }
  return out;
}

/** The area under `prefix` that holds `addr`, or undefined. */
export function areaContaining(state: State, prefix: string, addr: number): AreaCell | undefined {
  const ix = allocIndex(state);
  const iovas = ix ? areaIovas(ix, prefix) : null;
  const holds = (a: AreaCell | undefined): boolean => a !== undefined && addr >= a.iova && addr < a.iova + a.cell.length;
  if (iovas) { const a = at(state, prefix, iovas.prev(addr)); return holds(a) ? a : undefined; }
  for (const key of Object.keys(state.s['ioas-map'])) {
    if (!key.startsWith(prefix)) continue;
    const cell = state.s['ioas-map'][key];
    const a = cell ? { key, iova: Number(key.slice(prefix.length)), cell } : undefined;
    if (holds(a)) return a;
  }
  return undefined;
}

/**
 * Whether an area under `prefix` intersects [start, last] (u64), from the
 * index: the last area starting at or below `last` is the only one that can;
 * null when the run keeps no index for the IOAS (the caller then checks every area).
 */
export function areaIntersects(state: State, prefix: string, start: bigint, last: bigint): boolean | null {
  const ix = allocIndex(state);
  const iovas = ix ? areaIovas(ix, prefix) : null;
  if (!iovas) return null;
  const a = at(state, prefix, iovas.prev(last > MAX_SAFE ? Number.MAX_SAFE_INTEGER : Number(last)));
  return a !== undefined && BigInt(a.iova) + BigInt(a.cell.length) - 1n >= start;
}
