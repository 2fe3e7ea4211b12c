// Files written where the user did not ask. Every output goes through
// safe/files.ts (a random temp created O_EXCL|O_NOFOLLOW in the target's
// folder, renamed only onto a regular file or a new name, removed on any
// failure) and every name from a file through safe/slug.ts. Each case
// checks the right answer: what is refused, what is left untouched, what is
// written and where.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_VERSION, run } from '../engine/run.js';
import { resolveVariant } from '../engine/scenario.js';
import { recordToFile } from '../recorder/record.js';
import { TraceWriter } from '../recorder/writer.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { AtomicFile, RefusedError, sameFile } from '../safe/files.js';
import { insideDir, slug } from '../safe/slug.js';
import { loadScenario } from '../scenarios/index.js';
import { FORMAT_VERSION } from '../trace/format.js';
import { traceName } from '../cli/commands/matrix.js';
import { BIN, cli, scenarioFile } from './attack-helpers.js';
import { recordTo, stressScenario, tmp } from './trace-helpers.js';

const TMP_NAME = /\.[0-9a-f]{16}\.tmp$/;
const oneLine = (s: string): void => { expect(s.trimEnd().split('\n')).toHaveLength(1); expect(s).not.toMatch(/\n\s+at /); };

describe('record -o onto something that is not a regular file: refused, the target untouched, no temp left', () => {
  it('a symlink (to a file the user can write)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'victim'), 'precious');
    symlinkSync(join(dir, 'victim'), join(dir, 'out.iotrace'));
    const r = cli(dir, 'record', 'dwq-gpasid', '-o', 'out.iotrace');
    expect(r.status).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/out\.iotrace: is a symbolic link/);
    expect(readlinkSync(join(dir, 'out.iotrace'))).toBe(join(dir, 'victim'));
    expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('precious');
    expect(readdirSync(dir).sort()).toEqual(['out.iotrace', 'victim']);
  });

  it('a FIFO (refused before anything opens it: no hang)', () => {
    const dir = tmp();
    expect(spawnSync('mkfifo', [join(dir, 'fifo')]).status).toBe(0);
    const r = cli(dir, 'record', 'dwq-gpasid', '-o', 'fifo');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/fifo: is a FIFO/);
    expect(lstatSync(join(dir, 'fifo')).isFIFO()).toBe(true);
    expect(readdirSync(dir)).toEqual(['fifo']);
  });

  it('a directory', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'd'));
    const r = cli(dir, 'record', 'dwq-gpasid', '-o', 'd');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/d: is a directory/);
    expect(statSync(join(dir, 'd')).isDirectory()).toBe(true);
    expect(readdirSync(join(dir, 'd'))).toEqual([]);
    expect(readdirSync(dir)).toEqual(['d']);
  });

  it('a device node (a copy of /dev/null made with mknod; root replaced the real one before)', () => {
    const dir = tmp();
    const node = join(dir, 'null');
    if (spawnSync('mknod', [node, 'c', '1', '3']).status !== 0) return; // not root: nothing to replace anyway
    const r = cli(dir, 'record', 'dwq-gpasid', '-o', 'null');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/null: is a device/);
    expect(lstatSync(node).isCharacterDevice()).toBe(true);
    expect(readdirSync(dir)).toEqual(['null']);
  });

  it('a regular file is replaced whole (and a new name created)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'old.iotrace'), 'old');
    expect(cli(dir, 'record', 'dwq-gpasid', '-o', 'old.iotrace').status).toBe(0);
    expect(cli(dir, 'record', 'dwq-gpasid', '-o', 'new.iotrace').status).toBe(0);
    expect(readFileSync(join(dir, 'old.iotrace')).equals(readFileSync(join(dir, 'new.iotrace')))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['new.iotrace', 'old.iotrace']);
  });
});

