// iotrace start (npm start): record the headline scenario, dwq-gpasid with
// pasid=translated, into a trace and open the replay debugger at its first
// fault. When stdout is not a terminal, print what happened instead.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize } from '../../engine/summary.js';
import { recordToFile } from '../../recorder/record.js';
import { TraceReplayer } from '../../replayer/replayer.js';
import { escapeText } from '../../safe/escape.js';
import { loadScenario } from '../../scenarios/index.js';
import { parse } from '../common.js';
import { interactive } from './replay.js';

export const HELP = `usage: iotrace start [-o trace]

Records the headline scenario (dwq-gpasid, pasid=translated) into a trace
(default: <tmpdir>/iotrace/dwq-gpasid-translated.iotrace, rewritten on every
run) and opens the replay debugger at its first fault. When stdout is not a
terminal, prints what happened instead, ending at the first fault.`;

/** Where `start` records unless told otherwise. */
export const START_TRACE = join(tmpdir(), 'iotrace', 'dwq-gpasid-translated.iotrace');

export async function main(argv: string[]): Promise<number> {
  const { values } = parse(argv, { output: { type: 'string', short: 'o' } });
  if (values.help) { console.log(HELP); return 0; }
  const path = values.output ?? START_TRACE;
  if (values.output === undefined) mkdirSync(join(tmpdir(), 'iotrace'), { recursive: true });
  const scenario = loadScenario('dwq-gpasid');
  recordToFile(scenario, { variant: { pasid: 'translated' } }, path);
  const r = TraceReplayer.open(path);
  try {
    const firstFault = r.faults[0];
    if (process.stdout.isTTY && process.stdin.isTTY) return await interactive(r, firstFault ?? 0);
    const events = r.events(0, r.count);
    console.log(`scenario dwq-gpasid, variant pasid=translated: ${events.length} events, ${r.faults.length} fault(s)`);
    for (const ev of events) console.log(`${String(ev.seq).padStart(4)}  ${ev.kind.padEnd(18)} ${escapeText(summarize(ev))}`);
    if (firstFault !== undefined) console.log(`\nfirst fault at step ${firstFault}: ${escapeText(summarize(r.event(firstFault)))}`);
    console.log(`\ntrace: ${escapeText(path)} (in a terminal: iotrace replay ${escapeText(path)} --at first-fault)`);
    return 0;
  } finally {
    r.close();
  }
}
