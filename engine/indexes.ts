// Derived indexes of the allocators' and the iommufd object table's state:
// what a live run asks on every allocation, lookup and after every step,
// answered in O(log n) or O(answer) instead of a pass over a whole section
// (issue 12, "small inputs, huge costs": 4000 `ioasid-alloc` steps took 3 s,
// 20 000 did not finish in two minutes; 4000 IOMMU_HWPT_ALLOC took 2.7 s).
//
// Like the IOTLB / ATC line index (engine/caches.ts) these are caches of the
// state, never a second source of truth: Ctx builds them from the state it
// is given and keeps them through the touch of every cell apply() writes, so
// they follow the same events apply() folds; a state without one (a replay,
// a bare state handed to a helper) is answered by the scans they replace.
// Every answer is the scan's, exactly (test/indexes.test.ts compares the
// index with one rebuilt from the state after every event of every built-in
// scenario and conformance case, and the answers with a bare state's;
// test/index-equivalence.test.ts runs everything with and without them):
//  * IOASIDs: per space (the key up to its last '/'), the PASIDs allocated,
//    in an IdSet that finds the lowest free one at or after any id (the
//    lowest-free and the cyclic allocator, findFree); per key prefix ending
//    in '/' and set, the keys of that set (outstanding(): nr_ioasids, and
//    ioasid_free_set()'s list); per owner, the keys of the global spaces
//    (mm->pasid, exit_mm).
//  * IOASID sets: per host (the key's first part), the sum of the quotas,
//    the set IDs in use and the MM-type tokens; the sets over their quota.
//  * iommufd objects: per key prefix ending in '/', the object ids (nextId);
//    per direct prefix and tag (TAG: type, a HWPT's IOAS / IOMMU / parent /
//    vIOMMU, the HWPT a DEVICE is attached to, a DEVICE's RID, a live
//    vDEVICE's device, a vEVENTQ's vIOMMU, an open queue fd) the object ids,
//    which engine/iommufd/object.ts' objectsWith() filters as the scan did.
//  * bindings: the bind keys whose present PASID entry outlives its IOASID
//    (the entry-outlives-ioasid invariant after each step), with what each
//    depends on (its IOASID key, its host/pasid/ deferred-work prefix); per
//    PASID the bind keys (the FREE notifier's boundRids); per host PASID the
//    KVM PASID-translation keys (KVM's FREE subscriber).
//  * PASID entries: per key prefix ending in '/', the entries present
//    without PGSNP (the no-snoop invariant's first open entry of a device),
//    and how many are present (SMMUv3's used_ssids).
//  * table roots by the IOAS they map (an unmap's dirty bits); KVM PASID
//    translations by VM (migration).
//  * page tables and dirty bits (key root/page): per root the pages present,
//    so a wide pt-unmap and a dirty-bitmap read cost what they touch.
import { k, parts } from './keys.js';
import { CountedIds, IdSet } from './idset.js';
import { compareKeys } from './state.js';
import type { IoasidCell, IoasidSetCell, IommufdCell, SectionName, State } from './types.js';

/** Every prefix of `key` that ends in '/' (what `key.startsWith(x + '/')` can match). */
export function slashPrefixes(key: string): string[] {
  const out: string[] = [];
  for (let i = key.indexOf('/'); i !== -1; i = key.indexOf('/', i + 1)) out.push(key.slice(0, i + 1));
  return out;
}

/** The PASID of an IOASID key when it is one an allocator could have written (`${space}/${pasid}`). */
function keyPasid(key: string): { space: string; pasid: number } | null {
  const cut = key.lastIndexOf('/');
  if (cut === -1) return null;
  const tail = key.slice(cut + 1);
  const pasid = Number(tail);
  if (!Number.isSafeInteger(pasid) || pasid < 0 || String(pasid) !== tail) return null;
  return { space: key.slice(0, cut), pasid };
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}
function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  set?.delete(value);
  if (set?.size === 0) map.delete(key);
}

interface HostSets {
  /** Sum of the integer quotas, exactly (quotaSum). */
  quota: bigint;
  /** Sets whose quota is not an integer (none a scenario can make): the sum is then the caller's. */
  odd: number;
  sids: CountedIds;
  /** Token -> MM-type sets holding it. */
  mm: Map<string, number>;
}

/** What one IOASID-set cell adds to the index. */
interface SetEntry { host: string; name: string | undefined; quota: number; sid: number | undefined; mm: string | null }

