// redteam-bounds: regression tests for what the bounds red team found (see /work/notes/redteam-bounds.md).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../engine/validate.js';
import { forkScenario, parseEdit, WhatIfError } from '../whatif/fork.js';
import { loadScenario } from '../scenarios/index.js';
import { tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const T = join(process.cwd(), 'traces', 'dwq-gpasid--pasid=translated.iotrace');

describe('whatif --set never writes through a prototype (F4)', () => {
  it('refuses __proto__ / constructor / prototype in the field path, and Object.prototype stays clean', () => {
    for (const text of ['__proto__.flags=1', 'args.__proto__.x=1', 'constructor.prototype.x=1', '__proto__={"fault":1}', 'args.prototype=1']) {
      expect(() => parseEdit(text), text).toThrow(WhatIfError);
    }
    const sc = loadScenario('dwq-gpasid');
    expect(() => forkScenario(sc, { edit: 1, field: '__proto__.flags', value: 1 })).toThrow(/reserved key/);
    expect(() => forkScenario(sc, { edit: 1, field: 'constructor.name', value: 1 })).toThrow(/reserved key/);
    // A JSON value with an own "__proto__" key stays data and is refused by the scenario check, as in a scenario file.
    const { field, value } = parseEdit('args={"__proto__":{"flags":1}}');
    expect(() => forkScenario(sc, { edit: 3, field, value })).toThrow(ScenarioError);
    // Only own fields are walked: an inherited member (toString) is not an object with fields to set into.
    expect(() => forkScenario(sc, { edit: 1, field: 'toString.x', value: 1 })).toThrow(/toString is not an object with fields/);
    expect(({} as Record<string, unknown>).flags).toBeUndefined();
  });

  it('iotrace whatif --set __proto__.flags=1: one line, exit 2, no trace written', () => {
    const out = join(tmp(), 'b.iotrace');
    for (const set of ['__proto__.flags=1', '__proto__.fault=1', 'args.constructor=1']) {
      const r = spawnSync(process.execPath, [BIN, 'whatif', T, '--edit-step', '1', '--set', set, '-o', out], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, set).toBe(2);
      expect(r.stderr, set).toMatch(/^iotrace: --set: "(__proto__|constructor)" is a reserved key and cannot be a field \(got "[^"]+"\)\n$/);
      expect(existsSync(out), set).toBe(false);
    }
  });
});
