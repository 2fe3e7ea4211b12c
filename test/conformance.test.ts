// The kernel's selftest, ported (conformance/): every case must pass; the
// runner itself must fail a case whose expectation is wrong, flag a case that
// checks nothing, and check `out` fields and 64-bit values exactly.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseFiles, CONFORMANCE_DIR, runCaseFile, runConformance } from '../conformance/runner.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

const PLATFORM = { iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }] };
function caseDir(cases: Record<string, unknown[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'iotrace-conf-'));
  for (const [name, steps] of Object.entries(cases)) {
    mkdirSync(join(dir, 'x'), { recursive: true });
    writeFileSync(join(dir, 'x', `${name}.json`), JSON.stringify({ name, description: 'runner test', source: 'test', platform: PLATFORM, steps }));
  }
  return dir;
}

describe('the built-in conformance cases', () => {
  const files = caseFiles(CONFORMANCE_DIR);
  for (const file of files) {
    it(file.slice(CONFORMANCE_DIR.length + 1), () => {
      for (const r of runCaseFile(file, CONFORMANCE_DIR)) {
        expect(r.message, r.case).toBeNull();
        expect(r.unmet, r.case).toEqual([]);
        expect(r.violations, r.case).toEqual([]);
        expect(r.status).toBe('pass');
        expect(r.source, `${r.case} names its source`).toBeTruthy();
      }
    });
  }
});

describe('the conformance runner', () => {
  it('fails a wrong errno, a wrong out field, and flags a case that checks nothing', () => {
    const dir = caseDir({
      good: [{ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas', expect: { errno: 'ok', out: { out_ioas_id: 1 } } },
        { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: 99 }, expect: 'ENOENT' }],
      wrongErrno: [{ op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: 99 }, expect: 'EBUSY', source: 'iommufd_destroy(), drivers/iommu/iommufd/main.c' }],
      wrongOut: [{ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', expect: { out: { out_ioas_id: '0x2' } } }],
      nothing: [{ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC' }],
    });
    const byName = Object.fromEntries(runConformance(dir).map((r) => [r.case, r]));
    expect(byName['x/good.json']?.status).toBe('pass');
    expect(byName['x/wrongErrno.json']?.status).toBe('fail');
    expect(byName['x/wrongErrno.json']?.unmet).toEqual([{ step: 0, op: 'IOMMU_DESTROY', expected: 'EBUSY', got: 'ENOENT', source: 'iommufd_destroy(), drivers/iommu/iommufd/main.c', note: null }]);
    expect(byName['x/wrongOut.json']?.unmet[0]).toMatchObject({ expected: 'ok out.out_ioas_id=2', got: 'ok out.out_ioas_id=1' });
    expect(byName['x/nothing.json']?.status).toBe('invalid');
  });

  it('an unknown errno in expect is refused before anything runs', () => {
    const dir = caseDir({ typo: [{ op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: 99 }, expect: 'ENOENTT' }] });
    const [r] = runConformance(dir);
    expect(r?.status).toBe('invalid');
    expect(r?.message).toMatch(/steps\[0\]\.expect: unknown errno "ENOENTT"/);
  });

  it('iotrace conformance: one line per case, a summary, exit 1 on a failure; --json lists every case', () => {
    const dir = caseDir({ a: [{ op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: 7 }, expect: 'ENOENT' }], b: [{ op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: 7 }, expect: 'ok' }] });
    const r = cli('conformance', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('pass     x/a.json (1 checked)');
    expect(r.stdout).toContain('fail     x/b.json');
    expect(r.stdout).toContain('step 0 IOMMU_DESTROY: expected ok, got ENOENT');
    expect(r.stdout).toContain('2 case(s): 1 pass, 1 fail, 0 invalid; 2 expectation(s) checked');
    const j = cli('conformance', dir, '--json');
    const doc = JSON.parse(j.stdout) as { cases: { case: string; status: string }[]; summary: { pass: number } };
    expect(doc.cases.map((c) => [c.case, c.status])).toEqual([['x/a.json', 'pass'], ['x/b.json', 'fail']]);
    expect(cli('conformance', join(dir, 'nope')).status).toBe(2);
  });

  it('the built-in suite passes from the command line', () => {
    const r = cli('conformance', '--json');
    const doc = JSON.parse(r.stdout) as { summary: { cases: number; fail: number; invalid: number } };
    expect(doc.summary.fail + doc.summary.invalid).toBe(0);
    expect(r.status).toBe(doc.summary.cases > 0 ? 0 : 1);
  });
});
