// iotrace explore: a stateful search over the schedules of a threaded
// scenario (issue 13 §2). The engine runs one segment at a time (a thread's
// step from its start or its last yield point to the next, engine/threads.ts);
// the explorer chooses which thread runs next.
//
//  * A node is a snapshot of the run: the state (cloneState: cells shared),
//    the bound `$ref`s, the invariant checker's standing violations, each
//    thread's position and continuation (plain data), the last thread.
//  * Its fingerprint is a 128-bit sum over the state's cells (section, key,
//    canonical value), kept incrementally from the cells each segment writes,
//    plus the threads, refs and standing violations: two schedules that reach
//    the same state are explored once.
//  * A segment's footprint is the cells it wrote (apply's touch) and the
//    cells it read (each state section is wrapped in a Proxy while it runs: a
//    key read, or the whole section when it is listed). Two segments
//    commute when neither writes what the other reads or writes; sleep sets
//    (Godefroid) skip the reorderings of commuting segments.
//  * A preemption is a switch away from a thread that could go on; schedules
//    with more than `preemptions` of them are not explored (CHESS: bugs found
//    with at most 2).
//  * bfs (default) finds a shortest failing schedule; dfs the same space in
//    depth-first order; random runs uniform random schedules; pct runs
//    PCT's randomized priority schedules (Burckhardt et al., ASPLOS 2010), whose
//    probability of finding a bug of depth d in one run is at least
//    1 / (n k^(d-1)) for n threads and k steps.
//
// No wall clock reaches a decision: elapsed time is measured for the stats
// line only, by the caller's clock.
import { Ctx } from '../engine/ctx.js';
import { InvariantChecker } from '../engine/invariants.js';
import { Prng } from '../engine/prng.js';
import { resolveStep, RunSession } from '../engine/run.js';
import { resolveVariant, type Scenario, type Variant } from '../engine/scenario.js';
import { canonical, cloneState, SECTION_NAMES } from '../engine/state.js';
import { DMA_WALKED, Threads, type RunCore, type ThreadPos } from '../engine/threads.js';
import { hex } from '../engine/summary.js';
import type { SectionName, State, TraceEvent } from '../engine/types.js';

export type Strategy = 'bfs' | 'dfs' | 'random' | 'pct';
export type FailKind = 'fault' | 'violation' | 'expect' | 'blocked';
export const FAIL_KINDS: readonly FailKind[] = ['fault', 'violation', 'expect', 'blocked'];

export interface ExploreOptions {
  variant?: Variant;
  strategy?: Strategy;
  /** Preemption bound (default 2); random and pct ignore it. */
  preemptions?: number;
  /** Stop after this many states (transitions executed; default 100 000). */
  maxStates?: number;
  /** random / pct: how many runs (default: until maxStates). */
  runs?: number;
  seed?: number;
  failOn?: ReadonlySet<FailKind>;
  /** Partial-order reduction (default on). */
  por?: boolean;
  /** State dedupe by fingerprint (default on). */
  dedupe?: boolean;
  /** Stop at the first failure (default: explore on, reporting each distinct failure once). */
  stopAtFirst?: boolean;
  /** Schedules to re-run before the search (regression files). */
  regressions?: readonly string[][];
  /** A clock for the stats (ms); never consulted for a decision. */
  now?: () => number;
  /** Called every so many states (progress on a terminal). */
  onProgress?: (states: number, distinct: number) => void;
}

export interface Failure {
  kind: FailKind;
  /** A fault's reason (hex) and name, an unmet expectation's text, or who waits for what. */
  reason?: string;
  invariant?: string;
  /** The kind of object it happened on (device, set, vIOMMU slot, …). */
  object: string;
  /** One line: what happened. */
  detail: string;
  /** The schedule that reaches it: the thread of each decision up to the failing segment. */
  schedule: string[];
  preemptions: number;
  /** Found by re-running a regression schedule. */
  regression?: boolean;
  /** Identity of "the same way": kind, reason / invariant, object class. */
  signature: string;
}

