// The explorer's benchmarks (issue 13 §6), run by `npm run bench` after the
// trace benchmarks (bench/run.ts) or alone: node dist/bench/explore.js.
//  * bfs over the three seed races (racy and fixed variants): states,
//    distinct states, schedules, rates; time and schedules to the first
//    failure and the counterexample's length, against uniform-random and PCT
//    baselines over the same engine in the same process, same seeds, and
//    every counterexample again after `shrink` cut its schedule;
//  * a synthetic 4-thread x 8-step scenario explored to its bound;
//  * shrink of a failing 40-step scenario: runs and time;
//  * the engine alone in events/s on the same scenarios.
import { fileURLToPath } from 'node:url';
import { run } from '../engine/run.js';
import type { Scenario, Step } from '../engine/scenario.js';
import { validateScenario } from '../engine/validate.js';
import { explore, type ExploreResult, type Strategy } from '../explore/explore.js';
import { shrink } from '../explore/shrink.js';
import { loadScenario } from '../scenarios/index.js';

const now = (): number => performance.now();
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };

const RACES: { name: string; racy: Record<string, string>; fixed: Record<string, string> }[] = [
  { name: 'race-free-while-bound', racy: {}, fixed: { allocator: 'cyclic' } },
  { name: 'race-quota', racy: {}, fixed: { locking: 'atomic' } },
  { name: 'race-vdevice-alias', racy: {}, fixed: { abort: 'cmpxchg' } },
];

/** 4 threads x 8 steps: each thread maps its own pages and allocates PASIDs from one shared set. */
export function synthetic(): Scenario {
  const threads: Record<string, Step[]> = {};
  for (let t = 0; t < 4; t++) {
    const steps: Step[] = [];
    for (let i = 0; i < 8; i++) {
      steps.push(i % 2 === 0
        ? { op: 'pt-map', root: 0x100000 * (t + 1), owner: `p${t}`, addr: i * 4096, pa: 0x1000000 * (t + 1) + i * 4096, size: 4096 }
        : { op: 'ioasid-alloc', set: 'vm0', owner: `p${t}` });
    }
    threads[`t${t}`] = steps;
  }
  return validateScenario({
    name: 'synthetic-4x8', description: '4 threads x 8 steps: private page maps, allocations from one set',
    variants: { locking: { 'check-then-charge': 'a yield point between the quota check and the charge', atomic: 'one lock over both' } },
    platform: { hosts: [{ id: 'host0', capacity: 256, systemQuota: 16 }], iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }] },
    steps: [{ op: 'ioasid-set-alloc', set: 'vm0', quota: 64, token: 'vm0' }],
    threads,
  }, 'synthetic-4x8');
}

/** A failing 40-step scenario: free-while-bound's failing default among 27 padding steps. */
export function padded40(): Scenario {
  const base = loadScenario('free-while-bound');
  const extra: Step[] = [];
  for (let i = 0; extra.length + base.steps.length < 40; i++) extra.push({ op: 'pt-map', root: 0x20000 + i * 4096, owner: `pad${i}`, addr: 0, pa: 0x400000 + i * 4096, size: 4096, note: 'padding' });
  return validateScenario({ ...base, name: 'padded-40', steps: [...extra.slice(0, 12), ...base.steps, ...extra.slice(12)] }, 'padded-40');
}

function line(name: string, r: ExploreResult, ms: number): string {
  const s = ms / 1000;
  return `  ${name.padEnd(44)} ${String(r.states).padStart(7)} states ${String(r.distinct).padStart(7)} distinct ${String(r.schedules).padStart(6)} schedules  ${(r.distinct / s).toFixed(0).padStart(7)} distinct/s ${(r.schedules / s).toFixed(0).padStart(6)} schedules/s  ${r.exhausted ? 'exhausted' : r.boundReached ? 'bound' : 'stopped'}  ${r.failures.length ? `fails (${r.failures[0]!.schedule.length} decisions)` : 'clean'}`;
}

