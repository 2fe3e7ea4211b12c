// iotrace run: run a scenario and print every event, one per line.
import { run } from '../../engine/run.js';
import { summarize } from '../../engine/summary.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { write } from '../../safe/stdout.js';
import { loadScenario } from '../../scenarios/index.js';
import { parse, seedFlag, variantFlags } from '../common.js';

export const HELP = `usage: iotrace run <name|file.json> [--variant axis=value]... [--seed N] [--json]

Runs the scenario and prints every event, one per line (JSON lines with
--json). Exit 1 when an expectation failed, 2 on bad input.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { variant: { type: 'string', multiple: true }, seed: { type: 'string' }, json: { type: 'boolean' } }, 1);
  if (values.help) { console.log(HELP); return 0; }
  const scenario = loadScenario(positionals[0] ?? '');
  const variant = variantFlags(scenario, values.variant);
  let failed = 0;
  const out: string[] = [];
  for (const ev of run(scenario, { variant, seed: seedFlag(values.seed) })) {
    if (ev.kind === 'expect') failed++;
    out.push(values.json ? jsonText(ev) : `${String(ev.seq).padStart(6)} t${String(ev.tick).padEnd(5)} ${ev.kind.padEnd(18)} ${escapeText(summarize(ev))}`);
    if (out.length >= 4096) { await write(`${out.join('\n')}\n`); out.length = 0; }
  }
  if (out.length) await write(`${out.join('\n')}\n`);
  return failed > 0 ? 1 : 0;
}
