// The oracle: what is TRUE about a mutated trace, computed from the original
// (unmutated corpus) trace's events and from the events a reader can
// actually read from the mutated file, so that every reader's answer can be
// checked against it rather than merely "returned or threw a TraceError".
//
// R, the readable events: the mutated file opened by the replayer, its
// chunks read in order until the first TraceError. The rules:
//
// * R is a prefix of the original's events — or, when it is not (a block
//   re-framed with a valid CRC; a forgery whose digests were recomputed), the
//   readers must not present the file as the original: verify exits 1, diff
//   against the original says not identical.
// * Claims match the events: info's counts, first fault, fault and violation
//   lists and kinds are R's; it says whole only when every indexed chunk and
//   checkpoint read back (CRC and SHA-256) and R is all of the index; it
//   exits 1 exactly when a whole file's footer disagrees with R.
// * States are true: `state --at N` (which replays from event 0) is the state
//   R's events build (for N inside the original prefix: the original's
//   state); `state --at first-fault` lands on R's first fault.
// * Checkpoints: a readable checkpoint that is not the state its events
//   build is flagged by `info --deep` (and never used after the deep check
//   was adopted).
import { isDeepStrictEqual } from 'node:util';
import { apply } from '../../engine/apply.js';
import { canonicalState, cloneState, emptyState } from '../../engine/state.js';
import type { State, TraceEvent } from '../../engine/types.js';
import { TraceReplayer } from '../../replayer/replayer.js';
import { jsonText } from '../../safe/escape.js';
import { decodeChunk } from '../../trace/chunk.js';
import { chainStep, DIGEST_BYTES, TraceError } from '../../trace/format.js';
import type { TraceEntry } from './corpus.js';
import { sameState } from '../../replayer/check.js';

/** A broken rule: the case fails with this message. */
export class OracleFailure extends Error {
  constructor(readonly rule: string, detail: string) { super(`${rule}: ${detail}`); this.name = 'OracleFailure'; }
}

/** A rule every answer must keep: a broken one fails the case (no rule is excused as already known). */
export function expectThat(ok: boolean, rule: string, detail: () => string): void {
  if (!ok) throw new OracleFailure(rule, detail());
}

/** The events R cannot be applied past (a forged event whose fields do not fit its kind). */
export class ApplyFails extends Error {
  constructor(readonly seq: number, cause: unknown) { super(`event ${seq} does not apply: ${cause instanceof Error ? cause.message : String(cause)}`); this.name = 'ApplyFails'; }
}

export interface Claims { events: number; kinds: Record<string, number>; faults: number[]; violations: number[] }

export interface Truth {
  original: TraceEntry;
  /** TraceReplayer.open refused the file (bad magic, version ...): every reader must refuse it too. */
  openError: TraceError | null;
  /** The mutated file, open for the whole case (R is read through it). */
  r: TraceReplayer | null;
  /** |R|. */
  count: number;
  /** Events the index (footer or recovery scan) announces. */
  indexCount: number;
  /** The TraceError that ended R short of the index, or null when R is all of it. */
  stop: TraceError | null;
  /** Recovered from damage at open (no usable footer). */
  truncated: boolean;
  /** What R's events say. */
  events: Claims;
  /** What the file claims (its index as opened: footer, or the recovery scan's counts). */
  claimed: Claims;
  /** Format 2 and the footer's chain is the chain over its digests. */
  chainOk: boolean;
  /** Events 0..lcp-1 of R are the original's (deep-equal: tick, step and obs included; seq is positional). */
  lcp: number;
  /** R is a prefix of the original's events. */
  prefix: boolean;
  /** R is all of the original's events. */
  equal: boolean;
  /** Every checkpoint in the index reads back (CRC, SHA-256, its sequence number). */
  checkpointsReadable: boolean;
  /** The footer's copy of each read chunk's state hash is the one the chunk holds. */
  hashesOk: boolean;
  /** R stopped at a chunk whose block is whole (its bytes are the ones the digest names and decode): the index, not the block, is false. */
  stopAtWholeBlock: boolean;
}

const kindsOf = (k: Readonly<Record<string, number>>): Record<string, number> => Object.fromEntries(Object.keys(k).filter((x) => (k[x] ?? 0) !== 0).sort().map((x) => [x, k[x] as number]));

