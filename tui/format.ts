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

/** Wrap already-escaped text in a blessed colour tag. */
export const tag = (text: string, ...styles: string[]): string =>
  styles.reduce((acc, st) => `{${st}}${acc}{/${st}}`, text);

/** `tag` over raw text (escaped first). */
export const paint = (text: string, ...styles: string[]): string => tag(esc(text), ...styles);

// A state cell as one line (addresses in 0x form, pgtt by name): engine/summary.ts, the same text as
// `iotrace state` prints.
export { cellText, fieldChanges } from '../engine/summary.js';
