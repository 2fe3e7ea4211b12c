// The trace reader under a seeded fuzz: mutated valid traces (bit flips,
// byte runs, cuts, lying lengths and counts, forged blocks with good CRCs,
// swapped / repeated / dropped chunks, noise after a valid magic) through
// info, events, state and the Replayer API in-process, and a sample through
// the built CLI. Every case must end in a result or a TraceError with an
// offset inside the file, within the per-case time and memory bounds.
// The same cases, by the million: npm run fuzz -- --cases N [--seed S]
// (test/fuzz/campaign.ts; figures in docs/robustness.md).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus, CASE_MEMORY_BYTES, CASE_MS, runCase, scratchFile } from './fuzz/harness.js';
import { makeCase } from './fuzz/mutate.js';
import { tmp } from './trace-helpers.js';

const SEED = 20_240_607;
const QUICK_CASES = 1500;
const FULL_CASES = 150;
const CLI_CASES = 8;

let corpus: Buffer[] = [];
const file = scratchFile('ci');

beforeAll(() => { corpus = buildCorpus(); });
afterAll(() => file.done());

describe(`fuzz (seed ${SEED})`, () => {
  it('cases are deterministic: the same seed and index give the same bytes', () => {
    for (const i of [0, 1, 77, 1234]) expect(makeCase(corpus, SEED, i).bytes.equals(makeCase(corpus, SEED, i).bytes)).toBe(true);
    expect(makeCase(corpus, SEED, 1).bytes.equals(makeCase(corpus, SEED + 1, 1).bytes)).toBe(false);
  });

  it(`${QUICK_CASES} quick and ${FULL_CASES} full cases: a result or a TraceError, within ${CASE_MS} ms and ${CASE_MEMORY_BYTES / 2 ** 20} MiB each`, async () => {
    const failures: string[] = [];
    let opened = 0;
    let truncated = 0;
    let traceErrors = 0;
    let slowest = 0;
    for (let i = 0; i < QUICK_CASES + FULL_CASES; i++) {
      const r = await runCase(corpus, SEED, i, file.path, i < QUICK_CASES);
      if (r.failure) failures.push(`case ${i} (npm run fuzz -- --case ${i} --seed ${SEED}): ${r.failure}\n  ${r.steps.join('\n  ')}`);
      if (r.outcome?.opened) { opened++; if (r.outcome.opened.truncated) truncated++; }
      traceErrors += r.outcome?.traceErrors ?? 0;
      slowest = Math.max(slowest, r.ms);
    }
    expect(failures.slice(0, 5)).toEqual([]);
    // The mutations reach past the magic, into recovery and into the decoders.
    const n = QUICK_CASES + FULL_CASES;
    expect(opened / n).toBeGreaterThan(0.6);
    expect(truncated / n).toBeGreaterThan(0.2);
    expect(traceErrors).toBeGreaterThan(n / 2);
    expect(slowest).toBeLessThan(CASE_MS);
  });
});

describe('fuzz cases through the built CLI', () => {
  const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
  const run = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });

  it(`${CLI_CASES} mutated traces: info, events, state exit 0 or 2 with one line, never an internal error`, async () => {
    const dir = tmp();
    const jobs: Promise<string | null>[] = [];
    for (let i = 0; i < CLI_CASES; i++) {
      // Spread over the campaign's index range, past the in-process ones.
      const c = makeCase(corpus, SEED, 100_000 + i * 7919);
      const path = join(dir, `case-${i}.iotrace`);
      writeFileSync(path, c.bytes);
      for (const args of [['info', path, '--json'], ['events', path], ['state', path, '--at', 'last']]) {
        jobs.push(run(args).then((r) => {
          const what = `${args.join(' ')} [${c.steps.join('; ')}]`;
          if (r.status === 0) return null;
          if (r.status !== 2) return `${what}: exit ${r.status}: ${r.stderr}`;
          if (r.stderr.trim().split('\n').length !== 1 || !/^iotrace: /.test(r.stderr)) return `${what}: not one line: ${r.stderr}`;
          return null;
        }));
      }
    }
    expect((await Promise.all(jobs)).filter((x) => x !== null)).toEqual([]);
  });
});
