// Every key binding, in one table: the dispatcher, the help overlay and the
// status line's hints all read it, so they cannot disagree.

export type Pane = 'events' | 'state' | 'diff' | 'timeline';
export const PANES: readonly Pane[] = ['events', 'state', 'diff', 'timeline'];

export type Action =
  | 'down' | 'up' | 'pageDown' | 'pageUp' | 'top' | 'bottom'
  | 'stepForward' | 'stepBack' | 'left' | 'right'
  | 'firstFault' | 'next' | 'prev' | 'goto' | 'search' | 'filter'
  | 'focusNext' | 'focusPrev' | 'enter' | 'lastWriter' | 'play'
  | 'help' | 'escape' | 'quit';

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
  { keys: [':'], label: ':', action: 'goto', help: 'go to a step: N, +N, -N, first-fault, last' },
  { keys: ['/'], label: '/', action: 'search', help: 'search: kind, kind:<kind|family>, rid:00:02.0, pasid:5, an IOCTL_NAME, free text' },
  { keys: ['t'], label: 't', action: 'filter', help: 'kind filter: show only these kinds or families (empty: all)' },
  { keys: ['tab'], label: 'Tab', action: 'focusNext', help: 'next pane (events, state, diff, timeline)' },
  { keys: ['S-tab'], label: 'S-Tab', action: 'focusPrev', help: 'previous pane' },
  { keys: ['return', 'linefeed'], label: 'Enter', action: 'enter', help: 'state: fold / unfold the section or group · events: go to the state pane' },
  { keys: ['w'], label: 'w', action: 'lastWriter', help: 'state: jump to the event that last wrote the selected cell; again for the one before', panes: ['state'] },
  { keys: ['p'], label: 'p', action: 'play', help: 'play forward (N p: N steps/s, default 10, 0 = as fast as it draws); any key stops' },
  { keys: ['?'], label: '?', action: 'help', help: 'this help' },
  { keys: ['escape'], label: 'Esc', action: 'escape', help: 'back out: help, prompt, play, count, search; a second Esc clears the kind filter' },
  { keys: ['q', 'C-c'], label: 'q', action: 'quit', help: 'quit (closes the help first when it is open)' },
];

const byKey = new Map<string, Binding[]>();
for (const b of BINDINGS) for (const k of b.keys) byKey.set(k, [...(byKey.get(k) ?? []), b]);

/** The action a key triggers in a pane, or null. */
export function actionFor(key: string, pane: Pane): Action | null {
  for (const b of byKey.get(key) ?? []) if (!b.panes || b.panes.includes(pane)) return b.action;
  return null;
}

const HINTS: Record<Pane, string> = {
  events: 'j/k step  f fault  n/N next  / search  : goto  t filter  p play',
  state: 'j/k select  Enter fold  w last writer  [/] step',
  diff: 'j/k scroll  [/] step  n/N next',
  timeline: 'h/l move  click jumps  j/k step',
};

/** Status-line hints for the focused pane. */
export function hints(pane: Pane): string {
  return `${HINTS[pane]}  Tab pane  ? help  q quit`;
}
