// iotrace matrix: run (and with -o record) every combination of a scenario's
// variant axes and print one row per combination: what faulted first, what
// broke, which expectations were not met. The quickest way to see which
// design choices of a seed thread survive and which do not.
import { mkdirSync } from 'node:fs';
import { ENGINE_VERSION, run } from '../../engine/run.js';
import { expectsFault } from '../../engine/expect.js';
import { MAX_COMBINATIONS } from '../../engine/limits.js';
import { combinationCount, combinations, type Scenario, type Variant, variantText } from '../../engine/scenario.js';
import { loadScenario } from '../../scenarios/index.js';
import { FORMAT_VERSION } from '../../trace/format.js';
import { TraceWriter } from '../../recorder/writer.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { explore } from '../../explore/explore.js';
import { withSignalCleanup } from '../../safe/files.js';
import { insideDir } from '../../safe/slug.js';
import { println } from '../../safe/stdout.js';
import { errorLine, FAIL_ON_OPTION, failOnFlag, failure, parse, seedFlag, UsageError, variantFlags } from '../common.js';
import { traceName } from '../paths.js';
import { Progress } from '../term.js';

export const HELP = `usage: iotrace matrix <name|file.json> [--variant axis=value]... [--seed N]
                     [-o dir] [--json] [--fail-on fault,violation,expect]

Runs the scenario under every combination of its variant axes and prints one
row per combination: events, faults, the first fault (its sequence number,
scenario step, source and reason), violations, unmet expectations.
--variant axis=value pins an axis to one value (repeat for more axes); the
other axes still vary. At most 256 combinations are run: past that, pin
axes until the count fits. -o dir also records one trace per combination into
dir, named <scenario>--<axis>=<value>...iotrace (each name and value made a
safe file name: letters, digits and ._=+,@- only, with a short hash when it
had to change; a file never lands outside dir). --json prints an array of
objects: variant (axis -> value), events, faults, firstFault (sequence number
or null), firstFaultAt ({seq, step, source, reason, name} or null),
violations, violationKinds, unmetExpectations, unexpectedFaults, trace.
A threaded scenario gets one more column, explore's verdict per
combination (bfs, 2 preemptions: "race: <failure> (--schedule ...)" or
"clean (exhausted)"; --json: explore {verdict, exhausted, failure,
schedule, states}); the other columns are its round-robin schedule's.

Exit 0 when the table is produced (whatever it shows: a faulting variant is a
result, not an error), 2 on bad usage or a bad scenario. --fail-on
fault,violation,expect (any subset) makes any row with such a finding exit 1
(to gate CI on a matrix); the default is none.`;

export interface FirstFault { seq: number; step: number; source: string; reason: number; name: string }

export interface MatrixRow {
  variant: Variant;
  events: number;
  faults: number;
  /** Sequence number of the first fault event, or null. */
  firstFault: number | null;
  firstFaultAt: FirstFault | null;
  violations: number;
  /** Invariant names of the violations, in order of first appearance. */
  violationKinds: string[];
  unmetExpectations: number;
  /** Fault events in steps whose `expect` did not name a fault (what a "clean" run must not have). */
  unexpectedFaults: number;
  /** Path of the recorded trace (with -o), else null. */
  trace: string | null;
  /**
   * A threaded scenario: explore's verdict for the variant (bfs, preemption bound 2, explore/explore.ts):
   * the first failure's signature and schedule, or clean (`exhausted`: every schedule within the bound).
   */
  explore?: { verdict: 'race' | 'clean'; exhausted: boolean; failure: string | null; schedule: string[] | null; states: number };
}

/** explore's verdict for one combination of a threaded scenario (what the matrix's last column shows). */
export function exploreVerdict(scenario: Scenario, variant: Variant): NonNullable<MatrixRow['explore']> {
  const r = explore(scenario, { variant, stopAtFirst: true, maxStates: 50_000 });
  const f = r.failures[0];
  return { verdict: f ? 'race' : 'clean', exhausted: r.exhausted, failure: f?.signature ?? null, schedule: f?.schedule ?? null, states: r.states };
}

