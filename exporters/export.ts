// An export of a trace's events [from, to) of the chosen kinds, as JSON
// lines, Chrome trace-event JSON or a Perfetto protobuf trace. Streams a
// batch of events at a time through the writer `put`: memory stays bounded
// by the state, one batch and one time cell, whatever the trace's length.
import { cloneState } from '../engine/state.js';
import type { EventKind } from '../engine/types.js';
import type { Replayer } from '../replayer/api.js';
import { jsonText } from '../safe/escape.js';
import { ChromeSink } from './chrome.js';
import { PerfettoSink } from './perfetto.js';
import { metadataOf, Timeline } from './timeline.js';

export const FORMATS = ['jsonl', 'chrome', 'perfetto'] as const;
export type Format = (typeof FORMATS)[number];

export interface ExportOptions {
  format: Format;
  /** First step exported (inclusive) and the step after the last (exclusive). */
  from: number;
  to: number;
  /** Only these kinds (null: every kind). */
  kinds: readonly EventKind[] | null;
  /** Called after each batch with the events read so far in the window. */
  progress?: (done: number, total: number) => void;
}

const BATCH = 4096;

/** Write the export through `put`; returns how many events it holds. */
export async function exportTrace(r: Replayer, opts: ExportOptions, put: (chunk: string | Buffer) => Promise<void>): Promise<number> {
  const from = Math.max(0, Math.min(opts.from, r.count));
  const to = Math.max(from, Math.min(opts.to, r.count));
  const kinds = opts.kinds ? new Set<string>(opts.kinds) : null;
  let shown = 0;
  if (opts.format === 'jsonl') {
    for (let n = from; n < to; n += BATCH) {
      const lines: string[] = [];
      for (const ev of r.events(n, Math.min(to, n + BATCH))) if (!kinds || kinds.has(ev.kind)) lines.push(jsonText(ev));
      shown += lines.length;
      if (lines.length > 0) await put(`${lines.join('\n')}\n`);
      opts.progress?.(Math.min(to, n + BATCH) - from, to - from);
    }
    return shown;
  }
  const sink = opts.format === 'chrome' ? new ChromeSink() : new PerfettoSink();
  const meta = metadataOf(r.header, { from, to, kinds: opts.kinds });
  // The state before the window: counters start from it, tracks are placed by it. A checkpoint is a cache
  // a forged file can get wrong, so it is used only once checked (info --deep, the debugger's pass); else
  // every event before the window is applied from the first (O(from), bounded by the file).
  const start = r.stateUnchecked(from - 1) === null ? r.stateAt(from - 1) : r.replayedState(from - 1);
  const timeline = new Timeline(r.header, cloneState(start), sink, kinds, meta);
  for (let n = from; n < to; n += BATCH) {
    for (const ev of r.events(n, Math.min(to, n + BATCH))) {
      timeline.push(ev);
      if (!kinds || kinds.has(ev.kind)) shown++;
    }
    const chunk = sink.drain();
    if (chunk !== null) await put(chunk);
    opts.progress?.(Math.min(to, n + BATCH) - from, to - from);
  }
  timeline.finish();
  const rest = sink.drain(true);
  if (rest !== null) await put(rest);
  return shown;
}
