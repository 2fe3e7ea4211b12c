// Benchmark of the replay debugger on a large stress trace (issue 5):
//   open to first screen, keypress → rendered frame (p50/p99) for stepping,
//   fault jumps, paging, continue / reverse-continue, the detail view and random gotos, and memory while playing 100 000
//   steps. The UI runs for real, on fake terminal streams of a fixed size.
//
//   node dist/bench/tui.js [trace] [--steps N] [--cols C --rows R]
// Without a trace it records stress at ~10 M events to <tmpdir>/iotrace-bench/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { recordToFile } from '../recorder/record.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { openDebugger, type Debugger } from '../tui/app.js';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2), allowPositionals: true,
  options: { steps: { type: 'string' }, cols: { type: 'string' }, rows: { type: 'string' }, keys: { type: 'string' } },
});
const COLS = Number(values.cols ?? 160);
const ROWS = Number(values.rows ?? 48);
const PLAY_STEPS = Number(values.steps ?? 100_000);
const KEYS = Number(values.keys ?? 1000);

function traceFile(): string {
  if (positionals[0]) return positionals[0];
  const path = join(tmpdir(), 'iotrace-bench', 'stress-10m.iotrace');
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const sc = loadScenario('stress');
    // The builder's scale is a target; 11.4 M lands just over 10 M events.
    sc.generate = { builder: 'stress', params: { scale: 11_400_000 } };
    process.stderr.write(`recording ${path} (about a minute)...\n`);
    recordToFile(sc, {}, path);
  }
  return path;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x: number): string => `${x.toFixed(2)} ms`;
const mb = (x: number): string => `${(x / 2 ** 20).toFixed(1)} MB`;
const tick = (): Promise<void> => new Promise((res) => setImmediate(res));

function fakeTerm() {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const output = Object.assign(new Writable({ write: (_c, _e, cb: () => void) => cb() }), { isTTY: true, columns: COLS, rows: ROWS });
  return { input, output };
}

