// What a recorded decision read, found by running the engine's own code for
// it again on a scratch copy of the state it ran on (provenance/overlay.ts)
// and keeping the result only when it emits exactly the recorded events: the
// reads are then the ones the recording made, not a guess.
//
// Two scopes, the widest that can be re-run:
//   step     the scenario step: its op from the trace header's scenario, with
//            "$ref"s resolved as they stood before it; what it read before each
//            event. In a threaded run, the segment (sched to sched) holding the
//            event, the earlier segments of its step re-run first so that the
//            continuation it resumes from is the one the recording had.
//   dma, enqcmd  one translation, when the step cannot be re-run (a generated
//            scenario keeps no steps in its header): the engine's dma() /
//            enqcmd() with the inputs the `dma` / `enqcmd` event records, from
//            the state before the first event it emitted.
import { enqcmd } from '../engine/cpu.js';
import { reportUnmet } from '../engine/expect.js';
import { dma } from '../engine/iommu.js';
import { InvariantChecker } from '../engine/invariants.js';
import { normalizeFields, type Cont, type Phase } from '../engine/op.js';
import { OPS } from '../engine/ops/index.js';
import { own } from '../engine/own.js';
import { resolveStep, RunSession } from '../engine/run.js';
import { stepAt } from '../engine/scenario.js';
import { headerClaims } from '../replayer/header-claims.js';
import { recordedSchedule } from '../replayer/schedule.js';
import type { TraceEvent } from '../engine/types.js';
import type { Replayer } from '../replayer/api.js';
import { sameEvent } from '../replayer/identity.js';
import { ReadingCtx, ReadingState, type Read, type Write } from './overlay.js';

export interface Decision {
  how: 'step' | 'dma' | 'enqcmd';
  /** The scenario step it belongs to (-1: the platform). */
  step: number;
  /** The recorded event of each event the re-execution emitted (null: an invariant the recording reported earlier and so left out). */
  seqs: (number | null)[];
  /** The state it ran on is the one after this event. */
  base: number;
  reads: Read[];
  writes: Write[];
  /** Set when the subject lies in a later segment of a threaded step: the reads are those of the segment that started it. */
  resumed?: string;
}

export type DecisionOf = Decision | { why: string };

/** How far from a `dma` event its translation's first event may lie (fills, a stale-cache violation, a PASID-cache fill). */
const GROUP = 8;
/** Steps of a scenario are re-run for their "$ref"s only when the whole trace is at most this long. */
const REFS_RUN_MAX = 500_000;

const hasRefs = (v: unknown): boolean =>
  typeof v === 'string' ? v.startsWith('$') : v !== null && typeof v === 'object' ? Object.values(v).some(hasRefs) : false;

export class Decisions {
  private readonly cache = new Map<number, DecisionOf>();
  private refsAt: Map<number, Map<string, number | null>> | null = null;

  constructor(private readonly r: Replayer) {}

  /** The decision that emitted event `seq`. */
  of(seq: number): DecisionOf {
    const hit = this.cache.get(seq);
    if (hit) return hit;
    const d = this.find(seq);
    if ('seqs' in d) { for (const s of d.seqs) if (s !== null) this.cache.set(s, d); }
    this.cache.set(seq, d);
    return d;
  }

  private find(seq: number): DecisionOf {
    const r = this.r;
    const ev = r.event(seq);
    if (ev.kind === 'platform') return { why: 'the platform set-up reads nothing' };
    const byStep = this.stepDecision(ev);
    if ('seqs' in byStep) return byStep;
    return this.translation(seq) ?? byStep;
  }

  // ------------------------------------------------------------ the scenario step

