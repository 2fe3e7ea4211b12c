// The timeline as Perfetto's native trace: a protobuf `Trace` of
// `TracePacket`s holding `TrackDescriptor`s and `TrackEvent`s, all on one
// packet sequence. Written with exporters/protobuf.ts against the field
// numbers below, which exporters/perfetto.proto declares (a subset of
// Perfetto's perfetto_trace.proto with the same names and numbers); the tests
// decode every export with that .proto. Event names, categories and the
// top-level argument names are interned (each sent once, in the packet that
// first uses it, then referred to by number), as Perfetto's own SDK does;
// values and nested argument names are written out.
import { summarize } from '../engine/summary.js';
import type { ArgValue } from '../engine/types.js';
import { ProtoWriter } from './protobuf.js';
import { hexed, type Sink, type Slice, type Track } from './timeline.js';

/** Field numbers (perfetto.protos.*), as in exporters/perfetto.proto. */
export const F = {
  trace: { packet: 1 },
  packet: { timestamp: 8, trustedPacketSequenceId: 10, trackEvent: 11, internedData: 12, sequenceFlags: 13, trackDescriptor: 60 },
  internedData: { eventCategories: 1, eventNames: 2, debugAnnotationNames: 3 },
  /** EventCategory, EventName and DebugAnnotationName alike. */
  interned: { iid: 1, name: 2 },
  trackDescriptor: { uuid: 1, name: 2, process: 3, parentUuid: 5, counter: 8 },
  processDescriptor: { pid: 1, processName: 6 },
  trackEvent: { categoryIids: 3, debugAnnotations: 4, type: 9, nameIid: 10, trackUuid: 11, categories: 22, name: 23, counterValue: 30, flowIds: 47 },
  debugAnnotation: { nameIid: 1, boolValue: 2, intValue: 4, doubleValue: 5, stringValue: 6, name: 10, dictEntries: 11, arrayValues: 12 },
} as const;

/** TrackEvent.Type */
export const TYPE = { sliceBegin: 1, sliceEnd: 2, instant: 3, counter: 4 } as const;
/** TracePacket.SequenceFlags */
export const SEQ = { incrementalStateCleared: 1, needsIncrementalState: 2 } as const;

/** One writer sequence for the whole export. */
const SEQUENCE = 1;
/** Bytes held before drain() hands them on. */
const FLUSH_BYTES = 1 << 20;
/** Entries per interning table: past it (a forged trace's names), strings are written out. */
const MAX_INTERNED = 1 << 16;

/** One interning table: string -> iid (from 1), and what this packet adds to it. */
class Table {
  private readonly ids = new Map<string, number>();
  readonly fresh: [number, string][] = [];
  iid(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      if (this.ids.size >= MAX_INTERNED) return 0;
      id = this.ids.size + 1;
      this.ids.set(s, id);
      this.fresh.push([id, s]);
    }
    return id;
  }
}

export class PerfettoSink implements Sink {
  private readonly w = new ProtoWriter(FLUSH_BYTES + (1 << 16));
  private readonly names = new Table();
  private readonly cats = new Table();
  private readonly args = new Table();
  private first = true;
  private packet = 0;
  private trackEvent = 0;

  /** The metadata is the instant the timeline puts at the start of the scenario's group. */
  begin(): void {}

  track(t: Track): void {
    const w = this.w;
    const d = F.trackDescriptor;
    const packet = w.begin(F.trace.packet);
    w.uint(F.packet.trustedPacketSequenceId, SEQUENCE);
    // The sequence's first packet: the interning tables start empty here.
    if (this.first) { w.uint(F.packet.sequenceFlags, SEQ.incrementalStateCleared); this.first = false; }
    const desc = w.begin(F.packet.trackDescriptor);
    w.uint(d.uuid, t.uuid);
    if (t.parent !== null) w.uint(d.parentUuid, t.parent);
    w.string(d.name, t.name);
    if (t.kind === 'group') { const p = w.begin(d.process); w.uint(F.processDescriptor.pid, t.pid); w.string(F.processDescriptor.processName, t.name); w.end(p); }
    if (t.kind === 'counter') w.end(w.begin(d.counter));
    w.end(desc);
    w.end(packet);
  }

