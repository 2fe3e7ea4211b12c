// The keys that ask a service below the TUI why or what if: `P` the
// provenance chain (provenance/chain.ts, drawn by chain-view.ts), `W` the
// next write of a cell (provenance/watch.ts), `x` / `e` re-record the
// scenario without the event's step or with one of its fields edited
// (whatif/fork.ts) and open the result beside the original in the diff view.
// The Debugger hands keys here first; what this holds runs in the background
// and reports through the host.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Widgets } from 'blessed';
import { summarize } from '../engine/summary.js';
import type { TraceEvent } from '../engine/types.js';
import { TraceError } from '../trace/format.js';
import type { CellRef, Replayer } from '../replayer/api.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { diffTraces } from '../replayer/trace-diff.js';
import { nextWriteAsync, type WatchJob } from '../provenance/watch.js';
import { FalseHeaderError, parseEdit, recordWhatIf, type WhatIfChange } from '../whatif/fork.js';
import { stepText } from '../provenance/chain.js';
import { falseStepText, stepCall, stepClaim } from '../replayer/step-claim.js';
import { stepAt } from '../engine/scenario.js';
import { ChainView } from './chain-view.js';
import { DiffView } from './diff-app.js';
import type { Screen } from './term.js';

type Key = Widgets.Events.IKeyEventArg;

/** What the Debugger lends: where the cursor is, moving it, the message row, the prompt, a redraw. */
export interface Host {
  readonly r: Replayer;
  readonly screen: Screen;
  cursor(): number;
  /** The state pane's selected cell when that pane has focus, else null. */
  cell(): CellRef | null;
  jump(n: number, cell?: CellRef): void;
  say(text: string, error?: boolean): void;
  /** `warn`: the label states a false claim (drawn in red). */
  prompt(label: string, submit: (text: string) => void, warn?: boolean): void;
  render(): void;
  /** Rows above the timeline (the chain view covers them). */
  mainRows(): number;
}

export class Investigate {
  private readonly chain: ChainView;
  private watch: { job: WatchJob; cell: CellRef; done: number } | null = null;
  private whatIf: { abort: AbortController; events: number; what: string } | null = null;
  private diff: { view: DiffView; b: TraceReplayer } | null = null;
  private readonly temps: string[] = [];
  private waiters: (() => void)[] = [];

  constructor(private readonly host: Host) {
    this.chain = new ChainView(host.r, host.screen, () => host.render());
  }

  /** Something of this covers the Debugger's own panes (the diff view): the Debugger draws nothing. */
  get covering(): boolean { return this.diff !== null; }

  /** The status line while a background job runs, or null. */
  progress(): string | null {
    if (this.watch) return `W: looking for the next write of ${this.watch.cell.section} ${this.watch.cell.key}… ${this.watch.done} events (Esc stops)`;
    if (this.whatIf) return `what if ${this.whatIf.what}: recording… ${this.whatIf.events} events (Esc stops)`;
    return null;
  }

  /** Offer a key; true when this consumed it (the caller then redraws, unless covering). */
  key(ch: string | undefined, key: Key): boolean {
    if (this.diff) return true; // the diff view has its own keypress handler on the same screen
    if (this.watch || this.whatIf) {
      if (key.full === 'escape' || key.full === 'C-c') {
        if (this.watch) { this.watch.job.cancel(); this.watch = null; this.host.say('W stopped'); }
        if (this.whatIf) { this.whatIf.abort.abort(); this.host.say('what-if stopped'); }
        this.settle();
      }
      return true;
    }
    if (!this.chain.active) return false;
    const res = this.chain.key(ch, key);
    if (res && 'close' in res) this.chain.close();
    else if (res && 'jump' in res) {
      this.chain.close();
      this.host.jump(res.jump.seq as number, res.jump.cell);
      this.host.say(ChainView.jumped(res.jump));
    }
    return true;
  }

  draw(width: number): void { this.chain.draw(0, width, this.host.mainRows()); }

  // ------------------------------------------------------------ P

  provenance(): void {
    const cell = this.host.cell();
    this.chain.open(this.host.cursor(), cell);
  }

  // ------------------------------------------------------------ W

  watchForward(): void {
    const cell = this.host.cell();
    if (!cell) { this.host.say('W works on a state cell: Tab to the state pane and select one (not a header)', true); return; }
    const from = this.host.cursor();
    const ix = this.chain.prov.writers;
    if (ix?.complete) { this.watched(ix.nextWriter(cell, from), cell, from); return; }
    const watch: { job: WatchJob | null; cell: CellRef; done: number } = { job: null, cell, done: 0 };
    // The first slice runs inside this call: progress before the job is known goes to the same record.
    const job = nextWriteAsync(this.host.r, cell, from, (done) => { watch.done = done; if (this.watch === watch) this.host.render(); });
    watch.job = job;
    this.watch = watch as { job: WatchJob; cell: CellRef; done: number };
    void job.promise.then((n) => {
      if (this.watch?.job !== job) return;
      this.watch = null;
      this.watched(n, cell, from);
      this.host.render();
      this.settle();
    }, (e: unknown) => { this.watch = null; this.host.say(`W: ${e instanceof Error ? e.message : String(e)}`, true); this.host.render(); this.settle(); });
  }

  private watched(n: number | null, cell: CellRef, from: number): void {
    if (n === null) this.host.say(`no event after #${from} writes ${cell.section} ${cell.key}`, true);
    else { this.host.jump(n, cell); this.host.say(`#${n} writes ${cell.section} ${cell.key} next (W again: the write after; w: the one before)`); }
  }

