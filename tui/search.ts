// `/` search and the `t` kind filter: parsing what the user typed into a
// SearchQuery, and scanning the trace in blocks (synchronously for the
// filter's short hops, in slices that yield to the UI for a search).
import type { EventKind, TraceEvent } from '../engine/types.js';
import type { Replayer, SearchQuery } from '../replayer/api.js';
import { kindsOf, matches } from '../replayer/search.js';

// The one matcher and the kind/family names live in replayer/search.ts (iotrace events uses them too).
export { kindsOf };

function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] !== undefined ? `"${m[1]}` : (m[2] as string));
  return out;
}

const RID = /^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i;
const CMD = /^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/;

/**
 * Search syntax, words combined with AND:
 *   fault, pasid-write, table      a kind or a family (several: any of them)
 *   kind:<kind|family>             the same, explicitly
 *   00:02.0  rid:00:02.0           requester id
 *   pasid:5  pasid=0x5             any PASID the event carries (host, guest, virtual,
 *                                  in ioctl arguments and outputs, ENQCMD's MSR value)
 *   IOMMU_HWPT_ALLOC  cmd:name     ioctl or kernel call
 *   thread:t1                      the thread of a threaded run
 *   anything else, "quoted text"   case-insensitive text in the one-line summary
 */
export function parseQuery(text: string): SearchQuery {
  const q: SearchQuery = {};
  const kinds: EventKind[] = [];
  const free: string[] = [];
  for (const tok of tokens(text.trim())) {
    if (tok.startsWith('"')) { free.push(tok.slice(1)); continue; }
    const m = /^(kind|rid|pasid|cmd|thread)[:=](.+)$/i.exec(tok);
    const field = m?.[1]?.toLowerCase();
    const value = m?.[2] ?? tok;
    if (field === 'kind' || (!field && kindsOf(tok))) {
      const ks = kindsOf(value);
      if (ks) { kinds.push(...ks); continue; }
    }
    if (field === 'rid' || (!field && RID.test(tok))) { q.rid = value.toLowerCase(); continue; }
    if (field === 'pasid' && /^(0x[0-9a-f]+|\d+)$/i.test(value)) { q.pasid = Number(value); continue; }
    if (field === 'cmd' || (!field && CMD.test(tok))) { q.cmd = value; continue; }
    if (field === 'thread') { q.thread = value; continue; }
    free.push(tok);
  }
  if (kinds.length) q.kinds = [...new Set(kinds)];
  if (free.length) q.text = free.join(' ');
  return q;
}

export function describe(q: SearchQuery): string {
  const parts: string[] = [];
  if (q.kinds) parts.push(q.kinds.length > 4 ? `${q.kinds.length} kinds` : q.kinds.join('|'));
  if (q.rid !== undefined) parts.push(`rid ${q.rid}`);
  if (q.pasid !== undefined) parts.push(`pasid ${q.pasid}`);
  if (q.cmd !== undefined) parts.push(q.cmd);
  if (q.thread !== undefined) parts.push(`thread ${q.thread}`);
  if (q.text !== undefined) parts.push(`"${q.text}"`);
  return parts.join(' ') || '(everything)';
}

const BLOCK = 4096;

/**
 * First n going `dir` from `from` (exclusive) with pred(event) true, examining
 * at most `budget` events. `next` is the first index not examined (-1 or
 * count at the ends). Reads whole blocks through events().
 */
export function scan(r: Replayer, pred: (ev: TraceEvent) => boolean, from: number, dir: 1 | -1, budget = Infinity): { found: number | null; next: number } {
  let n = from + dir;
  let left = budget;
  while (n >= 0 && n < r.count && left > 0) {
    const take = Math.min(BLOCK, left);
    const lo = dir === 1 ? n : Math.max(0, n - take + 1);
    const hi = dir === 1 ? Math.min(r.count, n + take) : n + 1;
    const evs = r.events(lo, hi);
    if (dir === 1) {
      for (let i = 0; i < evs.length; i++) if (pred(evs[i] as TraceEvent)) return { found: lo + i, next: lo + i + 1 };
      n = hi;
    } else {
      for (let i = evs.length - 1; i >= 0; i--) if (pred(evs[i] as TraceEvent)) return { found: lo + i, next: lo + i - 1 };
      n = lo - 1;
    }
    left -= hi - lo;
  }
  return { found: null, next: n };
}

export interface AsyncSearch {
  promise: Promise<number | null>;
  cancel(): void;
}

/**
 * The first n with pred true going `dir` from `from` (exclusive) up to `end`
 * (exclusive), in slices of `slice` events that yield to the event loop
 * between them, so the screen stays live (progress, Esc cancels).
 */
export function scanAsync(r: Replayer, pred: (ev: TraceEvent) => boolean, from: number, dir: 1 | -1, end: number, onProgress: (done: number) => void, slice = 200_000): AsyncSearch {
  let cancelled = false;
  const promise = (async (): Promise<number | null> => {
    let at = from;
    let done = 0;
    await Promise.resolve(); // the caller holds the handle before any progress report
    while (!cancelled) {
      const left = Math.abs(end - at) - 1;
      if (left <= 0) return null;
      const { found, next } = scan(r, pred, at, dir, Math.min(slice, left));
      if (found !== null) return found;
      done += Math.abs(next - at) - 1;
      at = next - dir;
      if (next < 0 || next >= r.count) return null;
      onProgress(done);
      await new Promise((res) => setImmediate(res));
    }
    return null;
  })();
  return { promise, cancel: () => { cancelled = true; } };
}

/** A search: from `from` to the end in `dir`, then once more from the other end back to `from` (it wraps once). */
export function searchAsync(r: Replayer, q: SearchQuery, from: number, dir: 1 | -1, onProgress: (done: number) => void, slice = 200_000): AsyncSearch {
  const pred = (ev: TraceEvent): boolean => matches(ev, q);
  let job = scanAsync(r, pred, from, dir, dir === 1 ? r.count : -1, onProgress, slice);
  let cancelled = false;
  const promise = job.promise.then((n) => {
    if (n !== null || cancelled) return n;
    const base = Math.abs((dir === 1 ? r.count : -1) - from) - 1;
    job = scanAsync(r, pred, dir === 1 ? -1 : r.count, dir, from + dir, (d) => onProgress(base + d), slice);
    return job.promise;
  });
  return { promise, cancel: () => { cancelled = true; job.cancel(); } };
}
