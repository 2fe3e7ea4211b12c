// Diff of two traces: the common prefix (whole chunks compared by the SHA-256
// of their bytes when both sides are trace files), the first divergence, the alignment of the rest,
// where the hardware states part and how, differences by kind, and the faults
// and violations that happen on one side only. The CLI and the TUI both read
// this report. "The same" is exact: the common prefix and `same` count
// events equal in every field but seq; the same event at another tick, step
// or source line is retimed (counted apart, never identical).
import { apply, type Touch } from '../engine/apply.js';
import { TraceError } from '../trace/format.js';
import { summarize } from '../engine/summary.js';
import { cloneState } from '../engine/state.js';
import type { EventKind, State, TraceEvent } from '../engine/types.js';
import { align, type AlignOptions, type RowOp, type Segment } from './align.js';
import type { CellRef } from './api.js';
import { commonPrefix, type CommonPrefix } from './common-prefix.js';
import { AlignedRows } from './diff-rows.js';
import { changedFields, identicalEvent, identityOf } from './identity.js';
import type { DiffSide } from './memory-side.js';
import { TraceReplayer } from './replayer.js';
import { diffStates, type StateDiff } from './state-diff.js';
import { problemsFrom, trustedState } from './trusted.js';

export interface Divergence {
  /** Steps where A and B first part (all earlier steps are identical events). */
  a: number;
  b: number;
  /** How the first differing row aligns: 't' same event at another tick / step / obs; '~' same event, other fields; '-' only in A; '+' only in B; '?' not aligned. */
  op: Exclude<RowOp, '='> | '?';
  eventA: TraceEvent | null;
  eventB: TraceEvent | null;
  /** For 't' and '~': the fields that differ (tick, step and obs included). */
  fields: string[];
  /** A's state vs B's state after that row. */
  state: StateDiff;
  /** Per side, the event after which the unchecked checkpoint its state there was built from lies (null: built from the events or a checked checkpoint). */
  unchecked: Unchecked;
}

export interface Unchecked { a: number | null; b: number | null }

export interface Problem { side: 'a' | 'b'; step: number; kind: 'fault' | 'violation'; identity: string; text: string; reason: number | null }

export interface KindCounts { onlyInA: number; onlyInB: number; changed: number }

export interface TraceDiff {
  /** null: every event both damaged files still hold agrees, and what one of them lost cannot be compared. */
  identical: boolean | null;
  /** Per side, how many events a damaged trace (read up to its damage) still holds; null when the side is whole. */
  damaged: { a: number | null; b: number | null };
  countA: number;
  countB: number;
  commonPrefix: number;
  /** What the index let us skip without decoding (trace files only). */
  skipped: CommonPrefix | null;
  firstDivergence: Divergence | null;
  /** The first aligned row after which A's and B's states differ, and the diff there. */
  statesPart: { a: number; b: number; diff: StateDiff; unchecked: Unchecked } | null;
  segments: Segment[];
  /** Identical rows (seq aside), the common prefix included. */
  same: number;
  /** The same event and outcome at another tick, step or obs: not in byKind, which counts differences of what happened. */
  retimed: number;
  changed: number;
  onlyInA: number;
  onlyInB: number;
  byKind: Partial<Record<EventKind, KindCounts>>;
  faultsOnlyInA: Problem[];
  faultsOnlyInB: Problem[];
  /** Per side, the step from which the unaligned rest's faults and violations were not read (the budget ran out), or null. */
  problemsUnread: { a: number | null; b: number | null };
  /** Alignment gave up here (too different / budget): the rest is summarised, not aligned. */
  stopped: { a: number; b: number; reason: string } | null;
  failedWindows: number;
}

export interface DiffOptions extends Omit<AlignOptions, 'from' | 'visit'> {
  /** Aligned rows walked after the divergence looking for where the states part. */
  stateRows?: number;
  /** Faults / violations decoded from the unaligned rest, per side. */
  maxProblems?: number;
  /** Events of the unaligned rest read for them, per side, when its lists are unchecked (trusted.ts SCAN_BUDGET). */
  scanEvents?: number;
  /** Events applied from the first rather than start a state from an unchecked checkpoint (trusted.ts REPLAY_BUDGET). */
  replayEvents?: number;
}

