// Escaping for text that came from a file (a trace, a scenario) before it
// reaches a terminal. A trace can be forged with valid checksums, so the
// defence is at output, never at validation: every name, RID, note, key or
// message drawn from a file goes through escapeText() (plain text) or
// jsonText() (--json) on its way out.
//
// Plain text: each character a terminal would act on is shown as an escape,
// and a backslash is shown as `\\`, so the output is unambiguous (a RID that
// holds the four characters `\x1b` prints as `\\x1b`, one that holds ESC as
// `\x1b`):
//   C0 controls U+0000–U+001F                       \n, \t, \r; the others \x00 … \x1f (ESC is \x1b)
//   DEL U+007F, C1 controls U+0080–U+009F           \x7f, \x9b …
//   line and paragraph separators U+2028, U+2029    \u2028, \u2029
//   bidi controls U+061C, U+200E, U+200F,
//     U+202A–U+202E, U+2066–U+2069                  \u202e …
// JSON: JSON.stringify already escapes C0, `"` and `\`; jsonText() also
// writes DEL, C1, the separators and the bidi controls as \uXXXX. Outside
// strings JSON text is ASCII, so the result parses to the same value.

/** Characters escapeText() rewrites (the backslash included). */
const UNSAFE = /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_TEST = /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** The same set without the backslash: what a terminal acts on. */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_TEST = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** What JSON.stringify leaves raw but a terminal acts on. */
const JSON_UNSAFE = /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const JSON_UNSAFE_TEST = /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const NAMED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r' };

const hex = (c: string, digits: number): string => c.charCodeAt(0).toString(16).padStart(digits, '0');

function one(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  return c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`;
}

/** A string from a file, safe and unambiguous on a terminal: controls as `\x1b`, `\n`, `\u202e` …, `\` as `\\`. */
export function escapeText(s: string): string {
  return UNSAFE_TEST.test(s) ? s.replace(UNSAFE, one) : s;
}

/**
 * Only what a terminal would act on (backslashes left alone). Idempotent, so
 * it can sit as a last line of defence behind escapeText() (the TUI's tag
 * escape does this) without doubling backslashes.
 */
export function escapeControls(s: string): string {
  return CONTROL_TEST.test(s) ? s.replace(CONTROL, one) : s;
}

/** Whether a string holds anything escapeControls() would rewrite. */
export const hasControls = (s: string): boolean => CONTROL_TEST.test(s);

/** A value as exact JSON that is also safe on a terminal (see the header). `indent` as JSON.stringify's. */
export function jsonText(value: unknown, indent?: number): string {
  const s = JSON.stringify(value, null, indent);
  if (s === undefined) return 'null';
  return JSON_UNSAFE_TEST.test(s) ? s.replace(JSON_UNSAFE, (c) => `\\u${hex(c, 4)}`) : s;
}
