// Keys of the side-by-side diff view, in one table: the dispatcher, the help
// overlay and the status hints read it. The habits are the replay
// debugger's (tui/keymap.ts): j/k, g/G, n/N, Tab, ?, q.

export type DiffAction =
  | 'down' | 'up' | 'pageDown' | 'pageUp' | 'top' | 'bottom'
  | 'nextDiff' | 'prevDiff' | 'firstDivergence' | 'statesPart' | 'nextFault'
  | 'focusNext' | 'help' | 'escape' | 'quit';

export type DiffPane = 'rows' | 'stateA' | 'stateB' | 'diff';
export const DIFF_PANES: readonly DiffPane[] = ['rows', 'stateA', 'stateB', 'diff'];

export interface DiffBinding { keys: string[]; label: string; action: DiffAction; help: string }

export const DIFF_BINDINGS: readonly DiffBinding[] = [
  { keys: ['j', 'down'], label: 'j ↓', action: 'down', help: 'next aligned row (both traces move) · in a state pane: next row' },
  { keys: ['k', 'up'], label: 'k ↑', action: 'up', help: 'previous aligned row · in a state pane: previous row' },
  { keys: ['pagedown', 'C-f'], label: 'PgDn', action: 'pageDown', help: 'a page forward' },
  { keys: ['pageup', 'C-b'], label: 'PgUp', action: 'pageUp', help: 'a page back' },
  { keys: ['g', 'home'], label: 'g', action: 'top', help: 'first row' },
  { keys: ['S-g', 'end'], label: 'G', action: 'bottom', help: 'last row' },
  { keys: ['n'], label: 'n', action: 'nextDiff', help: 'next difference (run of changed / inserted / removed events; retimed rows are passed over)' },
  { keys: ['S-n'], label: 'N', action: 'prevDiff', help: 'previous difference' },
  { keys: ['f'], label: 'f', action: 'firstDivergence', help: 'the first divergence' },
  { keys: ['s'], label: 's', action: 'statesPart', help: 'the row where the hardware states of A and B first differ' },
  { keys: ['!'], label: '!', action: 'nextFault', help: 'next fault or violation that happens on one side only' },
  { keys: ['tab'], label: 'Tab', action: 'focusNext', help: 'next pane: rows, state A, state B, A vs B' },
  { keys: ['?'], label: '?', action: 'help', help: 'this help' },
  { keys: ['escape'], label: 'Esc', action: 'escape', help: 'close the help; back to the rows pane' },
  { keys: ['q', 'C-c'], label: 'q', action: 'quit', help: 'quit (closes the help first when it is open)' },
];

const byKey = new Map<string, DiffAction>();
for (const b of DIFF_BINDINGS) for (const k of b.keys) byKey.set(k, b.action);

export const diffActionFor = (key: string): DiffAction | null => byKey.get(key) ?? null;

export const DIFF_HINTS = 'j/k move both  n/N next/prev difference  f first divergence  s states part  Tab pane  ? help  q quit';
