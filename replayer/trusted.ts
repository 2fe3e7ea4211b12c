// What the events say, not the file's caches of them, for a report that must
// not state a falsehood (diff): a checkpoint, or the footer's fault and
// violation lists, can be forged with valid digests. The state after an
// event is trusted when built from the empty state or from a checkpoint the
// deep check compared with the events (replayer/check.ts, adopted); else the
// events are applied from the first when that is cheap enough, and past that
// budget the state comes from the checkpoint and says so. The faults and
// violations are read from the events the same way, within a budget.
import type { State, TraceEvent } from '../engine/types.js';
import type { DiffSide } from './memory-side.js';
import { TraceReplayer } from './replayer.js';

/** Events applied from the empty state rather than start from an unchecked checkpoint (about a second at most). */
export const REPLAY_BUDGET = 1 << 18;

export interface SideState {
  state: State;
  /** The event after which the unchecked checkpoint the state was built from lies, or null: built from the events or a checked checkpoint. */
  unchecked: number | null;
}

/** The state after event n (-1: before the first), trusted when the budget allows. */
export function trustedState(S: DiffSide, n: number, budget = REPLAY_BUDGET): SideState {
  if (!(S instanceof TraceReplayer) || n < 0) return { state: S.stateAt(n), unchecked: null };
  const cp = S.stateUnchecked(n);
  if (cp === null) return { state: S.stateAt(n), unchecked: null };
  if (n + 1 <= budget) return { state: S.replayedState(n), unchecked: null };
  return { state: S.stateAt(n), unchecked: cp };
}

/** Events read from the first when the footer's fault and violation lists are unchecked (per side, per diff). */
export const SCAN_BUDGET = 1 << 20;

export interface Problems {
  /** The fault and violation events at or after `from`, in order, at most `cap`. */
  events: TraceEvent[];
  /** Where reading stopped at the budget: faults and violations from this step on were not read (null: all were). */
  unreadFrom: number | null;
}

/**
 * The faults and violations from step `from` on, found in the events
 * themselves unless the side's lists are already the events' own (an
 * in-memory run, or a trace whose claims the check has compared).
 */
export function problemsFrom(S: DiffSide, from: number, cap: number, budget = SCAN_BUDGET): Problems {
  if (!(S instanceof TraceReplayer) || S.claims !== 'unchecked') {
    const at = [...S.faults, ...S.violations].filter((n) => n >= from).sort((x, y) => x - y).slice(0, cap);
    return { events: at.map((n) => S.event(n)), unreadFrom: null };
  }
  const events: TraceEvent[] = [];
  const end = Math.min(S.count, from + budget);
  for (let p = from; p < end && events.length < cap; p += 4096) {
    for (const ev of S.events(p, Math.min(end, p + 4096))) {
      if ((ev.kind === 'fault' || ev.kind === 'violation') && events.length < cap) events.push(ev);
    }
  }
  return { events, unreadFrom: end < S.count && events.length < cap ? end : null };
}
