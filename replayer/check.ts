// Checking what a trace claims against what its events say. The footer
// (counts, fault and violation lists, kinds, digests) and the checkpoints are
// caches of the events: a forged or damaged file can hold a footer that omits
// a fault or a checkpoint of a state that never happened, each with a valid
// CRC. `info` runs the fast check (every block read, its CRC and SHA-256
// compared with the index, every chunk decoded and counted); `info --deep`,
// `verify` and the debugger's background pass add the deep one (every event
// applied from the empty state, every checkpoint compared with the state
// reached, every chunk's state hash recomputed). On an imported trace both
// apply every event: the sections they write are what its log traced
// (replayer/traced.ts), whatever the header says.
import { isDeepStrictEqual } from 'node:util';
import { apply } from '../engine/apply.js';
import { indexedTouch } from '../engine/caches.js';
import { emptyState, SECTION_NAMES } from '../engine/state.js';
import type { State, TraceEvent } from '../engine/types.js';
import type { Touch } from '../engine/apply.js';
import { decodeChunk } from '../trace/chunk.js';
import { chainStep, DIGEST_BYTES, TraceError } from '../trace/format.js';
import { StateHasher } from '../trace/state-codec.js';
import type { TraceReplayer } from './replayer.js';
import { type Traced, TracedSections } from './traced.js';

export interface CheckResult {
  /** Every block read back whole (CRC, and SHA-256 in format 2) and every chunk decoded. */
  whole: boolean;
  /** The footer's events, kinds, faults and violations agree with the events. */
  claimsOk: boolean;
  deep: boolean;
  /** Deep only: every checkpoint equals the state its events build; every chunk's state hash recomputes. */
  checkpointsOk: boolean | null;
  /** What the events themselves say. */
  events: number;
  kinds: Record<string, number>;
  faults: number[];
  violations: number[];
  /** Checkpoint indexes that disagree with the events. */
  badCheckpoints: number[];
  /** Deep only: a checkpoint or chunk state hash was compared with the state the events before it build and is false (certain, even if reading stops later). */
  disproved: boolean;
  /** Each disagreement or damage, one line. */
  problems: string[];
  /** Where reading stopped (damage), or null. */
  stoppedAt: number | null;
  /** The first damage found (a chunk where reading stopped, or a checkpoint that does not read back), or null. */
  damageAt: number | null;
  /** An imported trace: the sections its events write; null for a recorded one. */
  traced: Traced | null;
}

const listText = (xs: readonly number[]): string => (xs.length <= 8 ? xs.join(', ') : `${xs.slice(0, 8).join(', ')}, … (${xs.length})`);

function firstDifference(a: readonly number[], b: readonly number[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `first difference at entry ${i}: footer ${a[i] ?? '(none)'}, events ${b[i] ?? '(none)'}`;
  }
  return '';
}

/** The same state (seq, tick and every cell): how the deep check compares a checkpoint. */
export function sameState(a: State, b: State): boolean {
  if (a.seq !== b.seq || a.tick !== b.tick) return false;
  for (const name of SECTION_NAMES) {
    const x = a.s[name] as Record<string, unknown>;
    const y = b.s[name] as Record<string, unknown>;
    const kx = Object.keys(x);
    if (kx.length !== Object.keys(y).length) return false;
    for (const key of kx) if (!Object.hasOwn(y, key) || !isDeepStrictEqual(x[key], y[key])) return false;
  }
  return true;
}

/**
 * The check, one chunk per step: yields the number of chunks done so far,
 * returns the result. The debugger runs it in idle time; the CLI drains it
 * (checkTrace). Costs one read, hash and decode per chunk, plus (deep) one
 * apply per event and one compare per checkpoint: bounded by the file.
 */
