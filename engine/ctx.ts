// The decision context one run threads through every layer: it stamps events
// with seq/tick/step, applies them at once (so later decisions see their
// effect) and collects them for the recorder.
import { apply, type Touch } from './apply.js';
import { indexCacheLines } from './caches.js';
import { indexAllocators } from './indexes.js';
import { indexQueues } from './iommufd/queue-index.js';
import { MAX_EVENTS_PER_STEP, ScenarioRunError } from './limits.js';
import type { Variant } from './scenario.js';
import type { EventBody, SectionName, State, TraceEvent } from './types.js';

export class Ctx {
  readonly state: State;
  readonly variant: Variant;
  /** Events of the current step, in order. */
  out: TraceEvent[] = [];
  /** Cells written during the current step: what the invariant checks look at. */
  readonly dirty = new Set<SectionName>();
  step = -1;
  /** Page-table entries present (engine/memory.ts keeps the count; bounded by MAX_PT_ENTRIES). */
  ptEntries = 0;
  /** Logical clock: one tick per scenario step. */
  tick = 0;
  /** The thread running now in a threaded run (engine/threads.ts): stamped on each event; null otherwise. */
  thread: string | null = null;
  /** Locks other threads of a threaded run hold while suspended at a yield point (engine/threads.ts). */
  locks: ReadonlySet<string> = new Set();
  private nextSeq = 0;
  private readonly markDirty: Touch;
  private readonly onEvent: ((ev: TraceEvent) => void) | undefined;

  /** `touch` and `onEvent`: the hooks of a RunSession (engine/run.ts). */
  constructor(state: State, variant: Variant, touch?: Touch, onEvent?: (ev: TraceEvent) => void) {
    this.state = state;
    this.variant = variant;
    // The IOTLB / ATC line index (engine/caches.ts) sees every cell written, so wide invalidations cost what they match.
    const lines = indexCacheLines(state);
    // So do the allocators' indexes (engine/indexes.ts): an allocation and the quota check cost O(log n), not a pass over a section.
    const allocs = indexAllocators(state);
    // And the event queues' records (engine/iommufd/queue-index.ts): a delivery, a read, an answer cost O(log n).
    const queues = indexQueues(state);
    this.markDirty = touch
      ? (section, key) => { this.dirty.add(section); lines(section, key); allocs(section, key); queues(section, key); touch(section, key); }
      : (section, key) => { this.dirty.add(section); lines(section, key); allocs(section, key); queues(section, key); };
    this.onEvent = onEvent;
  }

  emit(body: EventBody): TraceEvent {
    // Stamp the body in place: every call site builds a fresh literal, and
    // this avoids a megamorphic object spread per event.
    const ev = body as TraceEvent;
    if (this.out.length >= MAX_EVENTS_PER_STEP) throw new ScenarioRunError(this.step, `produced more than ${MAX_EVENTS_PER_STEP} events, the most one step may produce; split it into smaller steps`);
    ev.seq = this.nextSeq++;
    ev.tick = this.tick;
    ev.step = this.step;
    if (this.thread !== null) ev.thread = this.thread;
    apply(this.state, ev, this.markDirty);
    this.out.push(ev);
    if (this.onEvent) this.onEvent(ev);
    return ev;
  }

  /** Start a scenario step: advance the logical clock, clear the per-step buffers. */
  beginStep(index: number): void {
    this.step = index;
    this.tick += 1;
    this.out.length = 0;
    this.dirty.clear();
  }

  /** The value of a variant axis (scenario defaults already resolved). */
  choice(axis: string, fallback: string): string {
    return this.variant[axis] ?? fallback;
  }
}
