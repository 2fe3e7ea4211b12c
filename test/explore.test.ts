// iotrace explore (issue 13 §2, §4): the three seed races found, their fixes
// explored clean within the bound; the reductions change the cost, not the
// verdict; random and PCT over the same engine; the built CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../engine/run.js';
import { explore, Explorer } from '../explore/explore.js';
import { loadScenario } from '../scenarios/index.js';
import { MAX_REGRESSION_BYTES } from '../cli/limits.js';

const RACES = [
  { name: 'race-free-while-bound', racy: {}, fixed: [{ allocator: 'cyclic' }, { free: 'free-after-unbind' }], invariant: 'entry-outlives-ioasid', shortest: ['exit', 'exit', 'exit', 'procb'] },
  { name: 'race-quota', racy: {}, fixed: [{ locking: 'atomic' }], invariant: 'quota-overrun', shortest: ['vcpu0', 'vcpu1', 'vcpu0', 'vcpu1'] },
  { name: 'race-vdevice-alias', racy: {}, fixed: [{ abort: 'cmpxchg' }], invariant: 'stale-atc', shortest: null },
] as const;

describe('explore: the seed races', () => {
  for (const race of RACES) {
    it(`${race.name}: bfs finds ${race.invariant} in the racy variant; the failing schedule replays to it`, () => {
      const sc = loadScenario(race.name);
      const r = explore(sc, { variant: race.racy });
      expect(r.failures.map((f) => f.invariant)).toContain(race.invariant);
      const f = r.failures.find((x) => x.invariant === race.invariant)!;
      if (race.shortest) expect(f.schedule).toEqual(race.shortest);
      expect(f.preemptions).toBeLessThanOrEqual(2);
      // run --schedule reproduces it
      const evs = [...run(sc, { variant: race.racy, schedule: f.schedule })];
      expect(evs.some((e) => e.kind === 'violation' && e.invariant === race.invariant)).toBe(true);
    });
    for (const fixed of race.fixed) {
      it(`${race.name} ${JSON.stringify(fixed)}: explored clean, every schedule within 2 preemptions`, () => {
        const r = explore(loadScenario(race.name), { variant: fixed });
        expect(r.failures).toEqual([]);
        expect(r.exhausted).toBe(true);
        expect(r.schedules).toBeGreaterThan(1);
      });
    }
  }

  it('bfs gives a shortest failing schedule: no shorter one fails (checked against the search without reductions)', () => {
    const sc = loadScenario('race-vdevice-alias');
    const a = explore(sc, {});
    const b = explore(sc, { por: false, dedupe: false });
    expect(a.failures[0]!.schedule.length).toBe(b.failures[0]!.schedule.length);
  });
});

