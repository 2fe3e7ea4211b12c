// Built-in scenarios (JSON files beside this module's source) and loading a
// scenario from a file: parse, validate, name the file in every error.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scenario } from '../engine/scenario.js';
import { MAX_SCENARIO_BYTES } from '../engine/limits.js';
import { ScenarioError, validateScenario } from '../engine/validate.js';
import { FileProblem, readRegularFile } from '../safe/read.js';
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

/**
 * The text of a scenario file, read only when it is a regular file of at
 * most MAX_SCENARIO_BYTES (safe/read.ts), each refusal a ScenarioError
 * naming the file.
 */
export function readScenarioFile(path: string): string {
  try {
    return readRegularFile(path, { what: 'scenario JSON file', limit: MAX_SCENARIO_BYTES, limitText: '16 MiB', whose: 'a scenario file' });
  } catch (e) {
    if (!(e instanceof FileProblem)) throw e;
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw fileProblem(path, `no such built-in scenario or file (built-in: ${builtinNames().join(', ')})`);
    throw fileProblem(path, e.problem);
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