  private stepDecision(ev: TraceEvent): DecisionOf {
    const r = this.r;
    const sc = r.header.scenario;
    // A variant the scenario has not (a forged header): a step re-run under it would explain what no variant made.
    const claim = headerClaims(r.header)[0];
    if (claim !== undefined) return { why: `${claim}: its steps cannot be re-run under it` };
    if (sc.generate) return { why: `the steps of ${sc.name} are generated (builder ${sc.generate.builder}), the trace keeps none to re-run` };
    const step = stepAt(sc, ev.step)?.step ?? null;
    if (!step) return { why: `scenario step ${ev.step} is not in the trace's scenario` };
    const spec = own(OPS, step.op);
    if (!spec) return { why: `scenario step ${ev.step}: unknown op ${step.op}` };
    // The recorded events of the step; a threaded run: its segments up to the subject's, each from its sched event.
    let segs: { first: number; last: number; at: string }[];
    if (ev.thread !== undefined) {
      const found = this.segmentsTo(ev);
      if (typeof found === 'string') return { why: found };
      segs = found;
    } else {
      let first = ev.seq;
      let last = ev.seq;
      while (first > 0 && this.sameStep(r.event(first - 1), ev)) first--;
      while (last + 1 < r.count && this.sameStep(r.event(last + 1), ev)) last++;
      segs = [{ first, last, at: 'step' }];
    }
    let refs = new Map<string, number | null>();
    if (hasRefs(step)) {
      const known = this.refsBefore(ev.step);
      if (!known) return { why: `scenario step ${ev.step} uses "$ref"s and the trace is too long (over ${REFS_RUN_MAX} events) to re-run for them` };
      refs = new Map(known);
    }
    // Each segment re-run on the state its sched event left (the other threads' events in between are recorded
    // facts, folded in by the replayer): the start from the op's first phase, each later one resumed from the
    // continuation the re-run itself reached, so a step suspended at a yield point is re-run as it ran.
    let cont: Cont | null = null;
    let f;
    try { f = normalizeFields(spec.fields, resolveStep(step, refs, ev.step)); } catch (e) { return { why: `scenario step ${ev.step}: ${e instanceof Error ? e.message : String(e)}` }; }
    for (const [k, seg] of segs.entries()) {
      const rs = new ReadingState(r.stateAt(seg.first - 1));
      const ctx = new ReadingCtx(rs, r.header.variant, ev);
      let checkFrom = 0;
      let done = false;
      try {
        let p: Phase;
        if (k > 0 && spec.phased && cont) p = spec.phased.resume(ctx, f, cont);
        else if (ev.thread !== undefined && spec.phased) p = spec.phased.start(ctx, f);
        else p = { done: spec.run(ctx, f) };
        if ('done' in p) { done = true; reportUnmet(ctx, step.expect, r.header.variant, p.done); } else cont = p.yield;
        checkFrom = ctx.out.length;
        new InvariantChecker().check(ctx);
      } catch (e) {
        return { why: `re-running scenario step ${ev.step} failed: ${e instanceof Error ? e.message : String(e)}` };
      }
      const seqs = match(ctx.out, r.events(seg.first, seg.last + 1), seg.first, checkFrom);
      if (!seqs) return { why: `re-running scenario step ${ev.step}${k > 0 ? ` from ${seg.at}` : ''} does not give the recorded events (engine ${r.header.engine})` };
      if (k === segs.length - 1) return { how: 'step', step: ev.step, seqs, base: seg.first - 1, reads: rs.reads, writes: rs.writes, ...(k > 0 ? { resumed: seg.at } : {}) };
      if (done) return { why: `scenario step ${ev.step} finished before the segment that holds #${ev.seq}` };
    }
    return { why: 'no segment' };
  }

  /** The segments of a threaded step, from the one that started it to the one holding `ev`: a reason when not found. */
  private segmentsTo(ev: TraceEvent): { first: number; last: number; at: string }[] | string {
    const r = this.r;
    const target = this.segmentOf(ev.seq);
    if (!target) return 'no sched event starts this segment';
    const start = target.at === 'step' ? target : this.segmentStart(ev.thread as string, ev.step, target.sched);
    if (!start) return `the segment resumed at ${target.at}; the one that started step ${ev.step} is not found`;
    const out = [{ first: start.sched + 1, last: start.end, at: start.at }];
    for (let s = start.end + 1; s <= target.sched; s++) {
      const e = r.event(s);
      if (e.kind !== 'sched' || e.thread !== ev.thread) continue;
      const seg = this.segmentOf(s);
      if (!seg || seg.at === 'step') return `thread ${ev.thread} started another step before #${ev.seq}`;
      out.push({ first: seg.sched + 1, last: seg.end, at: seg.at });
      s = seg.end;
    }
    return out;
  }

  private sameStep(a: TraceEvent, b: TraceEvent): boolean { return a.step === b.step && a.thread === b.thread && a.kind !== 'platform'; }

  /** The segment of a threaded run holding event n: its sched event, the yield point it resumed at, its last event. */
  private segmentOf(n: number): { sched: number; at: string; end: number } | null {
    const r = this.r;
    let s = n;
    while (s >= 0 && r.event(s).kind !== 'sched') s--;
    if (s < 0) return null;
    const sched = r.event(s);
    let end = s;
    while (end + 1 < r.count && r.event(end + 1).kind !== 'sched') end++;
    return { sched: s, at: sched.kind === 'sched' ? sched.at : 'step', end };
  }

