// Which cached lines an invalidation descriptor drops. Shared by the decision
// logic (to report how many entries a descriptor dropped) and by apply (to drop
// them), so the count in the event is always what apply removes.
//
// Selective descriptors (a page range in one DID and PASID) look their lines
// up directly; a live run answers wider ones from an index of the lines.
import { slashPrefixes, WHOLE_SECTION_KEY } from './indexes.js';
import { k, page, sourceId } from './keys.js';
import type { EventOf, SectionName, State } from './types.js';

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

type Indexed = 'iotlb' | 'atc';

/**
 * The IOTLB and ATC lines of a live run, indexed so that a wide descriptor
 * costs the lines it drops, not the whole cache: 65 536 filled lines made
 * every domain- or range-wide invalidation a pass over all of them, and a
 * file of such invalidations took minutes. For each leaf prefix (the key up
 * to its page: "dmar0/3/5/", "00:02.0/5/") the pages cached under it, sorted;
 * for each shorter prefix a descriptor can name ("dmar0/", "dmar0/3/",
 * "00:02.0/") the leaf prefixes under it. Kept by the run's Ctx through the
 * touch of every cell apply() writes; a state without one (a replay) scans
 * the section instead. Both find the same victims (only their order differs,
 * and nothing depends on it: the event carries their count, the state hash is
 * a sum over cells, deleting leaves the other keys' order as it was).
 */
interface LineIndex {
  pages: Map<string, number[]>;
  leaves: Map<string, Set<string>>;
  /**
   * PASID-cache entries (key iommu/rid/pasid) by what a 0x7 descriptor
   * selects: for each key prefix ending in '/', the keys under it, and those
   * of one DID, one PASID (the key's last number), or both (pcTags()).
   */
  pc: Map<string, Set<string>>;
  pcTags: Map<string, string[]>;
}
const LINES = new WeakMap<State, LineIndex>();

