// `P`: the provenance chain of the event at the cursor (or of the selected
// state cell) as a foldable tree over the main panes. Built by the service
// below the TUI (provenance/chain.ts) in slices that yield to the UI, so the
// screen stays live and Esc stops it; Enter jumps to a row's event.
import type { Widgets } from 'blessed';
import type { CellRef, Replayer } from '../replayer/api.js';
import { Provenance, type Chain, type ChainRow } from '../provenance/chain.js';
import { fit, paint } from './format.js';
import { box, type Box, type Screen } from './term.js';

type Key = Widgets.Events.IKeyEventArg;

/** Work done between two yields to the event loop while a chain is built; the keypress's own slice is shorter. */
const SLICE_MS = 8;
const FIRST_SLICE_MS = 3;
const FILLS = new Set(['iotlb-fill', 'atc-fill', 'pasid-cache-fill']);

export type ChainKey = { close: true } | { jump: ChainRow } | null;

export class ChainView {
  readonly prov: Provenance;
  private readonly box: Box;
  private chain: Chain | null = null;
  private subject = '';
  private building: { cancel: boolean; rows: number } | null = null;
  private waiters: (() => void)[] = [];
  private sel = 0;
  private top = 0;
  /** Rows (by index into chain.rows) whose causes are hidden. */
  private folded = new Set<number>();
  active = false;

  constructor(private readonly r: Replayer, screen: Screen, private readonly redraw: () => void) {
    this.prov = new Provenance(r);
    this.box = box({
      parent: screen, tags: true, wrap: false, hidden: true, border: { type: 'line' },
      style: { border: { fg: 'yellow' }, label: { bold: true } } as Widgets.BoxOptions['style'],
    });
  }

  /** Open the chain of event `seq`, or of `cell` as it stands after event `seq`. */
  open(seq: number, cell: CellRef | null): void {
    this.stop();
    this.active = true;
    this.chain = null;
    this.sel = 0;
    this.top = 0;
    this.folded.clear();
    this.subject = cell ? `${cell.section} ${cell.key} after #${seq}` : `#${seq}`;
    const gen = this.prov.chainSteps(cell ? { cell, at: seq } : { seq });
    const job = { cancel: false, rows: 0 };
    this.building = job;
    const slice = (first: boolean): void => {
      if (job.cancel) return;
      const t0 = performance.now();
      for (;;) {
        const s = gen.next();
        if (s.done) { this.finish(job, s.value, !first); return; }
        job.rows++;
        if (performance.now() - t0 > (first ? FIRST_SLICE_MS : SLICE_MS)) break;
      }
      this.redraw();
      setImmediate(() => slice(false));
    };
    // The first slice runs at once: a short chain is on screen in the keypress's own frame.
    slice(true);
  }

  private finish(job: { cancel: boolean }, chain: Chain, redraw: boolean): void {
    if (job !== this.building) return;
    this.building = null;
    this.chain = chain;
    // Open by default: the subject's direct causes, and every cache fill with the cells it read (the path of a
    // stale or missing translation); the rest folded, one key away.
    chain.rows.forEach((row, i) => {
      const next = chain.rows[i + 1];
      if (!next || next.depth <= row.depth) return;
      const fill = row.seq !== null && row.depth > 0 && FILLS.has(this.r.event(row.seq).kind);
      if (row.depth > 0 && !fill) this.folded.add(i);
    });
    if (redraw) this.redraw();
    this.settle();
  }

  /** Stop building (Esc, or a new chain). */
  stop(): void {
    if (this.building) this.building.cancel = true;
    this.building = null;
    this.settle();
  }

  close(): void { this.stop(); this.active = false; this.box.hide(); }

  idle(): Promise<void> { return this.building ? new Promise((res) => this.waiters.push(res)) : Promise.resolve(); }