export interface AllocIndex {
  /** The state indexed (its sections are read through it: see seen()). */
  state: State;
  /** IOASID space -> PASIDs allocated. */
  spaces: Map<string, IdSet>;
  /** Key prefix ending in '/' -> set name -> the IOASID keys of that set under it. */
  bySet: Map<string, Map<string, Set<string>>>;
  /** Owner -> IOASID keys of two parts (host/pasid: a global space). */
  byOwner: Map<string, Set<string>>;
  /** Owner -> host -> the PASIDs of those keys (mm->pasid: the lowest). */
  ownerPasids: Map<string, Map<string, IdSet>>;
  /** Keys of two parts whose PASID is not an allocator's (none in a live run): mmPasid then scans. */
  oddOwnerKeys: number;
  /** What each IOASID key was indexed as. */
  ioasid: Map<string, IoasidCell>;
  /** Host (first key part) -> its sets' quotas, set IDs, MM tokens. */
  hosts: Map<string, HostSets>;
  /** What each IOASID-set key was indexed as. */
  sets: Map<string, SetEntry>;
  /** `${host}/` -> second key part -> the set keys that name it: the sets whose count an IOASID of that set moves. */
  setKeys: Map<string, Map<string, Set<string>>>;
  /** Set keys whose IOASIDs outnumber their quota. */
  over: Set<string>;
  /** iommufd key prefix ending in '/' -> the object ids under it. */
  objects: Map<string, CountedIds>;
  /** What each iommufd key was indexed as (its id). */
  objectIds: Map<string, number>;
  /** iommufd key prefix -> keys under it that are not `${prefix}${id}` (a nested fd name, an id that is not the key's): objectsUnder() then defers to the scan. */
  objectsOdd: Map<string, number>;
  /** iommufd key prefix -> ids of the objects directly under it that no object holds (users 0): the next leaf iommufd_fops_release() destroys. */
  idle: Map<string, IdSet>;
  idleKeys: Set<string>;
  /** `${prefix}\0${tag}` -> ids of the iommufd objects directly under the prefix (key prefix + id) with that tag (objectTags()). */
  tagged: Map<string, IdSet>;
  /** What each iommufd key was tagged with (under its direct prefix). */
  objectTags: Map<string, string[]>;
  /** RID -> keys of the DEVICE and ACCESS objects bound to it (every iommufd), and what each key was indexed under. */
  devicesByRid: Map<string, Set<string>>;
  deviceRid: Map<string, string>;
  /** Bind key -> the IOASID key and the deferred-work prefix its status reads. */
  bindDeps: Map<string, { ioasid: string; deferred: string }>;
  bindsByIoasid: Map<string, Set<string>>;
  bindsByDeferred: Map<string, Set<string>>;
  /** Every '/'-prefix of a deferred-work key -> how many keys have it. */
  deferredPrefixes: Map<string, number>;
  deferredKeys: Set<string>;
  /** Bind keys whose present PASID entry outlives its IOASID. */
  outlive: Set<string>;
  /** Number(second key part) -> bind keys, and what each was indexed under. */
  bindsByPasid: Map<number, Set<string>>;
  bindPasid: Map<string, number>;
  /** hpasid -> cpu-pasid keys, and what each was indexed under. */
  cpuByHpasid: Map<number, Set<string>>;
  cpuHpasid: Map<string, number>;
  /** PASID-entry key prefix ending in '/' -> the entries present without PGSNP under it (integer tails, other keys). */
  open: Map<string, { ids: IdSet; odd: Set<string> }>;
  openKeys: Set<string>;
  /** IOAS areas (`ioas-map`, key fd/ioas/iova): per direct prefix the IOVAs; per prefix the keys under it that are not prefix + IOVA. */
  areas: Map<string, IdSet>;
  areasOdd: Map<string, number>;
  areaKeys: Set<string>;
  /** PASID-entry key prefix ending in '/' -> how many entries under it are present (p), and the keys counted. */
  present: Map<string, number>;
  presentKeys: Set<string>;
  /** pt-root cell's ioas -> the root keys naming it, and what each root key was indexed under. */
  rootsByIoas: Map<string, Set<string>>;
  rootIoas: Map<string, string>;
  /** cpu-pasid key's first part (the VM) -> its keys, and what each key was indexed under. */
  cpuByVm: Map<string, Set<string>>;
  cpuVm: Map<string, string>;
  /** 'pt' and 'dirty' (key root/page): per root prefix the pages present; keys of another shape counted (pagesIn() then defers to the scan). */
  pages: Record<PageSection, { byPrefix: Map<string, IdSet>; odd: number; keys: Set<string> }>;
}

type PageSection = 'pt' | 'dirty';

const INDEXES = new WeakMap<State, AllocIndex>();

/** The index of a live run's state, or undefined (the callers then scan). */
export const allocIndex = (state: State): AllocIndex | undefined => INDEXES.get(state);

function count(ix: AllocIndex, prefix: string, set: string): number {
  return ix.bySet.get(prefix)?.get(set)?.size ?? 0;
}

/** Recompute whether the set cell `key` is over its quota (invariants.ts' quota check, exactly). */
function judge(ix: AllocIndex, state: State, key: string): void {
  const e = ix.sets.get(key);
  const cell = state.s['ioasid-set'][key];
  if (!e || !cell || e.name === undefined || count(ix, `${e.host}/`, e.name) <= cell.quota) ix.over.delete(key);
  else ix.over.add(key);
}

function touchIoasid(ix: AllocIndex, state: State, key: string): void {
  const cell = state.s.ioasid[key];
  const old = ix.ioasid.get(key);
  if (old === cell || (old && cell && old.set === cell.set && old.owner === cell.owner)) return;
  const parsed = keyPasid(key);
  const prefixes = slashPrefixes(key);
  const twoParts = prefixes.length === 1;
  const rejudge = (set: string): void => {
    const first = prefixes[0];
    if (first === undefined) return;
    for (const sk of ix.setKeys.get(first)?.get(set) ?? []) judge(ix, state, sk);
  };
  if (old) {
    ix.ioasid.delete(key);
    if (parsed) {
      const ids = ix.spaces.get(parsed.space);
      ids?.delete(parsed.pasid);
      if (ids?.size === 0) ix.spaces.delete(parsed.space);
    }
    for (const p of prefixes) {
      const bySet = ix.bySet.get(p);
      if (bySet) { removeFrom(bySet, old.set, key); if (bySet.size === 0) ix.bySet.delete(p); }
    }
    if (twoParts) {
      removeFrom(ix.byOwner, old.owner, key);
      if (!parsed) ix.oddOwnerKeys--;
      else {
        const byHost = ix.ownerPasids.get(old.owner);
        const ids = byHost?.get(parsed.space);
        ids?.delete(parsed.pasid);
        if (ids?.size === 0) byHost?.delete(parsed.space);
        if (byHost?.size === 0) ix.ownerPasids.delete(old.owner);
      }
    }
    rejudge(old.set);
  }
  if (cell) {
    ix.ioasid.set(key, { set: cell.set, owner: cell.owner });
    if (parsed) {
      let ids = ix.spaces.get(parsed.space);
      if (!ids) ix.spaces.set(parsed.space, (ids = new IdSet()));
      ids.add(parsed.pasid);
    }
    for (const p of prefixes) {
      let bySet = ix.bySet.get(p);
      if (!bySet) ix.bySet.set(p, (bySet = new Map()));
      addTo(bySet, cell.set, key);
    }
    if (twoParts) {
      addTo(ix.byOwner, cell.owner, key);
      if (!parsed) ix.oddOwnerKeys++;
      else {
        let byHost = ix.ownerPasids.get(cell.owner);
        if (!byHost) ix.ownerPasids.set(cell.owner, (byHost = new Map()));
        let ids = byHost.get(parsed.space);
        if (!ids) byHost.set(parsed.space, (ids = new IdSet()));
        ids.add(parsed.pasid);
      }
    }
    rejudge(cell.set);
  }
}

