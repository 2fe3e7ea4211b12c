// A recorder that dies part-way. The writer records under
// `<out>.<16 random hex>.tmp` (safe/files.ts: created O_EXCL|O_NOFOLLOW) and
// renames to `<out>` only when the footer is written (recorder/writer.ts), so
// after SIGKILL or Ctrl-C the final name is absent (or still the complete
// previous recording). After SIGKILL the temporary file stays; after Ctrl-C
// or SIGTERM the recorder moves it to `<out>.partial` and dies of the signal.
// Either is a trace without a footer that info, events, verify and the
// replayer read up to its last whole chunk.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../engine/run.js';
import { canonicalState, emptyState } from '../engine/state.js';
import { apply } from '../engine/apply.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { stressScenario, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
/** Far more than the recorder can write before it is stopped (~0.35 M events/s). */
const SCALE = 5_000_000;

/** The recorder's temporary file next to `out`, if there is one: `<out>.<16 hex>.tmp`. */
function tmpOf(out: string): string | null {
  const re = new RegExp(`^${basename(out).replace(/[.]/g, '\\.')}\\.[0-9a-f]{16}\\.tmp$`);
  const name = readdirSync(dirname(out)).find((f) => re.test(f));
  return name === undefined ? null : join(dirname(out), name);
}

/** Start `record stress`, wait until its temporary file holds `bytes`, send `signal`; resolve when it is gone. */
async function interrupt(out: string, signal: NodeJS.Signals, bytes: number, seed = 0): Promise<{ tmp: string; code: number | null; signal: string | null }> {
  const child = spawn(process.execPath, [BIN, 'record', 'stress', '--scale', String(SCALE), '--seed', String(seed), '-o', out], { stdio: 'ignore' });
  let tmpPath = '';
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
  const t0 = Date.now();
  for (;;) {
    tmpPath = tmpOf(out) ?? '';
    if (tmpPath && existsSync(tmpPath) && statSync(tmpPath).size >= bytes) break;
    if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error('recorder ended before it could be interrupted');
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill(signal);
  return { tmp: tmpPath, ...(await exited) };
}

/** The recovered prefix agrees with the engine: count, last event, state, and the CLI reads it. */
function checkRecoverable(path: string, seed = 0): number {
  const info = cli('info', path, '--json');
  expect(info.status, info.stderr).toBe(0);
  const j = JSON.parse(info.stdout) as { truncated: boolean; events: number; truncation: { reason: string } };
  expect(j.truncated).toBe(true);
  expect(j.truncation.reason).toMatch(/footer unusable/);
  expect(j.events).toBeGreaterThan(0);
  const ev = cli('events', path, '--from', String(j.events - 3), '--json');
  expect(ev.status, ev.stderr).toBe(0);
  expect(ev.stdout.trim().split('\n')).toHaveLength(3);
  const st = cli('state', path, '--at', 'last', '--json');
  expect(st.status, st.stderr).toBe(0);
  // verify re-runs the scenario over the recovered prefix: events and state-hash chain match, exit 1 for the damage.
  const v = cli('verify', path, '--json');
  expect(v.status).toBe(1);
  expect(JSON.parse(v.stdout)).toMatchObject({ checked: j.events, divergence: null, hashMismatch: null, truncated: true });
  // The replayer in-process: the last recovered event and the state after it, against the engine.
  const r = TraceReplayer.open(path);
  expect(r.count).toBe(j.events);
  const s = emptyState();
  let last = null;
  // Whole chunks only: the recovered events end exactly where the last whole chunk ends.
  const last_ = r.chunks[r.chunks.length - 1]!;
  expect(last_.first + last_.count).toBe(r.count);
  for (const e of run(stressScenario(SCALE), { seed })) {
    apply(s, e);
    if (e.seq === r.count - 1) { last = e; break; }
  }
  expect(r.event(r.count - 1)).toEqual(last);
  expect(canonicalState(r.stateAt(r.count - 1))).toEqual(canonicalState(s));
  r.close();
  return j.events;
}

describe('a recorder killed part-way', () => {
  it('SIGKILL: no file under the final name; the temporary file is a recoverable prefix for info, events, state, verify and the replayer', async () => {
    const dir = tmp();
    const out = join(dir, 'killed.iotrace');
    const { tmp: partial, signal } = await interrupt(out, 'SIGKILL', 1 << 20);
    expect(signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(partial)).toBe(true);
    const n = checkRecoverable(partial);
    expect(n).toBeGreaterThan(50_000);
  });

  it('Ctrl-C (SIGINT) with no previous file: nothing claims to be whole, the temp is gone, the partial kept as <out>.partial is recoverable', async () => {
    const dir = tmp();
    const out = join(dir, 'int.iotrace');
    const { tmp: temp, signal } = await interrupt(out, 'SIGINT', 1 << 20);
    expect(signal).toBe('SIGINT');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(temp)).toBe(false);
    expect(readdirSync(dir)).toEqual(['int.iotrace.partial']);
    checkRecoverable(`${out}.partial`);
  });

  it('SIGTERM: the process dies of SIGTERM, no temporary file is left, the partial is <out>.partial', async () => {
    const dir = tmp();
    const out = join(dir, 'term.iotrace');
    const { tmp: temp, signal } = await interrupt(out, 'SIGTERM', 1 << 20);
    expect(signal).toBe('SIGTERM');
    expect(existsSync(temp)).toBe(false);
    expect(readdirSync(dir)).toEqual(['term.iotrace.partial']);
    checkRecoverable(`${out}.partial`);
  });

  it('Ctrl-C over a previous recording: the previous file is untouched and whole, the partial is recoverable', async () => {
    const dir = tmp();
    const out = join(dir, 'prev.iotrace');
    expect(cli('record', 'stress', '--scale', '2000', '-o', out).status).toBe(0);
    const before = readFileSync(out);
    await interrupt(out, 'SIGINT', 1 << 20, 5);
    expect(readFileSync(out).equals(before)).toBe(true);
    const info = JSON.parse(cli('info', out, '--json').stdout) as { truncated: boolean };
    expect(info.truncated).toBe(false);
    expect(cli('verify', out).status).toBe(0);
    checkRecoverable(`${out}.partial`, 5);
  });
});
