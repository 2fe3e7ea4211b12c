// Built-in scenarios (JSON files beside this module's source) and loading a
// scenario from a file: parse, validate, name the file in every error.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scenario } from '../engine/scenario.js';
import { ScenarioError, validateScenario } from '../engine/validate.js';
import { jsonErrorOffset, lineColumn } from './json-position.js';

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

/** Line and column of a JSON syntax error, for a message a person can act on. */
function position(text: string): string {
  const offset = jsonErrorOffset(text);
  if (offset === null) return '';
  const { line, column } = lineColumn(text, offset);
  return ` at line ${line}, column ${column}`;
}

export function parseScenario(text: string, source: string): Scenario {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    throw new ScenarioError(source, [{ step: null, path: '(document)', message: `invalid JSON${position(text)}: ${msg}` }]);
  }
  return validateScenario(doc, source);
}

/** A built-in name ("dwq-gpasid") or a path to a scenario JSON file. */
export function loadScenario(nameOrPath: string): Scenario {
  const builtin = join(SCENARIO_DIR, `${nameOrPath}.json`);
  const isBuiltin = /^[a-z0-9-]+$/.test(nameOrPath) && builtinNames().includes(nameOrPath);
  const path = isBuiltin ? builtin : nameOrPath;
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new ScenarioError(path, [{ step: null, path: '(file)', message: 'is a directory, expected a scenario JSON file' }]);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const known = builtinNames().join(', ');
    throw new ScenarioError(nameOrPath, [{ step: null, path: '(file)', message: `no such built-in scenario or file (built-in: ${known})` }]);
  }
  return parseScenario(text, isBuiltin ? nameOrPath : path);
}

export function listScenarios(): Scenario[] {
  return builtinNames().map((name) => loadScenario(name));
}
