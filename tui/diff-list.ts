// The two aligned event lists of the diff view: one window of alignment rows
// drawn twice, A's event on the left, B's on the right, each row marked
// (t retimed, ~ changed, - only in A, + only in B, ? not aligned), the cursor on the
// same row in both. Only the rows on screen are read from the traces.
import { summarize } from '../engine/summary.js';
import type { TraceEvent } from '../engine/types.js';
import type { Replayer } from '../replayer/api.js';
import type { AlignedRows, Row } from '../replayer/diff-rows.js';
import { fit, kindColour, paint } from './format.js';
import { esc } from './term.js';

const MARGIN = 2;

const MARK: Record<Row['op'], { text: string; colour: string | null }> = {
  '=': { text: ' ', colour: null }, t: { text: 't', colour: 'cyan-fg' }, '~': { text: '~', colour: 'yellow-fg' }, '-': { text: '-', colour: 'red-fg' },
  '+': { text: '+', colour: 'green-fg' }, '?': { text: '?', colour: 'magenta-fg' },
};

export class DiffList {
  /** First row on screen. */
  top = 0;

  constructor(private readonly rows: AlignedRows) {}

  /** Scroll so the cursor stays visible with a small margin; the rows on screen. */
  window(cursor: number, height: number): Row[] {
    const m = Math.min(MARGIN, Math.floor((height - 1) / 2));
    if (cursor < this.top + m) this.top = cursor - m;
    if (cursor > this.top + height - 1 - m) this.top = cursor - height + 1 + m;
    this.top = Math.max(0, Math.min(this.top, this.rows.count - height));
    const out: Row[] = [];
    for (let r = this.top; r < Math.min(this.rows.count, this.top + height); r++) out.push(this.rows.row(r));
    return out;
  }

  /** Tagged lines for one side. */
  render(side: 'a' | 'b', r: Replayer, shown: readonly Row[], cursor: number, width: number): string[] {
    const seqW = Math.max(4, String(Math.max(0, r.count - 1)).length);
    return shown.map((row, k) => {
      const n = side === 'a' ? row.a : row.b;
      const ev: TraceEvent | null = n === null ? null : r.event(n);
      const here = this.top + k === cursor;
      // The side without an event on a '-' / '+' row shows a dot, not the mark.
      const mark = ev === null ? MARK['='] : MARK[row.op];
      const head = `${here ? '▶' : ' '}${mark.text}`;
      if (!ev) {
        const blank = fit(`${head}${' '.repeat(seqW)} ${row.op === '+' || row.op === '-' ? '·' : ''}`, width);
        return here ? paint(blank, 'inverse') : paint(blank, 'grey-fg');
      }
      const num = `${String(ev.seq).padStart(seqW)} `;
      const kind = ev.kind.padEnd(17).slice(0, 17);
      const rest = Math.max(0, width - head.length - num.length - kind.length - 1);
      const textPart = fit(summarize(ev), rest);
      if (here) return paint(fit(`${head}${num}${kind} ${textPart}`, width), 'inverse', ...(mark.colour ? [mark.colour] : []));
      const bad = ev.kind === 'fault' || ev.kind === 'violation';
      const markTag = mark.colour ? paint(mark.text, mark.colour, 'bold') : esc(mark.text);
      const body = row.op === '=' ? esc(textPart) : paint(textPart, ...(mark.colour ? [mark.colour] : []));
      return `${esc(head.slice(0, 1))}${markTag}${esc(num)}${paint(kind, `${kindColour(ev.kind)}-fg`, ...(bad ? ['bold'] : []))} ${bad && row.op === '=' ? paint(textPart, 'red-fg') : body}`;
    });
  }
}
