// The trace subcommands through the built binary: record, info, events,
// state, verify, export.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
describe('iotrace record / info / events / state / verify / export', () => {
  const dir = tmp();
  const t = join(dir, 't.iotrace');

  it('record dwq-gpasid pasid=translated: info shows the fault, state at first-fault lacks the guest PASID entry', () => {
    const rec = cli('record', 'dwq-gpasid', '--variant', 'pasid=translated', '-o', t);
    expect(rec.status, rec.stderr).toBe(0);
    expect(rec.stdout).toMatch(/faults\s+1 \(first at step \d+\)/);
    const info = cli('info', t, '--json');
    expect(info.status).toBe(0);
    const j = JSON.parse(info.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ format: 2, scenario: 'dwq-gpasid', variant: { pasid: 'translated' }, seed: 0, truncated: false });
    expect(j.faults).toBeGreaterThanOrEqual(1);
    expect(typeof j.firstFault).toBe('number');
    for (const key of ['events', 'violations', 'kinds', 'bytes']) expect(j).toHaveProperty(key);
    const st = cli('state', t, '--at', 'first-fault', '--json');
    expect(st.status).toBe(0);
    const pasid = (JSON.parse(st.stdout) as { sections: { pasid: Record<string, unknown> } }).sections.pasid;
    expect(Object.keys(pasid)).not.toContain('00:02.0/5');
    expect(Object.keys(pasid).length).toBeGreaterThan(0);
    expect(cli('state', t, '--at', 'first-fault').stdout).toContain('[pasid]');
  });

  it('records byte-identical files and verify passes; a tampered trace fails verify', () => {
    const a = join(dir, 'a.iotrace');
    const b = join(dir, 'b.iotrace');
    expect(cli('record', 'stress', '--scale', '3000', '-o', a).status).toBe(0);
    expect(cli('record', 'stress', '--scale', '3000', '-o', b).status).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const v = cli('verify', a);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^ok: \d+ events identical/);
    // Another seed recorded under the first one's header: the events diverge.
    const c = join(dir, 'c.iotrace');
    expect(cli('record', 'stress', '--scale', '3000', '--seed', '9', '-o', c).status).toBe(0);
    const bytes = readFileSync(c);
    const head = readFileSync(a);
    const hdrEnd = (x: Buffer) => 12 + 12 + x.readUInt32LE(16);
    writeFileSync(c, Buffer.concat([head.subarray(0, hdrEnd(head)), bytes.subarray(hdrEnd(bytes))]));
    const bad = cli('verify', c);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/DIVERGES at step \d+/);
  });

  it('events filters by kind and range; export writes jsonl and chrome JSON', () => {
    const ev = cli('events', t, '--kind', 'fault', '--json');
    expect(ev.status).toBe(0);
    const lines = ev.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    expect(lines.every((e) => e.kind === 'fault')).toBe(true);
    expect(cli('events', t, '--from', '2', '--to', '5').stdout.trim().split('\n')).toHaveLength(3);
    const jl = cli('export', t, '--format', 'jsonl');
    expect(jl.stdout.trim().split('\n').length).toBe((JSON.parse(cli('info', t, '--json').stdout) as { events: number }).events);
    const out = join(dir, 't.json');
    expect(cli('export', t, '--format', 'chrome', '-o', out).status).toBe(0);
    const chrome = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: { ph: string; cat?: string }[] };
    expect(chrome.traceEvents.some((e) => e.ph === 'i' && e.cat === 'fault')).toBe(true);
    expect(chrome.traceEvents.some((e) => e.ph === 'M')).toBe(true);
  });

  it('bad usage and bad input exit 2 with one line; a cut trace reports recovery', () => {
    for (const args of [['info'], ['state', t], ['state', t, '--at', 'x'], ['export', t, '--format', 'xml'], ['info', join(dir, 'missing')]]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const junk = join(dir, 'junk.iotrace');
    writeFileSync(junk, 'hello');
    expect(cli('info', junk).status).toBe(2);
    const cut = join(dir, 'cut.iotrace');
    writeFileSync(cut, readFileSync(t).subarray(0, 40));
    const info = JSON.parse(cli('info', cut, '--json').stdout) as { truncated: boolean; events: number };
    expect(info).toMatchObject({ truncated: true, events: 0 });
    for (const cmd of ['record', 'info', 'events', 'state', 'verify', 'export']) expect(cli(cmd, '--help').status).toBe(0);
  });
});
