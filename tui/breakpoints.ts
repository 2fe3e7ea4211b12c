// Breakpoints (b, B) and where continue (c forward, C backward) stops: any
// fault and any violation come from the trace index (no event is read), a
// search expression (kind, RID, PASID, ioctl, text) is scanned for — in
// slices that yield to the UI, only as far as the next index stop, without
// wrapping. The list starts with "any fault", so c stops at faults until
// that breakpoint is turned off.
import type { TraceEvent } from '../engine/types.js';
import type { Replayer, SearchQuery } from '../replayer/api.js';
import { neighbour } from '../replayer/replayer.js';
import { matches } from '../replayer/search.js';
import { paint } from './format.js';
import { describe, parseQuery, scanAsync } from './search.js';

export type BreakTarget = { kind: 'fault' } | { kind: 'violation' } | { kind: 'query'; query: SearchQuery };
export interface Breakpoint { id: number; text: string; target: BreakTarget; enabled: boolean }

const FAULT_WORDS = new Set(['fault', 'faults', 'any fault']);
const VIOLATION_WORDS = new Set(['violation', 'violations', 'any violation']);

/** Events a continue scans between two turns of the event loop: small enough that Esc answers within a few frames. */
export const CONTINUE_SLICE = 50_000;

export type Stop = { n: number; bp: Breakpoint } | null;

/** A continue: answered at once (`now`, from the index alone), or by a background scan. */
export type ContinueJob = { now: Stop } | { promise: Promise<Stop>; cancel(): void };

export class Breakpoints {
  readonly list: Breakpoint[] = [{ id: 1, text: 'any fault', target: { kind: 'fault' }, enabled: true }];
  private nextId = 2;
  /** Row selected in the B list. */
  sel = 0;

  /** Add a breakpoint from what the user typed; returns it, or why it cannot be one. */
  add(text: string): Breakpoint | string {
    const t = text.trim().replace(/\s+/g, ' ');
    if (!t) return 'a breakpoint needs an expression: fault, violation, or a search (kind, rid:, pasid:, an ioctl, text)';
    let target: BreakTarget;
    if (FAULT_WORDS.has(t.toLowerCase())) target = { kind: 'fault' };
    else if (VIOLATION_WORDS.has(t.toLowerCase())) target = { kind: 'violation' };
    else target = { kind: 'query', query: parseQuery(t) };
    const same = this.list.find((b) => sameTarget(b.target, target));
    if (same) { same.enabled = true; return same; }
    const bp: Breakpoint = { id: this.nextId++, text: target.kind === 'query' ? describe(target.query) : target.kind === 'fault' ? 'any fault' : 'any violation', target, enabled: true };
    this.list.push(bp);
    return bp;
  }

  get enabled(): Breakpoint[] { return this.list.filter((b) => b.enabled); }

  /** Only the breakpoint the list starts with, on. */
  get isDefault(): boolean { return this.list.length === 1 && this.list[0]?.target.kind === 'fault' && this.list[0].enabled; }

  /** The first enabled breakpoint event `ev` hits, or null. */
  hit(ev: TraceEvent): Breakpoint | null {
    for (const b of this.list) {
      if (!b.enabled) continue;
      if (b.target.kind === 'fault' ? ev.kind === 'fault' : b.target.kind === 'violation' ? ev.kind === 'violation' : matches(ev, b.target.query)) return b;
    }
    return null;
  }

  /** The nearest stop the index gives (enabled fault / violation breakpoints) after / before `from`, or null. */
  private indexStop(r: Replayer, from: number, dir: 1 | -1): number | null {
    const c: number[] = [];
    for (const b of this.enabled) {
      const n = b.target.kind === 'fault' ? neighbour(r.faults, from, dir) : b.target.kind === 'violation' ? neighbour(r.violations, from, dir) : null;
      if (n !== null) c.push(n);
    }
    return c.length === 0 ? null : dir === 1 ? Math.min(...c) : Math.max(...c);
  }

