// Output names that never collide (issue 14 §1): record's default name,
// start's per-user cache folder, replay of a scenario. The built binary,
// spawned in temporary folders.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'iotrace-out-'));
const cli = (cwd: string, env: NodeJS.ProcessEnv, ...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, ...env }, timeout: 60_000 });

describe('record without -o', () => {
  it('writes ./<scenario>--<axis>=<value>.iotrace in the current folder, one file per variant, and prints the next command', () => {
    const cwd = tmp();
    const a = cli(cwd, {}, 'record', 'dwq-gpasid', '--variant', 'pasid=translated');
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toContain('to dwq-gpasid--pasid=translated.iotrace');
    expect(a.stdout).toContain('next: iotrace replay dwq-gpasid--pasid=translated.iotrace --at first-fault');
    const b = cli(cwd, {}, 'record', 'dwq-gpasid');
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/next: iotrace replay dwq-gpasid--pasid=identity\.iotrace\n$/);
    expect(readdirSync(cwd).sort()).toEqual(['dwq-gpasid--pasid=identity.iotrace', 'dwq-gpasid--pasid=translated.iotrace']);
    // The two differ, so a diff of them is not empty.
    expect(cli(cwd, {}, 'diff', 'dwq-gpasid--pasid=identity.iotrace', 'dwq-gpasid--pasid=translated.iotrace').status).toBe(1);
  });
});

describe('start and replay <scenario>: the per-user cache folder', () => {
  it('start records into $XDG_CACHE_HOME/iotrace (mode 0700) and prints the path', () => {
    const home = tmp();
    const cache = join(home, 'xdg');
    const r = cli(home, { XDG_CACHE_HOME: cache }, 'start');
    expect(r.status, r.stderr).toBe(0);
    const trace = join(cache, 'iotrace', 'dwq-gpasid--pasid=translated.iotrace');
    expect(r.stdout).toContain(`trace: ${trace}`);
    expect(existsSync(trace)).toBe(true);
    expect(statSync(join(cache, 'iotrace')).mode & 0o777).toBe(0o700);
    expect(readdirSync(home)).toEqual(['xdg']);
  });

  it('start takes a scenario and --variant; without XDG_CACHE_HOME it uses ~/.cache/iotrace', () => {
    const home = tmp();
    const r = cli(home, { XDG_CACHE_HOME: '', HOME: home }, 'start', 'dwq-gpasid', '--variant', 'pasid=identity');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`trace: ${join(home, '.cache', 'iotrace', 'dwq-gpasid--pasid=identity.iotrace')}`);
    expect(r.stdout).toMatch(/^scenario dwq-gpasid \(pasid=identity\): 40 events, 0 fault/);
  });

  it('a symlinked, group-writable or foreign-owned cache folder is refused in one line', () => {
    const home = tmp();
    const elsewhere = join(home, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    mkdirSync(join(home, 'c1'));
    symlinkSync(elsewhere, join(home, 'c1', 'iotrace'));
    const a = cli(home, { XDG_CACHE_HOME: join(home, 'c1') }, 'start');
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/^iotrace: .*c1\/iotrace: is a symbolic link; refusing to use it as the cache folder/);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(elsewhere)).toEqual([]);
    mkdirSync(join(home, 'c2', 'iotrace'), { recursive: true });
    chmodSync(join(home, 'c2', 'iotrace'), 0o777);
    const b = cli(home, { XDG_CACHE_HOME: join(home, 'c2') }, 'start');
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/is writable by others \(mode 777\)/);
    if (process.getuid?.() === 0) {
      mkdirSync(join(home, 'c3', 'iotrace'), { recursive: true, mode: 0o700 });
      chownSync(join(home, 'c3', 'iotrace'), 12345, 12345);
      const c = cli(home, { XDG_CACHE_HOME: join(home, 'c3') }, 'start');
      expect(c.status).toBe(2);
      expect(c.stderr).toMatch(/is owned by uid 12345, not by you/);
    }
  });

  it('replay <scenario> records it into the cache folder first, then opens it (--dump draws a frame)', () => {
    const home = tmp();
    const cache = join(home, 'xdg');
    const r = cli(home, { XDG_CACHE_HOME: cache }, 'replay', 'dwq-gpasid', '--variant', 'pasid=translated', '--at', 'first-fault', '--dump', '140x24');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('events (41)');
    expect(r.stdout).toContain('dwq-gpasid--pasid=translated.iotrace');
    expect(existsSync(join(cache, 'iotrace', 'dwq-gpasid--pasid=translated.iotrace'))).toBe(true);
    // A .json scenario file too; --variant on a trace is a usage error.
    const j = cli(home, { XDG_CACHE_HOME: cache }, 'replay', join(process.cwd(), 'scenarios', 'dwq-gpasid.json'), '--dump', '100x24');
    expect(j.status, j.stderr).toBe(0);
    const t = cli(home, { XDG_CACHE_HOME: cache }, 'replay', join(cache, 'iotrace', 'dwq-gpasid--pasid=translated.iotrace'), '--variant', 'pasid=identity', '--dump', '100x24');
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/--variant and --seed record a scenario/);
  });

  it('in a terminal, start opens the debugger at the first fault and prints the trace path after q', async () => {
    if (spawnSync('python3', ['-c', 'import pty']).status !== 0) return;
    const home = tmp();
    const cache = join(home, 'xdg');
    const child = spawn('python3', [join(process.cwd(), 'test', 'pty-run.py'), '120', '40', process.execPath, BIN, 'start'],
      { cwd: home, env: { ...process.env, XDG_CACHE_HOME: cache }, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => { out += d; });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const deadline = Date.now() + 20_000;
    while (!/first fault #40/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/event #40\/41/);
    child.stdin.write('q');
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    if (code === null) child.kill('SIGKILL');
    expect(code).toBe(0);
    const trace = join(cache, 'iotrace', 'dwq-gpasid--pasid=translated.iotrace');
    expect(out).toContain(`trace: ${trace} (iotrace replay ${trace} opens it again)`);
  });
});
