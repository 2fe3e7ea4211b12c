// Mutators that forge VALID files end to end, through test/forge.ts (which
// re-encodes chunks and checkpoints and recomputes every CRC, offset,
// SHA-256 digest and the chain): lies that pass every checksum, so the
// oracle's "the readers must not present this as the original" branch is
// exercised often, not only when a blind mutation happens to line up.
//
// * forge-event: one event of one chunk edited (a field; its tick, scenario
//   step or source line `obs`, which diff must not take for the same event
//   at the same time; a kind swapped for another event's, two events swapped, a fault turned into
//   something else or something into a fault). Half of them are perfect
//   forgeries: the footer's counts, fault and violation lists, the chunks'
//   state hashes, the footer's hash list and every checkpoint after the edit
//   are recomputed from the forged events, so only a re-run (verify) or a
//   comparison with the original (diff) can tell.
// * forge-checkpoint: the events are left alone and one checkpoint holds a
//   state that never happened (a cell dropped, changed or added, the tick
//   moved), everything else valid.
// * forge-footer: a valid footer that lies (a fault omitted or invented, a
//   kind count off by one, the event count changed, a checkpoint dropped
//   from the index).
// * forge-bytes: a few bytes of one chunk or checkpoint payload changed with
//   the digests following the new bytes (garbage that every hash vouches for).
// * forge-header: the header lies about what made the events (a variant axis
//   the scenario does not have, another value of an axis, another seed, a
//   step's command or argument changed, an `imported` source added to a
//   recorded trace); the events and every digest are untouched, so only a
//   re-run of the header's own scenario can tell (oracle.ts headerTruth).
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { apply } from '../../engine/apply.js';
import { cloneState, emptyState, SECTION_NAMES } from '../../engine/state.js';
import type { Observed, State, TraceEvent } from '../../engine/types.js';
import { decodeGaps } from '../../trace/bits.js';
import { decodeChunk, encodeChunk } from '../../trace/chunk.js';
import { BLOCK } from '../../trace/format.js';
import { StateHasher } from '../../trace/state-codec.js';
import { forge, gapsOf, type Forgery } from '../forge.js';
import { scratchRoot } from './corpus.js';
import type { Rng } from './mutate.js';
import { parseTrace } from './trace-bytes.js';

type Result = { buf: Buffer; note: string };

/** forge() reads a path: the buffer goes through one scratch file per thread. */
function forgeBuffer(buf: Buffer, f: Forgery): Buffer {
  const p = join(scratchRoot(), `iotrace-fuzz-forge-${process.pid}-${threadId}.iotrace`);
  writeFileSync(p, buf);
  try { return forge(p, f); } finally { try { unlinkSync(p); } catch { /* gone */ } }
}

/** Every chunk's events (throws on a trace an earlier mutation already broke). */
function chunksOf(buf: Buffer): TraceEvent[][] {
  return parseTrace(buf).blocks.filter((b) => b.type === BLOCK.events).map((b) => decodeChunk(b.payload, 0).events);
}

const BASE = new Set(['seq', 'tick', 'step', 'kind']);

function editValue(v: unknown, rng: Rng, strings: readonly string[]): unknown {
  // NaN and the infinities: values the engine never writes, which JSON would print as null.
  if (typeof v === 'number') return rng.pick([v + 1, v - 1, v ^ 1, 0, v * 2 + 4096, -1, 2 ** 31, NaN, Infinity, -Infinity]);
  if (typeof v === 'string') return rng.chance(0.7) && strings.length > 1 ? rng.pick(strings.filter((s) => s !== v).concat(['x'])) : `${v}x`;
  if (typeof v === 'boolean') return !v;
  if (v === null) return rng.pick([0, 1, '00:02.0', NaN, Infinity]);
  if (Array.isArray(v)) return v.length ? v.slice(1) : [0];
  if (typeof v === 'object') {
    const o = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    if (keys.length) { const k = rng.pick(keys); o[k] = editValue(o[k], rng, strings); } else o.x = 1;
    return o;
  }
  return 0;
}

