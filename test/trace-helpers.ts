// Shared by the trace tests: small scenarios recorded with small chunks so a
// few thousand events span many chunks and checkpoints.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../engine/run.js';
import type { Scenario, Variant } from '../engine/scenario.js';
import type { TraceEvent } from '../engine/types.js';
import { recordToFile } from '../recorder/record.js';
import type { WriterOptions } from '../recorder/writer.js';
import { loadScenario } from '../scenarios/index.js';

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'iotrace-trace-'));

export function stressScenario(scale: number): Scenario {
  const sc = loadScenario('stress');
  sc.generate = { builder: 'stress', params: { scale } };
  return sc;
}

export function recordTo(dir: string, name: string, sc: Scenario, variant: Variant = {}, opts: WriterOptions = { chunkEvents: 256, checkpointEvery: 1024 }, seed = 0) {
  const path = join(dir, `${name}.iotrace`);
  const summary = recordToFile(sc, { variant, seed }, path, opts);
  return { path, summary };
}

export const engineEvents = (sc: Scenario, variant: Variant = {}, seed = 0): TraceEvent[] => [...run(sc, { variant, seed })];
