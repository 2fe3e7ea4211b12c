// The help overlay: every binding of the key map, then the rules that are
// not a single key (n/N with a search, search and filter syntax, mouse).
import { BINDINGS } from './keymap.js';
import { paint, wrap } from './format.js';

export const NOTES: readonly string[] = [
  'Words: "event #40" is the 40th event of the trace; "scenario step 19" the step of the scenario that',
  '  produced it (the status line shows both; Enter shows the step\'s op, arguments, note and thread).',
  'n / N: with no search active they visit faults and violations; after a / search they visit',
  '  its matches instead, until Esc clears the search. f always goes to the first fault.',
  'Search words (AND): a kind or family (fault, pasid-write, table), kind:<k>, rid:00:02.0 or',
  '  00:02.0, pasid:5, an ioctl or kernel call (IOMMU_HWPT_ALLOC, cmd:<name>), free or "quoted" text.',
  '  It runs in the background from the next event and wraps once; Esc stops it.',
  'Breakpoints (b): "any fault" (on from the start), "any violation", or a search expression.',
  '  c / C run forward / backward to the nearest (no wrap); p and r (play back) stop at them.',
  '  B lists them: Space toggles, d deletes, b adds.',
  'Jumps (f n N v V w : c C \' marks, search matches, N g) are recorded: C-o goes back, C-n forward.',
  'Prompts: Up/Down recall earlier entries, Tab completes kinds, fields (rid: pasid: cmd:), RIDs.',
  'Kind filter (t): kinds or families separated by spaces; empty shows every event again.',
  'A count before a key repeats it (5j), goes to an event (120g), or sets the play speed (50p).',
  'Timeline: bars are faults + violations per column; F fault, V violation, s thread switch, ▲ cursor.',
  'P: why this event happened (state pane: why the cell holds this): each row a cell its decision read,',
  '  with the event that wrote it and, below, that writer\'s own causes; j/k, Space/h/l fold, Enter goes there.',
  'W: forward to the next write of the selected cell (w is backward). x / e: re-record the scenario without',
  '  this event\'s scenario step, or with one field of it set (field=value), and diff it beside this trace.',
  'Mouse: the wheel scrolls, a click selects an event or a state row (a header folds),',
  '  a click on the timeline jumps there.',
];

export function helpLines(width: number): string[] {
  const out: string[] = [paint('iotrace replay — keys', 'bold'), ''];
  // Wrapped, not cut: at 80 columns every word of the help is still there.
  for (const b of BINDINGS) wrap(b.help, Math.max(10, width - 8), 0).forEach((l, i) => out.push(`${i === 0 ? paint(b.label.padEnd(7), 'yellow-fg', 'bold') : ' '.repeat(7)} ${paint(l)}`));
  out.push('');
  for (const n of NOTES) for (const l of wrap(n, width, 2)) out.push(paint(l));
  out.push('', paint('Esc, ? or q closes this help; j/k scroll it.', 'bold'));
  return out;
}
