// Helpers every subcommand shares: argument parsing with one-line errors,
// variant flags, exit codes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Scenario, Variant } from '../engine/scenario.js';
import { own } from '../engine/own.js';
import { ScenarioRunError } from '../engine/limits.js';
import { ScenarioError } from '../engine/validate.js';
import { escapeControls, escapeText } from '../safe/escape.js';
import { OutputClosed, OutputError } from '../safe/stdout.js';
import { didYouMean } from './suggest.js';

/** Exit codes: 0 success, 1 a finding, 2 bad usage or bad input. */
export const EXIT = { ok: 0, finding: 1, usage: 2 } as const;

/** Bad usage or bad input: printed as one line, exit 2. */
export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

/** The subcommand being run, for messages ("iotrace events --help"), and every command (name -> what); set by cli/main.ts. */
let command = '';
let commandTable: Readonly<Record<string, string>> = {};
export function setCommand(name: string, all: Readonly<Record<string, string>> = {}): void { command = name; commandTable = all; }
/** Every command iotrace has (name -> one line), as cli/main.ts lists them. */
export const allCommands = (): Readonly<Record<string, string>> => commandTable;

/**
 * Node's parseArgs error as one line of ours: an unknown option with
 * did-you-mean among the command's options, a missing value, a value given
 * to a flag that takes none.
 */
function optionProblem(e: Error & { code?: string }, options: NonNullable<ParseArgsConfig['options']>): string {
  const named = /'(-[^' ,<]+)/.exec(e.message)?.[1] ?? '';
  const names = Object.keys(options).map((n) => `--${n}`);
  const help = `iotrace ${command ? `${command} ` : ''}--help`;
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const shown = named.length > 40 ? `${named.slice(0, 40)}...` : named;
    return `unknown option ${shown}${didYouMean(named.startsWith('--') ? named : `--${named.replace(/^-+/, '')}`, names)}; ${help} lists the options`;
  }
  if (/does not take an argument/.test(e.message)) return `${named} takes no value`;
  if (/argument missing/.test(e.message)) return `${named} takes a value (${help})`;
  if (/ambiguous/.test(e.message)) return `${named} takes a value; one that starts with "-" is written ${named.startsWith('--') ? `${named}=-VALUE` : `${named}-VALUE`}`;
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument (${help})`;
  return (e.message.split('\n')[0] ?? '').slice(0, 200);
}

/** What parse() returns: parseArgs' result for the command's options and --help (named, so declarations can be emitted). */
type ParseConfig<T> = { args: string[]; options: T & { help: { type: 'boolean'; short: string } }; allowPositionals: true; strict: true };
export type Parsed<T extends ParseArgsConfig['options']> = ReturnType<typeof parseArgs<ParseConfig<T>>>;

export function parse<T extends ParseArgsConfig['options']>(argv: string[], options: T, positionals: number | [number, number] = 0): Parsed<T> {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as NonNullable<ParseArgsConfig['options']>;
  // `--at -1`, `--seed -3`: a negative number after an option that takes a value is that value (the option
  // then says in one line whether it accepts it), not an unknown option.
  const shorts = new Map(Object.entries(all).flatMap(([n, o]) => (o.short ? [[o.short, n] as const] : [])));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const m = /^--([^=]+)$/.exec(a) ?? /^-([^-=])$/.exec(a);
    const name = m ? (a.startsWith('--') ? m[1] : shorts.get(m[1] ?? '')) : undefined;
    const next = argv[i + 1];
    if (a === '--') { args.push(...argv.slice(i)); break; }
    if (name !== undefined && all[name]?.type === 'string' && next !== undefined && /^-(\d|0x)/i.test(next)) { args.push(`--${name}=${next}`); i++; continue; }
    args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(optionProblem(e as Error & { code?: string }, all));
  }
  const [min, max] = Array.isArray(positionals) ? positionals : [positionals, positionals];
  if (!(parsed.values as { help?: boolean }).help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}${command ? ` (iotrace ${command} --help)` : ''}`);
  }
  return parsed;
}

