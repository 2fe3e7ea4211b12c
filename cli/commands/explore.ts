// iotrace explore: search the schedules of a threaded scenario for one that
// fails (explore/explore.ts; docs/explore.md).
import { existsSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { run } from '../../engine/run.js';
import { resolveVariant, type Scenario, type Variant, variantText } from '../../engine/scenario.js';
import { explore, FAIL_KINDS, failureSignature, type ExploreResult, type FailKind, type Strategy } from '../../explore/explore.js';
import { recordToFileAsync } from '../../recorder/record.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { AtomicFile, checkTarget, withSignalCleanup } from '../../safe/files.js';
import { insideDir, slug } from '../../safe/slug.js';
import { println } from '../../safe/stdout.js';
import { builtinNames, loadScenario } from '../../scenarios/index.js';
import { parse, seedFlag, UsageError, variantFlags } from '../common.js';
import { MAX_REGRESSION_BYTES } from '../limits.js';
import { FileProblem, readRegularFile } from '../../safe/read.js';
import { shellWord } from '../paths.js';
import { didYouMean } from '../suggest.js';

export const HELP = `usage: iotrace explore <scenario> [--variant axis=value]... [--strategy bfs|dfs|random|pct]
                      [--preemptions N] [--max-states N] [--runs N] [--seed N]
                      [--fail-on fault,violation,expect,blocked] [-o failing.iotrace] [--json]
                      [--no-por] [--no-dedupe] [--regressions FILE] [--no-save]

Searches the schedules of a threaded scenario (one with "threads") for one
that fails: a violation, an unmet expectation, or a run where nothing can
go on (blocked; --fail-on picks, default violation,expect,blocked). A
schedule chooses the thread at every scheduling point: the start of a
thread's step and each yield point of the kernel paths it runs.

--strategy     bfs (default: a shortest failing schedule), dfs, random
               (uniform random schedules) or pct (PCT's priority schedules;
               its probability bound per run is printed)
--preemptions  the most switches away from a thread that could go on (bfs,
               dfs; default 2)
--max-states   stop after this many segments run (default 100000)
--runs         random / pct: how many schedules (default: until --max-states)
--seed         random / pct: the PRNG seed (default 0)
-o             record the first failing schedule as a trace (replay opens it
               at the failure; diff compares it with a passing schedule)
--no-por       no partial-order reduction; --no-dedupe: no state fingerprints
--regressions  the file failing schedules are kept in and re-run first
               (default: <scenario>.schedules.json beside a scenario file,
               ./<name>.schedules.json for a built-in); --no-save: neither
               read nor write it

Prints the statistics, then each distinct failure once (kind, reason or
invariant, object) with its schedule as a --schedule argument and the
command that replays it. Progress goes to stderr when it is a terminal.
Exit 1 when a failure was found, 0 when the bound was explored clean
(or the budget ran out without one), 2 on bad input.`;

const STRATEGIES: readonly Strategy[] = ['bfs', 'dfs', 'random', 'pct'];

function intFlag(v: string | undefined, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`${name} takes an integer ${min}..${max}, got "${v}"`);
  return Number(v);
}

function failOnFlag(v: string | undefined): Set<FailKind> {
  if (v === undefined) return new Set(['violation', 'expect', 'blocked']);
  if (v === 'none') return new Set();
  const out = new Set<FailKind>();
  for (const w of v.split(',')) {
    if (!(FAIL_KINDS as readonly string[]).includes(w)) throw new UsageError(`--fail-on takes a comma-separated list of ${FAIL_KINDS.join(', ')} (or none), got "${w}"${didYouMean(w, FAIL_KINDS)}`);
    out.add(w as FailKind);
  }
  return out;
}

interface RegressionFile { scenario: string; schedules: { variant: Variant; schedule: string[]; failure: string }[] }

/** Where the regression schedules of a scenario live (see HELP). */
function regressionPath(arg: string, scenario: Scenario, given: string | undefined): string {
  if (given !== undefined) return given;
  const builtin = /^[a-z0-9-]+$/.test(arg) && builtinNames().includes(arg);
  if (!builtin && existsSync(arg)) return join(dirname(arg), `${basename(arg).replace(/\.json$/, '')}.schedules.json`);
  return insideDir('.', `${slug(scenario.name)}.schedules.json`);
}

