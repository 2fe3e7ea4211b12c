// A threaded trace's schedule: the thread each of its sched events picked,
// in order (engine/threads.ts scheduleOf), read a window of events at a time
// so that a long trace is never held whole in memory (a what-if on a
// 10 M-event trace held every event at once: 1.18 GB). A damaged chunk ends
// the walk: the schedule is what can be read.
import { scheduleOf } from '../engine/threads.js';
import type { TraceEvent } from '../engine/types.js';
import { TraceError } from '../trace/format.js';
import type { Replayer } from './api.js';

const WINDOW = 4096;

function* readable(r: Replayer): Generator<TraceEvent> {
  for (let from = 0; from < r.count; from += WINDOW) {
    let evs: TraceEvent[];
    try { evs = r.events(from, Math.min(r.count, from + WINDOW)); } catch (e) {
      if (e instanceof TraceError) return;
      throw e;
    }
    yield* evs;
  }
}

export const recordedSchedule = (r: Replayer): string[] => scheduleOf(readable(r));
