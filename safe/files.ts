// Writing a file safely. Every file iotrace writes (a trace, an export) goes
// through AtomicFile:
//
// * the bytes go to a temporary file in the target's folder, named
//   `<target>.<16 random hex digits>.tmp` (node:crypto), created with
//   O_CREAT|O_EXCL|O_NOFOLLOW: it never follows or reuses a path that
//   already exists, so a symlink planted at a guessed name is not followed;
// * commit() renames it onto the target only when the target is absent or a
//   regular file (lstat): a symlink, a directory, a FIFO, a device node such
//   as /dev/null or a socket is refused with a one-line RefusedError, and the
//   target is left as it was; the same check runs before any work starts;
// * on any failure (a write, the rename, an exception in the caller, process
//   exit) the temporary file is removed; on SIGINT / SIGTERM / SIGHUP inside
//   withSignalCleanup() too, unless the file's owner keeps the partial on
//   purpose (onInterrupt: the recorder moves it to `<target>.partial`), and
//   then the signal's default action ends the process.
//
// A file opened outside withSignalCleanup() (library callers, synchronous
// loops that never yield to the event loop) is left to the signal's default
// action: the process ends at once and the temporary file stays, as after
// SIGKILL.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, lstatSync, mkdtempSync, openSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { escapeText } from './escape.js';

/** A write iotrace refuses to make (an unsafe target, the input as the output): one line, exit 2. */
export class RefusedError extends Error {
  readonly code = 'EREFUSED';
  constructor(message: string) { super(message); this.name = 'RefusedError'; }
}

/** Why `path` cannot be written as an output, or null when it is absent or a regular file. */
export function targetProblem(path: string): string | null {
  // "x/", "x/." and "x/.." name a folder whether or not it exists: refused here, not by the rename after the work.
  const end = path.endsWith('/') ? '/' : /(^|\/)\.\.?$/.test(path) ? path.slice(path.lastIndexOf('/') + 1) : null;
  if (end !== null) return `names a folder (ends in "${end}"), not a file`;
  let st;
  try { st = lstatSync(path); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') return 'a part of the path is not a folder';
    return (e as Error).message;
  }
  if (st.isFile()) return null;
  if (st.isSymbolicLink()) return 'is a symbolic link (refusing to write through or over it)';
  if (st.isDirectory()) return 'is a directory';
  if (st.isFIFO()) return 'is a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device';
  if (st.isSocket()) return 'is a socket';
  return 'is not a regular file';
}

/** Throw a RefusedError unless `path` is absent or a regular file. */
export function checkTarget(path: string): void {
  // Many tools read "-" as stdout; here it would be a file named "-" (and a trace is never written to a pipe).
  if (path === '-') throw new RefusedError('-: is not stdout here (export writes to stdout when -o is left out); name the file ./- to write one called "-"');
  const why = targetProblem(path);
  if (why !== null) throw new RefusedError(`${escapeText(path)}: ${why}; write to a regular file or a new name`);
}

function canonical(p: string): string {
  try { return realpathSync(p); } catch { /* absent: resolve its folder */ }
  try { return join(realpathSync(dirname(resolve(p))), basename(p)); } catch { return resolve(p); }
}

