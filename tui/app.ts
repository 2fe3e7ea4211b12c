// The debugger: one screen, one key dispatcher, one frame function. The panes
// (event list, state, diff, timeline, status, help) draw from the Replayer
// and the engine's presentation helpers only.
import type { Widgets } from 'blessed';
import { summarize } from '../engine/summary.js';
import type { EventKind, State, TraceEvent } from '../engine/types.js';
import type { CellRef, Replayer, SearchQuery } from '../replayer/api.js';
import { matches } from '../replayer/search.js';
import { TraceError } from '../trace/format.js';
import { diffStep, renderDiff, type StepDiff } from './diff.js';
import { EventList } from './event-list.js';
import { fit, paint } from './format.js';
import { helpLines } from './help.js';
import { actionFor, hints, PANES, type Action, type Pane } from './keymap.js';
import { createPanes, focusStyle, inner, place, type Panes } from './layout.js';
import { DEFAULT_SPEED, Player } from './play.js';
import { Prompt } from './prompt.js';
import { describe, kindsOf, parseQuery, searchAsync, type AsyncSearch } from './search.js';
import { ClaimCheck } from './claims.js';
import { StatePane } from './state-pane.js';
import { statusRows } from './status.js';
import { createScreen, type Screen, type TermStreams } from './term.js';
import { Timeline } from './timeline.js';

export interface DebuggerOptions extends TermStreams {
  /** Step to open at (default 0). */
  at?: number;
}

