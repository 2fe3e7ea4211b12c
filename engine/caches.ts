// Which cached lines an invalidation descriptor drops. Shared by the decision
// logic (to report how many entries a descriptor dropped) and by apply (to drop
// them), so the count in the event is always what apply removes.
//
// Selective descriptors (a page range in one DID and PASID) look their lines
// up directly; a live run answers wider ones from an index of the lines.
import type { Touch } from './apply.js';
import { slashPrefixes, WHOLE_SECTION_KEY } from './indexes.js';
import { k, page, sourceId } from './keys.js';
import type { EventOf, SectionName, State } from './types.js';

/**
 * Cache cells the victim lookups below have looked at (a line checked by a
 * scan, a page or key walked in the index): a replay that is linear in its
 * events keeps this linear too, which test/inval-cost.test.ts counts (a
 * count, unlike a time, does not depend on the machine).
 */
export const victimVisits = { cells: 0 };

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

/**
 * The victims remembered for `body` now belong to `ev`, the stamped copy of it
 * the importer applies next (importers/ctx.ts builds a new object per event);
 * any other event drops them, so they are never used once a write came between.
 */
export function rememberedAs(body: object, ev: object): void {
  memo = memo.ev === body ? { ...memo, ev } : { state: null, ev: null, victims: [] };
}