  /**
   * The first event after `from` (dir 1) or before it (dir -1) that a breakpoint
   * stops at, no wrap. Synchronous when only index breakpoints are on.
   */
  next(r: Replayer, from: number, dir: 1 | -1, onProgress: (done: number, total: number) => void, slice = CONTINUE_SLICE): ContinueJob {
    const stop = this.indexStop(r, from, dir);
    const queries = this.enabled.filter((b) => b.target.kind === 'query');
    const result = (n: number | null): Stop => {
      if (n === null) return null;
      const bp = this.hit(r.event(n));
      return bp ? { n, bp } : null;
    };
    if (queries.length === 0) return { now: result(stop) };
    const pred = (ev: TraceEvent): boolean => queries.some((b) => matches(ev, (b.target as { query: SearchQuery }).query));
    // Scan only up to the index stop: a breakpoint before it wins, else the stop does.
    const end = stop ?? (dir === 1 ? r.count : -1);
    const total = Math.abs(end - from) - 1;
    const job = scanAsync(r, pred, from, dir, end, (done) => onProgress(done, total), slice);
    return { promise: job.promise.then((n) => result(n ?? stop)), cancel: () => job.cancel() };
  }

  /** The first breakpoint stop strictly between `from` and `to` in the direction of travel, and `to` itself (a play frame). */
  between(r: Replayer, from: number, to: number): Stop {
    const dir = to >= from ? 1 : -1;
    const stop = this.indexStop(r, from, dir);
    const limit = stop !== null && (dir === 1 ? stop <= to : stop >= to) ? stop : to;
    if (this.enabled.some((b) => b.target.kind === 'query')) {
      const lo = dir === 1 ? from + 1 : limit;
      const hi = dir === 1 ? limit + 1 : from;
      const evs = lo < hi ? r.events(lo, hi) : [];
      for (let i = 0; i < evs.length; i++) {
        const ev = evs[dir === 1 ? i : evs.length - 1 - i] as TraceEvent;
        const bp = this.hit(ev);
        if (bp) return { n: ev.seq, bp };
      }
    }
    if (stop === limit) { const bp = this.hit(r.event(stop)); if (bp) return { n: stop, bp }; }
    return null;
  }

  toggle(i = this.sel): void { const b = this.list[i]; if (b) b.enabled = !b.enabled; }

  remove(i = this.sel): Breakpoint | null {
    const [b] = this.list.splice(i, 1);
    this.sel = Math.max(0, Math.min(this.sel, this.list.length - 1));
    return b ?? null;
  }

  /** The B list's lines. */
  lines(): string[] {
    const out = [paint('Space or Enter toggles · d deletes · b adds · j/k select · Esc closes', 'bold'), ''];
    if (this.list.length === 0) out.push(paint('  no breakpoints: c and C then run to the ends; b adds one'));
    this.list.forEach((b, i) => {
      const what = b.target.kind === 'query' ? 'search' : 'index';
      const row = `${i === this.sel ? '›' : ' '} [${b.enabled ? 'x' : ' '}] ${String(b.id).padStart(2)}  ${b.text}  (${what})`;
      out.push(i === this.sel ? paint(row, 'inverse') : paint(row, ...(b.enabled ? [] : ['dim'])));
    });
    return out;
  }

  /** Keys of the B list (selection, toggle, delete); true when handled. */
  key(full: string): boolean {
    if (full === 'j' || full === 'down') { this.sel = Math.min(this.list.length - 1, this.sel + 1); return true; }
    if (full === 'k' || full === 'up') { this.sel = Math.max(0, this.sel - 1); return true; }
    if (full === 'space' || full === 'return' || full === 'linefeed') { this.toggle(); return true; }
    if (full === 'd' || full === 'delete') { this.remove(); return true; }
    return false;
  }
}

function sameTarget(a: BreakTarget, b: BreakTarget): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'query' || JSON.stringify(a.query) === JSON.stringify((b as { query: SearchQuery }).query);
}
