// The side-by-side diff view: A's and B's events aligned row by row (one
// cursor moves both), and below them the hardware state of A and of B at the
// cursor's row and the keyed diff between the two. Built from the replay
// debugger's parts: StatePane for each state, renderDiff for A vs B, the
// screen and text helpers.
import { importedTitle } from '../trace/header.js';
import type { Widgets } from 'blessed';
import { summarize } from '../engine/summary.js';
import { emptyState } from '../engine/state.js';
import type { State, TraceEvent } from '../engine/types.js';
import type { CellRef, Replayer } from '../replayer/api.js';
import { variantShown } from '../replayer/header-claims.js';
import { AlignedRows, type Row } from '../replayer/diff-rows.js';
import { TraceError } from '../trace/format.js';
import { diffStates } from '../replayer/state-diff.js';
import { sameValue } from '../replayer/identity.js';
import { TraceReplayer } from '../replayer/replayer.js';
import type { TraceDiff } from '../replayer/trace-diff.js';
import { aboutEvent } from './about.js';
import { ClaimCheck } from './claims.js';
import { renderDiff } from './diff.js';
import { DIFF_BINDINGS, DIFF_HINTS, DIFF_PANES, diffActionFor, type DiffAction, type DiffPane } from './diff-keys.js';
import { DiffList } from './diff-list.js';
import { borderColour, fit, paint, setColour } from './format.js';
import { StatePane } from './state-pane.js';
import { box, createScreen, esc, screenText, type Box, type Screen, type TermStreams } from './term.js';
import { PassThrough, Writable } from 'node:stream';

type Key = Widgets.Events.IKeyEventArg;

const STATUS_ROWS = 2;

interface Side { r: Replayer; list: Box; state: Box; pane: StatePane }


function pane(screen: Screen, label: string): Box {
  return box({
    parent: screen, label, tags: true, wrap: false, border: { type: 'line' },
    style: { border: { fg: borderColour(false) }, label: { bold: true } } as Widgets.BoxOptions['style'],
  });
}

const inner = (b: Box): { w: number; h: number } => ({ w: Math.max(1, (b.width as number) - 2), h: Math.max(1, (b.height as number) - 2) });

export class DiffView {
  readonly screen: Screen;
  readonly rows: AlignedRows;
  cursor = 0;
  focus: DiffPane = 'rows';
  readonly done: Promise<void>;
  private readonly A: Side;
  private readonly B: Side;
  private readonly cmp: Box;
  private readonly status: Box;
  private readonly help: Box;
  private readonly list: DiffList;
  private helpOpen = false;
  private cmpTop = 0;
  private message: { text: string; error: boolean } | null = null;
  private resolveDone!: () => void;
  private closed = false;
  /** The deep checks run in idle time: until one is done, a state built from that side's checkpoint says it is unchecked. */
  private readonly checks: ClaimCheck[] = [];

  /** Drawn on the replay debugger's screen (a what-if, tui/investigate.ts): quit takes its boxes off and leaves the screen. */
  private readonly embedded: boolean;
  private readonly onKeypress = (_ch: string | undefined, key: Key): void => this.onKey(key);
  private readonly onResize = (): void => this.render();

  constructor(a: Replayer, b: Replayer, private readonly d: TraceDiff, io: TermStreams | { screen: Screen }) {
    this.done = new Promise((res) => { this.resolveDone = res; });
    setColour(process.env); // NO_COLOR, as the debugger
    this.embedded = 'screen' in io;
    this.screen = 'screen' in io ? io.screen : createScreen(io, `iotrace diff ${a.path} ${b.path}`);
    this.rows = new AlignedRows(d.segments);
    this.list = new DiffList(this.rows);
    this.A = { r: a, list: pane(this.screen, ' A '), state: pane(this.screen, ' state A '), pane: new StatePane() };
    this.B = { r: b, list: pane(this.screen, ' B '), state: pane(this.screen, ' state B '), pane: new StatePane() };
    this.cmp = pane(this.screen, ' A vs B ');
    this.status = box({ parent: this.screen, tags: true, wrap: false, height: STATUS_ROWS });
    this.help = box({
      parent: this.screen, tags: true, wrap: false, hidden: true, label: ' help ', border: { type: 'line' },
      style: { border: { fg: borderColour(true) } } as Widgets.BoxOptions['style'],
    });
    this.cursor = d.firstDivergence ? Math.min(this.rows.count - 1, d.commonPrefix) : 0;
    if (d.firstDivergence) this.say(`first divergence: A event #${d.firstDivergence.a}, B event #${d.firstDivergence.b}`);
    else this.say(noDivergence(d));
    // Embedded, A is the debugger's trace, which checks itself; B (the what-if's recording) and a standalone pair are checked here.
    for (const r of this.embedded ? [b] : [a, b]) {
      if (r instanceof TraceReplayer && r.checkpointClaims === 'unchecked') this.checks.push(new ClaimCheck(r, () => this.render()));
    }
    this.screen.program.hideCursor();
    this.screen.on('keypress', this.onKeypress);
    this.screen.on('resize', this.onResize);
    this.render();
  }

