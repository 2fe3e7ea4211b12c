// iotrace events: a listing of a trace's events, filtered by the same
// matcher as the TUI's search (replayer/search.ts).
import { EVENT_KINDS, summarize } from '../../engine/summary.js';
import type { EventKind } from '../../engine/types.js';
import type { SearchQuery } from '../../replayer/api.js';
import { FAMILIES, kindsOf, matches } from '../../replayer/search.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { write } from '../../safe/stdout.js';
import { errorLine, parse, UsageError } from '../common.js';
import { didYouMean } from '../suggest.js';
import { eventLine, intArg, withTrace } from '../trace.js';

export const HELP = `usage: iotrace events <trace> [--kind K]... [--rid BB:DD.F] [--pasid N] [--cmd NAME]
                     [--thread T] [--grep TEXT] [--from N] [--to N] [--json]

Lists events from step --from (default 0) up to but not including --to
(default: the end), one per line: step, tick, kind, summary (--json: one
JSON object per line; docs/events.md lists every kind and its fields).
Filters, all of which must hold (the TUI's / search uses the same matcher):

--kind   an event kind (pasid-write, fault, ...) or a family (ioctl, table,
         translation, invalidation, fault, violation, kernel, guest);
         repeat or comma-separate for any of several
--rid    a requester id, bus:dev.fn (00:02.0), or a mediated device's
         name: the event's own, one in its arguments or outputs, or the
         device a VFIO ioctl names (dev=)
--pasid  a PASID (decimal or 0x hex) the event carries anywhere: host,
         guest, virtual, an IOASID or SMMU SSID, inside ioctl and kernel-call
         arguments and outputs, ENQCMD's MSR value
--cmd    an ioctl or kernel call by name (IOMMU_HWPT_ALLOC, ioasid_alloc)
--thread the thread of a threaded run whose step produced the event
--grep   case-insensitive text in the one-line summary

When nothing matches, a note on stderr says so and why it may be (no event
of that kind in the trace); exit 0 either way.`;

const RID = /^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i;
const KIND_WORDS: readonly string[] = [...new Set<string>([...EVENT_KINDS, ...FAMILIES])];

/** --kind words (repeated or comma-separated) as kinds; an unknown word is one line with did-you-mean. */
export function kindFlags(words: string[] | undefined): EventKind[] | undefined {
  if (!words || words.length === 0) return undefined;
  const out: EventKind[] = [];
  for (const word of words.flatMap((w) => w.split(','))) {
    const ks = kindsOf(word);
    if (!ks) {
      const shown = word.length > 40 ? `${word.slice(0, 40)}...` : word;
      throw new UsageError(`--kind: "${shown}" is not an event kind or family${didYouMean(word, KIND_WORDS)} (families: ${FAMILIES.join(', ')}; kinds: iotrace events --help, docs/events.md)`);
    }
    out.push(...ks);
  }
  return [...new Set(out)];
}

/** A PASID given as decimal or 0x hex, 0..2^32-1. */
export function pasidFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^(0x[0-9a-f]{1,8}|\d{1,10})$/i.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 0xffffffff)) throw new UsageError(`--pasid takes a PASID, decimal or 0x hex (0..0xffffffff), got "${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    kind: { type: 'string', multiple: true }, rid: { type: 'string' }, pasid: { type: 'string' }, cmd: { type: 'string' }, thread: { type: 'string' }, grep: { type: 'string' },
    from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' },
  }, 1);
  if (values.help) { console.log(HELP); return 0; }
  const q: SearchQuery = {};
  const kinds = kindFlags(values.kind);
  if (kinds) q.kinds = kinds;
  if (values.rid !== undefined) {
    // bus:dev.fn (00:02.0), or the name a platform gives a mediated device (mdev0).
    if (!RID.test(values.rid) && !/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/.test(values.rid)) throw new UsageError(`--rid takes a requester id bus:dev.fn such as 00:02.0 (or a mediated device's name), got "${values.rid.length > 40 ? `${values.rid.slice(0, 40)}...` : values.rid}"`);
    q.rid = values.rid.toLowerCase();
  }
  const pasid = pasidFlag(values.pasid);
  if (pasid !== undefined) q.pasid = pasid;
  if (values.cmd !== undefined) q.cmd = values.cmd;
  if (values.grep !== undefined) q.text = values.grep;
  if (values.thread !== undefined) q.thread = values.thread;
  const filtered = Object.keys(q).length > 0;
  return withTrace(positionals[0], async (r) => {
    const from = intArg(values.from, '--from', 0);
    const to = Math.min(r.count, intArg(values.to, '--to', r.count));
    if (values.to !== undefined && values.from !== undefined && from > to) throw new UsageError(`--from ${from} is past --to ${to}`);
    const out: string[] = [];
    const step = 4096;
    let shown = 0;
    // Kinds seen in the range, counted from the events themselves (the footer's counts are an unchecked cache).
    const seen = new Set<string>();
    for (let n = from; n < to; n += step) {
      for (const ev of r.events(n, Math.min(to, n + step))) {
        seen.add(ev.kind);
        if (filtered && !matches(ev, q)) continue;
        shown++;
        out.push(values.json ? jsonText(ev) : eventLine(ev.seq, ev.tick, ev.kind, summarize(ev)));
      }
      // Waits while a pipe is full; a reader that went away (| head) ends the listing here, exit 0.
      if (out.length) { await write(`${out.join('\n')}\n`); out.length = 0; }
    }
    if (shown === 0 && filtered) {
      const absent = (kinds ?? []).filter((k) => !seen.has(k));
      const why = kinds && absent.length === kinds.length ? `; those steps hold no ${kinds.length === 1 ? `${kinds[0]} event` : `event of kinds ${kinds.length > 4 ? `${kinds.slice(0, 4).join(', ')}, ...` : kinds.join(', ')}`}` : '';
      errorLine(`no event matches ${describeQuery(q)} in steps ${from}..${Math.max(from, to) - 1} of ${escapeText(r.path)}${why}`);
    } else if (shown === 0 && from >= to) errorLine(`no event in steps ${from}..${to} (the trace has steps 0..${r.count - 1})`);
    return 0;
  });
}

function describeQuery(q: SearchQuery): string {
  const parts: string[] = [];
  if (q.kinds) parts.push(`--kind ${q.kinds.length > 4 ? `(${q.kinds.length} kinds)` : q.kinds.join(',')}`);
  if (q.rid !== undefined) parts.push(`--rid ${q.rid}`);
  if (q.pasid !== undefined) parts.push(`--pasid ${q.pasid}`);
  if (q.cmd !== undefined) parts.push(`--cmd ${escapeText(q.cmd)}`);
  if (q.thread !== undefined) parts.push(`--thread ${escapeText(q.thread)}`);
  if (q.text !== undefined) parts.push(`--grep ${JSON.stringify(q.text)}`);
  return parts.join(' ');
}
