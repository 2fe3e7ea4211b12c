// Engine costs that once grew with the state (issue 12, "small inputs, huge
// costs"): scenarios of one step repeated N times, each of which once
// scanned a whole state section (every IOASID, every iommufd object, every
// event-queue record, every PASID-cache line). With the derived indexes
// (engine/indexes.ts, engine/caches.ts) the time per step stays flat as N
// grows: a doubling of N should about double the time (ratio ~2; a scan per
// step gives ~4). Each figure is the median of --reps runs.
//   node dist/bench/scans.js [--n 20000] [--reps 3] [--only <substring>]
import { parseArgs } from 'node:util';
import { RunSession } from '../engine/run.js';
import { validateScenario } from '../engine/validate.js';
import { WORKLOADS, type Workload } from './scan-workloads.js';

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };

function time(w: Workload, n: number): { ms: number; events: number } {
  const sc = validateScenario({ name: 'bench-scans', description: 'scan bench', platform: w.platform, steps: w.steps(n) }, 'bench-scans');
  const t0 = performance.now();
  const session = new RunSession(sc);
  let events = 0;
  while (session.next()) events += session.out.length;
  return { ms: performance.now() - t0, events };
}

const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' }, reps: { type: 'string', default: '3' }, only: { type: 'string' } } });
const n = Number(values.n);
const reps = Number(values.reps);
if (!Number.isSafeInteger(n) || n < 4) throw new Error('--n takes an integer >= 4');
if (!Number.isSafeInteger(reps) || reps < 1) throw new Error('--reps takes an integer >= 1');
console.log(`node ${process.version}, engine alone (RunSession), N and N/2 of each workload, medians of ${reps}`);
for (const [name, w] of Object.entries(WORKLOADS)) {
  if (values.only !== undefined && !name.includes(values.only)) continue;
  const half: number[] = [];
  const full: number[] = [];
  let events = 0;
  for (let r = 0; r < reps; r++) {
    half.push(time(w, n / 2 | 0).ms);
    const f = time(w, n);
    full.push(f.ms);
    events = f.events;
  }
  const h = median(half);
  const f = median(full);
  console.log(`${name}: N=${n} ${f.toFixed(0)} ms (${events} events, ${(f * 1000 / n).toFixed(1)} us/step); N/2 ${h.toFixed(0)} ms; ratio ${(f / h).toFixed(2)}`);
}
