// Every key binding, in one table: the dispatcher, the help overlay and the
// status line's hints all read it, so they cannot disagree.

export type Pane = 'events' | 'state' | 'diff' | 'timeline';
export const PANES: readonly Pane[] = ['events', 'state', 'diff', 'timeline'];

export type Action =
  | 'down' | 'up' | 'pageDown' | 'pageUp' | 'top' | 'bottom'
  | 'stepForward' | 'stepBack' | 'left' | 'right'
  | 'firstFault' | 'next' | 'prev' | 'goto' | 'search' | 'filter'
  | 'focusNext' | 'focusPrev' | 'enter' | 'lastWriter' | 'play'
  | 'help' | 'escape' | 'quit'
  // the debugger's debugger keys (issue 15): tui/detail.ts, jumps.ts, marks.ts, breakpoints.ts
  | 'detail' | 'nextViolation' | 'prevViolation' | 'jumpBack' | 'jumpForward' | 'setMark' | 'gotoMark'
  | 'breakpoint' | 'breakpoints' | 'continue' | 'reverseContinue' | 'playBack'
  // the services below the TUI (issue 15): tui/investigate.ts
  | 'provenance' | 'watchForward' | 'whatIfDrop' | 'whatIfEdit';

export interface Binding {
  /** blessed key names (key.full), e.g. 'j', 'down', 'S-tab', 'C-c'. */
  keys: string[];
  /** What the help overlay shows in the key column. */
  label: string;
  action: Action;
  help: string;
  /** Panes where the binding applies; absent: everywhere. */
  panes?: Pane[];
}