/** `body` with its `dropped` count, the victims kept for apply() of it (an importer's: see rememberedAs). */
export function dropping<T extends object>(state: State, body: T, victims: string[]): T & { dropped: number } {
  const ev = body as T & { dropped: number };
  ev.dropped = rememberVictims(state, ev, victims);
  return ev;
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
  /**
   * Context-cache entries (key iommu/rid) by what a 0x1 descriptor (or an SMMU
   * CFGI_STE*) selects: for each key prefix ending in '/', the keys under it,
   * and those of one DID or one source id of the rest (ccTags()); and, per
   * prefix, the source ids present, sorted (a CFGI_STE_RANGE's range).
   */
  cc: Map<string, Set<string>>;
  ccTags: Map<string, string[]>;
  ccSids: Map<string, number[]>;
  /**
   * IOTLB / ATC keys whose page is not a number as String() writes it (only
   * a forged trace has them: "007", "1e3", "NaN"): rebuilt from the index,
   * their key would differ, so while a section holds one it is scanned.
   */
  odd: Record<Indexed, Set<string>>;
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
  const index: LineIndex = { pages: new Map(), leaves: new Map(), pc: new Map(), pcTags: new Map(), cc: new Map(), ccTags: new Map(), ccSids: new Map(), odd: { iotlb: new Set(), atc: new Set() } };
  LINES.set(state, index);
  const hook = (section: SectionName, key: string): void => {
    if (section === 'pasid-cache') { retagPasidCache(index, key, state.s['pasid-cache'][key]?.did); return; }
    if (section === 'context-cache') { retagContextCache(index, key, state.s['context-cache'][key]); return; }
    if (section !== 'iotlb' && section !== 'atc') return;
    const cut = key.lastIndexOf('/') + 1;
    const leaf = `${section}:${key.slice(0, cut)}`;
    const pg = pageOf(key, cut);
    const present = state.s[section][key] !== undefined;
    if (pg === null) { if (present) index.odd[section].add(key); else index.odd[section].delete(key); return; }
    let pages = index.pages.get(leaf);
    const at = pages ? lowerBound(pages, pg) : 0;
    const known = pages !== undefined && pages[at] === pg;
    if (present === known) return;
    if (present) {
      if (!pages) index.pages.set(leaf, (pages = newLeaf(index, section, key, leaf)));
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
  // The lines held now, each leaf's pages sorted once (inserting them one by one in key order, which is not page order, costs a splice each).
  for (const name of ['iotlb', 'atc'] as const) {
    for (const key in state.s[name]) {
      const cut = key.lastIndexOf('/') + 1;
      const leaf = `${name}:${key.slice(0, cut)}`;
      const pg = pageOf(key, cut);
      if (pg === null) { index.odd[name].add(key); continue; }
      let pages = index.pages.get(leaf);
      if (!pages) index.pages.set(leaf, (pages = newLeaf(index, name, key, leaf)));
      pages.push(pg);
    }
  }
  for (const pages of index.pages.values()) pages.sort((a, b) => a - b);
  for (const key in state.s['pasid-cache']) hook('pasid-cache', key);
  for (const key in state.s['context-cache']) hook('context-cache', key);
  return hook;
}

/** The page of a cache-line key (its tail after `cut`) when the key is the one k.iotlb() / k.atc() would write for it, else null. */
function pageOf(key: string, cut: number): number | null {
  const tail = key.slice(cut);
  const pg = Number(tail);
  return Number.isNaN(pg) || String(pg) !== tail ? null : pg;
}

/**
 * Whether a descriptor's fields have the types the engine writes (a forged
 * trace's may not): only then does the index answer it; otherwise the scan
 * below does, whose comparisons define what such a descriptor drops.
 */
const plain = (q: Record<string, unknown>, nums: readonly string[], strs: readonly string[]): boolean =>
  nums.every((f) => q[f] === null || typeof q[f] === 'number') && strs.every((f) => typeof q[f] === 'string' || (f !== 'iommu' && q[f] === null));

/** An empty page list for a new leaf, entered under each shorter prefix of its key. */
function newLeaf(index: LineIndex, section: Indexed, key: string, leaf: string): number[] {
  const cut = key.lastIndexOf('/') + 1;
  for (let i = key.indexOf('/'); i !== -1 && i < cut - 1; i = key.indexOf('/', i + 1)) {
    const upper = `${section}:${key.slice(0, i + 1)}`;
    let set = index.leaves.get(upper);
    if (!set) index.leaves.set(upper, (set = new Set()));
    set.add(leaf);
  }
  return [];
}

/**
 * apply()'s touch for a state events are folded into outside a run (a
 * replay, a reader's own copy, an import): its cache lines indexed as a run's
 * are, so an invalidation costs what it drops there too, then `touch`. Every
 * apply() to `state` from then on must pass it (a write it does not see
 * leaves the index behind the state); forgetCacheLines() ends it.
 */
export function indexedTouch(state: State, touch?: Touch): Touch {
  // Built at the first lookup that uses it (most replayed ranges hold no wide invalidation), from the state as it is then.
  const later: Pending = { hook: null };
  LINES.delete(state);
  PENDING.set(state, later);
  return touch
    ? (section, key) => { later.hook?.(section, key); touch(section, key); }
    : (section, key) => { later.hook?.(section, key); };
}

/** `state` is no longer indexed (a replayer's cached state, which nothing applies to again). */
export function forgetCacheLines(state: State): void { LINES.delete(state); PENDING.delete(state); }

interface Pending { hook: ((section: SectionName, key: string) => void) | null }
const PENDING = new WeakMap<State, Pending>();

/** The line index of `state`, built now if indexedTouch() deferred it. */
function linesOf(state: State): LineIndex | undefined {
  const index = LINES.get(state);
  if (index) return index;
  const later = PENDING.get(state);
  if (!later) return undefined;
  PENDING.delete(state);
  later.hook = indexCacheLines(state);
  return LINES.get(state);
}

/** `p`, `p\0d<did>`, `p\0p<pasid>`, `p\0d<did>\0p<pasid>` for every prefix p of the key: what pasidCacheVictims() selects by. */
function pcTags(key: string, did: number | undefined): string[] {
  // The scan compares DIDs with ===: a DID that is no number (a forged fill's) matches no descriptor.
  if (typeof did !== 'number') return [];
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

/** File `key` under the tags `next` instead of those it had (in `tagsOf`); false when they are the same. */
function retag(sets: Map<string, Set<string>>, tagsOf: Map<string, string[]>, key: string, next: string[]): boolean {
  const old = tagsOf.get(key) ?? [];
  if (old.length === next.length && old.every((t, i) => t === next[i])) return false;
  for (const t of old) { const set = sets.get(t); set?.delete(key); if (set?.size === 0) sets.delete(t); }
  for (const t of next) { let set = sets.get(t); if (!set) sets.set(t, (set = new Set())); set.add(key); }
  if (next.length > 0) tagsOf.set(key, next); else tagsOf.delete(key);
  return true;
}

function retagPasidCache(index: LineIndex, key: string, did: number | undefined): void {
  retag(index.pc, index.pcTags, key, pcTags(key, did));
}

type ContextEntry = State['s']['context-cache'][string];

/** `p`, `p\0d<did>`, `p\0s<source id of the rest>` for every prefix p of the key: what contextCacheVictims() selects by. */
function ccTags(key: string, entry: ContextEntry | undefined): string[] {
  if (entry === undefined) return [];
  const out: string[] = [];
  for (const p of slashPrefixes(key)) {
    out.push(p, `${p}\0s${sourceId(key.slice(p.length))}`);
    // The scan compares DIDs with ===: only a number other than NaN, or null, can match a descriptor's.
    if (entry.did === null || (typeof entry.did === 'number' && !Number.isNaN(entry.did))) out.push(`${p}\0d${entry.did}`);
  }
  return out;
}

function retagContextCache(index: LineIndex, key: string, entry: ContextEntry | undefined): void {
  if (!retag(index.cc, index.ccTags, key, ccTags(key, entry))) return;
  // The source ids present under each prefix: those whose tag holds a key now.
  for (const p of slashPrefixes(key)) {
    const sid = sourceId(key.slice(p.length));
    const there = index.cc.has(`${p}\0s${sid}`);
    let sids = index.ccSids.get(p);
    const at = sids ? lowerBound(sids, sid) : 0;
    if (there === (sids !== undefined && sids[at] === sid)) continue;
    if (there) {
      if (!sids) index.ccSids.set(p, (sids = []));
      sids.splice(at, 0, sid);
    } else if (sids) {
      sids.splice(at, 1);
      if (sids.length === 0) index.ccSids.delete(p);
    }
  }
}

/** The keys under `prefix` whose page is in [addr's page, + npages), or every key under it when addr is null. */
function scan(state: State, name: Indexed, prefix: string, q: { addr: number | null; npages: number | null }, plainQuery: boolean): string[] {
  const { addr, npages } = q;
  const out: string[] = [];
  const index = plainQuery ? linesOf(state) : undefined;
  if (index && index.odd[name].size === 0) {
    // What the scan below tells a state that records its reads (explore/): the whole section (engine/indexes.ts, WHOLE_SECTION_KEY).
    void (state.s[name] as Record<string, unknown>)[WHOLE_SECTION_KEY];
    const whole = `${name}:${prefix}`;
    // The leaf of the prefix itself and every longer one under it (a forged key may have more parts than k.iotlb() writes).
    const leaves = [...(index.pages.has(whole) ? [whole] : []), ...(index.leaves.get(whole) ?? [])];
    const first = addr === null ? -Infinity : page(addr);
    const end = addr === null ? Infinity : first + (npages ?? 1);
    for (const leaf of leaves) {
      const pages = index.pages.get(leaf) ?? [];
      const base = leaf.slice(name.length + 1);
      victimVisits.cells++;
      for (let i = addr === null ? 0 : lowerBound(pages, first); i < pages.length && (pages[i] as number) < end; i++) { victimVisits.cells++; out.push(`${base}${pages[i]}`); }
    }
    return out;
  }
  const section = state.s[name];
  for (const key in section) { victimVisits.cells++; if (key.startsWith(prefix) && inRange(lastNumber(key), addr, npages)) out.push(key); }
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
      victimVisits.cells++;
      const key = k.iotlb(q.iommu, q.did ?? 0, q.pasid ?? 0, pg);
      if (tlb[key]) out.push(key);
    }
    return out;
  }
  const prefix = byPasid ? `${q.iommu}/${q.did}/${q.pasid}/` : byDid ? `${q.iommu}/${q.did}/` : `${q.iommu}/`;
  const indexed = plain(q, ['did', 'pasid', 'addr', 'npages'], ['iommu']);
  if (q.granularity !== 'page') return scan(state, 'iotlb', prefix, { addr: null, npages: null }, indexed);
  // Page-selective without a PASID (0x2): every PASID of the domain.
  return scan(state, 'iotlb', prefix, q, indexed);
}

/** PASID cache (key iommu/rid/pasid): 0x7 descriptor, domain / PASID-selective / global. */
export function pasidCacheVictims(state: State, q: Pick<EventOf<'pasid-cache-inval'>, 'iommu' | 'granularity' | 'did' | 'pasid'>): string[] {
  const known = remembered(state, q);
  if (known) return known;
  const pc = state.s['pasid-cache'];
  const prefix = `${q.iommu}/`;
  const byDid = q.granularity !== 'global' && q.did !== null;
  const byPasid = q.granularity === 'pasid';
  const index = plain(q, ['did', 'pasid'], ['iommu']) ? linesOf(state) : undefined;
  if (index) {
    // The entries the loop below keeps, from the index (the order differs; nothing depends on it, as for scan()).
    void (pc as Record<string, unknown>)[WHOLE_SECTION_KEY];
    if ((byDid && Number.isNaN(q.did)) || (byPasid && (q.pasid === null || Number.isNaN(q.pasid)))) return [];
    const keys = [...(index.pc.get(`${prefix}${byDid ? `\0d${q.did}` : ''}${byPasid ? `\0p${q.pasid}` : ''}`) ?? [])];
    victimVisits.cells += keys.length;
    return keys;
  }
  const out: string[] = [];
  for (const key in pc) {
    victimVisits.cells++;
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
  const known = remembered(state, q);
  if (known) return known;
  const cc = state.s['context-cache'];
  const prefix = `${q.iommu}/`;
  const want = q.rid === null ? -1 : sourceId(q.rid);
  const mask = ~((1 << (q.fm ?? 0)) - 1) & 0xffff;
  const index = plain(q, ['did', 'fm'], ['iommu', 'rid']) ? linesOf(state) : undefined;
  // The source ids a device-selective descriptor matches: those equal to `want` outside the mask (up to 16 of them from the index, else the scan below).
  const free = ~mask & 0xffff;
  if (index && (q.granularity !== 'device' || free < 16)) {
    void (cc as Record<string, unknown>)[WHOLE_SECTION_KEY];
    if (q.granularity === 'domain' && Number.isNaN(q.did)) return [];
    if (q.granularity !== 'device') return ccKeys(index, `${prefix}${q.granularity === 'domain' ? `\0d${q.did}` : ''}`);
    const out: string[] = [];
    for (let low = free; ; low = (low - 1) & free) {
      const sid = (want & mask) | low;
      out.push(...ccKeys(index, `${prefix}\0s${sid}`));
      // sourceId() is -1 for a RID that is no bus:dev.fn; -1 & mask is 0xffff & mask.
      if (sid === 0xffff) out.push(...ccKeys(index, `${prefix}\0s-1`));
      if (low === 0) break;
    }
    return out;
  }
  const out: string[] = [];
  for (const key in cc) {
    victimVisits.cells++;
    if (!key.startsWith(prefix)) continue;
    if (q.granularity === 'domain' && cc[key]?.did !== q.did) continue;
    if (q.granularity === 'device' && (sourceId(key.slice(prefix.length)) & mask) !== (want & mask)) continue;
    out.push(key);
  }
  return out;
}

function ccKeys(index: LineIndex, tag: string): string[] {
  const keys = [...(index.cc.get(tag) ?? [])];
  victimVisits.cells += keys.length + 1;
  return keys;
}

/**
 * The context-cache keys of `iommu` whose RID's source id is in [start, end],
 * in key order: the streams an SMMU CFGI_STE_RANGE drops
 * (smmuv3_invalidate_ste()). Indexed, a range costs the streams in it and a
 * binary search, not a pass over every cached stream.
 */
export function contextCacheRange(state: State, iommu: string, start: number, end: number): string[] {
  const prefix = `${iommu}/`;
  const index = linesOf(state);
  const out: string[] = [];
  if (index) {
    void (state.s['context-cache'] as Record<string, unknown>)[WHOLE_SECTION_KEY];
    const sids = index.ccSids.get(prefix) ?? [];
    victimVisits.cells++;
    for (let i = lowerBound(sids, start); i < sids.length && (sids[i] as number) <= end; i++) out.push(...ccKeys(index, `${prefix}\0s${sids[i]}`));
  } else {
    for (const key in state.s['context-cache']) {
      victimVisits.cells++;
      if (!key.startsWith(prefix)) continue;
      const sid = sourceId(key.slice(prefix.length));
      if (sid >= start && sid <= end) out.push(key);
    }
  }
  return out.sort();
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
      victimVisits.cells++;
      const key = k.atc(q.rid, q.pasid ?? 0, pg);
      if (atc[key]) out.push(key);
    }
    return out;
  }
  const prefix = byPasid ? `${q.rid}/${q.pasid}/` : `${q.rid}/`;
  const indexed = typeof q.rid === 'string' && plain(q, ['pasid', 'addr', 'npages'], []);
  if (q.granularity !== 'page') return scan(state, 'atc', prefix, { addr: null, npages: null }, indexed);
  return scan(state, 'atc', prefix, q, indexed);
}