function setEntry(key: string, cell: IoasidSetCell): SetEntry {
  const cut = key.indexOf('/');
  const host = cut === -1 ? key : key.slice(0, cut);
  const rest = cut === -1 ? undefined : key.slice(cut + 1);
  const name = rest === undefined ? undefined : rest.split('/')[0];
  return { host, name, quota: cell.quota, sid: cell.sid, mm: cell.type === 'mm' ? cell.token : null };
}

function touchSet(ix: AllocIndex, state: State, key: string): void {
  const cell = state.s['ioasid-set'][key];
  const old = ix.sets.get(key);
  if (old) {
    ix.sets.delete(key);
    const h = old.name === undefined ? undefined : ix.hosts.get(old.host);
    if (h) {
      if (Number.isInteger(old.quota)) h.quota -= BigInt(old.quota); else h.odd--;
      if (old.sid !== undefined) h.sids.delete(old.sid);
      if (old.mm !== null) { const n = (h.mm.get(old.mm) ?? 0) - 1; if (n > 0) h.mm.set(old.mm, n); else h.mm.delete(old.mm); }
    }
    if (old.name !== undefined) {
      const names = ix.setKeys.get(`${old.host}/`);
      if (names) { removeFrom(names, old.name, key); if (names.size === 0) ix.setKeys.delete(`${old.host}/`); }
    }
  }
  if (cell) {
    const e = setEntry(key, cell);
    ix.sets.set(key, e);
    if (e.name !== undefined) {
      // setsOf() in engine/ioasid.ts: the cells whose key has a second part
      let h = ix.hosts.get(e.host);
      if (!h) ix.hosts.set(e.host, (h = { quota: 0n, odd: 0, sids: new CountedIds(), mm: new Map() }));
      if (Number.isInteger(e.quota)) h.quota += BigInt(e.quota); else h.odd++;
      if (e.sid !== undefined) h.sids.add(e.sid);
      if (e.mm !== null) h.mm.set(e.mm, (h.mm.get(e.mm) ?? 0) + 1);
      let names = ix.setKeys.get(`${e.host}/`);
      if (!names) ix.setKeys.set(`${e.host}/`, (names = new Map()));
      addTo(names, e.name, key);
    }
  }
  judge(ix, state, key);
}

/** `${name}:${v}` for a number attribute (what `attrs.x === v` can match), else null. */
function numTag(name: string, v: unknown): string | null {
  return typeof v === 'number' && !Number.isNaN(v) ? `${name}:${v}` : null;
}

/**
 * The tags an iommufd object is found by: what the handlers look objects up
 * by (engine/iommufd/*.ts, engine/drivers/smmuv3.ts). A tag never decides an
 * answer on its own: a query returns the objects with the tag and the caller
 * applies its own filter (objectsWith()), so a tag need only be implied by it.
 */
export const TAG = {
  type: (type: string): string => `type:${type}`,
  /** A HWPT_PAGING's IOAS (iopt_table_add_domain(): the domains of an IOAS). */
  ioas: (id: unknown): string | null => numTag('ioas', id),
  /** A HWPT_PAGING's IOAS, the IOMMU its domain was allocated on and its stage (the geometries of an IOAS's domains). */
  domainOn: (ioas: unknown, iommu: unknown, stage: unknown): string | null =>
    (typeof iommu === 'string' && typeof stage === 'string' ? numTag('domain', ioas)?.concat('/', iommu, '/', stage) ?? null : null),
  /** A HWPT_NESTED's nest parent. */
  parent: (id: unknown): string | null => numTag('parent', id),
  /** A HWPT_NESTED's vIOMMU (the VMID's stage-1 domains). */
  nestedOn: (id: unknown): string | null => numTag('nestedOn', id),
  /** A DEVICE attached (attrs pasid/N) to this HWPT at some PASID. */
  attached: (hwpt: unknown): string | null => numTag('attached', hwpt),
  /** A DEVICE's RID. */
  rid: (rid: unknown): string | null => (typeof rid === 'string' ? `rid:${rid}` : null),
  /** A live (not tombstone) VDEVICE's DEVICE. */
  vdevOf: (dev: unknown): string | null => numTag('vdevOf', dev),
  /** A VEVENTQ's vIOMMU. */
  veventqOn: (viommu: unknown): string | null => numTag('veventqOn', viommu),
  /** A FAULT / vEVENTQ whose fd is open, and its fd number. */
  openQueue: 'openQueue',
  efd: (efd: unknown): string | null => numTag('efd', efd),
} as const;

function objectTags(cell: IommufdCell | undefined): string[] {
  if (!cell) return [];
  const a = cell.attrs;
  const out = new Set<string | null>([TAG.type(cell.type)]);
  if (cell.type === 'HWPT_PAGING') { out.add(TAG.ioas(a.ioas)); out.add(TAG.domainOn(a.ioas, a.iommu, a.stage)); }
  if (cell.type === 'HWPT_NESTED') { out.add(TAG.parent(a.parent)); out.add(TAG.nestedOn(a.viommu)); }
  if (cell.type === 'DEVICE') {
    out.add(TAG.rid(a.rid));
    for (const name in a) if (name.startsWith('pasid/')) out.add(TAG.attached(a[name]));
  }
  if (cell.type === 'VDEVICE' && a.leaked !== true) out.add(TAG.vdevOf(a.dev));
  if (cell.type === 'VEVENTQ') out.add(TAG.veventqOn(a.viommu));
  if ((cell.type === 'FAULT' || cell.type === 'VEVENTQ') && a.open === true) { out.add(TAG.openQueue); out.add(TAG.efd(a.efd)); }
  out.delete(null);
  return [...out as Set<string>].sort();
}

