#!/usr/bin/env node
// iotrace: the thin command-line front. Each subcommand lives in
// cli/commands/<name>.ts and is loaded only when used.
import { flushOutput, guardOutput, OutputClosed, OutputError, println } from '../safe/stdout.js';
import { errorLine, reportError, setCommand } from './common.js';
import { didYouMean } from './suggest.js';

const COMMANDS: Record<string, string> = {
  list: 'built-in scenarios and their variants',
  run: 'run a scenario, print its events',
  start: 'record a scenario (default: the headline one) and open it at its first fault',
  replay: 'the replay debugger (terminal UI) over a trace',
  record: 'record a scenario run into a binary trace',
  import: 'a real QEMU trace log or kernel ftrace text as a trace',
  info: 'a trace\'s header, counts, faults, damage',
  events: 'list a trace\'s events',
  state: 'the hardware state at a step',
  verify: 're-run a trace\'s scenario and compare the events',
  export: 'a trace as JSON lines, a native Perfetto trace or Chrome trace-event JSON',
  matrix: 'every variant combination of a scenario: faults, violations, expectations',
  diff: 'compare two traces: first divergence, state diff there, differences by kind',
  whatif: 'a trace\'s scenario re-recorded without a step or with a field edited, diffed with it',
  explore: 'search the schedules of a threaded scenario for a failing one (races)',
  shrink: 'the smallest scenario (and schedule) that still fails the same way',
  conformance: 'run a folder of expect-carrying scenarios (default: the kernel selftest, ported)',
  schema: 'the JSON Schema of the scenario format, for editors',
  completion: 'a bash or zsh completion script (source <(iotrace completion bash))',
};

const USAGE = `usage: iotrace <command> [args]   (iotrace help <command>, iotrace <command> --help for more;
       iotrace --version)

${Object.entries(COMMANDS).map(([name, what]) => `  ${name.padEnd(11)} ${what}`).join('\n')}`;

async function main(argv: string[]): Promise<number> {
  // stdout and stderr errors (EPIPE from `| head`, ENOSPC from `> /dev/full`) end the command cleanly.
  guardOutput();
  const [cmd, ...rest] = argv;
  // Printed like every command's output: a failed write (> /dev/full) is one line and exit 2, never a silent 0.
  const say = async (text: string, code: number): Promise<number> => {
    try { await println(text); await flushOutput(); return code; } catch (e) { return reportError(e); }
  };
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || (cmd === 'help' && rest.length === 0)) return say(USAGE, cmd === undefined ? 2 : 0);
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') return say(await versionText(), 0);
  // `help <command>`: that command's --help.
  const name = cmd === 'help' ? (rest[0] as string) : cmd;
  const known = (c: string): boolean => Object.hasOwn(COMMANDS, c);
  if (!known(name)) {
    const shown = name.length > 40 ? `${name.slice(0, 40)}...` : name;
    errorLine(`unknown command "${shown}"${didYouMean(name, Object.keys(COMMANDS))}; iotrace --help lists the commands`);
    return 2;
  }
  if (cmd === 'help') {
    if (rest.length > 1) { errorLine('help takes one command name'); return 2; }
    const { HELP } = (await import(`./commands/${name}.js`)) as { HELP: string };
    return say(HELP, 0);
  }
  setCommand(cmd, COMMANDS);
  const mod = (await import(`./commands/${cmd}.js`)) as { main(argv: string[]): Promise<number> };
  let code: number;
  let outputFailed = false;
  try {
    code = await mod.main(rest);
  } catch (e) {
    outputFailed = e instanceof OutputClosed || e instanceof OutputError;
    code = reportError(e);
  }
  // What was printed must reach its reader before the exit code is chosen (reported once).
  if (!outputFailed) try { await flushOutput(); } catch (e) { code = reportError(e); }
  return code;
}

/** `iotrace --version`: the package's version, the engine's and the trace format's. */
async function versionText(): Promise<string> {
  const [{ readFileSync }, { join }, { PACKAGE_DIR }, { ENGINE_VERSION }, { FORMAT_VERSION }] = await Promise.all([
    import('node:fs'), import('node:path'), import('../scenarios/index.js'), import('../engine/run.js'), import('../trace/format.js'),
  ]);
  const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version?: string };
  return `iotrace ${pkg.version ?? '?'} (engine ${ENGINE_VERSION}, trace format ${FORMAT_VERSION})`;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  // A bug, not bad input: one line (where it happened); the whole stack with IOTRACE_DEBUG=1.
  const where = e instanceof Error ? /\n\s+at (.*)/.exec(e.stack ?? '')?.[1] : undefined;
  if (process.env.IOTRACE_DEBUG && e instanceof Error) process.stderr.write(`${e.stack ?? e.message}\n`);
  errorLine(`internal error: ${e instanceof Error ? e.message : String(e)}${where ? ` (at ${where})` : ''}; please report it (IOTRACE_DEBUG=1 shows the stack)`);
  process.exitCode = 70;
});