function readRegressions(path: string): RegressionFile | null {
  let text: string;
  // A regular file only (a FIFO planted under the name would block, /dev/zero be read for ever), of bounded size.
  try { text = readRegularFile(path, { what: 'regression file (JSON)', limit: MAX_REGRESSION_BYTES, limitText: '16 MiB', whose: 'a regression file' }); } catch (e) {
    if (!(e instanceof FileProblem)) throw e;
    if (e.code === 'ENOENT') return null;
    throw new UsageError(`${escapeText(path)}: ${e.problem}`);
  }
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { throw new UsageError(`${escapeText(path)}: not a regression file (invalid JSON)`); }
  const d = doc as RegressionFile;
  if (!d || typeof d !== 'object' || !Array.isArray(d.schedules) || !d.schedules.every((s) => s && Array.isArray(s.schedule) && s.schedule.every((t) => typeof t === 'string') && s.schedule.length <= 100_000)) {
    throw new UsageError(`${escapeText(path)}: not a regression file (expected {"scenario", "schedules": [{"variant", "schedule", "failure"}]})`);
  }
  return d;
}

function writeRegressions(path: string, doc: RegressionFile): void {
  const f = new AtomicFile(path);
  try {
    const b = Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
    let o = 0;
    while (o < b.length) o += writeSync(f.fd, b, o, b.length - o);
    f.commit();
  } catch (e) { f.abort(); throw e; }
}

const sameVariant = (a: Variant, b: Variant): boolean => Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => a[k] === b[k]);

