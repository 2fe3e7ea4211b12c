// The debugger: one screen, one key dispatcher, one frame function. The panes
// (event list, state, diff, timeline, status, help) draw from the Replayer
// and the engine's presentation helpers only.
import type { Widgets } from 'blessed';
import { summarize } from '../engine/summary.js';
import type { EventKind, State, TraceEvent } from '../engine/types.js';
import type { CellRef, Replayer, SearchQuery } from '../replayer/api.js';
import { matches } from '../replayer/search.js';
import { TraceError } from '../trace/format.js';
import { neighbour } from '../replayer/replayer.js';
import { aboutEvent, type About } from './about.js';
import { Breakpoints, type Stop } from './breakpoints.js';
import { GOTO_WORDS, kindWords, searchWords } from './complete.js';
import { cellDetail, eventDetail, stepLabel } from './detail.js';
import { diffStep, renderDiff, type StepDiff } from './diff.js';
import { EventList } from './event-list.js';
import { fit, paint, setColour, wrap } from './format.js';
import { GOTO_LABEL, gotoTarget } from './goto.js';
import { helpLines } from './help.js';
import { WriterHistory } from './history.js';
import { Investigate } from './investigate.js';
import { JumpList } from './jumps.js';
import { actionFor, hints, PANES, whyNot, type Action, type Pane } from './keymap.js';
import { createPanes, focusStyle, inner, MIN_SIZE, place, showSmall, STATUS_ROWS, TIMELINE_ROWS, tooSmall, type Panes } from './layout.js';
import { Marks } from './marks.js';
import { Overlay } from './overlay.js';
import { DEFAULT_SPEED, Player } from './play.js';
import { Prompt } from './prompt.js';
import { describe, kindsOf, parseQuery, scanAsync, searchAsync } from './search.js';
import { ClaimCheck } from './claims.js';
import { headerClaims, variantShown } from '../replayer/header-claims.js';
import { tracedClaim, unknownText } from '../replayer/traced.js';
import { stepCall } from '../replayer/step-claim.js';
import { StatePane } from './state-pane.js';
import { statusRows } from './status.js';
import { createScreen, type Screen, type TermStreams } from './term.js';
import { Timeline } from './timeline.js';

export interface DebuggerOptions extends TermStreams {
  /** Event to open at (default 0). */
  at?: number;
  /** The environment (NO_COLOR); default process.env. */
  env?: NodeJS.ProcessEnv;
}

interface StepView { n: number; state: State; touched: CellRef[]; diff: StepDiff; about: About; bad: boolean }

/** A background job (search, continue, a scan for a scenario step): its progress is shown and Esc stops it. */
interface Pending { job: { cancel(): void }; done: number; total: number; what: string }

type OverlayKind = 'help' | 'detail' | 'breakpoints';

type Key = Widgets.Events.IKeyEventArg;

export class Debugger {
  readonly screen: Screen;
  cursor = 0;
  focus: Pane = 'events';
  /** Resolves when the user quits. */
  readonly done: Promise<void>;
  /** Frames drawn (for tests and the benchmark). */
  frames = 0;

  private readonly panes: Panes;
  private readonly list: EventList;
  private readonly statePane = new StatePane();
  private readonly timeline: Timeline;
  private readonly prompt = new Prompt();
  private readonly player = new Player();
  private view: StepView | null = null;
  private diffTop = 0;
  private readonly overlay = new Overlay();
  private overlayKind: OverlayKind | null = null;
  private history: WriterHistory | null = null;
  private readonly jumps = new JumpList();
  private readonly marks = new Marks();
  readonly breakpoints = new Breakpoints();
  /** A key that waits for a letter: m (set a mark) or ' (go to one). */
  private waitLetter: 'mark' | 'gotoMark' | null = null;
  private playDir: 1 | -1 = 1;
  /** Earlier entries of each prompt (Up/Down). */
  private readonly prompts = { goto: [] as string[], search: [] as string[], filter: [] as string[], breakpoint: [] as string[] };
  private countPrefix = '';
  /** Lines above the state pane's rows (an imported trace's unknown sections): a click below them picks a row. */
  private noteRows = 0;
  private message: { text: string; error: boolean } | null = null;
  private search: { text: string; query: SearchQuery } | null = null;
  private pending: Pending | null = null;
  private idleWaiters: (() => void)[] = [];
  private resolveDone!: () => void;
  private closed = false;
  private readonly claims: ClaimCheck;
  /** The header claims a variant its scenario has not (replayer/header-claims.ts). */
  private readonly headerFalse: boolean;
  /** P, W, x, e: the services below the TUI (provenance, watch, what-if). */
  private readonly inv: Investigate;