/** Re-tag one iommufd key under its direct prefix (only keys prefix + id are tagged: objectsTagged() defers to the scan otherwise). */
function retag(ix: AllocIndex, key: string, cell: IommufdCell | undefined): void {
  const cut = key.lastIndexOf('/') + 1;
  const plain = cell !== undefined && key.slice(cut) === String(cell.id) && Number.isSafeInteger(cell.id) && cell.id >= 0;
  const next = plain ? objectTags(cell) : [];
  const old = ix.objectTags.get(key) ?? [];
  if (old.length === next.length && old.every((t, i) => t === next[i])) return;
  const prefix = key.slice(0, cut);
  const oldId = ix.objectIds.get(key);
  for (const t of old) {
    const ids = ix.tagged.get(`${prefix}\0${t}`);
    if (oldId !== undefined) ids?.delete(oldId);
    if (ids?.size === 0) ix.tagged.delete(`${prefix}\0${t}`);
  }
  for (const t of next) {
    let ids = ix.tagged.get(`${prefix}\0${t}`);
    if (!ids) ix.tagged.set(`${prefix}\0${t}`, (ids = new IdSet()));
    ids.add((cell as IommufdCell).id);
  }
  if (next.length > 0) ix.objectTags.set(key, next); else ix.objectTags.delete(key);
}

function touchObject(ix: AllocIndex, state: State, key: string): void {
  const cell: IommufdCell | undefined = state.s.iommufd[key];
  // before objectIds moves on: retag() removes the old tags under the id they were indexed with
  retag(ix, key, cell);
  // a VFIO device's binding: a DEVICE (physical), or an ACCESS (emulated, mdev/SIOV)
  const rid = (cell?.type === 'DEVICE' || cell?.type === 'ACCESS') && typeof cell.attrs.rid === 'string' ? cell.attrs.rid : undefined;
  const wasRid = ix.deviceRid.get(key);
  if (rid !== wasRid) {
    if (wasRid !== undefined) { removeFrom(ix.devicesByRid, wasRid, key); ix.deviceRid.delete(key); }
    if (rid !== undefined) { addTo(ix.devicesByRid, rid, key); ix.deviceRid.set(key, rid); }
  }
  const idle = cell !== undefined && cell.users === 0;
  if (idle !== ix.idleKeys.has(key)) {
    const cut = key.lastIndexOf('/') + 1;
    const tail = key.slice(cut);
    const id = Number(tail);
    // a key that is not prefix + id makes objectKeysUnder() null for that prefix: then nothing reads this
    if (Number.isSafeInteger(id) && id >= 0 && String(id) === tail) {
      const p = key.slice(0, cut);
      let ids = ix.idle.get(p);
      if (!ids) ix.idle.set(p, (ids = new IdSet()));
      if (idle) ids.add(id); else ids.delete(id);
      if (ids.size === 0) ix.idle.delete(p);
    }
    if (idle) ix.idleKeys.add(key); else ix.idleKeys.delete(key);
  }
  const old = ix.objectIds.get(key);
  if (old === cell?.id) return;
  const prefixes = slashPrefixes(key);
  const odd = (p: string, id: number, delta: number): void => {
    if (key.slice(p.length) === String(id) && Number.isSafeInteger(id) && id >= 0) return;
    const n = (ix.objectsOdd.get(p) ?? 0) + delta;
    if (n > 0) ix.objectsOdd.set(p, n);
    else ix.objectsOdd.delete(p);
  };
  if (old !== undefined) {
    ix.objectIds.delete(key);
    for (const p of prefixes) {
      const ids = ix.objects.get(p);
      ids?.delete(old);
      if (ids?.empty) ix.objects.delete(p);
      odd(p, old, -1);
    }
  }
  if (cell) {
    ix.objectIds.set(key, cell.id);
    for (const p of prefixes) {
      let ids = ix.objects.get(p);
      if (!ids) ix.objects.set(p, (ids = new CountedIds()));
      ids.add(cell.id);
      odd(p, cell.id, 1);
    }
  }
}

/** entriesOutliveIoasid()'s condition for one bind key (engine/invariants.ts), from the state and the deferred prefixes. */
function judgeBind(ix: AllocIndex, state: State, key: string): void {
  const s = state.s;
  const b = s.bind[key];
  let stale = false;
  if (b?.space && s.pasid[key]?.p) {
    const pasid = Number(parts(key)[1]);
    const alloc = s.ioasid[k.ioasid(b.space, pasid)];
    const hostId = parts(b.space)[0] ?? '';
    const pending = (ix.deferredPrefixes.get(`${hostId}/${pasid}/`) ?? 0) > 0;
    stale = (!alloc && !pending) || (alloc !== undefined && alloc.owner !== b.owner);
  }
  if (stale) ix.outlive.add(key);
  else ix.outlive.delete(key);
}

function touchBind(ix: AllocIndex, state: State, key: string): void {
  const b = state.s.bind[key];
  const old = ix.bindDeps.get(key);
  if (old) {
    ix.bindDeps.delete(key);
    removeFrom(ix.bindsByIoasid, old.ioasid, key);
    removeFrom(ix.bindsByDeferred, old.deferred, key);
  }
  if (b?.space) {
    const pasid = Number(parts(key)[1]);
    const deps = { ioasid: k.ioasid(b.space, pasid), deferred: `${parts(b.space)[0] ?? ''}/${pasid}/` };
    ix.bindDeps.set(key, deps);
    addTo(ix.bindsByIoasid, deps.ioasid, key);
    addTo(ix.bindsByDeferred, deps.deferred, key);
  }
  const was = ix.bindPasid.get(key);
  if (was !== undefined) { removeFrom(ix.bindsByPasid, was, key); ix.bindPasid.delete(key); }
  if (b) {
    const pasid = Number(parts(key)[1]);
    ix.bindPasid.set(key, pasid);
    addTo(ix.bindsByPasid, pasid, key);
  }
  judgeBind(ix, state, key);
}

