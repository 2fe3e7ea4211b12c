// What the header of an imported trace (importers/) says of its source, as
// info and verify print it: every string from the file escaped.
import { escapeText } from '../safe/escape.js';
import type { ImportSource } from '../trace/header.js';

/** Event names listed by name (the rest are counted). */
const NAMES = 8;

/** `checked`: verify --source re-imported the log and compared these with what it says (each difference is printed as a FALSE CLAIM). */
export function importedLines(s: ImportSource, checked: boolean): string[] {
  const skipped = Object.entries(s.skipped).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const total = skipped.reduce((n, [, c]) => n + c, 0);
  const names = skipped.slice(0, NAMES).map(([k, n]) => `${escapeText(k)} ${n}`).join(', ');
  return [
    `imported   from a ${s.tool} log: ${escapeText(s.file)}, ${s.bytes} bytes, sha256 ${escapeText(s.sha256)}`,
    `source     ${s.lines} lines (${s.forms.map(escapeText).join(', ') || 'no event lines'}${s.t0 !== null ? `, first timestamp ${escapeText(s.t0)}` : ', no timestamps'}): `
      + `${s.malformed} malformed, ${total} not mapped${total ? ` (${names}${skipped.length > NAMES ? `, ${skipped.length - NAMES} more names` : ''})` : ''}, ${s.folded} folded`
      + (checked ? '' : '; as the header says (unchecked: verify --source <log> imports the log again and compares)'),
    ...s.malformedLines.slice(0, 5).map((m) => `  ! line ${m.line}: ${escapeText(m.why)}`),
  ];
}