  constructor(readonly r: Replayer, opts: DebuggerOptions) {
    this.done = new Promise((res) => { this.resolveDone = res; });
    setColour(opts.env ?? process.env);
    this.screen = createScreen(opts, `iotrace replay ${r.path}`);
    this.panes = createPanes(this.screen);
    this.timeline = new Timeline(r, { parent: this.screen });
    this.list = new EventList(r);
    this.cursor = Math.max(0, Math.min(r.count - 1, opts.at ?? 0));
    this.inv = new Investigate({
      r, screen: this.screen,
      cursor: () => this.cursor,
      cell: () => (this.focus === 'state' ? this.statePane.selected : null),
      jump: (n, cell) => { this.jump(n); if (cell) this.statePane.select(cell); },
      say: (text, error) => this.say(text, error),
      prompt: (label, submit, warn) => this.prompt.open({ label, submit, ...(warn ? { warn } : {}) }),
      render: () => this.render(),
      mainRows: () => Math.max(6, (this.screen.height as number) - TIMELINE_ROWS - STATUS_ROWS),
    });
    this.screen.program.hideCursor();
    this.screen.on('keypress', (ch: string | undefined, key: Key) => this.onKey(ch, key));
    this.screen.on('resize', () => this.render());
    this.wireMouse();
    if (r.truncated) this.say(`trace damaged: ${r.truncated.reason}`, true);
    // Said before the background check's findings, which replace it on the message row when there are any.
    const header = headerClaims(r.header);
    this.headerFalse = header.length > 0;
    if (this.headerFalse) this.say(`FALSE CLAIM: ${header.join('; ')}`, true);
    this.claims = new ClaimCheck(r, (res) => {
      if (!res.claimsOk || res.checkpointsOk === false) this.say(`the trace claims what its events do not say: ${res.problems.filter((x) => !x.startsWith('damaged:'))[0] ?? ''}`, true);
      else this.sayTracedClaim();
      this.view = null;
      this.render();
    });
    const found = this.claims.problems.filter((x) => !x.startsWith('damaged:'));
    if (found.length > 0) this.say(`the trace claims what its events do not say: ${found[0]}`, true);
    else this.sayTracedClaim();
    this.render();
  }

  /** An imported trace's header that lists other traced sections than its events write (once the background check has them), on the message line. */
  private sayTracedClaim(): void {
    const imported = this.r.header.imported;
    const traced = this.claims.traced;
    const claim = imported && traced ? tracedClaim(imported.traced, traced) : null;
    if (claim !== null) this.say(`the trace claims what its events do not say: ${claim}`, true);
  }

  /** An imported trace's state pane opens with the sections its log did not trace (from its events, once the background pass has them). */
  private unknownNote(width: number): string[] {
    if (!this.r.header.imported) return [];
    const traced = this.claims.traced;
    const text = traced ? unknownText(traced) : 'which sections the log traced: being found from its events…';
    return wrap(text, width, 2).slice(0, 3).map((l) => paint(fit(l, width), 'yellow-fg'));
  }

  // ------------------------------------------------------------ drawing

  private stepView(): StepView | null {
    const r = this.r;
    if (r.count === 0) return null;
    if (this.view?.n === this.cursor) return this.view;
    const n = this.cursor;
    const touched = r.touched(n);
    const state = r.stateAt(n);
    const before = r.stateAt(n - 1);
    const ev = r.event(n);
    const bad = ev.kind === 'fault' || ev.kind === 'violation';
    this.view = { n, state, touched, diff: diffStep(before, state, touched), about: aboutEvent(r, n, ev, state), bad };
    return this.view;
  }

