// The trace readers and the scenario commands under a seeded fuzz that
// checks the truth (test/fuzz/oracle.ts): mutated and forged-but-valid
// traces (bit flips, cuts, lying lengths, re-framed blocks, shuffled chunks,
// events, checkpoints and footers forged with every digest recomputed) and
// mutated scenario files, in process, through info, info --deep, state,
// verify, diff, export, events, the replayer API, the TUI's keys and
// stdout / file-system faults; the events every reader returns must be a
// prefix of the original's or the readers must refuse to present the file
// as the original, and every claim must be the events'. A few large traces
// (a few MB) and a sample through the built CLI binary with real pipes.
// The same cases, by the hundred thousand: npm run fuzz -- --cases N
// [--seed S] [--workers W] (test/fuzz/campaign.ts; figures in docs/robustness.md).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASE_MEMORY_BYTES, CASE_MS, Corpus, runCase, scratchFile, type CaseResult } from './fuzz/harness.js';
import { caseShape, makeCase } from './fuzz/mutate.js';
import { checkTrace } from '../replayer/check.js';
import { diffTraces } from '../replayer/trace-diff.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { TraceError } from '../trace/format.js';
import { forge, gapsOf } from './forge.js';
import { headerTruth } from './fuzz/header-truth.js';
import { closeTruth, readTruth } from './fuzz/oracle.js';
import { tmp } from './trace-helpers.js';

const SEED = 20_240_607;
const CASES = 400;
const BIG_CASES = 1;
const CLI_CASES = 4;

let corpus: Corpus;
const file = scratchFile('ci');

beforeAll(() => { corpus = new Corpus(); });
afterAll(() => { file.done(); corpus.done(); });

const failureText = (r: CaseResult): string => `case ${r.index} (npm run fuzz -- --case ${r.index} --seed ${SEED}): ${r.failure}\n  ${r.steps.join('\n  ')}`;

