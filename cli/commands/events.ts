// iotrace events: a plain listing of a trace's events.
import { summarize } from '../../engine/summary.js';
import type { EventKind } from '../../engine/types.js';
import { jsonText } from '../../safe/escape.js';
import { write } from '../../safe/stdout.js';
import { parse, UsageError } from '../common.js';
import { eventLine, intArg, withTrace } from '../trace.js';

export const HELP = `usage: iotrace events <trace> [--kind K]... [--from N] [--to N] [--json]

Lists events from step N (default 0) up to but not including --to (default:
the end), one per line: step, tick, kind, summary. --kind keeps only the
given kinds (repeatable). --json prints one JSON object per line.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { kind: { type: 'string', multiple: true }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } }, 1);
  if (values.help) { console.log(HELP); return 0; }
  return withTrace(positionals[0], async (r) => {
    const kinds = new Set<string>(values.kind ?? []);
    for (const k of kinds) if (!/^[a-z][a-z-]*$/.test(k)) throw new UsageError(`--kind: "${k}" is not an event kind`);
    const from = intArg(values.from, '--from', 0);
    const to = Math.min(r.count, intArg(values.to, '--to', r.count));
    const out: string[] = [];
    const step = 4096;
    for (let n = from; n < to; n += step) {
      for (const ev of r.events(n, Math.min(to, n + step))) {
        if (kinds.size > 0 && !kinds.has(ev.kind as EventKind)) continue;
        out.push(values.json ? jsonText(ev) : eventLine(ev.seq, ev.tick, ev.kind, summarize(ev)));
      }
      // Waits while a pipe is full; a reader that went away (| head) ends the listing here, exit 0.
      if (out.length) { await write(`${out.join('\n')}\n`); out.length = 0; }
    }
    return 0;
  });
}
