// Aligning two event streams by meaning: each event becomes its identity
// (replayer/identity.ts) and the `diff` package's Myers diff (diffArrays)
// aligns the identity sequences, so an extra invalidation on one side is one
// inserted event, not every later event "changed".
//
// The work is bounded three ways, so two very different traces give a summary
// quickly instead of a stall:
//  * a window: W events of each side at a time; the alignment is committed up
//    to a cut `margin` events before the window's end (an edit near the edge
//    may belong with events past it) and the next window starts at the cut,
//    so memory is O(W) whatever the traces' length;
//  * maxEditLength (and a timeout) per window: a window that needs more edits
//    than that is taken as a replaced block;
//  * after `maxFailures` such windows in a row, or past the total time budget,
//    alignment stops and says where; the caller summarises the rest.
//
// Within a hunk (events removed from A next to events added to B), events of
// the same kind are paired in order (again with diffArrays, over kinds): a
// DMA to PASID 1 in A facing a DMA to PASID 5 in B is one *changed* event.
//
// A pair of the same event and outcome is '=' only when it is identical (tick,
// step and obs too, replayer/identity.ts identicalEvent); otherwise it is
// *retimed* ('t'): what a schedule or an earlier insertion does to every later
// event, told apart from a change of what happened.
import { diffArrays } from 'diff';
import type { TraceEvent } from '../engine/types.js';
import { identicalEvent, identityOf, sameEvent } from './identity.js';

/** What the aligner reads: a Replayer, or an array (replayer/memory-side.ts). */
export interface EventSource {
  readonly count: number;
  /** Events from .. to-1. */
  events(from: number, to: number): TraceEvent[];
}

/**
 * A run of alignment rows. '=' identical events (seq aside), 't' the same
 * event and outcome at another tick, step or obs (retimed), '~' same event (or
 * same kind in a hunk) with different fields, '-' only in A, '+' only in B,
 * '?' not aligned (alignment stopped: the rest of each side, side by side by
 * position).
 */
export type Segment =
  | { op: '=' | 't' | '~'; a: number; b: number; n: number }
  | { op: '-'; a: number; n: number }
  | { op: '+'; b: number; n: number }
  | { op: '?'; a: number; b: number; na: number; nb: number };

export type RowOp = '=' | 't' | '~' | '-' | '+';

/** How two events paired on one row compare. */
export const pairOp = (x: TraceEvent, y: TraceEvent): '=' | 't' | '~' => (identicalEvent(x, y) ? '=' : sameEvent(x, y) ? 't' : '~');
/** Called once per aligned row after `from`, in order; A's or B's event is null for '+' / '-'. */
export type RowVisitor = (op: RowOp, a: TraceEvent | null, b: TraceEvent | null) => void;

export interface AlignOptions {
  /** Both streams are known to agree on events 0 .. from-1 (not decoded, not visited). */
  from?: number;
  window?: number;
  margin?: number;
  maxEditLength?: number;
  /** Per window, ms (diff's own timeout). */
  timeout?: number;
  /** Whole alignment, ms. */
  budgetMs?: number;
  /** Failed windows in a row before giving up. */
  maxFailures?: number;
  /** Segments kept before giving up (memory bound for traces that differ everywhere). */
  maxSegments?: number;
  visit?: RowVisitor;
}

export interface Alignment {
  segments: Segment[];
  /** Where and why alignment gave up, or null when both streams were aligned to their ends. */
  stopped: { a: number; b: number; reason: string } | null;
  /** Windows whose edit script exceeded maxEditLength (taken as replaced blocks). */
  failedWindows: number;
}

/** The first, cheap attempt after a difference (most differences are a few events long). */
const SMALL_WINDOW = 512;

export const ALIGN_DEFAULTS = {
  window: 4096, margin: 256, maxEditLength: 512, timeout: 200, budgetMs: 20_000, maxFailures: 16, maxSegments: 1_000_000,
} as const;