describe(`fuzz with the oracle (seed ${SEED})`, () => {
  it('cases are deterministic: the same seed and index give the same bytes', () => {
    for (const i of [0, 1, 77, 1234]) expect(makeCase(corpus, SEED, i).bytes.equals(makeCase(corpus, SEED, i).bytes)).toBe(true);
    expect(makeCase(corpus, SEED, 1).bytes.equals(makeCase(corpus, SEED + 1, 1).bytes)).toBe(false);
  });

  it(`${CASES} cases: every answer true or a one-line refusal, within ${CASE_MS} ms of CPU and ${CASE_MEMORY_BYTES / 2 ** 20} MiB each`, async () => {
    const failures: string[] = [];
    const readers = new Map<string, number>();
    let opened = 0; let truncated = 0; let lies = 0; let forgedWhole = 0; let falseCheckpoints = 0; let scenarios = 0; let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      // The large traces have a test of their own below.
      if (caseShape(SEED, i).big) continue;
      const r = await runCase(corpus, SEED, i, file.path);
      if (r.failure) failures.push(failureText(r));
      const o = r.outcome;
      if (r.kind === 'scenario') scenarios++;
      if (o?.opened) { opened++; if (o.opened.truncated) truncated++; }
      if (o?.lie) lies++;
      if (o?.forgedWhole) forgedWhole++;
      if (o && o.falseCheckpoints > 0) falseCheckpoints++;
      for (const name of o?.readers ?? []) readers.set(name, (readers.get(name) ?? 0) + 1);
      slowest = Math.max(slowest, r.cpuMs);
    }
    if (process.env.FUZZ_TALLY) console.log(JSON.stringify({ opened, truncated, lies, forgedWhole, falseCheckpoints, scenarios, readers: Object.fromEntries(readers) }));
    expect(failures.slice(0, 5)).toEqual([]);
    // The mutations reach past the magic, into recovery and the decoders; the forgeries reach the lie branch.
    const traces = CASES - scenarios;
    expect(opened / traces).toBeGreaterThan(0.6);
    expect(truncated / traces).toBeGreaterThan(0.2);
    expect(lies).toBeGreaterThan(25);
    expect(forgedWhole).toBeGreaterThan(15);
    expect(falseCheckpoints).toBeGreaterThan(8);
    expect(scenarios).toBeGreaterThan(10);
    for (const name of ['info --json', 'info --deep --json', 'verify --json', 'diff (API)', 'export --format jsonl -o', 'events --json', 'state --at first-fault --json', 'state --at first-violation --json', 'events --kind --json', 'state --at N',
      'replayer API', 'tui', 'run', 'record -o', 'matrix']) expect(readers.get(name) ?? 0, name).toBeGreaterThan(0);
    expect([...readers.keys()].some((k) => k.includes('(stdout EPIPE)'))).toBe(true);
    expect([...readers.keys()].some((k) => k.includes('(stdout ENOSPC)'))).toBe(true);
    expect(slowest).toBeLessThan(CASE_MS);
  // The bound above is each case's CPU time; the wall-clock timeout is only a backstop for a loaded machine.
  }, 300_000);

  it(`${BIG_CASES} case(s) on a large trace (stress, ~200 000 events in 1024-event chunks, ~2 MB)`, async () => {
    const big: number[] = [];
    for (let i = 0; big.length < BIG_CASES; i++) if (caseShape(SEED, i).big) big.push(i);
    for (const i of big) {
      const r = await runCase(corpus, SEED, i, file.path);
      expect(r.big).toBe(true);
      expect(r.failure === null ? null : failureText(r)).toBe(null);
      expect(r.bytes).toBeGreaterThan(1 << 20);
    }
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
  /** stdout a pipe closed after its first chunk, as `| head -1` does. */
  const closedEarly = (args: string[]): Promise<{ status: number | null; signal: string | null; stderr: string }> => new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.stdout.once('data', () => p.stdout.destroy());
    p.on('exit', (status, signal) => resolve({ status, signal, stderr }));
  });
  const oneLine = (s: string): boolean => s.trim().split('\n').length === 1 && /^iotrace: /.test(s);

  it(`${CLI_CASES} mutated traces: info, events, verify exit 0, 1 or 2 with one line, never an internal error; export | head and info > /dev/full`, async () => {
    const dir = tmp();
    const jobs: Promise<string | null>[] = [];
    const cases: { path: string; steps: string[] }[] = [];
    for (let i = 0; cases.length < CLI_CASES; i++) {
      // Spread over the campaign's index range, past the in-process ones; trace cases only.
      const index = 100_000 + i * 7919;
      if (caseShape(SEED, index).kind !== 'trace' || caseShape(SEED, index).big) continue;
      const c = makeCase(corpus, SEED, index);
      const path = join(dir, `case-${cases.length}.iotrace`);
      writeFileSync(path, c.bytes);
      cases.push({ path, steps: c.steps });
    }
    for (const { path, steps } of cases) {
      for (const args of [['info', path, '--json'], ['events', path], ['verify', path]]) {
        jobs.push(run(args).then((r) => {
          const what = `${args.join(' ')} [${steps.join('; ')}]`;
          if (r.status === 0 || (r.status === 1 && r.stderr === '')) return null;
          if (r.status !== 2) return `${what}: exit ${r.status}: ${r.stderr}`;
          return oneLine(r.stderr) ? null : `${what}: not one line: ${r.stderr}`;
        }));
      }
    }
    const problems = (await Promise.all(jobs)).filter((x) => x !== null);
    // Real pipes and a real full device, on the same damaged and forged files.
    for (const { path, steps } of cases.slice(0, 2)) {
      for (const args of [['export', path, '--format', 'jsonl']]) {
        const r = await closedEarly(args);
        if (r.signal !== null || (r.stderr !== '' && !oneLine(r.stderr)) || /EPIPE|cannot write/.test(r.stderr)) problems.push(`${args.join(' ')} | head [${steps.join('; ')}]: ${r.signal ?? r.status}: ${r.stderr}`);
      }
      const full = openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, [BIN, 'info', path], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
        if (r.status !== 2 || !oneLine(r.stderr)) problems.push(`info > /dev/full [${steps.join('; ')}]: exit ${r.status}: ${r.stderr}`);
      } finally { closeSync(full); }
    }
    expect(problems).toEqual([]);
  });
});

