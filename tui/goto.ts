// What `:` accepts: an event number (40, #40, +5, -5), a scenario step
// (s19), a tick (t13), first-fault, first-violation, last. Ticks never go
// back, nor do scenario steps in a trace without threads, so those are a
// binary search over the events (checked, then a scan when the order does
// not hold); a threaded trace's steps interleave, so they are scanned for.
import type { TraceEvent } from '../engine/types.js';
import type { Replayer } from '../replayer/api.js';

export type GotoTarget =
  | { n: number; note?: string }
  | { error: string }
  | { scan: (ev: TraceEvent) => boolean; what: string };

export const GOTO_LABEL = 'go to (#event, +N, -N, s<scenario step>, t<tick>, first-fault, first-violation, last): ';

/** The first event whose key(ev) >= want, when key never decreases along the trace. */
function firstAtLeast(r: Replayer, key: (ev: TraceEvent) => number, want: number): number {
  let lo = 0;
  let hi = r.count;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (key(r.event(mid)) < want) lo = mid + 1; else hi = mid; }
  return lo;
}

/** Where a monotone field reaches `want`: exactly, the next one after, or a scan when the binary search's answer is not the first. */
function byOrder(r: Replayer, key: (ev: TraceEvent) => number, want: number, what: string): GotoTarget {
  const n = firstAtLeast(r, key, want);
  const at = n < r.count ? key(r.event(n)) : null;
  const before = n > 0 ? key(r.event(n - 1)) : null;
  if (before !== null && before >= want) return { scan: (ev) => key(ev) === want, what }; // not ordered after all (a forged trace)
  if (at === want) return { n };
  if (at === null) return { error: `no ${what} and none after it (the trace ends at #${r.count - 1})` };
  return { n, note: `no event of ${what}; went to the next, ${what.replace(/\d+$/, String(at))}` };
}

export function gotoTarget(r: Replayer, text: string, cursor: number): GotoTarget {
  const s = text.trim().toLowerCase();
  const last = r.count - 1;
  if (/^#?\d+$/.test(s)) return { n: Number(s.replace('#', '')) };
  if (/^[+-]\d+$/.test(s)) return { n: cursor + Number(s) };
  if (s === 'first-fault' || s === 'f') return r.faults[0] !== undefined ? { n: r.faults[0] } : { error: 'this trace has no fault' };
  if (s === 'first-violation' || s === 'v') return r.violations[0] !== undefined ? { n: r.violations[0] } : { error: 'this trace has no violation' };
  if (s === 'last' || s === '$') return { n: last };
  let m = /^s(?:tep)?\s*(\d+)$/.exec(s);
  if (m) {
    const want = Number(m[1]);
    const what = `scenario step ${want}`;
    if (r.header.scenario.threads) return { scan: (ev) => ev.step === want, what };
    return byOrder(r, (ev) => ev.step, want, what);
  }
  m = /^t(?:ick)?\s*(\d+)$/.exec(s);
  if (m) return byOrder(r, (ev) => ev.tick, Number(m[1]), `tick ${Number(m[1])}`);
  return { error: `cannot go to "${text.trim()}": ${GOTO_LABEL.replace(/^go to \(|\): $/g, '')}` };
}
