// Feed one (possibly damaged, possibly forged) trace file to the readers and
// check every answer against the oracle (oracle.ts): the subcommands info,
// info --deep, state, verify, diff, export and events (their own main(), in
// process, as cli/main.ts runs them), the replayer API the TUI and diff use,
// and on a fraction of cases the TUI's keys through the fake terminal and
// stdout / file-system faults. Each reader runs on a random subset of cases
// (a lie always gets verify and diff). Besides the oracle's rules, every
// call must return or end in the project's one-line errors (a TraceError
// with a byte offset inside the file, a UsageError ...), never in anything
// that would reach cli/main.ts's caller as an internal error.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { main as diffMain } from '../../cli/commands/diff.js';
import { main as eventsMain } from '../../cli/commands/events.js';
import { main as exportMain } from '../../cli/commands/export.js';
import { main as infoMain } from '../../cli/commands/info.js';
import { main as replayMain } from '../../cli/commands/replay.js';
import { main as stateMain } from '../../cli/commands/state.js';
import { main as verifyMain } from '../../cli/commands/verify.js';
import { UsageError } from '../../cli/common.js';
import { canonicalState } from '../../engine/state.js';
import { family, summarize } from '../../engine/summary.js';
import type { TraceEvent } from '../../engine/types.js';
import { adoptCheck, checkTrace } from '../../replayer/check.js';
import { TraceReplayer } from '../../replayer/replayer.js';
import { diffTraces } from '../../replayer/trace-diff.js';
import { TraceError } from '../../trace/format.js';
import { inProcess, stderrProblem, type CliResult, type Main, type StdoutFault } from './cli.js';
import { scratchRoot, type TraceEntry } from './corpus.js';
import { withWriteFault } from './fs-fault.js';
import { headerTruth, variantOfScenario } from './header-truth.js';
import {
  ApplyFails, closeTruth, eventOfR, expectThat, falseCheckpoints, firstUnappliable, OracleFailure, readTruth, sameClaims, sameState, stateJson, tracedFalse, truthState, type Truth,
} from './oracle.js';

export interface Outcome {
  /** Opened by the replayer: events readable, and whether it was recovered from damage. */
  opened: { count: number; truncated: boolean } | null;
  /** TraceError offsets seen (each inside the file). */
  traceErrors: number;
  usageErrors: number;
  /** R is not a prefix of the original's events. */
  lie: boolean;
  /** A lie that info calls whole (its digests were recomputed: only verify and diff can tell). */
  forgedWhole: boolean;
  /** Checkpoints that read back but are false. */
  falseCheckpoints: number;
  /** Readers run. */
  readers: string[];
  /** Milliseconds spent in each reader (the slowest run of it, in this case). */
  ms: Record<string, number>;
}

/** Time a reader into out.ms. */
export async function timed<T>(out: Outcome, name: string, f: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  try { return await f(); } finally { out.ms[name] = Math.max(out.ms[name] ?? 0, performance.now() - t0); }
}

/** Thrown for anything the contract does not allow. */
export class FuzzFailure extends Error {
  constructor(readonly where: string, override readonly cause: unknown) {
    super(`${where}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`);
    this.name = 'FuzzFailure';
  }
}

export type Pick = (n: number) => number;

interface Ctx { path: string; size: number; t: Truth; out: Outcome; pick: Pick; chance(p: number): boolean; unappliable: number | null | undefined }

function allowed(e: unknown, ctx: Ctx, where: string): void {
  if (e instanceof OracleFailure || e instanceof FuzzFailure) throw e;
  if (e instanceof TraceError) {
    if (!Number.isSafeInteger(e.offset) || e.offset < 0 || e.offset > ctx.size) throw new FuzzFailure(where, new Error(`TraceError offset ${e.offset} outside the ${ctx.size}-byte file: ${e.message}`));
    ctx.out.traceErrors++;
    return;
  }
  if (e instanceof UsageError) { ctx.out.usageErrors++; return; }
  throw new FuzzFailure(where, e);
}

/** Run a subcommand in process; fail on an internal error or a stderr that is not one line. */
async function cli(ctx: Ctx, name: string, main: Main, argv: string[], fault: { kind: StdoutFault; afterWrites: number } | null = null): Promise<CliResult> {
  ctx.out.readers.push(name);
  const r = await timed(ctx.out, name, () => inProcess(main, argv, fault));
  if (r.internal !== null) throw new FuzzFailure(`${name}: internal error`, r.internal);
  const bad = stderrProblem(r);
  if (bad) throw new FuzzFailure(name, new Error(bad));
  if (r.error instanceof TraceError) allowed(r.error, ctx, name);
  else if (r.error instanceof UsageError) ctx.out.usageErrors++;
  if (![0, 1, 2].includes(r.code)) throw new FuzzFailure(name, new Error(`exit ${r.code}`));
  return r;
}