describe('found by the fuzz', () => {
  it('diff: a forged trace whose only change is one event\'s tick is not identical to the original (seed 1, case 15)', () => {
    const dir = tmp();
    const original = corpus.small.find((e) => e.name === 'dwq-small-chunks')!;
    const forged = join(dir, 'tick.iotrace');
    writeFileSync(forged, forge(original.path, { chunk: (c, evs) => (c === 1 ? evs.map((e, i) => (i === 2 ? { ...e, tick: e.tick + 1 } : e)) : evs) }));
    const b = TraceReplayer.open(forged);
    try {
      const d = diffTraces(original.replayer, b);
      expect(d.identical).toBe(false);
      // The same event at another tick: a retimed row, and the prefix stops at it.
      expect(d.firstDivergence).toMatchObject({ a: 10, b: 10, op: 't', fields: ['tick'] });
      expect(d).toMatchObject({ commonPrefix: 10, retimed: 1, changed: 0, onlyInA: 0, onlyInB: 0 });
      expect(diffTraces(original.replayer, original.replayer).identical).toBe(true);
    } finally { b.close(); }
  });
});

describe('found by the fuzz (2)', () => {
  it('diff: a forged event whose fields do not fit its kind is damage (a TraceError at its chunk), not an internal error', () => {
    const dir = tmp();
    const original = corpus.small.find((e) => e.name === 'iommufd-lifecycle')!;
    const forged = join(dir, 'malformed.iotrace');
    // Event 3 (an iommufd object) with refs: null; every digest valid.
    writeFileSync(forged, forge(original.path, { chunk: (_c, evs) => evs.map((e) => (e.seq === 3 ? { ...e, refs: null } as unknown as typeof e : e)) }));
    const b = TraceReplayer.open(forged);
    try {
      expect(() => diffTraces(original.replayer, b)).toThrow(/event 3 \(iommufd-obj\) does not apply to the state/);
      try { diffTraces(original.replayer, b); } catch (e) { expect(e).toBeInstanceOf(TraceError); expect((e as TraceError).offset).toBe(b.chunks[0]!.offset); }
    } finally { b.close(); }
  });

  it('diff: an event whose map became an empty bin (the same JSON) is not identical (seed 1, case 58851)', () => {
    const dir = tmp();
    const original = corpus.small.find((e) => e.name === 'constant-columns')!;
    const forged = join(dir, 'bin.iotrace');
    writeFileSync(forged, forge(original.path, { chunk: (c, evs) => (c === 18 ? evs.map((e, i) => (i === 57 ? { ...e, out: new Uint8Array(0) } as unknown as typeof e : e)) : evs) }));
    const b = TraceReplayer.open(forged);
    try {
      const d = diffTraces(original.replayer, b);
      expect(d.identical).toBe(false);
      expect(d.commonPrefix).toBe(18 * 64 + 57);
      expect(d.firstDivergence).toMatchObject({ op: '~', fields: ['out'] });
    } finally { b.close(); }
  });

  it('info --deep: a chunk whose event does not apply counts whole, so the kinds add up to the events reported (seed 4, case 7836)', () => {
    const dir = tmp();
    const original = corpus.small.find((e) => e.name === 'iommufd-lifecycle')!;
    const forged = join(dir, 'malformed.iotrace');
    writeFileSync(forged, forge(original.path, { chunk: (_c, evs) => evs.map((e) => (e.seq === 3 ? { ...e, refs: null } as unknown as typeof e : e)) }));
    const b = TraceReplayer.open(forged);
    try {
      const res = checkTrace(b, true);
      expect(res.whole).toBe(false);
      expect(res.problems.join('\n')).toMatch(/event 3 \(iommufd-obj\) does not apply/);
      // The deep pass stops at the event; the fast pass reads and counts every later chunk (redteam B, F9).
      expect(res.events).toBe(b.count);
      expect(Object.values(res.kinds).reduce((x, y) => x + y, 0)).toBe(res.events);
    } finally { b.close(); }
  });

  it('the debugger: x / e on a trace with no readable event say why, and a cell detail whose writers are found at once does not throw (seed 1, cases 208585, 210046)', async () => {
    for (const index of [208585, 210046]) {
      const r = await runCase(corpus, 1, index, file.path, { tui: 1, fault: 0, scale: 1 });
      expect(r.failure, `case ${index}`).toBeNull();
    }
  });

  it('info --deep exits 1 for a false checkpoint even when a later event stops the deep pass (seed 1, case 201029)', async () => {
    const dir = tmp();
    const original = corpus.small.find((e) => e.name === 'iommufd-lifecycle')!;
    const forged = join(dir, 'false-then-unappliable.iotrace');
    const last = TraceReplayer.open(original.path);
    const lastSeq = last.count - 1;
    last.close();
    // Checkpoint 0 holds a state that never happened; the last event does not apply, so the deep pass stops there.
    writeFileSync(forged, forge(original.path, {
      checkpoint: (i, st) => (i === 0 ? { ...st, tick: st.tick + 1 } : st),
      chunk: (_c, evs) => evs.map((e) => (e.seq === lastSeq ? { ...e, kind: 'iommufd-obj', refs: null } as unknown as typeof e : e)),
    }));
    const b = TraceReplayer.open(forged);
    try {
      const res = checkTrace(b, true);
      expect(res.disproved).toBe(true);
      expect(res.damageAt).not.toBeNull();
    } finally { b.close(); }
    const r = spawnSync(process.execPath, [join(process.cwd(), 'dist', 'cli', 'main.js'), 'info', '--deep', forged], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/CHECKPOINTS DISAGREE/);
    expect(r.status).toBe(1);
  });
});

