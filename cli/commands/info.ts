// iotrace info: what a trace holds, from its footer alone.
import { escapeText, jsonText } from '../../safe/escape.js';
import { variantText, parse } from '../common.js';
import { withTrace } from '../trace.js';

export const HELP = `usage: iotrace info <trace> [--json]

Prints the header (scenario, variant, seed, engine and format versions),
counts per event kind, faults (and the first), violations, bytes, and whether
the trace was recovered from damage (then where it stopped).`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, 1);
  if (values.help) { console.log(HELP); return 0; }
  return withTrace(positionals[0], async (r) => {
    const h = r.header;
    const kinds = Object.fromEntries(Object.keys(r.kinds).sort().map((k) => [k, r.kinds[k] ?? 0]));
    const info = {
      path: r.path, format: h.format, engine: h.engine, scenario: h.scenario.name, variant: h.variant, seed: h.seed,
      events: r.count, faults: r.faults.length, firstFault: r.faults[0] ?? null, violations: r.violations.length,
      firstViolation: r.violations[0] ?? null, kinds, bytes: r.bytes, bytesPerEvent: r.count ? r.bytes / r.count : 0,
      checkpointEvery: r.checkpointEvery, truncated: r.truncated !== null, truncation: r.truncated,
    };
    if (values.json) { console.log(jsonText(info)); return 0; }
    // Every string below comes from the file (or its name): escaped for the terminal.
    console.log(`trace      ${escapeText(r.path)}`);
    console.log(`scenario   ${escapeText(h.scenario.name)} (${escapeText(variantText(h.variant))}), seed ${h.seed}`);
    console.log(`engine     ${escapeText(h.engine || '?')}, format ${h.format}`);
    console.log(`events     ${r.count}`);
    console.log(`faults     ${r.faults.length}${info.firstFault !== null ? ` (first at step ${info.firstFault})` : ''}`);
    console.log(`violations ${r.violations.length}${info.firstViolation !== null ? ` (first at step ${info.firstViolation})` : ''}`);
    console.log(`bytes      ${r.bytes} (${info.bytesPerEvent.toFixed(2)} per event)`);
    console.log(r.truncated ? `DAMAGED    recovered ${r.count} events; stopped at byte ${r.truncated.offset}: ${escapeText(r.truncated.reason)}` : 'whole      yes');
    console.log('kinds');
    for (const [k, n] of Object.entries(kinds)) console.log(`  ${escapeText(k).padEnd(18)} ${n}`);
    return 0;
  });
}
