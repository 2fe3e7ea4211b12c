// iotrace run: run a scenario and print every event, one per line.
import { run } from '../../engine/run.js';
import { summarize } from '../../engine/summary.js';
import { jsonText } from '../../safe/escape.js';
import { kindAndText } from '../term.js';
import { write } from '../../safe/stdout.js';
import { loadScenario } from '../../scenarios/index.js';
import { errorLine, FAIL_ON_OPTION, failOnFlag, failure, parse, seedFlag, variantFlags } from '../common.js';
import { scheduleFlag } from '../schedule.js';

export const HELP = `usage: iotrace run <name|file.json> [--variant axis=value]... [--seed N] [--json]
                  [--fail-on fault,violation,expect] [--schedule t1,t2,...]

Runs the scenario and prints every event, one per line (JSON lines with
--json).

--fail-on  which findings make the exit code 1 (comma-separated, or none):
           fault (any fault event), violation (a broken invariant of the
           model), expect (an unmet expectation); default expect,violation,
           since a fault may be the point of a scenario. What failed is
           named on stderr.

--schedule a threaded scenario's schedule: the thread of each scheduling
           decision (a step's start or a yield point), in order; round-robin
           after the list ends (docs/explore.md). Each decision is a sched event.

Exit 0, 1 when a --fail-on finding occurred, 2 on bad input.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { variant: { type: 'string', multiple: true }, seed: { type: 'string' }, json: { type: 'boolean' }, schedule: { type: 'string' }, ...FAIL_ON_OPTION }, 1);
  if (values.help) { console.log(HELP); return 0; }
  const failOn = failOnFlag(values['fail-on'], ['expect', 'violation']);
  const scenario = loadScenario(positionals[0] ?? '');
  const variant = variantFlags(scenario, values.variant);
  const schedule = scheduleFlag(values.schedule, scenario);
  const counts = { fault: 0, violation: 0, expect: 0 };
  const out: string[] = [];
  for (const ev of run(scenario, { variant, seed: seedFlag(values.seed), ...(schedule ? { schedule } : {}) })) {
    if (ev.kind === 'expect' || ev.kind === 'fault' || ev.kind === 'violation') counts[ev.kind]++;
    out.push(values.json ? jsonText(ev) : `${String(ev.seq).padStart(6)} t${String(ev.tick).padEnd(5)} ${kindAndText(ev.kind, summarize(ev))}`);
    if (out.length >= 4096) { await write(`${out.join('\n')}\n`); out.length = 0; }
  }
  if (out.length) await write(`${out.join('\n')}\n`);
  const failed = failure(counts, failOn);
  if (failed) errorLine(`exit 1: ${failed}`);
  return failed ? 1 : 0;
}
