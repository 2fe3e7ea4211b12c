// A threaded trace in the debugger, the event list and diff (issue 13 §5):
// each event's thread, the schedule's switches, two schedules compared.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../engine/run.js';
import { summarize } from '../engine/summary.js';
import { recordToFile } from '../recorder/record.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { diffTraces } from '../replayer/trace-diff.js';
import { loadScenario } from '../scenarios/index.js';

describe('threads in the event list, the debugger and diff', () => {
  it('a thread step\'s event says its thread; a set-up step\'s does not; sched events read as decisions', () => {
    const evs = [...run(loadScenario('race-quota'))];
    const alloc = evs.find((e) => e.kind === 'ioasid-alloc' && e.thread === 'vcpu1')!;
    expect(summarize(alloc)).toMatch(/^\[vcpu1\] IOASID 3 allocated/);
    expect(summarize(evs.find((e) => e.kind === 'ioasid-alloc')!)).toMatch(/^IOASID 1 allocated/);
    expect(summarize(evs.find((e) => e.kind === 'sched')!)).toBe('sched -> vcpu0 starts its next step (runnable: vcpu0, vcpu1)');
  });

  it('diff of two schedules of one scenario: the first divergence is the sched event where they part', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotrace-sched-diff-'));
    const sc = loadScenario('race-quota');
    const a = join(dir, 'a.iotrace');
    const b = join(dir, 'b.iotrace');
    recordToFile(sc, { schedule: ['vcpu0', 'vcpu0', 'vcpu1'] }, a);
    recordToFile(sc, { schedule: ['vcpu0', 'vcpu1', 'vcpu0', 'vcpu1'] }, b);
    const A = TraceReplayer.open(a);
    const B = TraceReplayer.open(b);
    try {
      const d = diffTraces(A, B);
      const first = d.firstDivergence!;
      expect(first).not.toBeNull();
      const ea = A.event(first.a);
      const eb = B.event(first.b);
      expect(ea.kind).toBe('sched');
      expect(eb.kind).toBe('sched');
      expect([ea.kind === 'sched' && ea.thread, eb.kind === 'sched' && eb.thread]).toEqual(['vcpu0', 'vcpu1']);
    } finally { A.close(); B.close(); }
  });

  it('the debugger: the thread prefix in the event list, thread switches marked s on the timeline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotrace-sched-tui-'));
    const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
    const t = join(dir, 'rq.iotrace');
    spawnSync(process.execPath, [BIN, 'record', 'race-quota', '-o', t], { encoding: 'utf8' });
    const r = spawnSync(process.execPath, [BIN, 'replay', t, '--at', '8', '--dump', '130x30'], { encoding: 'utf8' });
    expect(r.stdout).toContain('[vcpu0] IOASID 2 allocated');
    expect(r.stdout).toContain('s switch');
    expect(r.stdout).toMatch(/│·+ss▲·s··V/);
    const ev = spawnSync(process.execPath, [BIN, 'events', t, '--kind', 'sched', '--json'], { encoding: 'utf8' });
    const rows = ev.stdout.trim().split('\n').map((l) => JSON.parse(l) as { thread: string });
    expect(rows.map((x) => x.thread)).toEqual(['vcpu0', 'vcpu1', 'vcpu0', 'vcpu1']);
  });
});
