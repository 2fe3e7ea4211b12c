// Bounds on the command line's numeric options, each named once. Every
// numeric option is checked against its range before anything runs: a value
// out of range is one line, exit 2 (docs/robustness.md).
import { UsageError } from './common.js';

/** `--dump COLSxROWS` (replay, diff): the largest frame drawn off-screen. */
export const DUMP_MAX_COLS = 1000;
export const DUMP_MAX_ROWS = 500;
/** The smallest frames the layouts fit in: the debugger, and diff's two traces side by side. */
export const REPLAY_DUMP_MIN = { cols: 40, rows: 12 } as const;
export const DIFF_DUMP_MIN = { cols: 60, rows: 12 } as const;

/** `diff --context N`: events of context around each run of differences. */
export const MAX_CONTEXT = 1000;
/** `diff --hunks N`: runs of differences listed. */
export const MAX_HUNKS = 10_000;

/** Largest regression file `explore` reads (bytes): schedules it saved, a few KiB each; a planted file is refused, never read whole. */
export const MAX_REGRESSION_BYTES = 16 * 1024 * 1024;

/** `--dump COLSxROWS` within min..DUMP_MAX_COLS x min..DUMP_MAX_ROWS. */
export function dumpArg(value: string, min: { cols: number; rows: number }): { cols: number; rows: number } {
  const m = /^(\d{1,9})x(\d{1,9})$/.exec(value);
  const cols = Number(m?.[1]);
  const rows = Number(m?.[2]);
  if (!m || cols < min.cols || cols > DUMP_MAX_COLS || rows < min.rows || rows > DUMP_MAX_ROWS) {
    throw new UsageError(`--dump takes COLSxROWS, ${min.cols}..${DUMP_MAX_COLS} x ${min.rows}..${DUMP_MAX_ROWS}, got "${value}"`);
  }
  return { cols, rows };
}