/** Time from writing a key to the end of the frame it causes. */
async function press(d: Debugger, input: PassThrough, key: string): Promise<number> {
  const frames = d.frames;
  const t0 = performance.now();
  input.write(key);
  while (d.frames === frames) await tick();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const path = traceFile();
  const here = dirname(fileURLToPath(import.meta.url));
  const bin = join(here, '..', 'cli', 'main.js');

  // 1. Open to first screen, in process (trace open + first frame).
  const term = fakeTerm();
  const t0 = performance.now();
  const r = TraceReplayer.open(path);
  const tOpen = performance.now() - t0;
  const d = openDebugger(r, { ...term, at: 0 });
  const tFirst = performance.now() - t0;
  console.log(`trace ${path}: ${r.count} events, ${r.faults.length} faults, ${mb(r.bytes)}`);
  console.log(`terminal ${COLS}x${ROWS}`);
  console.log(`open to first screen (in process): ${ms(tFirst)} (trace open ${ms(tOpen)})`);

  // ...and as a user sees it: a fresh process that loads, opens, draws one frame and exits.
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    const res = spawnSync(process.execPath, [bin, 'replay', path, '--dump', `${COLS}x${ROWS}`], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(res.stderr);
    runs.push(performance.now() - s);
  }
  console.log(`fresh process, start to first frame printed and exit (median of 5): ${ms(pct(runs, 50))}`);

  // 2. Keypress to rendered frame.
  const series: [string, () => string, number][] = [
    ['step (j)', () => 'j', KEYS],
    ['step back (k)', () => 'k', KEYS],
    ['next fault (n)', () => 'n', Math.min(KEYS, r.faults.length - 1)],
    ['previous fault (N)', () => 'N', Math.min(KEYS, r.faults.length - 1)],
    ['page down (PgDn)', () => '\x1b[6~', KEYS],
    ['page up (PgUp)', () => '\x1b[5~', KEYS],
    ['first fault (f) / last (G) alternately', (() => { let i = 0; return () => (i++ % 2 ? 'G' : 'f'); })(), 200],
    // Issue 15: continue / reverse-continue to the "any fault" breakpoint, and the detail view opened and closed.
    ['continue (c)', () => 'c', Math.min(KEYS, r.faults.length - 1)],
    ['reverse-continue (C)', () => 'C', Math.min(KEYS, r.faults.length - 1)],
    ['detail (i) / close (i) alternately', () => 'i', KEYS],
  ];
  d.goTo(Math.floor(r.count / 2));
  d.render();
  for (const [name, key, n] of series) {
    if (name.startsWith('next fault') || name.startsWith('continue')) { d.goTo(0); d.render(); }
    if (name.startsWith('previous fault') || name.startsWith('reverse')) { d.goTo(r.count - 1); d.render(); }
    const times: number[] = [];
    for (let i = 0; i < 20; i++) await press(d, term.input, key()); // warm-up
    // CPU time per key too: on a loaded machine the wall times measure the other processes as much as this one.
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < n; i++) times.push(await press(d, term.input, key()));
    const cpu = process.cpuUsage(cpu0);
    console.log(`${name.padEnd(40)} n=${String(n).padEnd(5)} p50 ${ms(pct(times, 50))}  p99 ${ms(pct(times, 99))}  max ${ms(Math.max(...times))}  cpu ${ms((cpu.user + cpu.system) / 1000 / n)}/key`);
  }
  // Random gotos (":N⏎"): a state far from any cached one, rebuilt from a checkpoint.
  {
    const times: number[] = [];
    let seed = 1;
    for (let i = 0; i < 200; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const n = seed % r.count;
      for (const ch of `:${n}`) term.input.write(ch);
      await tick(); await tick();
      times.push(await press(d, term.input, '\r'));
    }
    console.log(`${'goto a random step (:N Enter)'.padEnd(40)} n=200   p50 ${ms(pct(times, 50))}  p99 ${ms(pct(times, 99))}  max ${ms(Math.max(...times))}`);
  }

  // Issue 15: P (provenance chain) at faults spread over the trace, timed to the keypress's frame (the chain's first
  // slice, then it goes on in the background) and to the chain being complete; the first P also builds the writer
  // index (one pass over the trace). Esc closes it. Then W (next write of the cell the state pane selected at the
  // fault) from the index.
  {
    const sample = r.faults.filter((_, i) => i % Math.max(1, Math.floor(r.faults.length / 100)) === 0).slice(0, 100);
    const at = async (n: number): Promise<void> => { d.goTo(n); d.render(); await tick(); };
    await at(sample[0] as number);
    let t0 = performance.now();
    const firstKey = await press(d, term.input, 'P');
    await d.idle();
    const firstAll = performance.now() - t0;
    await press(d, term.input, '\x1b');
    console.log(`${'P, first (writer index + chain)'.padEnd(40)} keypress ${ms(firstKey)}, complete ${ms(firstAll)}`);
    const keys: number[] = [];
    const whole: number[] = [];
    const esc: number[] = [];
    for (const f of sample) {
      await at(f);
      t0 = performance.now();
      keys.push(await press(d, term.input, 'P'));
      await d.idle();
      whole.push(performance.now() - t0);
      esc.push(await press(d, term.input, '\x1b'));
    }
    console.log(`${'provenance chain (P), keypress'.padEnd(40)} n=${String(keys.length).padEnd(5)} p50 ${ms(pct(keys, 50))}  p99 ${ms(pct(keys, 99))}  max ${ms(Math.max(...keys))}`);
    console.log(`${'provenance chain (P), complete'.padEnd(40)} n=${String(whole.length).padEnd(5)} p50 ${ms(pct(whole, 50))}  p99 ${ms(pct(whole, 99))}  max ${ms(Math.max(...whole))}`);
    console.log(`${'close the chain (Esc)'.padEnd(40)} n=${String(esc.length).padEnd(5)} p50 ${ms(pct(esc, 50))}  p99 ${ms(pct(esc, 99))}  max ${ms(Math.max(...esc))}`);
    const w: number[] = [];
    for (const f of sample) {
      await at(f);
      await press(d, term.input, '\t');
      t0 = performance.now();
      await press(d, term.input, 'W');
      await d.idle();
      w.push(performance.now() - t0);
      await press(d, term.input, '\x1b[Z');
    }
    console.log(`${'next write of the cell (W), complete'.padEnd(40)} n=${String(w.length).padEnd(5)} p50 ${ms(pct(w, 50))}  p99 ${ms(pct(w, 99))}  max ${ms(Math.max(...w))}`);
  }

  // 3. Memory while playing PLAY_STEPS steps, one step per frame, as fast as frames draw; play stops at
  // breakpoints, so the one it starts with ("any fault") is turned off for this.
  for (const b of d.breakpoints.list) b.enabled = false;
  d.goTo(1000);
  d.render();
  global.gc?.();
  const start = d.cursor;
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const samples: string[] = [];
  const tPlay = performance.now();
  term.input.write('0');
  term.input.write('p');
  let next = start + PLAY_STEPS / 10;
  while (d.cursor - start < PLAY_STEPS) {
    await new Promise((res) => setTimeout(res, 5));
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    if (d.cursor >= next) { samples.push(`${d.cursor - start}: rss ${mb(m.rss)} heap ${mb(m.heapUsed)}`); next += PLAY_STEPS / 10; }
  }
  term.input.write('x');
  await tick();
  const played = d.cursor - start;
  const tp = performance.now() - tPlay;
  global.gc?.();
  const end = process.memoryUsage();
  console.log(`play: ${played} steps in ${(tp / 1000).toFixed(1)} s (${(played / (tp / 1000)).toFixed(0)} steps/s, one frame per step)`);
  console.log(`  memory before: rss ${mb(base.rss)} heap ${mb(base.heapUsed)}; peak rss ${mb(peakRss)} heap ${mb(peakHeap)}; after: rss ${mb(end.rss)} heap ${mb(end.heapUsed)}`);
  for (const s of samples) console.log(`  ${s}`);
  d.quit();
  r.close();
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