export function* checkSteps(r: TraceReplayer, deep: boolean): Generator<number, CheckResult> {
  const ix = r.index;
  const res: CheckResult = {
    whole: r.truncated === null, claimsOk: true, deep, checkpointsOk: deep ? true : null, events: 0,
    kinds: Object.create(null) as Record<string, number>, faults: [], violations: [], badCheckpoints: [], disproved: false, problems: [], stoppedAt: null, damageAt: null, traced: null,
  };
  if (r.truncated) res.problems.push(`damaged: stopped at byte ${r.truncated.offset}: ${r.truncated.reason}`);
  const state = emptyState();
  const hasher = new StateHasher();
  // Imported traces are bounded (MAX_IMPORT_CELLS), so even the fast pass can afford one apply per event to learn what the log traced.
  const traced = r.header.imported ? new TracedSections() : null;
  const inner: Touch = traced ? (section, key) => { hasher.touch(section, key); traced.touch(section, key); } : hasher.touch;
  // The replayed state's cache lines indexed as a run's are: an invalidation costs what it drops, not the cache.
  const touch = indexedTouch(state, inner);
  let chain: Uint8Array = new Uint8Array(DIGEST_BYTES);
  let cp = 0;
  /** Deep (or imported) and not yet stopped by an event that does not apply. */
  let applying = deep || traced !== null;
  const chunks = ix.chunkOffsets.length;
  for (let c = 0; c < chunks; c++) {
    const offset = ix.chunkOffsets[c] as number;
    let events: TraceEvent[];
    let hash: Uint8Array;
    try {
      const payload = r.chunkPayload(c);
      chain = chainStep(chain, Buffer.from(ix.digests.subarray(c * DIGEST_BYTES, (c + 1) * DIGEST_BYTES)));
      const decoded = decodeChunk(payload, offset);
      events = decoded.events;
      hash = decoded.meta.hash;
      const want = (ix.chunkFirsts[c + 1] ?? ix.events) - (ix.chunkFirsts[c] as number);
      if (decoded.meta.first !== ix.chunkFirsts[c] || decoded.meta.count !== want) throw new TraceError(`chunk holds events ${decoded.meta.first}+${decoded.meta.count}, the index says ${ix.chunkFirsts[c]}+${want}`, offset);
    } catch (e) {
      if (!(e instanceof TraceError)) throw e;
      res.whole = false;
      res.stoppedAt = e.offset;
      res.damageAt ??= e.offset;
      res.problems.push(`chunk ${c}: ${e.message}`);
      break;
    }
    // The chunk read back whole: all of it counts, even when the deep pass below stops inside it (the counts then still add up).
    for (const ev of events) {
      res.kinds[ev.kind] = (res.kinds[ev.kind] ?? 0) + 1;
      if (ev.kind === 'fault') res.faults.push(ev.seq);
      else if (ev.kind === 'violation') res.violations.push(ev.seq);
    }
    res.events += events.length;
    // The footer's copy of the chunk's state hash is a claim too (verify compares the re-run with it).
    if (!Buffer.from(ix.hashes.subarray(c * 16, c * 16 + 16)).equals(Buffer.from(hash))) {
      res.claimsOk = false;
      res.problems.push(`footer's state hash for chunk ${c} (events ${ix.chunkFirsts[c]}..) is not the one the chunk holds`);
    }
    if (applying) {
      for (const ev of events) {
        traced?.next(ev);
        try { apply(state, ev, touch); } catch (e) {
          // Damage inside a whole block: the deep pass stops here, the fast pass (read, decode, count) goes on,
          // so every later event still counts; the checkpoints after it are unchecked, not false.
          res.whole = false;
          res.problems.push(`event ${ev.seq} (${String(ev.kind)}) does not apply to the state: ${(e as Error).message}; checkpoints after it unchecked`);
          res.damageAt ??= offset;
          applying = false;
          if (res.checkpointsOk === true) res.checkpointsOk = null;
          break;
        }
      }
    }
    if (deep && applying && !Buffer.from(hasher.seal(state)).equals(Buffer.from(hash))) {
      res.checkpointsOk = false;
      res.disproved = true;
      res.problems.push(`chunk ${c} (events ${ix.chunkFirsts[c]}..): its state hash is not the hash of the state its events build`);
    }
    // The checkpoints that follow this chunk.
    while (cp < ix.checkpointSeqs.length && (ix.checkpointSeqs[cp] as number) <= res.events - 1) {
      try {
        const stored = r.checkpointAt(cp);
        if (deep && applying && !sameState(stored, state)) {
          res.checkpointsOk = false;
          res.disproved = true;
          res.badCheckpoints.push(cp);
          res.problems.push(`checkpoint after event ${ix.checkpointSeqs[cp]} (byte ${ix.checkpointOffsets[cp]}) holds a state the events do not build`);
        }
      } catch (e) {
        if (!(e instanceof TraceError)) throw e;
        res.whole = false;
        res.badCheckpoints.push(cp);
        res.damageAt ??= e.offset;
        res.problems.push(`checkpoint ${cp}: ${e.message}`);
      }
      cp++;
    }
    yield c + 1;
  }
  if (traced) res.traced = traced.result(applying && res.stoppedAt === null && r.truncated === null);
  return finish(r, res, chain);
}

