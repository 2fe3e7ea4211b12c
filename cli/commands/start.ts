// iotrace start (npm start): run the headline scenario, dwq-gpasid with
// pasid=translated, and show its first fault.
import { run } from '../../engine/run.js';
import { summarize } from '../../engine/summary.js';
import { loadScenario } from '../../scenarios/index.js';
import { parse } from '../common.js';

export const HELP = `usage: iotrace start

Runs the headline scenario (dwq-gpasid, pasid=translated) and prints what
happened, ending at its first fault.`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  if (values.help) { console.log(HELP); return 0; }
  const scenario = loadScenario('dwq-gpasid');
  const events = [...run(scenario, { variant: { pasid: 'translated' } })];
  const firstFault = events.find((e) => e.kind === 'fault');
  console.log(`scenario dwq-gpasid, variant pasid=translated: ${events.length} events, ${events.filter((e) => e.kind === 'fault').length} fault(s)`);
  for (const ev of events) console.log(`${String(ev.seq).padStart(4)}  ${ev.kind.padEnd(18)} ${summarize(ev)}`);
  if (firstFault) console.log(`\nfirst fault at step ${firstFault.seq}: ${summarize(firstFault)}`);
  return 0;
}
