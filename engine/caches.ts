// Which cached lines an invalidation descriptor drops. Shared by the decision
// logic (to report how many entries a descriptor dropped) and by apply (to drop
// them), so the count in the event is always what apply removes.
import { PAGE_SIZE, page, parts } from './keys.js';
import type { EventOf, State } from './types.js';

function inRange(pg: number, addr: number | null, npages: number | null): boolean {
  if (addr === null) return true;
  const first = page(addr);
  return pg >= first && pg < first + (npages ?? 1);
}

/**
 * IOTLB (key iommu/did/pasid/page). VT-d descriptors: 0x2 IOTLB
 * (global / domain / page-selective), 0x6 PASID-based IOTLB (all-in-PASID /
 * page-in-PASID).
 */
export function iotlbVictims(state: State, ev: Pick<EventOf<'iotlb-inval'>, 'iommu' | 'granularity' | 'did' | 'pasid' | 'addr' | 'npages'>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(state.s.iotlb)) {
    const [iommu, did, pasid, pg] = parts(key);
    if (iommu !== ev.iommu) continue;
    if (ev.granularity !== 'global' && ev.did !== null && Number(did) !== ev.did) continue;
    if ((ev.granularity === 'pasid' || (ev.granularity === 'page' && ev.pasid !== null)) && Number(pasid) !== ev.pasid) continue;
    if (ev.granularity === 'page' && !inRange(Number(pg), ev.addr, ev.npages)) continue;
    out.push(key);
  }
  return out;
}

/** PASID cache (key iommu/rid/pasid): 0x7 descriptor, domain / PASID-selective / global. */
export function pasidCacheVictims(state: State, ev: Pick<EventOf<'pasid-cache-inval'>, 'iommu' | 'granularity' | 'did' | 'pasid'>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(state.s['pasid-cache'])) {
    const [iommu, , pasid] = parts(key);
    if (iommu !== ev.iommu) continue;
    const cell = state.s['pasid-cache'][key];
    if (ev.granularity !== 'global' && ev.did !== null && cell?.did !== ev.did) continue;
    if (ev.granularity === 'pasid' && Number(pasid) !== ev.pasid) continue;
    out.push(key);
  }
  return out;
}

/** Device TLB (key rid/pasid/page): 0x3 device-IOTLB, 0x8 PASID-based device-IOTLB, SMMU ATC_INV. */
export function atcVictims(state: State, ev: Pick<EventOf<'atc-inval'>, 'rid' | 'granularity' | 'pasid' | 'addr' | 'npages'>): string[] {
  const out: string[] = [];
  const prefix = `${ev.rid}/`;
  for (const key of Object.keys(state.s.atc)) {
    if (!key.startsWith(prefix)) continue;
    const [, pasid, pg] = parts(key);
    if (ev.granularity !== 'all' && ev.pasid !== null && Number(pasid) !== ev.pasid) continue;
    if (ev.granularity === 'page' && !inRange(Number(pg), ev.addr, ev.npages)) continue;
    out.push(key);
  }
  return out;
}

export const pageBase = (pg: number): number => pg * PAGE_SIZE;
