// The counters of a timeline export: IOTLB, PASID-cache and context-cache
// lines per IOMMU, ATC lines per device, IOASIDs in use per set. Counted from
// the state apply() builds (the fills' and invalidations' own `dropped`
// fields are what the recorder claimed): a shadow of each watched section's
// keys, with the counter each key belongs to, is kept in step with every
// cell the event touched. Memory: the watched sections' size.
import { apply, type Touch } from '../engine/apply.js';
import { indexedTouch } from '../engine/caches.js';
import type { SectionName, State, TraceEvent } from '../engine/types.js';
import type { GroupKind } from './placement.js';

/** A counter: the group it belongs to, its name and its key (group/id/name). */
export interface CounterId { key: string; group: GroupKind; id: string; name: string; section: string }

const head = (key: string): string => key.slice(0, Math.max(0, key.indexOf('/')));

/** Which counter a cell of each watched section counts towards. */
const WATCHED: Record<string, (key: string, cell: unknown) => Omit<CounterId, 'key' | 'section'>> = {
  iotlb: (key) => ({ group: 'iommu', id: head(key), name: 'IOTLB entries' }),
  'pasid-cache': (key) => ({ group: 'iommu', id: head(key), name: 'PASID-cache entries' }),
  'context-cache': (key) => ({ group: 'iommu', id: head(key), name: 'context-cache entries' }),
  atc: (key) => ({ group: 'device', id: head(key), name: 'ATC entries' }),
  ioasid: (_key, cell) => ({ group: 'kernel', id: '', name: `IOASIDs in use: set ${String((cell as { set?: unknown } | undefined)?.set ?? '?')}` }),
};

const NONE: readonly never[] = [];

export class Occupancy {
  /** section -> key -> counter key. */
  private readonly shadow = new Map<string, Map<string, string>>();
  private readonly counts = new Map<string, number>();
  private readonly ids = new Map<string, CounterId>();

  /** Start from a state (the one before an export's window). */
  constructor(state: State) {
    for (const section of Object.keys(WATCHED)) {
      const keys = new Map<string, string>();
      this.shadow.set(section, keys);
      const cells = (state.s as unknown as Record<string, Record<string, unknown> | undefined>)[section] ?? {};
      for (const key of Object.keys(cells)) this.add(section, key, cells[key]);
    }
  }

  /** Every counter with its value now. */
  all(): { id: CounterId; value: number }[] {
    return [...this.ids.values()].map((id) => ({ id, value: this.counts.get(id.key) ?? 0 }));
  }

  /**
   * Apply the event to the state (engine/apply.ts, the one place state
   * changes) and return the counters it changed, with their new values.
   */
  apply(state: State, ev: TraceEvent): readonly { id: CounterId; value: number }[] {
    if (state !== this.state) { this.state = state; this.indexed = indexedTouch(state, this.touch); }
    apply(state, ev, this.indexed);
    if (this.changed.size === 0) return NONE;
    const out = [...this.changed].map((key) => ({ id: this.ids.get(key) as CounterId, value: this.counts.get(key) ?? 0 }));
    this.changed.clear();
    return out;
  }

  private state: State | null = null;
  /** `touch` with the state's cache-line index kept (engine/caches.ts): a wide invalidation costs what it drops. */
  private indexed: Touch = () => {};
  private readonly changed = new Set<string>();
  /** apply()'s touch: one function for every event (the export's hot path allocates none). */
  private readonly touch = (section: SectionName, key: string): void => {
    const keys = this.shadow.get(section);
    if (!keys) return;
    const was = keys.get(key);
    const cell = ((this.state as State).s[section] as Record<string, unknown>)[key];
    if (was !== undefined) { this.bump(was, -1); keys.delete(key); this.changed.add(was); }
    if (cell !== undefined) this.changed.add(this.add(section, key, cell));
  };

  private add(section: string, key: string, cell: unknown): string {
    const c = (WATCHED[section] as (typeof WATCHED)[string])(key, cell);
    const ck = `${c.group}/${c.id}/${c.name}`;
    if (!this.ids.has(ck)) this.ids.set(ck, { ...c, key: ck, section });
    (this.shadow.get(section) as Map<string, string>).set(key, ck);
    this.bump(ck, 1);
    return ck;
  }

  private bump(ck: string, d: number): void { this.counts.set(ck, (this.counts.get(ck) ?? 0) + d); }
}
