// The event queues' records (the `eventq` section, key fd/queue/index), as
// the handlers of engine/iommufd/eventq.ts ask for them: the tail, the number
// of vEVENTs, the page requests not yet read, the lowest free cookie, the
// record of a cookie, the records of an attach handle. Once each of those was
// a sort of every record of every queue, per record delivered or read: 2000
// page requests read and answered took 7 s (issue 12, "small inputs, huge
// costs").
//
// Like the allocators' indexes (engine/indexes.ts) this is a cache of the
// state: Ctx builds it from the state it is given and keeps it through the
// touch of every cell apply() writes. A queue whose keys are not all
// prefix + index (a fd name with '/' that makes another queue's keys fall
// under this prefix), and a state without the index, are answered by a scan
// of the section that finds the same records (scanView()); test/indexes.test.ts
// compares the two after every event of every built-in scenario and case.
import { CountedIds, IdSet } from '../idset.js';
import { slashPrefixes, WHOLE_SECTION_KEY } from '../indexes.js';
import { compareKeys } from '../state.js';
import type { EventqCell, SectionName, State } from '../types.js';

export interface Rec { idx: number; cell: EventqCell }

/** One queue's records in arrival order, and what the handlers look them up by. */
export interface QueueView {
  /** The last record (the tail), or undefined for an empty queue. */
  last(): Rec | undefined;
  /** The first record (the head), or undefined. */
  first(): Rec | undefined;
  /** Every record, in order. */
  all(): Rec[];
  /** How many records are vEVENTs (num_events: not the LOST_EVENTS header). */
  vevents(): number;
  /** How many records are page requests not yet read (cookie 0), and the first of them. */
  pendingCount(): number;
  firstPending(): Rec | undefined;
  /** The lowest cookie from 1 no record holds (xa_alloc in fault->response). */
  freeCookie(): number;
  /** The first record holding `cookie` (one read() handed out: > 0). */
  withCookie(cookie: number): Rec | undefined;
  /** The records of one attach handle (hwpt, dev_id, attach_pasid), in order. */
  ofHandle(hwpt: number, dev: number, pasid: number): Rec[];
}

interface Queue {
  ids: IdSet;
  /** Keys under the prefix that are not prefix + index. */
  odd: number;
  vevents: number;
  pending: IdSet;
  /** The integer cookies held (a multiset: a forged state may repeat one). */
  cookies: CountedIds;
  byCookie: Map<number, IdSet>;
  byHandle: Map<string, IdSet>;
}

/** What one record key was indexed as under its queue. */
interface Entry { idx: number; vevent: boolean; pending: boolean; cookie: number | null; handle: string | null }

const QUEUES = new WeakMap<State, Map<string, Queue>>();

const newQueue = (): Queue => ({ ids: new IdSet(), odd: 0, vevents: 0, pending: new IdSet(), cookies: new CountedIds(), byCookie: new Map(), byHandle: new Map() });
const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);
const handleOf = (hwpt: unknown, dev: unknown, pasid: unknown): string | null => (isNum(hwpt) && isNum(dev) && isNum(pasid) ? `${hwpt}/${dev}/${pasid}` : null);

function entryOf(idx: number, cell: EventqCell): Entry {
  const d = cell.data;
  return {
    idx, vevent: cell.type === 'vevent', pending: d.cookie === 0,
    cookie: typeof d.cookie === 'number' && d.cookie > 0 ? d.cookie : null,
    handle: handleOf(d.hwpt, d.dev_id, d.attach_pasid),
  };
}

function addTo(map: Map<number | string, IdSet>, key: number | string, idx: number): void {
  let ids = map.get(key);
  if (!ids) map.set(key, (ids = new IdSet()));
  ids.add(idx);
}
function removeFrom(map: Map<number | string, IdSet>, key: number | string, idx: number): void {
  const ids = map.get(key);
  ids?.delete(idx);
  if (ids?.size === 0) map.delete(key);
}

function put(q: Queue, e: Entry, sign: 1 | -1): void {
  if (sign === 1) q.ids.add(e.idx); else q.ids.delete(e.idx);
  if (e.vevent) q.vevents += sign;
  if (e.pending) { if (sign === 1) q.pending.add(e.idx); else q.pending.delete(e.idx); }
  if (e.cookie !== null) {
    if (sign === 1) { q.cookies.add(e.cookie); addTo(q.byCookie as Map<number | string, IdSet>, e.cookie, e.idx); }
    else { q.cookies.delete(e.cookie); removeFrom(q.byCookie as Map<number | string, IdSet>, e.cookie, e.idx); }
  }
  if (e.handle !== null) { if (sign === 1) addTo(q.byHandle as Map<number | string, IdSet>, e.handle, e.idx); else removeFrom(q.byHandle as Map<number | string, IdSet>, e.handle, e.idx); }
}

/**
 * Start indexing the event queues of `state` (what it holds now, in one
 * pass); the returned hook must see every cell written from then on (Ctx
 * passes it inside apply()'s touch).
 */