export const BINDINGS: readonly Binding[] = [
  { keys: ['j', 'down'], label: 'j ↓', action: 'down', help: 'events: step forward · state: next row · diff: scroll · timeline: step forward' },
  { keys: ['k', 'up'], label: 'k ↑', action: 'up', help: 'events: step back · state: previous row · diff: scroll · timeline: step back' },
  { keys: ['pagedown', 'C-f'], label: 'PgDn', action: 'pageDown', help: 'a page forward (events, state, diff)' },
  { keys: ['pageup', 'C-b'], label: 'PgUp', action: 'pageUp', help: 'a page back' },
  { keys: ['g', 'home'], label: 'g', action: 'top', help: 'first step (state/diff: first row); with a count, N g goes to step N' },
  { keys: ['S-g', 'end'], label: 'G', action: 'bottom', help: 'last step (state/diff: last row); with a count, N G goes to step N' },
  { keys: [']'], label: ']', action: 'stepForward', help: 'step forward from any pane' },
  { keys: ['['], label: '[', action: 'stepBack', help: 'step back from any pane' },
  { keys: ['h', 'left'], label: 'h ←', action: 'left', help: 'timeline: move one column back', panes: ['timeline'] },
  { keys: ['l', 'right'], label: 'l →', action: 'right', help: 'timeline: move one column forward', panes: ['timeline'] },
  { keys: ['f'], label: 'f', action: 'firstFault', help: 'jump to the first fault' },
  { keys: ['n'], label: 'n', action: 'next', help: 'next fault or violation; while a search is active, next match' },
  { keys: ['S-n'], label: 'N', action: 'prev', help: 'previous fault or violation; while a search is active, previous match' },
  { keys: ['v'], label: 'v', action: 'nextViolation', help: 'next violation' },
  { keys: ['S-v'], label: 'V', action: 'prevViolation', help: 'previous violation' },
  { keys: [':'], label: ':', action: 'goto', help: 'go to: #event (40), +N, -N, s19 (scenario step), t13 (tick), first-fault, first-violation, last' },
  { keys: ['C-o'], label: 'C-o', action: 'jumpBack', help: 'back to where the last jump left (f n N v V w : c C \' marks, search, N g)' },
  { keys: ['C-n'], label: 'C-n', action: 'jumpForward', help: 'forward again after C-o (Ctrl-I is Tab to a terminal, so the key is Ctrl-N)' },
  { keys: ['m'], label: 'm x', action: 'setMark', help: 'mark the event under the cursor with a letter' },
  { keys: ["'", '`'], label: "' x", action: 'gotoMark', help: 'go to the event marked with that letter' },
  { keys: ['/'], label: '/', action: 'search', help: 'search: kind, kind:<kind|family>, rid:00:02.0, pasid:5, an IOCTL_NAME, free text' },
  { keys: ['t'], label: 't', action: 'filter', help: 'kind filter: show only these kinds or families (empty: all)' },
  { keys: ['b'], label: 'b', action: 'breakpoint', help: 'breakpoint on a search expression, or "any fault", "any violation"' },
  { keys: ['S-b'], label: 'B', action: 'breakpoints', help: 'the breakpoint list: toggle (Space), delete (d), add (b)' },
  { keys: ['c'], label: 'c', action: 'continue', help: 'continue forward to the next breakpoint (any fault is one until turned off)' },
  { keys: ['S-c'], label: 'C', action: 'reverseContinue', help: 'continue backward to the previous breakpoint (reverse-continue)' },
  { keys: ['tab'], label: 'Tab', action: 'focusNext', help: 'next pane (events, state, diff, timeline)' },
  { keys: ['S-tab'], label: 'S-Tab', action: 'focusPrev', help: 'previous pane' },
  { keys: ['return', 'linefeed'], label: 'Enter', action: 'enter', help: 'events, diff, timeline: the event\'s detail · state: a cell\'s detail, a header folds' },
  { keys: ['i'], label: 'i', action: 'detail', help: 'detail: the event whole (fields, scenario step, explanation) or, in state, the cell and its writers' },
  { keys: ['w'], label: 'w', action: 'lastWriter', help: 'state: jump to the event that last wrote the selected cell; again for the one before', panes: ['state'] },
  { keys: ['S-p'], label: 'P', action: 'provenance', help: 'provenance chain of the event (state pane: of the selected cell): each cause a row, Enter goes there' },
  { keys: ['S-w'], label: 'W', action: 'watchForward', help: 'state: run forward to the next event that writes the selected cell (w is the backward one)' },
  { keys: ['x'], label: 'x', action: 'whatIfDrop', help: 'what if: re-record the scenario without this event\'s scenario step, diff it beside this trace' },
  { keys: ['e'], label: 'e', action: 'whatIfEdit', help: 'what if: re-record with one field of this event\'s scenario step edited (field=value), diff it' },
  { keys: ['p'], label: 'p', action: 'play', help: 'play forward (N p: N events/s, default 10, 0 = as fast as it draws); stops at breakpoints; any key stops' },
  { keys: ['r'], label: 'r', action: 'playBack', help: 'play backward (N r as for p); stops at breakpoints' },
  { keys: ['?'], label: '?', action: 'help', help: 'this help' },
  { keys: ['escape'], label: 'Esc', action: 'escape', help: 'back out: detail, help, prompt, play, count, search; a second Esc clears the kind filter' },
  { keys: ['q', 'C-c'], label: 'q', action: 'quit', help: 'quit (closes the detail or help first when open)' },
];

const byKey = new Map<string, Binding[]>();
for (const b of BINDINGS) for (const k of b.keys) byKey.set(k, [...(byKey.get(k) ?? []), b]);

/** Why a key does nothing in a pane: where it works, or that it is not bound. */
export function whyNot(key: string, pane: Pane): string {
  const b = byKey.get(key)?.[0];
  if (b?.panes) return `${b.label} works in the ${b.panes.join(' and ')} pane${b.panes.length > 1 ? 's' : ''} (Tab moves there): ${b.help.replace(/^\w+: /, '')}`;
  return `${key} is not a key here (${pane} pane); ? lists them all`;
}

/** The action a key triggers in a pane, or null. */
export function actionFor(key: string, pane: Pane): Action | null {
  for (const b of byKey.get(key) ?? []) if (!b.panes || b.panes.includes(pane)) return b.action;
  return null;
}

const HINTS: Record<Pane, string> = {
  events: 'j/k step  Enter detail  f n v  : goto  / search  b c C break  p/r play',
  state: 'j/k select  Enter detail/fold  w last writer  [/] step',
  diff: 'j/k scroll  [/] step  n/N next  i detail',
  timeline: 'h/l move  click jumps  j/k step',
};

/** Status-line hints for the focused pane (help first: an 80-column row keeps it). */
export function hints(pane: Pane): string {
  return `? help  ${HINTS[pane]}  Tab pane  q quit`;
}