  slice(s: Slice): void {
    const w = this.w;
    const te = F.trackEvent;
    const ev = s.event as unknown as Record<string, ArgValue> | null;
    const fields = s.fields ?? {};
    // Intern first: the packet carries its new entries before the event that uses them.
    const name = this.names.iid(s.name);
    const cat = this.cats.iid(s.cat);
    if (ev) { this.args.iid('summary'); for (const key in ev) if (key !== 'kind') this.args.iid(key); }
    for (const key in fields) this.args.iid(key);
    this.open(s.ts, s.track.uuid, s.dur === null ? TYPE.instant : TYPE.sliceBegin);
    if (name !== 0) w.uint(te.nameIid, name); else w.string(te.name, s.name);
    if (cat !== 0) w.uint(te.categoryIids, cat); else w.string(te.categories, s.cat);
    if (ev) {
      this.annotation('summary', summarize(s.event as never));
      for (const key in ev) if (key !== 'kind') this.annotation(key, hexed(key, ev[key] as ArgValue));
    }
    for (const key in fields) this.annotation(key, fields[key] as ArgValue);
    for (const f of s.flows) w.fixed64(te.flowIds, f.id);
    this.close();
    if (s.dur !== null) { this.open(s.ts + s.dur, s.track.uuid, TYPE.sliceEnd); this.close(); }
  }

  counter(t: Track, ts: number, value: number): void {
    this.open(ts, t.uuid, TYPE.counter);
    this.w.int(F.trackEvent.counterValue, value);
    this.close();
  }

  /** The bytes encoded since the last drain once there are enough of them (or `all`), else null. */
  drain(all = false): Buffer | null {
    return this.w.length > 0 && (all || this.w.length >= FLUSH_BYTES) ? this.w.take() : null;
  }

  /** A TracePacket with a TrackEvent (and any new interned entries), left open for the event's fields. */
  private open(ts: number, track: number, type: number): void {
    const w = this.w;
    this.packet = w.begin(F.trace.packet);
    w.uint(F.packet.timestamp, ts);
    w.uint(F.packet.trustedPacketSequenceId, SEQUENCE);
    w.uint(F.packet.sequenceFlags, SEQ.needsIncrementalState);
    if (this.names.fresh.length + this.cats.fresh.length + this.args.fresh.length > 0) {
      const at = w.begin(F.packet.internedData);
      this.interned(F.internedData.eventCategories, this.cats);
      this.interned(F.internedData.eventNames, this.names);
      this.interned(F.internedData.debugAnnotationNames, this.args);
      w.end(at);
    }
    this.trackEvent = w.begin(F.packet.trackEvent);
    w.uint(F.trackEvent.type, type);
    w.uint(F.trackEvent.trackUuid, track);
  }

  private close(): void {
    this.w.end(this.trackEvent);
    this.w.end(this.packet);
  }

  private interned(field: number, table: Table): void {
    for (const [iid, name] of table.fresh) {
      const at = this.w.begin(field);
      this.w.uint(F.interned.iid, iid);
      this.w.string(F.interned.name, name);
      this.w.end(at);
    }
    table.fresh.length = 0;
  }

  /** A top-level annotation (interned name) or, with `nested`, a dictionary entry (name written out). */
  private annotation(name: string, v: ArgValue, nested = false): void {
    const w = this.w;
    const at = w.begin(nested ? F.debugAnnotation.dictEntries : F.trackEvent.debugAnnotations);
    const iid = nested ? 0 : this.args.iid(name);
    if (iid !== 0) w.uint(F.debugAnnotation.nameIid, iid); else w.string(F.debugAnnotation.name, name);
    this.value(v);
    w.end(at);
  }

  private value(v: ArgValue): void {
    const w = this.w;
    const d = F.debugAnnotation;
    if (typeof v === 'boolean') w.bool(d.boolValue, v);
    else if (typeof v === 'number') { if (Number.isSafeInteger(v)) w.int(d.intValue, v); else w.double(d.doubleValue, v); }
    else if (typeof v === 'string') w.string(d.stringValue, v);
    else if (v === null) w.string(d.stringValue, 'null');
    else if (Array.isArray(v)) for (const x of v) { const at = w.begin(d.arrayValues); this.value(x); w.end(at); }
    else for (const key in v) this.annotation(key, v[key] as ArgValue, true);
  }
}