  /** Draw one frame (synchronously). */
  render(): void {
    if (this.closed || this.inv.covering) return;
    const p = this.panes;
    const small = tooSmall(this.screen);
    showSmall(p, this.timeline.widget, small, paint(`terminal too small (needs ${MIN_SIZE.cols}x${MIN_SIZE.rows}, this one is ${String(this.screen.width)}x${String(this.screen.height)}); make it larger, or q to quit`, 'bold'));
    if (small) { this.screen.render(); this.frames++; return; }
    place(this.screen, p, this.timeline.widget);
    focusStyle(p, this.timeline.widget, this.focus);
    const r = this.r;
    // A damaged chunk (a TraceError from the replayer) is shown, not fatal: the panes that need it say so.
    let v: StepView | null = null;
    let ev: TraceEvent | null = null;
    let unreadable: string | null = null;
    try {
      v = this.stepView();
      ev = v ? r.event(v.n) : null;
    } catch (e) {
      v = null;
      unreadable = this.damaged(e);
    }

    const el = inner(p.events);
    const q = this.search?.query;
    p.events.setLabel(` events (${r.count})${this.list.kinds ? ` · filter ${describe({ kinds: this.list.kinds })}` : ''} `);
    let rows: string[];
    try {
      rows = this.list.render(this.cursor, el.w, el.h, q ? (e) => matches(e, q) : undefined, (n) => this.marks.at(n));
    } catch (e) {
      rows = [paint(fit(`event #${this.cursor}: cannot read the events here: ${this.damaged(e)}`, el.w), 'red-fg', 'bold')];
    }
    p.events.setContent(rows.join('\n'));

    const sl = inner(p.state);
    if (unreadable !== null) {
      p.state.setLabel(` state after event #${this.cursor} `);
      p.state.setContent(paint(fit(`cannot read event #${this.cursor}: ${unreadable}`, sl.w), 'red-fg', 'bold'));
    } else if (v) {
      // An imported trace holds only what its log traced: the rest of the state is unknown, not empty.
      p.state.setLabel(` state after event #${v.n}${r.header.imported ? ` · from a ${r.header.imported.tool} log: untraced sections unknown` : ''} `);
      const follow = this.focus !== 'state' ? { about: v.about, bad: v.bad } : undefined;
      const note = this.unknownNote(sl.w);
      this.noteRows = note.length;
      p.state.setContent([...note, ...this.statePane.render(v.state, v.touched, sl.w, Math.max(1, sl.h - note.length), follow)].join('\n'));
    } else p.state.setContent('');

    const dl = inner(p.diff);
    if (unreadable !== null) p.diff.setContent('');
    else if (v && ev) {
      p.diff.setLabel(` diff: #${v.n - 1} → #${v.n} `);
      const lines = renderDiff(v.diff, `event #${v.n} ${ev.kind}`, dl.w, ev.obs);
      this.diffTop = Math.max(0, Math.min(this.diffTop, lines.length - dl.h));
      p.diff.setContent(lines.slice(this.diffTop, this.diffTop + dl.h).join('\n'));
    } else p.diff.setContent('');

    this.timeline.update(this.cursor);

    const [top, bottom] = statusRows({
      // No header: the stand-in's name and variant are nobody's; the message row says why (r.truncated).
      trace: r.path, scenario: r.headerLost !== null ? 'no header' : r.header.imported ? `${r.header.imported.tool} log ${r.header.imported.file}` : r.header.scenario.name,
      variant: r.headerLost !== null ? 'not a trace, or cut' : r.header.imported ? 'imported' : variantShown(r.header), cursor: this.cursor, count: r.count,
      tick: ev?.tick ?? null, step: ev?.step ?? null, thread: typeof ev?.thread === 'string' ? ev.thread : null,
      firstFault: r.faults[0] ?? null, faults: r.faults.length, violations: r.violations.length, claims: [this.headerFalse ? 'VARIANT FALSE' : '', this.claims.label()].filter(Boolean).join(' · '),
      filter: this.list.kinds ? describe({ kinds: this.list.kinds }) : null, search: this.search ? this.search.text : null,
      breakpoints: this.breakpoints.isDefault ? null : this.breakpoints.enabled.length, countPrefix: this.countPrefix,
      playing: this.player.playing ? { speed: this.player.speed, dir: this.playDir } : null, pane: this.focus,
    }, this.screen.width as number, {
      promptWarn: this.prompt.active && this.prompt.warn,
      prompt: this.prompt.active ? this.prompt.line() : this.pending ? `${this.pending.what}… ${Math.floor((100 * this.pending.done) / Math.max(1, this.pending.total))}% (Esc stops)` : this.inv.progress() ?? (this.waitLetter ? (this.waitLetter === 'mark' ? 'mark: a letter names this event' : `go to mark: a letter${this.marks.text() ? ` (${this.marks.text()})` : ' (no marks yet: m + a letter sets one)'}`) : undefined),
      message: this.message?.text, error: this.message?.error, hints: hints(this.focus),
    });
    p.status.setContent(`${top}\n${bottom}`);
    this.overlay.render(p.help);
    this.inv.draw(this.screen.width as number);

    this.screen.render();
    this.frames++;
  }

