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
