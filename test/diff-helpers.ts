// Shared by the diff tests: event streams edited the ways two runs differ
// (an inserted, removed or changed event), written to trace files with the
// recorder's own writer so the index (hash chain, chunk checksums) is real.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINE_VERSION, run } from '../engine/run.js';
import type { Scenario, Variant } from '../engine/scenario.js';
import type { TraceEvent } from '../engine/types.js';
import { FORMAT_VERSION } from '../trace/format.js';
import { recordToFile } from '../recorder/record.js';
import { TraceWriter, type WriterOptions } from '../recorder/writer.js';
import { loadScenario } from '../scenarios/index.js';

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'iotrace-diff-'));

export function stress(scale: number): Scenario {
  const sc = loadScenario('stress');
  sc.generate = { builder: 'stress', params: { scale } };
  return sc;
}

export const events = (sc: Scenario, variant: Variant = {}, seed = 0): TraceEvent[] => [...run(sc, { variant, seed })];

/** Renumber seq after an edit (the recorder insists on consecutive numbers). */
export const renumber = (evs: TraceEvent[]): TraceEvent[] => evs.map((ev, i) => ({ ...ev, seq: i }));

/** An IOTLB invalidation a driver might add: it drops nothing, so it only shows as an event. */
export function extraInval(at: TraceEvent): TraceEvent {
  return { seq: 0, tick: at.tick, step: at.step, kind: 'iotlb-inval', iommu: 'dmar0', desc: 0x2, granularity: 'domain', did: 0x7ff, pasid: null, addr: null, npages: null, dropped: 0 };
}

export function insertAt(evs: TraceEvent[], n: number, ev?: TraceEvent): TraceEvent[] {
  return renumber([...evs.slice(0, n), ev ?? extraInval(evs[n] as TraceEvent), ...evs.slice(n)]);
}

export const removeAt = (evs: TraceEvent[], n: number): TraceEvent[] => renumber([...evs.slice(0, n), ...evs.slice(n + 1)]);

export function changeAt(evs: TraceEvent[], n: number, fields: Record<string, unknown>): TraceEvent[] {
  return evs.map((ev, i) => (i === n ? ({ ...ev, ...fields } as TraceEvent) : ev));
}

export function write(dir: string, name: string, sc: Scenario, evs: readonly TraceEvent[], opts: WriterOptions = { chunkEvents: 256, checkpointEvery: 1024 }): string {
  const path = join(dir, `${name}.iotrace`);
  const w = new TraceWriter(path, { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario: sc, variant: {}, seed: 0 }, opts);
  for (const ev of evs) w.push(ev);
  w.finish();
  return path;
}

/** dwq-gpasid recorded under pasid=identity and pasid=translated: the pair the diff issue names. */
export function recordDwqPair(): { id: string; tr: string } {
  const dir = tmp();
  const sc = loadScenario('dwq-gpasid');
  const id = join(dir, 'identity.iotrace');
  const tr = join(dir, 'translated.iotrace');
  recordToFile(sc, { variant: { pasid: 'identity' } }, id);
  recordToFile(sc, { variant: { pasid: 'translated' } }, tr);
  return { id, tr };
}