/** One edit of chunk `events` (a copy); `all` is every event of the trace (donors). */
function editChunk(events: TraceEvent[], all: readonly TraceEvent[], rng: Rng): { events: TraceEvent[]; note: string; breaking?: boolean } {
  const out = events.map((e) => ({ ...e })) as TraceEvent[];
  const i = rng.int(out.length);
  const ev = out[i] as TraceEvent & Record<string, unknown>;
  const strings = [...new Set(all.flatMap((e) => Object.values(e).filter((x): x is string => typeof x === 'string')))].slice(0, 64);
  const faults = all.filter((e) => e.kind === 'fault');
  const mode = rng.int(7);
  if (mode === 6) {
    // A value of another type: an event whose fields do not fit its kind, behind valid digests.
    const fields = Object.keys(ev).filter((k) => !BASE.has(k));
    if (fields.length) {
      const k = rng.pick(fields);
      ev[k] = rng.pick([null, 5, -1, 'x', '', [], {}, [5], true, 2 ** 53, 1.5]);
      return { events: out, note: `event ${ev.seq} (${ev.kind}) field ${k} of another type`, breaking: true };
    }
  }
  if (mode === 0 || mode === 1) {
    const fields = Object.keys(ev).filter((k) => !BASE.has(k));
    if (fields.length) {
      const k = rng.pick(fields);
      ev[k] = editValue(ev[k], rng, strings);
      return { events: out, note: `event ${ev.seq} (${ev.kind}) field ${k} edited` };
    }
  }
  if (mode === 2) {
    // When the event happened: tick, step, or an imported event's source line (added to a recorded one).
    const which = rng.pick(['tick', 'step', 'obs'] as const);
    if (which === 'obs') {
      const had = ev.obs !== undefined;
      ev.obs = had ? editValue(ev.obs, rng, strings) as Observed : { line: 1 + rng.int(1000), ts: rng.chance(0.5) ? null : rng.int(1e9), raw: 'forged source line' };
      return { events: out, note: `event ${ev.seq} (${ev.kind}) source line (obs) ${had ? 'edited' : 'added'}` };
    }
    ev[which] = ev[which] + rng.pick([1, -1, 1000]);
    return { events: out, note: `event ${ev.seq} ${which} moved` };
  }
  if (mode === 3 && out.length > 1) {
    const j = (i + 1 + rng.int(out.length - 1)) % out.length;
    const a = out[i] as TraceEvent;
    const b = out[j] as TraceEvent;
    out[i] = { ...b, seq: a.seq, tick: a.tick, step: a.step };
    out[j] = { ...a, seq: b.seq, tick: b.tick, step: b.step };
    return { events: out, note: `events ${a.seq} and ${b.seq} swapped` };
  }
  if (mode === 4) {
    // A fault hidden (turned into its neighbour) or one invented (a real fault's fields on another event).
    const f = out.findIndex((e) => e.kind === 'fault');
    if (f >= 0 && (rng.chance(0.5) || faults.length === 0)) {
      const donor = out[f === 0 ? 1 : f - 1] ?? all.find((e) => e.kind !== 'fault');
      if (donor) {
        const at = out[f] as TraceEvent;
        out[f] = { ...donor, seq: at.seq, tick: at.tick, step: at.step };
        return { events: out, note: `fault ${at.seq} replaced by a ${donor.kind}` };
      }
    }
    if (faults.length) {
      const donor = rng.pick(faults);
      out[i] = { ...donor, seq: ev.seq, tick: ev.tick, step: ev.step };
      return { events: out, note: `event ${ev.seq} (${ev.kind}) replaced by a fault` };
    }
  }
  // Another event's kind and fields at this position.
  const donor = rng.pick(all);
  out[i] = { ...donor, seq: ev.seq, tick: ev.tick, step: ev.step };
  return { events: out, note: `event ${ev.seq} (${ev.kind}) replaced by a ${donor.kind}` };
}

function gapsAsBuffer(xs: number[]): Uint8Array { return gapsOf(xs); }

export function forgeEvent(buf: Buffer, rng: Rng): Result {
  const chunks = chunksOf(buf);
  if (!chunks.length) return { buf, note: 'no chunk' };
  const all = chunks.flat();
  const c = rng.int(chunks.length);
  const edit = editChunk(chunks[c] as TraceEvent[], all, rng);
  const perfect = !edit.breaking && rng.chance(0.5);
  if (!perfect) {
    return { buf: forgeBuffer(buf, { chunk: (i, evs) => (i === c ? edit.events : evs) }), note: `${edit.note} in chunk ${c}; digests recomputed, footer claims and state hashes stale` };
  }
  // The perfect forgery: every derived value recomputed from the forged events.
  const state: State = emptyState();
  const hasher = new StateHasher();
  const hashes: Uint8Array[] = [];
  const kinds: Record<string, number> = {};
  const faults: number[] = [];
  const violations: number[] = [];
  let events = 0;
  const out = forgeBuffer(buf, {
    chunk: (i, evs) => (i === c ? edit.events : evs),
    bytes: (kind, _i, payload) => {
      if (kind !== 'E') return payload;
      const { meta, events: evs } = decodeChunk(payload, 0);
      for (const ev of evs) {
        // An edit the model cannot apply is not a perfect forgery: the mutation is skipped.
        apply(state, ev, hasher.touch);
        kinds[ev.kind] = (kinds[ev.kind] ?? 0) + 1;
        if (ev.kind === 'fault') faults.push(ev.seq);
        else if (ev.kind === 'violation') violations.push(ev.seq);
      }
      events += evs.length;
      const hash = hasher.seal(state);
      hashes.push(Buffer.from(hash));
      return Buffer.from(hash).equals(Buffer.from(meta.hash)) ? payload : Buffer.from(encodeChunk(evs, hash));
    },
    checkpoint: () => cloneState(state),
    footer: (doc) => {
      doc.events = events;
      doc.kinds = kinds;
      doc.faults = gapsAsBuffer(faults);
      doc.violations = gapsAsBuffer(violations);
      doc.hashes = Buffer.concat(hashes);
    },
  });
  return { buf: out, note: `${edit.note} in chunk ${c}; a perfect forgery (claims, state hashes, checkpoints recomputed)` };
}

