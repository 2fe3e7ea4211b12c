// Small contract breaks from the bounds red team (notes/redteam-bounds.md F9,
// F11, F16) and the lies red team's minor notes: each case builds the input,
// runs the built CLI and checks the exact one line and the exit code, and
// what is left on disk.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORMATS } from '../importers/formats.js';
import { importLog } from '../importers/import.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { forge, gapsOf } from './forge.js';
import { recordTo } from './trace-helpers.js';
import { openUi } from './tui-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const ROOT = mkdtempSync(join(tmpdir(), 'iotrace-edges-'));
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => { const d = join(ROOT, `d${n++}`); mkdirSync(d); return d; };
/** The CLI in `cwd`, its temporary folder inside ROOT. */
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, timeout: 60_000, env: { ...process.env, TMPDIR: ROOT, NO_COLOR: '1' } });

let good: string;
beforeAll(() => {
  good = recordTo(fresh(), 'good', loadScenario('dwq-gpasid'), { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 8 }).path;
});

describe('a file with no header (F9): no format, engine or scenario is claimed', () => {
  const NO_HEADER = 'no header: not a trace, or a trace cut inside its first 12 bytes';
  // 0 bytes, 4 bytes of the magic, the magic and 3 bytes of the version: none says it is a trace, nor which format.
  for (const [name, bytes] of [['empty', Buffer.alloc(0)], ['magic prefix', Buffer.from('IOTR')], ['11 bytes', Buffer.from('IOTRACE\0\x02\0\0', 'latin1')]] as const) {
    it(`${name}: info, info --json, verify, verify --json, state`, () => {
      const d = fresh();
      writeFileSync(join(d, 'e.iotrace'), bytes);
      const info = cli(d, 'info', 'e.iotrace');
      expect(info.status).toBe(0);
      expect(info.stdout.split('\n').slice(0, 2)).toEqual(['trace      e.iotrace', `header     LOST: ${NO_HEADER}; no scenario, engine or seed to show`]);
      expect(info.stdout).not.toMatch(/^(engine|scenario) |format/m);
      expect(info.stdout).toContain(`DAMAGED    recovered 0 events; stopped at byte ${bytes.length}: ${NO_HEADER}; 0 events recovered\n`);
      const j = JSON.parse(cli(d, 'info', 'e.iotrace', '--json').stdout) as Record<string, unknown>;
      expect(j).toMatchObject({ format: null, engine: null, scenario: null, variant: null, seed: null, headerLost: NO_HEADER, events: 0 });
      const v = cli(d, 'verify', 'e.iotrace');
      expect(v.status).toBe(1);
      expect(v.stdout).toBe(`DAMAGED: ${NO_HEADER}: no scenario to re-run, nothing verified\n`);
      expect(JSON.parse(cli(d, 'verify', 'e.iotrace', '--json').stdout)).toEqual({ ok: false, events: 0, checked: 0, headerLost: NO_HEADER, truncated: true });
      const s = cli(d, 'state', 'e.iotrace', '--at', 'last');
      expect(s.status).toBe(2);
      expect(s.stderr).toBe(`iotrace: --at last: e.iotrace holds no event (${NO_HEADER})\n`);
    });
  }

  it('a whole preamble, then a cut header: the preamble\'s format is said as the preamble\'s, nothing else', () => {
    const d = fresh();
    writeFileSync(join(d, 'h.iotrace'), readFileSync(good).subarray(0, 30));
    const info = cli(d, 'info', 'h.iotrace');
    expect(info.status).toBe(0);
    expect(info.stdout.split('\n')[1]).toMatch(/^header {5}LOST: header unreadable: file ends inside a block \(\d+ bytes announced\) \(at byte 12\) \(the preamble says format 2\); no scenario, engine or seed to show$/);
    expect(info.stdout).not.toMatch(/^(engine|scenario) /m);
    expect(JSON.parse(cli(d, 'info', 'h.iotrace', '--json').stdout)).toMatchObject({ format: 2, engine: null, scenario: null });
    expect(cli(d, 'verify', 'h.iotrace').stdout).toMatch(/^DAMAGED: header unreadable: .*: no scenario to re-run, nothing verified\n$/);
  });

  it('the debugger\'s status names no scenario or variant', async () => {
    const p = join(fresh(), 'e.iotrace');
    writeFileSync(p, '');
    const ui = await openUi(p);
    try {
      const [top, bottom] = ui.status().split('\n');
      expect(top).toMatch(/│ no header \[not a trace, or cut\] │ e\.iotrace/);
      expect(top).not.toMatch(/header lost|default/);
      expect(bottom?.trim()).toBe(`trace damaged: ${NO_HEADER}; 0 events recovered`);
    } finally { ui.close(); }
  });
});