function touchDeferred(ix: AllocIndex, state: State, key: string): void {
  const present = state.s.deferred[key] !== undefined;
  if (present === ix.deferredKeys.has(key)) return;
  const prefixes = slashPrefixes(key);
  if (present) ix.deferredKeys.add(key);
  else ix.deferredKeys.delete(key);
  for (const p of prefixes) {
    const n = (ix.deferredPrefixes.get(p) ?? 0) + (present ? 1 : -1);
    if (n > 0) ix.deferredPrefixes.set(p, n);
    else ix.deferredPrefixes.delete(p);
  }
  for (const p of prefixes) for (const b of [...(ix.bindsByDeferred.get(p) ?? [])]) judgeBind(ix, state, b);
}

function touchArea(ix: AllocIndex, state: State, key: string): void {
  const present = state.s['ioas-map'][key] !== undefined;
  if (present === ix.areaKeys.has(key)) return;
  if (present) ix.areaKeys.add(key); else ix.areaKeys.delete(key);
  const cut = key.lastIndexOf('/') + 1;
  const tail = key.slice(cut);
  const iova = Number(tail);
  const plain = cut > 0 && Number.isSafeInteger(iova) && iova >= 0 && String(iova) === tail;
  const prefixes = slashPrefixes(key);
  // every shorter prefix sees a key that is not prefix + IOVA (so does the direct one when the tail is not one)
  for (const p of plain ? prefixes.slice(0, -1) : prefixes) {
    const n = (ix.areasOdd.get(p) ?? 0) + (present ? 1 : -1);
    if (n > 0) ix.areasOdd.set(p, n); else ix.areasOdd.delete(p);
  }
  if (!plain) return;
  const prefix = key.slice(0, cut);
  let ids = ix.areas.get(prefix);
  if (!ids) ix.areas.set(prefix, (ids = new IdSet()));
  if (present) ids.add(iova); else ids.delete(iova);
  if (ids.size === 0) ix.areas.delete(prefix);
}

function touchRoot(ix: AllocIndex, state: State, key: string): void {
  const ioas = state.s['pt-root'][key]?.ioas;
  rekey(ix.rootsByIoas, ix.rootIoas, key, typeof ioas === 'string' ? ioas : undefined);
}

function touchCpuPasid(ix: AllocIndex, state: State, key: string): void {
  const cell = state.s['cpu-pasid'][key];
  rekey(ix.cpuByVm, ix.cpuVm, key, cell ? parts(key)[0] : undefined);
  const was = ix.cpuHpasid.get(key);
  if (was === cell?.hpasid) return;
  if (was !== undefined) { removeFrom(ix.cpuByHpasid, was, key); ix.cpuHpasid.delete(key); }
  if (cell) { ix.cpuHpasid.set(key, cell.hpasid); addTo(ix.cpuByHpasid, cell.hpasid, key); }
}

function touchPasid(ix: AllocIndex, state: State, key: string): void {
  const cell = state.s.pasid[key];
  const p = cell?.p === true;
  if (p !== ix.presentKeys.has(key)) {
    if (p) ix.presentKeys.add(key); else ix.presentKeys.delete(key);
    for (const prefix of slashPrefixes(key)) {
      const n = (ix.present.get(prefix) ?? 0) + (p ? 1 : -1);
      if (n > 0) ix.present.set(prefix, n); else ix.present.delete(prefix);
    }
  }
  const open = !!cell?.p && !cell?.pgsnp;
  if (open === ix.openKeys.has(key)) return;
  if (open) ix.openKeys.add(key);
  else ix.openKeys.delete(key);
  for (const p of slashPrefixes(key)) {
    let entry = ix.open.get(p);
    if (!entry) ix.open.set(p, (entry = { ids: new IdSet(), odd: new Set() }));
    const tail = key.slice(p.length);
    const n = Number(tail);
    const plain = Number.isSafeInteger(n) && n >= 0 && String(n) === tail;
    if (open) { if (plain) entry.ids.add(n); else entry.odd.add(key); } else if (plain) entry.ids.delete(n); else entry.odd.delete(key);
    if (entry.ids.size === 0 && entry.odd.size === 0) ix.open.delete(p);
  }
}

/** Index `key` under `value` in a map of key sets, remembering what it was indexed under. */
function rekey(by: Map<string, Set<string>>, was: Map<string, string>, key: string, value: string | undefined): void {
  const old = was.get(key);
  if (old === value) return;
  if (old !== undefined) { removeFrom(by, old, key); was.delete(key); }
  if (value !== undefined) { addTo(by, value, key); was.set(key, value); }
}

function touchPage(ix: AllocIndex, state: State, section: PageSection, key: string): void {
  const present = state.s[section][key] !== undefined;
  const ps = ix.pages[section];
  if (present === ps.keys.has(key)) return;
  if (present) ps.keys.add(key); else ps.keys.delete(key);
  const cut = key.indexOf('/');
  const tail = key.slice(cut + 1);
  const pg = Number(tail);
  if (cut === -1 || key.indexOf('/', cut + 1) !== -1 || !Number.isSafeInteger(pg) || pg < 0 || String(pg) !== tail) { ps.odd += present ? 1 : -1; return; }
  const prefix = key.slice(0, cut + 1);
  let ids = ps.byPrefix.get(prefix);
  if (!ids) ps.byPrefix.set(prefix, (ids = new IdSet()));
  if (present) ids.add(pg); else ids.delete(pg);
  if (ids.size === 0) ps.byPrefix.delete(prefix);
}