  // ------------------------------------------------------------ moving

  /** Put the cursor on step n (clamped) and draw. */
  goTo(n: number): void {
    if (this.r.count === 0) return;
    this.cursor = Math.max(0, Math.min(this.r.count - 1, n));
    this.diffTop = 0;
  }

  /** goTo that the jump list records (C-o comes back). */
  jump(n: number): void {
    const from = this.cursor;
    this.goTo(n);
    this.jumps.record(from, this.cursor);
  }

  /** "event #40 (scenario step 19): <summary>" */
  private where(n: number): string {
    const ev = this.r.event(n);
    return `event #${n} (${stepLabel(ev.step)}): ${summarize(ev)}`;
  }

  private step(dir: 1 | -1, k: number): void {
    const from = this.cursor;
    this.goTo(this.list.move(from, dir, k));
    // A key that cannot move says why (the ends, or a filter with nothing further).
    if (this.cursor === from && this.r.count > 0 && !this.player.playing) {
      const end = dir === 1 ? from >= this.r.count - 1 : from <= 0;
      this.say(end ? (dir === 1 ? `at the last event (#${from})` : 'at the first event (#0)') : `no ${dir === 1 ? 'later' : 'earlier'} event of the filtered kinds (t changes the filter)`, true);
    }
  }

  private nextMark(dir: 1 | -1, lists: readonly (readonly number[])[] = [this.r.faults, this.r.violations], what = 'fault or violation'): void {
    const cands = lists.map((l) => neighbour(l, this.cursor, dir)).filter((x): x is number => x !== null);
    if (cands.length === 0) { this.say(`no ${what} ${dir === 1 ? 'after' : 'before'} event #${this.cursor}`, true); return; }
    const n = dir === 1 ? Math.min(...cands) : Math.max(...cands);
    this.jump(n);
    this.say(this.where(n));
  }

  /** Start a background job; `finish` runs with its answer unless it was stopped. */
  private background<T>(what: string, total: number, start: (progress: (done: number) => void) => { promise: Promise<T>; cancel(): void }, finish: (x: T) => void): void {
    this.pending?.job.cancel();
    let p: Pending | null = null;
    const job = start((done) => { if (this.pending === p && p) { p.done = done; this.render(); } });
    p = { job, done: 0, total, what };
    this.pending = p;
    const mine = p;
    void job.promise.then((x) => {
      if (this.pending !== mine) return;
      this.pending = null;
      try { finish(x); } catch (e) { this.damaged(e); }
      this.render();
      this.settle();
    }, (e: unknown) => {
      // The scan reached a damaged chunk: say so, stop, keep running.
      if (this.pending !== mine) return;
      this.pending = null;
      this.damaged(e);
      this.render();
      this.settle();
    });
  }

  private runSearch(dir: 1 | -1): void {
    const s = this.search;
    if (!s) return;
    const from = this.cursor;
    this.background(`searching ${describe(s.query)}`, this.r.count, (progress) => searchAsync(this.r, s.query, from, dir, progress), (n) => {
      if (n === null) { this.say(`no event matches ${describe(s.query)}`, true); return; }
      this.jump(n);
      const wrapped = dir === 1 ? n <= from : n >= from;
      this.say(`${wrapped ? '(wrapped) ' : ''}match at ${this.where(n)}`);
    });
  }

  /** c / C: to the next breakpoint forward or backward (no wrap). */
  private continueTo(dir: 1 | -1): void {
    if (this.breakpoints.enabled.length === 0) { this.say('no breakpoint is on: b adds one, B turns them on and off', true); return; }
    const from = this.cursor;
    const land = (stop: Stop): void => {
      if (!stop) { this.say(`no breakpoint ${dir === 1 ? 'after' : 'before'} event #${from}; stayed`, true); return; }
      this.jump(stop.n);
      this.say(`breakpoint ${stop.bp.id} (${stop.bp.text}) at ${this.where(stop.n)}`);
    };
    let total = dir === 1 ? this.r.count - from : from;
    const job = this.breakpoints.next(this.r, from, dir, (done, all) => { total = all; if (this.pending) { this.pending.total = all; this.pending.done = done; this.render(); } });
    if ('now' in job) { land(job.now); return; }
    this.background(`continuing ${dir === 1 ? 'forward' : 'backward'} to a breakpoint`, total, () => job, land);
  }

