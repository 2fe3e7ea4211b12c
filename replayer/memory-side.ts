// A diff side over events held in memory (the engine's run() output): the
// same reading surface as a trace file's Replayer, so `iotrace diff`'s logic
// is tested without files and can compare a scenario run with a recording.
import { apply } from '../engine/apply.js';
import { forgetCacheLines, indexedTouch } from '../engine/caches.js';
import { cloneState, emptyState } from '../engine/state.js';
import type { State, TraceEvent } from '../engine/types.js';
import type { Replayer } from './api.js';

/** What the diff reads from each side. */
export type DiffSide = Pick<Replayer, 'count' | 'event' | 'events' | 'stateAt' | 'faults' | 'violations'>;

/** States are rebuilt from the nearest multiple of this many events. */
const EVERY = 1024;

export class MemorySide implements DiffSide {
  readonly count: number;
  readonly faults: readonly number[];
  readonly violations: readonly number[];
  private readonly marks = new Map<number, State>();

  constructor(private readonly list: readonly TraceEvent[]) {
    this.count = list.length;
    const faults: number[] = [];
    const violations: number[] = [];
    list.forEach((ev, n) => { if (ev.kind === 'fault') faults.push(n); else if (ev.kind === 'violation') violations.push(n); });
    this.faults = faults;
    this.violations = violations;
  }

  event(n: number): TraceEvent {
    const ev = this.list[n];
    if (!ev) throw new RangeError(`step ${n} is outside 0..${this.count - 1}`);
    return ev;
  }

  events(from: number, to: number): TraceEvent[] { return this.list.slice(Math.max(0, from), Math.max(0, Math.min(this.count, to))); }

  stateAt(n: number): State {
    if (n < -1 || n >= this.count) throw new RangeError(`step ${n} is outside 0..${this.count - 1}`);
    // The latest cached state at a multiple of EVERY at or before n, extended.
    let at = Math.floor((n + 1) / EVERY) * EVERY - 1;
    while (at >= 0 && !this.marks.has(at)) at -= EVERY;
    const state = at >= 0 ? cloneState(this.marks.get(at) as State) : emptyState();
    // Its cache lines indexed while it is extended (replayer.ts applyRange does the same), then handed out plain.
    const touch = indexedTouch(state);
    for (let k = at + 1; k <= n; k++) {
      apply(state, this.list[k] as TraceEvent, touch);
      if ((k + 1) % EVERY === 0 && !this.marks.has(k)) this.marks.set(k, cloneState(state));
    }
    forgetCacheLines(state);
    return state;
  }
}
