// Authoring (issue 14 §6): `iotrace schema` from the validator's tables; an
// `expect` that depends on the variant ({ "by": axis, value: expect });
// expect values validated (errnos, fault codes and names); every validation
// problem of a file names its line and column.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { matrix } from '../cli/commands/matrix.js';
import { resolveExpect } from '../engine/expect.js';
import { IOCTLS, OPS } from '../engine/ops/index.js';
import { run } from '../engine/run.js';
import type { Scenario, Step } from '../engine/scenario.js';
import { PLATFORM_SCHEMA } from '../engine/schema.js';
import { ERRNOS } from '../engine/types.js';
import { loadScenario, parseScenario } from '../scenarios/index.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
const problem = (text: string): string => { try { parseScenario(text, 's.json'); return ''; } catch (e) { return (e as Error).message; } };
const PLATFORM = { iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }] };

describe('iotrace schema', () => {
  const r = cli('schema');
  const schema = JSON.parse(r.stdout) as { definitions: { step: { properties: { op: { enum: string[] } }; allOf: { if: { properties: { op: { const: string } } }; then: { allOf?: { if: { properties: { cmd: { const: string } } } }[] } }[] }; expect: unknown } };

  it('prints a draft-07 JSON Schema naming every op, every ioctl and every errno', () => {
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"\$schema": "http:\/\/json-schema\.org\/draft-07\/schema#"/);
    expect(schema.definitions.step.properties.op.enum).toEqual(Object.keys(OPS));
    const ioctl = schema.definitions.step.allOf.find((b) => b.if.properties.op.const === 'ioctl');
    expect(ioctl?.then.allOf?.map((b) => b.if.properties.cmd.const)).toEqual(Object.keys(IOCTLS));
    for (const e of ERRNOS) expect(JSON.stringify(schema.definitions.expect)).toContain(`"${e}"`);
  });

  it('every built-in scenario and conformance case validates against it; a misspelt op does not (python3 jsonschema, when installed)', () => {
    const has = spawnSync('python3', ['-c', 'import jsonschema'], { encoding: 'utf8' });
    if (has.status !== 0) return;
    const dir = mkdtempSync(join(tmpdir(), 'iotrace-schema-'));
    writeFileSync(join(dir, 'schema.json'), r.stdout);
    const bad = JSON.parse(readFileSync(join('scenarios', 'dwq-gpasid.json'), 'utf8')) as { steps: { op: string }[] };
    (bad.steps[0] as { op: string }).op = 'dam';
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    const py = `
import json, glob, sys, jsonschema
v = jsonschema.Draft7Validator(json.load(open(sys.argv[1])))
files = sorted(glob.glob('scenarios/*.json') + glob.glob('conformance/**/*.json', recursive=True))
bad = [f for f in files if any(True for _ in v.iter_errors(json.load(open(f))))]
print(len(files), len(bad), ' '.join(bad[:3]), len(list(v.iter_errors(json.load(open(sys.argv[2]))))) > 0)`;
    const out = spawnSync('python3', ['-c', py, join(dir, 'schema.json'), join(dir, 'bad.json')], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    const [files, failing, , typoCaught] = out.stdout.trim().split(' ');
    expect(Number(files)).toBeGreaterThan(50);
    expect(failing, out.stdout).toBe('0');
    expect(out.stdout.trim().endsWith('True')).toBe(true);
    void typoCaught;
  });

  it('its platform part names the fields engine/types.ts declares', () => {
    const text = readFileSync(join('engine', 'types.ts'), 'utf8');
    const sf = ts.createSourceFile('types.ts', text, ts.ScriptTarget.ES2022, true);
    const fields = new Map<string, string[]>();
    sf.forEachChild((n) => { if (ts.isInterfaceDeclaration(n)) fields.set(n.name.text, n.members.filter(ts.isPropertySignature).map((m) => m.name.getText()).sort()); });
    const props = (PLATFORM_SCHEMA as { properties: Record<string, { items?: { properties: Record<string, unknown> } }> }).properties;
    expect(Object.keys(props).sort()).toEqual(fields.get('Platform'));
    const spec: Record<string, string> = { hosts: 'HostSpec', iommus: 'IommuSpec', devices: 'DeviceSpec', vms: 'VmSpec', memory: 'MemorySpec' };
    for (const [key, iface] of Object.entries(spec)) expect(Object.keys(props[key]?.items?.properties ?? {}).sort(), key).toEqual(fields.get(iface));
  });
});

