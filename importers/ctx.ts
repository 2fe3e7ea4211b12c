// What a log family's handlers see while a file is imported: the state the
// events so far built (read only: apply() is the one place it changes), a way
// to emit events of the current line, the platform being inferred, and a small
// per-thread memory for lines that only make sense with their neighbours
// (QEMU prints a descriptor, then its own decode of it).
import { apply, type Touch } from '../engine/apply.js';
import { indexedTouch, rememberedAs } from '../engine/caches.js';
import type { EventBody, IommuSpec, Observed, Rid, SectionName, State, TraceEvent } from '../engine/types.js';
import { MAX_IMPORT_CELLS } from '../trace/format.js';
import type { Fields, Matcher } from './format.js';

/** The part of a line before its event: time, thread, CPU, the form it was written in. */
export interface Prefix {
  event: string;
  args: string;
  /** Nanoseconds since the epoch of the source's clock, or null. */
  ns: bigint | null;
  /** The timestamp as printed. */
  tsText: string | null;
  pid?: number;
  cpu?: number;
  task?: string;
  form: string;
}

/** One traced event the importer maps: its formats (any one may match) and what the line becomes. */
export interface Handler { formats: Matcher[]; run(f: Fields, c: Ctx): void; takes?: boolean }

/** Why a line is skipped as malformed: one line for the user, with the line number added by the caller. */
export class LineError extends Error {
  constructor(message: string) { super(message); this.name = 'LineError'; }
}

/** A log whose events would hold more state than an imported trace keeps (MAX_IMPORT_CELLS): the import stops, naming the line. */
export class ImportLimitError extends Error {
  constructor(message: string) { super(message); this.name = 'ImportLimitError'; }
}

/** A raw line kept in an event: long lines are cut (a trace's strings have a bound). */
export const MAX_RAW = 4096;

interface Held { body: EventBody; unknown: string[] | undefined; obs: Observed }

export class Ctx {
  readonly iommus = new Map<string, IommuSpec['kind']>();
  /** RID -> the IOMMU it sits behind, when a line said. */
  readonly devices = new Map<Rid, string | null>();
  private seq = 0;
  private obs: Observed = { line: 0, ts: null, raw: '' };
  private memos = new Map<string, Map<string, unknown>>();
  private held = new Map<string, Held>();
  private key = '';
  folded = 0;
  /** The cells the log's events hold now (the platform's aside), by section; and how many by section and owner (a key's first part: the IOMMU of a cache line). */
  private readonly live: Record<string, Set<string>> = Object.create(null) as Record<string, Set<string>>;
  private readonly owned = new Map<string, number>();
  private cellCount = 0;
  private readonly counted: Touch;
  private readonly indexed: Touch;

  /**
   * `sink` receives every event after apply() folded it into `state` with
   * `touch` (the writer's hook); without one the events are only applied (the
   * first pass, which infers the platform).
   */
  constructor(readonly state: State, touch?: Touch, private readonly sink?: (ev: TraceEvent) => void) {
    // The cache lines indexed as a run's are (engine/caches.ts): a log's wide invalidations cost what they drop, not the IOTLB.
    this.indexed = indexedTouch(state, touch);
    this.counted = (section, key) => { this.count(section, key); this.indexed(section, key); };
  }

  /** Keep the counts of live cells as apply() writes one (it calls touch after the write). */
  private count(section: SectionName, key: string): void {
    const set = this.live[section] ?? (this.live[section] = new Set());
    const there = (this.state.s[section] as Record<string, unknown>)[key] !== undefined;
    if (there === set.has(key)) return;
    const slash = key.indexOf('/');
    const owner = `${section}\0${slash < 0 ? key : key.slice(0, slash)}`;
    const d = there ? 1 : -1;
    if (there) set.add(key); else set.delete(key);
    this.cellCount += d;
    this.owned.set(owner, (this.owned.get(owner) ?? 0) + d);
  }

  /** Cells of `section` whose key starts with `owner` (an IOMMU's cache lines), counted as they are written: O(1). */
  lines(section: SectionName, owner: string): number { return this.owned.get(`${section}\0${owner}`) ?? 0; }

