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
import { box, type Box, type Screen } from './term.js';

export const TIMELINE_ROWS = 5;
export const STATUS_ROWS = 2;

export interface Panes {
  events: Box;
  state: Box;
  diff: Box;
  status: Box;
  help: Box;
}

function pane(screen: Screen, label: string): Box {
  return box({
    parent: screen, label, tags: true, wrap: false, border: { type: 'line' },
    style: { border: { fg: 'grey' }, label: { bold: true } } as Widgets.BoxOptions['style'],
  });
}

export function createPanes(screen: Screen): Panes {
  const events = pane(screen, ' events ');
  const state = pane(screen, ' state ');
  const diff = pane(screen, ' diff ');
  const status = box({ parent: screen, tags: true, wrap: false, height: STATUS_ROWS });
  const help = box({
    parent: screen, tags: true, wrap: false, hidden: true, label: ' help ', border: { type: 'line' },
    style: { border: { fg: 'yellow' } } as Widgets.BoxOptions['style'],
  });
  return { events, state, diff, status, help };
}

export interface Geometry { width: number; height: number; main: number; left: number; stateRows: number }

/** Place every pane for the current screen size; the timeline gets the row band above the status. */
export function place(screen: Screen, p: Panes, timeline: Box): Geometry {
  const width = Math.max(20, screen.width as number);
  const height = Math.max(12, screen.height as number);
  const main = Math.max(6, height - TIMELINE_ROWS - STATUS_ROWS);
  const left = Math.max(10, Math.floor(width * 0.55));
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

/** Inner size of a bordered box. */
export const inner = (b: Box): { w: number; h: number } => ({ w: Math.max(1, (b.width as number) - 2), h: Math.max(1, (b.height as number) - 2) });

export function focusStyle(p: Panes, timeline: Box, focus: Pane): void {
  const all: Record<Pane, Box> = { events: p.events, state: p.state, diff: p.diff, timeline };
  for (const [name, b] of Object.entries(all) as [Pane, Box][]) {
    (b.style as { border: { fg: string } }).border.fg = name === focus ? 'yellow' : 'grey';
  }
}