/** First index in the sorted `a` whose value is >= x. */
function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Start indexing the cache lines of `state` (the lines it holds now, in one
 * pass); the returned hook must see every cell written from then on (pass it
 * as, or inside, apply()'s touch). A replayer may do the same for a state it
 * restored from a checkpoint, so that applying an invalidation costs what it
 * drops there too.
 */
export function indexCacheLines(state: State): (section: SectionName, key: string) => void {
  const index: LineIndex = { pages: new Map(), leaves: new Map(), pc: new Map(), pcTags: new Map() };
  LINES.set(state, index);
  const hook = (section: SectionName, key: string): void => {
    if (section === 'pasid-cache') { retagPasidCache(index, key, state.s['pasid-cache'][key]?.did); return; }
    if (section !== 'iotlb' && section !== 'atc') return;
    const cut = key.lastIndexOf('/') + 1;
    const leaf = `${section}:${key.slice(0, cut)}`;
    const pg = Number(key.slice(cut));
    const present = state.s[section][key] !== undefined;
    let pages = index.pages.get(leaf);
    const at = pages ? lowerBound(pages, pg) : 0;
    const known = pages !== undefined && pages[at] === pg;
    if (present === known) return;
    if (present) {
      if (!pages) {
        index.pages.set(leaf, (pages = []));
        for (let i = key.indexOf('/'); i !== -1 && i < cut - 1; i = key.indexOf('/', i + 1)) {
          const upper = `${section}:${key.slice(0, i + 1)}`;
          let set = index.leaves.get(upper);
          if (!set) index.leaves.set(upper, (set = new Set()));
          set.add(leaf);
        }
      }
      pages.splice(at, 0, pg);
    } else if (pages) {
      pages.splice(at, 1);
      if (pages.length === 0) {
        index.pages.delete(leaf);
        for (let i = key.indexOf('/'); i !== -1 && i < cut - 1; i = key.indexOf('/', i + 1)) {
          const upper = `${section}:${key.slice(0, i + 1)}`;
          const set = index.leaves.get(upper);
          set?.delete(leaf);
          if (set?.size === 0) index.leaves.delete(upper);
        }
      }
    }
  };
  for (const name of ['iotlb', 'atc', 'pasid-cache'] as const) for (const key in state.s[name]) hook(name, key);
  return hook;
}

/** `p`, `p\0d<did>`, `p\0p<pasid>`, `p\0d<did>\0p<pasid>` for every prefix p of the key: what pasidCacheVictims() selects by. */
function pcTags(key: string, did: number | undefined): string[] {
  if (did === undefined) return [];
  const pasid = lastNumber(key);
  const out: string[] = [];
  for (const p of slashPrefixes(key)) {
    out.push(p);
    if (!Number.isNaN(did)) out.push(`${p}\0d${did}`);
    if (!Number.isNaN(pasid)) out.push(`${p}\0p${pasid}`);
    if (!Number.isNaN(did) && !Number.isNaN(pasid)) out.push(`${p}\0d${did}\0p${pasid}`);
  }
  return out;
}

function retagPasidCache(index: LineIndex, key: string, did: number | undefined): void {
  const next = pcTags(key, did);
  const old = index.pcTags.get(key) ?? [];
  if (old.length === next.length && old.every((t, i) => t === next[i])) return;
  for (const t of old) { const set = index.pc.get(t); set?.delete(key); if (set?.size === 0) index.pc.delete(t); }
  for (const t of next) { let set = index.pc.get(t); if (!set) index.pc.set(t, (set = new Set())); set.add(key); }
  if (next.length > 0) index.pcTags.set(key, next); else index.pcTags.delete(key);
}

/** The keys under `prefix` whose page is in [addr's page, + npages), or every key under it when addr is null. */
function scan(state: State, name: Indexed, prefix: string, addr: number | null, npages: number | null): string[] {
  const out: string[] = [];
  const index = LINES.get(state);
  if (index) {
    // What the scan below tells a state that records its reads (explore/): the whole section (engine/indexes.ts, WHOLE_SECTION_KEY).
    void (state.s[name] as Record<string, unknown>)[WHOLE_SECTION_KEY];
    const whole = `${name}:${prefix}`;
    const leaves = index.pages.has(whole) ? [whole] : index.leaves.get(whole) ?? [];
    const first = addr === null ? -Infinity : page(addr);
    const end = addr === null ? Infinity : first + (npages ?? 1);
    for (const leaf of leaves) {
      const pages = index.pages.get(leaf) ?? [];
      const base = leaf.slice(name.length + 1);
      for (let i = addr === null ? 0 : lowerBound(pages, first); i < pages.length && (pages[i] as number) < end; i++) out.push(`${base}${pages[i]}`);
    }
    return out;
  }
  const section = state.s[name];
  for (const key in section) if (key.startsWith(prefix) && inRange(lastNumber(key), addr, npages)) out.push(key);
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
  if (q.granularity !== 'page') return scan(state, 'iotlb', prefix, null, null);
  // Page-selective without a PASID (0x2): every PASID of the domain.
  return scan(state, 'iotlb', prefix, q.addr, q.npages);
}

/** PASID cache (key iommu/rid/pasid): 0x7 descriptor, domain / PASID-selective / global. */
export function pasidCacheVictims(state: State, q: Pick<EventOf<'pasid-cache-inval'>, 'iommu' | 'granularity' | 'did' | 'pasid'>): string[] {
  const known = remembered(state, q);
  if (known) return known;
  const pc = state.s['pasid-cache'];
  const prefix = `${q.iommu}/`;
  const byDid = q.granularity !== 'global' && q.did !== null;
  const byPasid = q.granularity === 'pasid';
  const index = LINES.get(state);
  if (index) {
    // The entries the loop below keeps, from the index (the order differs; nothing depends on it, as for scan()).
    void (pc as Record<string, unknown>)[WHOLE_SECTION_KEY];
    if ((byDid && Number.isNaN(q.did)) || (byPasid && (q.pasid === null || Number.isNaN(q.pasid)))) return [];
    return [...(index.pc.get(`${prefix}${byDid ? `\0d${q.did}` : ''}${byPasid ? `\0p${q.pasid}` : ''}`) ?? [])];
  }
  const out: string[] = [];
  for (const key in pc) {
    if (!key.startsWith(prefix)) continue;
    if (q.granularity !== 'global' && q.did !== null && pc[key]?.did !== q.did) continue;
    if (q.granularity !== 'pasid' || lastNumber(key) === q.pasid) out.push(key);
  }
  return out;
}

/**
 * Context cache (key iommu/rid): 0x1 descriptor. Device-selective drops the
 * RIDs whose source id matches once the function-mask low bits are ignored
 * (FM 0: one function, 1/2/3: ignore 1/2/3 low bits of the function, VT-d spec 6.5.2.1).
 */
export function contextCacheVictims(state: State, q: Pick<EventOf<'context-cache-inval'>, 'iommu' | 'granularity' | 'did' | 'rid' | 'fm'>): string[] {
  const cc = state.s['context-cache'];
  const prefix = `${q.iommu}/`;
  const want = q.rid === null ? -1 : sourceId(q.rid);
  const mask = ~((1 << (q.fm ?? 0)) - 1) & 0xffff;
  const out: string[] = [];
  for (const key in cc) {
    if (!key.startsWith(prefix)) continue;
    if (q.granularity === 'domain' && cc[key]?.did !== q.did) continue;
    if (q.granularity === 'device' && (sourceId(key.slice(prefix.length)) & mask) !== (want & mask)) continue;
    out.push(key);
  }
  return out;
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
  if (q.granularity !== 'page') return scan(state, 'atc', prefix, null, null);
  return scan(state, 'atc', prefix, q.addr, q.npages);
}

