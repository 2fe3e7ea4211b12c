// Threads of a scenario and the schedule that interleaves them (issue 13).
//
// A scenario's `steps` run first, as set-up; then its `threads` (name ->
// steps) run interleaved. A step is atomic unless its op has yield points
// (OpSpec.phased: the places where the kernel drops a lock, sleeps or defers
// work, each named by its kernel function); a scheduling point is the start
// of a thread's next step and each yield point. Every scheduling decision is
// a `sched` event (the thread chosen, the runnable set, where it resumes), so
// a trace carries its own schedule and `verify` re-runs it.
//
// A thread is runnable when it has a step left and
//  * the step's `$ref`s are bound (a step that names a result another
//    thread has not produced yet waits for it);
//  * it is not an invalidation while another thread's DMA has walked the
//    tables and not yet filled its IOTLB / ATC line: the invalidation's
//    completion waits for translations in flight (VT-d invalidation wait
//    descriptor; PCIe ATS: an invalidation completes only after the requests
//    that used the old translation), so the fill lands before it, never after.
//
// Everything a suspended thread holds is plain data (its position, the
// resolved fields of its step, the continuation), so explore/ snapshots a
// run by copying it beside a clone of the state.
import type { Ctx } from './ctx.js';
import { reportUnmet } from './expect.js';
import type { InvariantChecker } from './invariants.js';
import { ScenarioRunError } from './limits.js';
import { normalizeFields, type Cont, type Fields, type Phase } from './op.js';
import { OPS } from './ops/index.js';
import { own } from './own.js';
import { stepApplies, STEP_CONTROL, threadNames, type Scenario, type Step, type Variant } from './scenario.js';
import { compareKeys } from './state.js';
import type { ArgValue } from './types.js';

// The phases of the ops with yield points attach themselves to OPS / IOCTLS.
import { DMA_WALKED } from './yields.js';
export { DMA_WALKED };

/** Ops whose completion waits for translations in flight (see the header). */
const INVALIDATING_OPS: ReadonlySet<string> = new Set(['inval-iotlb', 'inval-atc', 'inval-pasid-cache', 'sva-unbind', 'run-deferred']);
const INVALIDATING_IOCTLS: ReadonlySet<string> = new Set(['IOMMU_HWPT_INVALIDATE']);

/** Thread names: what `--schedule a,b,a` can spell. */
export const THREAD_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
/** At most this many threads (a bound on the schedule space a scenario can ask for). */
export const MAX_THREADS = 16;

export interface ThreadStep { step: Step; index: number; refs: string[] }

/** One thread's progress: plain data. */
export interface ThreadPos {
  /** Index of its next (or current, when `cont` is set) step. */
  pos: number;
  /** The suspended step's continuation, or null at a step boundary. */
  cont: Cont | null;
  /** The suspended step's fields ($refs resolved when it started). */
  fields: Fields | null;
}

/** What a run lends the scheduler: the live context, the bound names, the invariant checker. */
export interface RunCore {
  ctx: Ctx;
  refs: Map<string, number | null>;
  checker: InvariantChecker;
  variant: Variant;
  name: string;
  resolve: (step: Step, index: number) => Fields;
}

/** The cells of footprint bookkeeping a segment reports besides the state's (explore/). */
export interface SegmentInfo {
  /** `$name`s the segment read (a step's refs, at its start). */
  refsRead: string[];
  /** `$name` it bound (at its end), or null. */
  refBound: string | null;
  /** The step finished in this segment. */
  finished: boolean;
}

function refsOf(step: Step): string[] {
  const out = new Set<string>();
  const walk = (v: ArgValue | undefined): void => {
    if (typeof v === 'string') { if (v.startsWith('$')) out.add(v.slice(1)); return; }
    if (Array.isArray(v)) { for (const x of v) walk(x); return; }
    if (v !== null && typeof v === 'object') for (const key of Object.keys(v)) walk(v[key]);
  };
  for (const key of Object.keys(step)) if (!STEP_CONTROL.has(key)) walk(step[key]);
  return [...out].sort();
}

// The thread order lives with the scenario's data (engine/scenario.ts), so the TUI can name a step's thread.
export { threadNames };

