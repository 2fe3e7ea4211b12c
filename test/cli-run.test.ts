// The built binary, spawned as a user would: list, run, start, bad usage.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe('iotrace run / list / start', () => {
  it('run --json prints a 0x59 fault for the dedicated queue and a successful ENQCMD under pasid=translated', () => {
    const r = cli('run', 'dwq-gpasid', '--variant', 'pasid=translated', '--json');
    expect(r.status).toBe(0);
    const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; reason?: number; gp?: boolean; rid?: string });
    expect(evs.filter((e) => e.kind === 'fault').map((e) => e.reason)).toEqual([0x59]);
    expect(evs.filter((e) => e.kind === 'enqcmd').map((e) => e.gp)).toEqual([false]);
  });

  it('run under pasid=identity prints no fault; two runs print identical output', () => {
    const a = cli('run', 'dwq-gpasid', '--variant', 'pasid=identity', '--json');
    const b = cli('run', 'dwq-gpasid', '--variant', 'pasid=identity', '--json');
    expect(a.status).toBe(0);
    expect(a.stdout).not.toContain('"kind":"fault"');
    expect(a.stdout).toBe(b.stdout);
  });

  it('an unmet expectation exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotrace-'));
    const file = join(dir, 's.json');
    writeFileSync(file, JSON.stringify({ name: 's', description: 'd', platform: { iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }] },
      steps: [{ op: 'dma', rid: '00:02.0', pasid: 1, addr: 0, expect: 'ok' }] }));
    const r = cli('run', file);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('EXPECTATION FAILED: expected ok, got fault 0x51');
  });

  it('bad input exits 2 with a one-line error naming the file, step and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotrace-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ name: 's', description: 'd', platform: { iommus: [], devices: [] }, steps: [{ op: 'dma', addr: 0 }] }));
    const r = cli('run', file);
    expect(r.status).toBe(2);
    // The position is the step's (the field is missing): line 1, where JSON.stringify put everything.
    expect(r.stderr.startsWith(`iotrace: ${file}: step 0: steps[0].rid: missing (line 1, column `)).toBe(true);
    expect(r.stderr).toMatch(/\(line 1, column \d+\)\n$/);
    mkdirSync(join(dir, 'adir'));
    expect(cli('run', join(dir, 'adir')).status).toBe(2);
    expect(cli('run', 'no-such-scenario').stderr).toMatch(/no such built-in scenario or file/);
    expect(cli('frobnicate').status).toBe(2);
    expect(cli('run', 'dwq-gpasid', '--variant', 'pasid=bogus').status).toBe(2);
    expect(cli('run', 'dwq-gpasid', '--nope').status).toBe(2);
  });

  it('list --json shows dwq-gpasid with its pasid axis', () => {
    const r = cli('list', '--json');
    expect(r.status).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; variants: Record<string, Record<string, string>> }[];
    expect(Object.keys(list.find((s) => s.name === 'dwq-gpasid')?.variants.pasid ?? {})).toEqual(['identity', 'translated']);
  });

  it('every subcommand answers --help', () => {
    for (const cmd of ['list', 'run', 'start']) {
      const r = cli(cmd, '--help');
      expect(r.status, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/^usage: iotrace/);
    }
  });
});
