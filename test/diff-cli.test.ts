// iotrace diff through the built binary: dwq-gpasid recorded under
// pasid=identity and pasid=translated, a trace against itself, bad input.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordDwqPair, tmp } from './diff-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, 'diff', ...args], { encoding: 'utf8' });

describe('iotrace diff', () => {
  let id = '';
  let tr = '';
  beforeAll(() => { ({ id, tr } = recordDwqPair()); });

  it('identity vs translated exits 1; the first divergence carries the PASID and precedes the fault; 0x59 only on the translated side', () => {
    const res = cli(id, tr, '--json');
    expect(res.status, res.stderr).toBe(1);
    const j = JSON.parse(res.stdout) as {
      identical: boolean; commonPrefix: number; firstDivergence: { a: number; b: number; eventA: Record<string, unknown>; eventB: Record<string, unknown> } | null;
      onlyInA: number; onlyInB: number; faultsOnlyInA: unknown[]; faultsOnlyInB: { step: number; reason: number; text: string }[];
      statesPart: { state: { cells: { key: string }[] } } | null;
    };
    expect(j.identical).toBe(false);
    expect(j.firstDivergence).not.toBeNull();
    const f = j.firstDivergence as NonNullable<typeof j.firstDivergence>;
    expect(j.commonPrefix).toBe(f.a);
    const fault = j.faultsOnlyInB[0];
    expect(fault?.reason).toBe(0x59);
    expect(f.b).toBeLessThan(fault?.step ?? 0);
    // Where the runs' PASIDs part: guest PASID 1 (== host PASID) on A, 5 on B.
    expect(JSON.stringify(f.eventA)).toMatch(/"pasid":1\b/);
    expect(JSON.stringify(f.eventB)).toMatch(/"pasid":5\b/);
    expect(j.faultsOnlyInA).toEqual([]);
    expect(j.faultsOnlyInB).toHaveLength(1);
    expect(j.onlyInB).toBeGreaterThanOrEqual(1);
    expect(typeof j.onlyInA).toBe('number');
    expect(j.statesPart?.state.cells.map((c) => c.key)).toEqual(['vm0/00:02.0/1', 'vm0/00:02.0/5']);
  });

  it('the text report names the divergence, the state diff, counts by kind and the one-sided fault', () => {
    const res = cli(id, tr, '--context', '1');
    expect(res.status).toBe(1);
    const t = res.stdout;
    expect(t).toMatch(/common prefix: 21 event\(s\)/);
    expect(t).toMatch(/first divergence: A step 21 \(scenario step \d+\), B step 21 \(scenario step \d+\)/);
    expect(t).toContain('guest_pasid_alloc(vm="vm0") = 0 pasid=5');
    expect(t).toMatch(/- vpasid vm0\/00:02\.0\/1/);
    expect(t).toMatch(/\+ vpasid vm0\/00:02\.0\/5/);
    expect(t).toMatch(/fault\s+0\s+1\s+0/);
    expect(t).toMatch(/only in B:\n\s+step\s+40\s+FAULT iommu 0x59/);
  });

  it('a trace against itself exits 0', () => {
    const res = cli(tr, tr);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain('identical: the same 41 events');
    expect(JSON.parse(cli(tr, tr, '--json').stdout)).toMatchObject({ identical: true, firstDivergence: null, onlyInA: 0, onlyInB: 0, faultsOnlyInA: [], faultsOnlyInB: [] });
  });

  it('bad input exits 2 with one line', () => {
    for (const args of [[tr], [tr, join(tmp(), 'missing.iotrace')], [tr, BIN], [tr, tr, '--context', 'x'], [tr, tr, '--bogus']]) {
      const res = cli(...args);
      expect(res.status, args.join(' ')).toBe(2);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('--dump draws the side-by-side view at the first divergence', () => {
    const res = cli(id, tr, '--dump', '140x40');
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(/▶~\s+21 kcall\s+guest_pasid_alloc\(vm="vm0"\) = 0 pasid=1/);
    expect(res.stdout).toMatch(/▶~\s+21 kcall\s+guest_pasid_alloc\(vm="vm0"\) = 0 pasid=5/);
  });
});