export function indexQueues(state: State): (section: SectionName, key: string) => void {
  const queues = new Map<string, Queue>();
  const entries = new Map<string, Entry>();
  QUEUES.set(state, queues);
  const queue = (prefix: string): Queue => { let q = queues.get(prefix); if (!q) queues.set(prefix, (q = newQueue())); return q; };
  const drop = (prefix: string, q: Queue): void => { if (q.ids.size === 0 && q.odd === 0) queues.delete(prefix); };
  const present = new Set<string>();
  const hook = (section: SectionName, key: string): void => {
    if (section !== 'eventq') return;
    const cell = state.s.eventq[key];
    const cut = key.lastIndexOf('/') + 1;
    const tail = key.slice(cut);
    const idx = Number(tail);
    const plain = cut > 0 && Number.isSafeInteger(idx) && idx >= 0 && String(idx) === tail;
    if (present.has(key) !== (cell !== undefined)) {
      if (cell) present.add(key); else present.delete(key);
      // every shorter prefix sees a key that is not prefix + index (so does the direct one when the tail is not one)
      const prefixes = slashPrefixes(key);
      for (const p of plain ? prefixes.slice(0, -1) : prefixes) { const q = queue(p); q.odd += cell ? 1 : -1; drop(p, q); }
    }
    if (!plain) return;
    const prefix = key.slice(0, cut);
    const q = queue(prefix);
    const old = entries.get(key);
    if (old) { put(q, old, -1); entries.delete(key); }
    if (cell) { const e = entryOf(idx, cell); put(q, e, 1); entries.set(key, e); }
    drop(prefix, q);
  };
  for (const key in state.s.eventq) hook('eventq', key);
  return hook;
}

/** A queue's records in arrival order, from a scan of the section. */
export function queueRecords(state: State, prefix: string): Rec[] {
  return Object.keys(state.s.eventq).filter((key) => key.startsWith(prefix)).sort(compareKeys)
    .map((key) => ({ idx: Number(key.slice(prefix.length)), cell: state.s.eventq[key] as EventqCell }));
}

/** The answers from a scan of the section, each read afresh (what the index stands for). */
function scanView(state: State, prefix: string): QueueView {
  const recs = (): Rec[] => queueRecords(state, prefix);
  return {
    last: () => { const r = recs(); return r[r.length - 1]; },
    first: () => recs()[0],
    all: recs,
    vevents: () => recs().filter((r) => r.cell.type === 'vevent').length,
    pendingCount: () => recs().filter((r) => r.cell.data.cookie === 0).length,
    firstPending: () => recs().find((r) => r.cell.data.cookie === 0),
    freeCookie: () => {
      const used = new Set(recs().map((r) => r.cell.data.cookie).filter((c) => typeof c === 'number' && c > 0));
      let c = 1;
      while (used.has(c)) c++;
      return c;
    },
    withCookie: (cookie) => recs().find((r) => r.cell.data.cookie === cookie),
    ofHandle: (hwpt, dev, pasid) => recs().filter((r) => r.cell.data.hwpt === hwpt && r.cell.data.dev_id === dev && r.cell.data.attach_pasid === pasid),
  };
}

/** The records of the queue `queue` of iommufd `fd`: from the live index when there is one, else from a scan. */
export function queueView(state: State, fd: string, queue: number): QueueView {
  const prefix = `${fd}/${queue}/`;
  const queues = QUEUES.get(state);
  const q = queues?.get(prefix) ?? (queues ? newQueue() : undefined);
  if (!q || q.odd > 0) return scanView(state, prefix);
  // What the scan tells a state that records its reads (explore/): the whole section (engine/indexes.ts).
  void (state.s.eventq as Record<string, unknown>)[WHOLE_SECTION_KEY];
  const rec = (idx: number | null | undefined): Rec | undefined => {
    if (idx === null || idx === undefined) return undefined;
    const cell = state.s.eventq[`${prefix}${idx}`];
    return cell ? { idx, cell } : undefined;
  };
  const recs = (ids: IdSet | undefined): Rec[] => [...(ids?.values() ?? [])].map((i) => rec(i)).filter((r): r is Rec => r !== undefined);
  return {
    last: () => rec(q.ids.max()),
    first: () => rec(q.ids.min()),
    all: () => recs(q.ids),
    vevents: () => q.vevents,
    pendingCount: () => q.pending.size,
    firstPending: () => rec(q.pending.min()),
    freeCookie: () => q.cookies.ids.firstFree(1),
    withCookie: (cookie) => rec(q.byCookie.get(cookie)?.min()),
    ofHandle: (hwpt, dev, pasid) => { const h = handleOf(hwpt, dev, pasid); return h === null ? [] : recs(q.byHandle.get(h)); },
  };
}

/** The index of `state` against one rebuilt from the state alone: a list of differences, empty when they agree (tests). */
export function queueIndexDiff(state: State): string[] {
  const live = QUEUES.get(state);
  if (!live) return ['no queue index'];
  const fresh = { s: state.s } as State;
  indexQueues(fresh);
  const norm = (m: Map<string, Queue>): string => JSON.stringify([...m].map(([p, q]) => [p, [...q.ids.values()], q.odd, q.vevents, [...q.pending.values()],
    [...q.cookies.ids.values()], [...q.byCookie].map(([c, ids]) => [c, [...ids.values()]]).sort(), [...q.byHandle].map(([h, ids]) => [h, [...ids.values()]]).sort()]).sort());
  const a = norm(live);
  const b = norm(QUEUES.get(fresh) as Map<string, Queue>);
  return a === b ? [] : [`queues: live ${a.slice(0, 300)} vs rebuilt ${b.slice(0, 300)}`];
}
