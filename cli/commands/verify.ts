// iotrace verify: re-run the scenario stored in a trace and check that the
// engine produces the same events and the same state-hash chain.
import { isDeepStrictEqual } from 'node:util';
import { apply } from '../../engine/apply.js';
import { indexedTouch } from '../../engine/caches.js';
import { ENGINE_VERSION, run } from '../../engine/run.js';
import { emptyState } from '../../engine/state.js';
import { summarize } from '../../engine/summary.js';
import type { TraceEvent } from '../../engine/types.js';
import { validateScenario } from '../../engine/validate.js';
import { StateHasher } from '../../trace/state-codec.js';
import { chunkMeta } from '../../trace/chunk.js';
import { checkTrace } from '../../replayer/check.js';
import { changedFields } from '../../replayer/identity.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { errorLine, FAIL_ON_OPTION, failOnFlag, failure, fieldsText, parse, UsageError } from '../common.js';
import { headerClaims } from '../../replayer/header-claims.js';
import { recordedSchedule } from '../../replayer/schedule.js';
import { verifyImported } from '../verify-imported.js';
import { withTrace } from '../trace.js';
import { paint } from '../term.js';

export const HELP = `usage: iotrace verify <trace> [--json] [--fail-on fault,violation,expect] [--source <log>]

Re-runs the scenario, variant and seed stored in the trace's header and
checks that every event comes out identical and that the state hash after
every chunk matches; then checks everything else the file claims: every
block's checksum and SHA-256 against the index, the footer's event count,
kinds, faults and violations against the events, and every checkpoint
against the state the events build; the header's variant must be one the
scenario has (else FALSE CLAIM, and nothing is re-run under it). Exit 0 when all of it holds, 1 naming
the first divergent event or false claim (or when the trace is damaged and
only a prefix could be checked). --fail-on fault,violation,expect (any
subset; default none) also exits 1 when the verified events hold such a
finding: a CI job can re-check a recorded trace and gate on what it shows.

An imported trace (iotrace import) has no scenario to re-run: verify checks
every digest, footer count and checkpoint, and the header's traced sections
against the sections its events write, and says that the events themselves
are unchecked; --source <log> names the log it was imported from,
checks its SHA-256 against the header and imports it again to compare every
event and the header's account of the log (lines, skipped, folded, traced
sections, the platform inferred from it).`;

/** What the ok line says was checked: a format-1 file has no SHA-256 digests to check, only CRC-32 checksums. */
const agreesText = (strong: boolean): string => (strong
  ? 'every digest, footer count and checkpoint agrees with the events'
  : 'every checksum (CRC-32 only: format 1 has no SHA-256 digests), footer count and checkpoint agrees with the events');