describe('explore: reductions and bounds', () => {
  it('partial-order reduction and fingerprints prune states but find the same failures and the same verdicts', () => {
    let fullStates = 0;
    let reducedStates = 0;
    for (const race of RACES) {
      const sc = loadScenario(race.name);
      for (const variant of [race.racy, ...race.fixed]) {
        const full = explore(sc, { variant, por: false, dedupe: false, maxStates: 200_000 });
        const reduced = explore(sc, { variant });
        expect(full.exhausted).toBe(true);
        expect(reduced.failures.map((f) => f.signature).sort()).toEqual(full.failures.map((f) => f.signature).sort());
        expect(reduced.states).toBeLessThanOrEqual(full.states);
        fullStates += full.states;
        reducedStates += reduced.states;
      }
    }
    expect(reducedStates).toBeLessThan(fullStates / 2);
    const por = explore(loadScenario('race-free-while-bound'), { variant: { allocator: 'cyclic' }, dedupe: false });
    expect(por.prunedPor).toBeGreaterThan(0);
  });

  it('a state reached by two orders of commuting steps is one distinct state', () => {
    const ex = new Explorer(loadScenario('race-free-while-bound'), { allocator: 'cyclic' });
    const root = ex.rootNode();
    // device's DMA (through the ATC) and kworker's empty clean-up commute
    const ab = ex.expand(ex.expand(root, 'device', ex.runnable(root)).child, 'kworker', ['exit', 'kworker', 'procb']).child;
    const first = ex.expand(root, 'kworker', ex.runnable(root)).child;
    const ba = ex.expand(first, 'device', ex.runnable(first)).child;
    expect(ex.fingerprint(ab)).toBe(ex.fingerprint(ba));
    expect(ex.fingerprint(ab)).not.toBe(ex.fingerprint(root));
  });

  it('the preemption bound: race-quota needs one preemption; with none it is explored clean', () => {
    const sc = loadScenario('race-quota');
    const none = explore(sc, { preemptions: 0 });
    expect(none.failures).toEqual([]);
    expect(none.exhausted).toBe(true);
    expect(none.prunedPreemption).toBeGreaterThan(0);
    expect(explore(sc, { preemptions: 1 }).failures.map((f) => f.invariant)).toEqual(['quota-overrun']);
  });

  it('--max-states stops the search and says so', () => {
    const r = explore(loadScenario('race-free-while-bound'), { variant: { allocator: 'cyclic' }, maxStates: 10 });
    expect(r.states).toBe(10);
    expect(r.boundReached).toBe(true);
    expect(r.exhausted).toBe(false);
  });

  it('dfs covers the same space as bfs', () => {
    for (const race of RACES) {
      const sc = loadScenario(race.name);
      expect(explore(sc, { strategy: 'dfs' }).failures.map((f) => f.signature)).toEqual(explore(sc, {}).failures.map((f) => f.signature));
    }
  });

  it('random and pct over the same engine find each race; pct reports its probability bound; both are seeded', () => {
    for (const race of RACES) {
      const sc = loadScenario(race.name);
      for (const strategy of ['random', 'pct'] as const) {
        const r = explore(sc, { strategy, seed: 1, maxStates: 3000, stopAtFirst: true });
        expect(r.failures.length, `${race.name} ${strategy}`).toBeGreaterThan(0);
        expect(r.failingPct).toBeGreaterThan(0);
        const again = explore(sc, { strategy, seed: 1, maxStates: 3000, stopAtFirst: true });
        expect(again.failures.map((f) => f.schedule)).toEqual(r.failures.map((f) => f.schedule));
      }
    }
    const p = explore(loadScenario('race-quota'), { strategy: 'pct', runs: 50 });
    expect(p.pct).toMatchObject({ n: 2, d: 2 });
    expect(p.pct!.bound).toBeCloseTo(1 / (2 * p.pct!.k), 10);
  });

  it('regression schedules are re-run first and reported as such', () => {
    const r = explore(loadScenario('race-quota'), { regressions: [['vcpu0', 'vcpu1', 'vcpu1', 'vcpu0']], stopAtFirst: true });
    expect(r.failures[0]).toMatchObject({ regression: true, invariant: 'quota-overrun', schedule: ['vcpu0', 'vcpu1', 'vcpu1', 'vcpu0'] });
    expect(r.states).toBe(0);
  });
});

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, timeout: 60_000 });

