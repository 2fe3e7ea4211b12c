// Built-in scenarios (JSON files beside this module's source) and loading a
// scenario from a file: parse, validate, name the file in every error.
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scenario } from '../engine/scenario.js';
import { MAX_SCENARIO_BYTES } from '../engine/limits.js';
import { ScenarioError, validateScenario } from '../engine/validate.js';
import { charAt, jsonErrorOffset, lineColumn, pathPosition } from './json-position.js';

/** The package's own folder (where package.json is), whether this module runs from source or from dist/. */
export const PACKAGE_DIR = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

/** The package's scenarios folder. */
export const SCENARIO_DIR = join(PACKAGE_DIR, 'scenarios');

export function builtinNames(): string[] {
  return readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort();
}

/** Where and why a JSON text is invalid, in one line (never quoting the text itself). */
function jsonProblem(text: string, nodeMessage: string): string {
  const offset = jsonErrorOffset(text);
  if (offset === null) {
    // The scan found nothing JSON.parse refused: keep Node's words, without the text it quotes.
    const words = (nodeMessage.split('\n')[0] ?? '').replace(/,? ".*$/s, '').slice(0, 120);
    return `invalid JSON: ${words}`;
  }
  const { line, column } = lineColumn(text, offset);
  return `invalid JSON at line ${line}, column ${column}: unexpected ${charAt(text, offset)}`;
}

/** The Unicode byte-order mark some editors put at the start of a UTF-8 file. */
const BOM = '\uFEFF';

export function parseScenario(text: string, source: string): Scenario {
  if (text.length > MAX_SCENARIO_BYTES) {
    throw new ScenarioError(source, [{ step: null, path: '(file)', message: `larger than ${MAX_SCENARIO_BYTES} bytes (16 MiB), the most a scenario file may be` }]);
  }
  // A UTF-8 BOM is accepted and skipped, as JSON (RFC 8259 section 8.1) lets a parser do.
  const body = text.startsWith(BOM) ? text.slice(1) : text;
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (e) {
    throw new ScenarioError(source, [{ step: null, path: '(document)', message: jsonProblem(body, (e as Error).message) }]);
  }
  try {
    return validateScenario(doc, source);
  } catch (e) {
    // Each problem also names the line and column of the value its JSON path points at.
    if (!(e instanceof ScenarioError)) throw e;
    throw new ScenarioError(source, e.problems.map((p) => ({ ...p, ...(pathPosition(body, p.path) ?? {}) })));
  }
}

const fileProblem = (path: string, message: string): ScenarioError => new ScenarioError(path, [{ step: null, path: '(file)', message }]);

/** What a file that is not a regular file is, for the message. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The text of a scenario file, read only when it is a regular file of at
 * most MAX_SCENARIO_BYTES: a FIFO, a device (/dev/zero), a socket or a
 * directory is refused without reading it. The type is checked before the
 * open (opening a device can have effects of its own) and again on the open
 * descriptor (the path may have changed in between); the open never blocks
 * (O_NONBLOCK: a FIFO without a writer would). The size is checked on the
 * descriptor and again while reading, in case the file grows.
 */
export function readScenarioFile(path: string): string {
  const refuse = (st: Stats): void => {
    if (st.isDirectory()) throw fileProblem(path, 'is a directory, expected a scenario JSON file');
    if (!st.isFile()) throw fileProblem(path, `is ${kindOf(st)}, expected a regular scenario JSON file`);
    if (st.size > MAX_SCENARIO_BYTES) throw fileProblem(path, `is ${st.size} bytes, larger than ${MAX_SCENARIO_BYTES} bytes (16 MiB), the most a scenario file may be`);
  };
  const failed = (e: unknown): ScenarioError => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return fileProblem(path, `no such built-in scenario or file (built-in: ${builtinNames().join(', ')})`);
    if (code === 'EACCES' || code === 'EPERM') return fileProblem(path, 'permission denied');
    if (code === 'ELOOP') return fileProblem(path, 'too many levels of symbolic links');
    return fileProblem(path, `cannot be read (${code ?? 'error'})`);
  };
  let fd: number;
  try {
    refuse(statSync(path));
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw e instanceof ScenarioError ? e : failed(e);
  }
  try {
    const st = fstatSync(fd);
    refuse(st);
    // One byte more than the size, to see the end; grown (once, to the limit) if the file grows meanwhile.
    let buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > MAX_SCENARIO_BYTES) throw fileProblem(path, `grew past ${MAX_SCENARIO_BYTES} bytes (16 MiB) while being read, the most a scenario file may be`);
        const bigger = Buffer.allocUnsafe(MAX_SCENARIO_BYTES + 1);
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return buf.toString('utf8', 0, n);
  } catch (e) {
    throw e instanceof ScenarioError ? e : failed(e);
  } finally {
    closeSync(fd);
  }
}

/** A built-in name ("dwq-gpasid") or a path to a scenario JSON file. */
export function loadScenario(nameOrPath: string): Scenario {
  const builtin = join(SCENARIO_DIR, `${nameOrPath}.json`);
  const isBuiltin = /^[a-z0-9-]+$/.test(nameOrPath) && builtinNames().includes(nameOrPath);
  const path = isBuiltin ? builtin : nameOrPath;
  return parseScenario(readScenarioFile(path), isBuiltin ? nameOrPath : path);
}

export function listScenarios(): Scenario[] {
  return builtinNames().map((name) => loadScenario(name));
}