interface Result { ok: boolean; strongHashes: boolean; events: number; checked: number; divergence: { step: number; recorded: string | null; rerun: string | null; fields: string[] } | null; hashMismatch: number | null; engine: { trace: string; now: string }; truncated: boolean; claims: string[] }

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, source: { type: 'string' }, ...FAIL_ON_OPTION }, 1);
  if (values.help) { console.log(HELP); return 0; }
  const failOn = failOnFlag(values['fail-on'], []);
  return withTrace(positionals[0], async (r) => {
    const h = r.header;
    // No header: no scenario to re-run and no engine to name; "the 0 recovered events match" would be a claim about nothing.
    if (r.headerLost !== null) {
      if (values.json) console.log(jsonText({ ok: false, events: 0, checked: 0, headerLost: r.headerLost, truncated: true }));
      else console.log(`${paint('DAMAGED', 'red')}: ${escapeText(r.headerLost)}: no scenario to re-run, nothing verified`);
      return 1;
    }
    // Imported from a real log: nothing to re-run (the reader refuses the label beside a runnable scenario,
    // trace/header.ts); the claims, and with --source the log itself, are checked.
    if (h.imported) return verifyImported(r, h.imported, values.source, values.json === true);
    if (values.source !== undefined) throw new UsageError('--source applies to an imported trace (iotrace import); this one was recorded from a scenario');
    const chunks = r.chunks;
    const res: Result = { ok: true, strongHashes: r.strongHashes, events: r.count, checked: 0, divergence: null, hashMismatch: null, engine: { trace: h.engine, now: ENGINE_VERSION }, truncated: r.truncated !== null, claims: [] };
    const state = emptyState();
    const hasher = new StateHasher();
    // The mirror's cache lines indexed as the run's are: an invalidation costs what it drops.
    const touch = indexedTouch(state, hasher.touch);
    let chunk = 0;
    let n = 0;
    // The header is input like any other: a forged or damaged scenario is a bad-input error, not an engine crash.
    validateScenario(h.scenario, `${r.path} (the trace header's scenario)`);
    // A threaded trace carries its own schedule: the thread each sched event chose (engine/threads.ts).
    const schedule = h.scenario.threads ? recordedSchedule(r) : [];
    // A variant the scenario cannot be recorded under is false whatever the events: nothing to re-run under it.
    const falseHeader = headerClaims(h, null);
    for (const ev of falseHeader.length > 0 ? [] : run(h.scenario, { variant: h.variant, seed: h.seed, schedule })) {
      if (n >= r.count) {
        if (!r.truncated) res.divergence = { step: n, recorded: null, rerun: `${ev.kind}: ${summarize(ev)}`, fields: [] };
        break;
      }
      const rec = r.event(n);
      if (!isDeepStrictEqual(rec, ev)) { res.divergence = { step: n, recorded: `${rec.kind}: ${summarize(rec)}`, rerun: `${ev.kind}: ${summarize(ev)}`, fields: changedFields(rec, ev) }; break; }
      apply(state, ev, touch);
      n++;
      const c = chunks[chunk];
      if (c && n === c.first + c.count) {
        // Against the chunk's own state hash: the footer's copy is a claim, checked with the others below.
        if (!Buffer.from(hasher.seal(state)).equals(Buffer.from(chunkMeta(r.chunkPayload(chunk), c.offset).hash))) { res.hashMismatch = chunk; break; }
        chunk++;
      }
    }
    res.checked = n;
    if (falseHeader.length === 0 && !res.divergence && res.hashMismatch === null && n < r.count) res.divergence = { step: n, recorded: `${r.event(n).kind}: ${summarize(r.event(n))}`, rerun: null, fields: [] };
    // What the file claims besides its events (footer, digests, checkpoints), checked against them.
    const check = checkTrace(r, true);
    res.claims = [...falseHeader, ...check.problems.filter((p) => !p.startsWith('damaged:'))];
    res.ok = !res.divergence && res.hashMismatch === null && !res.truncated && res.claims.length === 0;
    // --fail-on: the findings in the events that were checked (every one, when the trace verified).
    const counts = { fault: 0, violation: 0, expect: 0 };
    if (failOn.size > 0) {
      for (let i = 0; i < res.checked; i += 4096) {
        for (const ev of r.events(i, Math.min(res.checked, i + 4096))) if (ev.kind === 'fault' || ev.kind === 'violation' || ev.kind === 'expect') counts[ev.kind]++;
      }
    }
    const failed = failure(counts, failOn);
    const code = res.ok && !failed ? 0 : 1;
    if (values.json) { console.log(jsonText(failOn.size > 0 ? { ...res, failed } : res)); return code; }
    if (h.engine !== ENGINE_VERSION) console.log(`note: recorded with engine ${escapeText(String(h.engine))}, this is ${ENGINE_VERSION}`);
    if (res.divergence) {
      const d = res.divergence;
      console.log(paint(`DIVERGES at step ${d.step}`, 'red'));
      // Summaries quote the trace's strings: escaped.
      console.log(`  recorded: ${d.recorded === null ? '(trace ends here)' : escapeText(d.recorded)}`);
      console.log(`  re-run:   ${d.rerun === null ? '(engine stops here)' : escapeText(d.rerun)}`);
      // Two events that differ only in their tick or step summarise alike: the fields say where they part.
      if (d.recorded !== null && d.rerun !== null) console.log(`  fields:   ${fieldsText(d.fields)}`);
    } else if (res.hashMismatch !== null) {
      console.log(`state hash differs after chunk ${res.hashMismatch} (events ${chunks[res.hashMismatch]?.first}..): the events match but the state they build does not`);
    } else if (res.truncated) {
      console.log(`damaged trace: the ${n} recovered events match the re-run, the rest could not be checked`);
    }
    for (const p of res.claims) console.log(`${paint('FALSE CLAIM', 'red')}: ${escapeText(p)}`);
    if (falseHeader.length > 0) console.log(`unchecked  the ${r.count} events: not re-run (the header's variant is not one its scenario records under)`);
    if (res.ok) console.log(`${paint('ok', 'green')}: ${n} events identical, ${chunks.length} state hashes match; ${agreesText(r.strongHashes)}`);
    if (failed) errorLine(`exit 1: ${failed}`);
    return code;
  });
}
