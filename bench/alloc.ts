// Allocator costs (issue 12, "small inputs, huge costs"): scenarios of one
// step repeated N times, each of which once scanned everything allocated
// before it. With the allocators' indexes (engine/indexes.ts) the time per
// step stays flat as N grows; a doubling of N should about double the time.
//   node dist/bench/alloc.js [--n 20000]
import { parseArgs } from 'node:util';
import { RunSession } from '../engine/run.js';
import type { Step } from '../engine/scenario.js';
import type { Platform } from '../engine/types.js';
import { validateScenario } from '../engine/validate.js';

const PLATFORM: Platform = {
  iommus: [{ id: 'dmar0', kind: 'vtd' }],
  devices: [{ rid: '00:02.0', iommu: 'dmar0', ats: true }, { rid: '00:03.0', iommu: 'dmar0' }],
  memory: [{ owner: 'proc-a', base: 0x100000, size: 0x10000 }],
};

const WORKLOADS: Record<string, (n: number) => Step[]> = {
  'ioasid-alloc (lowest free)': (n) => Array.from({ length: n }, () => ({ op: 'ioasid-alloc', set: 'system', owner: 'proc-a' })),
  'ioasid-alloc (cyclic)': (n) => [{ op: 'ioasid-config', policy: 'cyclic' }, ...Array.from({ length: n }, () => ({ op: 'ioasid-alloc', set: 'system', owner: 'proc-a' }))],
  'ioasid-set-alloc': (n) => Array.from({ length: n }, (_, i) => ({ op: 'ioasid-set-alloc', set: `s${i}`, quota: 0, token: `t${i}` })),
  'sva-bind (distinct processes)': (n) => Array.from({ length: n }, (_, i) => ({ op: 'sva-bind', rid: '00:02.0', owner: `p${i}`, root: 0x1000 })),
  'IOMMU_IOAS_ALLOC': (n) => Array.from({ length: n }, () => ({ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC' })),
  'IOMMU_IOAS_ALLOC, then close': (n) => [...Array.from({ length: n }, () => ({ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC' })), { op: 'close', fd: 'iommufd' }],
};

function time(steps: Step[]): { ms: number; events: number } {
  const sc = validateScenario({ name: 'bench-alloc', description: 'allocator bench', platform: PLATFORM, steps }, 'bench-alloc');
  const t0 = performance.now();
  const session = new RunSession(sc);
  let events = 0;
  while (session.next()) events += session.out.length;
  return { ms: performance.now() - t0, events };
}

const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' } } });
const n = Number(values.n);
if (!Number.isSafeInteger(n) || n < 2) throw new Error('--n takes an integer >= 2');
console.log(`node ${process.version}, engine alone (RunSession), N and N/2 steps of each workload`);
for (const [name, make] of Object.entries(WORKLOADS)) {
  const half = time(make(n / 2 | 0));
  const full = time(make(n));
  console.log(`${name}: ${n} steps ${full.ms.toFixed(0)} ms (${full.events} events, ${(full.ms * 1000 / n).toFixed(1)} us/step); ${n / 2 | 0} steps ${half.ms.toFixed(0)} ms; ratio ${(full.ms / half.ms).toFixed(2)}`);
}
