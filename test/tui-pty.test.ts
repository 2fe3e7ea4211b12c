// The built binary in a real terminal: `node dist/cli/main.js replay <trace>`
// under tmux when it is installed, and under a pseudo-terminal (python3's
// pty module, screen rebuilt by test/vt.ts) when python3 is; keys go in as
// bytes, the screen is read back as text.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { record, tmp } from './tui-helpers.js';
import { Vt } from './vt.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const COLS = 120;
const ROWS = 40;
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

interface Term {
  send(keys: string): void;
  screen(): string;
  exited(): boolean;
  stop(): void;
}

/** tmux on a private socket, so a user's own tmux server is never touched. */
function tmuxTerm(args: string[], cols = COLS, rows = ROWS): Term {
  const sock = `iotrace-test-${process.pid}-${Date.now()}`;
  const tmux = (...a: string[]) => spawnSync('tmux', ['-u', '-L', sock, '-f', '/dev/null', ...a], { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } });
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = tmux('new-session', '-d', '-s', 'main', '-x', String(cols), '-y', String(rows), `TERM=xterm ${cmd}`);
  if (r.status !== 0) throw new Error(`tmux: ${r.stderr}`);
  tmux('set-option', '-g', 'escape-time', '0');
  return {
    send: (keys) => { tmux('send-keys', '-t', 'main', '-l', keys); },
    screen: () => tmux('capture-pane', '-p', '-t', 'main').stdout,
    exited: () => tmux('has-session', '-t', 'main').status !== 0,
    stop: () => { tmux('kill-server'); },
  };
}

/** A pseudo-terminal from python3's pty module; the screen is rebuilt from the bytes. */
function ptyTerm(args: string[]): Term {
  const vt = new Vt(COLS, ROWS);
  const child: ChildProcess = spawn('python3', [join(process.cwd(), 'test', 'pty-run.py'), String(COLS), String(ROWS), process.execPath, BIN, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let done = false;
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => vt.write(d));
  child.on('exit', () => { done = true; });
  return {
    send: (keys) => { child.stdin?.write(keys); },
    screen: () => vt.text(),
    exited: () => done,
    stop: () => { if (!done) child.kill(); },
  };
}

async function until(t: Term, what: string, test: (screen: string) => boolean, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  let s = '';
  while (Date.now() < end) {
    s = t.screen();
    if (test(s)) return s;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
}

const backends: [string, boolean, (args: string[]) => Term][] = [
  ['tmux', has('tmux'), tmuxTerm],
  ['python3 pty', has('python3'), ptyTerm],
];

describe('the built binary in a terminal', () => {
  let trace = '';
  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error('build first (npm run build)');
    trace = record(tmp(), 'dwq-gpasid', { pasid: 'translated' });
  });
  const live: Term[] = [];
  afterAll(() => { for (const t of live) t.stop(); });

  for (const [name, available, make] of backends) {
    it.skipIf(!available)(`replay --at first-fault under ${name}: draws, steps, helps, quits`, async () => {
      const t = make(['replay', trace, '--at', 'first-fault']);
      live.push(t);
      let s = await until(t, 'the first frame', (x) => x.includes('event #40/41'));
      expect(s).toContain('events (41)');
      expect(s).toMatch(/▶\s+40 t18\s+fault\s+FAULT iommu 0x59 /);
      expect(s).toContain(' event #40/41 · scenario step 18 · t18 │ 1F 0V · first fault #40 │');
      expect(s).toContain('state after event #40');
      expect(s).toContain('dwq-gpasid [pasid=translated]');
      t.send('k');
      s = await until(t, 'event 39', (x) => x.includes('event #39/41'));
      expect(s).toMatch(/▶\s+39 t18\s+dma/);
      t.send(':26\r');
      s = await until(t, 'event 26', (x) => x.includes('event #26/41'));
      expect(s).toContain('+ pasid 00:02.0/1');
      t.send('?');
      s = await until(t, 'the help', (x) => x.includes('iotrace replay — keys'));
      t.send('q');
      await until(t, 'the help to close', (x) => !x.includes('iotrace replay — keys'));
      t.send('q');
      await until(t, 'exit', () => t.exited());
    });
  }

  // Issue 15 at the smallest size the panes fit, in a real terminal: the status keeps the counts, the
  // detail opens, a breakpoint and c / C / C-o move, a key that cannot act says why.
  const tmuxNote = has('tmux') ? '' : ' (skipped: tmux is not installed; apt-get install -y tmux)';
  it.skipIf(!has('tmux'))(`80x24 under tmux: status, detail, breakpoint, continue, jump back${tmuxNote}`, async () => {
    const t = tmuxTerm(['replay', trace], 80, 24);
    live.push(t);
    let s = await until(t, 'the first frame', (x) => x.includes('event #0/41'));
    const rows = s.split('\n');
    expect(rows[22]).toContain(' event #0/41 · set-up · t0 │ 1F 0V · first fault #40 │');
    expect(s).toMatch(/│F fault V violation ▲ cursor · 1 col = 1 event/);
    expect(s).toMatch(/│▲·{39}F\s*│/);
    t.send('w');
    s = await until(t, 'the reason w cannot act', (x) => x.includes('w works in the state pane'));
    t.send('b');
    await until(t, 'the breakpoint prompt', (x) => x.includes('break on'));
    t.send('IOMMU_HWPT_ALLOC\r');
    await until(t, 'the breakpoint', (x) => x.includes('breakpoint 2: IOMMU_HWPT_ALLOC'));
    t.send('c');
    s = await until(t, 'event 10', (x) => x.includes('event #10/41 · scenario step 4'));
    expect(s).toContain('breakpoint 2 (IOMMU_HWPT_ALLOC) at event #10');
    t.send('c');
    await until(t, 'event 25', (x) => x.includes('event #25/41'));
    t.send('c');
    s = await until(t, 'the fault', (x) => x.includes('event #40/41'));
    expect(s).toContain('breakpoint 1 (any fault) at event #40');
    t.send('C');
    await until(t, 'event 25', (x) => x.includes('event #25/41'));
    t.send('\x0f');
    await until(t, 'back at 40', (x) => x.includes('event #40/41') && x.includes('back to event #40'));
    t.send('\r');
    s = await until(t, 'the detail', (x) => x.includes('event #40 · scenario step 18 · tick 18 · fault'));
    expect(s).toMatch(/reason\s+0x59/);
    t.send('\x1b');
    await until(t, 'the detail to close', (x) => !x.includes('event #40 · scenario step 18 · tick 18'));
    t.send('q');
    await until(t, 'exit', () => t.exited());
  });
});