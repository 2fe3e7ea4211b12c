// The trace's claims (footer counts and lists, checkpoints) are caches of its
// events: the debugger checks them in the background (replayer/check.ts) and
// says so in the status line until it has — "index unchecked", then nothing,
// or "INDEX FALSE" when the file claims something its events do not say (the
// replayer then shows the events' own lists and drops false checkpoints).
import { adoptCheck, checkSteps, type CheckResult } from '../replayer/check.js';
import type { Replayer } from '../replayer/api.js';
import { TraceReplayer } from '../replayer/replayer.js';
import type { Traced } from '../replayer/traced.js';

/** Chunks checked before the first frame: small traces are fully checked when the screen first shows. */
const FIRST_SLICE = 32;
/** Chunks per idle slice afterwards. */
const SLICE = 8;

export class ClaimCheck {
  private it: Generator<number, CheckResult> | null;
  private result: CheckResult | null = null;
  private timer: NodeJS.Immediate | null = null;

  constructor(private readonly r: Replayer, private readonly onDone: (res: CheckResult) => void) {
    this.it = r instanceof TraceReplayer ? checkSteps(r, true) : null;
    if (this.it) this.pump(FIRST_SLICE, false);
  }

  /** What the status line says about the claims ('' once they are checked and true). */
  label(): string {
    if (!this.it && !this.result) return '';
    if (!this.result) return 'index unchecked';
    if (!this.result.claimsOk || this.result.checkpointsOk === false) return 'INDEX FALSE: counts from the events';
    return this.result.checkpointsOk === null ? 'checkpoints unchecked past damage' : '';
  }

  /** An imported trace's sections its events write (the state pane's unknown ones follow), once the pass is done; else null. */
  get traced(): Traced | null { return this.result?.traced ?? null; }

  /** Problems found, for the message line. */
  get problems(): readonly string[] { return this.result?.problems ?? []; }

  stop(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    this.it = null;
  }

  private pump(slice: number, notify: boolean): void {
    const it = this.it;
    if (!it) return;
    for (let i = 0; i < slice; i++) {
      const step = it.next();
      if (step.done) {
        this.result = step.value;
        this.it = null;
        adoptCheck(this.r as TraceReplayer, step.value);
        if (notify) this.onDone(step.value);
        return;
      }
    }
    this.timer = setImmediate(() => { this.timer = null; this.pump(SLICE, true); });
  }
}
