// `W`: the next event after a point that writes a cell (Replayer.lastWriter
// is the backward one). Forward, the cells an event writes depend on the
// state it meets (an invalidation drops what is cached), so the scan folds
// every event into a private copy of the state with apply() and watches its
// touch: O(distance), in slices that yield to the UI, with progress and a
// cancel.
import { apply } from '../engine/apply.js';
import { indexedTouch } from '../engine/caches.js';
import { cloneState } from '../engine/state.js';
import type { TraceEvent } from '../engine/types.js';
import type { CellRef, Replayer } from '../replayer/api.js';

const BLOCK = 4096;

/** The scan, a block of events per step: yields how many events it has looked at; returns the writer or null. */
export function* nextWriteSteps(r: Replayer, cell: CellRef, after: number): Generator<number, number | null> {
  if (after + 1 >= r.count) return null;
  const state = cloneState(r.stateAt(after));
  let found = false;
  const touch = indexedTouch(state, (section, key) => { if (section === cell.section && key === cell.key) found = true; });
  for (let n = after + 1; n < r.count; n += BLOCK) {
    const evs = r.events(n, Math.min(r.count, n + BLOCK));
    for (let i = 0; i < evs.length; i++) {
      apply(state, evs[i] as TraceEvent, touch);
      if (found) return n + i;
    }
    yield n + evs.length - after - 1;
  }
  return null;
}

/** The first event after `after` that writes `cell`, or null (synchronous). */
export function nextWrite(r: Replayer, cell: CellRef, after: number): number | null {
  const g = nextWriteSteps(r, cell, after);
  for (;;) { const s = g.next(); if (s.done) return s.value; }
}

export interface WatchJob { promise: Promise<number | null>; cancel(): void }

/** nextWrite in slices of about `sliceMs` of work, yielding to the event loop between them (the first slice runs at once). */
export function nextWriteAsync(r: Replayer, cell: CellRef, after: number, onProgress: (done: number) => void, sliceMs = 8): WatchJob {
  let cancelled = false;
  const g = nextWriteSteps(r, cell, after);
  const promise = (async (): Promise<number | null> => {
    for (;;) {
      const t0 = performance.now();
      while (performance.now() - t0 < sliceMs) {
        if (cancelled) return null;
        const s = g.next();
        if (s.done) return s.value;
        onProgress(s.value);
      }
      await new Promise((res) => setImmediate(res));
    }
  })();
  return { promise, cancel: () => { cancelled = true; } };
}
