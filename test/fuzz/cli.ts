// A subcommand's main() run in process the way cli/main.ts runs it: the
// command, then reportError() for whatever it threw (UsageError,
// ScenarioError, TraceError, RecordLimitError, errno ... one line, exit 2;
// EPIPE exit 0), then flushOutput(). stdout and stderr are captured.
// reportError() rethrowing means the error would have reached main's caller:
// an internal error (exit 70), which the fuzz counts as a failure.
//
// Output faults are injected here too, through the same path safe/stdout.ts
// reads (process.stdout.errored): EPIPE after a write or two (a reader that
// went away, `| head`), ENOSPC at the first write (`> /dev/full`).
import { reportError } from '../../cli/common.js';
import { flushOutput, OutputClosed, OutputError } from '../../safe/stdout.js';

export type Main = (argv: string[]) => Promise<number>;
export type StdoutFault = 'EPIPE' | 'ENOSPC';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** What main threw (or flushOutput), if anything. */
  error: unknown;
  /** Set when reportError() rethrew: the error would be an internal error (exit 70). */
  internal: unknown;
  /** Writes to stdout (console.log included). */
  writes: number;
}

function errnoError(code: StdoutFault): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code === 'EPIPE' ? 'write EPIPE' : 'ENOSPC: no space left on device, write'}`), { code, errno: code === 'EPIPE' ? -32 : -28, syscall: 'write' });
}

export async function inProcess(main: Main, argv: string[], fault: { kind: StdoutFault; afterWrites: number } | null = null): Promise<CliResult> {
  const res: CliResult = { code: 0, stdout: '', stderr: '', error: null, internal: null, writes: 0 };
  const saved = { log: console.log, error: console.error, warn: console.warn, info: console.info, out: process.stdout.write, err: process.stderr.write };
  const stderrTty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  let injected = false;
  const onWrite = (text: string): void => {
    res.writes++;
    if (fault && !injected && res.writes > fault.afterWrites) {
      // From now on the stream reports the error, as a closed pipe or a full device does.
      injected = true;
      Object.defineProperty(process.stdout, 'errored', { value: errnoError(fault.kind), configurable: true, writable: true });
      return;
    }
    if (!injected) res.stdout += text;
  };
  console.log = (...a: unknown[]) => { onWrite(`${a.map(String).join(' ')}\n`); };
  console.info = console.log;
  console.error = (...a: unknown[]) => { res.stderr += `${a.map(String).join(' ')}\n`; };
  console.warn = console.error;
  process.stdout.write = ((chunk: string | Uint8Array) => { onWrite(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { res.stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(); return true; }) as typeof process.stderr.write;
  // Progress lines go to a terminal only: not part of the one-line contract.
  Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true, writable: true });
  const report = (e: unknown): void => {
    res.error ??= e;
    try { res.code = reportError(e); } catch (x) { res.internal = x; res.code = 70; }
  };
  try {
    let outputFailed = false;
    try {
      res.code = await main(argv);
    } catch (e) {
      outputFailed = e instanceof OutputClosed || e instanceof OutputError;
      report(e);
    }
    if (!outputFailed && res.internal === null) {
      try { await flushOutput(); } catch (e) { report(e); }
    }
  } finally {
    console.log = saved.log; console.error = saved.error; console.warn = saved.warn; console.info = saved.info;
    process.stdout.write = saved.out; process.stderr.write = saved.err;
    if (stderrTty) Object.defineProperty(process.stderr, 'isTTY', stderrTty); else delete (process.stderr as { isTTY?: boolean }).isTTY;
    if (injected) delete (process.stdout as { errored?: unknown }).errored;
  }
  return res;
}

/** What the contract allows on stderr: nothing, or one `iotrace: ...` line without a raw control character. */
export function stderrProblem(r: CliResult): string | null {
  if (r.stderr === '') return r.code === 2 ? 'exit 2 without a message' : null;
  if (!/^iotrace: [^\n]*\n$/.test(r.stderr)) return `stderr is not one "iotrace: ..." line: ${JSON.stringify(r.stderr.slice(0, 300))}`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(r.stderr)) return `raw control character on stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`;
  return null;
}
