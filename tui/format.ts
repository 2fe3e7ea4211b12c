// Text helpers every pane shares: colours by event family, one-line cell
// values, fitting text to a width, blessed tags.
import { entryText, family } from '../engine/summary.js';
import type { EventKind, Family, PasidEntry, SectionName } from '../engine/types.js';
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

const ADDRESS_FIELDS = new Set(['pa', 'base', 'size', 'flptr', 'slptptr', 'table', 'hpa', 'length', 'iova', 'guestTable', 'root', 'addr']);

function scalar(field: string, v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return ADDRESS_FIELDS.has(field) || v >= 0x10000 ? `0x${v.toString(16)}` : String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map((x) => scalar(field, x)).join(',')}]`;
  return `{${fields(v as Record<string, unknown>)}}`;
}

function fields(o: Record<string, unknown>): string {
  return Object.keys(o).sort().map((k) => `${k}=${scalar(k, o[k])}`).join(' ');
}

/** One-line text of a state cell. */
export function cellText(section: SectionName, value: unknown): string {
  if (section === 'pasid') return entryText(value as PasidEntry | null);
  if (value === null || value === undefined) return 'absent';
  if (typeof value !== 'object') return scalar('', value);
  return fields(value as Record<string, unknown>);
}

/** Field-by-field changes between two versions of a cell ("did 3 → 4"). */
export function fieldChanges(before: unknown, after: unknown): string[] {
  if (typeof before !== 'object' || typeof after !== 'object' || before === null || after === null) return [];
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
    const x = scalar(k, b[k]);
    const y = scalar(k, a[k]);
    if (x !== y) out.push(`${k} ${x} → ${y}`);
  }
  return out;
}