function build(state: State): AllocIndex {
  const ix: AllocIndex = {
    state,
    spaces: new Map(), bySet: new Map(), byOwner: new Map(), ownerPasids: new Map(), oddOwnerKeys: 0, ioasid: new Map(), hosts: new Map(), sets: new Map(),
    setKeys: new Map(), over: new Set(), objects: new Map(), objectIds: new Map(), objectsOdd: new Map(), idle: new Map(), idleKeys: new Set(), devicesByRid: new Map(), deviceRid: new Map(),
    bindDeps: new Map(), bindsByIoasid: new Map(), bindsByDeferred: new Map(), deferredPrefixes: new Map(), deferredKeys: new Set(), outlive: new Set(),
    bindsByPasid: new Map(), bindPasid: new Map(), cpuByHpasid: new Map(), cpuHpasid: new Map(), open: new Map(), openKeys: new Set(),
    pages: { pt: { byPrefix: new Map(), odd: 0, keys: new Set() }, dirty: { byPrefix: new Map(), odd: 0, keys: new Set() } },
    areas: new Map(), areasOdd: new Map(), areaKeys: new Set(), tagged: new Map(), objectTags: new Map(), present: new Map(), presentKeys: new Set(), rootsByIoas: new Map(), rootIoas: new Map(), cpuByVm: new Map(), cpuVm: new Map(),
  };
  // Sets first, so that each IOASID judges the sets it counts against; deferred work before the bindings that read it.
  for (const key in state.s['ioasid-set']) touchSet(ix, state, key);
  for (const key in state.s.ioasid) touchIoasid(ix, state, key);
  for (const key in state.s.iommufd) touchObject(ix, state, key);
  for (const key in state.s.deferred) touchDeferred(ix, state, key);
  for (const key in state.s.bind) touchBind(ix, state, key);
  for (const key in state.s['cpu-pasid']) touchCpuPasid(ix, state, key);
  for (const key in state.s.pasid) touchPasid(ix, state, key);
  for (const key in state.s['pt-root']) touchRoot(ix, state, key);
  for (const key in state.s['ioas-map']) touchArea(ix, state, key);
  for (const key in state.s.pt) touchPage(ix, state, 'pt', key);
  for (const key in state.s.dirty) touchPage(ix, state, 'dirty', key);
  return ix;
}

/**
 * Start indexing the allocators of `state` (what it holds now, in one pass);
 * the returned hook must see every cell written from then on (Ctx passes it
 * inside apply()'s touch).
 */
export function indexAllocators(state: State): (section: SectionName, key: string) => void {
  const ix = build(state);
  INDEXES.set(state, ix);
  return (section, key) => {
    switch (section) {
      case 'ioasid':
        touchIoasid(ix, state, key);
        for (const b of [...(ix.bindsByIoasid.get(key) ?? [])]) judgeBind(ix, state, b);
        break;
      case 'ioasid-set': touchSet(ix, state, key); break;
      case 'iommufd': touchObject(ix, state, key); break;
      case 'bind': touchBind(ix, state, key); break;
      case 'pasid': touchPasid(ix, state, key); judgeBind(ix, state, key); break;
      case 'deferred': touchDeferred(ix, state, key); break;
      case 'cpu-pasid': touchCpuPasid(ix, state, key); break;
      case 'pt': case 'dirty': touchPage(ix, state, section, key); break;
      case 'pt-root': touchRoot(ix, state, key); break;
      case 'ioas-map': touchArea(ix, state, key); break;
      default: break;
    }
  };
}

// ---- Queries: each the exact answer of the scan it replaces (the callers keep the scan for a state without an index).

/**
 * What the scan a query replaces told a state that records its reads: the
 * whole section. explore/ wraps each section in a Proxy whose ownKeys (what
 * a scan calls) records a read of the whole section, and whose get of the
 * key '*' records the same (`${section}\0*`); an answer from the index reads
 * no cell, so without this the footprint of a segment would miss what it
 * depends on and partial-order reduction would prune schedules that do not
 * commute. In a plain run it is one missing-property read per section.
 */
export const WHOLE_SECTION_KEY = '*';
function seen(ix: AllocIndex, ...names: SectionName[]): void {
  for (const name of names) void (ix.state.s[name] as Record<string, unknown>)[WHOLE_SECTION_KEY];
}

/** The number of IOASIDs of `set` whose key starts with `prefix`. */
export const setCount = (ix: AllocIndex, prefix: string, set: string): number => { seen(ix, 'ioasid'); return count(ix, prefix, set); };

/** The IOASID keys of `set` under `prefix`, in no particular order. */
export const setKeys = (ix: AllocIndex, prefix: string, set: string): Iterable<string> => { seen(ix, 'ioasid'); return ix.bySet.get(prefix)?.get(set) ?? []; };

/** The IOASID keys of two parts owned by `owner`, in no particular order. */
export const ownerKeys = (ix: AllocIndex, owner: string): Iterable<string> => { seen(ix, 'ioasid'); return ix.byOwner.get(owner) ?? []; };

/** The lowest PASID `owner` holds in `host`'s global space (the first key host/pasid in key order), null for none, undefined when the index cannot tell. */
export function ownerLowest(ix: AllocIndex, host: string, owner: string): number | null | undefined {
  if (ix.oddOwnerKeys > 0) return undefined;
  seen(ix, 'ioasid');
  return ix.ownerPasids.get(owner)?.get(host)?.min() ?? null;
}

/** First PASID of `space` in [from, max] that is free, or null. */
export function spaceFirstFree(ix: AllocIndex, space: string, from: number, max: number): number | null {
  seen(ix, 'ioasid');
  const ids = ix.spaces.get(space);
  const p = ids ? ids.firstFree(from) : from;
  return p <= max ? p : null;
}

/** The sum of the quotas of `host`'s sets, or null when it is not a safe integer (the caller then sums in its own order). */
export function quotaSum(ix: AllocIndex, host: string): number | null {
  seen(ix, 'ioasid-set');
  const h = ix.hosts.get(host);
  if (!h) return 0;
  // Past 2^53 a sum of doubles depends on its order: the caller sums in key order, as before.
  return h.odd === 0 && h.quota <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(h.quota) : null;
}

