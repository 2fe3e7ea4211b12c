// The terminal: a blessed screen created the way this machine needs it, the
// one blessed-contrib widget the timeline uses, and reading the drawn screen
// back as text (tests, docs captures, the benchmark).
//
// Facts this file works around (issue 5): blessed cannot parse ncurses-6
// extended terminfo (xterm-256color here), so the screen is created for
// 'xterm' with warnings off; @types/blessed declares the screen's input and
// output with each other's types; loading all of blessed-contrib costs
// ~110 ms (maps, markdown, images), so only the sparkline widget is loaded.
// Output is UTF-8 (forceUnicode) without the DEC line-drawing charset.
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import { escapeText } from '../safe/escape.js';

const require = createRequire(import.meta.url);

export type Screen = Widgets.Screen;
export type Box = Widgets.BoxElement;

export interface TermStreams {
  input: Readable;
  output: Writable;
}

export function createScreen(io: TermStreams, title = 'iotrace'): Screen {
  const screen = blessed.screen({
    // @types/blessed has these two swapped (input: Writable, output: Readable).
    input: io.input as unknown as Writable,
    output: io.output as unknown as Readable,
    terminal: 'xterm',
    warnings: false,
    smartCSR: true,
    fullUnicode: false,
    forceUnicode: true,
    autoPadding: true,
    // The title is sent as an OSC sequence: a BEL or ESC in a path must not end it early.
    title: escapeText(title),
  } as Widgets.IScreenOptions);
  // UTF-8 throughout, as ncurses does when a terminal declares it: no DEC
  // line-drawing charset switching (which tmux capture and copy-paste show
  // as "lqqk"), box and marker characters are written as themselves.
  (screen.program as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
  return screen;
}

export function box(options: Widgets.BoxOptions): Box {
  return blessed.box(options);
}

/**
 * Escape raw text for a tagged blessed box: `{` and `}` (blessed tags) and,
 * first, every control character, DEL, C1, U+2028/9, bidi control and
 * backslash (safe/escape.ts escapeText). blessed itself passes ESC [ … m and
 * newlines through, so a trace's RID could otherwise colour, move or forge
 * rows. Every string reaches a box through this exactly once (paint, esc).
 */
export const esc = (s: string): string => blessed.escape(escapeText(s));

export interface SparklineWidget extends Box {
  setData(titles: string[], data: number[][]): void;
}

type SparklineCtor = (options: Widgets.BoxOptions) => SparklineWidget;
let sparklineCtor: SparklineCtor | null = null;

/** blessed-contrib's sparkline, loaded on its own. */
export function sparkline(options: Widgets.BoxOptions): SparklineWidget {
  sparklineCtor ??= require('blessed-contrib/lib/widget/sparkline.js') as SparklineCtor;
  return sparklineCtor(options);
}

/** The characters currently drawn, one string per row (trailing blanks kept). */
export function screenText(screen: Screen): string[] {
  const lines = (screen as unknown as { lines: [number, string][][] }).lines;
  return lines.map((row) => row.map((cell) => cell[1]).join(''));
}
