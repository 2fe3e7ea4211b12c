// The help overlay: every binding of the key map, then the rules that are
// not a single key (n/N with a search, search and filter syntax, mouse).
import { BINDINGS } from './keymap.js';
import { paint } from './format.js';

export const NOTES: readonly string[] = [
  'n / N: with no search active they visit faults and violations; after a / search they visit',
  '  its matches instead, until Esc clears the search. f always goes to the first fault.',
  'Search words (AND): a kind or family (fault, pasid-write, table), kind:<k>, rid:00:02.0 or',
  '  00:02.0, pasid:5, an ioctl or kernel call (IOMMU_HWPT_ALLOC, cmd:<name>), free or "quoted" text.',
  '  It runs in the background from the next step and wraps once; Esc stops it.',
  'Kind filter (t): kinds or families separated by spaces; empty shows every event again.',
  'A count before a key repeats it (5j), goes to a step (120g), or sets the play speed (50p).',
  'Mouse: the wheel scrolls, a click selects an event or a state row (a header folds),',
  '  a click on the timeline jumps there.',
];

export function helpLines(width: number): string[] {
  const out: string[] = [paint('iotrace replay — keys', 'bold'), ''];
  for (const b of BINDINGS) out.push(`${paint(b.label.padEnd(7), 'yellow-fg', 'bold')} ${paint(b.help.slice(0, Math.max(10, width - 9)))}`);
  out.push('');
  for (const n of NOTES) out.push(paint(n.slice(0, width)));
  out.push('', paint('Esc, ? or q closes this help; j/k scroll it.', 'bold'));
  return out;
}