  private lastWriter(): void {
    const cell = this.statePane.selected;
    if (!cell) { this.say('select a cell (not a header) to find its last writer', true); return; }
    let n = this.r.lastWriter(cell, this.cursor);
    if (n === this.cursor) n = this.cursor > 0 ? this.r.lastWriter(cell, this.cursor - 1) : null;
    if (n === null) { this.say(`no event at or before #${this.cursor} wrote ${cell.section} ${cell.key}`, true); return; }
    this.jump(n);
    this.statePane.select(cell);
    this.say(`event #${n} (${stepLabel(this.r.event(n).step)}) wrote ${cell.section} ${cell.key} (w again: the writer before)`);
  }

  // ------------------------------------------------------------ keys

  private say(text: string, error = false): void { this.message = { text, error }; }

  /** A damaged chunk reached: put it in the status line and go on; any other error is a bug and propagates. */
  private damaged(e: unknown): string {
    if (!(e instanceof TraceError)) throw e;
    this.say(`damaged trace: ${e.message}; other events may still be read`, true);
    return e.message;
  }

  private onKey(ch: string | undefined, key: Key): void {
    if (this.closed || key.full === 'enter' || !key.full) return;
    if (this.player.playing) { this.player.stop(); this.say(`stopped at event #${this.cursor}`); this.render(); return; }
    if (this.pending) {
      if (key.full === 'escape' || key.full === 'C-c') { this.say(`${this.pending.what}: stopped`); this.pending.job.cancel(); this.pending = null; this.render(); this.settle(); }
      return;
    }
    if (this.inv.key(ch, key)) { this.render(); return; }
    if (this.prompt.active) { try { this.prompt.key(ch, key); } catch (e) { this.damaged(e); } this.render(); return; }
    this.message = null;
    try {
      if (this.waitLetter) this.letter(ch, key.full);
      else if (this.overlay.open) this.overlayKey(key.full);
      else this.dispatch(ch, key);
    } catch (e) { this.damaged(e); }
    if (!this.closed) this.render();
  }

  private dispatch(ch: string | undefined, key: Key): void {
    if (ch && /^[0-9]$/.test(ch) && !key.ctrl && !key.meta) { this.countPrefix = (this.countPrefix + ch).slice(0, 10); return; }
    const action = actionFor(key.full, this.focus);
    if (!action) {
      if (this.countPrefix) this.countPrefix = '';
      else this.say(whyNot(key.full, this.focus), true);
      return;
    }
    const count = this.countPrefix === '' ? null : Number(this.countPrefix);
    this.countPrefix = '';
    this.act(action, count);
  }

  /** The letter after m or '. */
  private letter(ch: string | undefined, full: string): void {
    const what = this.waitLetter;
    this.waitLetter = null;
    if (full === 'escape') return;
    if (!Marks.valid(ch)) { this.say(`a mark is a letter a-z or A-Z, not ${full}`, true); return; }
    if (what === 'mark') { this.marks.set(ch, this.cursor); this.say(`mark ${ch} at event #${this.cursor} ('${ch} comes back)`); return; }
    const n = this.marks.get(ch);
    if (n === null) { this.say(`no mark ${ch}${this.marks.text() ? ` (marks: ${this.marks.text()})` : ''}`, true); return; }
    this.jump(n);
    this.say(`mark ${ch}: ${this.where(n)}`);
  }

  private overlayKey(full: string): void {
    const kind = this.overlayKind;
    // In the detail of an event, [ and ] step and the detail follows.
    if (kind === 'detail' && !this.history && (full === '[' || full === ']')) { this.step(full === ']' ? 1 : -1, 1); return; }
    const closers = kind === 'help' ? ['?'] : kind === 'detail' ? ['i', 'return', 'linefeed'] : ['S-b'];
    this.overlay.key(full, Math.max(1, inner(this.panes.help).h - 1), closers);
    if (!this.overlay.open) this.closeOverlay();
  }

  private showOverlay(kind: OverlayKind, spec: Parameters<Overlay['show']>[0]): void {
    this.closeOverlay();
    this.overlayKind = kind;
    this.overlay.show(spec);
  }

  private closeOverlay(): void {
    this.overlay.close();
    this.overlayKind = null;
    this.history?.cancel();
    this.history = null;
    this.settle();
  }

