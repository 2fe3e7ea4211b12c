// The lines of a log file, read in blocks so memory stays flat whatever the
// file's size: each line with its 1-based number, decoded as UTF-8 (a bad byte
// becomes U+FFFD), without its "\n" or "\r\n". A line longer than MAX_LINE
// bytes is handed over as `tooLong` with its first MAX_LINE bytes, never held whole.
import { closeSync, openSync, readSync } from 'node:fs';

/** Longest line kept: QEMU's and ftrace's lines are a few hundred bytes; a longer one is not theirs. */
export const MAX_LINE = 1 << 16;
const BLOCK = 1 << 20;

export interface Line { n: number; text: string; tooLong: boolean }

/**
 * Blocks of the file at `path`, each handed to `use` before the next is read
 * (the buffer is reused). Yields to the event loop between blocks, so a
 * signal handler (safe/files.ts withSignalCleanup) can run during a long import.
 */
async function eachBlock(path: string, use: (block: Buffer) => void): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(BLOCK);
    for (let got = readSync(fd, buf, 0, BLOCK, null); got > 0; got = readSync(fd, buf, 0, BLOCK, null)) {
      use(buf.subarray(0, got));
      await new Promise((res) => setImmediate(res));
    }
  } finally {
    closeSync(fd);
  }
}

/** Every line of the file at `path`, in order, to `onLine`; `onBytes` sees every block read (the source's SHA-256). */
export async function eachLine(path: string, onLine: (line: Line) => void, onBytes?: (block: Buffer) => void): Promise<void> {
  let carry: Buffer[] = [];
  let carried = 0;
  let tooLong = false;
  let n = 0;
  const add = (part: Buffer): void => {
    const room = MAX_LINE - carried;
    if (part.length > room) tooLong = true;
    const kept = part.length > room ? part.subarray(0, room) : part;
    // Copied: the block buffer is reused by the next read.
    if (kept.length) { carry.push(Buffer.from(kept)); carried += kept.length; }
  };
  const end = (): void => {
    let text = Buffer.concat(carry, carried).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    onLine({ n: ++n, text, tooLong });
    carry = []; carried = 0; tooLong = false;
  };
  await eachBlock(path, (block) => {
    onBytes?.(block);
    let start = 0;
    for (let nl = block.indexOf(10); nl !== -1; nl = block.indexOf(10, start)) {
      if (carried === 0 && !tooLong && nl - start <= MAX_LINE) {
        // The common case: the whole line inside one block, decoded without a copy.
        let text = block.toString('utf8', start, nl);
        if (text.endsWith('\r')) text = text.slice(0, -1);
        onLine({ n: ++n, text, tooLong: false });
      } else {
        add(block.subarray(start, nl));
        end();
      }
      start = nl + 1;
    }
    if (start < block.length) add(block.subarray(start));
  });
  if (carried || tooLong) end();
}
