// iotrace replay: the replay debugger (a blessed terminal UI) over a trace.
import { PassThrough, Writable } from 'node:stream';
import type { TraceReplayer } from '../../replayer/replayer.js';
import { openDebugger } from '../../tui/app.js';
import { screenText } from '../../tui/term.js';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { builtinNames, loadScenario } from '../../scenarios/index.js';
import { MAGIC } from '../../trace/format.js';
import { parse, seedFlag, UsageError, variantFlags } from '../common.js';
import { dumpArg, REPLAY_DUMP_MIN } from '../limits.js';
import { stepArg, withTrace } from '../trace.js';

export const HELP = `usage: iotrace replay <trace|scenario> [--at N|first-fault|first-violation|last]
                     [--dump COLSxROWS] [--variant axis=value]... [--seed N]

Opens the replay debugger on a trace. Given a scenario instead (a built-in
name or a .json file), records it first (--variant, --seed as for record)
into the per-user cache folder, as start does, and opens that trace. The
debugger shows: the event list, the hardware state at
the selected step (what it wrote highlighted), the diff across the step, a
timeline with the faults marked, a status line. Press ? inside for every
key; q quits. Needs a terminal on stdin and stdout.

--at      the step to open at (default 0)
--dump    draw one frame of that size at --at, print it as plain text and
          exit (no terminal needed; e.g. --dump 120x40; 40..1000 x 12..500)`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    at: { type: 'string' }, dump: { type: 'string' }, variant: { type: 'string', multiple: true }, seed: { type: 'string' },
  }, 1);
  if (values.help) { console.log(HELP); return 0; }
  let dump: { cols: number; rows: number } | null = null;
  if (values.dump !== undefined) dump = dumpArg(values.dump, REPLAY_DUMP_MIN);
  if (!dump && (!process.stdout.isTTY || !process.stdin.isTTY)) {
    throw new UsageError('replay needs a terminal (stdin and stdout); use --dump COLSxROWS, or iotrace events / state for text');
  }
  let path = positionals[0] ?? '';
  const asScenario = isScenarioArg(path);
  if (!asScenario && (values.variant !== undefined || values.seed !== undefined)) {
    throw new UsageError(`--variant and --seed record a scenario; ${path} is a trace (replay shows what it holds)`);
  }
  if (asScenario) {
    const { recordForReplay } = await import('./start.js');
    const scenario = loadScenario(path);
    path = await recordForReplay(scenario, variantFlags(scenario, values.variant), seedFlag(values.seed));
  }
  return withTrace(path, async (r) => {
    const at = values.at === undefined ? 0 : stepArg(r, values.at, '--at');
    if (dump) { process.stdout.write(`${dumpFrame(r, at, dump.cols, dump.rows).join('\n')}\n`); return 0; }
    return await interactive(r, at);
  });
}

/**
 * Whether replay's argument names a scenario rather than a trace: a file that
 * does not begin with the trace magic and ends in .json, or no file at all
 * and a built-in scenario's name.
 */
export function isScenarioArg(arg: string): boolean {
  let head: Buffer | null = null;
  try {
    // Only a regular file is opened here (a FIFO's open would block); anything else goes to the trace reader's checks.
    if (!statSync(arg).isFile()) return false;
    const fd = openSync(arg, 'r');
    try { head = Buffer.alloc(MAGIC.length); head = head.subarray(0, readSync(fd, head, 0, head.length, 0)); } finally { closeSync(fd); }
  } catch { head = null; }
  if (head !== null) return !head.equals(MAGIC) && arg.endsWith('.json');
  return builtinNames().includes(arg);
}

/** Run the debugger on the process's terminal until the user quits. */
export async function interactive(r: TraceReplayer, at: number): Promise<number> {
  const d = openDebugger(r, { input: process.stdin, output: process.stdout, at });
  await d.done;
  process.stdin.pause();
  return 0;
}

/** One frame, drawn off-screen into a fake terminal, as plain text rows. */
export function dumpFrame(r: TraceReplayer, at: number, cols: number, rows: number): string[] {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const output = Object.assign(new Writable({ write: (_c, _e, cb: () => void) => cb() }), { isTTY: true, columns: cols, rows });
  const d = openDebugger(r, { input, output, at });
  const text = screenText(d.screen).map((l) => l.trimEnd());
  d.quit();
  return text;
}