export function sameClaims(a: Claims, b: Claims): boolean {
  return a.events === b.events && isDeepStrictEqual(kindsOf(a.kinds), kindsOf(b.kinds)) && isDeepStrictEqual(a.faults, b.faults) && isDeepStrictEqual(a.violations, b.violations);
}

/** Read R and everything the rules need. Throws only for what the reader itself must never do (a non-TraceError). */
export function readTruth(path: string, original: TraceEntry): Truth {
  const t: Truth = {
    original, openError: null, r: null, count: 0, indexCount: 0, stop: null, truncated: false,
    events: { events: 0, kinds: {}, faults: [], violations: [] }, claimed: { events: 0, kinds: {}, faults: [], violations: [] },
    chainOk: true, lcp: 0, prefix: true, equal: false, checkpointsReadable: true, hashesOk: true, stopAtWholeBlock: false,
  };
  let r: TraceReplayer;
  try { r = TraceReplayer.open(path); } catch (e) {
    if (e instanceof TraceError) { t.openError = e; t.equal = false; return t; }
    throw e;
  }
  t.r = r;
  t.truncated = r.truncated !== null;
  t.indexCount = r.count;
  const ix = r.index;
  t.claimed = { events: ix.events, kinds: { ...ix.kinds }, faults: [...ix.faults], violations: [...ix.violations] };
  if (r.strongHashes && ix.chain.length === DIGEST_BYTES) {
    let chain: Uint8Array = new Uint8Array(DIGEST_BYTES);
    for (let c = 0; c < ix.chunkOffsets.length; c++) chain = chainStep(chain, Buffer.from(ix.digests.subarray(c * DIGEST_BYTES, (c + 1) * DIGEST_BYTES)));
    t.chainOk = Buffer.from(chain).equals(Buffer.from(ix.chain));
  }
  const orig = original.replayer;
  let diverged = false;
  const chunks = r.chunks;
  for (let at = 0; at < chunks.length; at++) {
    const c = chunks[at] as (typeof chunks)[number];
    let evs: TraceEvent[];
    try { evs = r.events(c.first, c.first + c.count); } catch (e) {
      if (e instanceof TraceError) { t.stop = e; t.stopAtWholeBlock = blockWhole(r, at); break; }
      throw e;
    }
    const own = decodeChunk(r.chunkPayload(at), 0).meta.hash;
    if (!Buffer.from(own).equals(Buffer.from(ix.hashes.subarray(at * 16, at * 16 + 16)))) t.hashesOk = false;
    const want = c.first < orig.count ? orig.events(c.first, c.first + c.count) : [];
    for (let i = 0; i < evs.length; i++) {
      const ev = evs[i] as TraceEvent;
      const k = t.events.kinds;
      k[ev.kind] = (k[ev.kind] ?? 0) + 1;
      if (ev.kind === 'fault') t.events.faults.push(ev.seq);
      else if (ev.kind === 'violation') t.events.violations.push(ev.seq);
      if (!diverged && i < want.length && isDeepStrictEqual(ev, want[i])) t.lcp++;
      else diverged = true;
    }
    t.count += evs.length;
  }
  t.events.events = t.count;
  t.prefix = t.lcp === t.count;
  t.equal = t.prefix && t.count === orig.count;
  for (let i = 0; i < ix.checkpointSeqs.length; i++) {
    try { r.checkpointAt(i); } catch (e) {
      if (!(e instanceof TraceError)) throw e;
      t.checkpointsReadable = false;
    }
  }
  return t;
}

/** Chunk c's block reads back (CRC, and SHA-256 where the format has it) and decodes. */
function blockWhole(r: TraceReplayer, c: number): boolean {
  try { decodeChunk(r.chunkPayload(c), 0); return true; } catch (e) {
    if (e instanceof TraceError) return false;
    throw e;
  }
}

/** R's event n (n < count). */
export function eventOfR(t: Truth, n: number): TraceEvent { return (t.r as TraceReplayer).event(n); }

/**
 * The state after event n that R's events build, from the empty state (n <
 * count). Inside the original prefix it is the original's (the original
 * replayer, whose checkpoints the recorder wrote); past it, the original's
 * state at the divergence plus R's own events. Throws ApplyFails when an
 * event on the way does not apply. The result is a copy.
 */
