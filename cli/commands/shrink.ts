// iotrace shrink: the smallest scenario that still fails the same way (explore/shrink.ts; docs/explore.md).
import { writeSync } from 'node:fs';
import { resolveVariant, variantText } from '../../engine/scenario.js';
import { FAIL_KINDS, type FailKind } from '../../explore/explore.js';
import { shrink } from '../../explore/shrink.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { AtomicFile, checkTarget } from '../../safe/files.js';
import { println } from '../../safe/stdout.js';
import { loadScenario } from '../../scenarios/index.js';
import { parse, UsageError, variantFlags } from '../common.js';
import { shellWord } from '../paths.js';
import { scheduleFlag } from '../schedule.js';
import { didYouMean } from '../suggest.js';

export const HELP = `usage: iotrace shrink <scenario> [--variant axis=value]... [--schedule t1,t2,...]
                     [--fail-on fault,violation,expect,blocked] [--max-runs N] [--no-values]
                     [-o minimal.json] [--json]

Finds the smallest scenario that still fails the same way: the same fault
reason, invariant or unmet expectation, on the same kind of object. A
threaded scenario fails under --schedule, or else under the shortest
failing schedule explore finds.

  1. steps, by delta debugging: a step goes together with every step that
     uses its "as" result, so nothing is left dangling; then one step at a
     time until removing any one no longer fails (1-minimal);
  2. the schedule: fewer preemptions, then fewer switches;
  3. values: integer fields tried at 1 and at half (--no-values: not).

Prints what it removed and how many runs it took; -o writes the result, a
runnable scenario keeping the original notes (--json prints it). Exit 0
with a result, 1 when the scenario does not fail, 2 on bad input.`;

function failOnFlag(v: string | undefined): Set<FailKind> {
  if (v === undefined) return new Set(['violation', 'expect', 'blocked']);
  const out = new Set<FailKind>();
  for (const w of v.split(',')) {
    if (!(FAIL_KINDS as readonly string[]).includes(w)) throw new UsageError(`--fail-on takes a comma-separated list of ${FAIL_KINDS.join(', ')}, got "${w}"${didYouMean(w, FAIL_KINDS)}`);
    out.add(w as FailKind);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    variant: { type: 'string', multiple: true }, schedule: { type: 'string' }, 'fail-on': { type: 'string' }, 'max-runs': { type: 'string' },
    'no-values': { type: 'boolean' }, output: { type: 'string', short: 'o' }, json: { type: 'boolean' },
  }, 1);
  if (values.help) { console.log(HELP); return 0; }
  const arg = positionals[0] ?? '';
  const scenario = loadScenario(arg);
  const variant = resolveVariant(scenario, variantFlags(scenario, values.variant));
  const schedule = scheduleFlag(values.schedule, scenario);
  // Refused before the shrinking, not after it.
  if (values.output !== undefined) checkTarget(values.output);
  const maxRuns = values['max-runs'] === undefined ? 20_000 : Number(values['max-runs']);
  if (!Number.isSafeInteger(maxRuns) || maxRuns < 1) throw new UsageError(`--max-runs takes a positive integer, got "${values['max-runs']}"`);
  let r;
  try {
    r = shrink(scenario, { variant, ...(schedule ? { schedule } : {}), failOn: failOnFlag(values['fail-on']), maxRuns, values: !values['no-values'] });
  } catch (e) {
    if (e instanceof Error && e.name === 'ShrinkError') { await println(escapeText(e.message)); return 1; }
    throw e;
  }
  const out = { ...r.scenario, name: `${r.scenario.name}-shrunk`, description: `Shrunk by iotrace shrink from ${r.scenario.name} (${variantText(variant)}${r.schedule.length ? `, --schedule ${r.schedule.join(',')}` : ''}): ${r.signature}. ${r.scenario.description}` };
  if (values.output !== undefined) {
    const f = new AtomicFile(values.output);
    try {
      const b = Buffer.from(`${JSON.stringify(out, null, 2)}\n`);
      let o = 0;
      while (o < b.length) o += writeSync(f.fd, b, o, b.length - o);
      f.commit();
    } catch (e) { f.abort(); throw e; }
  }
  if (values.json) {
    await println(jsonText({ signature: r.signature, runs: r.runs, before: r.before, after: r.after, removed: r.removed, smaller: r.smaller, schedule: r.schedule, scenario: out }));
    return 0;
  }
  const v = Object.keys(variant).map((a) => ` --variant ${shellWord(`${a}=${variant[a]}`)}`).join('');
  const lines = [
    `shrink ${escapeText(scenario.name)} (${escapeText(variantText(variant))}): still fails the same way: ${escapeText(r.signature)}`,
    `  steps     ${r.before.steps} -> ${r.after.steps}${r.removed.length ? ` (removed ${r.removed.length}: ${r.removed.map(escapeText).join(', ')})` : ''}`,
  ];
  if (scenario.threads) lines.push(`  schedule  ${r.before.decisions} -> ${r.after.decisions} decisions, ${r.before.preemptions} -> ${r.after.preemptions} preemptions: --schedule ${r.schedule.map(escapeText).join(',')}`);
  if (r.smaller.length) lines.push(`  values    ${r.smaller.map(escapeText).join(', ')}`);
  lines.push(`  runs      ${r.runs}`);
  if (values.output !== undefined) lines.push(`wrote ${escapeText(values.output)}: iotrace run ${shellWord(values.output)}${v}${r.schedule.length ? ` --schedule ${r.schedule.join(',')}` : ''}`);
  await println(lines.join('\n'));
  return 0;
}