  /** Start a line: where its events come from. */
  begin(obs: Observed): void {
    this.obs = obs;
    this.key = obs.pid === undefined ? '' : String(obs.pid);
  }

  private push(body: EventBody, obs: Observed, unknown: string[] | undefined): void {
    // The source line is the logical clock: the events of one line share tick and step (the platform: step -1).
    const ev = { seq: this.seq++, tick: obs.line, step: body.kind === 'platform' ? -1 : obs.line, ...body, obs: unknown?.length ? { ...obs, unknown } : obs } as TraceEvent;
    // The victims a handler computed for `dropped` (rememberVictims) are the ones apply() drops: not computed twice.
    rememberedAs(body, ev);
    apply(this.state, ev, body.kind === 'platform' ? this.indexed : this.counted);
    if (this.cellCount > MAX_IMPORT_CELLS) {
      throw new ImportLimitError(`line ${obs.line}: the log's events would hold more than ${MAX_IMPORT_CELLS} state cells at once (MAX_IMPORT_CELLS), more than an imported trace keeps`);
    }
    this.sink?.(ev);
  }

  /** The platform event: event 0 of every imported trace. */
  platform(body: Extract<EventBody, { kind: 'platform' }>): void { this.push(body, { line: 0, ts: null, raw: '' }, undefined); }

  /** An event of the current line; `unknown` names its fields the line did not carry. */
  emit(body: EventBody, unknown?: string[]): void { this.push(body, this.obs, unknown); }

  /** The current line adds nothing to the events already emitted (a restatement, a hit on a line already known). */
  fold(): void { this.folded++; }

  /** Keep an event of this thread back until its next line, which may complete it (take) or not (it is emitted as it is). */
  hold(body: EventBody, unknown?: string[]): void {
    this.release();
    this.held.set(this.key, { body, unknown, obs: this.obs });
  }

  /**
   * The event this thread held back, for the current line to complete: `emit`
   * writes the completed event at the line it was held from.
   */
  take(): { body: EventBody; emit(completed: EventBody, unknown?: string[]): void } | null {
    const h = this.held.get(this.key);
    if (!h) return null;
    this.held.delete(this.key);
    return { body: h.body, emit: (completed, unknown) => this.push(completed, h.obs, unknown) };
  }

  /** Emit this thread's held event as it is (the dispatcher calls it before a line that does not take it). */
  release(): void {
    const h = this.held.get(this.key);
    if (!h) return;
    this.held.delete(this.key);
    this.push(h.body, h.obs, h.unknown);
  }

  /** At the end of the file: every thread's held event. */
  releaseAll(): void {
    for (const [key, h] of [...this.held]) { this.held.delete(key); this.push(h.body, h.obs, h.unknown); }
  }

  /** This thread's memory of an earlier line (QEMU's per-thread sequences: descriptor, then its decode). */
  recall<T>(tag: string): T | undefined { return this.memos.get(this.key)?.get(tag) as T | undefined; }

  remember(tag: string, value: unknown): void {
    let m = this.memos.get(this.key);
    if (!m) this.memos.set(this.key, (m = new Map()));
    m.set(tag, value);
  }

  forget(tag: string): void { this.memos.get(this.key)?.delete(tag); }

  private flags = new Map<string, unknown>();

  /** What the log said of the whole machine (QEMU: the root table is in scalable mode), for later lines. */
  flag<T>(name: string): T | undefined { return this.flags.get(name) as T | undefined; }

  setFlag(name: string, value: unknown): void { this.flags.set(name, value); }

  /** An IOMMU the log names. */
  iommu(name: string, kind: IommuSpec['kind']): string {
    if (!this.iommus.has(name)) this.iommus.set(name, kind);
    return name;
  }

  /** A device the log names, behind `iommu` when the line says. */
  device(rid: Rid, iommu: string | null = null): Rid {
    if (!this.devices.get(rid)) this.devices.set(rid, iommu);
    return rid;
  }

  /** How many events so far (the platform event included). */
  get events(): number { return this.seq; }
}
