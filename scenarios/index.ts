// Built-in scenarios (JSON files beside this module's source) and loading a
// scenario from a file: parse, validate, name the file in every error.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scenario } from '../engine/scenario.js';
import { ScenarioError, validateScenario } from '../engine/validate.js';

/** The scenarios folder of the package (this file runs from dist/scenarios/). */
export const SCENARIO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');

export function builtinNames(): string[] {
  return readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort();
}

/** Line and column of a JSON.parse error position, for a message a person can act on. */
function position(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m) return '';
  const pos = Number(m[1]);
  const before = text.slice(0, pos).split('\n');
  return ` at line ${before.length}, column ${(before[before.length - 1]?.length ?? 0) + 1}`;
}

export function parseScenario(text: string, source: string): Scenario {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    throw new ScenarioError(source, [{ step: null, path: '(document)', message: `invalid JSON${position(text, msg)}: ${msg}` }]);
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