export interface ExploreStats {
  strategy: Strategy;
  /** Segments executed. */
  states: number;
  /** Distinct fingerprints seen. */
  distinct: number;
  /** Complete schedules (every thread done, or nothing runnable). */
  schedules: number;
  /** Deepest schedule (decisions). */
  depth: number;
  /** Reorderings skipped by the sleep sets. */
  prunedPor: number;
  /** Choices skipped by the preemption bound. */
  prunedPreemption: number;
  /** Revisits of a state skipped by the fingerprint. */
  prunedDedupe: number;
  /** bfs/dfs: every schedule within the bound was covered. */
  exhausted: boolean;
  /** The state budget ran out first. */
  boundReached: boolean;
  /** The share of schedules explored (bfs, dfs) or runs (random, pct) that failed. */
  failingPct: number | null;
  /** pct: the guaranteed probability per run of finding a bug of depth d. */
  pct: { n: number; k: number; d: number; bound: number } | null;
  elapsedMs: number;
  statesPerSec: number;
  schedulesPerSec: number;
  preemptions: number;
}

export interface ExploreResult extends ExploreStats {
  failures: Failure[];
  variant: Variant;
  threads: string[];
}

/** What a node of the search holds: plain data and a cloned state. */
interface Node {
  state: State;
  lanes: Uint32Array;
  refs: [string, number | null][];
  standing: string[];
  pos: ThreadPos[];
  last: string | null;
  ptEntries: number;
  schedule: string[];
  preemptions: number;
  /** Sleep set: thread -> the footprint its next segment had where it was put to sleep. */
  sleep: Map<string, Footprint>;
}

interface Footprint { reads: Set<string>; writes: Set<string> }

/** A 2x32-bit FNV-1a pair over a string: the per-cell digest of the fingerprint sum. */
function digest(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return [a >>> 0, b >>> 0];
}

function cellDigest(section: string, key: string, value: unknown): Uint32Array {
  const text = `${section}\0${key}\0${JSON.stringify(canonical(value))}`;
  const [a, b] = digest(text);
  const [c, d] = digest(`${b}\u0001${text}\u0002${a}`);
  return Uint32Array.of(a, b, c, d);
}

function fullLanes(state: State): Uint32Array {
  const lanes = new Uint32Array(4);
  for (const name of SECTION_NAMES) {
    const sec = state.s[name] as Record<string, unknown>;
    for (const key of Object.keys(sec)) {
      const d = cellDigest(name, key, sec[key]);
      for (let i = 0; i < 4; i++) lanes[i] = ((lanes[i] as number) + (d[i] as number)) >>> 0;
    }
  }
  return lanes;
}

const WHOLE = '\0*';

function conflicts(a: Footprint, b: Footprint): boolean {
  const hit = (w: Set<string>, other: Footprint): boolean => {
    for (const c of w) {
      if (other.reads.has(c) || other.writes.has(c)) return true;
      const cut = c.indexOf('\0');
      if (cut > 0 && other.reads.has(c.slice(0, cut) + WHOLE)) return true;
    }
    return false;
  };
  return hit(a.writes, b) || hit(b.writes, a);
}

/** The kind of object an event is about, for "fails the same way". */
function failureOf(ev: TraceEvent, failOn: ReadonlySet<FailKind>): Omit<Failure, 'schedule' | 'preemptions'> | null {
  if (ev.kind === 'violation' && failOn.has('violation')) {
    const object = ev.rid !== null ? 'device' : ev.invariant === 'quota-overrun' ? 'ioasid set' : 'state';
    return { kind: 'violation', invariant: ev.invariant, object, detail: ev.detail, signature: `violation ${ev.invariant} on ${object}` };
  }
  if (ev.kind === 'fault' && failOn.has('fault')) {
    const reason = `${hex(ev.reason)} ${ev.name}`;
    return { kind: 'fault', reason, object: `${ev.source}`, detail: `${ev.source} fault ${reason} at ${ev.rid ?? '-'} PASID ${ev.pasid ?? '-'}`, signature: `fault ${ev.source} ${hex(ev.reason)}` };
  }
  if (ev.kind === 'expect' && failOn.has('expect')) {
    return { kind: 'expect', reason: `expected ${ev.expected}, got ${ev.actual}`, object: 'step', detail: `expected ${ev.expected}, got ${ev.actual}`, signature: `expect ${ev.expected} got ${ev.actual}` };
  }
  if (ev.kind === 'sched' && ev.thread === null && failOn.has('blocked')) {
    return { kind: 'blocked', reason: ev.at, object: 'schedule', detail: ev.at, signature: 'blocked' };
  }
  return null;
}

