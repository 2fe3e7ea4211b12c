// iotrace diff: where two traces (two variants, two versions of a scenario)
// part ways, and how the hardware differs there.
import { headerClaims, variantShown } from '../../replayer/header-claims.js';
import { cellText, displayKey, summarize } from '../../engine/summary.js';
import type { TraceEvent } from '../../engine/types.js';
import { importedTitle } from '../../trace/header.js';
import { AlignedRows, type Row } from '../../replayer/diff-rows.js';
import type { TraceReplayer } from '../../replayer/replayer.js';
import type { StateDiff } from '../../replayer/state-diff.js';
import { adoptCheck, checkTrace } from '../../replayer/check.js';
import { sameValue } from '../../replayer/identity.js';
import { diffTraces, type Problem, type TraceDiff, type Unchecked } from '../../replayer/trace-diff.js';
import { REPLAY_BUDGET } from '../../replayer/trusted.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { println } from '../../safe/stdout.js';
import { EXIT, parse, UsageError } from '../common.js';
import { DIFF_DUMP_MIN, dumpArg, MAX_CONTEXT, MAX_HUNKS } from '../limits.js';
import { intArg, openForCli } from '../trace.js';

export const HELP = `usage: iotrace diff <a.iotrace> <b.iotrace> [--json] [--context N] [--hunks N]
                   [--deep] [--tui] [--dump COLSxROWS]

Compares two traces, typically one scenario recorded under two variants.
Events are aligned by meaning: an event's identity is its kind and its stable
keys (ioctl command and arguments, RID, PASID, work queue, cache line,
address), not its position, so one extra invalidation is one inserted event.
Prints the common prefix; the first divergence (the step in each trace, the
two events, the keyed state diff between A and B there, and where the
hardware states first part); the runs of differences with N events of
context; counts by kind (only in A, only in B, changed); the faults and
violations that happen on one side only. Events are the same only when every
field but seq agrees: the same event and outcome at another tick, scenario
step or source line (obs) is *retimed* (t): counted, shown in a run's context
as one line with both ticks, but it opens no run of its own (a what-if
retimes most later events).

--json      one JSON object: identical (true, false, or null: cannot tell),
            damaged, commonPrefix, firstDivergence ({a, b, op, fields, ...,
            unchecked} or null), statesPart, same, retimed, changed, onlyInA,
            onlyInB, byKind (differences only, retimed rows not),
            faultsOnlyInA, faultsOnlyInB, problemsUnread, hunks, stopped
--deep      check both traces first (every event applied from the first,
            every checkpoint compared with the state it claims): states are
            then built from checked checkpoints; costs a pass over each file
--context   events of context around each run of differences (default 3,
            at most 1000)
--hunks     runs of differences listed (default 10, at most 10000)
--tui       the two traces side by side in the terminal (? for keys)
--dump      draw one TUI frame of that size at the first divergence, print
            it as text and exit (no terminal needed; 60..1000 x 12..500)

States shown are built from the events, or from a checkpoint the deep check
has compared with them; past the first ${REPLAY_BUDGET} events of an unchecked
trace they come from its checkpoint and say "unchecked". A damaged trace is
read up to its damage: when every event both still hold agrees, what it
lost cannot be compared, and diff says so (identical null, exit 1).

A header that claims a variant its scenario has not is marked beside its
name and printed as a FALSE CLAIM line (headerClaims per side in --json).

Exit 0 when both traces are whole, hold the same events and claim nothing
false, 1 when they differ, a damaged side leaves it unknown or a header's
claim is false, 2 on bad input.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' }, context: { type: 'string' }, hunks: { type: 'string' }, tui: { type: 'boolean' }, dump: { type: 'string' }, deep: { type: 'boolean' },
  }, 2);
  if (values.help) { console.log(HELP); return EXIT.ok; }
  const context = intArg(values.context, '--context', 3, MAX_CONTEXT);
  const maxHunks = intArg(values.hunks, '--hunks', 10, MAX_HUNKS);
  const dump = values.dump === undefined ? null : dumpArg(values.dump, DIFF_DUMP_MIN);
  if (values.tui && !dump && (!process.stdout.isTTY || !process.stdin.isTTY)) {
    throw new UsageError('diff --tui needs a terminal (stdin and stdout); use --dump COLSxROWS, or leave out --tui for text');
  }
  const a = openForCli(positionals[0]);
  let b: TraceReplayer;
  try { b = openForCli(positionals[1]); } catch (e) { a.close(); throw e; }
  try {
    // The deep check's findings replace the footer's claims and drop false checkpoints (replayer/check.ts).
    const checks = values.deep ? [a, b].map((r) => { const c = checkTrace(r, true); adoptCheck(r, c); return c.problems; }) : null;
    const d = diffTraces(a, b);
    const exit = d.identical === true && falseClaims(a, b).length === 0 ? EXIT.ok : EXIT.finding;
    if (values.tui || dump) {
      // Loaded only here: blessed costs a noticeable part of a second to load.
      const tui = await import('../../tui/diff-app.js');
      if (dump) { await println(tui.dumpDiffFrame(a, b, d, dump.cols, dump.rows).join('\n')); return exit; }
      const app = tui.openDiffView(a, b, d, { input: process.stdin, output: process.stdout });
      await app.done;
      process.stdin.pause();
      return exit;
    }
    if (values.json) await println(jsonText({ ...toJson(a, b, d, context, maxHunks), ...(checks ? { deepCheck: { a: checks[0], b: checks[1] } } : {}) }));
    else await println([...text(a, b, d, context, maxHunks), ...(checks ? checkLines(checks) : [])].join('\n'));
    return exit;
  } finally {
    a.close();
    b.close();
  }
}

// ---------------------------------------------------------------- hunks

export interface Hunk { from: number; to: number }

/** Rows printed per hunk. */
const HUNK_ROWS = 60;

/** Runs of differing rows, each widened by `context` rows, merged when they touch; the first `max`. */
export function hunks(rows: AlignedRows, context: number, max: number): Hunk[] {
  const out: Hunk[] = [];
  for (const run of rows.differences()) {
    const h = { from: Math.max(0, run.from - context), to: Math.min(rows.count, run.to + context) };
    const last = out[out.length - 1];
    if (last && h.from <= last.to) last.to = Math.max(last.to, h.to);
    else if (out.length === max) break;
    else out.push(h);
  }
  return out;
}

// ---------------------------------------------------------------- text

// Every string from a trace (names, kinds, summaries, keys, reasons) is escaped: the text form is for a terminal.
const e = escapeText;

const side = (r: TraceReplayer): string => `${e(importedTitle(r.header) ?? `${r.header.scenario.name} [${variantShown(r.header)}] seed ${r.header.seed}`)}, ${r.count} events${r.truncated ? ` (damaged: ${e(r.truncated.reason)})` : ''}`;

const evText = (ev: TraceEvent): string => `${String(ev.seq).padStart(7)} t${String(ev.tick).padEnd(5)} ${e(ev.kind).padEnd(17)} ${e(summarize(ev))}`;

function rowLines(a: TraceReplayer, b: TraceReplayer, row: Row): string[] {
  const x = row.a === null ? null : a.event(row.a);
  const y = row.b === null ? null : b.event(row.b);
  switch (row.op) {
    case '=': return [`    ${evText(x as TraceEvent)}`];
    case 't': return [` t  ${retimedText(x as TraceEvent, y as TraceEvent)}`];
    case '-': return [` -A ${evText(x as TraceEvent)}`];
    case '+': return [` +B ${evText(y as TraceEvent)}`];
    default: return [...(x ? [` ${row.op}A ${evText(x)}`] : []), ...(y ? [` ${row.op}B ${evText(y)}`] : [])];
  }
}

function stateLines(d: StateDiff, indent: string, limit = 20): string[] {
  // As iotrace state and the debugger show a cell: addresses in 0x form, pgtt by name (engine/summary.ts); --json keeps numbers.
  const show = (section: string) => (v: unknown): string => (v === undefined ? '(absent)' : e(cellText(section, v)));
  const out = d.entries.slice(0, limit).map((x) => `${indent}${x.op} ${e(x.section)} ${e(displayKey(x.section, x.key))}: ${x.op === '+' ? `B ${show(x.section)(x.after)}` : x.op === '-' ? `A ${show(x.section)(x.before)}` : `A ${show(x.section)(x.before)}  B ${show(x.section)(x.after)}`}`);
  if (d.changed > out.length) out.push(`${indent}… ${d.changed - out.length} more (by section: ${[...d.bySection].map(([s, n]) => `${e(s)} ${n}`).join(', ')})`);
  return out;
}

/** A retimed row on one line: both positions, both ticks, both steps when they differ, then the event. */
function retimedText(x: TraceEvent, y: TraceEvent): string {
  const step = x.step === y.step ? '' : ` sA ${x.step} sB ${y.step}`;
  return `A ${x.seq} B ${y.seq} tA ${x.tick} tB ${y.tick}${step}${sameValue(x.obs, y.obs) ? '' : ' (source line differs)'} ${e(x.kind).padEnd(17)} ${e(summarize(x))}`;
}

const OP_WORD = { t: 'the same event at another tick, step or source line', '~': 'the same event with different fields', '-': 'an event only in A', '+': 'an event only in B', '?': 'not aligned', '=': 'the same' } as const;

function problemLines(list: Problem[], limit = 20): string[] {
  if (list.length === 0) return ['  none'];
  const out = list.slice(0, limit).map((p) => `  step ${String(p.step).padStart(7)}  ${e(p.text)}`);
  if (list.length > limit) out.push(`  … ${list.length - limit} more`);
  return out;
}

/** "A damaged at byte X, B damaged at byte Y": the sides whose events end at their damage. */
function damageText(a: TraceReplayer, b: TraceReplayer, d: TraceDiff): string {
  return ([['A', a, d.damaged.a], ['B', b, d.damaged.b]] as const).filter(([, , n]) => n !== null).map(([name, r, n]) => `${name} damaged at byte ${r.truncated?.offset ?? '?'}, ${n} event(s) recovered`).join('; ');
}

/** A note on a state shown: built from an unchecked checkpoint. */
function uncheckedText(u: Unchecked): string {
  const sides = ([['A', u.a], ['B', u.b]] as const).filter(([, n]) => n !== null);
  if (sides.length === 0) return '';
  const where = u.a !== null && u.a === u.b ? `after event ${u.a}` : sides.map(([s, n]) => `${s}'s after event ${n}`).join(', ');
  return ` (from an UNCHECKED checkpoint ${where}; --deep checks it)`;
}

