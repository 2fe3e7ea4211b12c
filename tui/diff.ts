// The diff pane's model: the state before and after one step, keyed by
// (section, key) — a PASID entry, a cache line — never by line position.
// Only the cells the step wrote can differ, so only those are compared, and
// both the comparison and the drawing are bounded: a step that rewrites
// thousands of cells shows the first ones and a per-section summary.
import { compareKeys, SECTION_NAMES } from '../engine/state.js';
import type { Observed, State } from '../engine/types.js';
import type { CellRef } from '../replayer/api.js';
import { diffStates, type StateDiff, type StateDiffEntry } from '../replayer/state-diff.js';
import { cellText, fieldChanges, paint } from './format.js';
import { displayKey } from '../engine/summary.js';

export type DiffEntry = StateDiffEntry;
/** `written`: distinct cells the step wrote; `uncompared`: those beyond `compareLimit`. */
export type StepDiff = StateDiff;

const ORDER = new Map(SECTION_NAMES.map((s, i) => [s, i]));

/** The keyed diff across one step: only the cells it wrote can differ, so only those are compared. */
export function diffStep(before: State, after: State, touched: readonly CellRef[], limit = 200, compareLimit = 20_000): StepDiff {
  const seen = new Set<string>();
  const cells: CellRef[] = [];
  for (const c of touched) {
    const id = `${c.section}\u0000${c.key}`;
    if (!seen.has(id)) { seen.add(id); cells.push(c); }
  }
  cells.sort((a, b) => (ORDER.get(a.section) ?? 0) - (ORDER.get(b.section) ?? 0) || compareKeys(a.key, b.key));
  const d = diffStates(before, after, limit, cells.slice(0, compareLimit));
  return { ...d, written: cells.length, uncompared: Math.max(0, cells.length - compareLimit) };
}

/** An imported event's source line (importers/): its number, time since the log's first timestamp and text, wrapped to `width`. */
function sourceLines(obs: Observed, width: number): string[] {
  const when = typeof obs.ts === 'number' ? ` at +${(obs.ts / 1e9).toFixed(6)} s` : '';
  const head = `source line ${obs.line}${when}${obs.pid !== undefined ? `, ${obs.task !== undefined ? `${obs.task}-` : 'thread '}${obs.pid}` : ''}${obs.cpu !== undefined ? ` cpu ${obs.cpu}` : ''}:`;
  const out = [paint(head.length > width ? `${head.slice(0, Math.max(0, width - 1))}…` : head, 'cyan-fg')];
  const raw = String(obs.raw);
  const room = Math.max(8, width - 2);
  for (let i = 0; i < raw.length && out.length < 8; i += room) out.push(paint(`  ${raw.slice(i, i + room)}`, 'cyan-fg'));
  if (Array.isArray(obs.unknown) && obs.unknown.length) out.push(paint(`  not in the log: ${obs.unknown.join(', ')}`.slice(0, width), 'cyan-fg'));
  return out;
}

/** The pane's lines (blessed tags), at most `width` columns of text each; an imported event's source line after the title. */
export function renderDiff(d: StepDiff, title: string, width: number, obs?: Observed): string[] {
  const cut = (s: string): string => (s.length > width ? `${s.slice(0, Math.max(0, width - 1))}…` : s);
  const lines: string[] = [];
  const what = d.changed === 0 ? 'no state change' : `${d.changed} cell${d.changed === 1 ? '' : 's'} changed`;
  lines.push(paint(cut(`${title}: ${what}${d.written > d.changed ? ` (${d.written} written)` : ''}`), 'bold'));
  if (obs && typeof obs === 'object') lines.push(...sourceLines(obs, width));
  for (const e of d.entries) {
    const colour = e.op === '+' ? 'green-fg' : e.op === '-' ? 'red-fg' : 'yellow-fg';
    lines.push(paint(cut(`${e.op} ${e.section} ${displayKey(e.section, e.key)}`), colour, 'bold'));
    if (e.op === '+') lines.push(paint(cut(`    ${cellText(e.section, e.after)}`), 'green-fg'));
    else if (e.op === '-') lines.push(paint(cut(`    ${cellText(e.section, e.before)}`), 'red-fg'));
    else if (e.section === 'pasid') {
      lines.push(paint(cut(`    - ${cellText(e.section, e.before)}`), 'red-fg'));
      lines.push(paint(cut(`    + ${cellText(e.section, e.after)}`), 'green-fg'));
    } else {
      const changes = fieldChanges(e.before, e.after);
      for (const ch of changes.length ? changes : [`${cellText(e.section, e.before)} → ${cellText(e.section, e.after)}`]) lines.push(paint(cut(`    ${ch}`)));
    }
  }
  const more = d.changed - d.entries.length;
  if (more > 0 || d.uncompared > 0) {
    const per = [...d.bySection].map(([s, n]) => `${s} ${n}`).join(', ');
    lines.push(paint(cut(`… ${more} more change${more === 1 ? '' : 's'} not shown (by section: ${per})`), 'bold'));
    if (d.uncompared > 0) lines.push(paint(cut(`… ${d.uncompared} more written cells not compared`), 'bold'));
  }
  return lines;
}