/** A state that never happened: one cell dropped, changed or added, or the tick moved. */
function editState(st: State, rng: Rng): { state: State; note: string } {
  const s = cloneState(st);
  const full = SECTION_NAMES.filter((n) => Object.keys(s.s[n] as object).length > 0);
  const mode = rng.int(4);
  if (mode === 3 || full.length === 0) { s.tick += rng.pick([1, -1, 7]); return { state: s, note: 'tick moved' }; }
  const name = rng.pick(full);
  const sec = s.s[name] as Record<string, unknown>;
  const key = rng.pick(Object.keys(sec));
  if (mode === 0) { delete sec[key]; return { state: s, note: `${name} ${key} dropped` }; }
  if (mode === 1) { sec[key] = editValue(sec[key], rng, ['00:02.0', 'x']); return { state: s, note: `${name} ${key} changed` }; }
  sec[`${key}~forged`] = sec[key];
  return { state: s, note: `${name} gains a cell` };
}

export function forgeCheckpoint(buf: Buffer, rng: Rng): Result {
  const n = parseTrace(buf).blocks.filter((b) => b.type === BLOCK.state).length;
  if (!n) return { buf, note: 'no checkpoint' };
  const target = rng.int(n);
  let note = '';
  const out = forgeBuffer(buf, {
    checkpoint: (i, st) => {
      if (i !== target) return st;
      const e = editState(st, rng);
      note = e.note;
      return e.state;
    },
  });
  return { buf: out, note: `checkpoint ${target}: ${note}; events intact, everything else valid` };
}

export function forgeFooter(buf: Buffer, rng: Rng): Result {
  const all = chunksOf(buf).flat();
  const faults = all.filter((e) => e.kind === 'fault').map((e) => e.seq);
  const mode = rng.int(7);
  let note = '';
  const out = forgeBuffer(buf, {
    footer: (doc) => {
      if (mode === 5) {
        // The index's first sequence number of a chunk off by one: every block and digest genuine.
        const firsts = decodeGaps(doc.chunkFirsts as Uint8Array, 1 << 30, 2 ** 53) ?? [];
        if (firsts.length > 1) { const c = 1 + rng.int(firsts.length - 1); firsts[c] = (firsts[c] as number) + rng.pick([1, -1]); doc.chunkFirsts = gapsAsBuffer(firsts); note = `chunk ${c}'s first sequence number off by one`; } else note = 'one chunk: nothing to shift';
        return;
      }
      if (mode === 6) {
        // The footer's copy of a chunk's state hash changed (the chunk's own is genuine).
        const hashes = Buffer.from(doc.hashes as Uint8Array);
        if (hashes.length) { const at = rng.int(hashes.length); hashes[at] = (hashes[at] as number) ^ (1 << rng.int(8)); doc.hashes = hashes; note = `the footer's state hash of chunk ${Math.floor(at / 16)} changed`; } else note = 'no hashes';
        return;
      }
      if (mode === 0 && faults.length) { const drop = rng.int(faults.length); doc.faults = gapsAsBuffer(faults.filter((_, i) => i !== drop)); note = `fault ${faults[drop]} omitted`; return; }
      if (mode <= 1 && all.length) {
        const at = rng.pick(all.filter((e) => e.kind !== 'fault').map((e) => e.seq).concat([0]));
        doc.faults = gapsAsBuffer([...new Set([...faults, at])].sort((a, b) => a - b));
        note = `fault invented at ${at}`;
        return;
      }
      if (mode === 2) {
        const kinds = { ...(doc.kinds as Record<string, number>) };
        const ks = Object.keys(kinds);
        const k = ks.length ? rng.pick(ks) : 'fault';
        kinds[k] = (kinds[k] ?? 0) + rng.pick([1, -1]);
        doc.kinds = kinds;
        note = `kind ${k} count off by one`;
        return;
      }
      if (mode === 3) { doc.events = (doc.events as number) + rng.pick([1, -1, 1024]); note = 'event count changed'; return; }
      const seqs = doc.checkpointSeqs as number[];
      const offs = doc.checkpointOffsets as number[];
      if (seqs.length) { const i = rng.int(seqs.length); seqs.splice(i, 1); offs.splice(i, 1); note = `checkpoint ${i} dropped from the index`; } else note = 'nothing to drop';
    },
  });
  return { buf: out, note: `${note}; every CRC and digest valid` };
}