describe('iotrace explore (the built binary)', () => {
  it('exit 1 and the failing schedule for a racy variant; the regression file; exit 0 for the fixed one', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'iotrace-explore-'));
    const r = cli(cwd, 'explore', 'race-quota');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^explore race-quota \(locking=check-then-charge\): bfs, at most 2 preemptions, threads vcpu0, vcpu1$/m);
    expect(r.stdout).toMatch(/exhausted: every schedule with at most 2 preemptions explored/);
    expect(r.stdout).toContain('violation quota-overrun on ioasid set: IOASID set vm0 on host0 holds 3 PASIDs, quota 2');
    expect(r.stdout).toContain('replay:   iotrace run race-quota --variant locking=check-then-charge --schedule vcpu0,vcpu1,vcpu0,vcpu1');
    const reg = JSON.parse(readFileSync(join(cwd, 'race-quota.schedules.json'), 'utf8')) as { schedules: { schedule: string[] }[] };
    expect(reg.schedules.map((s) => s.schedule)).toEqual([['vcpu0', 'vcpu1', 'vcpu0', 'vcpu1']]);
    const again = cli(cwd, 'explore', 'race-quota', '--json');
    const j = JSON.parse(again.stdout) as { failures: { regression?: boolean }[] };
    expect(j.failures[0]!.regression).toBe(true);
    const ok = cli(cwd, 'explore', 'race-quota', '--variant', 'locking=atomic', '--json');
    expect(ok.status).toBe(0);
    const o = JSON.parse(ok.stdout) as Record<string, unknown>;
    for (const k of ['states', 'distinct', 'schedules', 'exhausted', 'failures']) expect(o).toHaveProperty(k);
    expect(o.exhausted).toBe(true);
    expect(o.failures).toEqual([]);
  });

  it('-o records the first failing schedule: verify passes, the trace holds the violation', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'iotrace-explore-o-'));
    const r = cli(cwd, 'explore', 'race-free-while-bound', '-o', 'fail.iotrace', '--no-save', '--json');
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as { failures: { trace?: string; at?: number; schedule: string[] }[] };
    expect(j.failures[0]!.trace).toBe('fail.iotrace');
    expect(typeof j.failures[0]!.at).toBe('number');
    expect(existsSync(join(cwd, 'race-free-while-bound.schedules.json'))).toBe(false);
    expect(cli(cwd, 'verify', 'fail.iotrace').status).toBe(0);
    const ev = cli(cwd, 'events', 'fail.iotrace', '--kind', 'violation', '--json');
    expect(ev.stdout).toContain('entry-outlives-ioasid');
  });

  it('matrix of a threaded scenario shows explore\'s verdict per variant', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'iotrace-explore-matrix-'));
    const r = cli(cwd, 'matrix', 'race-quota');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/explore \(bfs, 2 preemptions\)/);
    expect(r.stdout).toMatch(/^locking=check-then-charge .*race: violation quota-overrun on ioasid set \(--schedule vcpu0,vcpu1,vcpu0,vcpu1\)$/m);
    expect(r.stdout).toMatch(/^locking=atomic .*clean \(exhausted\)$/m);
    const j = JSON.parse(cli(cwd, 'matrix', 'race-vdevice-alias', '--json').stdout) as { variant: Record<string, string>; explore: { verdict: string } }[];
    expect(j.map((x) => [x.variant.abort, x.explore.verdict])).toEqual([['erase', 'race'], ['cmpxchg', 'clean']]);
    // an unthreaded scenario's rows have no explore field
    const plain = JSON.parse(cli(cwd, 'matrix', 'dwq-gpasid', '--json').stdout) as Record<string, unknown>[];
    expect(plain.every((x) => !('explore' in x))).toBe(true);
  });

  it('bad input: an unthreaded scenario, an unknown strategy, a bad regression file: exit 2, one line', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'iotrace-explore-bad-'));
    const a = cli(cwd, 'explore', 'dwq-gpasid');
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/has no threads: nothing to explore/);
    const b = cli(cwd, 'explore', 'race-quota', '--strategy', 'bsf');
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/did you mean bfs/);
    writeFileSync(join(cwd, 'race-quota.schedules.json'), '{"nope": 1}');
    expect(cli(cwd, 'explore', 'race-quota').status).toBe(2);
    expect(cli(cwd, 'run', 'race-quota', '--schedule', 'vcpu9').status).toBe(2);
  });

  it('a regression file that is a FIFO, a device or too big is refused unread: one line, exit 2, no hang', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'iotrace-explore-reg-'));
    const fifo = join(cwd, 'race-quota.schedules.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Before: readFileSync blocked on the FIFO for ever (the spawn's timeout killed it).
    const a = cli(cwd, 'explore', 'race-quota');
    expect(a.status).toBe(2);
    expect(a.stderr).toBe(`iotrace: race-quota.schedules.json: is a FIFO, expected a regular regression file (JSON)\n`);
    const b = cli(cwd, 'explore', 'race-quota', '--regressions', '/dev/zero');
    expect(b.status).toBe(2);
    expect(b.stderr).toBe('iotrace: /dev/zero: is a character device, expected a regular regression file (JSON)\n');
    const big = join(cwd, 'big.schedules.json');
    writeFileSync(big, ' '.repeat(MAX_REGRESSION_BYTES + 1));
    const c = cli(cwd, 'explore', 'race-quota', '--regressions', big);
    expect(c.status).toBe(2);
    expect(c.stderr).toBe(`iotrace: ${big}: is ${MAX_REGRESSION_BYTES + 1} bytes, larger than ${MAX_REGRESSION_BYTES} bytes (16 MiB), the most a regression file may be\n`);
  });
});