function checkLines(problems: string[][]): string[] {
  return ([['A', problems[0]], ['B', problems[1]]] as const).map(([s, p]) => (p && p.length > 0 ? `${s} deep check: ${e(p[0] as string)}${p.length > 1 ? ` (and ${p.length - 1} more; iotrace info --deep lists them)` : ''}` : `${s} deep check: every checkpoint and state hash is what its events build`));
}

/** Each side's false header claims (a variant its scenario has not): the events may agree, the labels do not. */
const falseClaims = (a: TraceReplayer, b: TraceReplayer): [string, string][] =>
  [...headerClaims(a.header).map((c): [string, string] => ['A', c]), ...headerClaims(b.header).map((c): [string, string] => ['B', c])];

export function text(a: TraceReplayer, b: TraceReplayer, d: TraceDiff, context: number, maxHunks: number): string[] {
  const out = [`A  ${e(a.path)}  ${side(a)}`, `B  ${e(b.path)}  ${side(b)}`, ...falseClaims(a, b).map(([name, c]) => `FALSE CLAIM (${name}): ${e(c)}`)];
  if (d.identical === true) {
    out.push(`identical: the same ${d.countA} events${d.skipped ? ` (${d.skipped.chunks} chunk(s) byte-identical by SHA-256, not decoded)` : ''}`);
    return out;
  }
  if (d.identical === null) {
    const longer = d.countA === d.countB ? '' : `; ${d.countA > d.countB ? 'A' : 'B'} holds ${Math.abs(d.countA - d.countB)} more`;
    out.push(`cannot tell: the ${d.commonPrefix} event(s) both hold agree; the rest cannot be compared (${damageText(a, b, d)}${longer})`);
    return out;
  }
  if (d.damaged.a !== null || d.damaged.b !== null) out.push(`damaged: ${damageText(a, b, d)}; past a damaged side's last event, rows and faults only in the other may be ones it lost`);
  out.push(`common prefix: ${d.commonPrefix} event(s)${d.skipped && d.skipped.chunks > 0 ? ` (${d.skipped.chunks} whole chunk(s) byte-identical by SHA-256, not decoded)` : ''}`);
  const f = d.firstDivergence;
  if (f) {
    const sa = f.eventA ? ` (scenario step ${f.eventA.step})` : '';
    const sb = f.eventB ? ` (scenario step ${f.eventB.step})` : '';
    out.push('', `first divergence: A step ${f.a}${sa}, B step ${f.b}${sb}: ${OP_WORD[f.op]}${f.fields.length ? ` (${f.fields.map(e).join(', ')})` : ''}`);
    out.push(`  A ${f.eventA ? evText(f.eventA) : '(no event: A has ended or goes on with its next step)'}`);
    out.push(`  B ${f.eventB ? evText(f.eventB) : '(no event: B has ended or goes on with its next step)'}`);
    out.push(`${f.state.changed === 0 ? '  state there: A and B agree' : `  state there: ${f.state.changed} cell(s) differ`}${uncheckedText(f.unchecked)}`, ...stateLines(f.state, '    '));
  }
  const p = d.statesPart;
  if (p && (!f || p.a !== f.a || p.b !== f.b || f.state.changed === 0)) {
    out.push('', `the hardware states part after A step ${p.a} / B step ${p.b}: ${p.diff.changed} cell(s) differ (- only in A, + only in B, ~ both)${uncheckedText(p.unchecked)}`, ...stateLines(p.diff, '  '));
  } else if (!p) out.push('', 'the hardware states do not part within the rows examined');
  const rows = new AlignedRows(d.segments);
  const hs = hunks(rows, context, maxHunks);
  out.push('', `differences (${context} event(s) of context; = same, t retimed, ~ changed, -A only in A, +B only in B):`);
  for (const h of hs) {
    const r0 = rows.row(h.from);
    out.push(`@@ A ${r0.a ?? r0.aUpTo + 1}.. B ${r0.b ?? r0.bUpTo + 1}.. @@`);
    // A long run (a replaced block) shows its start; the counts below cover the rest.
    const to = Math.min(h.to, h.from + HUNK_ROWS);
    for (let r = h.from; r < to; r++) out.push(...rowLines(a, b, rows.row(r)));
    if (to < h.to) out.push(`    … ${h.to - to} more row(s) in this run`);
  }
  const listed = hs[hs.length - 1]?.to ?? 0;
  const more = rows.nextDifference(Math.max(0, listed - 1), 1);
  if (more !== null && more >= listed) out.push(`… more differences after this (--hunks N lists more)`);
  out.push('', `summary: ${d.same} same, ${d.retimed} retimed (same event, other tick/step/obs), ${d.changed} changed, ${d.onlyInA} only in A, ${d.onlyInB} only in B`);
  const kinds = Object.entries(d.byKind).sort(([x], [y]) => (x < y ? -1 : 1));
  if (kinds.length) {
    out.push(`  ${'kind'.padEnd(18)} ${'only A'.padStart(8)} ${'only B'.padStart(8)} ${'changed'.padStart(8)}`);
    for (const [k, c] of kinds) out.push(`  ${e(k).padEnd(18)} ${String(c.onlyInA).padStart(8)} ${String(c.onlyInB).padStart(8)} ${String(c.changed).padStart(8)}`);
  }
  if (d.stopped) out.push(`alignment stopped at A step ${d.stopped.a} / B step ${d.stopped.b}: ${e(d.stopped.reason)}; the rest (A ${a.count - d.stopped.a}, B ${b.count - d.stopped.b} events) is not aligned`);
  for (const [name, at] of [['A', d.problemsUnread.a], ['B', d.problemsUnread.b]] as const) {
    if (at !== null) out.push(`${name}'s faults and violations from step ${at} on were not read (the footer's list of them is unchecked; --deep reads every event)`);
  }
  out.push('', 'faults and violations only in A:', ...problemLines(d.faultsOnlyInA), 'faults and violations only in B:', ...problemLines(d.faultsOnlyInB));
  return out;
}