/** Lowest set ID in [0, limit] no set of `host` has, or null. */
export function freeSetId(ix: AllocIndex, host: string, limit: number): number | null {
  seen(ix, 'ioasid-set');
  if (limit < 0) return null;
  const ids = ix.hosts.get(host)?.sids.ids;
  const sid = ids ? ids.firstFree(0) : 0;
  return sid <= limit ? sid : null;
}

/** Whether an MM-type set of `host` holds `token`. */
export const mmTokenInUse = (ix: AllocIndex, host: string, token: string): boolean => { seen(ix, 'ioasid-set'); return (ix.hosts.get(host)?.mm.get(token) ?? 0) > 0; };

/** The set keys over their quota, in key order. */
export const overQuota = (ix: AllocIndex): string[] => { seen(ix, 'ioasid-set', 'ioasid'); return [...ix.over].sort(compareKeys); };

/** Lowest id >= 1 no iommufd object under `prefix` has (XA_FLAGS_ALLOC1). */
export function freeObjectId(ix: AllocIndex, prefix: string): number {
  seen(ix, 'iommufd');
  const ids = ix.objects.get(prefix);
  return ids ? ids.ids.firstFree(1) : 1;
}

/**
 * The keys of the iommufd objects under `prefix` in key order, when every one
 * is `${prefix}${id}` (ids ascending: the order of compareKeys); null when
 * some key is not (the caller then sorts).
 */
export function objectKeysUnder(ix: AllocIndex, prefix: string): string[] | null {
  if ((ix.objectsOdd.get(prefix) ?? 0) > 0) return null;
  seen(ix, 'iommufd');
  const out: string[] = [];
  const ids = ix.objects.get(prefix);
  if (ids) for (const id of ids.ids.values()) out.push(`${prefix}${id}`);
  return out;
}

/**
 * The key of the last iommufd object under `prefix` (key order) that no
 * object holds, null when there is none, undefined when the index cannot
 * tell (a key under the prefix that is not prefix + id).
 */
export function lastIdleObject(ix: AllocIndex, prefix: string): string | null | undefined {
  if ((ix.objectsOdd.get(prefix) ?? 0) > 0) return undefined;
  seen(ix, 'iommufd');
  const id = ix.idle.get(prefix)?.max() ?? null;
  return id === null ? null : `${prefix}${id}`;
}

/**
 * The pages of `section` under `prefix` (a root and '/') in [lo, hi),
 * ascending; null when some key of the section is not root/page (the caller
 * then scans).
 */
export function pagesIn(ix: AllocIndex, section: PageSection, prefix: string, lo: number, hi: number): number[] | null {
  const ps = ix.pages[section];
  if (ps.odd > 0) return null;
  seen(ix, section);
  return ps.byPrefix.get(prefix)?.range(lo, hi) ?? [];
}

/**
 * The ids of the iommufd objects directly under `prefix` (a fd and '/') that
 * carry `tag` (TAG), ascending (key order); null when the index cannot tell
 * (no tag for the value asked, or a key under the prefix that is not prefix +
 * id): the caller then scans.
 */
export function objectsTagged(ix: AllocIndex, prefix: string, tag: string | null): number[] | null {
  if (tag === null || (ix.objectsOdd.get(prefix) ?? 0) > 0) return null;
  seen(ix, 'iommufd');
  const ids = ix.tagged.get(`${prefix}\0${tag}`);
  return ids ? [...ids.values()] : [];
}

/**
 * Whether an object of any iommufd (every key prefix) has `tag`, or null when
 * some prefix holds a key the index cannot answer for: O(iommufd contexts).
 */
export function anyTagged(ix: AllocIndex, tag: string | null): boolean | null {
  if (tag === null || ix.objectsOdd.size > 0) return null;
  seen(ix, 'iommufd');
  for (const prefix of ix.objects.keys()) if ((ix.tagged.get(`${prefix}\0${tag}`)?.size ?? 0) > 0) return true;
  return false;
}

/** The number of iommufd objects under `prefix` with `tag`, or null (as objectsTagged()). */
export function countTagged(ix: AllocIndex, prefix: string, tag: string | null): number | null {
  if (tag === null || (ix.objectsOdd.get(prefix) ?? 0) > 0) return null;
  seen(ix, 'iommufd');
  return ix.tagged.get(`${prefix}\0${tag}`)?.size ?? 0;
}

/** Whether any iommufd object is under `prefix`, or null when some key under it is not prefix + id. */
export function anyObjectUnder(ix: AllocIndex, prefix: string): boolean | null {
  if ((ix.objectsOdd.get(prefix) ?? 0) > 0) return null;
  seen(ix, 'iommufd');
  return ix.objects.has(prefix);
}

/**
 * The IOVAs of the areas under `prefix` (fd/ioas/), ascending (the key order of
 * prefix + IOVA); null when some key under it is not prefix + IOVA (the caller
 * then scans).
 */
export function areaIovas(ix: AllocIndex, prefix: string): IdSet | null {
  if ((ix.areasOdd.get(prefix) ?? 0) > 0) return null;
  seen(ix, 'ioas-map');
  return ix.areas.get(prefix) ?? EMPTY;
}
const EMPTY = new IdSet();

/** How many PASID entries under `prefix` (a key prefix ending in '/') are present. */
export const presentUnder = (ix: AllocIndex, prefix: string): number => { seen(ix, 'pasid'); return ix.present.get(prefix) ?? 0; };

/** The pt-root keys whose cell names `ioas` (fd/id), in no particular order. */
export const rootsOfIoas = (ix: AllocIndex, ioas: string): Iterable<string> => { seen(ix, 'pt-root'); return ix.rootsByIoas.get(ioas) ?? []; };

/** The cpu-pasid keys whose first part is `vm`, in key order. */
export const cpuPasidsOfVm = (ix: AllocIndex, vm: string): string[] => { seen(ix, 'cpu-pasid'); return [...(ix.cpuByVm.get(vm) ?? [])].sort(compareKeys); };