  // ------------------------------------------------------------ drawing

  private place(): void {
    const width = Math.max(40, this.screen.width as number);
    const height = Math.max(12, this.screen.height as number);
    const main = height - STATUS_ROWS;
    const top = Math.max(5, Math.floor(main * 0.55));
    const half = Math.floor(width / 2);
    const third = Math.floor(width / 3);
    const set = (b: Box, t: number, l: number, w: number, h: number): void => { b.top = t; b.left = l; b.width = w; b.height = h; };
    set(this.A.list, 0, 0, half, top);
    set(this.B.list, 0, half, width - half, top);
    set(this.A.state, top, 0, third, main - top);
    set(this.B.state, top, third, third, main - top);
    set(this.cmp, top, 2 * third, width - 2 * third, main - top);
    set(this.status, main, 0, width, STATUS_ROWS);
    const hw = Math.min(width - 4, 100);
    set(this.help, 1, Math.floor((width - hw) / 2), hw, Math.max(6, height - 3));
    const boxes: Record<DiffPane, Box[]> = { rows: [this.A.list, this.B.list], stateA: [this.A.state], stateB: [this.B.state], diff: [this.cmp] };
    for (const p of DIFF_PANES) for (const b of boxes[p]) (b.style as { border: { fg: string } }).border.fg = borderColour(p === this.focus);
  }

  /**
   * A side's state at the row (after its last event at or before it), the cells its event on this row wrote,
   * and the unchecked checkpoint it was built from (the event it follows), if any.
   */
  private sideState(s: Side, upTo: number, own: number | null): { state: State; touched: CellRef[]; unchecked: number | null } {
    return {
      state: upTo < 0 ? emptyState() : s.r.stateAt(upTo), touched: own === null ? [] : s.r.touched(own),
      unchecked: upTo >= 0 && s.r instanceof TraceReplayer ? s.r.stateUnchecked(upTo) : null,
    };
  }

