// iotrace whatif: the trace's scenario re-recorded without one of its steps
// or with one field of a step changed (whatif/fork.ts), compared with the
// original as iotrace diff compares two traces.
import { rmSync } from 'node:fs';
import { escapeText } from '../../safe/escape.js';
import { refuseSameFile, withSignalCleanup } from '../../safe/files.js';
import { FalseHeaderError, parseEdit, recordWhatIf, type WhatIfChange } from '../../whatif/fork.js';
import { errorLine, EXIT, parse, UsageError } from '../common.js';
import { paint } from '../term.js';
import { intArg, openForCli } from '../trace.js';
import { main as diff } from './diff.js';

export const HELP = `usage: iotrace whatif <trace> (--drop-step N | --edit-step N --set field=value)
                     [-o out.iotrace] [--json] [--context N] [--hunks N] [--tui]
                     [--dump COLSxROWS]

Re-records the scenario the trace was recorded from (its header holds the
scenario, variant and seed; a threaded trace's schedule is its sched events,
round-robin where the change makes it no longer fit) without scenario step N
(--drop-step), or with one field of step N set (--edit-step N --set
field=value; args.x reaches into an ioctl's arguments; the value is read as
JSON when it is JSON, 0x hex as a number, else as text), then compares the
new trace B with the original A exactly as iotrace diff does (--json,
--context, --hunks, --tui, --dump as there). The unchanged scenario is
re-run the same way first: when the trace's events are not what it makes (a
forged or false trace), a line on stderr says so and B is compared with
that re-run instead, so no difference of the original's is blamed on the
change (exit 1 then, whatever the comparison). A header whose variant its
scenario has not is re-run under nothing: FALSE CLAIM, exit 1. Step numbers are the scenario's
(an event's "step"; in the replay debugger, x and e do the same on the event
at the cursor). A generated scenario (stress) keeps no steps and is refused.

The new trace goes to -o, else to a new private folder under the temporary
directory; its path is printed on stderr. Exit 0 when the two hold the same
events, 1 when they differ, 2 on bad input (a step that is not there, an edit
the scenario format refuses: one line naming the step and field).`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    'drop-step': { type: 'string' }, 'edit-step': { type: 'string' }, set: { type: 'string' }, output: { type: 'string', short: 'o' },
    json: { type: 'boolean' }, context: { type: 'string' }, hunks: { type: 'string' }, tui: { type: 'boolean' }, dump: { type: 'string' },
  }, 1);
  if (values.help) { console.log(HELP); return EXIT.ok; }
  const drop = values['drop-step'];
  const edit = values['edit-step'];
  if ((drop === undefined) === (edit === undefined)) throw new UsageError('give one of --drop-step N or --edit-step N --set field=value');
  let change: WhatIfChange;
  if (drop !== undefined) {
    if (values.set !== undefined) throw new UsageError('--set goes with --edit-step, not --drop-step');
    change = { drop: intArg(drop, '--drop-step', 0, 2 ** 31) };
  } else {
    if (values.set === undefined) throw new UsageError('--edit-step N needs --set field=value');
    let e;
    try { e = parseEdit(values.set); } catch (err) { throw new UsageError(`--set: ${(err as Error).message}`); }
    change = { edit: intArg(edit, '--edit-step', 0, 2 ** 31), ...e };
  }
  const path = positionals[0] as string;
  if (values.output !== undefined) refuseSameFile(path, values.output);
  const r = openForCli(path);
  let res;
  try {
    try {
      res = await withSignalCleanup(() => recordWhatIf(r, change, values.output !== undefined ? { out: values.output } : {}));
    } catch (e) {
      // A finding about the trace, not bad usage: said as verify says it.
      if (!(e instanceof FalseHeaderError)) throw e;
      console.log(`${paint('FALSE CLAIM', 'red')}: ${escapeText(e.message)}`);
      return EXIT.finding;
    }
    errorLine(`what if ${'drop' in change ? `without scenario step ${change.drop}` : `scenario step ${change.edit} had ${change.field}=${JSON.stringify(change.value)}`}: ${res.summary.events} events recorded to ${escapeText(res.path)}${res.note ? ` (${res.note})` : ''}`);
  } finally { r.close(); }
  const pass: string[] = [];
  for (const flag of ['context', 'hunks', 'dump'] as const) if (values[flag] !== undefined) pass.push(`--${flag}`, values[flag] as string);
  if (values.json) pass.push('--json');
  if (values.tui) pass.push('--tui');
  const rerun = res.rerun;
  if (rerun === null) return diff([path, res.path, ...pass]);
  // The original is not what its own scenario makes: a difference from it would be blamed on the change.
  errorLine(`the trace's events are not what its scenario re-runs to (first at step ${rerun.step}; iotrace verify names it): comparing the what-if with the re-run instead`);
  try {
    return Math.max(EXIT.finding, await diff([rerun.path, res.path, ...pass]));
  } finally { rmSync(rerun.dir, { recursive: true, force: true }); }
}
