// --fail-on (issue 14 §2): which findings make run, record, matrix and
// verify exit 1. The built binary, spawned.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, timeout: 60_000 });

describe('--fail-on', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'iotrace-failon-'));
  // viommu-vdevice under abort=erase: a stale-ATC violation, no fault; dwq-gpasid under pasid=translated: a 0x59 fault, no violation.
  it('run: a violation exits 1 by default (expect,violation), a fault does not; --fail-on fault / none', () => {
    const v = cli(cwd, 'run', 'viommu-vdevice', '--variant', 'abort=erase');
    expect(v.status).toBe(1);
    expect(v.stderr).toBe('iotrace: exit 1: 1 violation (--fail-on expect,violation)\n');
    expect(cli(cwd, 'run', 'viommu-vdevice', '--variant', 'abort=erase', '--fail-on', 'none').status).toBe(0);
    expect(cli(cwd, 'run', 'viommu-vdevice', '--variant', 'abort=erase', '--fail-on', 'fault,expect').status).toBe(0);
    expect(cli(cwd, 'run', 'dwq-gpasid', '--variant', 'pasid=translated').status).toBe(0);
    const f = cli(cwd, 'run', 'dwq-gpasid', '--variant', 'pasid=translated', '--fail-on', 'fault', '--json');
    expect(f.status).toBe(1);
    expect(f.stderr).toBe('iotrace: exit 1: 1 fault (--fail-on fault)\n');
  });

  it('a misspelt finding is one line with a suggestion, exit 2', () => {
    const r = cli(cwd, 'run', 'dwq-gpasid', '--fail-on', 'faults');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('iotrace: --fail-on takes a comma-separated list of fault, violation, expect (or none), got "faults" (did you mean fault?)\n');
  });

  it('record writes the trace and exits 1 on a violation; verify --fail-on gates on what the trace holds', () => {
    const r = cli(cwd, 'record', 'viommu-vdevice', '--variant', 'abort=erase');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('violations  1');
    const trace = join(cwd, 'viommu-vdevice--abort=erase.iotrace');
    expect(cli(cwd, 'record', 'viommu-vdevice', '--variant', 'abort=erase', '--fail-on', 'none').status).toBe(0);
    expect(cli(cwd, 'verify', trace).status).toBe(0);
    const v = cli(cwd, 'verify', trace, '--fail-on', 'violation');
    expect(v.status).toBe(1);
    expect(v.stdout).toMatch(/^ok: /);
    const j = cli(cwd, 'verify', trace, '--fail-on', 'fault', '--json');
    expect(j.status).toBe(0);
    expect((JSON.parse(j.stdout) as { failed: string | null }).failed).toBeNull();
  });

  it('matrix exits 0 whatever the table shows, 1 with --fail-on when a row holds the finding', () => {
    expect(cli(cwd, 'matrix', 'free-while-bound').status).toBe(0);
    const m = cli(cwd, 'matrix', 'free-while-bound', '--fail-on', 'violation');
    expect(m.status).toBe(1);
    expect(m.stderr).toBe('iotrace: exit 1: 2 violations (--fail-on violation)\n');
    expect(cli(cwd, 'matrix', 'free-while-bound', '--fail-on', 'expect').status).toBe(0);
  });
});
