// The timeline as Perfetto's native trace: a protobuf `Trace` of
// `TracePacket`s holding `TrackDescriptor`s and `TrackEvent`s. Written with
// exporters/protobuf.ts against the field numbers below, which
// exporters/perfetto.proto declares (a subset of Perfetto's
// perfetto_trace.proto with the same names and numbers); the tests decode
// every export with that .proto. Interning is not used: every packet stands
// alone, so any window of packets is a valid trace.
import type { ArgValue } from '../engine/types.js';
import { ProtoWriter } from './protobuf.js';
import type { Sink, Slice, Track } from './timeline.js';

/** Field numbers (perfetto.protos.*), as in exporters/perfetto.proto. */
export const F = {
  trace: { packet: 1 },
  packet: { timestamp: 8, trustedPacketSequenceId: 10, trackEvent: 11, trackDescriptor: 60 },
  trackDescriptor: { uuid: 1, name: 2, process: 3, parentUuid: 5, counter: 8 },
  processDescriptor: { pid: 1, processName: 6 },
  trackEvent: { debugAnnotations: 4, type: 9, trackUuid: 11, categories: 22, name: 23, counterValue: 30, flowIds: 47 },
  debugAnnotation: { boolValue: 2, intValue: 4, doubleValue: 5, stringValue: 6, name: 10, dictEntries: 11, arrayValues: 12 },
} as const;

/** TrackEvent.Type */
export const TYPE = { sliceBegin: 1, sliceEnd: 2, instant: 3, counter: 4 } as const;

/** One writer sequence for the whole export. */
const SEQUENCE = 1;
/** Bytes held before drain() hands them on. */
const FLUSH_BYTES = 1 << 20;

export class PerfettoSink implements Sink {
  private readonly w = new ProtoWriter(FLUSH_BYTES + (1 << 16));

  /** The metadata is the instant the timeline puts at the start of the scenario's group. */
  begin(): void {}

  track(t: Track): void {
    const w = this.w;
    const d = F.trackDescriptor;
    w.message(F.trace.packet, () => {
      w.uint(F.packet.trustedPacketSequenceId, SEQUENCE);
      w.message(F.packet.trackDescriptor, () => {
        w.uint(d.uuid, t.uuid);
        if (t.parent !== null) w.uint(d.parentUuid, t.parent);
        w.string(d.name, t.name);
        if (t.kind === 'group') w.message(d.process, () => { w.uint(F.processDescriptor.pid, t.pid); w.string(F.processDescriptor.processName, t.name); });
        if (t.kind === 'counter') w.message(d.counter, () => {});
      });
    });
  }

  slice(s: Slice): void {
    const te = F.trackEvent;
    this.event(s.ts, s.track.uuid, s.dur === null ? TYPE.instant : TYPE.sliceBegin, () => {
      this.w.string(te.name, s.name);
      this.w.string(te.categories, s.cat);
      this.annotations(s.args);
      for (const f of s.flows) this.w.fixed64(te.flowIds, f.id);
    });
    if (s.dur !== null) this.event(s.ts + s.dur, s.track.uuid, TYPE.sliceEnd, () => {});
  }

  counter(t: Track, ts: number, value: number): void {
    this.event(ts, t.uuid, TYPE.counter, () => this.w.int(F.trackEvent.counterValue, value));
  }

  /** The bytes encoded since the last drain once there are enough of them (or `all`), else null. */
  drain(all = false): Buffer | null {
    return this.w.length > 0 && (all || this.w.length >= FLUSH_BYTES) ? this.w.take() : null;
  }

  private event(ts: number, track: number, type: number, body: () => void): void {
    const w = this.w;
    w.message(F.trace.packet, () => {
      w.uint(F.packet.timestamp, ts);
      w.uint(F.packet.trustedPacketSequenceId, SEQUENCE);
      w.message(F.packet.trackEvent, () => {
        w.uint(F.trackEvent.type, type);
        w.uint(F.trackEvent.trackUuid, track);
        body();
      });
    });
  }

  private annotations(args: Record<string, ArgValue>): void {
    for (const [name, v] of Object.entries(args)) this.w.message(F.trackEvent.debugAnnotations, () => { this.w.string(F.debugAnnotation.name, name); this.value(v); });
  }

  private value(v: ArgValue): void {
    const w = this.w;
    const d = F.debugAnnotation;
    if (typeof v === 'boolean') w.bool(d.boolValue, v);
    else if (typeof v === 'number') { if (Number.isSafeInteger(v)) w.int(d.intValue, v); else w.double(d.doubleValue, v); }
    else if (typeof v === 'string') w.string(d.stringValue, v);
    else if (v === null) w.string(d.stringValue, 'null');
    else if (Array.isArray(v)) for (const x of v) w.message(d.arrayValues, () => this.value(x));
    else for (const [name, x] of Object.entries(v)) w.message(d.dictEntries, () => { w.string(d.name, name); this.value(x); });
  }
}
