// The fuzz harness: a corpus of small valid traces (recorded with small
// chunks so a few kilobytes hold many chunks and checkpoints), and one case
// run end to end with its time and memory bounds.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { Scenario, Variant } from '../../engine/scenario.js';
import { recordToFile } from '../../recorder/record.js';
import type { WriterOptions } from '../../recorder/writer.js';
import { loadScenario } from '../../scenarios/index.js';
import { exercise, FuzzFailure, type Outcome } from './exercise.js';
import { makeCase, Rng } from './mutate.js';

/** Per-case bounds. The cases are a few kilobytes; a healthy case takes milliseconds. */
export const CASE_MS = 5_000;
/** JS heap plus ArrayBuffers after a case (a leak or a runaway allocation shows here). */
export const CASE_MEMORY_BYTES = 512 * 1024 * 1024;

const scratchRoot = (): string => (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());

/** The traces every case starts from; deterministic, so every worker builds the same bytes. */
export function buildCorpus(): Buffer[] {
  const dir = mkdtempSync(join(scratchRoot(), 'iotrace-fuzz-corpus-'));
  try {
    const out: Buffer[] = [];
    const rec = (name: string, sc: Scenario, variant: Variant, opts: WriterOptions): void => {
      const path = join(dir, `${name}.iotrace`);
      recordToFile(sc, { variant }, path, opts);
      out.push(readFileSync(path));
    };
    const dwq = loadScenario('dwq-gpasid');
    rec('dwq-small-chunks', dwq, { pasid: 'translated' }, { chunkEvents: 8, checkpointEvery: 16 });
    rec('dwq-default', dwq, { pasid: 'translated' }, {});
    const stress = loadScenario('stress');
    stress.generate = { builder: 'stress', params: { scale: 25 } };
    rec('stress-25', stress, {}, { chunkEvents: 64, checkpointEvery: 128 });
    rec('iommufd-lifecycle', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 16, checkpointEvery: 32 });
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CaseResult { index: number; ms: number; memory: number; outcome: Outcome | null; failure: string | null; steps: string[]; bytes: number }

/** Write case `index` to `path` and run it; never throws. */
export async function runCase(corpus: readonly Buffer[], seed: number, index: number, path: string, quick = false): Promise<CaseResult> {
  const c = makeCase(corpus, seed, index);
  writeFileSync(path, c.bytes);
  const pickRng = new Rng(c.seed ^ 0x5bd1e995);
  const t0 = performance.now();
  let outcome: Outcome | null = null;
  let failure: string | null = null;
  try {
    outcome = await exercise(path, c.bytes.length, (n) => pickRng.int(n), quick);
  } catch (e) {
    failure = e instanceof FuzzFailure ? `${e.message}\n${e.cause instanceof Error ? e.cause.stack ?? '' : ''}` : `harness: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
  }
  const ms = performance.now() - t0;
  // V8's own counters: process.memoryUsage() reads /proc and cost a third of a millisecond per case.
  const heap = getHeapStatistics();
  const memory = heap.used_heap_size + heap.external_memory;
  if (!failure && ms > CASE_MS) failure = `took ${ms.toFixed(0)} ms (bound ${CASE_MS} ms)`;
  if (!failure && memory > CASE_MEMORY_BYTES) failure = `memory ${(memory / 2 ** 20).toFixed(0)} MiB after the case (bound ${CASE_MEMORY_BYTES / 2 ** 20} MiB)`;
  return { index, ms, memory, outcome, failure, steps: c.steps, bytes: c.bytes.length };
}

export function scratchFile(tag: string): { path: string; done(): void } {
  const dir = mkdtempSync(join(scratchRoot(), `iotrace-fuzz-${tag}-`));
  return { path: join(dir, 'case.iotrace'), done: () => rmSync(dir, { recursive: true, force: true }) };
}
