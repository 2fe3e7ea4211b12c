// iotrace shrink (issue 13 §3): dependency-aware delta debugging to a
// 1-minimal scenario that fails the same way; the schedule and the values.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../engine/run.js';
import type { Scenario, Step } from '../engine/scenario.js';
import { validateScenario } from '../engine/validate.js';
import { failureSignature } from '../explore/explore.js';
import { shrink } from '../explore/shrink.js';
import { loadScenario } from '../scenarios/index.js';

const FAIL_ON = new Set(['violation', 'expect', 'blocked'] as const);
const fails = (sc: Scenario, signature: string, schedule: string[] = []): boolean => {
  try {
    for (const ev of run(validateScenario(sc, sc.name), { schedule })) if (failureSignature(ev, FAIL_ON) === signature) return true;
  } catch { return false; }
  return false;
};

/** free-while-bound's failing default with padding steps around it: unrelated maps, DMA, sets, and a bound result nobody needs. */
function padded(): Scenario {
  const base = loadScenario('free-while-bound');
  const pad: Step[] = [
    { op: 'pt-map', root: 65536, owner: 'proc-c', addr: 0, pa: 3145728, size: 4096, note: 'padding' },
    { op: 'ioasid-set-alloc', set: 'pad', quota: 2, token: 'pad', as: 'padset', note: 'padding' },
    { op: 'ioasid-alloc', set: 'pad', owner: 'proc-c', min: '$padset', note: 'padding: uses $padset' },
    { op: 'dma', rid: '00:03.0', addr: 0, note: 'padding: faults, not a violation' },
  ];
  const steps = [...pad.slice(0, 2), ...base.steps.slice(0, 5), pad[2] as Step, ...base.steps.slice(5), pad[3] as Step];
  return validateScenario({ ...base, name: 'padded', steps }, 'padded');
}

describe('shrink', () => {
  it('removes the padding and everything the failure does not need; the result is 1-minimal and keeps the notes', () => {
    const sc = padded();
    const r = shrink(sc, { values: false });
    expect(r.signature).toBe('violation entry-outlives-ioasid on device');
    expect(r.before.steps).toBe(sc.steps.length);
    expect(r.after.steps).toBeLessThan(5);
    for (const s of r.scenario.steps) expect(String(s.note ?? '')).not.toMatch(/padding/);
    expect(r.removed.some((x) => x.includes('ioasid-set-alloc'))).toBe(true);
    expect(fails(r.scenario, r.signature)).toBe(true);
    // 1-minimal: removing any one step (with the steps that use its result) no longer fails the same way
    r.scenario.steps.forEach((step, i) => {
      const rest = r.scenario.steps.filter((_, j) => j !== i);
      const users = typeof step.as === 'string' ? rest.filter((x) => JSON.stringify(x).includes(`"$${step.as}"`)) : [];
      const cand = { ...r.scenario, steps: rest.filter((x) => !users.includes(x)) };
      expect(fails(cand, r.signature), `without step ${i} (${step.op})`).toBe(false);
    });
    // the notes of what stayed are the original's
    const notes = new Set(sc.steps.map((s) => s.note));
    for (const s of r.scenario.steps) expect(notes.has(s.note)).toBe(true);
  });

  it('a step goes with every step that uses its result: no candidate has a dangling $ref', () => {
    const r = shrink(padded(), { values: false });
    // the scenario validates (validateScenario refuses an unbound $ref)
    expect(() => validateScenario(r.scenario, 'x')).not.toThrow();
    expect(r.removed.filter((x) => x.includes('ioasid-alloc') || x.includes('ioasid-set-alloc')).length).toBe(2);
  });

  it('threads: the schedule shrinks to fewer preemptions, and the result replays to the same failure', () => {
    const sc = loadScenario('race-quota');
    const r = shrink(sc, { schedule: ['vcpu0', 'vcpu1', 'vcpu0', 'vcpu1'] });
    expect(r.signature).toBe('violation quota-overrun on ioasid set');
    expect(r.after.preemptions).toBeLessThan(r.before.preemptions);
    expect(fails(r.scenario, r.signature, r.schedule)).toBe(true);
  });

  it('values: page-aligned values stay page-aligned', () => {
    const r = shrink(padded());
    for (const line of r.smaller) {
      const m = / (\d+) -> (\d+)$/.exec(line)!;
      if (Number(m[1]) % 4096 === 0) expect(Number(m[2]) % 4096).toBe(0);
    }
  });

  it('a 40-step scenario shrinks in well under the runs budget', () => {
    const sc = padded();
    const extra: Step[] = [];
    for (let i = 0; i < 40 - sc.steps.length; i++) extra.push({ op: 'pt-map', root: 131072 + i * 4096, owner: `pad${i}`, addr: 0, pa: 4194304 + i * 4096, size: 4096, note: 'padding' });
    const big = validateScenario({ ...sc, steps: [...extra.slice(0, 10), ...sc.steps, ...extra.slice(10)] }, 'big');
    expect(big.steps.length).toBe(40);
    const r = shrink(big, { values: false });
    expect(r.after.steps).toBeLessThan(5);
    expect(r.runs).toBeLessThan(200);
  });
});

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, timeout: 60_000 });

describe('iotrace shrink (the built binary)', () => {
  it('prints what it removed and the runs; -o writes a runnable scenario that fails the same way', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'iotrace-shrink-'));
    const r = cli(cwd, 'shrink', 'race-free-while-bound', '-o', 'min.json');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^shrink race-free-while-bound \(allocator=lowest,free=notify-cleanup\): still fails the same way: violation entry-outlives-ioasid on device$/m);
    expect(r.stdout).toMatch(/^ {2}steps {5}12 -> \d+ \(removed \d+: /m);
    expect(r.stdout).toMatch(/^ {2}runs {6}\d+$/m);
    const doc = JSON.parse(readFileSync(join(cwd, 'min.json'), 'utf8')) as Scenario;
    expect(doc.name).toBe('race-free-while-bound-shrunk');
    const sched = /--schedule (\S+)/.exec(r.stdout)![1]!;
    const again = cli(cwd, 'run', 'min.json', '--schedule', sched);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/violation/);
    expect(cli(cwd, 'shrink', 'race-quota', '--variant', 'locking=atomic').status).toBe(1);
  });
});
