// One fuzz case run end to end with its time and memory bounds: a mutated
// trace through the readers and the oracle (exercise.ts), or a mutated
// scenario through the scenario commands (scenario-case.ts). The corpus is
// in corpus.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Corpus, scratchRoot } from './corpus.js';
import { exercise, FuzzFailure, type Outcome, type ReaderRates } from './exercise.js';
import { makeCase, Rng } from './mutate.js';
import { OracleFailure } from './oracle.js';
import { threadCpuMs } from './thread-cpu.js';
import { scenarioCase } from './scenario-case.js';

export { Corpus };

/**
 * Per-case bounds, in CPU time (the worker thread's own user + system time,
 * thread-cpu.ts), so a machine loaded by other work, or the campaign's other
 * worker, does not fail a case. A healthy small case takes milliseconds.
 */
export const CASE_MS = 5_000;
/** A case on a large trace (~200 000 events): each of its readers makes a pass over a few MB (about 0.2-0.8 s each on this machine). */
export const CASE_MS_BIG = 20_000;
/** JS heap plus ArrayBuffers after a case (a leak or a runaway allocation shows here). */
export const CASE_MEMORY_BYTES = 512 * 1024 * 1024;

/** How often the costlier readers run: the TUI and the stdout / file-system faults, per case. */
export const DEFAULT_RATES: ReaderRates = { tui: 0.03, fault: 0.05, scale: 1 };

export interface CaseResult {
  index: number; ms: number; cpuMs: number; memory: number; outcome: Outcome | null; failure: string | null; steps: string[]; bytes: number;
  kind: 'trace' | 'scenario'; big: boolean;
}

type TuiCase = typeof import('./tui-case.js').tuiCase;
let tuiCase: TuiCase | null = null;

/** Write case `index` to `path` and run it; never throws. */
export async function runCase(corpus: Corpus, seed: number, index: number, path: string, rates: ReaderRates = DEFAULT_RATES): Promise<CaseResult> {
  const c = makeCase(corpus, seed, index);
  writeFileSync(path, c.bytes);
  const pickRng = new Rng(c.seed ^ 0x5bd1e995);
  const t0 = performance.now();
  const cpu0 = threadCpuMs();
  let outcome: Outcome | null = null;
  let failure: string | null = null;
  try {
    if (c.kind === 'scenario') outcome = await scenarioCase(c.bytes, (n) => pickRng.int(n), (p) => pickRng.chance(p));
    else {
      const original = (c.big ? corpus.big() : corpus.small)[c.base]!;
      // The debugger costs blessed's start-up: loaded on the first case that draws it.
      const tui = rates.tui > 0 ? async (...a: Parameters<TuiCase>): Promise<void> => { tuiCase ??= (await import('./tui-case.js')).tuiCase; return tuiCase(...a); } : null;
      outcome = await exercise(path, c.bytes.length, original, pickRng, c.steps, c.big ? { ...rates, scale: 0.4 } : rates, tui);
    }
  } catch (e) {
    if (e instanceof FuzzFailure) failure = `${e.message}\n${e.cause instanceof Error ? e.cause.stack ?? '' : ''}`;
    else if (e instanceof OracleFailure) failure = `oracle: ${e.message}`;
    else failure = `harness: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
  }
  const ms = performance.now() - t0;
  const cpuMs = threadCpuMs() - cpu0;
  // V8's own counters: process.memoryUsage() reads /proc and cost a third of a millisecond per case.
  const heap = getHeapStatistics();
  const memory = heap.used_heap_size + heap.external_memory;
  const bound = c.big ? CASE_MS_BIG : CASE_MS;
  if (!failure && cpuMs > bound) failure = `took ${cpuMs.toFixed(0)} ms of CPU (bound ${bound} ms; ${ms.toFixed(0)} ms wall; slowest readers ${slowest(outcome)})`;
  if (!failure && memory > CASE_MEMORY_BYTES) failure = `memory ${(memory / 2 ** 20).toFixed(0)} MiB after the case (bound ${CASE_MEMORY_BYTES / 2 ** 20} MiB)`;
  return { index, ms, cpuMs, memory, outcome, failure, steps: c.steps, bytes: c.bytes.length, kind: c.kind, big: c.big };
}

const slowest = (o: Outcome | null): string => Object.entries(o?.ms ?? {}).sort(([, a], [, b]) => b - a).slice(0, 4).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ');

export function scratchFile(tag: string): { path: string; done(): void } {
  const dir = mkdtempSync(join(scratchRoot(), `iotrace-fuzz-${tag}-`));
  return { path: join(dir, 'case.iotrace'), done: () => rmSync(dir, { recursive: true, force: true }) };
}