const json = <T>(name: string, r: CliResult): T => {
  try { return JSON.parse(r.stdout) as T; } catch { throw new OracleFailure(`${name} --json prints one JSON document`, JSON.stringify(r.stdout.slice(0, 300))); }
};

const unappliable = (ctx: Ctx): number | null => (ctx.unappliable === undefined ? (ctx.unappliable = firstUnappliable(ctx.t)) : ctx.unappliable);

/** The state R builds after n, or null when an event up to n does not apply. */
function truthOrNull(t: Truth, n: number): ReturnType<typeof truthState> | null {
  try { return truthState(t, n); } catch (e) {
    if (e instanceof ApplyFails) return null;
    throw e;
  }
}

// ---------------------------------------------------------------- the readers

interface InfoJson {
  events: number; faults: number; firstFault: number | null; violations: number; firstViolation: number | null; kinds: Record<string, number>; whole: boolean;
  truncated: boolean; truncation: { offset: number; reason: string } | null;
  checks: { checkpoints: string; footer: string; problems: string[] };
}

/** R's claims over its first `upto` events. */
function claimsOf(t: Truth, upto: number): Truth['events'] {
  if (upto >= t.count) return t.events;
  const kinds: Record<string, number> = {};
  for (let n = 0; n < upto; n++) { const k = eventOfR(t, n).kind; kinds[k] = (kinds[k] ?? 0) + 1; }
  return { events: upto, kinds, faults: t.events.faults.filter((x) => x < upto), violations: t.events.violations.filter((x) => x < upto) };
}

function claimsMatch(ctx: Ctx, name: string, j: InfoJson, upto = ctx.t.count): void {
  const t = ctx.t;
  const e = claimsOf(t, upto);
  const detail = (): string => `reports ${j.events} events, faults ${j.faults} (first ${j.firstFault}), violations ${j.violations} (first ${j.firstViolation}), kinds ${JSON.stringify(j.kinds)}; R holds ${e.events}, ${e.faults.length} (first ${e.faults[0] ?? null}), ${e.violations.length} (first ${e.violations[0] ?? null}), ${JSON.stringify(e.kinds)}`;
  const kinds = Object.fromEntries(Object.entries(j.kinds).filter(([, n]) => n !== 0));
  const want = Object.fromEntries(Object.keys(e.kinds).sort().map((k) => [k, e.kinds[k]]));
  expectThat(j.events === e.events && j.faults === e.faults.length && j.firstFault === (e.faults[0] ?? null) && j.violations === e.violations.length
    && j.firstViolation === (e.violations[0] ?? null) && isDeepStrictEqual(kinds, want), `${name}: its counts are the readable events'`, detail);
}

async function info(ctx: Ctx): Promise<InfoJson | null> {
  const t = ctx.t;
  const r = await cli(ctx, 'info --json', infoMain, [ctx.path, '--json']);
  if (t.openError) {
    expectThat(r.code === 2 && r.error instanceof UsageError, 'info refuses a file the replayer cannot open', () => `exit ${r.code}`);
    return null;
  }
  expectThat(r.code !== 2, 'info reads every file the replayer opens', () => `exit 2: ${r.stderr}`);
  const j = json<InfoJson>('info', r);
  claimsMatch(ctx, 'info', j);
  const readable = t.stop === null && !t.truncated && t.count === t.indexCount && t.checkpointsReadable;
  expectThat(j.whole === readable, 'info says whole exactly when every indexed chunk and checkpoint reads back (CRC, SHA-256)',
    () => `whole ${j.whole}; R ${t.count} of ${t.indexCount} events, stop ${t.stop?.message ?? 'none'}, recovered ${t.truncated}, checkpoints readable ${t.checkpointsReadable}`);
  expectThat(j.truncated === !j.whole && (j.whole || (j.truncation !== null && Number.isSafeInteger(j.truncation.offset))), 'info --json: a file that is not whole says where it is damaged (truncation.offset)',
    () => JSON.stringify({ whole: j.whole, truncated: j.truncated, truncation: j.truncation }));
  const claimsTrue = sameClaims(t.claimed, t.events) && t.chainOk && t.hashesOk;
  // Claims are compared once every event was read (a damaged checkpoint alone does not stop that).
  const allRead = t.stop === null && !t.truncated && t.count === t.indexCount;
  const variantTrue = t.r === null || variantOfScenario(t.r.header.scenario, t.r.header.variant);
  const tracedLie = tracedFalse(t) === true;
  const want = (allRead && !claimsTrue) || !variantTrue || tracedLie ? 1 : 0;
  expectThat(r.code === want, 'info exits 1 exactly when a file whose events all read has a footer that claims what they do not say, or its header a variant its scenario has not or (imported) traced sections its events do not write',
    () => `exit ${r.code}; whole ${j.whole}; footer ${JSON.stringify(t.claimed)} chain ${t.chainOk} state hashes ${t.hashesOk}; events ${JSON.stringify(t.events)}; header variant ${JSON.stringify(t.r?.header.variant)} of axes ${JSON.stringify(Object.keys(t.r?.header.scenario.variants ?? {}))}; imported traced ${JSON.stringify(t.r?.header.imported?.traced ?? null)} false ${tracedLie}`);
  if (!t.prefix && j.whole) ctx.out.forgedWhole = true;
  return j;
}

