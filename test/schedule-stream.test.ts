// A threaded trace's schedule is read a window at a time (replayer/schedule.ts):
// the same list as scheduleOf over every event, never the whole trace in memory,
// and a damaged chunk ends it where the events end.
import { describe, expect, it } from 'vitest';
import { scheduleOf } from '../engine/threads.js';
import type { TraceEvent } from '../engine/types.js';
import type { Replayer } from '../replayer/api.js';
import { recordedSchedule } from '../replayer/schedule.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { TraceError } from '../trace/format.js';
import { loadScenario } from '../scenarios/index.js';
import { recordTo, tmp } from './trace-helpers.js';

/** n events, every third a sched event of thread t<k mod 3>; events past `damagedFrom` throw as a damaged chunk. */
function fake(n: number, damagedFrom = Infinity): { r: Replayer; widest: () => number } {
  let widest = 0;
  const ev = (i: number): TraceEvent => ({ seq: i, tick: i, step: 0, kind: 'sched', thread: i % 3 === 0 ? `t${(i / 3) % 3}` : null, at: 0 } as unknown as TraceEvent);
  const r = {
    count: n,
    events(from: number, to: number): TraceEvent[] {
      widest = Math.max(widest, to - from);
      if (to > damagedFrom) throw new TraceError('bad event chunk', 1234);
      const out: TraceEvent[] = [];
      for (let i = from; i < to; i++) out.push(ev(i));
      return out;
    },
  } as unknown as Replayer;
  return { r, widest: () => widest };
}

describe('recordedSchedule', () => {
  it('is scheduleOf of every event, read 4096 events at a time', () => {
    const { r, widest } = fake(100_000);
    const s = recordedSchedule(r);
    expect(s).toEqual(scheduleOf(r.events(0, 100_000)));
    expect(s).toHaveLength(33_334);
    expect(widest()).toBe(100_000); // the reference call above; the walk itself:
    const again = fake(100_000);
    recordedSchedule(again.r);
    expect(again.widest()).toBe(4096);
  });

  it('ends at a damaged window: the schedule is what can be read', () => {
    expect(recordedSchedule(fake(10_000, 8192).r)).toHaveLength(Math.ceil(8192 / 3));
  });

  it("matches a recorded threaded trace's sched events", () => {
    const sc = loadScenario('race-quota');
    const { path } = recordTo(tmp(), 'race', sc);
    const r = TraceReplayer.open(path);
    try {
      const s = recordedSchedule(r);
      expect(s.length).toBeGreaterThan(0);
      expect(s).toEqual(scheduleOf(r.events(0, r.count)));
    } finally { r.close(); }
  });
});
