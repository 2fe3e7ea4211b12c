// npm run fuzz -- --cases N [--seed S] [--workers W] [--from I] [--case I]
//
// A long fuzz campaign over the same cases test/fuzz.test.ts runs a few
// thousand of: case i of seed S is always the same bytes, so a failure is
// re-run alone with --case i. Cases run in worker threads; the main thread
// is a watchdog: a worker whose current case has not finished within
// HANG_MS of CPU time (or HANG_WALL_MS of wall time, for a case that waits
// on nothing) is terminated and the case recorded as a hang; a worker that dies
// (heap limit) records its current case as a memory failure. Each worker
// also checks the per-case time and memory bounds (harness.ts).
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Corpus, CASE_MEMORY_BYTES, CASE_MS, CASE_MS_BIG, runCase, scratchFile, type CaseResult } from './harness.js';

const HANG_MS = 30_000;
/** A case that burns no CPU but never finishes (a promise nobody settles) is a hang too. */
const HANG_WALL_MS = 300_000;
/** The process's CPU time, ms: a loaded machine slows a case's wall clock, not this. */
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const BATCH = 500;
const HEAP_MB = 512;

interface Batch { from: number; to: number }
interface Failure { index: number; failure: string; steps: string[] }
interface Tally {
  maxMs: number; maxMemory: number; opened: number; truncated: number; traceErrors: number; usageErrors: number;
  /** Cases whose readable events are not a prefix of the original's (the oracle's "lie" branch). */
  lies: number;
  /** Lies that info calls whole: every digest recomputed, only verify and diff can tell. */
  forgedWhole: number;
  /** Cases holding a checkpoint that reads back but is false. */
  falseCheckpoints: number;
  scenarioCases: number; bigCases: number;
  /** Times each reader ran. */
  readers: Record<string, number>;
  /** The slowest run of each reader, ms. */
  readerMaxMs: Record<string, number>;
  maxBigMs: number;
}
interface BatchDone extends Tally { type: 'done'; from: number; to: number }

function emptyTally(): Tally {
  return { maxMs: 0, maxMemory: 0, opened: 0, truncated: 0, traceErrors: 0, usageErrors: 0, lies: 0, forgedWhole: 0, falseCheckpoints: 0, scenarioCases: 0, bigCases: 0, readers: {}, readerMaxMs: {}, maxBigMs: 0 };
}

function count(t: Tally, r: CaseResult): void {
  if (r.big) t.maxBigMs = Math.max(t.maxBigMs, r.ms); else t.maxMs = Math.max(t.maxMs, r.ms);
  for (const [name, ms] of Object.entries(r.outcome?.ms ?? {})) t.readerMaxMs[name] = Math.max(t.readerMaxMs[name] ?? 0, ms);
  t.maxMemory = Math.max(t.maxMemory, r.memory);
  const o = r.outcome;
  if (r.kind === 'scenario') t.scenarioCases++;
  if (r.big) t.bigCases++;
  if (!o) return;
  if (o.opened) { t.opened++; if (o.opened.truncated) t.truncated++; }
  t.traceErrors += o.traceErrors;
  t.usageErrors += o.usageErrors;
  if (o.lie) t.lies++;
  if (o.forgedWhole) t.forgedWhole++;
  if (o.falseCheckpoints > 0) t.falseCheckpoints++;
  for (const name of o.readers) t.readers[name] = (t.readers[name] ?? 0) + 1;
}