/** Time to the first failure: [ms, schedules run, counterexample length, its length after shrink]. */
function firstFailure(sc: Scenario, variant: Record<string, string>, strategy: Strategy, seed: number): { ms: number; schedules: number; length: number | null; shrunk: number | null } {
  const t = now();
  const r = explore(sc, { variant, strategy, seed, stopAtFirst: true, maxStates: 200_000 });
  const ms = now() - t;
  const f = r.failures[0];
  if (!f) return { ms, schedules: r.schedules, length: null, shrunk: null };
  let shrunk: number | null = null;
  try { shrunk = shrink(sc, { variant, schedule: f.schedule, values: false }).schedule.length; } catch { shrunk = null; }
  return { ms, schedules: r.schedules, length: f.schedule.length, shrunk };
}

export function exploreBench(reps = 3): void {
  console.log('\nexplore (issue 13): bfs, preemption bound 2, partial-order reduction and fingerprints on');
  for (const race of RACES) {
    const sc = loadScenario(race.name);
    for (const [label, variant] of [['racy', race.racy], ['fixed', race.fixed]] as const) {
      const times: number[] = [];
      let r: ExploreResult | null = null;
      for (let i = 0; i < reps; i++) { const t = now(); r = explore(sc, { variant }); times.push(now() - t); }
      console.log(line(`${race.name} ${label} ${JSON.stringify(variant)}`, r as ExploreResult, median(times)));
    }
  }
  const syn = synthetic();
  for (const locking of ['atomic', 'check-then-charge']) {
    const t = now();
    const r = explore(syn, { variant: { locking }, maxStates: 50_000 });
    console.log(line(`synthetic 4x8 locking=${locking}`, r, now() - t));
    const t2 = now();
    const n = explore(syn, { variant: { locking }, maxStates: 50_000, por: false });
    console.log(line(`synthetic 4x8 locking=${locking}, no POR`, n, now() - t2));
  }

  console.log('\nfirst failure: bfs vs uniform random and PCT over the same engine (median of seeds 1..5; counterexample length, then after shrink)');
  for (const race of RACES) {
    const sc = loadScenario(race.name);
    for (const strategy of ['bfs', 'random', 'pct'] as const) {
      const rs = (strategy === 'bfs' ? [0] : [1, 2, 3, 4, 5]).map((seed) => firstFailure(sc, race.racy, strategy, seed));
      const ok = rs.filter((x) => x.length !== null);
      const len = ok.length ? median(ok.map((x) => x.length as number)) : NaN;
      const shr = ok.length ? median(ok.map((x) => x.shrunk ?? NaN)) : NaN;
      console.log(`  ${race.name.padEnd(22)} ${strategy.padEnd(6)} ${median(rs.map((x) => x.ms)).toFixed(1).padStart(8)} ms ${String(median(rs.map((x) => x.schedules))).padStart(5)} schedules  counterexample ${Number.isNaN(len) ? '-' : len} decisions, shrunk ${Number.isNaN(shr) ? '-' : shr}  (${ok.length}/${rs.length} found)`);
    }
  }

  const big = padded40();
  const times: number[] = [];
  let runs = 0;
  let after = 0;
  for (let i = 0; i < reps; i++) { const t = now(); const r = shrink(big, {}); times.push(now() - t); runs = r.runs; after = r.after.steps; }
  console.log(`\nshrink: a failing 40-step scenario -> ${after} steps in ${runs} runs, ${median(times).toFixed(0)} ms (median of ${reps})`);

  // The engine alone over the same scenarios: events per second of plain runs.
  let events = 0;
  const loaded = RACES.map((race) => [loadScenario(race.name), race.racy] as const);
  const t = now();
  for (let i = 0; i < 500; i++) for (const [sc, variant] of loaded) for (const ev of run(sc, { variant })) { void ev; events++; }
  const ms = now() - t;
  console.log(`engine alone on the races (round-robin runs, set-up included): ${(events / ms / 1000).toFixed(3)} M events/s`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) exploreBench();
