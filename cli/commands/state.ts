// iotrace state: the whole model state after a step, in a stable order.
import { canonicalState } from '../../engine/state.js';
import { cellText, displayKey } from '../../engine/summary.js';
import { adoptCheck, checkTrace } from '../../replayer/check.js';
import { unknownSections, unknownText } from '../../replayer/traced.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { println } from '../../safe/stdout.js';
import { parse } from '../common.js';
import { stepArg, withTrace } from '../trace.js';

export const HELP = `usage: iotrace state <trace> --at N|first-fault|first-violation|last [--from-checkpoint] [--json]

Prints the state after step N has been applied: every section (PASID tables,
PASID cache, IOTLB, ATC, work queues, vCPUs, KVM PASID translation, IOASID
allocator, iommufd objects, ...), keys in natural order. Empty sections are
left out of the text form. A cell is printed as the debugger shows it:
fields in key order, addresses, pointers and sizes in 0x form, the PASID
translation type by name (PGTT=NESTED); --json keeps the numbers. The state is built by applying every event from
the first: a checkpoint in the file is a cache that a damaged or forged
file can get wrong. --from-checkpoint starts from the nearest checkpoint
instead (at most K applies) and says the state rests on an unchecked
checkpoint. first-fault and first-violation are found in the events
themselves, not taken from the footer. For an imported trace, the sections
its log did not trace are named as unknown (not empty): which sections it
traced is found from its events (every event applied), not taken from the
header.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { at: { type: 'string' }, json: { type: 'boolean' }, 'from-checkpoint': { type: 'boolean' } }, 1);
  if (values.help) { console.log(HELP); return 0; }
  return withTrace(positionals[0], async (r) => {
    const imported = r.header.imported;
    // first-fault / first-violation: from the events, not the footer's lists. An imported trace's pass also finds the sections its events write.
    const byEvents = values.at === 'first-fault' || values.at === 'first-violation';
    const check = byEvents || imported ? checkTrace(r, false) : null;
    if (check && byEvents) adoptCheck(r, check);
    const n = stepArg(r, values.at, '--at');
    const fast = values['from-checkpoint'] === true;
    const c = canonicalState(fast ? r.stateAt(n) : r.replayedState(n));
    const unchecked = fast ? r.stateUnchecked(n) : null;
    const basis = fast ? (unchecked === null ? 'from the start or a checked checkpoint' : `from the checkpoint after event ${unchecked}, UNCHECKED`) : 'every event applied from the first';
    // An imported trace holds what its log traced, as its events say (not its header); the other sections are unknown, not empty.
    const traced = check?.traced ?? null;
    const unknown = traced ? unknownSections(traced) : null;
    if (values.json) {
      await println(jsonText({ step: n, tick: c.tick, basis: unchecked === null ? 'replayed' : 'unchecked-checkpoint', ...(unknown ? { unknownSections: unknown } : {}), sections: Object.fromEntries(c.sections.map(([name, cells]) => [name, Object.fromEntries(cells)])) }));
      return 0;
    }
    const out = [`state after step ${n} (tick ${c.tick}; ${basis})`];
    if (imported && traced) {
      out.push(`imported from a ${imported.tool} log: hosts, IOMMUs and devices are the names it uses (other fields the model's defaults);`);
      out.push(unknownText(traced));
    }
    for (const [name, cells] of c.sections) {
      if (cells.length === 0) continue;
      out.push(`[${escapeText(name)}] ${cells.length}`);
      // Keys and values come from the trace: both escaped. A value is key=value in key order, addresses in
      // 0x form and pgtt by name, as the debugger shows it (engine/summary.ts cellText); --json keeps numbers.
      // A key that holds an address or a page frame is shown as the address (displayKey); --json keeps the key.
      for (const [key, value] of cells) out.push(`  ${escapeText(displayKey(name, key)).padEnd(28)} ${escapeText(cellText(name, value))}`);
    }
    await println(out.join('\n'));
    return 0;
  });
}