/** Global step index of each thread step: after the set-up steps, thread by thread in name order. */
export function threadSteps(scenario: Scenario): Map<string, ThreadStep[]> {
  const out = new Map<string, ThreadStep[]>();
  let index = scenario.steps.length;
  for (const name of threadNames(scenario)) {
    const list = (scenario.threads?.[name] ?? []).map((step) => ({ step, index: index++, refs: refsOf(step) }));
    out.set(name, list);
  }
  return out;
}

function isInvalidation(step: Step): boolean {
  return INVALIDATING_OPS.has(step.op) || (step.op === 'ioctl' && typeof step.cmd === 'string' && INVALIDATING_IOCTLS.has(step.cmd));
}

export class ScheduleError extends Error {
  constructor(message: string) { super(message); this.name = 'ScheduleError'; }
}

/**
 * The threads of one run and where each stands. `next()` makes one
 * scheduling decision (the given schedule's, then round-robin) and runs one
 * segment; explore/ calls `runnable()` and `segment()` itself.
 */
export class Threads {
  readonly names: string[];
  readonly steps: ThreadStep[][];
  pos: ThreadPos[];
  /** The thread that ran the last segment (null before the first). */
  last: string | null = null;
  /** Scheduling decisions made so far. */
  decisions = 0;
  private ended = false;

  constructor(scenario: Scenario, private readonly core: RunCore | null, private readonly schedule: readonly string[] = []) {
    const by = threadSteps(scenario);
    this.names = [...by.keys()];
    this.steps = this.names.map((n) => by.get(n) ?? []);
    this.pos = this.names.map(() => ({ pos: 0, cont: null, fields: null }));
    const known = new Set(this.names);
    schedule.forEach((t, i) => { if (!known.has(t)) throw new ScheduleError(`--schedule position ${i + 1}: no thread ${JSON.stringify(t)} (threads: ${this.names.join(', ')})`); });
  }

  /** Copy of every thread's position (plain data). */
  snapshot(): ThreadPos[] { return this.pos.map((p) => ({ ...p })); }
  restore(pos: readonly ThreadPos[], last: string | null): void { this.pos = pos.map((p) => ({ ...p })); this.last = last; }

  /** Skip the steps of thread i that do not run under this variant. */
  private skip(i: number, variant: Variant): void {
    const p = this.pos[i] as ThreadPos;
    const list = this.steps[i] as ThreadStep[];
    if (p.cont !== null) return;
    while (p.pos < list.length && !stepApplies((list[p.pos] as ThreadStep).step, variant)) p.pos++;
  }

  /** Threads that have steps left (after skipping those of other variants). */
  unfinished(variant: Variant): string[] {
    return this.names.filter((_, i) => { this.skip(i, variant); return (this.pos[i] as ThreadPos).pos < (this.steps[i] as ThreadStep[]).length; });
  }

  /** Thread i's next step, or null when it is done. */
  current(i: number): ThreadStep | null { return this.steps[i]?.[this.pos[i]?.pos ?? 0] ?? null; }

  /** Why thread i cannot run now, or null when it can. */
  private waits(i: number, refs: ReadonlyMap<string, unknown>): string | null {
    const p = this.pos[i] as ThreadPos;
    const ts = this.current(i);
    if (!ts) return 'done';
    if (p.cont !== null) {
      const lock = p.cont.waitFor;
      if (lock !== undefined && this.pos.some((q, k) => k !== i && q.cont?.locks?.includes(lock))) return `waits for ${lock}`;
      return null;
    }
    for (const r of ts.refs) if (!refs.has(r)) return `waits for $${r}`;
    if (isInvalidation(ts.step)) {
      const j = this.pos.findIndex((q, k) => k !== i && q.cont?.at === DMA_WALKED);
      if (j >= 0) return `invalidation waits for ${this.names[j]}'s translation in flight`;
    }
    return null;
  }