class Segments {
  readonly list: Segment[] = [];
  /** Add n rows starting at A position a / B position b (the side an op lacks is ignored). */
  push(op: RowOp, a: number, b: number, n = 1): void {
    const last = this.list[this.list.length - 1];
    if (last?.op === op) {
      if ((last.op === '=' || last.op === 't' || last.op === '~') && last.a + last.n === a && last.b + last.n === b) { last.n += n; return; }
      if (last.op === '-' && last.a + last.n === a) { last.n += n; return; }
      if (last.op === '+' && last.b + last.n === b) { last.n += n; return; }
    }
    if (op === '-') this.list.push({ op, a, n });
    else if (op === '+') this.list.push({ op, b, n });
    else this.list.push({ op, a, b, n });
  }
}

/** Align A[from..] with B[from..]. */
export function align(A: EventSource, B: EventSource, opts: AlignOptions = {}): Alignment {
  const o = { ...ALIGN_DEFAULTS, ...opts };
  const from = opts.from ?? 0;
  const segs = new Segments();
  const visit = opts.visit;
  if (from > 0) segs.push('=', 0, 0, from);
  let i = from;
  let j = from;
  let failures = 0;
  let failedWindows = 0;
  let stopped: Alignment['stopped'] = null;
  const t0 = performance.now();

  // Positions come from the window offsets, not from ev.seq, so any source works.
  const row = (op: RowOp, x: TraceEvent | null, y: TraceEvent | null, a: number, b: number): void => {
    segs.push(op, a, b);
    visit?.(op, x, y);
  };
  /** Emit a hunk: A's removed events (from A position a0) facing B's added ones (from b0), same kinds paired in order. */
  const hunk = (rem: TraceEvent[], a0: number, add: TraceEvent[], b0: number): void => {
    const kinds = rem.length && add.length
      ? diffArrays(rem.map((e) => e.kind), add.map((e) => e.kind), { maxEditLength: o.maxEditLength, timeout: o.timeout })
      : undefined;
    if (!kinds) {
      rem.forEach((x, k) => row('-', x, null, a0 + k, 0));
      add.forEach((y, k) => row('+', null, y, 0, b0 + k));
      return;
    }
    let p = 0;
    let q = 0;
    for (const c of kinds) {
      for (let k = 0; k < c.count; k++) {
        if (c.removed) { row('-', rem[p] as TraceEvent, null, a0 + p, 0); p++; } else if (c.added) { row('+', null, add[q] as TraceEvent, 0, b0 + q); q++; } else {
          const x = rem[p] as TraceEvent;
          const y = add[q] as TraceEvent;
          row(pairOp(x, y), x, y, a0 + p, b0 + q);
          p++;
          q++;
        }
      }
    }
  };

  /**
   * Diff two windows by identity and choose the cut: the last point on a
   * common run that keeps `margin` events from the ends of windows that do
   * not reach their trace's end. No cut (0, 0): the window is too different.
   */
  const plan = (xa: TraceEvent[], xb: TraceEvent[], endA: boolean, endB: boolean, margin: number) => {
    const changes = diffArrays(xa.map(identityOf), xb.map(identityOf), { maxEditLength: o.maxEditLength, timeout: o.timeout });
    let cutA = 0;
    let cutB = 0;
    if (!changes) return { changes, cutA, cutB };
    if (endA && endB) return { changes, cutA: xa.length, cutB: xb.length };
    const limA = endA ? xa.length : xa.length - margin;
    const limB = endB ? xb.length : xb.length - margin;
    let pa = 0;
    let pb = 0;
    let firstRunEnd: [number, number] | null = null;
    for (const c of changes) {
      if (!c.added && !c.removed) {
        const k = Math.min(c.count, limA - pa, limB - pb);
        if (k > 0 || (k === 0 && (pa > 0 || pb > 0))) { cutA = pa + k; cutB = pb + k; }
        firstRunEnd ??= [pa + c.count, pb + c.count];
      }
      if (!c.added) pa += c.count;
      if (!c.removed) pb += c.count;
    }
    // Edits fill the window up to its limits: commit through the first common run anyway.
    if (cutA === 0 && cutB === 0 && firstRunEnd) [cutA, cutB] = firstRunEnd;
    return { changes, cutA, cutB };
  };

  while (i < A.count || j < B.count) {
    if (performance.now() - t0 > o.budgetMs) { stopped = { a: i, b: j, reason: `time budget of ${o.budgetMs} ms spent` }; break; }
    if (segs.list.length > o.maxSegments) { stopped = { a: i, b: j, reason: `more than ${o.maxSegments} runs of differences` }; break; }
    let wa = A.events(i, Math.min(A.count, i + o.window));
    let wb = B.events(j, Math.min(B.count, j + o.window));
    // Fast path: between differences the streams run in lockstep (with some
    // offset); commit the run of the same events (identical or retimed)
    // without building identities or diffing.
    let k = 0;
    const lim = Math.min(wa.length, wb.length);
    for (; k < lim; k++) {
      const x = wa[k] as TraceEvent;
      const y = wb[k] as TraceEvent;
      const op = pairOp(x, y);
      if (op === '~') break;
      row(op, x, y, i + k, j + k);
    }
    if (k > 0) {
      i += k;
      j += k;
      // A full equal window: fetch the next one; otherwise diff from the first difference.
      if (k === lim && (i < A.count && j < B.count)) continue;
      wa = wa.slice(k);
      wb = wb.slice(k);
      if (i + wa.length < A.count) wa = A.events(i, Math.min(A.count, i + o.window));
      if (j + wb.length < B.count) wb = B.events(j, Math.min(B.count, j + o.window));
      if (wa.length === 0 && wb.length === 0) continue;
    }
    // One side has ended: the rest of the other is only on that side (no diff, no failure).
    if (wa.length === 0 || wb.length === 0) {
      hunk(wa, i, wb, j);
      i += wa.length;
      j += wb.length;
      continue;
    }
    const endA = i + wa.length >= A.count;
    const endB = j + wb.length >= B.count;
    const atEnd = endA && endB;
    // Differences are usually local: try a small window first, the whole one if that finds no cut.
    const small = Math.min(o.window, SMALL_WINDOW);
    let p = wa.length > small || wb.length > small
      ? plan(wa.slice(0, small), wb.slice(0, small), endA && wa.length <= small, endB && wb.length <= small, Math.min(o.margin, small >> 3))
      : null;
    if (!p || (p.cutA === 0 && p.cutB === 0)) p = plan(wa, wb, endA, endB, o.margin);
    const { changes, cutA, cutB } = p;
    if (cutA === 0 && cutB === 0) {
      // No usable alignment in this window: take half of it as a replaced block.
      failures++;
      failedWindows++;
      const na = atEnd ? wa.length : Math.min(wa.length, Math.ceil(o.window / 2));
      const nb = atEnd ? wb.length : Math.min(wb.length, Math.ceil(o.window / 2));
      hunk(wa.slice(0, na), i, wb.slice(0, nb), j);
      i += na;
      j += nb;
      if (failures >= o.maxFailures && (i < A.count || j < B.count)) {
        stopped = { a: i, b: j, reason: `${failures} windows of ${o.window} events in a row needed more than ${o.maxEditLength} edits` };
        break;
      }
      continue;
    }
    failures = 0;
    // Commit the components up to the cut.
    let pa = 0;
    let pb = 0;
    // A hunk is the removed and added components between two common runs.
    let ha = 0;
    let hb = 0;
    for (const c of changes ?? []) {
      if (pa >= cutA && pb >= cutB) break;
      if (c.removed) { pa += Math.min(c.count, cutA - pa); continue; }
      if (c.added) { pb += Math.min(c.count, cutB - pb); continue; }
      hunk(wa.slice(ha, pa), i + ha, wb.slice(hb, pb), j + hb);
      const n = Math.min(c.count, cutA - pa, cutB - pb);
      for (let k = 0; k < n; k++) {
        const x = wa[pa + k] as TraceEvent;
        const y = wb[pb + k] as TraceEvent;
        row(pairOp(x, y), x, y, i + pa + k, j + pb + k);
      }
      pa += n;
      pb += n;
      ha = pa;
      hb = pb;
    }
    hunk(wa.slice(ha, pa), i + ha, wb.slice(hb, pb), j + hb);
    i += cutA;
    j += cutB;
  }
  if (stopped) {
    const na = A.count - stopped.a;
    const nb = B.count - stopped.b;
    if (na > 0 || nb > 0) segs.list.push({ op: '?', a: stopped.a, b: stopped.b, na, nb });
  }
  return { segments: segs.list, stopped, failedWindows };
}

/** Rows a segment occupies in a side-by-side view. */
export const segmentRows = (s: Segment): number => (s.op === '?' ? Math.max(s.na, s.nb) : s.n);