function statsLines(r: ExploreResult, maxStates: number): string[] {
  const rate = r.elapsedMs > 0 ? `, ${r.statesPerSec} states/s, ${r.schedulesPerSec} schedules/s (${r.elapsedMs.toFixed(0)} ms)` : '';
  const lines = [
    `  states ${r.states}  distinct ${r.distinct}  schedules ${r.schedules}  depth ${r.depth}${rate}`,
  ];
  if (r.strategy === 'bfs' || r.strategy === 'dfs') {
    lines.push(`  failing schedules: ${(r.failingPct ?? 0).toFixed(1)}% of ${r.schedules}`);
    lines.push(`  pruned: ${r.prunedPor} reorderings (partial-order reduction), ${r.prunedPreemption} past the preemption bound, ${r.prunedDedupe} revisits of a known state`);
    lines.push(r.exhausted ? `  exhausted: every schedule with at most ${r.preemptions} preemptions explored` : r.boundReached ? `  bound reached: --max-states ${maxStates} before the search ended` : '  stopped at the first failure');
  } else {
    lines.push(`  failing runs: ${(r.failingPct ?? 0).toFixed(1)}%${r.boundReached ? ` (stopped at --max-states ${maxStates})` : ''}`);
    if (r.pct) lines.push(`  PCT: n=${r.pct.n} threads, k=${r.pct.k} steps, depth d=${r.pct.d}: each run finds a depth-${r.pct.d} bug with probability >= 1/(n*k^(d-1)) = ${r.pct.bound.toPrecision(3)}`);
  }
  return lines;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    variant: { type: 'string', multiple: true }, strategy: { type: 'string' }, preemptions: { type: 'string' }, 'max-states': { type: 'string' },
    runs: { type: 'string' }, seed: { type: 'string' }, 'fail-on': { type: 'string' }, output: { type: 'string', short: 'o' }, json: { type: 'boolean' },
    'no-por': { type: 'boolean' }, 'no-dedupe': { type: 'boolean' }, regressions: { type: 'string' }, 'no-save': { type: 'boolean' },
  }, 1);
  if (values.help) { console.log(HELP); return 0; }
  const arg = positionals[0] ?? '';
  const scenario = loadScenario(arg);
  if (!scenario.threads) throw new UsageError(`scenario ${escapeText(scenario.name)} has no threads: nothing to explore (docs/scenarios.md, Threads)`);
  const variant = resolveVariant(scenario, variantFlags(scenario, values.variant));
  const strategy = (values.strategy ?? 'bfs') as Strategy;
  if (!STRATEGIES.includes(strategy)) throw new UsageError(`--strategy takes ${STRATEGIES.join(', ')}, got "${values.strategy}"${didYouMean(values.strategy ?? '', STRATEGIES)}`);
  const preemptions = intFlag(values.preemptions, '--preemptions', 0, 64, 2);
  const maxStates = intFlag(values['max-states'], '--max-states', 1, 100_000_000, 100_000);
  const runs = values.runs === undefined ? undefined : intFlag(values.runs, '--runs', 1, 100_000_000, 1);
  const failOn = failOnFlag(values['fail-on']);
  // -o is refused before the search, not after it.
  if (values.output !== undefined) checkTarget(values.output);
  const regPath = values['no-save'] ? null : regressionPath(arg, scenario, values.regressions);
  const reg = regPath ? readRegressions(regPath) : null;
  const regressions = (reg?.schedules ?? []).filter((s) => sameVariant(resolveVariant(scenario, s.variant ?? {}), variant)).map((s) => s.schedule);
  const tty = process.stderr.isTTY === true && !values.json;
  const r = explore(scenario, {
    variant, strategy, preemptions, maxStates, seed: seedFlag(values.seed), failOn,
    por: !values['no-por'], dedupe: !values['no-dedupe'], regressions,
    ...(runs !== undefined ? { runs } : {}),
    // For the statistics only: no decision reads the clock.
    now: () => performance.now(),
    ...(tty ? { onProgress: (s: number, d: number) => process.stderr.write(`\r${s} states, ${d} distinct`) } : {}),
  });
  if (tty && r.states >= 4096) process.stderr.write('\n');
  const v = variantText(variant);
  // The first failing schedule as a trace.
  let trace: string | null = null;
  let traceAt: number | null = null;
  const first = r.failures[0];
  if (values.output !== undefined && first) {
    const out = values.output;
    await withSignalCleanup(() => recordToFileAsync(scenario, { variant, schedule: first.schedule }, out));
    trace = out;
    for (const ev of run(scenario, { variant, schedule: first.schedule })) {
      if (failureSignature(ev, failOn) === first.signature) { traceAt = ev.seq; break; }
    }
  }
  // Keep each new failing schedule for the next run.
  let saved = 0;
  if (regPath && r.failures.length) {
    const doc: RegressionFile = reg ?? { scenario: scenario.name, schedules: [] };
    for (const f of r.failures) {
      if (doc.schedules.some((s) => sameVariant(resolveVariant(scenario, s.variant ?? {}), variant) && s.schedule.join(',') === f.schedule.join(','))) continue;
      doc.schedules.push({ variant, schedule: f.schedule, failure: f.signature });
      saved++;
    }
    if (saved) writeRegressions(regPath, doc);
  }
  const replayCmd = (schedule: string[]): string => `iotrace run ${shellWord(arg)}${Object.keys(variant).map((a) => ` --variant ${shellWord(`${a}=${variant[a]}`)}`).join('')} --schedule ${schedule.join(',')}`;
  if (values.json) {
    const { failures, ...stats } = r;
    await println(jsonText({
      scenario: scenario.name, ...stats, exhausted: r.exhausted,
      failures: failures.map((f, i) => ({ ...f, ...(i === 0 && trace ? { trace, at: traceAt } : {}), replay: replayCmd(f.schedule) })),
      ...(regPath ? { regressions: regPath, saved } : {}),
    }));
    return r.failures.length ? 1 : 0;
  }
  const lines = [`explore ${escapeText(scenario.name)} (${escapeText(v)}): ${strategy}${strategy === 'bfs' || strategy === 'dfs' ? `, at most ${preemptions} preemptions` : `, seed ${seedFlag(values.seed)}`}, threads ${r.threads.map(escapeText).join(', ')}`, ...statsLines(r, maxStates)];
  if (r.failures.length === 0) lines.push('no failure found');
  else {
    lines.push(`failures (${r.failures.length}):`);
    r.failures.forEach((f, i) => {
      lines.push(`  ${f.kind}${f.invariant ? ` ${f.invariant}` : ''}${f.reason && f.kind !== 'blocked' ? ` ${escapeText(f.reason)}` : ''} on ${f.object}${f.regression ? ' (a regression schedule)' : ''}: ${escapeText(f.detail)}`);
      lines.push(`    schedule (${f.schedule.length} decisions, ${f.preemptions} preemptions): --schedule ${f.schedule.map(escapeText).join(',')}`);
      lines.push(`    replay:   ${escapeText(replayCmd(f.schedule))}`);
      if (i === 0 && trace) lines.push(`    trace:    ${escapeText(trace)} (iotrace replay ${shellWord(trace)} --at ${traceAt ?? 'first-violation'})`);
    });
  }
  if (regPath && saved) lines.push(`regressions: ${saved} schedule(s) saved to ${escapeText(regPath)} (re-run first next time)`);
  else if (regPath && regressions.length) lines.push(`regressions: ${regressions.length} schedule(s) from ${escapeText(regPath)} re-run first`);
  await println(lines.join('\n'));
  return r.failures.length ? 1 : 0;
}