  /** The threads that can run now, in name order. */
  runnable(variant: Variant, refs: ReadonlyMap<string, unknown>): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.names.length; i++) { this.skip(i, variant); if (this.waits(i, refs) === null) out.push(this.names[i] as string); }
    return out;
  }

  /** Who waits for what, when nothing can run. */
  blockedText(variant: Variant, refs: ReadonlyMap<string, unknown>): string {
    const parts: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      this.skip(i, variant);
      const w = this.waits(i, refs);
      if (w !== null && w !== 'done') parts.push(`${this.names[i]} ${w}`);
    }
    return parts.join('; ');
  }

  /** Round-robin: the first runnable thread after the last one, in name order. */
  private roundRobin(runnable: readonly string[]): string {
    if (this.last === null) return runnable[0] as string;
    const after = runnable.find((t) => compareKeys(t, this.last as string) > 0);
    return after ?? (runnable[0] as string);
  }

  /** One scheduling decision and its segment; false when every thread is done or none can run. */
  next(): boolean {
    const core = this.core;
    if (!core || this.ended) return false;
    const runnable = this.runnable(core.variant, core.refs);
    if (runnable.length === 0) {
      this.ended = true;
      const waiting = this.blockedText(core.variant, core.refs);
      if (waiting === '') return false;
      // Nothing can run and steps remain: one sched event says who waits for what, and the run ends.
      const ctx = core.ctx;
      ctx.beginStep(ctx.step);
      ctx.thread = null;
      ctx.emit({ kind: 'sched', thread: null, runnable: [], at: `blocked: ${waiting}` });
      return true;
    }
    const d = this.decisions;
    let chosen: string;
    if (d < this.schedule.length) {
      chosen = this.schedule[d] as string;
      if (!runnable.includes(chosen)) throw new ScheduleError(`--schedule position ${d + 1}: thread ${chosen} cannot run there (runnable: ${runnable.join(', ')}; ${this.blockedText(core.variant, core.refs) || 'it has no steps left'})`);
    } else chosen = this.roundRobin(runnable);
    this.segment(core, chosen, runnable);
    return true;
  }

  /**
   * Run one segment of `thread` (which must be runnable): a `sched` event,
   * then its step from the start or from its continuation up to the next
   * yield point or the step's end, then the invariant checks.
   */
  segment(core: RunCore, thread: string, runnable: readonly string[]): SegmentInfo {
    const i = this.names.indexOf(thread);
    this.skip(i, core.variant);
    const p = this.pos[i] as ThreadPos;
    const ts = this.current(i);
    if (!ts) throw new ScheduleError(`thread ${thread} has no steps left`);
    const { ctx, refs } = core;
    const { step, index } = ts;
    this.decisions++;
    this.last = thread;
    ctx.beginStep(index);
    ctx.thread = thread;
    const held = new Set<string>();
    this.pos.forEach((q, k) => { if (k !== i) for (const l of q.cont?.locks ?? []) held.add(l); });
    ctx.locks = held;
    ctx.emit({ kind: 'sched', thread, runnable: [...runnable], at: p.cont === null ? 'step' : p.cont.at });
    const spec = own(OPS, step.op);
    if (!spec) throw new ScenarioRunError(index, `unknown op ${JSON.stringify(step.op)} (the scenario was not validated)`, null, core.name);
    const info: SegmentInfo = { refsRead: p.cont === null ? ts.refs : [], refBound: null, finished: false };
    try {
      let r: Phase;
      if (p.cont === null) {
        const f = normalizeFields(spec.fields, core.resolve(step, index));
        if (spec.phased) {
          r = spec.phased.start(ctx, f);
          if ('yield' in r) { p.fields = f; p.cont = r.yield; }
        } else r = { done: spec.run(ctx, f) };
      } else {
        if (!spec.phased || p.fields === null) throw new ScenarioRunError(index, 'a suspended step of an op without yield points', step.op, core.name);
        r = spec.phased.resume(ctx, p.fields, p.cont);
        if ('yield' in r) p.cont = r.yield;
      }
      if ('done' in r) {
        const outcome = r.done;
        p.cont = null; p.fields = null; p.pos++;
        info.finished = true;
        if (step.as) { refs.set(step.as, outcome.value ?? null); info.refBound = step.as; }
        reportUnmet(ctx, step.expect, core.variant, outcome);
      }
      core.checker.check(ctx);
    } catch (e) {
      if (e instanceof ScenarioRunError && e.op === null) throw new ScenarioRunError(e.step, e.detail, step.op, core.name);
      throw e;
    }
    return info;
  }
}

/** The schedule a trace's events followed: the thread of each `sched` event that chose one. */
export function scheduleOf(events: Iterable<{ kind: string; thread?: string | null }>): string[] {
  const out: string[] = [];
  for (const ev of events) if (ev.kind === 'sched' && typeof ev.thread === 'string') out.push(ev.thread);
  return out;
}