  render(): void {
    if (this.closed) return;
    this.place();
    const { A, B, rows } = this;
    const row: Row | null = rows.count ? rows.row(this.cursor) : null;
    // A damaged chunk in either trace (a TraceError) goes to the status line; the view keeps running.
    try {
      const h = inner(A.list).h;
      const shown = rows.count ? this.list.window(this.cursor, h) : [];
      // Labels are tag-parsed too: names from the trace go through esc().
      for (const [name, S] of [['A', A], ['B', B]] as const) S.list.setLabel(` ${name}: ${esc(importedTitle(S.r.header) ?? `${S.r.header.scenario.name} [${variantShown(S.r.header)}]`)} ${S.r.count} events `);
      A.list.setContent(this.list.render('a', A.r, shown, this.cursor, inner(A.list).w).join('\n'));
      B.list.setContent(this.list.render('b', B.r, shown, this.cursor, inner(B.list).w).join('\n'));
      if (row) {
        const sa = this.sideState(A, row.aUpTo, row.a);
        const sb = this.sideState(B, row.bUpTo, row.b);
        const diff = diffStates(sa.state, sb.state);
        for (const [s, st, upTo, own] of [[A, sa, row.aUpTo, row.a], [B, sb, row.bUpTo, row.b]] as const) {
          s.state.setLabel(` state ${s === A ? 'A' : 'B'} after event #${upTo}${own === null ? ' (no event on this row)' : ''}${st.unchecked !== null ? ` (from UNCHECKED checkpoint #${st.unchecked})` : ''} `);
          const focusHere = (s === A && this.focus === 'stateA') || (s === B && this.focus === 'stateB');
          if (!focusHere) {
            // Select the first cell where A and B differ that this side has; else what the row's event wrote.
            const cells = st.state.s as unknown as Record<string, Record<string, unknown>>;
            const differing = diff.entries.find((e) => cells[e.section]?.[e.key] !== undefined);
            if (differing) s.pane.select(differing);
            else if (own !== null) {
              const ev = s.r.event(own);
              s.pane.follow(s.pane.rows(st.state, st.touched), aboutEvent(s.r, own, ev, st.state), ev.kind === 'fault' || ev.kind === 'violation');
            }
          }
          const sl = inner(s.state);
          s.state.setContent(s.pane.render(st.state, st.touched, sl.w, sl.h).join('\n'));
        }
        const cl = inner(this.cmp);
        this.cmp.setLabel(` A vs B at row ${this.cursor} `);
        const lines = renderDiff(diff, '', cl.w);
        // renderDiff's title line speaks of one step's change; here it is A against B.
        const unchecked = sa.unchecked !== null || sb.unchecked !== null ? ' (unchecked checkpoint)' : '';
        lines[0] = paint(fit(`${diff.changed === 0 ? 'A and B agree here' : `${diff.changed} cell${diff.changed === 1 ? '' : 's'} differ (- A only, + B only, ~ A → B)`}${unchecked}`, cl.w).trimEnd(), 'bold');
        this.cmpTop = Math.max(0, Math.min(this.cmpTop, lines.length - cl.h));
        this.cmp.setContent(lines.slice(this.cmpTop, this.cmpTop + cl.h).join('\n'));
      }
    } catch (e) {
      if (!(e instanceof TraceError)) throw e;
      this.say(`damaged trace: ${e.message}`, true);
    }
    const w = this.screen.width as number;
    const d = this.d;
    const parts = [
      row ? `row ${this.cursor} / ${rows.count}` : 'no rows',
      row ? `${opWord(row.op)}` : '',
      d.identical === true ? 'identical' : d.identical === null ? `cannot tell past ${d.commonPrefix} (damaged)` : `prefix ${d.commonPrefix}`,
      `${d.retimed} retimed, ${d.changed} changed, ${d.onlyInA} only A, ${d.onlyInB} only B`,
      `faults only A ${d.faultsOnlyInA.length}, only B ${d.faultsOnlyInB.length}`,
    ].filter(Boolean);
    const top = paint(fit(` ${parts.join(' │ ')}`, w), 'inverse');
    const bottom = this.message ? paint(fit(` ${this.message.text}`, w), this.message.error ? 'red-fg' : 'green-fg', 'bold') : paint(fit(` [${this.focus}] ${DIFF_HINTS}`, w));
    this.status.setContent(`${top}\n${bottom}`);
    if (this.helpOpen) {
      const hl = inner(this.help);
      const out = [paint('iotrace diff — keys', 'bold'), ''];
      for (const bnd of DIFF_BINDINGS) out.push(`${paint(bnd.label.padEnd(7), 'yellow-fg', 'bold')} ${paint(bnd.help.slice(0, Math.max(10, hl.w - 9)))}`);
      out.push('', paint('Rows: ~ the same event with different fields, - only in A, + only in B, ? not aligned.'.slice(0, hl.w)));
      out.push(paint('t the same event at another tick, step or source line (retimed): n / N pass over it.'.slice(0, hl.w)));
      out.push(paint('The state panes show each trace after its last event at or before the row.'.slice(0, hl.w)));
      out.push('', paint('Esc, ? or q closes this help.', 'bold'));
      this.help.setContent(out.slice(0, hl.h).join('\n'));
      this.help.show();
      this.help.setFront();
    } else this.help.hide();
    this.screen.render();
  }

  // ------------------------------------------------------------ keys

  say(text: string, error = false): void { this.message = { text, error }; }

  private onKey(key: Key): void {
    if (this.closed) return;
    if (this.helpOpen) {
      if (['escape', '?', 'q', 'C-c'].includes(key.full)) this.helpOpen = false;
      this.render();
      return;
    }
    const action = diffActionFor(key.full);
    if (!action) return;
    this.message = null;
    try { this.act(action); } catch (e) {
      if (!(e instanceof TraceError)) throw e;
      this.say(`damaged trace: ${e.message}`, true);
    }
    if (!this.closed) this.render();
  }

  goTo(r: number): void { this.cursor = Math.max(0, Math.min(this.rows.count - 1, r)); this.cmpTop = 0; }

  act(action: DiffAction): void {
    const page = Math.max(1, inner(this.A.list).h - 1);
    const statePane = this.focus === 'stateA' ? this.A.pane : this.focus === 'stateB' ? this.B.pane : null;
    switch (action) {
      case 'down': case 'up': case 'pageDown': case 'pageUp': {
        const k = (action === 'down' || action === 'up' ? 1 : page) * (action === 'down' || action === 'pageDown' ? 1 : -1);
        if (statePane) statePane.move(k);
        else if (this.focus === 'diff') this.cmpTop = Math.max(0, this.cmpTop + k);
        else this.goTo(this.cursor + k);
        return;
      }
      case 'top': this.goTo(0); return;
      case 'bottom': this.goTo(this.rows.count - 1); return;
      case 'nextDiff': case 'prevDiff': {
        const dir = action === 'nextDiff' ? 1 : -1;
        const n = this.rows.nextDifference(this.cursor, dir);
        if (n === null) { this.say(`no difference ${dir === 1 ? 'after' : 'before'} row ${this.cursor}`, true); return; }
        this.goTo(n);
        this.describeRow();
        return;
      }
      case 'firstDivergence': {
        if (!this.d.firstDivergence) { this.say(noDivergence(this.d), true); return; }
        this.goTo(this.d.commonPrefix);
        this.describeRow('first divergence');
        return;
      }
      case 'statesPart': {
        const p = this.d.statesPart;
        if (!p) { this.say('the states of A and B do not part within the rows examined', true); return; }
        const r = this.rows.rowOf('a', p.a) ?? this.rows.rowOf('b', p.b);
        if (r === null) return;
        // The row after which both states are as reported: the later of A's and B's rows.
        this.goTo(Math.max(r, this.rows.rowOf('b', p.b) ?? r));
        this.say(`states part here: ${p.diff.changed} cell(s) differ`);
        return;
      }
      case 'nextFault': {
        const rowsOf = [
          ...this.d.faultsOnlyInA.map((p) => this.rows.rowOf('a', p.step)),
          ...this.d.faultsOnlyInB.map((p) => this.rows.rowOf('b', p.step)),
        ].filter((r): r is number => r !== null).sort((x, y) => x - y);
        const n = rowsOf.find((r) => r > this.cursor) ?? rowsOf[0];
        if (n === undefined) { this.say('no fault or violation on one side only', true); return; }
        this.goTo(n);
        this.describeRow('only on one side');
        return;
      }
      case 'focusNext': this.focus = DIFF_PANES[(DIFF_PANES.indexOf(this.focus) + 1) % DIFF_PANES.length] as DiffPane; return;
      case 'help': this.helpOpen = true; return;
      case 'escape': this.focus = 'rows'; return;
      case 'quit': this.quit(); return;
    }
  }

  private describeRow(prefix?: string): void {
    const row = this.rows.row(this.cursor);
    const ev = row.b !== null ? this.B.r.event(row.b) : row.a !== null ? this.A.r.event(row.a) : null;
    const where = `A ${row.a ?? '·'} / B ${row.b ?? '·'}`;
    // A retimed row's two events read the same in the lists: say when each happened.
    const when = row.op === 't' && row.a !== null && row.b !== null ? ` (${timingText(this.A.r.event(row.a), this.B.r.event(row.b))})` : '';
    this.say(`${prefix ? `${prefix}: ` : ''}${where} ${opWord(row.op)}${when}${ev ? `: ${summarize(ev)}` : ''}`);
  }

  quit(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.checks) c.stop();
    if (this.embedded) {
      this.screen.removeListener('keypress', this.onKeypress);
      this.screen.removeListener('resize', this.onResize);
      for (const b of [this.A.list, this.A.state, this.B.list, this.B.state, this.cmp, this.status, this.help]) b.destroy();
    } else this.screen.destroy();
    this.resolveDone();
  }
}

/** What a diff without a first divergence says: the same events, or (a damaged side) that the rest cannot be compared. */
function noDivergence(d: TraceDiff): string {
  return d.identical === null ? `the ${d.commonPrefix} events both hold agree; a damaged side's lost events cannot be compared` : 'A and B hold the same events';
}

function opWord(op: Row['op']): string {
  return { '=': 'same', t: 'retimed', '~': 'changed', '-': 'only in A', '+': 'only in B', '?': 'not aligned' }[op];
}

/** When two retimed events happened: tick, and step and source line where they differ. */
function timingText(x: TraceEvent, y: TraceEvent): string {
  return [`tick A ${x.tick} B ${y.tick}`, ...(x.step === y.step ? [] : [`step A ${x.step} B ${y.step}`]), ...(sameValue(x.obs, y.obs) ? [] : ['source line differs'])].join(', ');
}

export function openDiffView(a: Replayer, b: Replayer, d: TraceDiff, io: TermStreams): DiffView {
  return new DiffView(a, b, d, io);
}

/** One frame drawn into a fake terminal, as plain text rows (for --dump, docs and tests). */
export function dumpDiffFrame(a: Replayer, b: Replayer, d: TraceDiff, cols: number, rows: number): string[] {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const output = Object.assign(new Writable({ write: (_c, _e, cb: () => void) => cb() }), { isTTY: true, columns: cols, rows });
  const v = openDiffView(a, b, d, { input, output });
  const text = screenText(v.screen).map((l) => l.trimEnd());
  v.quit();
  return text;
}
