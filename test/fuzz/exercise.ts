// Feed one (possibly damaged) trace file to everything that reads traces:
// the info, events and state subcommands (their own main(), in-process, with
// stdout captured) and the Replayer API the TUI and diff use (event, events,
// stateAt, touched, lastWriter, search, chunks, fault navigation). The
// contract: each call returns, or throws the project's TraceError with a
// byte offset inside the file (or the CLI's UsageError, e.g. "--at last" on
// a trace with no events). Anything else is a failure.
import { main as eventsMain } from '../../cli/commands/events.js';
import { main as infoMain } from '../../cli/commands/info.js';
import { main as stateMain } from '../../cli/commands/state.js';
import { UsageError } from '../../cli/common.js';
import { canonicalState } from '../../engine/state.js';
import { family, summarize } from '../../engine/summary.js';
import { TraceError } from '../../trace/format.js';
import { TraceReplayer } from '../../replayer/replayer.js';

export interface Outcome {
  /** Opened by the replayer: events readable, and whether it was recovered from damage. */
  opened: { count: number; truncated: boolean } | null;
  /** TraceError offsets seen (each inside the file). */
  traceErrors: number;
  usageErrors: number;
}

/** Thrown for anything the contract does not allow. */
export class FuzzFailure extends Error {
  constructor(readonly where: string, override readonly cause: unknown) {
    super(`${where}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`);
    this.name = 'FuzzFailure';
  }
}

function allowed(e: unknown, size: number, where: string, out: Outcome): void {
  if (e instanceof TraceError) {
    if (!Number.isSafeInteger(e.offset) || e.offset < 0 || e.offset > size) throw new FuzzFailure(where, new Error(`TraceError offset ${e.offset} outside the ${size}-byte file: ${e.message}`));
    out.traceErrors++;
    return;
  }
  if (e instanceof UsageError) { out.usageErrors++; return; }
  throw new FuzzFailure(where, e);
}

/** Run a subcommand's main() with stdout swallowed. */
async function command(main: (argv: string[]) => Promise<number>, argv: string[]): Promise<number> {
  const log = console.log;
  const write = process.stdout.write;
  let bytes = 0;
  console.log = (...a: unknown[]) => { bytes += a.map(String).join(' ').length; };
  process.stdout.write = ((chunk: string | Uint8Array) => { bytes += chunk.length; return true; }) as typeof process.stdout.write;
  try {
    return await main(argv);
  } finally {
    console.log = log;
    process.stdout.write = write;
    void bytes;
  }
}

const COMMANDS: [string, (argv: string[]) => Promise<number>, (p: string) => string[]][] = [
  ['info --json', infoMain, (p) => [p, '--json']],
  ['info', infoMain, (p) => [p]],
  ['events', eventsMain, (p) => [p]],
  ['events --json', eventsMain, (p) => [p, '--json']],
  ['state --at last --json', stateMain, (p) => [p, '--at', 'last', '--json']],
  ['state --at first-fault', stateMain, (p) => [p, '--at', 'first-fault']],
  ['state --at 0', stateMain, (p) => [p, '--at', '0']],
];

/** The subset a long campaign runs per case (each command re-opens the file): one of each code path. */
const QUICK = new Set(['info --json', 'events', 'state --at last --json']);

export async function exercise(path: string, size: number, pick: (n: number) => number, quick = false): Promise<Outcome> {
  const out: Outcome = { opened: null, traceErrors: 0, usageErrors: 0 };
  for (const [name, main, args] of COMMANDS) {
    if (quick && !QUICK.has(name)) continue;
    try {
      const code = await command(main, args(path));
      if (code !== 0) throw new Error(`exit ${code}`);
    } catch (e) { allowed(e, size, name, out); }
  }
  let r: TraceReplayer;
  try { r = TraceReplayer.open(path); } catch (e) { allowed(e, size, 'TraceReplayer.open', out); return out; }
  try {
    out.opened = { count: r.count, truncated: r.truncated !== null };
    if (r.truncated && !(r.truncated.offset >= 0 && r.truncated.offset <= size)) throw new FuzzFailure('truncated', new Error(`offset ${r.truncated.offset} outside the file`));
    if (!Number.isSafeInteger(r.count) || r.count < 0) throw new FuzzFailure('count', new Error(String(r.count)));
    void r.header.scenario.name; void Object.keys(r.kinds); void r.chunks;
    r.nextFault(0, 1); r.nextViolation(r.count, -1);
    const wanted = quick ? [r.count - 1, pick(r.count)] : [0, r.count - 1, pick(r.count), pick(r.count), r.faults[0] ?? 0];
    const steps = r.count === 0 ? [] : [...new Set(wanted)].filter((n) => n < r.count);
    for (const n of steps) {
      try {
        const ev = r.event(n);
        summarize(ev); family(ev.kind); JSON.stringify(ev);
        canonicalState(r.stateAt(n));
        if (!quick || n === r.count - 1) {
          const cell = r.touched(n)[0];
          if (cell) r.lastWriter(cell, n);
        }
      } catch (e) { allowed(e, size, `replayer at step ${n}`, out); }
    }
    try { r.events(0, Math.min(r.count, 200_000)); } catch (e) { allowed(e, size, 'replayer events()', out); }
    try { r.stateAt(-1); if (r.count > 0 && !quick) r.stateAt(pick(r.count)); } catch (e) { allowed(e, size, 'replayer stateAt', out); }
    try { r.search({ text: 'fault' }, -1, 1); if (!quick) r.search({ kinds: ['dma'], rid: '00:02.0' }, r.count, -1); } catch (e) { allowed(e, size, 'replayer search', out); }
  } finally {
    r.close();
  }
  return out;
}