/** `--variant axis=value` flags, checked against the scenario's axes. */
export function variantFlags(scenario: Scenario, flags: string[] | undefined): Variant {
  const out: Variant = {};
  for (const flag of flags ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(flag);
    if (!m) throw new UsageError(`--variant takes axis=value, got "${flag}"`);
    const [, axis = '', value = ''] = m;
    const values = own(scenario.variants ?? {}, axis);
    if (!values) throw new UsageError(`scenario ${scenario.name} has no variant axis "${axis}"${didYouMean(axis, Object.keys(scenario.variants ?? {}))} (axes: ${Object.keys(scenario.variants ?? {}).join(', ') || 'none'})`);
    if (!Object.hasOwn(values, value)) throw new UsageError(`variant axis ${axis} has no value "${value}"${didYouMean(value, Object.keys(values))} (values: ${Object.keys(values).join(', ')})`);
    out[axis] = value;
  }
  return out;
}

export function seedFlag(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new UsageError(`--seed takes an integer 0..4294967295, got "${value}"`);
  return Number(value);
}

/** What `--fail-on` can name: any fault event, any violation event, any unmet expectation. */
export const FINDINGS = ['fault', 'violation', 'expect'] as const;
export type Finding = (typeof FINDINGS)[number];
/** The option, for a command's parse() table. */
export const FAIL_ON_OPTION = { 'fail-on': { type: 'string' } } as const;

/**
 * `--fail-on fault,violation,expect` (any subset, comma-separated; "none"
 * for nothing): which findings make the command exit 1. `dflt` when absent.
 */
export function failOnFlag(value: string | undefined, dflt: readonly Finding[]): Set<Finding> {
  if (value === undefined) return new Set(dflt);
  const out = new Set<Finding>();
  if (value === 'none') return out;
  for (const word of value.split(',')) {
    if (!(FINDINGS as readonly string[]).includes(word)) {
      throw new UsageError(`--fail-on takes a comma-separated list of ${FINDINGS.join(', ')} (or none), got "${word}"${didYouMean(word, FINDINGS)}`);
    }
    out.add(word as Finding);
  }
  return out;
}

/**
 * The findings that make the exit code 1, as "2 violations, 1 unmet expectation",
 * or null when none of `failOn` occurred. Counts per finding.
 */
export function failure(counts: Record<Finding, number>, failOn: ReadonlySet<Finding>): string | null {
  const words: Record<Finding, [string, string]> = { fault: ['fault', 'faults'], violation: ['violation', 'violations'], expect: ['unmet expectation', 'unmet expectations'] };
  const hit = FINDINGS.filter((f) => failOn.has(f) && counts[f] > 0).map((f) => `${counts[f]} ${words[f][counts[f] === 1 ? 0 : 1]}`);
  return hit.length ? `${hit.join(', ')} (--fail-on ${[...failOn].join(',')})` : null;
}


/** The fields a DIVERGES line names (verify), escaped: the names are a trace's keys. */
export const fieldsText = (fields: readonly string[]): string => (fields.length ? fields.map((f) => escapeText(f)).join(', ') : '(none by value)');

/** One error line on stderr; a message can quote a file's strings, so controls are escaped (safe/escape.ts). */
export function errorLine(message: string): void {
  process.stderr.write(`iotrace: ${escapeControls(message)}\n`);
}

/**
 * Turn any thrown error into the exit code and one message on stderr. The
 * reader of stdout going away (EPIPE) is not an error: exit 0, nothing
 * printed. Any other write error, a refused output file (safe/files.ts) and
 * every errno are one line, exit 2.
 */
export function reportError(e: unknown): number {
  if (e instanceof OutputClosed) return EXIT.ok;
  if (e instanceof OutputError) { errorLine(e.message); return EXIT.usage; }
  if (e instanceof UsageError) { errorLine(e.message); return EXIT.usage; }
  if (e instanceof ScenarioError) { errorLine(e.message); return EXIT.usage; }
  // A scenario that reached a bound of the model while running (engine/limits.ts): bad input too.
  if (e instanceof ScenarioRunError) { errorLine(e.message); return EXIT.usage; }
  // TraceError (a bad trace), RecordLimitError (a recording the reader would refuse) and every errno: bad input.
  if (e instanceof Error && (e.name === 'TraceError' || e.name === 'RecordLimitError' || e.name === 'ScheduleError' || e.name === 'WhatIfError' || (e as NodeJS.ErrnoException).code !== undefined)) {
    errorLine(e.message);
    return EXIT.usage;
  }
  throw e;
}
