// iotrace list: the built-in scenarios, their variant axes and what each value means.
import { listScenarios } from '../../scenarios/index.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { println } from '../../safe/stdout.js';
import { parse } from '../common.js';

export const HELP = `usage: iotrace list [--json]

Lists the built-in scenarios with their variant axes; the first value of each
axis is its default.`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' } });
  if (values.help) { console.log(HELP); return 0; }
  const scenarios = listScenarios();
  if (values.json) {
    await println(jsonText(scenarios.map((s) => ({ name: s.name, seed: s.seed ?? null, description: s.description, variants: s.variants ?? {} })), 2));
    return 0;
  }
  const out: string[] = [];
  for (const s of scenarios) {
    out.push(`${escapeText(s.name)}${s.seed ? `  (seed ${s.seed})` : ''}`);
    out.push(`  ${escapeText(s.description.split('. ')[0] ?? '')}.`);
    for (const [axis, values] of Object.entries(s.variants ?? {})) {
      Object.entries(values).forEach(([value, meaning], i) => out.push(`    ${escapeText(axis)}=${escapeText(value)}${i === 0 ? ' (default)' : ''}: ${escapeText(String(meaning))}`));
    }
  }
  await println(out.join('\n'));
  return 0;
}
