// Writing to stdout so that every way it can fail is one clean ending:
//
// * the reader went away (EPIPE: `iotrace events t | head -1`, a pager
//   quit): OutputClosed; the command stops writing and ends quietly, exit 0;
// * any other write error (ENOSPC on `> /dev/full`, EIO, EBADF): OutputError,
//   one line on stderr, exit 2;
// * nothing is lost silently: writes wait for a full pipe to drain (memory
//   stays flat however much is printed) and cli/main.ts waits for the last
//   bytes (flushOutput) before it picks the exit code.
//
// Writes go through process.stdout.write, so an in-process caller that
// replaces it (the fuzz harness, tests) still captures everything.

/** The reader of stdout went away (EPIPE): not an error, exit 0. */
export class OutputClosed extends Error {
  constructor() { super('stdout closed by its reader'); this.name = 'OutputClosed'; }
}

/** Writing stdout failed for another reason: one line, exit 2. */
export class OutputError extends Error {
  readonly code = 'EOUTPUT';
  constructor(message: string) { super(message); this.name = 'OutputError'; }
}

let failure: Error | null = null;
let guarded = false;

/** Listen for stdout's and stderr's errors (once per process) instead of letting them crash it. */
export function guardOutput(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (e: Error) => { failure ??= e; });
  // Nowhere is left to report a failing stderr; the exit code still tells.
  process.stderr.on('error', () => { /* ignored */ });
}

/** The error stdout has met so far, as OutputClosed / OutputError, or null. */
export function outputFailure(): Error | null {
  const e = failure ?? (process.stdout as { errored?: Error | null }).errored ?? null;
  if (!e) return null;
  if ((e as NodeJS.ErrnoException).code === 'EPIPE') return new OutputClosed();
  return new OutputError(`cannot write to stdout: ${e.message}`);
}

function check(): void {
  const e = outputFailure();
  if (e) throw e;
}

function drained(): Promise<void> {
  const out = process.stdout;
  return new Promise((res) => {
    if (outputFailure() || out.writableLength === 0 || out.destroyed) { res(); return; }
    const done = (): void => { out.off('drain', done); out.off('error', done); out.off('close', done); res(); };
    out.on('drain', done);
    out.on('error', done);
    out.on('close', done);
  });
}

/** Write text (or bytes: a binary export) to stdout; waits while a pipe is full; throws OutputClosed / OutputError. */
export async function write(text: string | Uint8Array): Promise<void> {
  check();
  if (!process.stdout.write(text)) await drained();
  check();
}

/** One line (a newline is added). */
export const println = (text: string): Promise<void> => write(`${text}\n`);

/** Wait until everything written has reached the kernel (or failed); throws as write() does. */
export async function flushOutput(): Promise<void> {
  check();
  if (process.stdout.writableLength > 0) await drained();
  check();
}