async function infoText(ctx: Ctx): Promise<void> {
  const r = await cli(ctx, 'info', infoMain, [ctx.path]);
  if (ctx.t.openError) return;
  expectThat(/^events {5}\d+$/m.test(r.stdout) && Number(/^events {5}(\d+)$/m.exec(r.stdout)?.[1]) === ctx.t.count, 'info: the events line counts the readable events', () => r.stdout.slice(0, 400));
  const damaged = /^DAMAGED .*$/m.exec(r.stdout)?.[0];
  // Reading stopped (a chunk) or every event read back and a checkpoint is damaged: either way the line names a byte.
  if (damaged) expectThat(/(stopped at|damage at) byte \d+:/.test(damaged), 'info: a DAMAGED line names the byte where the damage is', () => damaged);
}

async function infoDeep(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  const r = await cli(ctx, 'info --deep --json', infoMain, [ctx.path, '--deep', '--json']);
  if (t.openError) return;
  expectThat(r.code !== 2, 'info --deep reads every file the replayer opens', () => `exit 2: ${r.stderr}`);
  const j = json<InfoJson>('info --deep', r);
  const fc = falseCheckpoints(t);
  ctx.out.falseCheckpoints = fc.length;
  if (fc.length > 0) {
    expectThat(j.checks.checkpoints === 'disagree', 'info --deep flags a checkpoint that is not the state its events build', () => `checkpoints ${fc.join(', ')} are false; info --deep says ${j.checks.checkpoints}: ${j.checks.problems.join(' | ')}`);
    if (t.stop === null) expectThat(r.code === 1, 'info --deep exits 1 for a false checkpoint', () => `exit ${r.code}`);
  }
  if (j.checks.checkpoints === 'checked') expectThat(t.checkpointsReadable && t.stop === null, 'info --deep says checkpoints checked only when every one was read', () => JSON.stringify(j.checks));
  const u = unappliable(ctx);
  // An event that does not apply ends the deep pass only: the fast pass reads on, so the counts are every readable event's.
  claimsMatch(ctx, u === null ? 'info --deep' : 'info --deep (past an event that does not apply)', j);
  if (u !== null) {
    expectThat(!j.whole, 'info --deep: an event that does not apply is damage', () => 'whole');
    // No checkpoint after it was compared: only one before it (or one that does not read) can be called false.
    const before = falseCheckpoints(t).some((i) => ((t.r as TraceReplayer).index.checkpointSeqs[i] as number) < u);
    if (!before && t.checkpointsReadable) expectThat(j.checks.checkpoints !== 'disagree', 'info --deep: checkpoints past an event that does not apply are unchecked, not false', () => JSON.stringify(j.checks));
  }
}

async function stateFirstFault(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  const what = ctx.chance(0.25) ? 'first-violation' : 'first-fault';
  const r = await cli(ctx, `state --at ${what} --json`, stateMain, [ctx.path, '--at', what, '--json']);
  if (t.openError) return;
  const first = (what === 'first-fault' ? t.events.faults : t.events.violations)[0];
  if (first === undefined) { expectThat(r.code === 2, `state --at ${what} refuses a trace whose readable events hold none`, () => `exit ${r.code}: ${r.stdout.slice(0, 200)}`); return; }
  const truth = truthOrNull(t, first);
  if (!truth) { expectThat(r.code === 2 && r.error instanceof TraceError, 'state: an event that does not apply is a TraceError', () => `exit ${r.code}`); return; }
  expectThat(r.code === 0, `state --at ${what} reads an event the events hold`, () => `exit ${r.code}: ${r.stderr}`);
  const j = json<{ step: number; tick: number; sections: unknown }>('state', r);
  expectThat(j.step === first, `state --at ${what} lands on the first such event in the file`, () => `step ${j.step}, the first is ${first}`);
  const want = stateJson(truth);
  expectThat(j.tick === want.tick && isDeepStrictEqual(j.sections, want.sections), `state --at ${what} is the state the events build`, () => `step ${first}`);
}