  /** Enter / i: the detail of the selected cell (state pane) or of the event under the cursor. */
  private detail(): void {
    const r = this.r;
    if (r.count === 0) { this.say('the trace holds no events', true); return; }
    const cell = this.focus === 'state' ? this.statePane.selected : null;
    if (cell) {
      const at = this.cursor;
      const state = r.stateAt(at);
      const h = new WriterHistory(r, cell, at, () => { if (!this.closed) { this.render(); if (!h.running) this.settle(); } });
      this.showOverlay('detail', { title: `cell ${cell.section} ${cell.key}`, lines: (w) => cellDetail(cell, at, state, h, w) });
      this.history = h;
      return;
    }
    this.showOverlay('detail', {
      title: 'event detail ([ ] step, Esc closes)',
      lines: (w) => {
        try {
          const v = this.stepView();
          const ev = r.event(this.cursor);
          return eventDetail(ev, r.header.scenario, w, v ? { about: v.about, state: v.state } : null, stepCall(this.r, ev));
        } catch (e) {
          return [paint(`cannot read event #${this.cursor}: ${this.damaged(e)}`, 'red-fg', 'bold')];
        }
      },
    });
  }

  /** Perform one action (a count of null means none was typed). */
  act(action: Action, count: number | null): void {
    const k = Math.max(1, count ?? 1);
    const page = Math.max(1, inner(this.focus === 'state' ? this.panes.state : this.focus === 'diff' ? this.panes.diff : this.panes.events).h - 1);
    const f = this.focus;
    switch (action) {
      case 'down': case 'up': {
        const dir = action === 'down' ? 1 : -1;
        if (f === 'state') this.statePane.move(dir * k);
        else if (f === 'diff') this.diffTop = Math.max(0, this.diffTop + dir * k);
        else this.step(dir, k);
        return;
      }
      case 'pageDown': case 'pageUp': {
        const dir = action === 'pageDown' ? 1 : -1;
        if (f === 'state') this.statePane.move(dir * page * k);
        else if (f === 'diff') this.diffTop = Math.max(0, this.diffTop + dir * page * k);
        else this.step(dir, page * k);
        return;
      }
      case 'top': case 'bottom': {
        if (count !== null) { this.jump(count); return; }
        const first = action === 'top';
        if (f === 'state') { if (first) this.statePane.home(); else this.statePane.end(); }
        else if (f === 'diff') this.diffTop = first ? 0 : Number.MAX_SAFE_INTEGER;
        else { const n = this.list.end(first ? 1 : -1); if (n !== null) this.goTo(n); }
        return;
      }
      case 'stepForward': this.step(1, k); return;
      case 'stepBack': this.step(-1, k); return;
      case 'left': case 'right': {
        let n = this.cursor;
        for (let i = 0; i < k; i++) n = this.timeline.neighbour(n, action === 'right' ? 1 : -1);
        this.goTo(n);
        return;
      }
      case 'firstFault': {
        const n = this.r.faults[0];
        if (n === undefined) { this.say('this trace has no fault', true); return; }
        this.jump(n);
        this.say(`first fault, ${this.where(n)}`);
        return;
      }
      case 'next': case 'prev': {
        const dir = action === 'next' ? 1 : -1;
        if (this.search) this.runSearch(dir); else this.nextMark(dir);
        return;
      }
      case 'nextViolation': case 'prevViolation':
        this.nextMark(action === 'nextViolation' ? 1 : -1, [this.r.violations], 'violation');
        return;
      case 'goto':
        this.prompt.open({ label: GOTO_LABEL, history: this.prompts.goto, complete: () => GOTO_WORDS, submit: (t) => this.gotoText(t) });
        return;
      case 'search':
        this.prompt.open({
          label: 'search /', history: this.prompts.search, complete: (w) => searchWords(this.r.header.scenario, w), submit: (t) => {
            if (!t.trim()) { this.search = null; this.say('search cleared'); return; }
            this.search = { text: t.trim(), query: parseQuery(t) };
            this.runSearch(1);
          },
        });
        return;
      case 'filter': {
        const now = this.list.kinds?.join(' ');
        this.prompt.open({
          label: 'show kinds or families (empty: all): ', history: this.prompts.filter, complete: () => kindWords(),
          hint: now ? `now: ${now} (Up recalls it)` : 'now: all kinds', submit: (t) => this.setFilter(t),
        });
        return;
      }
      case 'breakpoint':
        this.prompt.open({
          label: 'break on (any fault, any violation, or a search: kind rid: pasid: IOCTL text): ', history: this.prompts.breakpoint,
          complete: (w) => searchWords(this.r.header.scenario, w, true), submit: (t) => {
            const bp = this.breakpoints.add(t);
            if (typeof bp === 'string') this.say(bp, true);
            else this.say(`breakpoint ${bp.id}: ${bp.text} (c continues to it, C back, B lists them)`);
          },
        });
        return;
      case 'breakpoints':
        this.showOverlay('breakpoints', {
          title: 'breakpoints', lines: () => this.breakpoints.lines(), focusRow: () => this.breakpoints.sel + 2,
          key: (full) => {
            if (full !== 'b') return this.breakpoints.key(full);
            this.closeOverlay();
            this.act('breakpoint', null);
            return true;
          },
        });
        return;
      case 'continue': case 'reverseContinue': this.continueTo(action === 'continue' ? 1 : -1); return;
      case 'jumpBack': case 'jumpForward': {
        const n = action === 'jumpBack' ? this.jumps.older(this.cursor) : this.jumps.newer(this.cursor);
        if (n === null) { this.say(action === 'jumpBack' ? 'no earlier jump to go back to' : 'nothing to go forward to (C-o goes back first)', true); return; }
        this.goTo(n);
        this.say(`${action === 'jumpBack' ? 'back' : 'forward'} to event #${n} (${this.jumps.sizes.back} back, ${this.jumps.sizes.forward} forward)`);
        return;
      }
      case 'setMark': this.waitLetter = 'mark'; return;
      case 'gotoMark': this.waitLetter = 'gotoMark'; return;
      case 'focusNext': case 'focusPrev': {
        const i = PANES.indexOf(f);
        this.focus = PANES[(i + (action === 'focusNext' ? 1 : PANES.length - 1)) % PANES.length] as Pane;
        return;
      }
      case 'enter':
        if (f === 'state' && this.statePane.selectedRow?.type !== 'cell') this.statePane.toggle();
        else this.detail();
        return;
      case 'detail': this.detail(); return;
      case 'lastWriter': this.lastWriter(); return;
      case 'provenance': this.inv.provenance(); return;
      case 'watchForward': this.inv.watchForward(); return;
      case 'whatIfDrop': this.inv.whatIfDrop(); return;
      case 'whatIfEdit': this.inv.whatIfEdit(); return;
      case 'play': case 'playBack': this.play(action === 'play' ? 1 : -1, count); return;
      case 'help': this.showOverlay('help', { title: 'help', lines: (w) => helpLines(w) }); return;
      case 'escape':
        if (this.search) { this.search = null; this.say('search cleared; n/N visit faults and violations'); }
        else if (this.list.kinds) { this.list.setFilter(null); this.say('kind filter cleared'); }
        return;
      case 'quit': this.quit(); return;
    }
  }

