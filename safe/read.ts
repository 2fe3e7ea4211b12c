// Reading a small input file (a scenario, explore's regression file) that
// someone else may have planted: only a regular file of at most `limit`
// bytes is read. A FIFO, a device (/dev/zero), a socket or a directory is
// refused without reading it. The type is checked before the open (opening a
// device can have effects of its own) and again on the open descriptor (the
// path may have changed in between); the open never blocks (O_NONBLOCK: a
// FIFO without a writer would). The size is checked on the descriptor and
// again while reading, in case the file grows.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/** Why the file was not read: `problem` completes "<path>: ..."; `code` is the errno's when the system refused. */
export class FileProblem extends Error {
  override name = 'FileProblem';
  constructor(readonly problem: string, readonly code: string | null = null) { super(problem); }
}

export interface ReadLimits {
  /** What the file should be, for "expected a regular …": "scenario JSON file". */
  what: string;
  limit: number;
  /** The limit in words and whose it is, for "… bytes (16 MiB), the most a scenario file may be": "16 MiB", "a scenario file". */
  limitText: string;
  whose: string;
}

/** What a file that is not a regular file is, for the message. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function systemProblem(e: unknown): FileProblem {
  const code = (e as NodeJS.ErrnoException).code ?? null;
  if (code === 'EACCES' || code === 'EPERM') return new FileProblem('permission denied', code);
  if (code === 'ELOOP') return new FileProblem('too many levels of symbolic links', code);
  return new FileProblem(`cannot be read (${code ?? 'error'})`, code);
}

/** The text (UTF-8) of a regular file of at most `l.limit` bytes; a FileProblem otherwise. */
export function readRegularFile(path: string, l: ReadLimits): string {
  const most = `${l.limit} bytes (${l.limitText}), the most ${l.whose} may be`;
  const refuse = (st: Stats): void => {
    if (st.isDirectory()) throw new FileProblem(`is a directory, expected a ${l.what}`);
    if (!st.isFile()) throw new FileProblem(`is ${kindOf(st)}, expected a regular ${l.what}`);
    if (st.size > l.limit) throw new FileProblem(`is ${st.size} bytes, larger than ${most}`);
  };
  let fd: number;
  try {
    refuse(statSync(path));
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw e instanceof FileProblem ? e : systemProblem(e);
  }
  try {
    const st = fstatSync(fd);
    refuse(st);
    // One byte more than the size, to see the end; grown (once, to the limit) if the file grows meanwhile.
    let buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > l.limit) throw new FileProblem(`grew past ${l.limit} bytes (${l.limitText}) while being read, the most ${l.whose} may be`);
        const bigger = Buffer.allocUnsafe(l.limit + 1);
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return buf.toString('utf8', 0, n);
  } catch (e) {
    throw e instanceof FileProblem ? e : systemProblem(e);
  } finally {
    closeSync(fd);
  }
}
