// iotrace record: run a scenario into a trace file and print a summary.
import { existsSync } from 'node:fs';
import { recordToFileAsync } from '../../recorder/record.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { refuseSameFile, withSignalCleanup } from '../../safe/files.js';
import { insideDir } from '../../safe/slug.js';
import { resolveVariant, variantText } from '../../engine/scenario.js';
import { println } from '../../safe/stdout.js';
import { loadScenario } from '../../scenarios/index.js';
import { scheduleFlag } from '../schedule.js';
import { errorLine, FAIL_ON_OPTION, failOnFlag, failure, parse, seedFlag, UsageError, variantFlags } from '../common.js';
import { MAX_SCALE } from '../../engine/limits.js';
import { intArg } from '../trace.js';
import { shellWord, traceName } from '../paths.js';
import { paint, Progress } from '../term.js';

export const HELP = `usage: iotrace record <name|file.json> [--variant axis=value]... [--seed N]
                     [--scale N] [-o out.iotrace] [--json] [--fail-on fault,violation,expect]
                     [--schedule t1,t2,...]

Runs the scenario and writes its events to a trace file, then prints a
summary (events, faults, first fault, bytes, bytes per event) and the command
that opens it. Without -o the trace goes to the current folder as
<scenario>--<axis>=<value>...iotrace, every axis of the variant in the name
(the names matrix -o gives), so two variants never overwrite each other;
each name and value is made a safe file name (letters, digits and ._=+,@-
only, never a path). --scale sets the size of a generated scenario
(stress: about N events; at most 100000000). Progress goes to stderr when
it is a terminal. --schedule: a threaded scenario's schedule, as for run
(the trace's sched events record every decision; verify re-runs them).

The trace is written under a temporary name in the same folder and renamed
when whole; -o must be a regular file or a new name (a symlink, a device, a
FIFO or a directory is refused). Ctrl-C (or SIGTERM) keeps what was recorded
as <out>.partial, a trace without a footer that every reader recovers.
--fail-on: which findings make the exit code 1, as for run (default
expect,violation; none for nothing); the trace is written either way.
Exit 0, 1 when a --fail-on finding occurred, 2 on bad input.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    variant: { type: 'string', multiple: true }, seed: { type: 'string' }, scale: { type: 'string' },
    output: { type: 'string', short: 'o' }, json: { type: 'boolean' }, schedule: { type: 'string' }, ...FAIL_ON_OPTION,
  }, 1);
  if (values.help) { console.log(HELP); return 0; }
  const failOn = failOnFlag(values['fail-on'], ['expect', 'violation']);
  // As export, import and whatif: -o naming the scenario file itself would replace it with the trace.
  if (values.output !== undefined && positionals[0] !== undefined && existsSync(positionals[0])) refuseSameFile(positionals[0], values.output);
  const scenario = loadScenario(positionals[0] ?? '');
  const variant = variantFlags(scenario, values.variant);
  const seed = seedFlag(values.seed);
  const schedule = scheduleFlag(values.schedule, scenario);
  if (values.scale !== undefined) {
    if (!scenario.generate) throw new UsageError(`scenario ${scenario.name} is not generated; --scale applies to sized scenarios such as stress`);
    scenario.generate = { ...scenario.generate, params: { ...scenario.generate.params, scale: intArg(values.scale, '--scale', 0, MAX_SCALE) } };
  }
  // A name from a file never chooses where a file is written: one safe component inside the current folder.
  const out = values.output ?? insideDir('.', traceName(scenario, resolveVariant(scenario, variant)));
  // Progress on stderr when it is a terminal: percent and ETA against a generated scenario's size (an estimate).
  const progress = new Progress('recording', scenario.generate?.params.scale ?? null, 'events', true);
  const sum = await withSignalCleanup(() => recordToFileAsync(scenario, { variant, seed, ...(schedule ? { schedule } : {}) }, out, {
    ...(progress.active ? { onProgress: (n: number) => progress.update(n), progressEvery: 1 << 14 } : {}),
  }).finally(() => progress.done()));
  if (values.json) await println(jsonText({ path: sum.path, scenario: scenario.name, variant, seed, events: sum.events, faults: sum.faults, firstFault: sum.firstFault, violations: sum.violations, expectFailed: sum.expectFailed, bytes: sum.bytes, bytesPerEvent: sum.bytesPerEvent }));
  else {
    const lines = [
      `recorded ${paint(escapeText(scenario.name), 'bold')} (${escapeText(variantText(variant))}, seed ${seed}) to ${escapeText(sum.path)}`,
      `  events      ${sum.events}`,
      `  faults      ${paint(String(sum.faults), sum.faults ? 'red' : undefined)}${sum.firstFault !== null ? ` (first at step ${sum.firstFault})` : ''}`,
      `  violations  ${paint(String(sum.violations), sum.violations ? 'magenta' : undefined)}`,
      ...(sum.expectFailed ? [`  failed expectations ${sum.expectFailed}`] : []),
      `  bytes       ${sum.bytes} (${sum.bytesPerEvent.toFixed(2)} per event)`,
      `next: iotrace replay ${shellWord(sum.path)}${sum.firstFault !== null ? ' --at first-fault' : ''}`,
    ];
    await println(lines.join('\n'));
  }
  const failed = failure({ fault: sum.faults, violation: sum.violations, expect: sum.expectFailed }, failOn);
  if (failed) errorLine(`exit 1: ${failed}`);
  return failed ? 1 : 0;
}
