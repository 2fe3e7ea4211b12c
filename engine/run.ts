// Run a scenario under a variant and seed: a lazy stream of events. This is
// the engine's whole public face for the recorder, `run` and `verify`.
import { BUILDERS } from './builders/index.js';
import { own } from './own.js';
import { Ctx } from './ctx.js';
import { reportUnmet } from './expect.js';
import { InvariantChecker } from './invariants.js';
import { normalizeFields, type Fields } from './op.js';
import { ScenarioRunError } from './limits.js';
import { OPS } from './ops/index.js';
import { Prng } from './prng.js';
import { resolveVariant, STEP_CONTROL, stepApplies, type Scenario, type Step, type Variant } from './scenario.js';
import { emptyState } from './state.js';
import { Threads, type RunCore } from './threads.js';
import type { Touch } from './apply.js';
import type { ArgValue, Platform, State, TraceEvent } from './types.js';

/** Bumped whenever the engine changes what a scenario records. */
export const ENGINE_VERSION = '0.1.0';

export interface RunOptions {
  variant?: Variant; seed?: number;
  /** A threaded scenario's schedule: the thread of each scheduling decision, in order; round-robin after it (engine/threads.ts). */
  schedule?: readonly string[];
}


function resolveRefs(value: ArgValue | undefined, refs: Map<string, number | null>, step: number): ArgValue | undefined {
  if (typeof value === 'string' && value.startsWith('$')) {
    const v = refs.get(value.slice(1));
    // The validator refuses a reference no earlier step binds under this variant; this is its backstop.
    if (v === undefined) throw new ScenarioRunError(step, `"${value}" is not bound under this variant (no earlier step that ran bound it with "as")`);
    return v;
  }
  if (Array.isArray(value)) return value.map((x) => resolveRefs(x, refs, step) ?? null);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, ArgValue> = {};
    for (const key of Object.keys(value)) out[key] = resolveRefs(value[key], refs, step) ?? null;
    return out;
  }
  return value;
}

/**
 * The step's fields with "$ref"s replaced. Ops read only the fields they
 * declare, so a step without references is handed over as it is (the common
 * case for generated workloads: no copy per step).
 */
export function resolveStep(step: Step, refs: Map<string, number | null>, index: number): Fields {
  let plain = true;
  for (const key in step) {
    const v = step[key];
    if ((typeof v === 'string' && v.startsWith('$')) || (v !== null && typeof v === 'object')) { plain = false; break; }
  }
  if (plain) return step;
  const fields: Fields = {};
  for (const key of Object.keys(step)) if (!STEP_CONTROL.has(key)) fields[key] = resolveRefs(step[key], refs, index);
  return fields;
}


function steps(scenario: Scenario, seed: number): Iterable<Step> {
  if (!scenario.generate) return scenario.steps;
  const builder = own(BUILDERS, scenario.generate.builder);
  if (!builder) throw new Error(`unknown scenario builder ${scenario.generate.builder}`);
  return builder(scenario.generate.params, new Prng(seed));
}

/** What a caller may hook into a run: see RunSession. */
export interface RunHooks {
  /**
   * Called with each event right after `apply` folded it into the live state,
   * before the engine decides anything else: `session.state` is then the
   * state after exactly this event.
   */
  onEvent?: (ev: TraceEvent) => void;
  /** Called for every cell an event writes (the `touch` of `apply`). */
  touch?: Touch;
}

/**
 * One run, driven a step at a time. The recorder uses it to see each event
 * together with the live state it produced (read-only: state still changes
 * only through `apply`), instead of keeping a mirror state of its own.
 */
export class RunSession {
  private readonly ctx: Ctx;
  private readonly checker = new InvariantChecker();
  private readonly variant: Variant;
  private readonly refs = new Map<string, number | null>();
  private readonly it: Iterator<Step>;
  private index = -1;
  private started = false;
  private readonly platform: Platform;
  private readonly name: string;
  /** A threaded scenario's scheduler (null without `threads`); it runs once the set-up steps are done. */
  readonly threads: Threads | null;
  private setupDone = false;
  private pauseAtThreads = false;

  constructor(scenario: Scenario, opts: RunOptions = {}, hooks: RunHooks = {}) {
    this.variant = resolveVariant(scenario, opts.variant ?? {});
    this.ctx = new Ctx(emptyState(), this.variant, hooks.touch, hooks.onEvent);
    this.platform = scenario.platform;
    this.name = scenario.name;
    this.it = steps(scenario, opts.seed ?? 0)[Symbol.iterator]();
    this.threads = scenario.threads && !scenario.generate ? new Threads(scenario, this.core, opts.schedule ?? []) : null;
  }

  /** What the scheduler (engine/threads.ts) and explore/ drive a threaded run with. */
  get core(): RunCore {
    return { ctx: this.ctx, refs: this.refs, checker: this.checker, variant: this.variant, name: this.name, resolve: (step, index) => resolveStep(step, this.refs, index) };
  }

  /** Run the platform and every set-up step: a threaded run then stands at its first scheduling decision. */
  runSetup(): void {
    this.pauseAtThreads = true;
    while (!this.setupDone && this.next()) { /* set-up steps */ }
    this.pauseAtThreads = false;
  }

  /** The live state: after the last event emitted so far. Read it, never write it. */
  get state(): Readonly<State> { return this.ctx.state; }

  /** Events of the last `next()` (the platform event, then one scenario step's). */
  get out(): readonly TraceEvent[] { return this.ctx.out; }

  /** Run the next applicable step (the platform set-up first; a thread's segment after the set-up); false when the scenario is done. */
  next(): boolean {
    const ctx = this.ctx;
    if (!this.started) {
      this.started = true;
      ctx.emit({ kind: 'platform', platform: this.platform });
      return true;
    }
    if (this.setupDone) return this.threads?.next() ?? false;
    for (;;) {
      const r = this.it.next();
      if (r.done) { this.setupDone = true; return !this.pauseAtThreads && (this.threads?.next() ?? false); }
      const step = r.value;
      const index = ++this.index;
      if (!stepApplies(step, this.variant)) continue;
      ctx.beginStep(index);
      const spec = own(OPS, step.op);
      if (!spec) throw new ScenarioRunError(index, `unknown op ${JSON.stringify(step.op)} (the scenario was not validated)`, null, this.name);
      try {
        const outcome = spec.run(ctx, normalizeFields(spec.fields, resolveStep(step, this.refs, index)));
        if (step.as) this.refs.set(step.as, outcome.value ?? null);
        reportUnmet(ctx, step.expect, this.variant, outcome);
        this.checker.check(ctx);
      } catch (e) {
        // A bound of the model reached: one line naming the scenario, the step and its op.
        if (e instanceof ScenarioRunError && e.op === null) throw new ScenarioRunError(e.step, e.detail, step.op, this.name);
        throw e;
      }
      return true;
    }
  }
}

export function* run(scenario: Scenario, opts: RunOptions = {}): Generator<TraceEvent> {
  const session = new RunSession(scenario, opts);
  while (session.next()) {
    const out = session.out;
    for (let i = 0; i < out.length; i++) yield out[i] as TraceEvent;
  }
}