export function truthState(t: Truth, n: number): State {
  if (n < 0) return emptyState();
  if (n < t.lcp) return cloneState(t.original.replayer.stateAt(n));
  const s = t.lcp > 0 ? cloneState(t.original.replayer.stateAt(t.lcp - 1)) : emptyState();
  for (let k = t.lcp; k <= n; k++) {
    const ev = eventOfR(t, k);
    try { apply(s, ev); } catch (e) { throw new ApplyFails(k, e); }
  }
  return s;
}

/** A state as `state --json` prints it (tick and sections), parsed back. */
export function stateJson(s: State): { tick: number; sections: Record<string, Record<string, unknown>> } {
  const c = canonicalState(s);
  return JSON.parse(jsonText({ tick: c.tick, sections: Object.fromEntries(c.sections.map(([name, cells]) => [name, Object.fromEntries(cells)])) })) as { tick: number; sections: Record<string, Record<string, unknown>> };
}

export { sameState };

/**
 * R's states in increasing order of n, each built once: the original's inside
 * the original prefix, then R's events applied one by one (linear, not one
 * replay per question). Throws ApplyFails as truthState does.
 */
export class TruthWalk {
  private s: State | null = null;
  private at = -1;
  constructor(private readonly t: Truth) {}
  /** The state after event n (n never smaller than the previous call's); do not modify it. */
  stateAt(n: number): State {
    const t = this.t;
    if (n < t.lcp) return t.original.replayer.stateAt(n);
    if (!this.s) { this.s = t.lcp > 0 ? cloneState(t.original.replayer.stateAt(t.lcp - 1)) : emptyState(); this.at = t.lcp - 1; }
    for (; this.at < n; this.at++) {
      const ev = eventOfR(t, this.at + 1);
      try { apply(this.s, ev); } catch (e) { throw new ApplyFails(this.at + 1, e); }
    }
    return this.s;
  }
}

/**
 * Checkpoints of the mutated file that read back but hold a state the
 * events before them do not build (only those R covers and whose events apply).
 */
export function falseCheckpoints(t: Truth): number[] {
  const r = t.r;
  if (!r) return [];
  const out: number[] = [];
  const ix = r.index;
  const walk = new TruthWalk(t);
  let last = -1;
  for (let i = 0; i < ix.checkpointSeqs.length; i++) {
    const seq = ix.checkpointSeqs[i] as number;
    if (seq >= t.count || seq < last) continue;
    last = seq;
    let stored: State;
    try { stored = r.checkpointAt(i); } catch (e) {
      if (e instanceof TraceError) continue;
      throw e;
    }
    let truth: State;
    try { truth = walk.stateAt(seq); } catch (e) {
      if (e instanceof ApplyFails) break;
      throw e;
    }
    if (!sameState(stored, truth)) out.push(i);
  }
  return out;
}

/** The first event of R that does not apply (from the empty state), or null. */
export function firstUnappliable(t: Truth): number | null {
  if (t.count === 0 || t.lcp === t.count) return null;
  try { new TruthWalk(t).stateAt(t.count - 1); } catch (e) {
    if (e instanceof ApplyFails) return e.seq;
    throw e;
  }
  return null;
}

export function closeTruth(t: Truth): void { t.r?.close(); }

/**
 * Whether an imported header's `traced` list is false by R's events, found
 * here and not by asking the reader: the sections R's events write (every
 * event but the importer's platform event 0, applied in order from the empty
 * state until one does not apply) against the list. A section the events
 * write that the list leaves out is false; one the list names that they do
 * not write is false only when every event was read and applied (an unread
 * event might write it). null: not an imported header.
 */
export function tracedFalse(t: Truth): boolean | null {
  const imported = t.r?.header.imported;
  if (!imported) return null;
  const seen = new Set<string>();
  let counting = false;
  const s = emptyState();
  let complete = t.stop === null && !t.truncated;
  for (let n = 0; n < t.count; n++) {
    const ev = eventOfR(t, n);
    counting = !(ev.seq === 0 && ev.kind === 'platform');
    try { apply(s, ev, (section) => { if (counting) seen.add(section); }); } catch { complete = false; break; }
  }
  const listed = new Set(imported.traced);
  const missing = [...seen].some((x) => !listed.has(x));
  const extra = [...listed].some((x) => !seen.has(x));
  return missing || (extra && complete);
}
