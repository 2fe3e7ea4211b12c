// A cell's writers, newest first, found in the background for the detail
// view: one Replayer.lastWriter call per turn of the event loop, so a long
// walk back through a 10 M-event trace never holds a keypress.
import { summarize } from '../engine/summary.js';
import type { CellRef, Replayer } from '../replayer/api.js';
import { TraceError } from '../trace/format.js';

/** Writers listed at most (w walks back further, one at a time). */
export const HISTORY_MAX = 12;

export class WriterHistory {
  readonly list: { n: number; text: string }[] = [];
  done = false;
  /** More writers may exist before the last one listed. */
  more = false;
  error: string | null = null;
  private timer: NodeJS.Immediate | null = null;

  constructor(private readonly r: Replayer, readonly cell: CellRef, at: number, private readonly onUpdate: () => void) {
    // The first turn may finish at once: its update then comes after the constructor has returned (the caller's handle is set).
    this.starting = true;
    this.turn(at);
    this.starting = false;
  }

  private starting = false;

  private turn(at: number): void {
    let n: number | null;
    try {
      n = at < 0 ? null : this.r.lastWriter(this.cell, at);
      if (n !== null) this.list.push({ n, text: summarize(this.r.event(n)) });
    } catch (e) {
      // A damaged chunk on the way back: the writers found so far, and why the list ends there.
      if (!(e instanceof TraceError)) throw e;
      this.error = e.message;
      n = null;
    }
    if (n === null || this.list.length >= HISTORY_MAX) {
      this.done = true;
      this.more = n !== null && n > 0;
      if (this.starting) queueMicrotask(() => this.onUpdate()); else this.onUpdate();
      return;
    }
    this.timer = setImmediate(() => { this.timer = null; this.turn(n - 1); this.onUpdate(); });
  }

  get running(): boolean { return this.timer !== null; }

  cancel(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    this.done = true;
  }
}
