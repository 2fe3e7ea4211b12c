// iotrace schema: the JSON Schema of the scenario format, for editors.
import { scenarioSchema } from '../../engine/schema.js';
import { jsonText } from '../../safe/escape.js';
import { println } from '../../safe/stdout.js';
import { parse } from '../common.js';

export const HELP = `usage: iotrace schema

Prints a JSON Schema (draft-07) of the scenario format, generated from the
validator's own tables: every op and its fields, every ioctl and its
arguments, the builders, the errno names and the fault codes and names an
expect may give, and the variant-dependent expect form. Save it and point a
scenario at it, and an editor completes and checks as you type:

  iotrace schema > scenario.schema.json
  { "$schema": "./scenario.schema.json", "name": ..., "steps": [...] }

The validator stays the judge (names against the platform, $refs, limits):
iotrace run / record say what the schema cannot.`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  if (values.help) { console.log(HELP); return 0; }
  await println(jsonText(scenarioSchema(), 2));
  return 0;
}