/**
 * The explorer over one scenario and variant. `expand` runs one segment of
 * one thread from a node and returns the child, its footprint and the
 * failures its events show.
 */
export class Explorer {
  readonly scenario: Scenario;
  readonly variant: Variant;
  readonly threads: Threads;
  private readonly root: Node;
  private readonly failOn: ReadonlySet<FailKind>;

  constructor(scenario: Scenario, variant: Variant = {}, failOn: ReadonlySet<FailKind> = new Set(['violation', 'expect', 'blocked'])) {
    this.scenario = scenario;
    this.variant = resolveVariant(scenario, variant);
    this.failOn = failOn;
    if (!scenario.threads) throw new Error(`scenario ${scenario.name} has no threads: nothing to explore`);
    const session = new RunSession(scenario, { variant: this.variant });
    session.runSetup();
    const core = session.core;
    this.threads = new Threads(scenario, null);
    const standing = [...((core.checker as unknown as { standing: Set<string> }).standing)];
    const state = cloneState(core.ctx.state);
    this.root = {
      state, lanes: fullLanes(state), refs: [...core.refs], standing, pos: this.threads.snapshot(), last: null,
      ptEntries: core.ctx.ptEntries, schedule: [], preemptions: 0, sleep: new Map(),
    };
  }

  get names(): string[] { return this.threads.names; }
  rootNode(): Node { return this.root; }

  /** The threads that can run at a node. */
  runnable(n: Node): string[] {
    this.threads.restore(n.pos, n.last);
    return this.threads.runnable(this.variant, new Map(n.refs));
  }

  fingerprint(n: Node): string {
    const l = n.lanes;
    return `${hex(l[0] as number)}${hex(l[1] as number)}${hex(l[2] as number)}${hex(l[3] as number)}|${JSON.stringify(n.pos.map((p) => [p.pos, p.cont]))}|${JSON.stringify(n.refs)}|${n.standing.join(',')}`;
  }

  /** Would running `t` at `n` be a preemption (a switch away from a thread that could go on)? */
  isPreemption(n: Node, t: string, runnable: readonly string[]): boolean {
    return n.last !== null && n.last !== t && runnable.includes(n.last);
  }