  /** p / r: play forward or backward, stopping at a breakpoint (tui/breakpoints.ts between). */
  private play(dir: 1 | -1, count: number | null): void {
    const speed = count ?? (this.player.speed || DEFAULT_SPEED);
    if (dir === 1 ? this.cursor >= this.r.count - 1 : this.cursor <= 0) { this.say(dir === 1 ? 'at the last event; nothing to play' : 'at event #0; nothing to play back', true); return; }
    this.playDir = dir;
    let hit: Stop = null;
    this.player.start(speed, (k) => {
      const before = this.cursor;
      try {
        const to = this.list.move(before, dir, k);
        hit = this.breakpoints.enabled.length ? this.breakpoints.between(this.r, before, to) : null;
        this.goTo(hit ? hit.n : to);
      } catch (e) { this.damaged(e); this.render(); return false; }
      this.render();
      return !hit && this.cursor !== before && (dir === 1 ? this.cursor < this.r.count - 1 : this.cursor > 0);
    }, () => {
      if (hit) this.say(`breakpoint ${hit.bp.id} (${hit.bp.text}) at ${this.where(hit.n)}`);
      else this.say(`played ${dir === 1 ? 'forward' : 'backward'} to event #${this.cursor}`);
      this.render();
    });
  }

  private gotoText(t: string): void {
    const g = gotoTarget(this.r, t, this.cursor);
    if ('error' in g) { this.say(g.error, true); return; }
    if ('scan' in g) {
      this.background(`looking for ${g.what}`, this.r.count, (progress) => scanAsync(this.r, g.scan, -1, 1, this.r.count, progress), (n) => {
        if (n === null) { this.say(`no event of ${g.what} in this trace`, true); return; }
        this.jump(n);
        this.say(this.where(n));
      });
      return;
    }
    const n = g.n;
    if (n < 0 || n >= this.r.count) this.say(`event #${n} is outside #0..#${this.r.count - 1}; went to the nearest`, true);
    else if (g.note) this.say(g.note);
    this.jump(n);
  }