describe('an output that names a folder, or "-" (F16): refused before any work, one line, exit 2, nothing written', () => {
  const SC = join(process.cwd(), 'scenarios', 'dwq-gpasid.json');
  const folderLine = (o: string, end: string) => `iotrace: ${o}: names a folder (ends in "${end}"), not a file; write to a regular file or a new name\n`;
  const cases: [string, (o: string) => string[]][] = [
    ['record', (o) => ['record', 'dwq-gpasid', '-o', o]],
    ['export', (o) => ['export', 'in.iotrace', '--format', 'jsonl', '-o', o]],
    ['import', (o) => ['import', 'qemu', 'in.log', '-o', o]],
    ['whatif', (o) => ['whatif', 'in.iotrace', '--edit-step', '16', '--set', 'pasid=1', '-o', o]],
    ['shrink', (o) => ['shrink', SC, '--variant', 'pasid=translated', '-o', o]],
    ['explore', (o) => ['explore', 'race-free-while-bound', '-o', o, '--no-save']],
  ];
  for (const [cmd, args] of cases) {
    it(cmd, () => {
      const d = fresh();
      copyFileSync(good, join(d, 'in.iotrace'));
      writeFileSync(join(d, 'in.log'), 'vtd_context_cache_reset \n');
      for (const [o, end] of [['x/', '/'], ['x/.', '.'], ['x/..', '..']] as const) {
        const r = cli(d, ...args(o));
        expect(r.stderr, `${cmd} -o ${o}`).toBe(folderLine(o, end));
        expect(r.status).toBe(2);
      }
      const dash = cli(d, ...args('-'));
      expect(dash.stderr).toBe('iotrace: -: is not stdout here (export writes to stdout when -o is left out); name the file ./- to write one called "-"\n');
      expect(dash.status).toBe(2);
      // Nothing written: no x, no "-", no temporary file.
      expect(readdirSync(d).sort()).toEqual(['in.iotrace', 'in.log']);
    });
  }

  it('matrix -o names a folder: a file there is said to be a file, not EEXIST; -o - refused', () => {
    const d = fresh();
    writeFileSync(join(d, 's.json'), readFileSync(SC));
    const r = cli(d, 'matrix', 's.json', '-o', 's.json');
    expect(r.stderr).toBe('iotrace: s.json: is a file; -o names the folder the traces are written in\n');
    expect(r.status).toBe(2);
    const under = cli(d, 'matrix', 's.json', '-o', 's.json/traces');
    expect(under.stderr).toBe('iotrace: s.json/traces: a part of the path is a file, not a folder\n');
    expect(under.status).toBe(2);
    const dash = cli(d, 'matrix', 's.json', '-o', '-');
    expect(dash.stderr).toBe('iotrace: -o -: matrix writes traces into a folder, never to stdout; name it ./- for a folder called "-"\n');
    expect(dash.status).toBe(2);
    expect(readFileSync(join(d, 's.json'))).toEqual(readFileSync(SC));
    expect(readdirSync(d)).toEqual(['s.json']);
  });
});

describe('verify --source: its re-import folder is removed on SIGTERM (F11)', () => {
  it('the process dies of the signal and no iotrace-verify-* folder is left', async () => {
    const d = fresh();
    const log = join(d, 'big.log');
    // 600 000 lines the importer reads and skips: a re-import of a second or more.
    const line = (i: number) => `689@1796173792.${String(i % 1e6).padStart(6, '0')}:vtd_switch_address_space Device 00:02.0 switching address space (iommu enabled=${i & 1})\n`;
    const chunk: string[] = [];
    for (let i = 0; i < 600_000; i++) chunk.push(line(i));
    writeFileSync(log, chunk.join(''));
    const trace = join(d, 'big.iotrace');
    await importLog(log, trace, FORMATS.qemu);
    const temp = mkdtempSync(join(ROOT, 'tmp-'));
    const child = spawn(process.execPath, [BIN, 'verify', trace, '--source', log], { stdio: 'ignore', env: { ...process.env, TMPDIR: temp } });
    const exited = new Promise<string | null>((res) => child.on('exit', (_c, sig) => res(sig)));
    // Wait until the re-import's writer has its temporary file in the folder (after the first pass, before the second), then stop it.
    const t0 = Date.now();
    for (;;) {
      const dir = readdirSync(temp).find((f) => f.startsWith('iotrace-verify-'));
      if (dir && readdirSync(join(temp, dir)).length > 0) break;
      if (child.exitCode !== null || Date.now() - t0 > 30_000) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(readdirSync(temp)).toEqual([]);
  }, 60_000);
});

describe('a footer refused for what it says, its tail whole: the reason says so, not "the tail is damaged"', () => {
  it('chunkFirsts off by one: every block reads, the footer and tail are whole, the index disagrees', () => {
    const r0 = TraceReplayer.open(good);
    const firsts = r0.index.chunkFirsts.slice();
    const chunks = r0.index.chunkOffsets.length;
    r0.close();
    firsts[1] = (firsts[1] as number) + 1;
    const d = fresh();
    writeFileSync(join(d, 'f.iotrace'), forge(good, { footer: (doc) => { doc.chunkFirsts = gapsOf(firsts); } }));
    const info = cli(d, 'info', 'f.iotrace');
    expect(info.status).toBe(0);
    const line = info.stdout.split('\n').find((l) => l.startsWith('DAMAGED'));
    expect(line).toMatch(new RegExp(`^DAMAGED {4}recovered 41 events; stopped at byte \\d+: every block up to the footer reads, and the footer block and the tail are whole \\(at byte \\d+\\); footer unusable \\(index says chunk 0 holds events 0\\.\\.4, the chunk 0\\.\\.3 \\(at byte \\d+\\)\\); 41 events in ${chunks} whole chunk\\(s\\) recovered$`));
    expect(info.stdout).not.toContain('tail is damaged');
  });

  it('a damaged closing magic: still "the tail is damaged"', () => {
    const d = fresh();
    const b = Buffer.from(readFileSync(good));
    b[b.length - 1] = 0x58;
    writeFileSync(join(d, 't.iotrace'), b);
    const r = TraceReplayer.open(join(d, 't.iotrace'));
    try {
      expect(r.truncated?.reason).toMatch(/^footer block present but the tail is damaged \(at byte \d+\); footer unusable \(closing magic missing \(at byte \d+\)\); 41 events in \d+ whole chunk\(s\) recovered$/);
      expect(r.count).toBe(41);
    } finally { r.close(); }
  });
});