  expand(n: Node, t: string, runnable: readonly string[]): { child: Node; footprint: Footprint; failures: Omit<Failure, 'schedule' | 'preemptions'>[]; events: TraceEvent[] } {
    // Copy-on-write: the child shares every section of its parent until the segment writes one; each
    // section sits behind a Proxy that records what the segment reads and copies the section on its first write.
    const writes = new Set<string>();
    const reads = new Set<string>();
    let tracking = false;
    const state = { s: {} as Record<string, Record<string, unknown>>, seq: n.state.seq, tick: n.state.tick } as unknown as State;
    const raw = state.s as unknown as Record<string, Record<string, unknown>>;
    const final: Record<string, Record<string, unknown>> = {};
    for (const name of SECTION_NAMES) {
      const parent = n.state.s[name] as Record<string, unknown>;
      final[name] = parent;
      let cur = parent;
      let copied = false;
      const own = (): Record<string, unknown> => {
        if (!copied) { cur = Object.assign(Object.create(null) as Record<string, unknown>, parent); copied = true; final[name] = cur; }
        return cur;
      };
      raw[name] = new Proxy(Object.create(null) as Record<string, unknown>, {
        get: (_o, p) => { if (tracking && typeof p === 'string') reads.add(`${name}\0${p}`); return cur[p as string]; },
        set: (_o, p, v) => { own()[p as string] = v; return true; },
        deleteProperty: (_o, p) => { if (p in cur) delete own()[p as string]; return true; },
        has: (_o, p) => { if (tracking && typeof p === 'string') reads.add(`${name}\0${p}`); return p in cur; },
        ownKeys: () => { if (tracking) reads.add(name + WHOLE); return Reflect.ownKeys(cur); },
        getOwnPropertyDescriptor: (_o, p) => Reflect.getOwnPropertyDescriptor(cur, p),
      });
    }
    const ctx = new Ctx(state, this.variant, (section, key) => { writes.add(`${section}\0${key}`); });
    ctx.ptEntries = n.ptEntries;
    tracking = true;
    const refs = new Map(n.refs);
    const checker = new InvariantChecker();
    const standing = (checker as unknown as { standing: Set<string> }).standing;
    for (const id of n.standing) standing.add(id);
    const core: RunCore = { ctx, refs, checker, variant: this.variant, name: this.scenario.name, resolve: (step, index) => resolveStep(step, refs, index) };
    const th = this.threads;
    th.restore(n.pos, n.last);
    const i = th.names.indexOf(t);
    const before = n.pos[i];
    let info;
    try {
      info = th.segment(core, t, runnable);
    } finally {
      tracking = false;
      for (const name of SECTION_NAMES) raw[name] = final[name] as Record<string, unknown>;
    }
    const after = th.pos[i];
    // What the scheduler itself reads and writes: the refs a step waits for, a translation in flight, locks.
    for (const r of info.refsRead) reads.add(`$\0${r}`);
    if (info.refBound) writes.add(`$\0${info.refBound}`);
    const schedCell = (p: ThreadPos | undefined): boolean => !!p?.cont && (p.cont.at === DMA_WALKED || (p.cont.locks?.length ?? 0) > 0);
    if (schedCell(before) || schedCell(after)) writes.add('#\0inflight');
    reads.add('#\0inflight');
    // The fingerprint: the parent's sum, minus the written cells' old digests, plus their new ones.
    const lanes = Uint32Array.from(n.lanes);
    for (const cell of writes) {
      const cut = cell.indexOf('\0');
      const section = cell.slice(0, cut);
      if (section === '$' || section === '#') continue;
      const key = cell.slice(cut + 1);
      const oldV = (n.state.s[section as SectionName] as Record<string, unknown>)[key];
      const newV = (state.s[section as SectionName] as Record<string, unknown>)[key];
      if (oldV !== undefined) { const d = cellDigest(section, key, oldV); for (let j = 0; j < 4; j++) lanes[j] = ((lanes[j] as number) - (d[j] as number)) >>> 0; }
      if (newV !== undefined) { const d = cellDigest(section, key, newV); for (let j = 0; j < 4; j++) lanes[j] = ((lanes[j] as number) + (d[j] as number)) >>> 0; }
    }
    const events = [...ctx.out];
    const failures: Omit<Failure, 'schedule' | 'preemptions'>[] = [];
    for (const ev of events) { const f = failureOf(ev, this.failOn); if (f) failures.push(f); }
    const child: Node = {
      state, lanes, refs: [...refs], standing: [...standing].sort(), pos: th.snapshot(), last: t, ptEntries: ctx.ptEntries,
      schedule: [...n.schedule, t], preemptions: n.preemptions + (this.isPreemption(n, t, runnable) ? 1 : 0), sleep: new Map(),
    };
    // Nothing can run while steps remain: the blocked run is a failure of its own.
    const next = this.runnable(child);
    if (next.length === 0) {
      const waiting = this.threads.blockedText(this.variant, new Map(child.refs));
      if (waiting !== '' && this.failOn.has('blocked')) failures.push({ kind: 'blocked', reason: `blocked: ${waiting}`, object: 'schedule', detail: `nothing can run: ${waiting}`, signature: 'blocked' });
    }
    return { child, footprint: { reads, writes }, failures, events };
  }

  /** Run one schedule from the root (round-robin past its end is not done: it stops where the list does). */
  replay(schedule: readonly string[]): { failures: Omit<Failure, 'schedule' | 'preemptions'>[]; at: number; complete: boolean } {
    let n = this.root;
    for (let d = 0; d < schedule.length; d++) {
      const t = schedule[d] as string;
      const runnable = this.runnable(n);
      if (!runnable.includes(t)) return { failures: [], at: d, complete: false };
      const r = this.expand(n, t, runnable);
      if (r.failures.length) return { failures: r.failures, at: d, complete: true };
      n = r.child;
    }
    return { failures: [], at: schedule.length, complete: true };
  }
}

