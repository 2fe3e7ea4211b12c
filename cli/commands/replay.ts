// iotrace replay: the replay debugger (a blessed terminal UI) over a trace.
import { PassThrough, Writable } from 'node:stream';
import type { TraceReplayer } from '../../replayer/replayer.js';
import { openDebugger } from '../../tui/app.js';
import { screenText } from '../../tui/term.js';
import { parse, UsageError } from '../common.js';
import { dumpArg, REPLAY_DUMP_MIN } from '../limits.js';
import { stepArg, withTrace } from '../trace.js';

export const HELP = `usage: iotrace replay <trace> [--at N|first-fault|first-violation|last]
                     [--dump COLSxROWS]

Opens the replay debugger on a trace: the event list, the hardware state at
the selected step (what it wrote highlighted), the diff across the step, a
timeline with the faults marked, a status line. Press ? inside for every
key; q quits. Needs a terminal on stdin and stdout.

--at      the step to open at (default 0)
--dump    draw one frame of that size at --at, print it as plain text and
          exit (no terminal needed; e.g. --dump 120x40; 40..1000 x 12..500)`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { at: { type: 'string' }, dump: { type: 'string' } }, 1);
  if (values.help) { console.log(HELP); return 0; }
  let dump: { cols: number; rows: number } | null = null;
  if (values.dump !== undefined) dump = dumpArg(values.dump, REPLAY_DUMP_MIN);
  if (!dump && (!process.stdout.isTTY || !process.stdin.isTTY)) {
    throw new UsageError('replay needs a terminal (stdin and stdout); use --dump COLSxROWS, or iotrace events / state for text');
  }
  return withTrace(positionals[0], async (r) => {
    const at = values.at === undefined ? 0 : stepArg(r, values.at, '--at');
    if (dump) { process.stdout.write(`${dumpFrame(r, at, dump.cols, dump.rows).join('\n')}\n`); return 0; }
    return await interactive(r, at);
  });
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
