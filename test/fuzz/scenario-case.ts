// A mutated scenario file through the scenario commands, in process: run,
// record -o (into a folder of its own) and matrix (sometimes with -o). Each
// must end with exit 0/1/2 and at most one line on stderr, never an
// internal error. What they agree on is checked too: record exits as run
// does; a recording that succeeded opens whole, holds the events run printed
// and passes verify (the writer never writes what the reader refuses, and
// what it writes is true); a refused one leaves nothing behind; matrix -o
// writes only inside its folder, whole traces, no temporary files.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { main as infoMain } from '../../cli/commands/info.js';
import { main as matrixMain } from '../../cli/commands/matrix.js';
import { main as recordMain } from '../../cli/commands/record.js';
import { main as runMain } from '../../cli/commands/run.js';
import { main as verifyMain } from '../../cli/commands/verify.js';
import { TraceReplayer } from '../../replayer/replayer.js';
import { RAW_CONTROL } from '../attack-helpers.js';
import { inProcess, stderrProblem, type CliResult, type Main } from './cli.js';
import { scratchRoot } from './corpus.js';
import { FuzzFailure, timed, type Outcome, type Pick } from './exercise.js';
import { withWriteFault } from './fs-fault.js';
import { expectThat } from './oracle.js';

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p); else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

async function cmd(out: Outcome, name: string, main: Main, argv: string[]): Promise<CliResult> {
  out.readers.push(name);
  const r = await timed(out, name, () => inProcess(main, argv));
  if (r.internal !== null) throw new FuzzFailure(`${name}: internal error`, r.internal);
  const bad = stderrProblem(r);
  if (bad) throw new FuzzFailure(name, new Error(bad));
  if (![0, 1, 2].includes(r.code)) throw new FuzzFailure(name, new Error(`exit ${r.code}`));
  if (r.code === 2) out.usageErrors++;
  return r;
}

export async function scenarioCase(text: Buffer, pick: Pick, chance: (p: number) => boolean): Promise<Outcome> {
  const out: Outcome = { opened: null, traceErrors: 0, usageErrors: 0, lie: false, forgedWhole: false, falseCheckpoints: 0, readers: [], ms: {} };
  const dir = mkdtempSync(join(scratchRoot(), 'iotrace-fuzz-scenario-'));
  try {
    const file = join(dir, 's.json');
    writeFileSync(file, text);
    const run = await cmd(out, 'run', runMain, [file]);
    const lines = run.stdout === '' ? [] : run.stdout.replace(/\n$/, '').split('\n');
    expectThat(!RAW_CONTROL.test(run.stdout), 'run: no raw control character reaches the terminal', () => JSON.stringify(run.stdout.slice(0, 200)));
    if (chance(0.5)) {
      const trace = join(dir, 'out', 'x.iotrace');
      const full = chance(0.1);
      const rec = full
        ? (await withWriteFault(pick(3), () => cmd(out, 'record -o (ENOSPC)', recordMain, [file, '-o', trace]))).value
        : await cmd(out, 'record -o', recordMain, [file, '-o', trace]);
      const left = (): string[] => files(dir).filter((f) => f !== 's.json');
      if (rec.code === 2 || run.code === 2) {
        // record validates as run does; the writer may also refuse what a reader would (RecordLimitError).
        expectThat(rec.code === 2, 'record refuses what run refuses', () => `run ${run.code}, record ${rec.code}`);
        expectThat(left().length === 0, 'a refused or failed recording leaves nothing behind', () => left().join(', '));
      } else {
        expectThat(rec.code === run.code, 'record exits as run does', () => `run ${run.code}, record ${rec.code}`);
        expectThat(left().join() === 'out/x.iotrace', 'record writes only its trace', () => left().join(', '));
        const r = TraceReplayer.open(trace);
        try {
          expectThat(r.truncated === null && r.count === lines.length, 'a recording opens whole with the events run printed', () => `${r.count} events (${r.truncated?.reason ?? 'whole'}), run printed ${lines.length}`);
        } finally { r.close(); }
        const info = await cmd(out, 'info (recorded)', infoMain, [trace, '--json']);
        expectThat(info.code === 0 && (JSON.parse(info.stdout) as { whole: boolean }).whole, 'info calls a fresh recording whole', () => `exit ${info.code}: ${info.stdout.slice(0, 200)}`);
        if (chance(0.5)) {
          const v = await cmd(out, 'verify (recorded)', verifyMain, [trace]);
          expectThat(v.code === 0, 'a fresh recording verifies', () => `exit ${v.code}: ${v.stdout.slice(0, 300)} ${v.stderr}`);
        }
      }
    }
    if (chance(0.3)) {
      const withDir = chance(0.5);
      const mdir = join(dir, 'm');
      const m = await cmd(out, `matrix${withDir ? ' -o' : ''}`, matrixMain, [file, '--json', ...(withDir ? ['-o', mdir] : [])]);
      if (run.code === 2) expectThat(m.code === 2, 'matrix refuses what run refuses', () => `run ${run.code}, matrix ${m.code}`);
      const stray = files(dir).filter((f) => f !== 's.json' && !f.startsWith('out/') && !f.startsWith('m/'));
      expectThat(stray.length === 0, 'matrix writes only inside its -o folder', () => stray.join(', '));
      if (withDir && m.code === 0) {
        const traces = files(mdir);
        expectThat(traces.every((f) => f.endsWith('.iotrace') && !f.includes('/')), 'matrix -o: one trace per combination, directly inside the folder, no temporary file', () => traces.join(', '));
        const rows = JSON.parse(m.stdout) as { events: number }[];
        expectThat(traces.length === rows.length || traces.length < rows.length, 'matrix -o: at most one trace per row', () => `${traces.length} traces, ${rows.length} rows`);
        for (const f of traces.slice(0, 4)) {
          const r = TraceReplayer.open(join(mdir, f));
          try { expectThat(r.truncated === null, 'matrix -o writes whole traces', () => `${f}: ${r.truncated?.reason}`); } finally { r.close(); }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
