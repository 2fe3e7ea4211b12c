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
    title,
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

/** Escape text for a tagged blessed box. */
export const esc = (s: string): string => blessed.escape(s);

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