const isTrace = (s: DiffSide): s is TraceReplayer => s instanceof TraceReplayer;

/** The events a damaged trace still holds (read up to the damage), or null for a whole one. */
const recovered = (S: DiffSide): number | null => (isTrace(S) && S.truncated ? S.count : null);

/** Events 0 .. n-1 are identical in both (every field but seq); n is the first step where they differ (or the shorter length). */
export function prefixLength(A: DiffSide, B: DiffSide): { events: number; skipped: CommonPrefix | null } {
  const skipped = isTrace(A) && isTrace(B) ? commonPrefix(A, B) : null;
  let p = skipped?.events ?? 0;
  const n = Math.min(A.count, B.count);
  while (p < n) {
    const to = Math.min(n, p + 4096);
    const wa = A.events(p, to);
    const wb = B.events(p, to);
    for (let k = 0; k < wa.length; k++) if (!identicalEvent(wa[k] as TraceEvent, wb[k] as TraceEvent)) return { events: p + k, skipped };
    p = to;
  }
  return { events: n, skipped };
}

/** Only the first divergence: the cheap question (index, then one chunk per side). */
export function firstDivergence(A: DiffSide, B: DiffSide): { a: number; b: number } | null {
  const { events } = prefixLength(A, B);
  return events === A.count && events === B.count ? null : { a: events, b: events };
}

export function diffTraces(A: DiffSide, B: DiffSide, opts: DiffOptions = {}): TraceDiff {
  const { events: prefix, skipped } = prefixLength(A, B);
  const probs = { a: new Map<string, TraceEvent[]>(), b: new Map<string, TraceEvent[]>() };
  const note = (side: 'a' | 'b', ev: TraceEvent | null): void => {
    if (!ev || (ev.kind !== 'fault' && ev.kind !== 'violation')) return;
    const id = identityOf(ev);
    const m = probs[side];
    let l = m.get(id);
    if (!l) m.set(id, (l = []));
    l.push(ev);
  };
  const byKind: Partial<Record<EventKind, KindCounts>> = {};
  const bump = (kind: EventKind, what: keyof KindCounts): void => { (byKind[kind] ??= { onlyInA: 0, onlyInB: 0, changed: 0 })[what]++; };
  const counts = { same: prefix, retimed: 0, changed: 0, onlyInA: 0, onlyInB: 0 };
  const al = align(A, B, {
    ...opts, from: prefix,
    visit: (op, x, y) => {
      note('a', x);
      note('b', y);
      if (op === '=') counts.same++;
      else if (op === 't') counts.retimed++;
      else if (op === '~') { counts.changed++; bump((x as TraceEvent).kind, 'changed'); } else if (op === '-') { counts.onlyInA++; bump((x as TraceEvent).kind, 'onlyInA'); } else { counts.onlyInB++; bump((y as TraceEvent).kind, 'onlyInB'); }
    },
  });
  // Faults and violations in the unaligned rest still count, as far as the cap allows: read from the
  // events (the footer's lists are unchecked claims), within a budget.
  const problemsUnread = { a: null as number | null, b: null as number | null };
  if (al.stopped) {
    const cap = opts.maxProblems ?? 2000;
    for (const [side, S, from] of [['a', A, al.stopped.a], ['b', B, al.stopped.b]] as const) {
      const found = problemsFrom(S, from, cap, opts.scanEvents);
      for (const ev of found.events) note(side, ev);
      problemsUnread[side] = found.unreadFrom;
    }
  }
  const only = (side: 'a' | 'b'): Problem[] => {
    const mine = probs[side];
    const theirs = probs[side === 'a' ? 'b' : 'a'];
    const out: Problem[] = [];
    for (const [id, evs] of mine) {
      for (const ev of evs.slice(theirs.get(id)?.length ?? 0)) {
        out.push({ side, step: ev.seq, kind: ev.kind as 'fault' | 'violation', identity: id, text: summarize(ev), reason: ev.kind === 'fault' ? ev.reason : null });
      }
    }
    return out.sort((x, y) => x.step - y.step);
  };
  const aligned = A.count === B.count && al.segments.every((s) => s.op === '=');
  const damaged = { a: recovered(A), b: recovered(B) };
  // Every event both hold agrees up to where a damaged side's events end: what it lost cannot be compared.
  const agreeSoFar = prefix >= Math.min(damaged.a ?? Infinity, damaged.b ?? Infinity);
  const identical = agreeSoFar ? null : aligned;
  const walk = identical !== false ? { first: null, part: null } : walkStates(A, B, al.segments, prefix, opts.stateRows ?? 100_000, opts.replayEvents);
  return {
    identical, damaged, countA: A.count, countB: B.count, commonPrefix: prefix, skipped,
    firstDivergence: walk.first, statesPart: walk.part, segments: al.segments,
    ...counts, byKind, faultsOnlyInA: only('a'), faultsOnlyInB: only('b'), problemsUnread, stopped: al.stopped, failedWindows: al.failedWindows,
  };
}