  // ------------------------------------------------------------ x / e

  /** The event at the cursor, or null having said why there is none to fork from (an empty trace, a damaged chunk). */
  private forkEvent(key: string): TraceEvent | null {
    const r = this.host.r;
    if (r.count === 0) { this.host.say(`${key}: the trace holds no events`, true); return null; }
    try { return r.event(this.host.cursor()); } catch (e) {
      if (!(e instanceof TraceError)) throw e;
      this.host.say(`${key}: cannot read event #${this.host.cursor()}: ${e.message}`, true);
      return null;
    }
  }

  whatIfDrop(): void {
    const ev = this.forkEvent('x');
    if (!ev) return;
    if (ev.step < 0) { this.host.say('the platform set-up is not a scenario step: x drops the step of a later event', true); return; }
    this.runWhatIf({ drop: ev.step }, `without scenario step ${ev.step}`);
  }

  whatIfEdit(): void {
    const r = this.host.r;
    const ev = this.forkEvent('e');
    if (!ev) return;
    if (ev.step < 0) { this.host.say('the platform set-up is not a scenario step: e edits the step of a later event', true); return; }
    // The step as its events' call names it (the prompt row hides the message line while it is open);
    // a header step that names another call is said, in red.
    const call = stepCall(r, ev);
    const step = stepText(r.header.scenario, ev.step, call);
    const claim = stepClaim(stepAt(r.header.scenario, ev.step)?.step, call);
    const named = claim.call === null ? '' : ` (${claim.call}${claim.contradicted ? `; FALSE CLAIM: ${falseStepText(claim)}` : ''})`;
    this.host.say(step.text, step.falseClaim);
    this.host.prompt(`what if scenario step ${ev.step}${named} had (field=value): `, (text) => {
      let edit;
      try { edit = parseEdit(text); } catch (e) { this.host.say(e instanceof Error ? e.message : String(e), true); return; }
      this.runWhatIf({ edit: ev.step, ...edit }, `scenario step ${ev.step} had ${edit.field}=${JSON.stringify(edit.value)}`);
    }, claim.contradicted);
  }

  private runWhatIf(change: WhatIfChange, what: string): void {
    const abort = new AbortController();
    const job = { abort, events: 0, what };
    this.whatIf = job;
    const r = this.host.r;
    recordWhatIf(r, change, { signal: abort.signal, onProgress: (n) => { job.events = n; this.host.render(); } }).then((res) => {
      this.whatIf = null;
      this.temps.push(dirname(res.path));
      if (res.rerun) this.temps.push(res.rerun.dir);
      let a: TraceReplayer | null = null;
      let b: TraceReplayer;
      let d: ReturnType<typeof diffTraces>;
      try {
        // The original is not what its scenario makes: the what-if is compared with the re-run, not blamed for the original's difference.
        a = res.rerun ? TraceReplayer.open(res.rerun.path) : null;
        b = TraceReplayer.open(res.path);
        try { d = diffTraces(a ?? r, b); } catch (e) { b.close(); throw e; }
      } catch (e) {
        a?.close();
        // The original's damaged chunks cannot be compared: said, as any damage is.
        if (!(e instanceof TraceError)) throw e;
        this.host.say(`what if ${what}: cannot compare with this trace: ${e.message}`, true);
        this.host.render();
        this.settle();
        return;
      }
      const view = new DiffView(a ?? r, b, d, { screen: this.host.screen });
      this.diff = { view, b };
      const against = res.rerun ? `THIS TRACE'S EVENTS ARE NOT WHAT ITS SCENARIO RE-RUNS TO (first at #${res.rerun.step}): A is the re-run; ` : '';
      view.say(`what if ${what}: ${against}${d.firstDivergence ? `first divergence A #${d.firstDivergence.a}, B #${d.firstDivergence.b}${d.firstDivergence.eventB ? ` (${summarize(d.firstDivergence.eventB)})` : ''}` : 'the same events'}${res.note ? `; ${res.note}` : ''} — q returns`);
      view.render();
      void view.done.then(() => {
        this.diff = null;
        a?.close();
        b.close();
        this.host.say(`back from the what-if (${what}); its trace: ${res.path}`);
        this.host.render();
      });
      this.settle();
    }, (e: unknown) => {
      this.whatIf = null;
      this.host.say(`what if ${what}: ${e instanceof FalseHeaderError ? 'FALSE CLAIM: ' : ''}${e instanceof Error ? e.message : String(e)}`, true);
      this.host.render();
      this.settle();
    });
  }

  // ------------------------------------------------------------ life cycle

  idle(): Promise<void> {
    const chain = this.chain.idle();
    if (!this.watch && !this.whatIf) return chain;
    return Promise.all([chain, new Promise<void>((res) => this.waiters.push(res))]).then(() => undefined);
  }

  private settle(): void {
    if (this.watch || this.whatIf) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Stop what runs, close a what-if's diff view and remove the what-if traces (private temporary folders). */
  close(): void {
    this.chain.close();
    this.watch?.job.cancel();
    this.whatIf?.abort.abort();
    this.watch = null;
    this.whatIf = null;
    if (this.diff) { this.diff.view.quit(); this.diff = null; }
    for (const t of this.temps) rmSync(t, { recursive: true, force: true });
    this.temps.length = 0;
    this.settle();
  }
}
