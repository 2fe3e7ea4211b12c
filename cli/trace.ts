// Helpers shared by the trace subcommands (record, info, events, state,
// verify, export): opening a trace with a one-line error, parsing a step.
import { statSync } from 'node:fs';
import { TraceError } from '../trace/format.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { adoptCheck, checkTrace } from '../replayer/check.js';
import { kindAndText } from './term.js';
import { UsageError } from './common.js';

/**
 * Open a trace for a subcommand. A missing file, a directory or a file that
 * is not a readable trace is one line naming the path (exit 2); damage past
 * the header is not an error here: the replayer recovers what it can.
 */
export function openForCli(path: string | undefined): TraceReplayer {
  if (!path) throw new UsageError('expected a trace file');
  let st;
  try { st = statSync(path); } catch (e) {
    throw new UsageError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (st.isDirectory()) throw new UsageError(`${path}: is a directory, expected a trace file`);
  // open() of a FIFO blocks until a writer comes (forever, for a planted one); a device or socket is no trace either.
  if (!st.isFile()) {
    const what = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';
    throw new UsageError(`${path}: is ${what}, expected a regular trace file`);
  }
  try {
    return TraceReplayer.open(path);
  } catch (e) {
    if (e instanceof TraceError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

/** A step number within the trace, or "first-fault" / "first-violation" / "last". */
export function stepArg(r: TraceReplayer, value: string | undefined, flag: string): number {
  if (value === undefined) throw new UsageError(`${flag} is required`);
  let n: number;
  // first-fault / first-violation: from the events, never the footer's unchecked lists (every caller: state, replay, ...).
  if ((value === 'first-fault' || value === 'first-violation') && r.claims === 'unchecked') adoptCheck(r, checkTrace(r, false));
  if (value === 'first-fault') {
    const f = r.faults[0];
    if (f === undefined) throw new UsageError('the trace has no fault');
    n = f;
  } else if (value === 'first-violation') {
    const v = r.violations[0];
    if (v === undefined) throw new UsageError('the trace has no violation');
    n = v;
  } else if (value === 'last') n = r.count - 1;
  else if (/^\d+$/.test(value)) n = Number(value);
  else throw new UsageError(`${flag} takes a step number, first-fault, first-violation or last; got "${value}"`);
  // An empty trace has no step to name: say why rather than "steps 0..-1".
  if (r.count === 0) throw new UsageError(`${flag} ${value}: ${r.path} holds no event${r.headerLost !== null ? ` (${r.headerLost})` : r.truncated ? ` (damaged: ${r.truncated.reason})` : ''}`);
  if (n < 0 || n >= r.count) throw new UsageError(`${flag} ${value}: the trace has steps 0..${r.count - 1}`);
  return n;
}

/** A non-negative integer option, at most `max` (default 2^53-1): out of range is one line, exit 2. */
export function intArg(value: string | undefined, flag: string, fallback: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!(n <= max)) throw new UsageError(`${flag} takes an integer 0..${max}, got "${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`);
  return n;
}

/** One listing line, in the spirit of trace-cmd report; kind and text come from the file, so they are escaped (a newline in a RID cannot forge a second line). */
export function eventLine(seq: number, tick: number, kind: string, text: string): string {
  return `${String(seq).padStart(8)} t${String(tick).padEnd(6)} ${kindAndText(kind, text)}`;
}

/** Open a trace for a subcommand, hand it to `use`, and close it whatever happens. */
export async function withTrace<T>(path: string | undefined, use: (r: TraceReplayer) => Promise<T>): Promise<T> {
  const r = openForCli(path);
  try {
    return await use(r);
  } finally {
    r.close();
  }
}