describe('the temporary file', () => {
  const header = () => {
    const sc = loadScenario('dwq-gpasid');
    return { sc, variant: resolveVariant(sc, {}), header: { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario: sc, variant: resolveVariant(sc, {}), seed: 0 } };
  };

  it('has an unpredictable name next to the target; a symlink planted at the old predictable name <out>.<pid>.tmp is not followed', () => {
    const dir = tmp();
    const out = join(dir, 'out.iotrace');
    writeFileSync(join(dir, 'victim'), 'precious');
    for (const planted of [`${out}.${process.pid}.tmp`, `${out}.tmp`, `${out}.partial`]) symlinkSync(join(dir, 'victim'), planted);
    const { sc, variant, header: h } = header();
    const w1 = new TraceWriter(out, h);
    const w2 = new TraceWriter(join(dir, 'other.iotrace'), h);
    const temps = readdirSync(dir).filter((f) => TMP_NAME.test(f));
    expect(temps).toHaveLength(2);
    expect(temps.some((f) => f.startsWith('out.iotrace.'))).toBe(true);
    expect(new Set(temps.map((f) => f.replace(/^[a-z]+\.iotrace\./, ''))).size).toBe(2);
    for (const e of run(sc, { variant })) { w1.push(e); w2.push(e); }
    w1.finish();
    w2.finish();
    expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('precious');
    for (const planted of [`${out}.${process.pid}.tmp`, `${out}.tmp`, `${out}.partial`]) expect(lstatSync(planted).isSymbolicLink()).toBe(true);
    expect(lstatSync(out).isFile()).toBe(true);
    expect(TraceReplayer.open(out).count).toBeGreaterThan(0);
    expect(readdirSync(dir).filter((f) => TMP_NAME.test(f))).toEqual([]);
  });

  it('is created exclusively: AtomicFile never opens a path that exists', () => {
    const dir = tmp();
    const target = join(dir, 't');
    const names = new Set<string>();
    for (let i = 0; i < 20; i++) { const f = new AtomicFile(target); names.add(basename(f.tmp)); f.abort(); }
    expect(names.size).toBe(20);
    for (const n of names) expect(n).toMatch(/^t\.[0-9a-f]{16}\.tmp$/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a failed rename (the target turned into a directory while recording) leaves no temp and the directory as it was', () => {
    const dir = tmp();
    const out = join(dir, 'out.iotrace');
    const { sc, variant, header: h } = header();
    const w = new TraceWriter(out, h);
    for (const e of run(sc, { variant })) w.push(e);
    mkdirSync(out);
    expect(() => w.finish()).toThrow(RefusedError);
    expect(readdirSync(dir)).toEqual(['out.iotrace']);
    expect(readdirSync(out)).toEqual([]);
  });

  it('a recording that fails part-way (an exception in the run after events were written) leaves no temp and no output', () => {
    const dir = tmp();
    const sc = loadScenario('dwq-gpasid');
    sc.steps.splice(10, 0, { op: 'no-such-op' } as unknown as (typeof sc.steps)[number]);
    expect(() => recordToFile(sc, {}, join(dir, 'out.iotrace'), { chunkEvents: 1, checkpointEvery: 1 })).toThrow(/no-such-op/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a recording the writer refuses (a note past the reader\'s bound) is one line, exit 2, and leaves nothing', () => {
    const dir = tmp();
    const r = cli(dir, 'record', scenarioFile(dir, 'x.json', 'dwq-gpasid', (s) => { s.steps[0].note = 'x'.repeat(1_100_000); }), '-o', 'out.iotrace');
    expect(r.status).toBe(2);
    oneLine(r.stderr);
    expect(readdirSync(dir)).toEqual(['x.json']);
  });
});

describe('export -o', () => {
  let dir = '';
  let trace = '';
  beforeAll(() => { dir = tmp(); trace = recordTo(dir, 'in', loadScenario('dwq-gpasid'), { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 4 }).path; });

  it('refuses its own input (the same path, another spelling, a hard link, a symlink) and leaves it unchanged', () => {
    const before = readFileSync(trace);
    linkSync(trace, join(dir, 'hard.iotrace'));
    symlinkSync(trace, join(dir, 'soft.iotrace'));
    for (const o of [trace, join(dir, '.', 'in.iotrace'), 'in.iotrace', join(dir, 'hard.iotrace'), join(dir, 'soft.iotrace')]) {
      const r = cli(dir, 'export', trace, '--format', 'jsonl', '-o', o);
      expect(r.status, o).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/is the input|is a symbolic link/);
      expect(readFileSync(trace).equals(before)).toBe(true);
    }
    expect(sameFile(trace, join(dir, 'hard.iotrace'))).toBe(true);
    expect(readdirSync(dir).filter((f) => TMP_NAME.test(f))).toEqual([]);
  });

  it('writes the whole export under the name, the same bytes as stdout', () => {
    const r = cli(dir, 'export', trace, '--format', 'chrome', '-o', 'out.json');
    expect(r.status, r.stderr).toBe(0);
    const s = cli(dir, 'export', trace, '--format', 'chrome');
    expect(readFileSync(join(dir, 'out.json'), 'utf8')).toBe(s.stdout);
    expect(JSON.parse(s.stdout)).toHaveProperty('traceEvents');
  });

  it('never leaves a partial export under the final name: a damaged chunk part-way is exit 2, no file, no temp; a previous file survives', () => {
    const d = tmp();
    const cut = join(d, 'cut.iotrace');
    writeFileSync(cut, readFileSync(trace));
    // Damage a chunk in the middle (past the header), so export fails after writing some events.
    const r0 = TraceReplayer.open(cut);
    const mid = r0.chunks[Math.floor(r0.chunks.length / 2)]!;
    r0.close();
    const bytes = readFileSync(cut);
    const off = mid.offset + 20;
    bytes[off] = (bytes[off] ?? 0) ^ 0xff;
    writeFileSync(cut, bytes);
    const r = cli(d, 'export', 'cut.iotrace', '--format', 'jsonl', '-o', 'new.jsonl');
    if (r.status === 0) {
      // The reader found the damage at open and recovered a prefix: then the export is that whole prefix.
      const rec = TraceReplayer.open(cut);
      expect(rec.truncated).not.toBe(null);
      expect(readFileSync(join(d, 'new.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(rec.count);
      rec.close();
    } else {
      expect(r.status).toBe(2);
      oneLine(r.stderr);
      expect(existsSync(join(d, 'new.jsonl'))).toBe(false);
    }
    writeFileSync(join(d, 'prev.jsonl'), 'previous');
    const p = cli(d, 'export', 'cut.iotrace', '--format', 'jsonl', '-o', 'prev.jsonl');
    if (p.status !== 0) expect(readFileSync(join(d, 'prev.jsonl'), 'utf8')).toBe('previous');
    expect(readdirSync(d).filter((f) => TMP_NAME.test(f))).toEqual([]);
  });

  it('SIGTERM part-way: the process dies of SIGTERM, no temp and no output are left', async () => {
    const d = tmp();
    const big = recordTo(d, 'big', stressScenario(400_000)).path;
    const child = spawn(process.execPath, [BIN, 'export', big, '--format', 'chrome', '-o', join(d, 'out.json')], { stdio: 'ignore' });
    const exited = new Promise<string | null>((res) => child.on('exit', (_c, sig) => res(sig)));
    const t0 = Date.now();
    for (;;) {
      const temp = readdirSync(d).find((f) => TMP_NAME.test(f));
      if (temp && statSync(join(d, temp)).size > 0) break;
      if (child.exitCode !== null || Date.now() - t0 > 30_000) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    child.kill('SIGTERM');
    const sig = await exited;
    expect(sig).toBe('SIGTERM');
    expect(readdirSync(d)).toEqual(['big.iotrace']);
  });
});

describe('names from files never choose where a file is written', () => {
  it('slug: one readable component, no /, \\, .., controls, leading . or -, bounded; distinct names stay distinct', () => {
    expect(slug('dwq-gpasid')).toBe('dwq-gpasid');
    expect(slug('pasid=translated')).toBe('pasid=translated');
    const bad = ['../../x/notes', 'a/b', 'a\\b', '..', '.', '.hidden', '-rf', 'x\ny', 'x\x1b]0;t\x07', '', 'a'.repeat(500), 'é/../ü'];
    const out = bad.map((n) => slug(n));
    for (const s of out) {
      expect(s).toMatch(/^[A-Za-z0-9_=+,@][A-Za-z0-9._=+,@-]*$/);
      expect(s).not.toContain('..');
      expect(s.length).toBeLessThanOrEqual(120);
      expect(insideDir('/tmp/x', `${s}.iotrace`)).toBe(join('/tmp/x', `${s}.iotrace`));
    }
    expect(new Set(out).size).toBe(out.length);
    expect(slug('../../x/notes')).toMatch(/x_notes-[0-9a-f]{8}$/);
    expect(slug('a/b')).not.toBe(slug('a_b'));
  });

  it('insideDir refuses any name that would land elsewhere', () => {
    for (const n of ['../x', 'a/b', '/etc/passwd', '..', '.', '', 'a/../../b']) expect(() => insideDir('/tmp/x', n)).toThrow(RefusedError);
  });

  it('record: a scenario named ../../x/notes writes ./<slug>--pasid=identity.iotrace in the current folder, nothing outside', () => {
    const root = tmp();
    const cwd = join(root, 'a', 'b');
    mkdirSync(cwd, { recursive: true });
    mkdirSync(join(root, 'x'));
    writeFileSync(join(root, 'x', 'notes'), 'notes');
    const file = scenarioFile(cwd, 'sc.json', 'dwq-gpasid', (s) => { s.name = '../../x/notes'; });
    const r = cli(cwd, 'record', file);
    expect(r.status, r.stderr).toBe(0);
    const name = `${slug('../../x/notes', 60)}--pasid=identity.iotrace`;
    expect(readFileSync(join(root, 'x', 'notes'), 'utf8')).toBe('notes');
    expect(readdirSync(join(root, 'x'))).toEqual(['notes']);
    expect(readdirSync(root).sort()).toEqual(['a', 'x']);
    expect(readdirSync(cwd).sort()).toEqual([name, 'sc.json'].sort());
  });

  it('matrix -o: a variant value holding /.. writes every trace inside the folder, nothing outside', () => {
    const root = tmp();
    const file = scenarioFile(root, 'sc.json', 'dwq-gpasid', (s) => {
      s.name = 'm/../../esc';
      s.variants.zz = { 'a/../../../escape': 'climbs out', '..': 'the parent', ok: 'plain' };
    });
    const r = cli(root, 'matrix', file, '-o', 'out');
    expect(r.status, r.stderr).toBe(0);
    const files = readdirSync(join(root, 'out')).sort();
    expect(files).toHaveLength(6);
    for (const f of files) {
      expect(f).toMatch(/\.iotrace$/);
      expect(f).not.toContain('/');
      expect(TraceReplayer.open(join(root, 'out', f)).count).toBeGreaterThan(0);
    }
    expect(readdirSync(root).sort()).toEqual(['out', 'sc.json']);
    expect(existsSync(join(root, '..', 'escape'))).toBe(false);
    // The same through the API with a scenario object no validator has seen.
    const sc = { ...loadScenario('dwq-gpasid'), name: '../../../../tmp/pwn' };
    const name = traceName(sc, { pasid: '../../etc' });
    expect(name).not.toContain('/');
    expect(() => insideDir(root, name)).not.toThrow();
  });

  it('a truncated file name stays within NAME_MAX, temp name included', () => {
    const dir = tmp();
    const long = join(dir, `${'n'.repeat(250)}.x`);
    const f = new AtomicFile(long);
    expect(Buffer.byteLength(basename(f.tmp))).toBeLessThanOrEqual(255);
    f.write(Buffer.from('ok'));
    f.commit();
    expect(readFileSync(long, 'utf8')).toBe('ok');
    truncateSync(long, 0);
  });
});
