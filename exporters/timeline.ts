// The timeline both trace-viewer exports draw (Perfetto protobuf, Chrome
// JSON): events in, tracks, slices, instants, flows and counters out to a
// Sink, one time cell at a time.
//
// Time. A recorded event's cell starts at tick x 1000 ns; an imported one's
// at its observed time (obs.ts, ns since the log's first timestamp) when the
// line had one. The events of one cell share it in equal slots, in order,
// except that a step's ioctl or kernel call (which the engine emits after
// its effects) takes the first slot and spans the whole step, so what it
// caused nests under it in time. A cell never starts before the previous one
// ended, so a cell of more than 1000 events pushes the next ones later by a
// few ns rather than overlapping them. At most MAX_CELL events are held.
//
// Flows. A step's events are one flow in time order (ioctl -> the table
// writes -> the invalidations -> ... -> the DMA -> the fault); every write of
// a PASID entry starts a flow that runs through each DMA and fault that went
// through that entry, until the entry is written again.
import { k } from '../engine/keys.js';
import { summarize, isAddressField } from '../engine/summary.js';
import type { ArgValue, State, TraceEvent } from '../engine/types.js';
import type { TraceHeader } from '../replayer/api.js';
import { headerClaims } from '../replayer/header-claims.js';
import { mayWrite } from '../replayer/provenance.js';
import { checkedStep, isInstant, sliceName, stepName } from './names.js';
import { isCall } from '../replayer/step-claim.js';
import { type CounterId, Occupancy } from './occupancy.js';
import { GROUP_TITLE, type GroupKind, place, type Place, stepTrack } from './placement.js';

/** A track: a group (Perfetto process track, Chrome pid), a slice track in one, or a counter in one. */
export interface Track { uuid: number; parent: number | null; name: string; kind: 'group' | 'slices' | 'counter'; pid: number; tid: number }

/** A flow id on a slice; `first` when this slice starts it. */
export interface FlowRef { id: number; first: boolean }

export interface Slice {
  track: Track; name: string; cat: string;
  /** ns */
  ts: number;
  /** ns; null: an instant. */
  dur: number | null;
  /** The event drawn (its fields are the slice's arguments, with its summary), or null for a step or the metadata. */
  event: TraceEvent | null;
  /** The arguments of a slice that is not an event. */
  fields: Record<string, ArgValue> | null;
  flows: FlowRef[];
}

/** What a trace is: shown as the scenario group's name and as metadata. */
export interface Metadata { title: string; fields: Record<string, ArgValue> }

export interface Sink {
  begin(meta: Metadata): void;
  track(t: Track): void;
  slice(s: Slice): void;
  counter(t: Track, ts: number, value: number): void;
  /** The output encoded so far once there is enough of it (or `all`, which also ends the document), else null. */
  drain(all?: boolean): string | Buffer | null;
}

/** A cell's time span when the next cell's start is not known or further: 1000 ns, one tick. */
const SPAN = 1000;
export const MAX_CELL = 1000;

interface Group { track: Track; children: Map<string, Track> }

interface Entry { ev: TraceEvent; where: Place; counters: readonly { id: CounterId; value: number }[]; shown: boolean }

/** An export's one-line refusal (exit 2): an event that does not apply to the state. */
export class ExportError extends Error {
  constructor(message: string) { super(message); this.name = 'ExportError'; }
}

const time = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);

/** An event's cell start in ns: its observed time if imported with one, else tick x 1000; null for a forged tick. */
export function timeOf(ev: TraceEvent): number | null {
  return time((ev as { obs?: { ts?: unknown } }).obs?.ts) ?? time(typeof ev.tick === 'number' ? ev.tick * 1000 : null);
}

/** The event's fields as annotations: address fields in 0x form, the one-line summary beside them. */
export function annotations(ev: TraceEvent): Record<string, ArgValue> {
  const out: Record<string, ArgValue> = { summary: summarize(ev) };
  for (const [key, v] of Object.entries(ev)) if (key !== 'kind') out[key] = hexed(key, v as ArgValue);
  return out;
}

/** A field's value as an annotation shows it: an address field's number in 0x form, everything inside likewise. */
export function hexed(key: string, v: ArgValue): ArgValue {
  if (typeof v === 'number') return isAddressField(key) && Number.isSafeInteger(v) && v >= 0 ? `0x${v.toString(16)}` : v;
  if (Array.isArray(v)) return v.map((x) => hexed(key, x));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, ArgValue> = {};
    for (const [k2, x] of Object.entries(v)) o[k2] = hexed(k2, x);
    return o;
  }
  return v;
}

