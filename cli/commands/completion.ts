// iotrace completion bash|zsh: a shell completion script, generated from the
// command table and each command's --help text (so it never lists an option
// a command does not take).
import { builtinNames } from '../../scenarios/index.js';
import { println } from '../../safe/stdout.js';
import { allCommands, parse, UsageError } from '../common.js';
import { didYouMean } from '../suggest.js';

export const HELP = `usage: iotrace completion bash|zsh

Prints a completion script for the shell: commands, each command's options,
built-in scenario names where a scenario goes, trace files where a trace goes.

  source <(iotrace completion bash)        # in ~/.bashrc
  iotrace completion zsh > "\${fpath[1]}/_iotrace"   # zsh, then compinit`;

/** Commands whose first argument is a scenario (else a file). */
const SCENARIO_FIRST = new Set(['run', 'record', 'matrix', 'start', 'replay']);

/** Each command's options, read from its HELP text. */
export async function optionTable(commands: readonly string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const c of commands) {
    const { HELP: help } = (await import(`./${c}.js`)) as { HELP?: string };
    const opts = new Set<string>(['--help']);
    for (const m of (help ?? '').matchAll(/(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?![\w-])/g)) opts.add(m[1] as string);
    out[c] = [...opts].sort();
  }
  return out;
}

const word = (s: string): string => s.replace(/[^A-Za-z0-9_.=,@:+-]/g, '');

export function bashScript(commands: readonly string[], options: Record<string, string[]>, scenarios: readonly string[]): string {
  const cases = commands.map((c) => `    ${word(c)}) opts="${(options[c] ?? []).map(word).join(' ')}" ;;`).join('\n');
  return `# bash completion for iotrace (iotrace completion bash)
_iotrace() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.map(word).join(' ')} help --version --help" -- "$cur") ); return
  fi
  case "$cmd" in
${cases}
    help) COMPREPLY=( $(compgen -W "${commands.map(word).join(' ')}" -- "$cur") ); return ;;
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W "$opts" -- "$cur") ); return; fi
  case "$cmd" in
    ${[...SCENARIO_FIRST].join('|')}) COMPREPLY=( $(compgen -W "${scenarios.map(word).join(' ')}" -- "$cur") $(compgen -f -X '!*.@(json|iotrace)' -- "$cur") $(compgen -d -- "$cur") ) ;;
    completion) COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") ) ;;
    *) COMPREPLY=( $(compgen -f -- "$cur") ) ;;
  esac
}
shopt -s extglob 2>/dev/null
complete -o filenames -F _iotrace iotrace
`;
}

export function zshScript(commands: readonly string[], options: Record<string, string[]>, scenarios: readonly string[]): string {
  const cases = commands.map((c) => `    ${word(c)}) opts=(${(options[c] ?? []).map(word).join(' ')}) ;;`).join('\n');
  return `#compdef iotrace
# zsh completion for iotrace (iotrace completion zsh)
_iotrace() {
  local -a opts
  if (( CURRENT == 2 )); then
    compadd -- ${commands.map(word).join(' ')} help --version --help; return
  fi
  case $words[2] in
${cases}
    help) compadd -- ${commands.map(word).join(' ')}; return ;;
  esac
  if [[ $PREFIX == -* ]]; then compadd -- $opts; return; fi
  case $words[2] in
    ${[...SCENARIO_FIRST].join('|')}) compadd -- ${scenarios.map(word).join(' ')}; _files -g '*.(json|iotrace)' ;;
    completion) compadd -- bash zsh ;;
    *) _files ;;
  esac
}
compdef _iotrace iotrace 2>/dev/null || true
`;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {}, 1);
  if (values.help) { console.log(HELP); return 0; }
  const shell = positionals[0] ?? '';
  if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`completion takes bash or zsh, got "${shell.slice(0, 40)}"${didYouMean(shell, ['bash', 'zsh'])}`);
  const commands = Object.keys(allCommands());
  const options = await optionTable(commands);
  await println((shell === 'bash' ? bashScript : zshScript)(commands, options, builtinNames()).trimEnd());
  return 0;
}
