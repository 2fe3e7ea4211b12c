// A trace header's claims about how its events were made (redteam-lies F1,
// F2, F5): a forged-but-valid header must not switch verify's re-run off,
// carry a variant its scenario has not, or describe an imported trace's
// source falsely, while verify says ok.
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { variantProblem } from '../engine/scenario.js';
import type { TraceEvent } from '../engine/types.js';
import { loadScenario } from '../scenarios/index.js';
import { forge } from './forge.js';
import { FIXTURES } from './import-helpers.js';
import { recordTo, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

let dir: string;
let good: string;
const save = (name: string, bytes: Buffer): string => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
const IMPORTED = { tool: 'qemu', file: 'x.log', sha256: '00', bytes: 1, lines: 1, forms: [], t0: null, skipped: {}, folded: 0, malformed: 0, malformedLines: [], traced: [] };
/** The fault's reason 0x59 -> 0: events that the header's scenario does not make. */
const falseFault = (_c: number, evs: TraceEvent[]): TraceEvent[] => evs.map((e) => (e.kind === 'fault' ? { ...e, reason: 0 } as TraceEvent : e));

beforeAll(() => {
  dir = tmp();
  good = recordTo(dir, 'good', loadScenario('dwq-gpasid'), { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 8 }).path;
});

describe('an imported label beside a scenario with steps (F2)', () => {
  it('is a bad header for every reader: verify cannot be made to skip its re-run', () => {
    const plain = save('b2plain.iotrace', forge(good, { chunk: falseFault }));
    expect(cli('verify', plain).stdout).toMatch(/^DIVERGES at step 40/m);
    const labelled = save('b2.iotrace', forge(good, { chunk: falseFault, header: (d) => { d.imported = IMPORTED; } }));
    // The header is unreadable, as any damaged header: nothing is read from the file, verify exits 1 saying why.
    const why = "header unreadable: bad header: imported: beside a scenario with 19 step\\(s\\) to run \\(an imported trace's scenario is the platform alone\\)";
    const v = cli('verify', labelled);
    expect(v.status).toBe(1);
    expect(v.stdout, v.stdout).toMatch(new RegExp(`^DAMAGED: ${why}.*: no scenario to re-run, nothing verified$`, 'm'));
    expect(v.stdout).not.toMatch(/^ok|unchecked/m);
    const i = cli('info', labelled);
    expect(i.stdout, i.stdout).toMatch(new RegExp(`^header +LOST: ${why}`, 'm'));
    expect(i.stdout).not.toMatch(/^imported/m);
    // The importer's own shape (the platform alone) still reads as imported.
    const sc = loadScenario('dwq-gpasid');
    const bare = save('bare.iotrace', forge(good, { header: (d) => { d.imported = IMPORTED; d.scenario = { ...sc, steps: [] }; } }));
    expect(cli('info', bare).stdout).toMatch(/^imported {3}from a qemu log: x\.log/m);
  });
});

describe('a header variant its scenario does not have (F5)', () => {
  it('variantProblem names the axis or value; what record writes has none', () => {
    const sc = loadScenario('dwq-gpasid');
    expect(variantProblem(sc, { pasid: 'translated' })).toBeNull();
    expect(variantProblem(sc, { pasid: 'translated', iommu: 'amd-vi' })).toBe('iommu=amd-vi: not an axis of scenario dwq-gpasid (its axes: pasid)');
    expect(variantProblem(sc, { pasid: 'bogus' })).toBe('pasid=bogus: not a value of that axis (identity, translated)');
    expect(variantProblem(sc, {})).toBe('no value for axis pasid (one of identity, translated)');
    expect(variantProblem(sc, { pasid: 'toString' })).toMatch(/not a value of that axis/);
  });

  it('verify and info say FALSE CLAIM and exit 1 (not ok, not a re-run error)', () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['extra', { pasid: 'translated', iommu: 'amd-vi', hardening: 'on' }, /header's variant pasid=translated,iommu=amd-vi,hardening=on is not a variant of its scenario: iommu=amd-vi, hardening=on: not an axis of scenario dwq-gpasid \(its axes: pasid\)/],
      ['bogus', { pasid: 'bogus' }, /header's variant pasid=bogus is not a variant of its scenario: pasid=bogus: not a value of that axis \(identity, translated\)/],
      ['missing', {}, /header's variant default is not a variant of its scenario: no value for axis pasid/],
    ];
    for (const [name, variant, claim] of cases) {
      const p = save(`v-${name}.iotrace`, forge(good, { header: (d) => { d.variant = variant; } }));
      const v = cli('verify', p);
      expect(v.status, name).toBe(1);
      expect(v.stdout, name).toMatch(new RegExp(`^FALSE CLAIM: ${claim.source}`, 'm'));
      expect(v.stdout, name).toMatch(/^unchecked {2}the 41 events: not re-run/m);
      expect(v.stdout, name).not.toMatch(/^ok/m);
      expect(JSON.parse(cli('verify', p, '--json').stdout)).toMatchObject({ ok: false, checked: 0, divergence: null });
      const i = cli('info', p);
      expect(i.status, name).toBe(1);
      expect(i.stdout, name).toMatch(new RegExp(`^FALSE CLAIM: ${claim.source}`, 'm'));
      expect((JSON.parse(cli('info', p, '--json').stdout) as { checks: { header: string[] } }).checks.header).toHaveLength(1);
    }
    const g = cli('info', good);
    expect(g.status).toBe(0);
    expect(g.stdout).not.toContain('FALSE CLAIM');
    expect(cli('verify', good).status).toBe(0);
  });
});

describe("an imported trace's account of its log (F1)", () => {
  it('verify --source compares it with the re-import: each forged field is a FALSE CLAIM; without --source it is labelled unchecked', () => {
    const log = join(FIXTURES, 'qemu-vtd-scalable.log');
    const imp = join(dir, 'imp.iotrace');
    expect(cli('import', 'qemu', log, '-o', imp).status).toBe(0);
    // The same log under another name is still the source: the file name is not compared.
    const copy = join(dir, 'renamed.log');
    copyFileSync(log, copy);
    const ok = cli('verify', imp, '--source', copy);
    expect(ok.status, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^source {5}831 lines \(tid@sec\.usec, first timestamp [^)]+\): 0 malformed, 500 not mapped .*, 164 folded\n/m);
    expect(ok.stdout).not.toContain('unchecked');
    const forged = save('a.iotrace', forge(imp, { header: (d) => {
      const m = d.imported as Record<string, unknown>;
      Object.assign(m, { bytes: 1, lines: 7, forms: ['iso8601'], t0: '2020-01-01', skipped: {}, folded: 0, traced: [] });
      ((d.scenario as { platform: { devices: unknown[] } }).platform.devices).length = 0;
    } }));
    const v = cli('verify', forged, '--source', log);
    expect(v.status).toBe(1);
    const claims = v.stdout.split('\n').filter((l) => l.startsWith('FALSE CLAIM'));
    expect(claims).toEqual(expect.arrayContaining([
      "FALSE CLAIM: header says the log's bytes is 1; importing it again gives 61209",
      "FALSE CLAIM: header says the log's lines is 7; importing it again gives 831",
      'FALSE CLAIM: header says the log\'s forms is ["iso8601"]; importing it again gives ["tid@sec.usec"]',
      "FALSE CLAIM: header's platform (the IOMMUs and devices inferred from the log) is not the one importing it again infers",
    ]));
    expect(claims.filter((l) => /'s (t0|skipped|folded|traced) is/.test(l))).toHaveLength(4);
    expect(v.stdout).not.toMatch(/^ok/m);
    expect(JSON.parse(cli('verify', forged, '--source', log, '--json').stdout)).toMatchObject({ ok: false, source: { matches: true, divergence: null } });
    // Without the log nothing can check the account: info and verify say so on the line that gives it.
    for (const cmd of ['info', 'verify']) {
      expect(cli(cmd, forged).stdout, cmd).toMatch(/^source {5}7 lines \(iso8601, first timestamp 2020-01-01\): 0 malformed, 0 not mapped, 0 folded; as the header says \(unchecked: verify --source <log> imports the log again and compares\)$/m);
    }
  });
});