// ---------------------------------------------------------------- json

const jsonState = (d: StateDiff) => ({
  changed: d.changed,
  cells: d.entries.map((e) => ({ section: e.section, key: e.key, op: e.op, a: e.before ?? null, b: e.after ?? null })),
});

const jsonSide = (r: TraceReplayer) => ({ path: r.path, scenario: r.header.scenario.name, variant: r.header.variant, headerClaims: headerClaims(r.header), seed: r.header.seed, ...(r.header.imported ? { imported: r.header.imported } : {}), events: r.count, truncated: r.truncated?.reason ?? null });

export function toJson(a: TraceReplayer, b: TraceReplayer, d: TraceDiff, context: number, maxHunks: number) {
  const f = d.firstDivergence;
  const rows = new AlignedRows(d.segments);
  return {
    identical: d.identical,
    damaged: d.damaged,
    a: jsonSide(a),
    b: jsonSide(b),
    commonPrefix: d.commonPrefix,
    skippedChunks: d.skipped?.chunks ?? 0,
    firstDivergence: f ? { a: f.a, b: f.b, op: f.op, fields: f.fields, eventA: f.eventA, eventB: f.eventB, state: jsonState(f.state), unchecked: f.unchecked } : null,
    statesPart: d.statesPart ? { a: d.statesPart.a, b: d.statesPart.b, state: jsonState(d.statesPart.diff), unchecked: d.statesPart.unchecked } : null,
    same: d.same,
    retimed: d.retimed,
    changed: d.changed,
    onlyInA: d.onlyInA,
    onlyInB: d.onlyInB,
    byKind: d.byKind,
    faultsOnlyInA: d.faultsOnlyInA,
    faultsOnlyInB: d.faultsOnlyInB,
    problemsUnread: d.problemsUnread,
    hunks: hunks(rows, context, maxHunks).map((h) => {
      const list: { op: string; a: number | null; b: number | null; eventA?: string; eventB?: string }[] = [];
      for (let r = h.from; r < Math.min(h.to, h.from + HUNK_ROWS); r++) {
        const row = rows.row(r);
        list.push({ op: row.op, a: row.a, b: row.b, ...(row.a !== null ? { eventA: summarize(a.event(row.a)) } : {}), ...(row.b !== null ? { eventB: summarize(b.event(row.b)) } : {}) });
      }
      return list;
    }),
    stopped: d.stopped,
  };
}