describe('the oracle judges the header and the index too', () => {
  const truthOf = (original: { path: string }, bytes: Buffer, name: string) => {
    const p = join(tmp(), name);
    writeFileSync(p, bytes);
    return readTruth(p, corpus.small.find((e) => e.path === original.path)!);
  };

  it('headerTruth: an axis the scenario lacks or another seed that changes nothing are told apart by re-running the header', () => {
    const dwq = corpus.small.find((e) => e.name === 'dwq-small-chunks')!;
    const axis = truthOf(dwq, forge(dwq.path, { header: (h) => { h.variant = { ...(h.variant as object), zz: 'on' }; } }), 'axis.iotrace');
    const seed = truthOf(dwq, forge(dwq.path, { header: (h) => { h.seed = (h.seed as number) + 1; } }), 'seed.iotrace');
    const step = truthOf(dwq, forge(dwq.path, { header: (h) => {
      const s = h.scenario as { steps: Record<string, unknown>[] };
      const i = s.steps.findIndex((x) => x.op === 'ioctl');
      s.steps[i] = { ...s.steps[i], cmd: 'IOMMU_DESTROY' };
    } }), 'step.iotrace');
    try {
      expect(headerTruth(axis)).toBe('false');
      // dwq-gpasid reads no seed: the same events, so the header's claim holds.
      expect(headerTruth(seed)).toBe('rerun-same');
      expect(headerTruth(step)).toBe('false');
    } finally { for (const t of [axis, seed, step]) closeTruth(t); }
  });

  it('a footer whose first sequence number of a chunk is off: every block is whole, so the index is what is false', () => {
    const st = corpus.small.find((e) => e.name === 'dwq-small-chunks')!;
    const t = truthOf(st, forge(st.path, { footer: (d) => {
      const firsts = [...st.replayer.index.chunkFirsts];
      firsts[1] = (firsts[1] as number) + 1;
      d.chunkFirsts = gapsOf(firsts);
    } }), 'firsts.iotrace');
    try {
      // Opened, the index is found false at once and the file read by a forward scan: every event, none lost.
      expect(t.truncated).toBe(true);
      expect(t.stopAtWholeBlock).toBe(false);
      expect(t.equal).toBe(true);
    } finally { closeTruth(t); }
  });
});
