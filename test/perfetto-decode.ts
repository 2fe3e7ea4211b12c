// Decode a Perfetto export with exporters/perfetto.proto (protobufjs) into
// tracks, slices (BEGIN/END paired per track), instants, counters and flows,
// as Perfetto's trace processor would read them.
import { join } from 'node:path';
import protobuf from 'protobufjs';

const root = protobuf.loadSync(join(process.cwd(), 'exporters', 'perfetto.proto'));
export const TraceMsg = root.lookupType('perfetto.protos.Trace');

type Value = string | number | boolean | Value[] | { [k: string]: Value };
interface Annotation { name?: string; nameIid?: number; boolValue?: boolean; intValue?: number | { toNumber(): number }; doubleValue?: number; stringValue?: string; dictEntries?: Annotation[]; arrayValues?: Annotation[] }
interface RawEvent { type?: number; trackUuid?: number; name?: string; nameIid?: number; categories?: string[]; categoryIids?: number[]; counterValue?: number; debugAnnotations?: Annotation[]; flowIds?: (number | { toNumber(): number })[] }
interface Interned { iid: number; name: string }
interface RawPacket { timestamp?: number; trustedPacketSequenceId?: number; sequenceFlags?: number; internedData?: { eventCategories?: Interned[]; eventNames?: Interned[]; debugAnnotationNames?: Interned[] }; trackEvent?: RawEvent; trackDescriptor?: { uuid?: number; parentUuid?: number; name?: string; process?: { pid?: number; processName?: string }; counter?: object } }

export interface DTrack { uuid: number; parent: number | null; name: string; kind: 'group' | 'slices' | 'counter'; pid?: number }
export interface DSlice { track: number; name: string; cat: string; ts: number; dur: number | null; args: Record<string, Value>; flows: number[] }
export interface Decoded { packets: number; tracks: Map<number, DTrack>; slices: DSlice[]; counters: { track: number; ts: number; value: number }[] }

const num = (v: number | { toNumber(): number } | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

function value(a: Annotation): Value {
  if (a.dictEntries && a.dictEntries.length > 0) return Object.fromEntries(a.dictEntries.map((d) => [d.name ?? `?iid ${String(d.nameIid)}`, value(d)]));
  if (a.arrayValues && a.arrayValues.length > 0) return a.arrayValues.map(value);
  if (a.boolValue !== undefined && a.boolValue !== null) return a.boolValue;
  if (a.intValue !== undefined && a.intValue !== null) return num(a.intValue);
  if (a.doubleValue !== undefined && a.doubleValue !== null) return a.doubleValue;
  return a.stringValue ?? '';
}

/** The track's path of names from its group: "IOMMU dmar0/IOTLB". */
export const trackPath = (d: Decoded, uuid: number): string => {
  const t = d.tracks.get(uuid);
  if (!t) return `?${uuid}`;
  return t.parent === null ? t.name : `${trackPath(d, t.parent)}/${t.name}`;
};

export function decode(bytes: Uint8Array): Decoded {
  const msg = TraceMsg.toObject(TraceMsg.decode(bytes), { longs: Number, defaults: false }) as { packet?: RawPacket[] };
  const packets = msg.packet ?? [];
  const tracks = new Map<number, DTrack>();
  const slices: DSlice[] = [];
  const counters: Decoded['counters'] = [];
  const open = new Map<number, DSlice[]>();
  // The sequence's interning tables, as trace processor keeps them: an iid is defined once, before its first use.
  const tables = { cats: new Map<number, string>(), names: new Map<number, string>(), args: new Map<number, string>() };
  const define = (t: Map<number, string>, list: Interned[] | undefined): void => {
    for (const e of list ?? []) { if (t.has(e.iid)) throw new Error(`iid ${e.iid} defined twice`); t.set(e.iid, e.name); }
  };
  const lookup = (t: Map<number, string>, iid: number): string => {
    const v = t.get(iid);
    if (v === undefined) throw new Error(`iid ${iid} used before it is defined`);
    return v;
  };
  let cleared = false;
  for (const p of packets) {
    if (p.trustedPacketSequenceId !== 1) throw new Error('a packet without trusted_packet_sequence_id 1');
    if (p.sequenceFlags === 1) cleared = true;
    if (p.trackEvent && (p.sequenceFlags !== 2 || !cleared)) throw new Error('a track event that does not say it needs the incremental state, or before it was cleared');
    define(tables.cats, p.internedData?.eventCategories);
    define(tables.names, p.internedData?.eventNames);
    define(tables.args, p.internedData?.debugAnnotationNames);
    const td = p.trackDescriptor;
    if (td) {
      const uuid = num(td.uuid);
      if (tracks.has(uuid)) throw new Error(`track ${uuid} described twice`);
      tracks.set(uuid, { uuid, parent: td.parentUuid === undefined ? null : num(td.parentUuid), name: td.name ?? '', kind: td.process ? 'group' : td.counter ? 'counter' : 'slices', ...(td.process ? { pid: td.process.pid } : {}) });
      continue;
    }
    const te = p.trackEvent;
    if (!te) throw new Error('a packet with neither a track descriptor nor a track event');
    const track = num(te.trackUuid);
    if (!tracks.has(track)) throw new Error(`an event on track ${track} before its descriptor`);
    const ts = num(p.timestamp);
    const args = Object.fromEntries((te.debugAnnotations ?? []).map((a) => [a.nameIid ? lookup(tables.args, a.nameIid) : a.name ?? '', value(a)]));
    const name = te.nameIid ? lookup(tables.names, te.nameIid) : te.name ?? '';
    const cat = [...(te.categoryIids ?? []).map((i) => lookup(tables.cats, i)), ...(te.categories ?? [])].join(',');
    const base = { track, name, cat, ts, args, flows: (te.flowIds ?? []).map(num) };
    if (te.type === 1) {
      const s: DSlice = { ...base, dur: null };
      slices.push(s);
      open.set(track, [...(open.get(track) ?? []), s]);
    } else if (te.type === 2) {
      // Ends close slices in the order written: each slice's END follows its BEGIN (nesting is by time).
      const list = open.get(track) ?? [];
      const s = list.shift();
      if (!s) throw new Error(`an END on track ${track} with no open slice`);
      s.dur = ts - s.ts;
      if (s.dur < 0) throw new Error(`slice ${s.name} ends before it begins`);
    } else if (te.type === 3) slices.push({ ...base, dur: null });
    else if (te.type === 4) counters.push({ track, ts, value: num(te.counterValue) });
    else throw new Error(`track event of type ${String(te.type)}`);
  }
  for (const [t, list] of open) if (list.length > 0) throw new Error(`${list.length} slices left open on track ${t}`);
  return { packets: packets.length, tracks, slices, counters };
}
