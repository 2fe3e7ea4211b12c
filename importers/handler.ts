// Handlers from the trace-events lines (or TP_printk formats) they read: the
// line is kept verbatim beside the code that maps it, and compiled once.
import type { Ctx, Handler } from './ctx.js';
import { matcher, traceEvent, type Fields } from './format.js';

/** A handler for a QEMU event, from its trace-events line(s) (one per QEMU version that printed it differently). */
export function qemuEvent(lines: string | string[], run: (f: Fields, c: Ctx) => void, opts: { takes?: boolean } = {}): [string, Handler] {
  const ms = (Array.isArray(lines) ? lines : [lines]).map(traceEvent);
  const name = ms[0]?.event as string;
  if (ms.some((m) => m.event !== name)) throw new Error(`qemuEvent: lines name different events (${ms.map((m) => m.event).join(', ')})`);
  return [name, { formats: ms, run, ...(opts.takes ? { takes: true } : {}) }];
}

/** A handler for a kernel tracepoint, from its TP_printk format(s) (C strings) and the names of what they print. */
export function tracepoint(name: string, formats: [string, string[]][], run: (f: Fields, c: Ctx) => void): [string, Handler] {
  return [name, { formats: formats.map(([fmt, names]) => matcher(name, fmt, names)), run }];
}
