// A scratch state over one the replayer built, for re-executing a recorded
// decision: every section sits behind a Proxy that records the cells the
// engine's code reads and copies the section on its first write, so the
// replayer's state is never changed (the re-execution changes the scratch
// state only through Ctx.emit, that is through apply).
import { Ctx } from '../engine/ctx.js';
import { WHOLE_SECTION_KEY } from '../engine/indexes.js';
import type { Variant } from '../engine/scenario.js';
import { SECTION_NAMES } from '../engine/state.js';
import type { EventBody, SectionName, State, TraceEvent } from '../engine/types.js';

/** A cell the decision read; `key` WHOLE_SECTION_KEY: it read the whole section (a scan, or an index that stands for one). */
export interface Read { section: SectionName; key: string; /** How many events the decision had emitted before the read. */ at: number }

/** A cell one of the decision's own events wrote: `at` is that event's index among them. */
export interface Write { section: SectionName; key: string; at: number }

export class ReadingState {
  readonly state: State;
  readonly reads: Read[] = [];
  readonly writes: Write[] = [];
  /** Reads count only while the decision runs, not while apply() folds its events or the Ctx indexes the state. */
  tracking = false;
  emitted = 0;
  private readonly seen = new Set<string>();

  constructor(base: State) {
    const s = {} as Record<string, Record<string, unknown>>;
    for (const name of SECTION_NAMES) {
      const parent = base.s[name] as Record<string, unknown>;
      let cur = parent;
      let copied = false;
      const own = (): Record<string, unknown> => {
        if (!copied) { cur = Object.assign(Object.create(null) as Record<string, unknown>, parent); copied = true; }
        return cur;
      };
      s[name] = new Proxy(Object.create(null) as Record<string, unknown>, {
        get: (_o, p) => { if (typeof p === 'string') this.read(name, p); return cur[p as string]; },
        has: (_o, p) => { if (typeof p === 'string') this.read(name, p); return p in cur; },
        ownKeys: () => { this.read(name, WHOLE_SECTION_KEY); return Reflect.ownKeys(cur); },
        getOwnPropertyDescriptor: (_o, p) => Reflect.getOwnPropertyDescriptor(cur, p),
        set: (_o, p, v) => { own()[p as string] = v; return true; },
        deleteProperty: (_o, p) => { if (p in cur) delete own()[p as string]; return true; },
      });
    }
    this.state = { s: s as unknown as State['s'], seq: base.seq, tick: base.tick };
  }

  private read(section: SectionName, key: string): void {
    if (!this.tracking) return;
    const id = `${section}\0${key}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.reads.push({ section, key, at: this.emitted });
  }
}

/**
 * The engine's Ctx over a ReadingState: the same emit (stamp, apply, collect),
 * with reads switched off while apply() runs and the cells each event wrote
 * noted, so a later read of a cell this decision wrote names its own event.
 */
export class ReadingCtx extends Ctx {
  constructor(readonly rs: ReadingState, variant: Variant, at: TraceEvent) {
    super(rs.state, variant, (section, key) => { rs.writes.push({ section, key, at: rs.emitted }); });
    // Stamps as the recorded events have them: the same step, tick and thread.
    this.beginStep(at.step);
    this.tick = at.tick;
    this.thread = at.thread ?? null;
    this.ptEntries = Object.keys(rs.state.s.pt).length;
    rs.tracking = true;
  }

  override emit(body: EventBody): TraceEvent {
    const rs = this.rs;
    rs.tracking = false;
    try { return super.emit(body); } finally { rs.emitted = this.out.length; rs.tracking = true; }
  }
}