  /** The segment before `before` in which `thread` started step `step`. */
  private segmentStart(thread: string, step: number, before: number): { sched: number; at: string; end: number } | null {
    for (let s = before - 1; s >= 0; s--) {
      const e = this.r.event(s);
      if (e.kind !== 'sched' || e.thread !== thread || e.step !== step) continue;
      const seg = this.segmentOf(s);
      if (seg?.at === 'step') return seg;
    }
    return null;
  }

  /**
   * The "$ref"s as they stood before each step, from one run of the scenario
   * under the trace's variant, seed and schedule (refs are outcomes of earlier
   * steps; the trace keeps the events, not the bindings). Once per trace.
   */
  private refsBefore(index: number): Map<string, number | null> | null {
    const r = this.r;
    if (r.count > REFS_RUN_MAX) return null;
    if (!this.refsAt) {
      const at = new Map<number, Map<string, number | null>>();
      const sc = r.header.scenario;
      const schedule = sc.threads ? recordedSchedule(r) : [];
      const session = new RunSession(sc, { variant: r.header.variant, seed: r.header.seed, schedule }, {
        onEvent: (e) => { if (!at.has(e.step)) at.set(e.step, new Map(session.core.refs)); },
      });
      while (session.next()) { /* refs are caught at each step's first event */ }
      this.refsAt = at;
    }
    return this.refsAt.get(index) ?? null;
  }

  // ------------------------------------------------------------ one translation

  /** The translation (a DMA, or ENQCMD's PASID translation) event `seq` belongs to, re-run alone; null if it is none. */
  translation(seq: number): Decision | null {
    const r = this.r;
    const ev = r.event(seq);
    if (ev.kind === 'enqcmd') return this.tryAt(ev.seq, ev, 'enqcmd', (ctx) => { enqcmd(ctx, ev.vm ?? '', ev.vcpu, ev.rid, ev.wq); });
    // The dma event of the translation the subject belongs to: itself, or the nearest within GROUP in its step.
    for (let dist = 0; dist <= GROUP; dist++) {
      for (const d of dist === 0 ? [ev.seq] : [ev.seq + dist, ev.seq - dist]) {
        if (d < 0 || d >= r.count) continue;
        const de = r.event(d);
        if (de.kind !== 'dma' || de.step !== ev.step || de.thread !== ev.thread) continue;
        for (let c = d; c >= Math.max(1, d - GROUP); c--) {
          const got = this.tryAt(c, de, 'dma', (ctx) => { dma(ctx, de.rid, de.pasid, de.addr, de.write); });
          if (got && got.seqs.includes(d) && got.seqs.includes(ev.seq)) return got;
        }
      }
    }
    return null;
  }

  /** Run `decide` on the state before event `c`; the decision when it emits exactly the events recorded from `c` on. */
  private tryAt(c: number, stamp: TraceEvent, how: 'dma' | 'enqcmd', decide: (ctx: ReadingCtx) => void): Decision | null {
    const r = this.r;
    const rs = new ReadingState(r.stateAt(c - 1));
    const ctx = new ReadingCtx(rs, r.header.variant, stamp);
    try { decide(ctx); } catch { return null; }
    const recorded = r.events(c, c + ctx.out.length);
    const seqs = match(ctx.out, recorded, c, ctx.out.length);
    if (!seqs || seqs.length !== recorded.length) return null;
    return { how, step: stamp.step, seqs, base: c - 1, reads: rs.reads, writes: rs.writes };
  }
}

/**
 * Pair the re-executed events with the recorded ones, in order. From
 * `checkFrom` on (the invariant checks) a violation the recording does not
 * have is one that was already standing (reported once, when it started to
 * hold): it pairs with null. Anything else unpaired: not the same decision.
 */
function match(out: readonly TraceEvent[], recorded: readonly TraceEvent[], first: number, checkFrom: number): (number | null)[] | null {
  const seqs: (number | null)[] = [];
  let j = 0;
  for (let i = 0; i < out.length; i++) {
    const e = out[i] as TraceEvent;
    const rec = recorded[j];
    if (rec && sameEvent(e, rec) && e.thread === rec.thread) { seqs.push(first + j); j++; continue; }
    if (i >= checkFrom && e.kind === 'violation') { seqs.push(null); continue; }
    return null;
  }
  return j === recorded.length ? seqs : null;
}
