// iotrace list: the built-in scenarios, their variant axes and what each value means.
import { listScenarios } from '../../scenarios/index.js';
import { parse } from '../common.js';

export const HELP = `usage: iotrace list [--json]

Lists the built-in scenarios with their variant axes; the first value of each
axis is its default.`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' } });
  if (values.help) { console.log(HELP); return 0; }
  const scenarios = listScenarios();
  if (values.json) {
    console.log(JSON.stringify(scenarios.map((s) => ({ name: s.name, seed: s.seed ?? null, description: s.description, variants: s.variants ?? {} })), null, 2));
    return 0;
  }
  for (const s of scenarios) {
    console.log(`${s.name}${s.seed ? `  (seed ${s.seed})` : ''}`);
    console.log(`  ${s.description.split('. ')[0]}.`);
    for (const [axis, values] of Object.entries(s.variants ?? {})) {
      Object.entries(values).forEach(([value, meaning], i) => console.log(`    ${axis}=${value}${i === 0 ? ' (default)' : ''}: ${meaning}`));
    }
  }
  return 0;
}
