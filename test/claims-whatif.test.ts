// A what-if on a trace whose events are not what its header's scenario makes
// (redteam-lies F6): the difference is the original's, so the what-if is
// compared with the original's own re-run, never blamed on the change.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../engine/types.js';
import { loadScenario } from '../scenarios/index.js';
import { forge } from './forge.js';
import { recordTo, tmp } from './trace-helpers.js';
import { openUi, type Ui } from './tui-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });

let dir: string;
let good: string;
let forged: string;
let ui: Ui | null = null;
afterEach(() => { ui?.close(); ui = null; });
beforeAll(() => {
  dir = tmp();
  good = recordTo(dir, 'good', loadScenario('dwq-gpasid'), { pasid: 'translated' }).path;
  // The fault's reason 0x59 -> 0: a trace its own scenario does not make (verify: DIVERGES at step 40).
  forged = join(dir, 'f.iotrace');
  writeFileSync(forged, forge(good, { chunk: (_c, evs) => evs.map((e) => (e.kind === 'fault' ? { ...e, reason: 0 } as TraceEvent : e)) }));
});

describe('whatif on a trace its scenario does not make (F6)', () => {
  it('an edit that changes nothing: compared with the re-run, the same events; the line on stderr says why; exit 1', () => {
    const genuine = cli('whatif', good, '--edit-step', '0', '--set', 'note=hello');
    expect(genuine.status).toBe(0);
    expect(genuine.stdout).toMatch(/^identical: the same 41 events/m);
    expect(genuine.stderr).not.toContain('re-runs to');
    const r = cli('whatif', forged, '--edit-step', '0', '--set', 'note=hello', '--json');
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[1]).toBe("iotrace: the trace's events are not what its scenario re-runs to (first at step 40; iotrace verify names it): comparing the what-if with the re-run instead");
    const d = JSON.parse(r.stdout) as { identical: boolean; faultsOnlyInA: unknown[]; faultsOnlyInB: unknown[] };
    expect(d).toMatchObject({ identical: true, faultsOnlyInA: [], faultsOnlyInB: [] });
  });

  it('an edit that does change the events: the divergence is the change\'s (step 16 pasid=1 removes the fault), not the forgery\'s reason', () => {
    const r = cli('whatif', forged, '--edit-step', '16', '--set', 'pasid=1', '--json');
    expect(r.status).toBe(1);
    const d = JSON.parse(r.stdout) as { firstDivergence: { a: number; fields: string[] }; faultsOnlyInA: { text: string }[]; faultsOnlyInB: unknown[] };
    expect(d.firstDivergence).toMatchObject({ a: 33, fields: ['pasid'] });
    // A is the re-run: its fault is the 0x59 the scenario makes, not the forged 0x0.
    expect(d.faultsOnlyInA.map((f) => f.text)).toEqual([expect.stringMatching(/0x59/)]);
    expect(d.faultsOnlyInB).toEqual([]);
  });

  it('the debugger\'s e says the original is not its re-run and compares with the re-run', async () => {
    ui = await openUi(forged, 1, 160, 48);
    await ui.press('e');
    await ui.type('note=hello');
    await ui.d.idle();
    expect(ui.text()).toMatch(/what if scenario step 0 had note="hello": THIS TRACE'S EVENTS ARE NOT WHAT ITS SCENARIO RE-RUNS TO \(first at #40\): A is the re-run; the same events/);
  });
});
