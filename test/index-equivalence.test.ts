// The derived indexes change what a run costs, never what it does: every
// built-in scenario, conformance case and scan workload (bench/scan-workloads.ts),
// under every variant, gives the same events with the indexes as with the
// scans they replaced; and explore (whose partial-order reduction rests on
// the cells a segment reads: an index answer reads WHOLE_SECTION_KEY for the
// section the scan listed) visits the same states, distinct states and
// schedules and finds the same failures. The scans are what a state without
// an index gets: the three index builders Ctx calls are switched off here.
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { WORKLOADS } from '../bench/scan-workloads.js';
import { caseFiles, CONFORMANCE_DIR } from '../conformance/runner.js';
import { run } from '../engine/run.js';
import { combinations, type Scenario } from '../engine/scenario.js';
import { validateScenario } from '../engine/validate.js';
import { explore } from '../explore/explore.js';
import { listScenarios, parseScenario } from '../scenarios/index.js';

const flag = vi.hoisted(() => ({ indexed: true }));
vi.mock('../engine/indexes.js', async (original) => {
  const m = await original<typeof import('../engine/indexes.js')>();
  return { ...m, indexAllocators: (s: Parameters<typeof m.indexAllocators>[0]) => (flag.indexed ? m.indexAllocators(s) : () => {}) };
});
vi.mock('../engine/caches.js', async (original) => {
  const m = await original<typeof import('../engine/caches.js')>();
  return { ...m, indexCacheLines: (s: Parameters<typeof m.indexCacheLines>[0]) => (flag.indexed ? m.indexCacheLines(s) : () => {}) };
});
vi.mock('../engine/iommufd/queue-index.js', async (original) => {
  const m = await original<typeof import('../engine/iommufd/queue-index.js')>();
  return { ...m, indexQueues: (s: Parameters<typeof m.indexQueues>[0]) => (flag.indexed ? m.indexQueues(s) : () => {}) };
});

/** The events of a run as one string (a run that stops on a ScenarioRunError ends with its message). */
function eventsOf(sc: Scenario, variant: Record<string, string>): string {
  const out: string[] = [];
  try {
    for (const ev of run(sc, { variant })) out.push(JSON.stringify(ev));
  } catch (e) {
    if (!(e instanceof Error && e.name === 'ScenarioRunError')) throw e;
    out.push(`stopped: ${e.message}`);
  }
  return out.join('\n');
}

function both<T>(f: () => T): { indexed: T; scanned: T } {
  flag.indexed = true;
  const indexed = f();
  flag.indexed = false;
  try {
    return { indexed, scanned: f() };
  } finally {
    flag.indexed = true;
  }
}

function sameRuns(scenarios: Scenario[]): number {
  let n = 0;
  for (const sc of scenarios) {
    if (sc.threads) continue;
    for (const v of combinations(sc)) {
      const r = both(() => eventsOf(sc, v));
      expect(r.scanned.length, `${sc.name} ${JSON.stringify(v)}`).toBeGreaterThan(0);
      if (r.indexed !== r.scanned) expect.fail(`${sc.name} ${JSON.stringify(v)}: the events differ with the indexes`);
      n++;
    }
  }
  return n;
}

describe('the indexes change the cost, not the outcome', () => {
  it('every built-in scenario and variant: the same events with and without the indexes', () => {
    expect(sameRuns(listScenarios())).toBeGreaterThan(20);
  }, 300_000);

  it('every conformance case and variant: the same events with and without the indexes', () => {
    const cases: Scenario[] = [];
    for (const file of caseFiles(CONFORMANCE_DIR)) {
      try { cases.push(parseScenario(readFileSync(file, 'utf8'), file)); } catch { /* a case the parser refuses is the runner's business */ }
    }
    expect(sameRuns(cases)).toBeGreaterThan(50);
  }, 300_000);

  it('every scan workload (bench/scan-workloads.ts) at N = 40: the same events with and without the indexes', () => {
    const scs = Object.entries(WORKLOADS).map(([name, w]) => validateScenario({ name, description: name, platform: w.platform, steps: w.steps(40) }, name));
    expect(sameRuns(scs)).toBe(Object.keys(WORKLOADS).length);
  }, 120_000);

  it("IOMMU_IOAS_MAP_FILE of another iommufd's open queue fd: stopped the same way with and without the indexes", () => {
    const steps = [
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
      { op: 'ioctl', fd: 'iommufd2', cmd: 'IOMMU_FAULT_QUEUE_ALLOC' },
      ...[99, 100, 101, 102, 103].map((fd) => ({ op: 'ioctl-nr', nr: 143, args: { flags: 6, ioas_id: '$ioas', fd, length: 4096 } })),
    ];
    const sc = validateScenario({ name: 'map-file-queue', description: 'x', platform: WORKLOADS.IOMMU_IOAS_ALLOC?.platform, steps }, 'x');
    const r = both(() => eventsOf(sc, {}));
    expect(r.indexed).toMatch(/stopped: .*an open event-queue file, is not modelled/);
    expect(r.indexed).toBe(r.scanned);
  });

  it('explore over every threaded scenario and variant: the same states, distinct states, schedules and failures', () => {
    let n = 0;
    for (const sc of listScenarios()) {
      if (!sc.threads) continue;
      for (const variant of combinations(sc)) {
        const r = both(() => {
          const x = explore(sc, { variant });
          return { states: x.states, distinct: x.distinct, schedules: x.schedules, prunedPor: x.prunedPor, failures: x.failures.map((f) => `${f.signature} ${f.schedule.join(',')}`) };
        });
        expect(r.indexed, `${sc.name} ${JSON.stringify(variant)}`).toEqual(r.scanned);
        n++;
      }
    }
    expect(n).toBeGreaterThan(3);
  }, 300_000);
});