async function stateAt(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  if (t.openError) return;
  const fast = ctx.chance(0.3);
  const n = t.indexCount === 0 || ctx.chance(0.05) ? t.indexCount + ctx.pick(3) : ctx.chance(0.2) ? t.indexCount - 1 : ctx.pick(t.indexCount);
  const args = [ctx.path, '--at', String(n), '--json', ...(fast ? ['--from-checkpoint'] : [])];
  const r = await cli(ctx, `state --at N${fast ? ' --from-checkpoint' : ''}`, stateMain, args);
  if (n >= t.indexCount) { expectThat(r.code === 2 && r.error instanceof UsageError, 'state --at past the end is a usage error', () => `exit ${r.code}`); return; }
  if (n >= t.count) {
    // --from-checkpoint may start from a checkpoint past the damage: then it must say the state is unchecked.
    if (fast && r.code === 0) expectThat(json<{ basis: string }>('state', r).basis === 'unchecked-checkpoint', 'state --from-checkpoint past the damage says UNCHECKED', () => r.stdout.slice(0, 200));
    else expectThat(r.code === 2, 'state --at a step past the damage is an error, not a state', () => `exit ${r.code}, R has ${t.count} events`);
    return;
  }
  const truth = truthOrNull(t, n);
  if (!truth) {
    if (fast && r.code === 0) expectThat(json<{ basis: string }>('state', r).basis === 'unchecked-checkpoint', 'state --from-checkpoint past an event that does not apply says UNCHECKED', () => r.stdout.slice(0, 200));
    else expectThat(r.code === 2 && r.error instanceof TraceError, 'state: an event that does not apply is a TraceError', () => `exit ${r.code}`);
    return;
  }
  if (fast && r.code === 2) { expectThat(r.error instanceof TraceError, 'state --from-checkpoint fails only on damage', () => String(r.error)); return; }
  expectThat(r.code === 0, 'state --at N reads a step the events hold', () => `exit ${r.code}: ${r.stderr}`);
  const j = json<{ step: number; tick: number; basis: string; sections: unknown }>('state', r);
  if (fast && j.basis !== 'replayed') return;
  const want = stateJson(truth);
  expectThat(j.step === n && j.tick === want.tick && isDeepStrictEqual(j.sections, want.sections), `state --at N${fast ? ' (basis replayed)' : ''} is the state the events build (the original's inside the original prefix)`,
    () => `step ${n}, lcp ${t.lcp}`);
}

async function verify(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  const r = await cli(ctx, 'verify --json', verifyMain, [ctx.path, '--json']);
  if (t.openError) { expectThat(r.code === 2, 'verify refuses a file the replayer cannot open', () => `exit ${r.code}`); return; }
  if (r.code !== 0) return;
  const fc = falseCheckpoints(t);
  expectThat(t.equal && t.count === t.indexCount && !t.truncated && t.stop === null && sameClaims(t.claimed, t.events) && t.chainOk && t.hashesOk && t.checkpointsReadable && fc.length === 0,
    'verify says ok only for the original\'s events with every claim true',
    () => `R ${t.count} of ${t.indexCount} (original ${t.original.count}), prefix ${t.prefix}, equal ${t.equal}, recovered ${t.truncated}, claims ${sameClaims(t.claimed, t.events)}, chain ${t.chainOk}, state hashes ${t.hashesOk}, false checkpoints ${fc.join(',')}`);
  const header = headerTruth(t);
  expectThat(header === 'original' || header === 'rerun-same', 'verify says ok only when the header\'s own scenario, variant and seed make these events',
    () => `header ${header}: variant ${JSON.stringify(t.r?.header.variant)}, seed ${t.r?.header.seed}, imported ${t.r?.header.imported !== undefined}`);
}

