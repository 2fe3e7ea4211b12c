// Where a JSON text stops being valid, as line and column, and what stands
// there. JSON.parse on Node 20 does not say where for every error, and its
// message quotes the text around the error (newlines and control characters
// included), so a message built from it is not one line. This scan runs only
// after JSON.parse failed. It is iterative: a file of a million '[' is one
// more invalid file, not a stack overflow.

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX = /^[0-9a-fA-F]{4}$/;
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/** Offset of the first syntax error in `text`, or null when the scan finds none (the text is valid JSON). */
export function jsonErrorOffset(text: string): number | null {
  const n = text.length;
  let i = 0;
  const ws = (): void => { while (i < n && WS.has(text.charCodeAt(i))) i++; };
  const fail = (): never => { throw new JsonStop(i); };
  const expectChar = (c: string): void => { if (text[i] === c) i++; else fail(); };
  const str = (): void => {
    expectChar('"');
    for (;;) {
      if (i >= n) fail();
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') { if (!HEX.test(text.slice(i + 2, i + 6))) { i += 1; fail(); } i += 6; continue; }
        if (e === undefined || !ESCAPES.has(e)) { i += 1; fail(); }
        i += 2;
        continue;
      }
      i++;
    }
  };
  const scalar = (): void => {
    const c = text[i];
    if (c === '"') return str();
    for (const word of ['true', 'false', 'null']) if (c === word[0]) { if (text.startsWith(word, i)) { i += word.length; return; } fail(); }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail();
    i += m?.[0].length ?? 0;
  };
  const key = (): void => { ws(); str(); ws(); expectChar(':'); };
  // One stack entry per open container: '}' for an object, ']' for an array.
  const stack: string[] = [];
  try {
    for (;;) {
      ws();
      const c = text[i];
      if (c === '{' || c === '[') {
        i++; ws();
        const close = c === '{' ? '}' : ']';
        if (text[i] !== close) {
          stack.push(close);
          if (close === '}') key();
          continue;
        }
        i++;
      } else scalar();
      // After a value: close what ends here, or go on to the next element.
      for (;;) {
        ws();
        const close = stack[stack.length - 1];
        if (close === undefined) return i < n ? i : null;
        if (text[i] === ',') { i++; if (close === '}') key(); break; }
        if (text[i] === close) { i++; stack.pop(); continue; }
        fail();
      }
    }
  } catch (e) {
    if (e instanceof JsonStop) return e.at;
    throw e;
  }
}

class JsonStop {
  constructor(readonly at: number) {}
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) { line++; start = i + 1; }
  return { line, column: offset - start + 1 };
}

/** What stands at `offset`, for a message: 'x' for printable ASCII, U+XXXX for anything else, or the end. */
export function charAt(text: string, offset: number): string {
  if (offset >= text.length) return 'the end of the file';
  const cp = text.codePointAt(offset) ?? 0;
  if (cp >= 0x20 && cp < 0x7f) return `'${String.fromCharCode(cp)}'`;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

// ---------------------------------------------------------------- where a value is

const skipWs = (text: string, i: number): number => { while (i < text.length && WS.has(text.charCodeAt(i))) i++; return i; };

/** The offset just past the string starting at `i` (a '"'), or -1. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) { j++; continue; }
    if (c === 0x22) return j + 1;
  }
  return -1;
}

/** The offset just past the JSON value starting at `i`, or -1 (iterative: nesting depth costs no stack). */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') { j = stringEnd(text, j) - 1; if (j < 0) return -1; continue; }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') { depth--; if (depth === 0) return j + 1; }
    }
    return -1;
  }
  let j = i;
  while (j < text.length && !/[\s,\]}]/.test(text[j] as string)) j++;
  return j > i ? j : -1;
}

/** A validator's JSON path (`steps[3].args.pt_id`, `platform.devices[0].rid`) as keys and indexes; null for `(document)`, `(file)`. */
export function pathSegments(path: string): (string | number)[] | null {
  if (path.startsWith('(')) return null;
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) out.push(m[1] !== undefined ? Number(m[1]) : (m[2] as string));
  return out;
}

/** The offset where the value at `segments` starts in a valid JSON text, or null when it is not there. */
export function valueOffset(text: string, segments: readonly (string | number)[]): number | null {
  let i = skipWs(text, text.startsWith('\uFEFF') ? 1 : 0);
  for (const seg of segments) {
    if (typeof seg === 'number') {
      if (text[i] !== '[') return null;
      i = skipWs(text, i + 1);
      for (let k = 0; k < seg; k++) {
        if (text[i] === ']') return null;
        const end = valueEnd(text, i);
        if (end < 0) return null;
        i = skipWs(text, end);
        if (text[i] !== ',') return null;
        i = skipWs(text, i + 1);
      }
      if (text[i] === ']') return null;
    } else {
      if (text[i] !== '{') return null;
      i = skipWs(text, i + 1);
      let found = -1;
      while (text[i] === '"') {
        const kEnd = stringEnd(text, i);
        if (kEnd < 0) return null;
        let key: unknown;
        try { key = JSON.parse(text.slice(i, kEnd)); } catch { return null; }
        i = skipWs(text, kEnd);
        if (text[i] !== ':') return null;
        i = skipWs(text, i + 1);
        // JSON.parse keeps the last of duplicate keys: so does this.
        if (key === seg) found = i;
        const end = valueEnd(text, i);
        if (end < 0) return null;
        i = skipWs(text, end);
        if (text[i] !== ',') break;
        i = skipWs(text, i + 1);
      }
      if (found < 0) return null;
      i = found;
    }
  }
  return i;
}

/**
 * Line and column of the value a validator's path names, or of the nearest
 * enclosing value that is there (a missing field: the object that lacks
 * it); null for a path that names no place in the text.
 */
export function pathPosition(text: string, path: string): { line: number; column: number } | null {
  const segs = pathSegments(path);
  if (segs === null || segs.length === 0) return null;
  for (let n = segs.length; n > 0; n--) {
    const at = valueOffset(text, segs.slice(0, n));
    if (at !== null) return lineColumn(text, at);
  }
  return null;
}
