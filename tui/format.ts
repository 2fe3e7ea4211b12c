// Text helpers every pane shares: colours by event family, one-line cell
// values, fitting text to a width, blessed tags.
import { family } from '../engine/summary.js';
import type { EventKind, Family } from '../engine/types.js';
import { escapeText } from '../safe/escape.js';
import { esc } from './term.js';

export const FAMILY_COLOUR: Record<Family, string> = {
  ioctl: 'cyan', table: 'yellow', translation: 'green', invalidation: 'magenta',
  fault: 'red', violation: 'red', kernel: 'blue', guest: 'white',
};

export const kindColour = (kind: EventKind): string => FAMILY_COLOUR[family(kind)];

/**
 * Cut to `width` columns (ending in … when cut) and pad with blanks. Widths
 * are those of the text as drawn: a control character that esc() will show
 * as `\x1b` counts four columns, so the escaped row still fits.
 */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  if (escapeText(s) === s) {
    if (s.length > width) return width === 1 ? '…' : `${s.slice(0, width - 1)}…`;
    return s.padEnd(width);
  }
  let drawn = 0;
  let i = 0;
  const total = escapeText(s).length;
  const room = total > width ? width - 1 : width;
  for (const ch of s) {
    const w = escapeText(ch).length;
    if (drawn + w > room) break;
    drawn += w;
    i += ch.length;
  }
  if (total > width) return `${s.slice(0, i)}…${' '.repeat(Math.max(0, room - drawn))}`;
  return `${s}${' '.repeat(width - total)}`;
}

let colourOn = true;

/**
 * Colour on or off for every pane (https://no-color.org: NO_COLOR set and not
 * empty turns it off). Without colour, bold, inverse and underline remain.
 */
export function setColour(env: NodeJS.ProcessEnv): void { colourOn = !env.NO_COLOR; }
export const colour = (): boolean => colourOn;

/**
 * Border colours readable on dark and light themes: the terminal's own
 * foreground for a pane without focus (blessed's grey is black on an
 * 8-colour xterm), green for the focused one.
 */
export const borderColour = (focused: boolean): string => (focused && colourOn ? 'green' : 'default');

/** Wrap already-escaped text in a blessed colour tag (colours dropped under NO_COLOR). */
export const tag = (text: string, ...styles: string[]): string =>
  styles.reduce((acc, st) => (!colourOn && /-(fg|bg)$/.test(st) ? acc : `{${st}}${acc}{/${st}}`), text);

/** `tag` over raw text (escaped first). */
export const paint = (text: string, ...styles: string[]): string => tag(esc(text), ...styles);

// A state cell as one line (addresses in 0x form, pgtt by name): engine/summary.ts, the same text as
// `iotrace state` prints.
export { cellText, fieldChanges } from '../engine/summary.js';

/**
 * Wrap raw text to `width` drawn columns (widths as fit() counts them),
 * breaking after a blank where one is near, else mid-word; continuation
 * lines start with `indent` blanks. Pieces are raw: paint() them.
 */
export function wrap(s: string, width: number, indent = 0): string[] {
  const out: string[] = [];
  const room = (first: boolean): number => Math.max(4, first ? width : width - indent);
  let line = '';
  let drawn = 0;
  let lastBlank = -1;
  for (const ch of s) {
    if (ch === '\n') { out.push(line); line = ''; drawn = 0; lastBlank = -1; continue; }
    const w = escapeText(ch).length;
    if (drawn + w > room(out.length === 0)) {
      if (lastBlank > line.length / 2) { out.push(line.slice(0, lastBlank)); line = line.slice(lastBlank + 1); }
      else { out.push(line); line = ''; }
      drawn = escapeText(line).length;
      lastBlank = -1;
    }
    if (ch === ' ') lastBlank = line.length;
    line += ch;
    drawn += w;
  }
  out.push(line);
  return out.map((l, i) => (i === 0 ? l : `${' '.repeat(indent)}${l}`));
}
