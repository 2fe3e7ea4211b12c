// Benchmarks of issue 6 (iotrace diff) on the `stress` workload:
//   1. first divergence of two 10 M-event traces that differ late (goal < 500 ms),
//   2. full diff of two 1 M-event traces with scattered differences (goal < 5 s, memory bounded),
//   3. two 1 M-event traces that differ everywhere (other seed): time to a bounded summary.
// Timings are medians; each diff runs in a child process so its RSS is its own.
//
//   npm run build && node dist/bench/diff.js [--scale 10000000] [--full-scale 1000000] [--reps 5] [--dir DIR] [--skip-late]
//
// How B differs from A: the same stress steps (same seed, same PRNG draws),
// with an extra PASID-selective IOTLB invalidation step spliced in — once,
// late (after the step of A's event at 99 %) for (1); every `every` steps for (2). The engine
// runs the spliced steps, so B's later DMAs miss the IOTLB, walk and refill:
// real behavioural differences, not edited bytes. The splicing builder is
// registered in this process only (the stress builder itself is unchanged).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BUILDERS } from '../engine/builders/index.js';
import { stress } from '../engine/builders/stress.js';
import type { Prng } from '../engine/prng.js';
import type { Scenario, Step } from '../engine/scenario.js';
import { recordToFile } from '../recorder/record.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { diffTraces, firstDivergence } from '../replayer/trace-diff.js';
import { loadScenario } from '../scenarios/index.js';

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };

/** stress, plus an IOTLB invalidation of PASID 1 after loop step `at` (and every `every` steps after it, when given). */
function* spliced(params: Record<string, number>, prng: Prng): Generator<Step> {
  const at = params.at ?? Infinity;
  const every = params.every ?? 0;
  let i = 0;
  for (const step of stress(params, prng)) {
    yield step;
    i++;
    if (i === at || (every > 0 && i > at && (i - at) % every === 0)) {
      yield { op: 'inval-iotlb', iommu: 'dmar0', granularity: 'pasid', did: 0x401, pasid: 1 };
    }
  }
}
BUILDERS['stress-spliced'] = spliced;

function scenario(scale: number, splice?: { at: number; every?: number }): Scenario {
  const sc = loadScenario('stress');
  sc.generate = splice
    ? { builder: 'stress-spliced', params: { scale, at: splice.at, ...(splice.every ? { every: splice.every } : {}) } }
    : { builder: 'stress', params: { scale } };
  return sc;
}

function record(dir: string, name: string, sc: Scenario, seed = 0): string {
  const path = join(dir, `${name}.iotrace`);
  if (existsSync(path)) return path;
  const t = performance.now();
  const s = recordToFile(sc, { seed }, path);
  console.log(`  recorded ${name}: ${s.events} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return path;
}

/** Child: one measurement, printed as JSON. */
function probe(mode: string, pa: string, pb: string): void {
  const t0 = performance.now();
  const a = TraceReplayer.open(pa);
  const b = TraceReplayer.open(pb);
  let out: Record<string, unknown>;
  if (mode === 'read') {
    // The floor a full diff cannot beat: decoding every event of both traces once.
    let n = 0;
    for (const r of [a, b]) for (let k = 0; k < r.count; k += 4096) n += r.events(k, k + 4096).length;
    out = { ms: performance.now() - t0, events: n };
  } else if (mode === 'first') {
    const f = firstDivergence(a, b);
    out = { ms: performance.now() - t0, first: f, events: [a.count, b.count] };
  } else {
    const d = diffTraces(a, b);
    out = {
      ms: performance.now() - t0, first: d.firstDivergence ? { a: d.firstDivergence.a, b: d.firstDivergence.b } : null,
      commonPrefix: d.commonPrefix, skippedChunks: d.skipped?.chunks ?? 0, same: d.same, retimed: d.retimed, changed: d.changed, onlyInA: d.onlyInA, onlyInB: d.onlyInB,
      segments: d.segments.length, stopped: d.stopped, failedWindows: d.failedWindows, faultsOnlyInA: d.faultsOnlyInA.length, faultsOnlyInB: d.faultsOnlyInB.length,
      statesPartA: d.statesPart?.a ?? null, events: [a.count, b.count],
    };
  }
  a.close();
  b.close();
  out.maxRssMB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify(out));
}

function measure(mode: string, pa: string, pb: string, reps: number): { ms: number; runs: number[]; last: Record<string, unknown> } {
  const runs: number[] = [];
  let last: Record<string, unknown> = {};
  for (let i = 0; i < reps; i++) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--probe', mode, pa, pb], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`probe failed: ${r.stderr}`);
    last = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    runs.push(last.ms as number);
  }
  return { ms: median(runs), runs, last };
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { 'skip-late': { type: 'boolean' }, scale: { type: 'string' }, 'full-scale': { type: 'string' }, reps: { type: 'string' }, dir: { type: 'string' }, probe: { type: 'string' }, every: { type: 'string' } },
    allowPositionals: true,
  });
  if (values.probe) { probe(values.probe, positionals[0] ?? '', positionals[1] ?? ''); return; }
  const scale = Number(values.scale ?? 10_000_000);
  const fullScale = Number(values['full-scale'] ?? 1_000_000);
  const reps = Number(values.reps ?? 5);
  const every = Number(values.every ?? 2000);
  const dir = values.dir ?? join(tmpdir(), 'iotrace-bench-diff');
  mkdirSync(dir, { recursive: true });
  console.log(`node ${process.version}; traces in ${dir}; medians of ${reps} runs, each in a fresh process`);

  if (!values['skip-late']) {
    // 1. Late divergence: spliced after the scenario step that produced A's event at 99 %.
    const bigA = record(dir, `stress-${scale}`, scenario(scale));
    const ra = TraceReplayer.open(bigA);
    const lateStep = ra.event(Math.floor(ra.count * 0.99)).step + 1;
    ra.close();
    const bigB = record(dir, `stress-${scale}-late`, scenario(scale, { at: lateStep }));
    const first = measure('first', bigA, bigB, reps);
    console.log(`first divergence, ${scale} events, late: ${first.ms.toFixed(1)} ms (runs ${first.runs.map((x) => x.toFixed(0)).join(', ')}) ${JSON.stringify(first.last)}`);
    const bigFull = measure('full', bigA, bigB, Math.min(reps, 3));
    console.log(`full diff of the same pair (prefix skipped, tail aligned): ${bigFull.ms.toFixed(0)} ms ${JSON.stringify(bigFull.last)}`);
  }

  // 2. Scattered differences: an extra invalidation every `every` loop steps from the start.
  const midA = record(dir, `stress-${fullScale}`, scenario(fullScale));
  const midB = record(dir, `stress-${fullScale}-every${every}`, scenario(fullScale, { at: 500, every }));
  const read = measure('read', midA, midB, reps);
  console.log(`reading every event of both ${fullScale}-event traces once (the floor): ${read.ms.toFixed(0)} ms`);
  const full = measure('full', midA, midB, reps);
  console.log(`full diff, ${fullScale} events, an extra invalidation every ${every} steps: ${full.ms.toFixed(0)} ms (runs ${full.runs.map((x) => x.toFixed(0)).join(', ')}) ${JSON.stringify(full.last)}`);

  // 3. Different everywhere: another seed.
  const other = record(dir, `stress-${fullScale}-seed1`, scenario(fullScale), 1);
  const diff = measure('full', midA, other, Math.min(reps, 3));
  console.log(`full diff, ${fullScale} events, other seed: ${diff.ms.toFixed(0)} ms ${JSON.stringify(diff.last)}`);
}

main();
