#!/usr/bin/env node
// iotrace: the thin command-line front. Each subcommand lives in
// cli/commands/<name>.ts and is loaded only when used.
import { reportError } from './common.js';

const COMMANDS: Record<string, string> = {
  list: 'built-in scenarios and their variants',
  run: 'run a scenario, print its events',
  start: 'record the headline scenario and open it at its first fault',
  replay: 'the replay debugger (terminal UI) over a trace',
  record: 'record a scenario run into a binary trace',
  info: 'a trace\'s header, counts, faults, damage',
  events: 'list a trace\'s events',
  state: 'the hardware state at a step',
  verify: 're-run a trace\'s scenario and compare the events',
  export: 'a trace as JSON lines or Chrome trace-event JSON (Perfetto)',
  matrix: 'every variant combination of a scenario: faults, violations, expectations',
  diff: 'compare two traces: first divergence, state diff there, differences by kind',
  conformance: 'run a folder of expect-carrying scenarios (default: the kernel selftest, ported)',
};

const USAGE = `usage: iotrace <command> [args]   (iotrace <command> --help for more)

${Object.entries(COMMANDS).map(([name, what]) => `  ${name.padEnd(11)} ${what}`).join('\n')}`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') { console.log(USAGE); return cmd === undefined ? 2 : 0; }
  if (!Object.hasOwn(COMMANDS, cmd)) { process.stderr.write(`iotrace: unknown command "${cmd}" (try iotrace --help)\n`); return 2; }
  const mod = (await import(`./commands/${cmd}.js`)) as { main(argv: string[]): Promise<number> };
  try {
    return await mod.main(rest);
  } catch (e) {
    return reportError(e);
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`iotrace: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 70;
});