  private settle(): void {
    if (this.building) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The rows shown (folded causes hidden), with their index in the chain. */
  private visible(): { row: ChainRow; i: number; kids: boolean }[] {
    const rows = this.chain?.rows ?? [];
    const out: { row: ChainRow; i: number; kids: boolean }[] = [];
    let hideBelow = Infinity;
    rows.forEach((row, i) => {
      if (row.depth > hideBelow) return;
      hideBelow = Infinity;
      const kids = (rows[i + 1]?.depth ?? -1) > row.depth;
      out.push({ row, i, kids });
      if (kids && this.folded.has(i)) hideBelow = row.depth;
    });
    return out;
  }

  key(ch: string | undefined, key: Key): ChainKey {
    const name = key.full;
    if (name === 'escape' || name === 'q' || name === 'S-p') {
      if (this.building && name === 'escape') { this.stop(); return null; }
      return { close: true };
    }
    const vis = this.visible();
    const cur = vis[this.sel];
    const page = Math.max(1, (this.box.height as number) - 4);
    switch (name) {
      case 'j': case 'down': this.sel = Math.min(vis.length - 1, this.sel + 1); break;
      case 'k': case 'up': this.sel = Math.max(0, this.sel - 1); break;
      case 'pagedown': case 'C-f': this.sel = Math.min(vis.length - 1, this.sel + page); break;
      case 'pageup': case 'C-b': this.sel = Math.max(0, this.sel - page); break;
      case 'g': case 'home': this.sel = 0; break;
      case 'S-g': case 'end': this.sel = Math.max(0, vis.length - 1); break;
      case 'space': case 'l': case 'right': case 'h': case 'left':
        if (cur?.kids) {
          const open = name === 'l' || name === 'right' ? true : name === 'h' || name === 'left' ? false : this.folded.has(cur.i);
          if (open) this.folded.delete(cur.i); else this.folded.add(cur.i);
        }
        break;
      case 'return': case 'linefeed':
        if (cur && cur.row.seq !== null) return { jump: cur.row };
        break;
      default: void ch;
    }
    return null;
  }

  /** The message a jump leaves (the row it came from). */
  static jumped(row: ChainRow): string { return `chain: went to #${row.seq}${row.cell ? ` (${row.cell.section} ${row.cell.key})` : ''}; P opens its own chain`; }

  draw(top: number, width: number, height: number): void {
    if (!this.active) { this.box.hide(); return; }
    const b = this.box;
    b.top = top; b.left = 0; b.width = width; b.height = height;
    const w = Math.max(1, width - 2);
    const h = Math.max(1, height - 2);
    const vis = this.visible();
    this.sel = Math.max(0, Math.min(this.sel, vis.length - 1));
    if (this.sel < this.top) this.top = this.sel;
    if (this.sel >= this.top + h - 1) this.top = this.sel - h + 2;
    const indexing = this.building ? this.prov.indexing() : null;
    const state = indexing ? ` ${indexing} (Esc stops)` : this.building ? ` building… ${this.building.rows} steps (Esc stops)` : this.chain && !this.chain.complete ? ' (cut short: see the last row)' : '';
    b.setLabel(` provenance of ${this.subject} · ${this.chain ? `${this.chain.rows.length} rows` : ''}${state} `);
    const lines: string[] = [];
    if (!this.chain) lines.push(paint(fit(this.building ? 'working out what the decisions read…' : 'stopped', w), 'grey-fg'));
    for (const [n, v] of vis.slice(this.top, this.top + h - 1).entries()) {
      const mark = v.kids ? (this.folded.has(v.i) ? '▸ ' : '▾ ') : '  ';
      const text = fit(`${'  '.repeat(v.row.depth)}${mark}${v.row.text}`, w - 1);
      const line = `${this.top + n === this.sel ? '›' : ' '}${text}`;
      // A row that says the header's scenario step is false is red, selected or not.
      const styles = [...(v.row.falseClaim ? ['red-fg'] : []), ...(this.top + n === this.sel ? ['inverse'] : v.row.seq === null ? ['grey-fg'] : v.row.depth === 0 ? ['bold'] : [])];
      lines.push(paint(line, ...styles));
    }
    lines.push(paint(fit('j/k move  Space/h/l fold  Enter go to the event  Esc/q/P close', w), 'grey-fg'));
    b.setContent(lines.join('\n'));
    b.show();
    b.setFront();
  }
}
