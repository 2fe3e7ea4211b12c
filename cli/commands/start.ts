// iotrace start (npm start): record a scenario (by default the headline one,
// dwq-gpasid with pasid=translated) into the per-user cache folder and open
// the replay debugger at its first fault; print the trace's path after
// quitting. When stdout is not a terminal, print what happened instead.
import { resolveVariant, type Scenario, type Variant, variantText } from '../../engine/scenario.js';
import { summarize } from '../../engine/summary.js';
import { recordToFileAsync } from '../../recorder/record.js';
import { TraceReplayer } from '../../replayer/replayer.js';
import { escapeText } from '../../safe/escape.js';
import { withSignalCleanup } from '../../safe/files.js';
import { insideDir } from '../../safe/slug.js';
import { println } from '../../safe/stdout.js';
import { loadScenario } from '../../scenarios/index.js';
import { parse, seedFlag, variantFlags } from '../common.js';
import { cacheDir, shellWord, traceName } from '../paths.js';
import { interactive } from './replay.js';

export const HELP = `usage: iotrace start [scenario] [--variant axis=value]... [--seed N] [-o trace]

Records a scenario (a built-in name or a .json file; default: the headline
scenario, dwq-gpasid under pasid=translated) and opens the replay debugger
at its first fault. After you quit, prints the trace's path. The trace goes
to the per-user cache folder, $XDG_CACHE_HOME/iotrace or ~/.cache/iotrace
(created with mode 0700; a symlinked folder, or one owned or writable by
another user, is refused), as <scenario>--<axis>=<value>...iotrace, or to -o.
When stdout is not a terminal, prints the events instead, ending at the first
fault, and the trace's path.`;

/** The headline scenario and variant `start` records with no argument. */
export const HEADLINE = { scenario: 'dwq-gpasid', variant: { pasid: 'translated' } as Variant };

/** Record `scenario` under `variant` into the cache folder (or `output`); the trace's path. */
export async function recordForReplay(scenario: Scenario, variant: Variant, seed: number, output?: string): Promise<string> {
  const path = output ?? insideDir(cacheDir(), traceName(scenario, resolveVariant(scenario, variant)));
  const sum = await withSignalCleanup(() => recordToFileAsync(scenario, { variant, seed }, path));
  return sum.path;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    output: { type: 'string', short: 'o' }, variant: { type: 'string', multiple: true }, seed: { type: 'string' },
  }, [0, 1]);
  if (values.help) { console.log(HELP); return 0; }
  const name = positionals[0];
  const scenario = loadScenario(name ?? HEADLINE.scenario);
  const variant = name === undefined && values.variant === undefined ? HEADLINE.variant : variantFlags(scenario, values.variant);
  const seed = seedFlag(values.seed);
  const path = await recordForReplay(scenario, variant, seed, values.output);
  const r = TraceReplayer.open(path);
  const shown = `${escapeText(scenario.name)} (${escapeText(variantText(resolveVariant(scenario, variant)))})`;
  try {
    const firstFault = r.faults[0];
    if (process.stdout.isTTY && process.stdin.isTTY) {
      const code = await interactive(r, firstFault ?? 0);
      await println(`trace: ${shellWord(path)} (iotrace replay ${shellWord(path)} opens it again)`);
      return code;
    }
    const events = r.events(0, r.count);
    const out = [`scenario ${shown}: ${events.length} events, ${r.faults.length} fault(s)`];
    for (const ev of events) out.push(`${String(ev.seq).padStart(4)}  ${escapeText(ev.kind).padEnd(18)} ${escapeText(summarize(ev))}`);
    if (firstFault !== undefined) out.push(`\nfirst fault at step ${firstFault}: ${escapeText(summarize(r.event(firstFault)))}`);
    out.push(`\ntrace: ${shellWord(path)} (in a terminal: iotrace replay ${shellWord(path)}${firstFault !== undefined ? ' --at first-fault' : ''})`);
    await println(out.join('\n'));
    return 0;
  } finally {
    r.close();
  }
}