/** A file name for a combination (cli/paths.ts): <scenario>--axis=value...iotrace. */
export { traceName };

/** Events between two yields to the event loop in matrixRowAsync. */
const EVENTS_PER_SLICE = 1 << 16;

/** Whether a step's `expect` names a fault (a reason code or a fault name) rather than ok / an errno. */
export function matrixRow(scenario: Scenario, variant: Variant, opts: { seed?: number; outDir?: string } = {}): MatrixRow {
  const it = rowSteps(scenario, variant, opts);
  for (;;) { const r = it.next(); if (r.done) return r.value; }
}

/** matrixRow, yielding to the event loop now and then (so Ctrl-C can clean up a trace being written). */
export async function matrixRowAsync(scenario: Scenario, variant: Variant, opts: { seed?: number; outDir?: string } = {}): Promise<MatrixRow> {
  const it = rowSteps(scenario, variant, opts);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    await new Promise((res) => setImmediate(res));
  }
}

function* rowSteps(scenario: Scenario, variant: Variant, opts: { seed?: number; outDir?: string }): Generator<void, MatrixRow> {
  const seed = opts.seed ?? 0;
  const row: MatrixRow = {
    variant, events: 0, faults: 0, firstFault: null, firstFaultAt: null, violations: 0, violationKinds: [],
    unmetExpectations: 0, unexpectedFaults: 0, trace: null,
  };
  const writer = opts.outDir
    ? new TraceWriter(insideDir(opts.outDir, traceName(scenario, variant)), { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario, variant, seed })
    : null;
  // Generated scenarios (stress) have no steps array to look `expect` up in; they expect nothing.
  const steps = scenario.generate ? [] : scenario.steps;
  try {
    for (const ev of run(scenario, { variant, seed })) {
      writer?.push(ev);
      row.events++;
      if (row.events % EVENTS_PER_SLICE === 0) yield;
      if (ev.kind === 'fault') {
        row.faults++;
        if (row.firstFaultAt === null) {
          row.firstFault = ev.seq;
          row.firstFaultAt = { seq: ev.seq, step: ev.step, source: ev.source, reason: ev.reason, name: ev.name };
        }
        if (!expectsFault(steps[ev.step]?.expect, variant)) row.unexpectedFaults++;
      } else if (ev.kind === 'violation') {
        row.violations++;
        if (!row.violationKinds.includes(ev.invariant)) row.violationKinds.push(ev.invariant);
      } else if (ev.kind === 'expect') row.unmetExpectations++;
    }
    if (writer) row.trace = writer.finish().path;
  } catch (e) {
    writer?.abort();
    throw e;
  }
  return row;
}

export function matrix(scenario: Scenario, opts: { pinned?: Variant; seed?: number; outDir?: string } = {}): MatrixRow[] {
  checkCombinations(scenario, opts.pinned ?? {});
  return combinations(scenario, opts.pinned).map((v) => matrixRow(scenario, v, opts));
}

/** Refuse (one line, exit 2) a matrix of more than MAX_COMBINATIONS rows, and say how to pin axes. */
export function checkCombinations(scenario: Scenario, pinned: Variant): void {
  const count = combinationCount(scenario, pinned);
  if (count <= MAX_COMBINATIONS) return;
  const free = Object.keys(scenario.variants ?? {}).filter((axis) => !Object.hasOwn(pinned, axis)).sort();
  const sizes = free.slice(0, 6).map((axis) => `${axis} (${Object.keys(scenario.variants?.[axis] ?? {}).length})`).join(', ');
  const first = free[0];
  const example = first === undefined ? '' : `, e.g. --variant ${first}=${Object.keys(scenario.variants?.[first] ?? {})[0] ?? ''}`;
  throw new UsageError(`scenario ${scenario.name}: ${count} variant combinations over ${free.length} unpinned axes (${sizes}${free.length > 6 ? ', ...' : ''}), more than the ${MAX_COMBINATIONS} iotrace matrix runs; pin axes with --variant axis=value (each pin divides the count by that axis's number of values)${example}`);
}