function diffApi(ctx: Ctx): void {
  const t = ctx.t;
  if (t.openError) return;
  ctx.out.readers.push('diff (API)');
  const b = TraceReplayer.open(ctx.path);
  try {
    const d = diffTraces(t.original.replayer, b);
    // A file read up to its damage is never identical: what it lost cannot be compared (identical null).
    const same = t.equal && t.indexCount === t.original.count && !t.truncated;
    expectThat(d.identical !== true || same, 'diff does not call a changed or damaged trace identical to the original', () => `R ${t.count} of ${t.indexCount}, lcp ${t.lcp}, original ${t.original.count}, recovered ${t.truncated}; diff says identical, common prefix ${d.commonPrefix}`);
    expectThat(d.identical === true || !same, 'diff calls the original\'s own events identical', () => `common prefix ${d.commonPrefix}`);
    expectThat(d.identical !== null || t.truncated, 'diff says it cannot tell only of a damaged file', () => `common prefix ${d.commonPrefix}, R ${t.count}`);
    expectThat(d.commonPrefix >= t.lcp && d.commonPrefix <= Math.min(b.count, t.original.count), 'diff\'s common prefix is not shorter than the events really shared', () => `${d.commonPrefix}, lcp ${t.lcp}`);
    // Exact: no event before the claimed prefix differs, not even in its tick, step or source line (obs).
    expectThat(d.commonPrefix <= t.lcp, 'diff\'s common prefix is not longer than the events really shared (tick, step and obs included)', () => `${d.commonPrefix}, lcp ${t.lcp}`);
  } catch (e) { allowed(e, ctx, 'diff (API)'); } finally { b.close(); }
}

async function diffCli(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  const r = await cli(ctx, 'diff --json', diffMain, [t.original.path, ctx.path, '--json']);
  if (t.openError) { expectThat(r.code === 2, 'diff refuses a file the replayer cannot open', () => `exit ${r.code}`); return; }
  if (r.code === 0) expectThat(t.equal && t.indexCount === t.original.count && !t.truncated, 'diff exits 0 only for the original\'s events in a whole file', () => `lcp ${t.lcp}, R ${t.count}, recovered ${t.truncated}`);
}

/** The debugger's frames drawn off-screen through the CLI: replay --dump at a step, diff --dump against the original. */
async function dumps(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  const at = ctx.pick(Math.max(1, t.indexCount));
  const r = await cli(ctx, 'replay --dump', replayMain, [ctx.path, '--dump', '100x30', ...(t.indexCount > 0 ? ['--at', String(at)] : [])]);
  if (!t.openError && t.indexCount > 0 && r.code === 0) expectThat(r.stdout.split('\n').length >= 30, 'replay --dump draws a whole frame', () => r.stdout.slice(0, 300));
  const d = await cli(ctx, 'diff --dump', diffMain, [t.original.path, ctx.path, '--dump', '120x30']);
  if (d.code === 0) expectThat(t.equal && t.indexCount === t.original.count, 'diff --dump exits 0 only for the original\'s events', () => `lcp ${t.lcp}, R ${t.count}`);
}