/** Whether two paths name the same file: the same path after realpath, or the same device and inode. */
export function sameFile(a: string, b: string): boolean {
  if (canonical(a) === canonical(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch { return false; }
}

/** The pre-check of a command's output before any work: a target AtomicFile would refuse (checkTarget), or the input itself. */
export function refuseSameFile(input: string, output: string): void {
  checkTarget(output);
  if (sameFile(input, output)) throw new RefusedError(`${escapeText(output)}: is the input; refusing to write over it (name another output)`);
}

// ---------------------------------------------------------------- clean-up

/** What is cleaned up on exit or a signal: an AtomicFile's temporary file, a TempDir. */
interface Pending { abort(): void; interrupt(sig: NodeJS.Signals): void }

const pending = new Set<Pending>();
let exitHooked = false;

function track(f: Pending): void {
  pending.add(f);
  if (!exitHooked) {
    exitHooked = true;
    // Whatever ends the process (an uncaught error included), no temporary file is left behind.
    process.on('exit', () => { for (const p of [...pending].reverse()) p.abort(); });
  }
}

/** How many temporary files and folders are open now (for tests). */
export const pendingFiles = (): number => pending.size;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Run `work` with SIGINT, SIGTERM and SIGHUP handled: on a signal every open
 * AtomicFile is cleaned up (removed, or kept where its owner says), then the
 * signal is raised again with its default action, so the process ends as it
 * would have (a shell sees "killed by SIGINT"). `work` must yield to the
 * event loop now and then, or the handler cannot run until it is done.
 */
export async function withSignalCleanup<T>(work: () => Promise<T>): Promise<T> {
  const handler = (sig: NodeJS.Signals): void => {
    // Newest first: a file inside a TempDir is dealt with before the folder goes.
    for (const f of [...pending].reverse()) f.interrupt(sig);
    for (const s of SIGNALS) process.removeListener(s, handler);
    process.kill(process.pid, sig);
    // The default action ends the process; should it not (the signal ignored by a parent), end anyway.
    setTimeout(() => process.exit(128 + (osConstants.signals[sig] ?? 0)), 2000).unref();
  };
  for (const s of SIGNALS) process.on(s, handler);
  try {
    return await work();
  } finally {
    for (const s of SIGNALS) process.removeListener(s, handler);
  }
}

// ---------------------------------------------------------------- the file

const TMP_BASE_MAX = 200;

function tmpName(target: string): string {
  let base = basename(target);
  while (Buffer.byteLength(base) > TMP_BASE_MAX) base = base.slice(0, -1);
  return join(dirname(target), `${base}.${randomBytes(8).toString('hex')}.tmp`);
}

export interface AtomicOptions {
  /**
   * Called instead of removing the temporary file when a signal interrupts
   * the process (inside withSignalCleanup): the owner may flush and keep it
   * (keepAs). The file is removed afterwards unless it was kept.
   */
  onInterrupt?: (file: AtomicFile, signal: NodeJS.Signals) => void;
}

/** A file written under a temporary name and renamed onto its target when whole (see the header). */
export class AtomicFile {
  readonly target: string;
  readonly tmp: string;
  private fdValue: number;
  private done = false;

  constructor(target: string, private readonly opts: AtomicOptions = {}) {
    if (target === '') throw new RefusedError('an output path is empty');
    checkTarget(target);
    this.target = target;
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    for (let attempt = 0; ; attempt++) {
      const tmp = tmpName(target);
      try {
        this.fdValue = openSync(tmp, flags, 0o666);
        this.tmp = tmp;
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' && attempt < 8) continue;
        const err = new Error(`${escapeText(target)}: cannot create a file there: ${code === 'ENOENT' ? 'no such folder' : (e as Error).message}`) as NodeJS.ErrnoException;
        err.code = code ?? 'EIO';
        throw err;
      }
    }
    track(this);
  }

  /** The open descriptor of the temporary file (-1 once committed or aborted). */
  get fd(): number { return this.fdValue; }

  /** Write all of `b` at the current position. */
  write(b: Uint8Array): void {
    let o = 0;
    while (o < b.length) o += writeSync(this.fdValue, b, o, b.length - o);
  }

  /** Close and rename onto the target (refused unless it is absent or a regular file); the temp is removed if that fails. */
  commit(): void {
    if (this.done) throw new Error('AtomicFile: already committed or aborted');
    try {
      closeSync(this.fdValue);
      this.fdValue = -1;
      checkTarget(this.target);
      renameSync(this.tmp, this.target);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.done = true;
    pending.delete(this);
  }

  /** Close and remove the temporary file (nothing happens to the target). Safe to call twice. */
  abort(): void {
    if (this.fdValue >= 0) { try { closeSync(this.fdValue); } catch { /* already closed */ } this.fdValue = -1; }
    if (!this.done) { try { unlinkSync(this.tmp); } catch { /* already gone */ } }
    this.done = true;
    pending.delete(this);
  }

  /**
   * Close and move the temporary file to `path` instead of the target (a
   * partial kept on purpose), under the same rules as commit(); returns
   * false (and removes it) when `path` is not absent or a regular file.
   */
  keepAs(path: string): boolean {
    if (this.done) return false;
    if (this.fdValue >= 0) { try { closeSync(this.fdValue); } catch { /* already closed */ } this.fdValue = -1; }
    try {
      if (targetProblem(path) !== null) throw new Error('unsafe');
      renameSync(this.tmp, path);
    } catch {
      this.abort();
      return false;
    }
    this.done = true;
    pending.delete(this);
    return true;
  }

  /** A signal arrived (withSignalCleanup): the owner's onInterrupt, then removal unless kept. */
  interrupt(sig: NodeJS.Signals): void {
    try { this.opts.onInterrupt?.(this, sig); } catch { /* clean up below */ }
    this.abort();
  }
}

/**
 * A private folder for intermediate files (mkdtemp in the system's temporary
 * folder, e.g. verify's re-import): removed with what it holds by remove(),
 * at process exit, and on a signal inside withSignalCleanup().
 */
export class TempDir implements Pending {
  readonly path: string;
  constructor(prefix: string) {
    this.path = mkdtempSync(join(tmpdir(), prefix));
    track(this);
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
    pending.delete(this);
  }

  abort(): void { this.remove(); }
  interrupt(): void { this.remove(); }
}