/** The keys of the DEVICE and ACCESS objects bound to `rid` (any iommufd), in key order: callers filter by type. */
export const deviceKeysOf = (ix: AllocIndex, rid: string): string[] => { seen(ix, 'iommufd'); return [...(ix.devicesByRid.get(rid) ?? [])].sort(compareKeys); };

/** The bind keys whose present PASID entry outlives its IOASID, in key order. */
export const outliving = (ix: AllocIndex): string[] => { seen(ix, 'bind', 'pasid', 'ioasid', 'deferred'); return [...ix.outlive].sort(compareKeys); };

/** Whether deferred work is queued under `prefix` (a key prefix ending in '/'). */
export const deferredPending = (ix: AllocIndex, prefix: string): boolean => { seen(ix, 'deferred'); return (ix.deferredPrefixes.get(prefix) ?? 0) > 0; };

/** The bind keys whose second part is `pasid`, in no particular order. */
export const bindsOfPasid = (ix: AllocIndex, pasid: number): Iterable<string> => { seen(ix, 'bind'); return ix.bindsByPasid.get(pasid) ?? []; };

/** The cpu-pasid keys whose host PASID is `hpasid`, in no particular order. */
export const cpuPasidsOf = (ix: AllocIndex, hpasid: number): Iterable<string> => { seen(ix, 'cpu-pasid'); return ix.cpuByHpasid.get(hpasid) ?? []; };

/** The first PASID-entry key under `prefix` (in key order) that is present without PGSNP, or undefined. */
export function firstOpenEntry(ix: AllocIndex, prefix: string): string | undefined {
  seen(ix, 'pasid');
  const entry = ix.open.get(prefix);
  if (!entry) return undefined;
  const min = entry.ids.min();
  let best = min === null ? undefined : `${prefix}${min}`;
  for (const key of entry.odd) if (best === undefined || compareKeys(key, best) < 0) best = key;
  return best;
}

/**
 * The index of `state` against one rebuilt from the state alone: a list of
 * differences, empty when they agree (tests, after every event).
 */
export function indexDiff(state: State): string[] {
  const live = INDEXES.get(state);
  if (!live) return ['no index'];
  const fresh = build(state);
  const out: string[] = [];
  const norm = (ix: AllocIndex): Record<string, unknown> => ({
    spaces: [...ix.spaces].map(([s, ids]) => [s, [...ids.values()], ids.size]).sort((a, b) => compareKeys(String(a[0]), String(b[0]))),
    bySet: [...ix.bySet].map(([p, m]) => [p, [...m].map(([s, keys]) => [s, [...keys].sort(compareKeys)]).sort()]).sort(),
    byOwner: [...ix.byOwner].map(([o, keys]) => [o, [...keys].sort(compareKeys)]).sort(),
    ownerPasids: [...ix.ownerPasids].map(([o, m]) => [o, [...m].map(([h, ids]) => [h, [...ids.values()], ids.min()]).sort()]).sort(),
    oddOwnerKeys: ix.oddOwnerKeys,
    hosts: [...ix.hosts].map(([h, v]) => [h, String(v.quota), v.odd, [...v.sids.ids.values()], [...v.mm].sort()]).filter((x) => x[1] !== '0' || x[2] !== 0 || (x[3] as number[]).length > 0 || (x[4] as unknown[]).length > 0).sort(),
    setKeys: [...ix.setKeys].map(([h, m]) => [h, [...m].map(([n, keys]) => [n, [...keys].sort()]).sort()]).sort(),
    over: [...ix.over].sort(),
    objects: [...ix.objects].map(([p, ids]) => [p, [...ids.ids.values()]]).sort(),
    objectsOdd: [...ix.objectsOdd].sort(),
    pages: (['pt', 'dirty'] as const).map((sec) => [sec, ix.pages[sec].odd, [...ix.pages[sec].byPrefix].map(([p, ids]) => [p, [...ids.values()]]).sort()]),
    devicesByRid: [...ix.devicesByRid].map(([r, keys]) => [r, [...keys].sort()]).sort(),
    idle: [...ix.idle].map(([p, ids]) => [p, [...ids.values()], ids.max()]).sort(),
    bindDeps: [...ix.bindDeps].sort(),
    bindsByIoasid: [...ix.bindsByIoasid].map(([x, keys]) => [x, [...keys].sort()]).sort(),
    bindsByDeferred: [...ix.bindsByDeferred].map(([x, keys]) => [x, [...keys].sort()]).sort(),
    deferredPrefixes: [...ix.deferredPrefixes].sort(),
    outlive: [...ix.outlive].sort(),
    bindsByPasid: [...ix.bindsByPasid].map(([x, keys]) => [x, [...keys].sort()]).sort(),
    cpuByHpasid: [...ix.cpuByHpasid].map(([x, keys]) => [x, [...keys].sort()]).sort(),
    open: [...ix.open].map(([x, e]) => [x, [...e.ids.values()], [...e.odd].sort()]).sort(),
    areas: [...ix.areas].map(([x, ids]) => [x, [...ids.values()]]).sort(),
    areasOdd: [...ix.areasOdd].sort(),
    tagged: [...ix.tagged].map(([x, ids]) => [x, [...ids.values()]]).sort(),
    objectTags: [...ix.objectTags].sort(),
    present: [...ix.present].sort(),
    rootsByIoas: [...ix.rootsByIoas].map(([x, keys]) => [x, [...keys].sort()]).sort(),
    cpuByVm: [...ix.cpuByVm].map(([x, keys]) => [x, [...keys].sort()]).sort(),
  });
  const a = norm(live);
  const b = norm(fresh);
  for (const name of Object.keys(a)) {
    const x = JSON.stringify(a[name]);
    const y = JSON.stringify(b[name]);
    if (x !== y) out.push(`${name}: live ${x.slice(0, 300)} vs rebuilt ${y.slice(0, 300)}`);
  }
  return out;
}