function merge(into: Tally, m: Tally): void {
  into.maxMs = Math.max(into.maxMs, m.maxMs);
  into.maxBigMs = Math.max(into.maxBigMs, m.maxBigMs);
  for (const [name, ms] of Object.entries(m.readerMaxMs)) into.readerMaxMs[name] = Math.max(into.readerMaxMs[name] ?? 0, ms);
  into.maxMemory = Math.max(into.maxMemory, m.maxMemory);
  for (const k of ['opened', 'truncated', 'traceErrors', 'usageErrors', 'lies', 'forgedWhole', 'falseCheckpoints', 'scenarioCases', 'bigCases'] as const) into[k] += m[k];
  for (const [name, n] of Object.entries(m.readers)) into.readers[name] = (into.readers[name] ?? 0) + n;
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function workerMain(): Promise<void> {
  const { seed, slot } = workerData as { seed: number; slot: SharedArrayBuffer };
  const current = new Int32Array(slot);
  const corpus = new Corpus();
  const file = scratchFile(`w${process.pid}`);
  const port = parentPort!;
  port.on('message', async (b: Batch | 'exit') => {
    if (b === 'exit') { file.done(); corpus.done(); process.exit(0); }
    const done: BatchDone = { type: 'done', from: b.from, to: b.to, ...emptyTally() };
    for (let i = b.from; i < b.to; i++) {
      Atomics.store(current, 0, i);
      Atomics.add(current, 1, 1);
      const r = await runCase(corpus, seed, i, file.path);
      // Failures go out at once: a batch cut short by a hang or a crash loses none.
      if (r.failure) port.postMessage({ type: 'fail', index: i, failure: r.failure, steps: r.steps });
      count(done, r);
    }
    Atomics.store(current, 0, -1);
    port.postMessage(done);
  });
  port.postMessage({ type: 'ready' });
}

async function single(seed: number, index: number): Promise<number> {
  const corpus = new Corpus();
  const file = scratchFile('single');
  const r = await runCase(corpus, seed, index, file.path);
  corpus.done();
  console.log(JSON.stringify({ index, seed, kind: r.kind, big: r.big, steps: r.steps, bytes: r.bytes, ms: r.ms, outcome: r.outcome, failure: r.failure }, null, 2));
  console.log(`case bytes left in ${file.path}${r.kind === 'scenario' ? ' (a scenario JSON file)' : ''}`);
  return r.failure ? 1 : 0;
}

async function campaign(argv: string[]): Promise<number> {
  const seed = Number(arg(argv, '--seed') ?? 1);
  if (arg(argv, '--case') !== undefined) return single(seed, Number(arg(argv, '--case')));
  const cases = Number(arg(argv, '--cases') ?? 10_000);
  const from = Number(arg(argv, '--from') ?? 0);
  const workers = Number(arg(argv, '--workers') ?? Math.max(1, Math.min(2, availableParallelism())));
  if (!Number.isSafeInteger(cases) || cases < 1 || !Number.isSafeInteger(seed) || seed < 0 || !Number.isSafeInteger(from) || from < 0) {
    console.error('usage: npm run fuzz -- --cases N [--seed S] [--workers W] [--from I] | --case I [--seed S]');
    return 2;
  }
  const end = from + cases;
  const queue: Batch[] = [];
  for (let i = from; i < end; i += BATCH) queue.push({ from: i, to: Math.min(end, i + BATCH) });
  const t0 = Date.now();
  const failures: Failure[] = [];
  const totals = { done: 0, hangs: 0, crashes: 0, ...emptyTally() };
  console.log(`fuzz: ${cases} cases from ${from}, seed ${seed}, ${workers} worker(s); bounds ${CASE_MS} ms of CPU (${CASE_MS_BIG} ms on a large trace) and ${CASE_MEMORY_BYTES / 2 ** 20} MiB per case, hang ${HANG_MS} ms of CPU or ${HANG_WALL_MS} ms wall, heap ${HEAP_MB} MB per worker`);
  const self = fileURLToPath(import.meta.url);

  await new Promise<void>((resolve) => {
    let live = 0;
    const start = (): void => {
      const slot = new SharedArrayBuffer(8);
      const cur = new Int32Array(slot);
      cur[0] = -1;
      const w = new Worker(self, { workerData: { seed, slot }, resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } });
      live++;
      let batch: Batch | null = null;
      let lastBeat = -1;
      let lastChange = Date.now();
      let lastChangeCpu = cpuMs();
      let finished = false;
      const next = (): void => {
        batch = queue.shift() ?? null;
        if (batch) w.postMessage(batch); else { finished = true; w.postMessage('exit'); }
      };
      // The rest of a batch whose worker died goes back on the queue.
      const requeueAfter = (index: number): void => {
        if (batch && index + 1 < batch.to) queue.unshift({ from: index + 1, to: batch.to });
      };
      const watchdog = setInterval(() => {
        const beat = Atomics.load(cur, 1);
        if (beat !== lastBeat) { lastBeat = beat; lastChange = Date.now(); lastChangeCpu = cpuMs(); return; }
        const index = Atomics.load(cur, 0);
        // With several workers the process's CPU time counts theirs too: a hang is then found early, never late.
        const stuck = Date.now() - lastChange > HANG_WALL_MS ? `${HANG_WALL_MS} ms wall` : cpuMs() - lastChangeCpu > HANG_MS ? `${HANG_MS} ms of CPU` : null;
        if (index >= 0 && stuck !== null) {
          failures.push({ index, failure: `hang: no progress for ${stuck}`, steps: [] });
          console.log(`FAIL case ${index}: hang: no progress for ${stuck}`);
          totals.hangs++;
          totals.done += index - (batch?.from ?? index) + 1;
          requeueAfter(index);
          finished = true;
          void w.terminate();
        }
      }, 1000);
      w.on('message', (m: { type: 'ready' } | BatchDone | ({ type: 'fail' } & Failure)) => {
        if (m.type === 'fail') {
          failures.push({ index: m.index, failure: m.failure, steps: m.steps });
          console.log(`FAIL case ${m.index}: ${m.failure.split('\n')[0]}\n  ${m.steps.join('\n  ')}`);
          return;
        }
        if (m.type === 'done') {
          totals.done += m.to - m.from;
          merge(totals, m);
        }
        next();
      });
      w.on('error', (e) => {
        const index = Atomics.load(cur, 0);
        failures.push({ index, failure: `worker died: ${e.message} (${(e as NodeJS.ErrnoException).code ?? ''})`, steps: [] });
        console.log(`FAIL case ${index}: worker died: ${e.message}`);
        totals.crashes++;
        if (index >= 0) { totals.done += index - (batch?.from ?? index) + 1; requeueAfter(index); }
        finished = true;
      });
      w.on('exit', () => {
        clearInterval(watchdog);
        live--;
        if (!finished || queue.length > 0) start();
        else if (live === 0) resolve();
      });
    };
    for (let i = 0; i < workers; i++) start();
    const progress = setInterval(() => {
      const s = (Date.now() - t0) / 1000;
      console.log(`  ${totals.done} cases, ${failures.length} failure(s), ${s.toFixed(0)} s, ${(totals.done / s).toFixed(0)} cases/s`);
    }, 30_000);
    progress.unref();
  });
  const seconds = (Date.now() - t0) / 1000;
  const summary = {
    cases: totals.done, failures: failures.length, seed, from, workers, seconds: Math.round(seconds), casesPerSecond: Math.round(totals.done / seconds),
    opened: totals.opened, recoveredFromDamage: totals.truncated, traceErrors: totals.traceErrors, usageErrors: totals.usageErrors,
    lies: totals.lies, forgedWhole: totals.forgedWhole, falseCheckpoints: totals.falseCheckpoints, scenarioCases: totals.scenarioCases, bigCases: totals.bigCases,
    readers: Object.fromEntries(Object.entries(totals.readers).sort()),
    hangs: totals.hangs, workerDeaths: totals.crashes, slowestCaseMs: Math.round(totals.maxMs), slowestLargeCaseMs: Math.round(totals.maxBigMs),
    slowestReaderMs: Object.fromEntries(Object.entries(totals.readerMaxMs).sort(([, a], [, b]) => b - a).slice(0, 8).map(([k, v]) => [k, Math.round(v)])), maxMemoryMiB: Math.round(totals.maxMemory / 2 ** 20),
    node: process.version,
  };
  console.log(`fuzz summary ${JSON.stringify(summary)}`);
  for (const f of failures.slice(0, 20)) console.log(`FAIL case ${f.index} (re-run: npm run fuzz -- --case ${f.index} --seed ${seed}): ${f.failure}`);
  return failures.length === 0 ? 0 : 1;
}

if (isMainThread) {
  campaign(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => { console.error(e); process.exitCode = 70; });
} else {
  void workerMain();
}
