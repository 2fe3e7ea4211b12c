// npm run fuzz -- --cases N [--seed S] [--workers W] [--from I] [--case I]
//
// A long fuzz campaign over the same cases test/fuzz.test.ts runs a few
// thousand of: case i of seed S is always the same bytes, so a failure is
// re-run alone with --case i. Cases run in worker threads; the main thread
// is a watchdog: a worker whose current case has not finished within
// HANG_MS is terminated and the case recorded as a hang; a worker that dies
// (heap limit) records its current case as a memory failure. Each worker
// also checks the per-case time and memory bounds (harness.ts).
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { buildCorpus, CASE_MEMORY_BYTES, CASE_MS, runCase, scratchFile } from './harness.js';

const HANG_MS = 30_000;
const BATCH = 500;
const HEAP_MB = 512;

interface Batch { from: number; to: number }
interface Failure { index: number; failure: string; steps: string[] }
interface BatchDone { type: 'done'; from: number; to: number; maxMs: number; maxMemory: number; opened: number; truncated: number; traceErrors: number; usageErrors: number }

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function workerMain(): Promise<void> {
  const { seed, slot } = workerData as { seed: number; slot: SharedArrayBuffer };
  const current = new Int32Array(slot);
  const corpus = buildCorpus();
  const file = scratchFile(`w${process.pid}`);
  const port = parentPort!;
  port.on('message', async (b: Batch | 'exit') => {
    if (b === 'exit') { file.done(); process.exit(0); }
    const done: BatchDone = { type: 'done', from: b.from, to: b.to, maxMs: 0, maxMemory: 0, opened: 0, truncated: 0, traceErrors: 0, usageErrors: 0 };
    for (let i = b.from; i < b.to; i++) {
      Atomics.store(current, 0, i);
      Atomics.add(current, 1, 1);
      const r = await runCase(corpus, seed, i, file.path, true);
      // Failures go out at once: a batch cut short by a hang or a crash loses none.
      if (r.failure) port.postMessage({ type: 'fail', index: i, failure: r.failure, steps: r.steps });
      done.maxMs = Math.max(done.maxMs, r.ms);
      done.maxMemory = Math.max(done.maxMemory, r.memory);
      if (r.outcome?.opened) { done.opened++; if (r.outcome.opened.truncated) done.truncated++; }
      done.traceErrors += r.outcome?.traceErrors ?? 0;
      done.usageErrors += r.outcome?.usageErrors ?? 0;
    }
    Atomics.store(current, 0, -1);
    port.postMessage(done);
  });
  port.postMessage({ type: 'ready' });
}

async function single(seed: number, index: number): Promise<number> {
  const corpus = buildCorpus();
  const file = scratchFile('single');
  const r = await runCase(corpus, seed, index, file.path);
  console.log(JSON.stringify({ index, seed, base: r.steps, bytes: r.bytes, ms: r.ms, outcome: r.outcome, failure: r.failure }, null, 2));
  console.log(`case bytes left in ${file.path}`);
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
  const totals = { done: 0, opened: 0, truncated: 0, traceErrors: 0, usageErrors: 0, maxMs: 0, maxMemory: 0, hangs: 0, crashes: 0 };
  console.log(`fuzz: ${cases} cases from ${from}, seed ${seed}, ${workers} worker(s); bounds ${CASE_MS} ms and ${CASE_MEMORY_BYTES / 2 ** 20} MiB per case, hang ${HANG_MS} ms, heap ${HEAP_MB} MB per worker`);
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
        if (beat !== lastBeat) { lastBeat = beat; lastChange = Date.now(); return; }
        const index = Atomics.load(cur, 0);
        if (index >= 0 && Date.now() - lastChange > HANG_MS) {
          failures.push({ index, failure: `hang: no progress for ${HANG_MS} ms`, steps: [] });
          console.log(`FAIL case ${index}: hang: no progress for ${HANG_MS} ms`);
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
          totals.opened += m.opened; totals.truncated += m.truncated; totals.traceErrors += m.traceErrors; totals.usageErrors += m.usageErrors;
          totals.maxMs = Math.max(totals.maxMs, m.maxMs); totals.maxMemory = Math.max(totals.maxMemory, m.maxMemory);
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
    hangs: totals.hangs, workerDeaths: totals.crashes, slowestCaseMs: Math.round(totals.maxMs), maxMemoryMiB: Math.round(totals.maxMemory / 2 ** 20),
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