  private setFilter(t: string): void {
    const words = t.split(/[\s,]+/).filter(Boolean);
    if (words.length === 0) { this.list.setFilter(null); this.say('kind filter cleared'); return; }
    const kinds: EventKind[] = [];
    for (const w of words) {
      const ks = kindsOf(w);
      if (!ks) { this.say(`"${w}" is neither an event kind nor a family`, true); return; }
      kinds.push(...ks);
    }
    this.list.setFilter(kinds);
    this.say(`showing ${describe({ kinds: this.list.kinds ?? [] })}`);
    const probe = this.r.count ? this.r.event(this.cursor) : null;
    if (probe && !this.list.visible(probe)) {
      const n = this.list.move(this.cursor, 1);
      const m = n === this.cursor ? this.list.move(this.cursor, -1) : n;
      if (m !== this.cursor) this.goTo(m); else this.say('no event of those kinds near the cursor', true);
    }
  }

  // ------------------------------------------------------------ mouse

  private wireMouse(): void {
    const { events, state, diff } = this.panes;
    const tl = this.timeline.widget;
    for (const b of [events, state, diff, tl]) b.enableMouse();
    const rowOf = (b: Widgets.BoxElement, data: Widgets.Events.IMouseEventArg): number => data.y - (b.atop as number) - 1;
    const wheel = (dir: 1 | -1): void => {
      if (this.player.playing) return;
      try { this.step(dir, 3); } catch (e) { this.damaged(e); }
      this.render();
    };
    events.on('wheeldown', () => wheel(1));
    events.on('wheelup', () => wheel(-1));
    events.on('click', (data: Widgets.Events.IMouseEventArg) => {
      this.focus = 'events';
      const n = this.list.rowAt(rowOf(events, data));
      if (n !== null) this.goTo(n);
      this.render();
    });
    state.on('wheeldown', () => { this.statePane.move(3); this.focus = 'state'; this.render(); });
    state.on('wheelup', () => { this.statePane.move(-3); this.focus = 'state'; this.render(); });
    state.on('click', (data: Widgets.Events.IMouseEventArg) => {
      this.focus = 'state';
      const y = rowOf(state, data) - this.noteRows;
      const row = y >= 0 ? this.statePane.clickRow(y) : null;
      if (row && row.type !== 'cell') this.statePane.toggle();
      this.render();
    });
    diff.on('wheeldown', () => { this.diffTop += 3; this.render(); });
    diff.on('wheelup', () => { this.diffTop = Math.max(0, this.diffTop - 3); this.render(); });
    diff.on('click', () => { this.focus = 'diff'; this.render(); });
    tl.on('click', (data: Widgets.Events.IMouseEventArg) => {
      this.focus = 'timeline';
      this.jump(this.timeline.stepAt(data.x - (tl.aleft as number) - 1));
      this.render();
    });
  }

  // ------------------------------------------------------------ life cycle

  /** Resolves once no background search is running. */
  idle(): Promise<void> {
    const mine = this.inv.idle();
    if (!this.busy) return mine;
    return Promise.all([mine, new Promise<void>((res) => this.idleWaiters.push(res))]).then(() => undefined);
  }

  /** A search, continue or scan, or a detail's writer history, still running. */
  private get busy(): boolean { return this.pending !== null || (this.history?.running ?? false); }

  private settle(): void {
    if (this.busy) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  quit(): void {
    if (this.closed) return;
    this.closed = true;
    this.claims.stop();
    this.inv.close();
    this.player.stop();
    this.pending?.job.cancel();
    this.pending = null;
    this.history?.cancel();
    this.history = null;
    this.settle();
    this.screen.destroy();
    this.resolveDone();
  }
}


export function openDebugger(r: Replayer, opts: DebuggerOptions): Debugger {
  return new Debugger(r, opts);
}
