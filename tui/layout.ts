// Where the panes go. Recomputed from the screen size on every frame, so a
// resize needs nothing more than a redraw.
//
//   ┌ events ───────────────┐┌ state ─────────────┐
//   │                       ││                    │
//   │                       │└────────────────────┘
//   │                       │┌ diff ──────────────┐
//   │                       ││                    │
//   └───────────────────────┘└────────────────────┘
//   ┌ timeline ──────────────────────────────────┐
//   └────────────────────────────────────────────┘
//   status (2 rows)
import type { Widgets } from 'blessed';
import type { Pane } from './keymap.js';
import { borderColour } from './format.js';
import { box, type Box, type Screen } from './term.js';

export const TIMELINE_ROWS = 5;
/** The smallest screen the panes fit (below it: a "terminal too small" screen). */
export const MIN_SIZE = { cols: 80, rows: 24 } as const;
export const STATUS_ROWS = 2;

export interface Panes {
  events: Box;
  state: Box;
  diff: Box;
  status: Box;
  help: Box;
  /** The "terminal too small" notice. */
  small: Box;
}

function pane(screen: Screen, label: string): Box {
  return box({
    parent: screen, label, tags: true, wrap: false, border: { type: 'line' },
    style: { border: { fg: borderColour(false) }, label: { bold: true } } as Widgets.BoxOptions['style'],
  });
}

export function createPanes(screen: Screen): Panes {
  const events = pane(screen, ' events ');
  const state = pane(screen, ' state ');
  const diff = pane(screen, ' diff ');
  const status = box({ parent: screen, tags: true, wrap: false, height: STATUS_ROWS });
  const help = box({
    parent: screen, tags: true, wrap: false, hidden: true, label: ' help ', border: { type: 'line' },
    style: { border: { fg: borderColour(true) } } as Widgets.BoxOptions['style'],
  });
  const small = box({ parent: screen, tags: true, wrap: true, hidden: true, top: 0, left: 0, width: '100%', height: '100%' });
  return { events, state, diff, status, help, small };
}

export interface Geometry { width: number; height: number; main: number; left: number; stateRows: number }

/** Place every pane for the current screen size; the timeline gets the row band above the status. */
export function place(screen: Screen, p: Panes, timeline: Box): Geometry {
  const width = Math.max(20, screen.width as number);
  const height = Math.max(12, screen.height as number);
  const main = Math.max(6, height - TIMELINE_ROWS - STATUS_ROWS);
  // Narrow screens give the event list more of the width (its summaries are the point).
  const left = Math.max(10, Math.floor(width * (width < 120 ? 0.6 : 0.55)));
  const stateRows = Math.max(3, Math.floor(main * 0.6));
  const set = (b: Box, top: number, l: number, w: number, h: number): void => { b.top = top; b.left = l; b.width = w; b.height = h; };
  set(p.events, 0, 0, left, main);
  set(p.state, 0, left, width - left, stateRows);
  set(p.diff, stateRows, left, width - left, main - stateRows);
  set(timeline, main, 0, width, TIMELINE_ROWS);
  set(p.status, main + TIMELINE_ROWS, 0, width, STATUS_ROWS);
  const hw = Math.min(width - 4, 110);
  const hh = Math.max(6, height - 4);
  set(p.help, 2, Math.floor((width - hw) / 2), hw, hh);
  return { width, height, main, left, stateRows };
}

/** Whether the screen is below MIN_SIZE. */
export const tooSmall = (screen: Screen): boolean => (screen.width as number) < MIN_SIZE.cols || (screen.height as number) < MIN_SIZE.rows;

/** Show only the "too small" notice (true), or everything but it (false). */
export function showSmall(p: Panes, timeline: Box, small: boolean, text: string): void {
  for (const b of [p.events, p.state, p.diff, p.status, timeline]) { if (small) b.hide(); else b.show(); }
  if (small) { p.help.hide(); p.small.setContent(text); p.small.show(); p.small.setFront(); } else p.small.hide();
}

/** Inner size of a bordered box. */
export const inner = (b: Box): { w: number; h: number } => ({ w: Math.max(1, (b.width as number) - 2), h: Math.max(1, (b.height as number) - 2) });

/** The focused pane: its border coloured and its label inverse (which NO_COLOR keeps). */
export function focusStyle(p: Panes, timeline: Box, focus: Pane): void {
  const all: Record<Pane, Box> = { events: p.events, state: p.state, diff: p.diff, timeline };
  for (const [name, b] of Object.entries(all) as [Pane, Box][]) {
    const st = b.style as { border: { fg: string }; label?: { inverse?: boolean } };
    st.border.fg = borderColour(name === focus);
    // The label element holds this object since setLabel: change it in place.
    if (st.label) st.label.inverse = name === focus;
  }
}
