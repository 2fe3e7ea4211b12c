// The timeline as Chrome trace-event JSON (chrome://tracing, and Perfetto's
// legacy JSON importer): a pid per group named by process_name, a tid per
// track named by thread_name, complete events ('X') for slices, instants
// ('i'), counters ('C'), flows as 's' / 't' events bound to the enclosing
// slice, and the trace's scenario, variant and seed under "metadata".
// Timestamps are microseconds (the format's unit), so ns are fractions.
import type { ArgValue } from '../engine/types.js';
import { jsonText } from '../safe/escape.js';
import { annotations, type Metadata, type Sink, type Slice, type Track } from './timeline.js';

/** Events held before drain() hands them on. */
const FLUSH_EVENTS = 4096;

const us = (ns: number): number => ns / 1000;

export class ChromeSink implements Sink {
  private lines: string[] = [];
  private first = true;
  private head = '';

  begin(meta: Metadata): void {
    this.head = `{"displayTimeUnit":"ns","metadata":${jsonText({ 'iotrace-title': meta.title, ...meta.fields })},"traceEvents":[\n`;
  }

  track(t: Track): void {
    if (t.kind === 'group') this.push({ ph: 'M', name: 'process_name', pid: t.pid, tid: 0, args: { name: t.name } });
    else if (t.kind === 'slices') this.push({ ph: 'M', name: 'thread_name', pid: t.pid, tid: t.tid, args: { name: t.name } });
  }

  slice(s: Slice): void {
    const { pid, tid } = s.track;
    const ts = us(s.ts);
    const args = s.event ? annotations(s.event) : s.fields ?? {};
    if (s.dur === null) this.push({ name: s.name, cat: s.cat, ph: 'i', s: 't', ts, pid, tid, args });
    else this.push({ name: s.name, cat: s.cat, ph: 'X', ts, dur: us(s.dur), pid, tid, args });
    // A flow event binds to the slice around it on the same thread: put it inside this one.
    const at = us(s.ts + (s.dur ?? 0) / 2);
    for (const f of s.flows) this.push({ name: 'flow', cat: 'flow', ph: f.first ? 's' : 't', id: f.id, ts: at, pid, tid, ...(f.first ? {} : { bp: 'e' }) });
  }

  counter(t: Track, ts: number, value: number): void {
    this.push({ name: t.name, ph: 'C', ts: us(ts), pid: t.pid, tid: 0, args: { value } });
  }

  /** The JSON written since the last drain once there is enough of it (or `all`, which also closes the document), else null. */
  drain(all = false): string | null {
    if (!all && this.lines.length < FLUSH_EVENTS) return null;
    const body = this.lines.length > 0 ? `${this.first ? '' : ',\n'}${this.lines.join(',\n')}` : '';
    if (this.lines.length > 0) this.first = false;
    this.lines = [];
    const text = `${this.head}${body}${all ? '\n]}\n' : ''}`;
    this.head = '';
    return text.length > 0 ? text : null;
  }

  private push(o: Record<string, ArgValue | Record<string, ArgValue>>): void { this.lines.push(jsonText(o)); }
}