interface StepView { n: number; state: State; touched: CellRef[]; diff: StepDiff }

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
  private helpTop = 0;
  private helpOpen = false;
  private countPrefix = '';
  private message: { text: string; error: boolean } | null = null;
  private search: { text: string; query: SearchQuery } | null = null;
  private pending: { job: AsyncSearch; done: number } | null = null;
  private idleWaiters: (() => void)[] = [];
  private resolveDone!: () => void;
  private closed = false;
  private readonly claims: ClaimCheck;

  constructor(readonly r: Replayer, opts: DebuggerOptions) {
    this.done = new Promise((res) => { this.resolveDone = res; });
    this.screen = createScreen(opts, `iotrace replay ${r.path}`);
    this.panes = createPanes(this.screen);
    this.timeline = new Timeline(r, { parent: this.screen });
    this.list = new EventList(r);
    this.cursor = Math.max(0, Math.min(r.count - 1, opts.at ?? 0));
    this.screen.program.hideCursor();
    this.screen.on('keypress', (ch: string | undefined, key: Key) => this.onKey(ch, key));
    this.screen.on('resize', () => this.render());
    this.wireMouse();
    if (r.truncated) this.say(`trace damaged: ${r.truncated.reason}`, true);
    this.claims = new ClaimCheck(r, (res) => {
      if (!res.claimsOk || res.checkpointsOk === false) this.say(`the trace claims what its events do not say: ${res.problems.filter((x) => !x.startsWith('damaged:'))[0] ?? ''}`, true);
      this.view = null;
      this.render();
    });
    const found = this.claims.problems.filter((x) => !x.startsWith('damaged:'));
    if (found.length > 0) this.say(`the trace claims what its events do not say: ${found[0]}`, true);
    this.render();
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
    this.view = { n, state, touched, diff: diffStep(before, state, touched) };
    return this.view;
  }

  /** Draw one frame (synchronously). */
  render(): void {
    if (this.closed) return;
    const p = this.panes;
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
      rows = this.list.render(this.cursor, el.w, el.h, q ? (e) => matches(e, q) : undefined);
    } catch (e) {
      rows = [paint(fit(`step ${this.cursor}: cannot read the events here: ${this.damaged(e)}`, el.w), 'red-fg', 'bold')];
    }
    p.events.setContent(rows.join('\n'));

    const sl = inner(p.state);
    if (unreadable !== null) {
      p.state.setLabel(` state after step ${this.cursor} `);
      p.state.setContent(paint(fit(`cannot read step ${this.cursor}: ${unreadable}`, sl.w), 'red-fg', 'bold'));
    } else if (v) {
      p.state.setLabel(` state after step ${v.n} `);
      const about = this.focus !== 'state' ? (ev as { rid?: unknown; pasid?: unknown } | null) : undefined;
      p.state.setContent(this.statePane.render(v.state, v.touched, sl.w, sl.h, about).join('\n'));
    } else p.state.setContent('');

    const dl = inner(p.diff);
    if (unreadable !== null) p.diff.setContent('');
    else if (v && ev) {
      p.diff.setLabel(` diff: state ${v.n - 1} → ${v.n} `);
      const lines = renderDiff(v.diff, `step ${v.n} ${ev.kind}`, dl.w);
      this.diffTop = Math.max(0, Math.min(this.diffTop, lines.length - dl.h));
      p.diff.setContent(lines.slice(this.diffTop, this.diffTop + dl.h).join('\n'));
    } else p.diff.setContent('');

    this.timeline.update(this.cursor);

    const [top, bottom] = statusRows({
      trace: r.path, scenario: r.header.scenario.name, variant: variantText(r.header.variant), cursor: this.cursor, count: r.count,
      tick: ev?.tick ?? null, firstFault: r.faults[0] ?? null, faults: r.faults.length, violations: r.violations.length, claims: this.claims.label(),
      filter: this.list.kinds ? describe({ kinds: this.list.kinds }) : null, search: this.search ? this.search.text : null,
      countPrefix: this.countPrefix, playing: this.player.playing ? this.player.speed : null, pane: this.focus,
    }, this.screen.width as number, {
      prompt: this.prompt.active ? `${this.prompt.label}${this.prompt.text}█` : this.pending ? `searching ${describe(this.pending ? this.search?.query ?? {} : {})}… ${Math.floor((100 * this.pending.done) / Math.max(1, r.count))}% (Esc stops)` : undefined,
      message: this.message?.text, error: this.message?.error, hints: hints(this.focus),
    });
    p.status.setContent(`${top}\n${bottom}`);

    if (this.helpOpen) {
      const hl = inner(p.help);
      const lines = helpLines(hl.w);
      this.helpTop = Math.max(0, Math.min(this.helpTop, lines.length - hl.h));
      p.help.setContent(lines.slice(this.helpTop, this.helpTop + hl.h).join('\n'));
      p.help.show();
      p.help.setFront();
    } else p.help.hide();

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

  private step(dir: 1 | -1, k: number): void { this.goTo(this.list.move(this.cursor, dir, k)); }

  private nextMark(dir: 1 | -1): void {
    const pick = (list: readonly number[]): number | null => {
      if (dir === 1) { const i = upper(list, this.cursor); return list[i] ?? null; }
      const i = upper(list, this.cursor - 1) - 1;
      return i >= 0 ? (list[i] as number) : null;
    };
    const cands = [pick(this.r.faults), pick(this.r.violations)].filter((x): x is number => x !== null);
    if (cands.length === 0) { this.say(`no fault or violation ${dir === 1 ? 'after' : 'before'} step ${this.cursor}`, true); return; }
    const n = dir === 1 ? Math.min(...cands) : Math.max(...cands);
    this.goTo(n);
    this.say(`step ${n}: ${summarize(this.r.event(n))}`);
  }

  private runSearch(dir: 1 | -1): void {
    const s = this.search;
    if (!s) return;
    this.pending?.job.cancel();
    const job = searchAsync(this.r, s.query, this.cursor, dir, (done) => { if (this.pending?.job === job) { this.pending.done = done; this.render(); } });
    this.pending = { job, done: 0 };
    const from = this.cursor;
    void job.promise.then((n) => {
      if (this.pending?.job !== job) return;
      this.pending = null;
      try {
        if (n === null) this.say(`no event matches ${describe(s.query)}`, true);
        else {
          this.goTo(n);
          const wrapped = dir === 1 ? n <= from : n >= from;
          this.say(`${wrapped ? '(wrapped) ' : ''}match at step ${n}: ${summarize(this.r.event(n))}`);
        }
      } catch (e) { this.damaged(e); }
      this.render();
      this.settle();
    }, (e: unknown) => {
      // The search reached a damaged chunk: say so, stop searching, keep running.
      if (this.pending?.job !== job) return;
      this.pending = null;
      this.damaged(e);
      this.render();
      this.settle();
    });
  }

  private lastWriter(): void {
    const cell = this.statePane.selected;
    if (!cell) { this.say('select a cell (not a header) to find its last writer', true); return; }
    let n = this.r.lastWriter(cell, this.cursor);
    if (n === this.cursor) n = this.cursor > 0 ? this.r.lastWriter(cell, this.cursor - 1) : null;
    if (n === null) { this.say(`no event at or before step ${this.cursor} wrote ${cell.section} ${cell.key}`, true); return; }
    this.goTo(n);
    this.statePane.select(cell);
    this.say(`step ${n} wrote ${cell.section} ${cell.key} (w again: the writer before)`);
  }

  // ------------------------------------------------------------ keys

  private say(text: string, error = false): void { this.message = { text, error }; }

  /** A damaged chunk reached: put it in the status line and go on; any other error is a bug and propagates. */
  private damaged(e: unknown): string {
    if (!(e instanceof TraceError)) throw e;
    this.say(`damaged trace: ${e.message}; other steps may still be read`, true);
    return e.message;
  }

  private onKey(ch: string | undefined, key: Key): void {
    if (this.closed || key.full === 'enter') return;
    if (this.player.playing) { this.player.stop(); this.say(`stopped at step ${this.cursor}`); this.render(); return; }
    if (this.pending) {
      if (key.full === 'escape' || key.full === 'C-c') { this.pending.job.cancel(); this.pending = null; this.say('search stopped'); this.render(); this.settle(); }
      return;
    }
    if (this.prompt.active) { try { this.prompt.key(ch, key); } catch (e) { this.damaged(e); } this.render(); return; }
    if (this.helpOpen) {
      if (['escape', '?', 'q', 'C-c'].includes(key.full)) this.helpOpen = false;
      else if (key.full === 'j' || key.full === 'down') this.helpTop++;
      else if (key.full === 'k' || key.full === 'up') this.helpTop = Math.max(0, this.helpTop - 1);
      this.render();
      return;
    }
    if (ch && /^[0-9]$/.test(ch) && !key.ctrl && !key.meta) { this.countPrefix = (this.countPrefix + ch).slice(0, 10); this.render(); return; }
    const action = actionFor(key.full, this.focus);
    if (!action) { if (this.countPrefix) { this.countPrefix = ''; this.render(); } return; }
    const count = this.countPrefix === '' ? null : Number(this.countPrefix);
    this.countPrefix = '';
    this.message = null;
    try { this.act(action, count); } catch (e) { this.damaged(e); }
    if (!this.closed) this.render();
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
        if (count !== null) { this.goTo(count); return; }
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
        this.goTo(n);
        this.say(`first fault, step ${n}: ${summarize(this.r.event(n))}`);
        return;
      }
      case 'next': case 'prev': {
        const dir = action === 'next' ? 1 : -1;
        if (this.search) this.runSearch(dir); else this.nextMark(dir);
        return;
      }
      case 'goto':
        this.prompt.open({ label: 'go to step (N, +N, -N, first-fault, last): ', submit: (t) => this.gotoText(t) });
        return;
      case 'search':
        this.prompt.open({
          label: 'search /', initial: '', submit: (t) => {
            if (!t.trim()) { this.search = null; this.say('search cleared'); return; }
            this.search = { text: t.trim(), query: parseQuery(t) };
            this.runSearch(1);
          },
        });
        return;
      case 'filter':
        this.prompt.open({ label: 'show kinds or families (empty: all): ', initial: this.list.kinds?.join(' ') ?? '', submit: (t) => this.setFilter(t) });
        return;
      case 'focusNext': case 'focusPrev': {
        const i = PANES.indexOf(f);
        this.focus = PANES[(i + (action === 'focusNext' ? 1 : PANES.length - 1)) % PANES.length] as Pane;
        return;
      }
      case 'enter':
        if (f === 'state') this.statePane.toggle();
        else if (f === 'events') this.focus = 'state';
        return;
      case 'lastWriter': this.lastWriter(); return;
      case 'play': {
        const speed = count ?? (this.player.speed || DEFAULT_SPEED);
        if (this.cursor >= this.r.count - 1) { this.say('at the last step; nothing to play', true); return; }
        this.player.start(speed, (n) => {
          const before = this.cursor;
          try { this.step(1, n); } catch (e) { this.damaged(e); this.render(); return false; }
          this.render();
          return this.cursor !== before && this.cursor < this.r.count - 1;
        }, () => { this.say(`played to step ${this.cursor}`); this.render(); });
        return;
      }
      case 'help': this.helpOpen = true; this.helpTop = 0; return;
      case 'escape':
        if (this.search) { this.search = null; this.say('search cleared; n/N visit faults and violations'); }
        else if (this.list.kinds) { this.list.setFilter(null); this.say('kind filter cleared'); }
        return;
      case 'quit': this.quit(); return;
    }
  }

  private gotoText(t: string): void {
    const s = t.trim();
    let n: number | null = null;
    if (/^\d+$/.test(s)) n = Number(s);
    else if (/^[+-]\d+$/.test(s)) n = this.cursor + Number(s);
    else if (s === 'first-fault' || s === 'f') n = this.r.faults[0] ?? null;
    else if (s === 'last' || s === '$') n = this.r.count - 1;
    if (n === null) { this.say(`cannot go to "${s}"`, true); return; }
    if (n < 0 || n >= this.r.count) this.say(`step ${n} is outside 0..${this.r.count - 1}; went to the nearest`, true);
    this.goTo(n);
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
      const row = this.statePane.clickRow(rowOf(state, data));
      if (row && row.type !== 'cell') this.statePane.toggle();
      this.render();
    });
    diff.on('wheeldown', () => { this.diffTop += 3; this.render(); });
    diff.on('wheelup', () => { this.diffTop = Math.max(0, this.diffTop - 3); this.render(); });
    diff.on('click', () => { this.focus = 'diff'; this.render(); });
    tl.on('click', (data: Widgets.Events.IMouseEventArg) => {
      this.focus = 'timeline';
      this.goTo(this.timeline.stepAt(data.x - (tl.aleft as number) - 1));
      this.render();
    });
  }

  // ------------------------------------------------------------ life cycle

  /** Resolves once no background search is running. */
  idle(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  private settle(): void {
    if (this.pending) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  quit(): void {
    if (this.closed) return;
    this.closed = true;
    this.claims.stop();
    this.player.stop();
    this.pending?.job.cancel();
    this.pending = null;
    this.settle();
    this.screen.destroy();
    this.resolveDone();
  }
}

/** Index of the first element > x in an ascending list. */
function upper(list: readonly number[], x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if ((list[mid] as number) <= x) lo = mid + 1; else hi = mid; }
  return lo;
}

const variantText = (v: Record<string, string>): string => Object.keys(v).map((k) => `${k}=${v[k]}`).join(',') || 'default';

export function openDebugger(r: Replayer, opts: DebuggerOptions): Debugger {
  return new Debugger(r, opts);
}