describe('expect by variant', () => {
  /** dwq-gpasid's wq-submit step 18 ({ by: pasid }) split back into the two `when` steps it replaced. */
  function split(): Scenario {
    const s = loadScenario('dwq-gpasid');
    const one = s.steps[18] as Step;
    expect([one.op, one.when, one.expect]).toEqual(['wq-submit', undefined, { by: 'pasid', identity: 'ok', translated: '0x59' }]);
    const { expect: _e, note: _n, ...rest } = one;
    return { ...s, steps: [...s.steps.slice(0, 18), { ...rest, when: { pasid: 'identity' }, expect: 'ok' } as Step, { ...rest, when: { pasid: 'translated' }, expect: '0x59' } as Step, ...s.steps.slice(19)] };
  }

  it('one step instead of two: the same events under every variant but the step index of that step', () => {
    const m = loadScenario('dwq-gpasid');
    const two = parseScenario(JSON.stringify(split()), 'split.json');
    for (const pasid of ['identity', 'translated']) {
      const want = [...run(two, { variant: { pasid } })].map((e) => (e.step === 19 ? { ...e, step: 18 } : e));
      expect([...run(m, { variant: { pasid } })], pasid).toEqual(want);
    }
    expect(resolveExpect(m.steps[18]?.expect, { pasid: 'translated' })).toBe('0x59');
    expect(resolveExpect(m.steps[18]?.expect, { pasid: 'identity' })).toBe('ok');
    // The matrix counts the translated fault as expected there.
    expect(matrix(m).map((r) => [r.variant.pasid, r.faults, r.unexpectedFaults, r.unmetExpectations])).toEqual([['identity', 0, 0, 0], ['translated', 1, 0, 0]]);
  });

  it('an unmet by-variant expectation is the expect event of the value that applies; a value left out expects nothing', () => {
    const m = loadScenario('dwq-gpasid');
    (m.steps[18] as Step).expect = { by: 'pasid', translated: 'ok' };
    const evs = (pasid: string) => [...run(parseScenario(JSON.stringify(m), 'm.json'), { variant: { pasid } })].filter((e) => e.kind === 'expect');
    expect(evs('translated').map((e) => e.kind === 'expect' && e.expected)).toEqual(['ok']);
    expect(evs('identity')).toEqual([]);
  });

  it('validation: the axis and each value must exist (did-you-mean), each value is an expectation, nesting a second axis works', () => {
    const doc = (e: unknown, variants: object = { pasid: { identity: 'a', translated: 'b' } }) =>
      JSON.stringify({ name: 's', description: 'd', variants, platform: PLATFORM, steps: [{ op: 'dma', rid: '00:02.0', addr: 0, expect: e }] });
    expect(problem(doc({ by: 'psid', identity: 'ok' }))).toMatch(/steps\[0\]\.expect: by: unknown variant axis "psid" \(did you mean pasid\?\)/);
    expect(problem(doc({ by: 'pasid', identiy: 'ok' }))).toMatch(/by pasid: "identiy" is not a value of axis pasid \(did you mean identity\?\)/);
    expect(problem(doc({ by: 'pasid', identity: 'EFAULTT' }))).toMatch(/identity: unknown errno "EFAULTT" \(did you mean EFAULT\?\)/);
    expect(problem(doc({ by: 'pasid' }))).toMatch(/by pasid: expected an expectation for at least one of its values/);
    expect(problem(doc({ by: 'pasid', identity: { by: 'pasid', identity: 'ok' } }))).toMatch(/a nested "by" names axis pasid again/);
    const two = { pasid: { identity: 'a', translated: 'b' }, ats: { on: 'a', off: 'b' } };
    expect(problem(doc({ by: 'pasid', identity: 'ok', translated: { by: 'ats', on: '0x51', off: { fault: '0x51' } } }, two))).toBe('');
  });
});

describe('expect values and positions', () => {
  const doc = (e: unknown) => JSON.stringify({ name: 's', description: 'd', platform: PLATFORM, steps: [{ op: 'dma', rid: '00:02.0', addr: 0, expect: e }] });

  it('an unknown errno, fault code or fault name is refused with a suggestion', () => {
    expect(problem(doc('EFAULTT'))).toMatch(/unknown errno "EFAULTT" \(did you mean EFAULT\?\)/);
    expect(problem(doc('0x3ff'))).toMatch(/unknown fault code "0x3ff"/);
    expect(problem(doc('C_BAD_CDD'))).toMatch(/unknown fault "C_BAD_CDD" \(did you mean "C_BAD_CD"/);
    expect(problem(doc({ fault: 'F_TRANSLATON' }))).toMatch(/fault: unknown fault "F_TRANSLATON" \(did you mean "F_TRANSLATION"\?\)/);
    for (const ok of ['ok', 'EBUSY', '0x59', 'C_BAD_CD', 'PASID translation miss', 'SM: Present bit in PASID Table Entry is clear']) expect(problem(doc(ok)), ok).toBe('');
  });

  it('every problem of a file names the line and column of the value (a missing field: the object that lacks it)', () => {
    const text = `{
  "name": "s",
  "description": "d",
  "platform": {
    "iommus": [{ "id": "dmar0", "kind": "vtd" }],
    "devices": [{ "rid": "00:02.0", "iommu": "dmar0" }]
  },
  "steps": [
    { "op": "dma", "rid": "00:02.0", "addr": 0 },
    { "op": "dma", "rid": "00:09.0", "addr": 0 },
    { "op": "dma",
      "addr": 0 }
  ]
}
`;
    const dir = mkdtempSync(join(tmpdir(), 'iotrace-pos-'));
    writeFileSync(join(dir, 'p.json'), text);
    const r = cli('run', join(dir, 'p.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/step 1: steps\[1\]\.rid: no device "00:09\.0" in the platform \(did you mean 00:02\.0\?; known: 00:02\.0\) \(line 10, column 27\); step 2: steps\[2\]\.rid: missing \(line 11, column 5\)\n$/);
    // A trace header's scenario has no text: its problems have no position.
    expect(problem(text.replace('"00:09.0"', '"00:02.0"'))).toMatch(/steps\[2\]\.rid: missing \(line 11, column 5\)$/);
  });
});