const firstFaultText = (f: FirstFault | null): string =>
  f === null ? '-' : `#${f.seq} step ${f.step} ${f.source} 0x${f.reason.toString(16)} ${f.name}`;

export function table(rows: MatrixRow[]): string {
  const explored = rows.some((r) => r.explore !== undefined);
  const head = ['variant', 'events', 'faults', 'first fault (seq, step, source, reason)', 'violations', 'unmet expectations', ...(explored ? ['explore (bfs, 2 preemptions)'] : [])];
  const verdict = (e: MatrixRow['explore']): string => (e === undefined ? '-' : e.verdict === 'race' ? `race: ${e.failure ?? ''} (--schedule ${(e.schedule ?? []).join(',')})` : e.exhausted ? 'clean (exhausted)' : `clean within ${e.states} states`);
  // Cells drawn from the scenario (variant names, fault names, invariants) are escaped before the widths are measured.
  const body = rows.map((r) => [
    escapeText(variantText(r.variant)), String(r.events), String(r.faults), escapeText(firstFaultText(r.firstFaultAt)),
    r.violations === 0 ? '0' : `${r.violations} (${escapeText(r.violationKinds.join(', '))})`, String(r.unmetExpectations),
    ...(explored ? [escapeText(verdict(r.explore))] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** -o's folder, made if absent; a file in its place (or on its path) is one line naming it, not mkdir's errno. */
function makeFolder(path: string): void {
  try { mkdirSync(path, { recursive: true }); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' ? 'is a file; -o names the folder the traces are written in'
      : code === 'ENOTDIR' ? 'a part of the path is a file, not a folder' : `cannot make the folder: ${(e as Error).message}`;
    throw new UsageError(`${escapeText(path)}: ${why}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    variant: { type: 'string', multiple: true }, seed: { type: 'string' }, output: { type: 'string', short: 'o' }, json: { type: 'boolean' }, ...FAIL_ON_OPTION,
  }, 1);
  if (values.help) { console.log(HELP); return 0; }
  const failOn = failOnFlag(values['fail-on'], []);
  const scenario = loadScenario(positionals[0] ?? '');
  const pinned = variantFlags(scenario, values.variant);
  checkCombinations(scenario, pinned);
  const seed = seedFlag(values.seed);
  if (values.output !== undefined) {
    if (values.output === '') throw new UsageError('-o takes a directory');
    if (values.output === '-') throw new UsageError('-o -: matrix writes traces into a folder, never to stdout; name it ./- for a folder called "-"');
    makeFolder(values.output);
  }
  const opts = { seed, ...(values.output !== undefined ? { outDir: values.output } : {}) };
  const rows = await withSignalCleanup(async () => {
    const out: MatrixRow[] = [];
    const all = combinations(scenario, pinned);
    // Progress on stderr when it is a terminal: combinations done of the known total, with an ETA.
    const progress = new Progress('matrix', all.length, 'combinations');
    try {
      for (const v of all) { progress.update(out.length); out.push(await matrixRowAsync(scenario, v, opts)); }
    } finally { progress.done(); }
    return out;
  });
  // A threaded scenario: explore's verdict per combination (the round-robin run above is one schedule of many).
  if (scenario.threads) for (const r of rows) r.explore = exploreVerdict(scenario, r.variant);
  if (values.json) await println(jsonText(rows, 2));
  else {
    await println([
      `${escapeText(scenario.name)}: ${rows.length} combination(s)${seed ? `, seed ${seed}` : ''}`,
      table(rows),
      ...(values.output !== undefined ? [`traces in ${escapeText(values.output)}/`] : []),
    ].join('\n'));
  }
  const sum = (f: (r: MatrixRow) => number): number => rows.reduce((n, r) => n + f(r), 0);
  const failed = failure({ fault: sum((r) => r.faults), violation: sum((r) => r.violations), expect: sum((r) => r.unmetExpectations) }, failOn);
  if (failed) errorLine(`exit 1: ${failed}`);
  return failed ? 1 : 0;
}
