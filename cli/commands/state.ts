// iotrace state: the whole model state after a step, in a stable order.
import { canonicalState } from '../../engine/state.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { println } from '../../safe/stdout.js';
import { parse } from '../common.js';
import { stepArg, withTrace } from '../trace.js';

export const HELP = `usage: iotrace state <trace> --at N|first-fault|first-violation|last [--json]

Prints the state after step N has been applied: every section (PASID tables,
PASID cache, IOTLB, ATC, work queues, vCPUs, KVM PASID translation, IOASID
allocator, iommufd objects, ...), keys in natural order. Empty sections are
left out of the text form.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { at: { type: 'string' }, json: { type: 'boolean' } }, 1);
  if (values.help) { console.log(HELP); return 0; }
  return withTrace(positionals[0], async (r) => {
    const n = stepArg(r, values.at, '--at');
    const c = canonicalState(r.stateAt(n));
    if (values.json) {
      await println(jsonText({ step: n, tick: c.tick, sections: Object.fromEntries(c.sections.map(([name, cells]) => [name, Object.fromEntries(cells)])) }));
      return 0;
    }
    const out = [`state after step ${n} (tick ${c.tick})`];
    for (const [name, cells] of c.sections) {
      if (cells.length === 0) continue;
      out.push(`[${escapeText(name)}] ${cells.length}`);
      // Keys and values come from the trace: the key escaped, the value as terminal-safe JSON.
      for (const [key, value] of cells) out.push(`  ${escapeText(key).padEnd(28)} ${jsonText(value)}`);
    }
    await println(out.join('\n'));
    return 0;
  });
}