/** Explore a scenario's schedules. */
export function explore(scenario: Scenario, opts: ExploreOptions = {}): ExploreResult {
  const now = opts.now ?? (() => 0);
  const t0 = now();
  const strategy = opts.strategy ?? 'bfs';
  const bound = opts.preemptions ?? 2;
  const maxStates = opts.maxStates ?? 100_000;
  const por = opts.por ?? true;
  const dedupe = opts.dedupe ?? true;
  const failOn = opts.failOn ?? new Set<FailKind>(['violation', 'expect', 'blocked']);
  const ex = new Explorer(scenario, opts.variant ?? {}, failOn);
  const stats: ExploreStats = {
    strategy, states: 0, distinct: 0, schedules: 0, depth: 0, prunedPor: 0, prunedPreemption: 0, prunedDedupe: 0,
    exhausted: false, boundReached: false, failingPct: null, pct: null, elapsedMs: 0, statesPerSec: 0, schedulesPerSec: 0, preemptions: bound,
  };
  const failures: Failure[] = [];
  const seen = new Set<string>();
  const record = (fs: Omit<Failure, 'schedule' | 'preemptions'>[], schedule: string[], preemptions: number, regression = false): boolean => {
    let fresh = false;
    for (const f of fs) {
      if (seen.has(f.signature)) continue;
      seen.add(f.signature);
      failures.push({ ...f, schedule, preemptions, ...(regression ? { regression } : {}) });
      fresh = true;
    }
    return fresh;
  };
  // Regression schedules first.
  for (const s of opts.regressions ?? []) {
    const r = ex.replay(s);
    if (r.failures.length) record(r.failures, s.slice(0, r.at + 1), 0, true);
  }
  const done = (): boolean => (opts.stopAtFirst === true && failures.length > 0);
  const progressEvery = 4096;
  if (strategy === 'bfs' || strategy === 'dfs') {
    const visited = new Map<string, { pre: number; sleep: Set<string> }>();
    let failingSchedules = 0;
    const frontier: Node[] = [ex.rootNode()];
    visited.set(`${ex.fingerprint(ex.rootNode())}|`, { pre: 0, sleep: new Set() });
    stats.distinct = 1;
    let head = 0;
    let out = false;
    while (head < frontier.length && !done()) {
      const n = strategy === 'bfs' ? frontier[head++] as Node : frontier.pop() as Node;
      if (strategy === 'bfs' && head > 65536) { frontier.splice(0, head); head = 0; }
      const runnable = ex.runnable(n);
      if (runnable.length === 0) { stats.schedules++; stats.depth = Math.max(stats.depth, n.schedule.length); continue; }
      const explored: Array<[string, Footprint]> = [];
      let any = false;
      for (const t of runnable) {
        if (por && n.sleep.has(t)) { stats.prunedPor++; continue; }
        const pre = n.preemptions + (ex.isPreemption(n, t, runnable) ? 1 : 0);
        if (pre > bound) { stats.prunedPreemption++; continue; }
        if (stats.states >= maxStates) { out = true; break; }
        const r = ex.expand(n, t, runnable);
        stats.states++;
        if (opts.onProgress && stats.states % progressEvery === 0) opts.onProgress(stats.states, stats.distinct);
        any = true;
        if (r.failures.length) {
          record(r.failures, r.child.schedule, r.child.preemptions);
          stats.schedules++;
          failingSchedules++;
          stats.depth = Math.max(stats.depth, r.child.schedule.length);
          explored.push([t, r.footprint]);
          if (done()) break;
          continue;
        }
        // The child's sleep set: the sleeping and earlier-explored siblings that commute with t.
        if (por) {
          for (const [u, fu] of [...n.sleep, ...explored]) if (u !== t && !conflicts(fu, r.footprint)) r.child.sleep.set(u, fu);
        }
        explored.push([t, r.footprint]);
        const key = `${ex.fingerprint(r.child)}|${t}`;
        if (dedupe) {
          const v = visited.get(key);
          const sleepKeys = new Set(r.child.sleep.keys());
          if (v) {
            const subset = [...v.sleep].every((u) => sleepKeys.has(u));
            if (v.pre <= r.child.preemptions && subset) { stats.prunedDedupe++; continue; }
            // Explore again, sleeping only on what both visits slept on.
            for (const u of [...r.child.sleep.keys()]) if (!v.sleep.has(u)) r.child.sleep.delete(u);
            visited.set(key, { pre: Math.min(v.pre, r.child.preemptions), sleep: new Set(r.child.sleep.keys()) });
          } else {
            visited.set(key, { pre: r.child.preemptions, sleep: sleepKeys });
            stats.distinct++;
          }
        } else stats.distinct++;
        frontier.push(r.child);
      }
      if (out) break;
      if (!any && runnable.length > 0) { /* every choice pruned: a schedule cut short by the bound or the sleep set */ }
    }
    stats.boundReached = out;
    stats.failingPct = stats.schedules > 0 ? (100 * failingSchedules) / stats.schedules : 0;
    stats.exhausted = !out && !done() && (strategy === 'dfs' ? frontier.length === 0 : head >= frontier.length);
  } else {
    const prng = new Prng(opts.seed ?? 0);
    const runs = opts.runs ?? Infinity;
    let failed = 0;
    let run = 0;
    const n0 = ex.rootNode();
    const fingerprints = new Set<string>();
    // PCT's k: the steps of the longest schedule seen so far (a first round-robin-free estimate: the segments of a serial run).
    let k = Math.max(1, estimateSteps(ex));
    const nThreads = ex.names.length;
    const d = Math.max(1, bound);
    stats.pct = strategy === 'pct' ? { n: nThreads, k, d, bound: 1 / (nThreads * k ** (d - 1)) } : null;
    while (run < runs && stats.states < maxStates && !done()) {
      run++;
      let n = n0;
      // PCT: random distinct priorities, d-1 change points in [1, k].
      const prio = new Map<string, number>();
      const order = ex.names.map((t) => [t, prng.next()] as const).sort((a, b) => a[1] - b[1]);
      order.forEach(([t], i) => prio.set(t, d + i));
      const change = new Set<number>();
      while (change.size < Math.min(d - 1, k)) change.add(1 + prng.int(k));
      let step = 0;
      let runFailed = false;
      for (;;) {
        const runnable = ex.runnable(n);
        if (runnable.length === 0) break;
        let t: string;
        if (strategy === 'random') t = runnable[prng.int(runnable.length)] as string;
        else {
          t = runnable.reduce((best, x) => ((prio.get(x) ?? 0) > (prio.get(best) ?? 0) ? x : best), runnable[0] as string);
        }
        const r = ex.expand(n, t, runnable);
        stats.states++;
        step++;
        if (strategy === 'pct' && change.has(step)) prio.set(t, d - 1 - [...change].filter((c) => c < step).length);
        const fp = ex.fingerprint(r.child);
        if (!fingerprints.has(fp)) fingerprints.add(fp);
        if (r.failures.length) { record(r.failures, r.child.schedule, r.child.preemptions); runFailed = true; break; }
        n = r.child;
        if (stats.states >= maxStates) break;
      }
      if (runFailed) failed++;
      stats.schedules++;
      stats.depth = Math.max(stats.depth, n.schedule.length + (runFailed ? 1 : 0));
      k = Math.max(k, step);
    }
    stats.distinct = fingerprints.size;
    stats.failingPct = run > 0 ? (100 * failed) / run : 0;
    stats.boundReached = stats.states >= maxStates;
    stats.exhausted = false;
    if (stats.pct) stats.pct = { n: nThreads, k, d, bound: 1 / (nThreads * k ** (d - 1)) };
  }
  stats.elapsedMs = Math.max(0, now() - t0);
  const secs = stats.elapsedMs / 1000;
  stats.statesPerSec = secs > 0 ? Math.round(stats.states / secs) : 0;
  stats.schedulesPerSec = secs > 0 ? Math.round(stats.schedules / secs) : 0;
  return { ...stats, failures, variant: ex.variant, threads: ex.names };
}

/** The segments of the serial schedule (each thread run to its end in name order): PCT's first k. */
function estimateSteps(ex: Explorer): number {
  let n = ex.rootNode();
  let steps = 0;
  for (let guard = 0; guard < 100_000; guard++) {
    const runnable = ex.runnable(n);
    if (runnable.length === 0) break;
    const t = n.last !== null && runnable.includes(n.last) ? n.last : runnable[0] as string;
    n = ex.expand(n, t, runnable).child;
    steps++;
  }
  return steps;
}

/** The signature of the failure an event is (null: not a failure under `failOn`): what -o looks for in the trace. */
export function failureSignature(ev: TraceEvent, failOn: ReadonlySet<FailKind>): string | null {
  return failureOf(ev, failOn)?.signature ?? null;
}
