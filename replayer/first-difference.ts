// The first event where two traces differ, read a window at a time and
// compared deep-equal (tick and step included): verify --source against a
// re-import, a what-if's original against its own re-run.
import { isDeepStrictEqual } from 'node:util';
import type { TraceEvent } from '../engine/types.js';
import type { Replayer } from './api.js';
import { changedFields } from './identity.js';

/** `fields`: those that differ (tick, step, obs included) when both sides have an event there. */
export interface EventDifference { step: number; a: TraceEvent | null; b: TraceEvent | null; fields: string[] }

const WINDOW = 4096;

/** Null when both hold the same events; a side that ends first has null there. */
export function firstDifference(a: Replayer, b: Replayer): EventDifference | null {
  const n = Math.max(a.count, b.count);
  for (let i = 0; i < n; i += WINDOW) {
    const wa = a.events(i, Math.min(a.count, i + WINDOW));
    const wb = b.events(i, Math.min(b.count, i + WINDOW));
    for (let k = 0; k < Math.max(wa.length, wb.length); k++) {
      const x = wa[k];
      const y = wb[k];
      if (!x || !y || !isDeepStrictEqual(x, y)) return { step: i + k, a: x ?? null, b: y ?? null, fields: x && y ? changedFields(x, y) : [] };
    }
  }
  return null;
}