/** Metadata of a trace: scenario, variant, seed (or what it was imported from), and the export's window. */
export function metadataOf(header: TraceHeader, window: { from: number; to: number; kinds: readonly string[] | null }): Metadata {
  const imported = (header as { imported?: Record<string, unknown> }).imported;
  const variant = Object.entries(header.variant).map(([a, v]) => `${a}=${v}`).join(', ');
  const fields: Record<string, ArgValue> = {
    scenario: header.scenario.name, variant: { ...header.variant }, seed: header.seed, engine: header.engine, format: header.format,
    from: window.from, to: window.to, kinds: window.kinds ? [...window.kinds] : 'all',
  };
  // A variant its scenario has not is the header's false claim: said beside it, and in the title.
  const claims = headerClaims(header);
  if (claims.length > 0) fields.falseClaim = claims.join('; ');
  if (!imported) fields.steps = "named by the header's scenario where each step's ioctl or kernel call agrees with it, else by that call; ops and notes are the header's (unchecked: iotrace verify re-runs the scenario)";
  if (imported) for (const [key, v] of Object.entries(imported)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[`imported.${key}`] = v as ArgValue;
  const title = imported ? `${header.scenario.name} (imported)` : `${header.scenario.name}${variant ? ` (${variant})` : ''}${claims.length > 0 ? ' [variant FALSE: not a variant of its scenario]' : ''} seed ${header.seed}`;
  return { title, fields };
}

export class Timeline {
  private readonly occupancy: Occupancy;
  /** The counters' values in the state before the first event. */
  private readonly seed: { id: CounterId; value: number }[];
  private readonly groups = new Map<GroupKind, Map<string, Group>>();
  private readonly counterShown = new Map<string, boolean>();
  private readonly entryFlow = new Map<string, number>();
  private readonly imported: boolean;
  private readonly scenario: string;
  private cell: Entry[] = [];
  private cellT = 0;
  private cursor = 0;
  private nextFlow = 1;
  private started = false;
  private pids = 0;
  private uuids = 0;
  private tids = 0;

  constructor(private readonly header: TraceHeader, private readonly state: State, private readonly sink: Sink,
    private readonly kinds: ReadonlySet<string> | null, private readonly meta: Metadata) {
    this.occupancy = new Occupancy(state);
    this.seed = this.occupancy.all();
    this.imported = (header as { imported?: unknown }).imported !== undefined;
    this.scenario = header.scenario.name;
    sink.begin(meta);
    this.group('scenario', this.scenario, meta.title);
  }

  push(ev: TraceEvent): void {
    // An event without a usable time (a forged tick) joins the cell before it.
    const t = timeOf(ev) ?? (this.cell.length > 0 ? this.cellT : this.cursor);
    if (this.cell.length > 0 && (t !== this.cellT || this.cell.length >= MAX_CELL)) this.flush(t > this.cellT ? Math.min(SPAN, t - this.cellT) : SPAN);
    if (this.cell.length === 0) this.cellT = t;
    const where = place(ev, this.state, this.scenario);
    let counters;
    try { counters = this.occupancy.apply(this.state, ev); } catch (e) {
      throw new ExportError(`event ${ev.seq} (${String(ev.kind)}) does not apply to the state: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.cell.push({ ev, where, counters, shown: this.kinds === null || this.kinds.has(ev.kind) });
  }

  finish(): void {
    if (this.cell.length > 0) this.flush(SPAN);
    else if (!this.started) this.start(0);
  }

  /** The metadata as an instant, and the counters' values, where the export starts. */
  private start(ts: number): void {
    this.started = true;
    this.sink.slice({ track: this.slices({ group: 'scenario', id: this.scenario, track: 'trace' }), name: `trace ${this.meta.title}`, cat: 'metadata', ts, dur: null, event: null, fields: this.meta.fields, flows: [] });
    for (const c of this.seed) if (c.value !== 0 && this.showsCounter(c.id)) this.sink.counter(this.counterTrack(c.id), ts, c.value);
  }

  private flush(span: number): void {
    const cell = this.cell;
    this.cell = [];
    const start = Math.max(this.cellT, this.cursor);
    const w = Math.max(1, Math.floor(span / cell.length));
    if (!this.started) this.start(start);
    let slot = 0;
    for (const run of runs(cell)) {
      const runStart = start + slot * w;
      const runEnd = start + (slot + run.length) * w;
      const head = run[0] as Entry;
      let shown = 0;
      let firstShown: Entry | null = null;
      for (const e of run) if (e.shown) { shown++; firstShown ??= e; }
      if (!this.imported && head.ev.kind !== 'sched' && shown > 0) {
        const step = head.ev.step;
        // A threaded run's step numbers are not indexes of `steps`: those are named by number only.
        const spec = checkedStep(head.ev.thread === undefined ? this.header.scenario.steps[step] : undefined, isCall(head.ev) ? head.ev : null);
        const args: Record<string, ArgValue> = { step };
        if (head.ev.thread !== undefined) args.thread = head.ev.thread;
        if (typeof spec?.note === 'string') args.note = spec.note;
        this.sink.slice({
          track: this.slices({ group: 'scenario', id: this.scenario, track: stepTrack(head.ev.thread) }), name: stepName(step, spec),
          cat: 'step', ts: runStart, dur: Math.max(0, runEnd - 1 - runStart), event: null, fields: args, flows: [],
        });
      }
      const chain = shown >= 2 && head.ev.kind !== 'sched' ? this.nextFlow++ : null;
      for (const e of run) {
        const ts = start + slot * w;
        slot++;
        for (const c of e.counters) if (this.showsCounter(c.id)) this.sink.counter(this.counterTrack(c.id), ts, c.value);
        if (!e.shown) continue;
        const flows: FlowRef[] = [];
        if (chain !== null) flows.push({ id: chain, first: e === firstShown });
        const entry = this.entryFlowOf(e.ev);
        if (entry) flows.push(entry);
        const dur = isInstant(e.ev) ? null : e === head && isCall(e.ev) ? Math.max(0, runEnd - 1 - ts) : Math.max(0, w - 2);
        this.sink.slice({ track: this.slices(e.where), name: sliceName(e.ev), cat: String(e.ev.kind), ts, dur, event: e.ev, fields: null, flows });
      }
    }
    this.cursor = start + Math.max(span, cell.length * w);
  }

  /** A PASID-entry write starts the entry's flow; a DMA or IOMMU fault through the entry continues it. */
  private entryFlowOf(ev: TraceEvent): FlowRef | null {
    if (ev.kind === 'pasid-write') {
      const id = this.nextFlow++;
      this.entryFlow.set(k.pasid(ev.rid, ev.pasid), id);
      return { id, first: true };
    }
    if ((ev.kind === 'dma' || (ev.kind === 'fault' && ev.source !== 'cpu')) && typeof ev.rid === 'string') {
      const id = this.entryFlow.get(k.pasid(ev.rid, typeof ev.pasid === 'number' ? ev.pasid : 0));
      return id === undefined ? null : { id, first: false };
    }
    return null;
  }

  /** A counter is drawn when some exported kind can change it (replayer/provenance.ts). */
  private showsCounter(id: CounterId): boolean {
    let shown = this.counterShown.get(id.section);
    if (shown === undefined) {
      shown = this.kinds === null || [...this.kinds].some((kind) => mayWrite(kind, id.section as never));
      this.counterShown.set(id.section, shown);
    }
    return shown;
  }

  /** A group's track and its children by name (slice tracks and counters have distinct names). */
  private group(kind: GroupKind, id: string, title?: string): Group {
    let ids = this.groups.get(kind);
    if (!ids) { ids = new Map(); this.groups.set(kind, ids); }
    let g = ids.get(id);
    if (!g) {
      g = { track: { uuid: ++this.uuids, parent: null, name: title ?? GROUP_TITLE[kind](id), kind: 'group', pid: ++this.pids, tid: 0 }, children: new Map() };
      ids.set(id, g);
      this.sink.track(g.track);
    }
    return g;
  }

  private child(g: Group, name: string, kind: 'slices' | 'counter'): Track {
    let t = g.children.get(name);
    if (!t) {
      t = { uuid: ++this.uuids, parent: g.track.uuid, name, kind, pid: g.track.pid, tid: ++this.tids };
      g.children.set(name, t);
      this.sink.track(t);
    }
    return t;
  }

  private slices(p: Place): Track { return this.child(this.group(p.group, p.id), p.track, 'slices'); }

  private counterTrack(c: CounterId): Track { return this.child(this.group(c.group, c.id), c.name, 'counter'); }
}

/**
 * A cell's events in runs of one step each (a scheduling decision is a run
 * of its own), each run's last ioctl or kernel call moved to its front.
 */
function runs(cell: Entry[]): Entry[][] {
  const out: Entry[][] = [];
  let key = '';
  for (const e of cell) {
    const kk = e.ev.kind === 'sched' ? `sched ${e.ev.seq}` : `${e.ev.step}/${e.ev.thread ?? ''}`;
    if (out.length === 0 || kk !== key) out.push([]);
    key = kk;
    (out[out.length - 1] as Entry[]).push(e);
  }
  for (const run of out) {
    // The step's own ioctl or call is its last one: what follows it (a violation, an expectation) it caused too.
    let i = run.length - 1;
    while (i >= 0 && !isCall((run[i] as Entry).ev)) i--;
    if (i > 0) run.unshift(...run.splice(i, 1));
  }
  return out;
}