function finish(r: TraceReplayer, res: CheckResult, chain: Uint8Array): CheckResult {
  const ix = r.index;
  const readAll = res.stoppedAt === null;
  // Claims are compared only over what was read: a damaged file's footer may describe bytes that are gone.
  if (readAll) {
    if (ix.events !== res.events) { res.claimsOk = false; res.problems.push(`footer says ${ix.events} events, the chunks hold ${res.events}`); }
    if (!isDeepStrictEqual(ix.faults, res.faults)) { res.claimsOk = false; res.problems.push(`footer lists faults at ${listText(ix.faults)}; the events have them at ${listText(res.faults)} (${firstDifference(ix.faults, res.faults)})`); }
    if (!isDeepStrictEqual(ix.violations, res.violations)) { res.claimsOk = false; res.problems.push(`footer lists violations at ${listText(ix.violations)}; the events have them at ${listText(res.violations)} (${firstDifference(ix.violations, res.violations)})`); }
    const kinds = new Set([...Object.keys(ix.kinds), ...Object.keys(res.kinds)]);
    for (const k of [...kinds].sort()) {
      if ((ix.kinds[k] ?? 0) !== (res.kinds[k] ?? 0)) { res.claimsOk = false; res.problems.push(`footer counts ${ix.kinds[k] ?? 0} ${k} event(s), the events hold ${res.kinds[k] ?? 0}`); }
    }
    if (r.strongHashes && ix.chain.length === DIGEST_BYTES && !Buffer.from(ix.chain).equals(Buffer.from(chain))) {
      res.claimsOk = false;
      res.problems.push('footer chain value is not the chain over its chunk digests');
    }
  } else res.claimsOk = false;
  if (res.deep && res.checkpointsOk === true && !readAll) res.checkpointsOk = false;
  return res;
}

/** Run the whole check at once (the CLI), with an optional progress callback. */
export function checkTrace(r: TraceReplayer, deep: boolean, progress?: (done: number, total: number) => void): CheckResult {
  const it = checkSteps(r, deep);
  const total = r.index.chunkOffsets.length;
  for (;;) {
    const step = it.next();
    if (step.done) return step.value;
    progress?.(step.value, total);
  }
}

/** Fold a result into the replayer: false claims replaced by the events' own, bad checkpoints dropped. */
export function adoptCheck(r: TraceReplayer, res: CheckResult): void {
  r.adopt({
    kinds: res.kinds, faults: res.faults, violations: res.violations, badCheckpoints: res.badCheckpoints,
    claimsOk: res.claimsOk, checkpointsChecked: res.deep && res.checkpointsOk === true,
  });
}
