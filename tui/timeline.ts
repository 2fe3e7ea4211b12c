// The timeline (blessed-contrib's sparkline): fault and violation density
// over the whole trace, one column per 1/width of the steps, with a marker
// row under it — F fault, V violation, ▲ the cursor. Built from the trace
// index alone (no event is read), so it costs the same for 10 M events; a
// threaded trace of a bounded size also marks where the schedule switches
// thread (s), read from its sched events.
import type { Replayer } from '../replayer/api.js';
import type { Widgets } from 'blessed';
import { borderColour, colour, tag } from './format.js';
import { sparkline, type SparklineWidget } from './term.js';

/** Traces up to this many events get their scheduling switches marked (the scan reads every event). */
const SWITCH_SCAN_MAX = 200_000;

export class Timeline {
  readonly widget: SparklineWidget;
  private cols = 0;
  private density: number[] = [];
  private marks: string[] = [];

  constructor(private readonly r: Replayer, options: Widgets.BoxOptions) {
    this.widget = sparkline({
      ...options, label: ' timeline ', tags: true, border: { type: 'line' },
      // contrib draws the title white by default: invisible on a light theme; the terminal's own colour instead.
      style: { fg: colour() ? 'red' : 'default', titleFg: 'default', border: { fg: borderColour(false) }, label: { bold: true } } as Widgets.BoxOptions['style'],
    });
  }

  /** Columns the trace is spread over (at most one step per column). */
  private layout(): number {
    const width = Math.max(1, (this.widget.width as number) - 2);
    const cols = Math.max(1, Math.min(width, this.r.count));
    if (cols === this.cols) return cols;
    this.cols = cols;
    this.density = new Array<number>(cols).fill(0);
    this.marks = new Array<string>(cols).fill(' ');
    const add = (list: readonly number[], mark: string): void => {
      for (const seq of list) {
        const c = this.column(seq);
        this.density[c] = (this.density[c] ?? 0) + 1;
        if (this.marks[c] !== 'F') this.marks[c] = mark;
      }
    };
    add(this.r.violations, 'V');
    add(this.r.faults, 'F');
    // A threaded trace: 's' where the schedule switches thread (read from the events, for traces of a bounded size).
    if (this.r.header.scenario.threads && this.r.count <= SWITCH_SCAN_MAX) {
      let last: string | null = null;
      for (let n = 0; n < this.r.count; n++) {
        let ev;
        try { ev = this.r.event(n); } catch { break; }
        if (ev.kind !== 'sched' || typeof ev.thread !== 'string') continue;
        const c = this.column(n);
        if (last !== null && ev.thread !== last && this.marks[c] === ' ') this.marks[c] = 's';
        last = ev.thread;
      }
    }
    return cols;
  }

  /** First step of column c. */
  start(c: number): number { return Math.floor((c * this.r.count) / Math.max(1, this.cols)); }

  column(seq: number): number {
    const cols = Math.max(1, this.cols);
    let c = Math.min(cols - 1, Math.floor((seq * cols) / Math.max(1, this.r.count)));
    while (c + 1 < cols && this.start(c + 1) <= seq) c++;
    while (c > 0 && this.start(c) > seq) c--;
    return c;
  }

  /** Where a click at column x (inside the border) lands: the first fault or violation in that column, else its first step. */
  stepAt(x: number): number {
    this.layout();
    const c = Math.max(0, Math.min(this.cols - 1, x));
    const lo = this.start(c);
    const hi = this.start(c + 1);
    const hits = [...this.r.faults, ...this.r.violations].filter((s) => s >= lo && s < hi);
    return hits.length ? Math.min(...hits) : lo;
  }

  /** The step one column left (-1) or right (1) of `cursor`. */
  neighbour(cursor: number, dir: 1 | -1): number {
    this.layout();
    const c = Math.max(0, Math.min(this.cols - 1, this.column(cursor) + dir));
    return this.start(c);
  }

  private drawn = '';

  update(cursor: number): void {
    if (this.r.count === 0) { this.widget.setContent('(no events)'); return; }
    const cols = this.layout();
    // Redraw only when what it shows changes: the width or the cursor's column.
    const key = `${cols}/${this.column(cursor)}`;
    if (key === this.drawn) return;
    this.drawn = key;
    const per = this.r.count / cols;
    // One short line, so an 80-column timeline keeps its legend, bars and markers (? explains them).
    const title = `F fault V violation${this.r.header.scenario.threads ? ' s switch' : ''} ▲ cursor · 1 col = ${per < 1.5 ? '1 event' : `${Math.round(per)} events`}`;
    this.widget.setData([title], [this.density]);
    // contrib draws: blank line, title, sparkline, blank line. Keep title and
    // sparkline; put the marker row in place of the trailing blank.
    const c = this.column(cursor);
    const marks = this.marks.map((m, i) => (i === c ? tag('▲', 'bold', 'yellow-fg') : m === 'F' ? tag('F', 'red-fg') : m === 'V' ? tag('V', 'magenta-fg') : m === 's' ? tag('s', 'cyan-fg') : '·')).join('');
    const content = (this.widget as unknown as { content: string }).content.replace(/^\r\n/, '').replace(/\r\n\r\n$/, '');
    this.widget.setContent(`${content}\n${marks}`);
  }
}