/**
 * apply(), with an event whose fields do not fit its kind (a forged or
 * damaged chunk with valid checksums) reported as damage at its chunk, as
 * the replayer reports it, instead of the TypeError apply() throws.
 */
function applyOrDamage(S: DiffSide, state: State, ev: TraceEvent, touch: Touch): void {
  try { apply(state, ev, touch); } catch (e) {
    if (e instanceof TraceError) throw e;
    let offset = 0;
    if (isTrace(S)) for (const c of S.chunks) { if (c.first > ev.seq) break; offset = c.offset; }
    throw new TraceError(`event ${ev.seq} (${String(ev.kind)}) does not apply to the state: ${e instanceof Error ? e.message : String(e)}`, offset);
  }
}

/**
 * From the first differing row on, apply each side's events to its own copy
 * of the (shared) state before the divergence. The states agree until some
 * row writes a cell differently, so comparing the cells each row wrote is
 * exact and keeps the walk linear.
 */
function walkStates(A: DiffSide, B: DiffSide, segments: Segment[], prefix: number, maxRows: number, budget?: number): { first: Divergence | null; part: TraceDiff['statesPart'] } {
  const rows = new AlignedRows(segments);
  // Rows 0 .. prefix-1 are the common prefix, so row `prefix` is the first that differs.
  if (prefix >= rows.count) return { first: null, part: null };
  // Events 0 .. prefix-1 are the same on both sides, so either side's trusted state there is both sides' base.
  let base = trustedState(A, prefix - 1, budget);
  if (base.unchecked !== null) { const other = trustedState(B, prefix - 1, 0); if (other.unchecked === null) base = other; }
  const unchecked = { a: base.unchecked, b: base.unchecked };
  const sa: State = cloneState(base.state);
  const sb: State = cloneState(base.state);
  const all = new Map<string, CellRef>();
  let now = new Map<string, CellRef>();
  const touch = (section: CellRef['section'], key: string): void => {
    const id = `${section}\u0000${key}`;
    const c = { section, key };
    now.set(id, c);
    all.set(id, c);
  };
  let first: Divergence | null = null;
  const end = Math.min(rows.count, prefix + maxRows);
  for (let r = prefix; r < end; r++) {
    const row = rows.row(r);
    const x = row.a === null ? null : A.event(row.a);
    const y = row.b === null ? null : B.event(row.b);
    now = new Map();
    if (x) applyOrDamage(A, sa, x, touch);
    if (y) applyOrDamage(B, sb, y, touch);
    const d = diffStates(sa, sb, 200, [...now.values()]);
    // Row `prefix` holds A's or B's event `prefix`, and those are not identical: never a '=' row.
    first ??= {
      a: row.a ?? row.aUpTo + 1, b: row.b ?? row.bUpTo + 1, op: row.op as Divergence['op'], eventA: x, eventB: y,
      fields: x && y ? changedFields(x, y) : [], state: d, unchecked,
    };
    if (d.changed > 0) return { first, part: { a: row.aUpTo, b: row.bUpTo, diff: diffStates(sa, sb, 200, [...all.values()]), unchecked } };
  }
  return { first, part: null };
}
