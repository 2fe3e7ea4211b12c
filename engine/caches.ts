// Which cached lines an invalidation descriptor drops. Shared by the decision
// logic (to report how many entries a descriptor dropped) and by apply (to drop
// them), so the count in the event is always what apply removes.
//
// Selective descriptors (a page range in one DID and PASID) look their lines
// up directly; only wider ones scan the section, and then by key prefix.
import { k, page } from './keys.js';
import type { EventOf, State } from './types.js';

/**
 * The victims the decision logic just computed for the descriptor it is about
 * to emit, so that `apply` of that very event (object identity, same state,
 * nothing applied in between: Ctx.emit applies at once) does not compute
 * them a second time. Replaying through `apply` alone never finds a match
 * and computes them as before.
 */
let memo: { state: State | null; ev: object | null; victims: string[] } = { state: null, ev: null, victims: [] };

export function rememberVictims(state: State, ev: object, victims: string[]): number {
  memo = { state, ev, victims };
  return victims.length;
}

function remembered(state: State, q: object): string[] | null {
  if (memo.ev !== q || memo.state !== state) return null;
  const v = memo.victims;
  memo = { state: null, ev: null, victims: [] };
  return v;
}

/** Ranges up to this many pages are looked up line by line instead of scanned. */
const DIRECT_PAGES = 512;

function* pagesOf(addr: number, npages: number | null): Generator<number> {
  const first = page(addr);
  for (let i = 0; i < (npages ?? 1); i++) yield first + i;
}

function inRange(pg: number, addr: number | null, npages: number | null): boolean {
  if (addr === null) return true;
  const first = page(addr);
  return pg >= first && pg < first + (npages ?? 1);
}

/** The number after the last '/' of a key. */
const lastNumber = (key: string): number => Number(key.slice(key.lastIndexOf('/') + 1));

function scan(section: Record<string, unknown>, prefix: string, keep: (key: string) => boolean): string[] {
  const out: string[] = [];
  for (const key in section) if (key.startsWith(prefix) && keep(key)) out.push(key);
  return out;
}

type IotlbQuery = Pick<EventOf<'iotlb-inval'>, 'iommu' | 'granularity' | 'did' | 'pasid' | 'addr' | 'npages'>;

/**
 * IOTLB (key iommu/did/pasid/page). VT-d descriptors: 0x2 IOTLB
 * (global / domain / page-selective), 0x6 PASID-based IOTLB (all-in-PASID /
 * page-in-PASID).
 */
export function iotlbVictims(state: State, q: IotlbQuery): string[] {
  const known = remembered(state, q);
  if (known) return known;
  const tlb = state.s.iotlb;
  const byDid = q.granularity !== 'global' && q.did !== null;
  const byPasid = byDid && (q.granularity === 'pasid' || q.granularity === 'page') && q.pasid !== null;
  if (byPasid && q.granularity === 'page' && q.addr !== null && (q.npages ?? 1) <= DIRECT_PAGES) {
    const out: string[] = [];
    for (const pg of pagesOf(q.addr, q.npages)) {
      const key = k.iotlb(q.iommu, q.did ?? 0, q.pasid ?? 0, pg);
      if (tlb[key]) out.push(key);
    }
    return out;
  }
  const prefix = byPasid ? `${q.iommu}/${q.did}/${q.pasid}/` : byDid ? `${q.iommu}/${q.did}/` : `${q.iommu}/`;
  if (q.granularity !== 'page') return scan(tlb, prefix, () => true);
  // Page-selective without a PASID (0x2): every PASID of the domain.
  return scan(tlb, prefix, (key) => inRange(lastNumber(key), q.addr, q.npages));
}

/** PASID cache (key iommu/rid/pasid): 0x7 descriptor, domain / PASID-selective / global. */
export function pasidCacheVictims(state: State, q: Pick<EventOf<'pasid-cache-inval'>, 'iommu' | 'granularity' | 'did' | 'pasid'>): string[] {
  const known = remembered(state, q);
  if (known) return known;
  const pc = state.s['pasid-cache'];
  return scan(pc, `${q.iommu}/`, (key) => {
    if (q.granularity !== 'global' && q.did !== null && pc[key]?.did !== q.did) return false;
    return q.granularity !== 'pasid' || lastNumber(key) === q.pasid;
  });
}

/** Device TLB (key rid/pasid/page): 0x3 device-IOTLB, 0x8 PASID-based device-IOTLB, SMMU ATC_INV. */
export function atcVictims(state: State, q: Pick<EventOf<'atc-inval'>, 'rid' | 'granularity' | 'pasid' | 'addr' | 'npages'>): string[] {
  const known = remembered(state, q);
  if (known) return known;
  const atc = state.s.atc;
  const byPasid = q.granularity !== 'all' && q.pasid !== null;
  if (byPasid && q.granularity === 'page' && q.addr !== null && (q.npages ?? 1) <= DIRECT_PAGES) {
    const out: string[] = [];
    for (const pg of pagesOf(q.addr, q.npages)) {
      const key = k.atc(q.rid, q.pasid ?? 0, pg);
      if (atc[key]) out.push(key);
    }
    return out;
  }
  const prefix = byPasid ? `${q.rid}/${q.pasid}/` : `${q.rid}/`;
  if (q.granularity !== 'page') return scan(atc, prefix, () => true);
  return scan(atc, prefix, (key) => inRange(lastNumber(key), q.addr, q.npages));
}