/** export --format chrome: one JSON document whose non-metadata events are R's, in order. */
async function exportChrome(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  const dir = mkdtempSync(join(scratchRoot(), 'iotrace-fuzz-export-'));
  try {
    const out = join(dir, 'out.json');
    const r = await cli(ctx, 'export --format chrome -o', exportMain, [ctx.path, '--format', 'chrome', '-o', out]);
    if (r.code !== 0) { expectThat(readdirSync(dir).length === 0, 'a failed export leaves nothing behind', () => readdirSync(dir).join(', ')); return; }
    let doc: { traceEvents: { ph: string; cat?: string; ts?: number; args?: { seq?: number } }[] };
    try { doc = JSON.parse(readFileSync(out, 'utf8')) as typeof doc; } catch (e) { throw new OracleFailure('export --format chrome writes one JSON document', String(e)); }
    // One slice or instant per event (a step's ioctl is drawn first in its step, so compare as a set), besides steps and the metadata.
    const seqs = doc.traceEvents.filter((e) => (e.ph === 'X' || e.ph === 'i') && e.cat !== 'step' && e.cat !== 'metadata').map((e) => e.args?.seq).sort((a, b) => (a ?? -1) - (b ?? -1));
    const want = Array.from({ length: t.count }, (_, i) => eventOfR(t, i).seq).sort((a, b) => a - b);
    expectThat(seqs.length === t.count && seqs.every((seq, i) => seq === want[i]), 'export --format chrome holds every readable event once', () => `${seqs.length} events, R ${t.count}`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

async function exportJsonl(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  if (ctx.chance(0.25)) { await exportChrome(ctx); return; }
  const dir = mkdtempSync(join(scratchRoot(), 'iotrace-fuzz-export-'));
  try {
    const out = join(dir, 'out.jsonl');
    const r = await cli(ctx, 'export --format jsonl -o', exportMain, [ctx.path, '--format', 'jsonl', '-o', out]);
    if (t.openError || t.count < t.indexCount) {
      expectThat(r.code === 2, 'export of a trace it cannot read whole is an error', () => `exit ${r.code}`);
      expectThat(readdirSync(dir).length === 0, 'a failed export leaves nothing behind', () => readdirSync(dir).join(', '));
      return;
    }
    expectThat(r.code === 0, 'export reads a trace whose events all read', () => `exit ${r.code}: ${r.stderr}`);
    expectThat(readdirSync(dir).join() === 'out.jsonl', 'export leaves only its output', () => readdirSync(dir).join(', '));
    const lines = readFileSync(out, 'utf8').split('\n');
    expectThat(lines.pop() === '' && lines.length === t.count, 'export writes one line per event', () => `${lines.length} lines, ${t.count} events`);
    for (let i = 0; i < lines.length; i++) {
      const ev = JSON.parse(JSON.stringify(eventOfR(t, i))) as unknown;
      expectThat(isDeepStrictEqual(JSON.parse(lines[i] as string), ev), 'export writes the readable events, in order', () => `line ${i}: ${(lines[i] as string).slice(0, 200)}`);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

async function eventsJson(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  if (ctx.chance(0.3)) { await eventsOfKind(ctx); return; }
  const r = await cli(ctx, 'events --json', eventsMain, [ctx.path, '--json']);
  if (t.openError) return;
  const lines = r.stdout.split('\n');
  lines.pop();
  if (t.count < t.indexCount) expectThat(r.code === 2, 'events of a trace it cannot read whole ends in an error', () => `exit ${r.code}`);
  else expectThat(r.code === 0 && lines.length === t.count, 'events lists every readable event', () => `exit ${r.code}, ${lines.length} lines, ${t.count} events`);
  expectThat(lines.length <= t.count, 'events prints no more than the readable events', () => `${lines.length} > ${t.count}`);
  for (let i = 0; i < lines.length; i++) {
    expectThat(isDeepStrictEqual(JSON.parse(lines[i] as string), JSON.parse(JSON.stringify(eventOfR(t, i)))), 'events prints the readable events, in order (a prefix when it stops)', () => `line ${i}`);
  }
}

/** events --kind fault|violation --json: exactly the readable events of that kind, in order. */
async function eventsOfKind(ctx: Ctx): Promise<void> {
  const t = ctx.t;
  const kind = ctx.chance(0.7) ? 'fault' : 'violation';
  const r = await cli(ctx, 'events --kind --json', eventsMain, [ctx.path, '--kind', kind, '--json']);
  if (t.openError) return;
  const lines = r.stdout.split('\n');
  lines.pop();
  const want = kind === 'fault' ? t.events.faults : t.events.violations;
  if (t.count === t.indexCount) expectThat(r.code === 0 && lines.length === want.length, `events --kind ${kind} lists every readable ${kind}`, () => `exit ${r.code}, ${lines.length} lines, ${want.length} in R`);
  expectThat(lines.length <= want.length, `events --kind ${kind}: no more than the readable ones`, () => `${lines.length} > ${want.length}`);
  for (let i = 0; i < lines.length; i++) {
    expectThat(isDeepStrictEqual(JSON.parse(lines[i] as string), JSON.parse(JSON.stringify(eventOfR(t, want[i] as number)))), `events --kind ${kind} prints the readable ones, in order`, () => `line ${i}`);
  }
}

async function eventsText(ctx: Ctx): Promise<void> {
  const r = await cli(ctx, 'events', eventsMain, [ctx.path]);
  if (ctx.t.openError) return;
  const lines = r.stdout.split('\n');
  lines.pop();
  expectThat(lines.length <= ctx.t.count, 'events: one line per event', () => `${lines.length} lines, ${ctx.t.count} events`);
}

/**
 * The same file without its footer (cut where the footer block starts): the
 * forward scan must read the events the footer-led reader read, as far as
 * both read. An index that overlaps chunks, skips a block or points into
 * another would read differently with and without its footer.
 */
function withoutFooter(ctx: Ctx): void {
  const t = ctx.t;
  if (t.openError || t.truncated || !t.r) return;
  ctx.out.readers.push('footerless scan');
  const bytes = readFileSync(ctx.path);
  const len = bytes.readUInt32LE(bytes.length - 12);
  const dir = mkdtempSync(join(scratchRoot(), 'iotrace-fuzz-nofooter-'));
  try {
    const p = join(dir, 'cut.iotrace');
    writeFileSync(p, bytes.subarray(0, bytes.length - 12 - len));
    const r = TraceReplayer.open(p);
    try {
      let n = 0;
      let diverged: number | null = null;
      for (const c of r.chunks) {
        let evs: TraceEvent[];
        try { evs = r.events(c.first, c.first + c.count); } catch (e) { if (e instanceof TraceError) break; throw e; }
        for (const ev of evs) {
          if (n < t.count && diverged === null && !isDeepStrictEqual(ev, eventOfR(t, n))) diverged = n;
          n++;
        }
      }
      // The scan stops at the first block that is not whole (a damaged checkpoint too), so it may read less; never other events.
      expectThat(diverged === null, 'without its footer, the scan reads the events the footer-led reader read', () => `diverged at ${diverged}, scan read ${n}, R ${t.count}`);
      // A whole block the footer-led reader stopped at: the index is what is false, so the file must not read more without it.
      if (t.stop === null || t.stopAtWholeBlock) expectThat(n <= t.count, 'without its footer, the scan reads no more events than the index held', () => `scan ${n}, R ${t.count}, stop ${t.stop?.message ?? 'none'}`);
    } finally { r.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** The replayer API the TUI and diff use; then, with the deep check adopted, its answers must be true. */
function api(ctx: Ctx): void {
  const { t, pick } = ctx;
  if (t.openError) return;
  ctx.out.readers.push('replayer API');
  const r = TraceReplayer.open(ctx.path);
  try {
    void r.header.scenario.name; void Object.keys(r.kinds); void r.chunks;
    r.nextFault(0, 1); r.nextViolation(r.count, -1);
    const wanted = [0, r.count - 1, pick(r.count), r.faults[0] ?? 0];
    for (const n of [...new Set(wanted)].filter((x) => x >= 0 && x < r.count)) {
      try {
        const ev = r.event(n);
        summarize(ev); family(ev.kind); JSON.stringify(ev);
        canonicalState(r.stateAt(n));
        const cell = r.touched(n)[0];
        if (cell) r.lastWriter(cell, n);
      } catch (e) { allowed(e, ctx, `replayer at step ${n}`); }
    }
    try { r.events(0, Math.min(r.count, 200_000)); } catch (e) { allowed(e, ctx, 'replayer events()'); }
    try { r.search({ text: 'fault' }, -1, 1); r.search({ kinds: ['dma'], rid: '00:02.0' }, r.count, -1); } catch (e) { allowed(e, ctx, 'replayer search'); }
    // The deep check adopted: the lists are the events', false checkpoints are never used again.
    adoptCheck(r, checkTrace(r, true));
    if (unappliable(ctx) === null) {
      expectThat(isDeepStrictEqual([...r.faults], t.events.faults) && isDeepStrictEqual([...r.violations], t.events.violations), 'after the check, the replayer\'s fault and violation lists are the events\'',
        () => `faults ${r.faults.slice(0, 8).join(',')} vs ${t.events.faults.slice(0, 8).join(',')}`);
      const first = t.events.faults[0];
      expectThat(r.nextFault(-1, 1) === (first ?? null), 'after the check, the next fault from the start is the first fault event', () => `${r.nextFault(-1, 1)} vs ${first}`);
    }
    if (t.count > 0) {
      const n = pick(t.count);
      const truth = truthOrNull(t, n);
      if (truth) {
        let got: ReturnType<typeof r.stateAt>;
        try { got = r.stateAt(n); } catch (e) { throw new OracleFailure('after the deep check, stateAt of a readable step reads', String(e)); }
        expectThat(sameState(got, truth), 'after the deep check, stateAt is the state the events build (no false checkpoint used)', () => `step ${n}, lcp ${t.lcp}`);
      }
    }
  } finally { r.close(); }
}

async function stdoutFault(ctx: Ctx): Promise<void> {
  const { path, pick } = ctx;
  const commands: [string, Main, string[]][] = [
    ['info', infoMain, [path]], ['info --json', infoMain, [path, '--json']], ['events', eventsMain, [path]], ['events --json', eventsMain, [path, '--json']],
    ['state --at last', stateMain, [path, '--at', 'last']], ['export --format jsonl', exportMain, [path, '--format', 'jsonl']], ['verify', verifyMain, [path]],
  ];
  const [name, main, argv] = commands[pick(commands.length)] as [string, Main, string[]];
  const kind: StdoutFault = ctx.chance(0.5) ? 'EPIPE' : 'ENOSPC';
  const r = await cli(ctx, `${name} (stdout ${kind})`, main, argv, { kind, afterWrites: kind === 'EPIPE' ? pick(3) : 0 });
  if (kind === 'ENOSPC' && r.writes > 0) {
    expectThat(r.code === 2 && /cannot write to stdout/.test(r.stderr), `${name} > /dev/full: one line and exit 2 once output was lost`, () => `exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
  }
  if (kind === 'EPIPE') {
    // A reader that went away is not an error: nothing on stderr about it (another error, e.g. damage met first, is still one line).
    expectThat(!/cannot write|EPIPE/.test(r.stderr), `${name} | head: a closed pipe ends quietly`, () => `exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
    if (r.stderr === '') expectThat(r.code !== 2, `${name} | head: a quiet ending is not exit 2`, () => `exit ${r.code}`);
  }
}

async function fsFault(ctx: Ctx): Promise<void> {
  const dir = mkdtempSync(join(scratchRoot(), 'iotrace-fuzz-full-'));
  try {
    const out = join(dir, 'out.jsonl');
    const r = await withWriteFault(ctx.pick(3), () => cli(ctx, 'export -o (ENOSPC)', exportMain, [ctx.path, '--format', 'jsonl', '-o', out]));
    if (r.value.code === 0) expectThat(!r.injected, 'export -o on a full device does not succeed', () => 'exit 0');
    else expectThat(r.value.code === 2, 'export -o on a full device: exit 2', () => `exit ${r.value.code}`);
    if (r.value.code !== 0) expectThat(readdirSync(dir).length === 0, 'export -o on a full device leaves nothing behind', () => readdirSync(dir).join(', '));
    if (r.injected) expectThat(r.value.code === 2 && /ENOSPC/.test(r.value.stderr), 'export -o on a full device says so in one line', () => `exit ${r.value.code}: ${r.value.stderr}`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

// ---------------------------------------------------------------- one case

export interface ReaderRates { tui: number; fault: number; scale: number }

export async function exercise(path: string, size: number, original: TraceEntry, rng: { int(n: number): number; chance(p: number): boolean }, steps: readonly string[], rates: ReaderRates,
  tui: ((path: string, t: Truth, pick: Pick, out: Outcome) => Promise<void>) | null): Promise<Outcome> {
  const out: Outcome = { opened: null, traceErrors: 0, usageErrors: 0, lie: false, forgedWhole: false, falseCheckpoints: 0, readers: [], ms: {} };
  let t: Truth;
  try { t = await timed(out, 'oracle: read R', () => readTruth(path, original)); } catch (e) { throw new FuzzFailure('reading the events in order', e); }
  const pick: Pick = (n) => rng.int(n);
  // A large trace runs fewer readers per case (each costs a pass over a few MB).
  const chance = (p: number): boolean => rng.chance(p * rates.scale);
  const ctx: Ctx = { path, size, t, out, pick, chance, unappliable: undefined };
  try {
    if (t.r) out.opened = { count: t.indexCount, truncated: t.truncated };
    if (t.stop) allowed(t.stop, ctx, 'reading the events in order');
    out.lie = !t.prefix;
    const forged = steps.some((s) => s.startsWith('forge-'));
    const checkpointForged = steps.some((s) => s.startsWith('forge-checkpoint'));
    await info(ctx);
    if (t.openError) {
      // Every reader refuses it the same way.
      if (chance(0.3)) await stateFirstFault(ctx);
      if (chance(0.3)) await verify(ctx);
      return out;
    }
    if (chance(0.15)) await infoText(ctx);
    if (checkpointForged || chance(0.25)) await infoDeep(ctx);
    if (chance(0.35)) await stateFirstFault(ctx);
    if (checkpointForged || chance(0.35)) await stateAt(ctx);
    if (out.lie || forged || chance(0.2)) await verify(ctx);
    if (out.lie || forged || chance(0.25)) await timed(out, 'diff (API)', () => diffApi(ctx));
    if (chance(0.05)) await diffCli(ctx);
    if (chance(0.03)) await dumps(ctx);
    if (chance(0.15)) await exportJsonl(ctx);
    if (!original.big && chance(0.15)) await eventsJson(ctx);
    if (chance(0.1)) await eventsText(ctx);
    if (chance(0.3)) await timed(out, 'replayer API', () => api(ctx));
    if (t.stopAtWholeBlock || chance(0.1)) await timed(out, 'footerless scan', () => withoutFooter(ctx));
    if (tui && rng.chance(rates.tui)) await timed(out, 'tui', () => tui(path, t, pick, out));
    if (rng.chance(rates.fault)) await stdoutFault(ctx);
    if (rng.chance(rates.fault / 2)) await fsFault(ctx);
  } finally {
    closeTruth(t);
  }
  return out;
}