export function forgeBytes(buf: Buffer, rng: Rng): Result {
  const blocks = parseTrace(buf).blocks;
  const nE = blocks.filter((b) => b.type === BLOCK.events).length;
  const nS = blocks.filter((b) => b.type === BLOCK.state).length;
  const kind: 'E' | 'S' = nS > 0 && rng.chance(0.3) ? 'S' : 'E';
  const target = rng.int(kind === 'E' ? nE : nS);
  let note = '';
  const out = forgeBuffer(buf, {
    bytes: (k, i, payload) => {
      if (k !== kind || i !== target || payload.length === 0) return payload;
      const p = Buffer.from(payload);
      const n = 1 + rng.int(3);
      for (let j = 0; j < n; j++) { const at = rng.int(p.length); p[at] = rng.chance(0.5) ? (p[at] as number) ^ (1 << rng.int(8)) : rng.u32() & 0xff; }
      note = `${n} byte(s) of ${k === 'E' ? 'chunk' : 'checkpoint'} ${i} changed`;
      return p;
    },
  });
  return { buf: out, note: `${note}; digests follow the new bytes` };
}

/** Another step of the same kind's command, or one numeric argument changed; null when the scenario has no such step. */
function editStep(steps: Record<string, unknown>[], rng: Rng): string | null {
  if (!steps.length) return null;
  const i = rng.int(steps.length);
  const step = { ...steps[i] } as Record<string, unknown>;
  const cmds = [...new Set(steps.map((s) => s.cmd).filter((c): c is string => typeof c === 'string' && c !== step.cmd))];
  if (typeof step.cmd === 'string' && cmds.length && rng.chance(0.5)) {
    step.cmd = rng.pick(cmds);
    steps[i] = step;
    return `step ${i}'s cmd now ${String(step.cmd)}`;
  }
  const nums = Object.keys(step).filter((k) => typeof step[k] === 'number');
  if (!nums.length) return null;
  const k = rng.pick(nums);
  step[k] = (step[k] as number) + rng.pick([1, -1, 4096]);
  steps[i] = step;
  return `step ${i}'s ${k} changed`;
}

/** An `imported` source as the importer writes one: a recorded trace's header then claims it was read from a log. */
const IMPORTED = { tool: 'qemu', file: 'qemu.log', sha256: '0'.repeat(64), bytes: 1, lines: 1, forms: ['bare'], t0: null, skipped: {}, folded: 0, malformed: 0, malformedLines: [], traced: [] };

export function forgeHeader(buf: Buffer, rng: Rng): Result {
  const mode = rng.int(5);
  let note = '';
  const out = forgeBuffer(buf, {
    header: (doc) => {
      const scenario = doc.scenario as { variants?: Record<string, Record<string, unknown>>; steps?: Record<string, unknown>[] };
      const variant = { ...(doc.variant as Record<string, string>) };
      const axes = Object.keys(scenario.variants ?? {});
      if (mode === 0 || (mode === 1 && !axes.length)) {
        variant[rng.pick(['iommu', 'hardening', 'zz'])] = 'on';
        doc.variant = variant;
        note = `variant ${JSON.stringify(variant)}`;
      } else if (mode === 1) {
        const axis = rng.pick(axes);
        const values = Object.keys(scenario.variants?.[axis] ?? {}).filter((v) => v !== variant[axis]);
        variant[axis] = values.length ? rng.pick(values) : 'bogus';
        doc.variant = variant;
        note = `variant ${axis}=${variant[axis]}`;
      } else if (mode === 2) {
        doc.seed = (doc.seed as number) + 1;
        note = `seed ${String(doc.seed)}`;
      } else if (mode === 3) {
        const steps = [...(scenario.steps ?? [])];
        const edit = editStep(steps, rng);
        doc.scenario = { ...scenario, steps };
        note = edit ?? 'no step to edit';
      } else {
        doc.imported = { ...IMPORTED };
        note = 'an imported source added beside the scenario';
      }
    },
  });
  return { buf: out, note: `header: ${note}; events and digests untouched` };
}
