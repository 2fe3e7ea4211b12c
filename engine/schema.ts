// A JSON Schema (draft-07) of the scenario format, for editors: completion
// and checks while typing. Generated from the validator's own tables: every
// op and its fields (engine/ops OPS), every ioctl and its arguments (IOCTLS),
// the builders and their parameters, the errno names and the fault codes and
// names `expect` takes. The platform part mirrors engine/types.ts's
// HostSpec/IommuSpec/DeviceSpec/VmSpec/MemorySpec (test/authoring.test.ts
// checks it names the same fields). The schema is a help for editors; the
// validator (engine/validate.ts) stays the judge: it also checks names
// against the platform, $refs against the steps that bind them, and limits.
import { BUILDERS, BUILDER_PARAMS } from './builders/index.js';
import { faultNames, faultCodes } from './expect.js';
import type { FieldSpec } from './op.js';
import { IOCTLS, OPS } from './ops/index.js';
import { STEP_CONTROL } from './scenario.js';
import { ERRNOS } from './types.js';

type Schema = Record<string, unknown>;

const INT_TEXT = '^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$';
const integer = (description: string): Schema => ({
  description,
  anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: INT_TEXT }, { type: 'string', pattern: '^\\$[A-Za-z_][A-Za-z0-9_-]*$', description: 'a name an earlier step bound with "as"' }],
});

/** One field's schema from its FieldSpec. */
export function fieldSchema(spec: FieldSpec): Schema {
  if (Array.isArray(spec)) return { enum: [...spec] };
  const type = (spec as string).replace(/\?$/, '');
  switch (type) {
    case 'int': return { $ref: '#/definitions/int' };
    case 'u64': return { $ref: '#/definitions/u64' };
    case 's32': return { type: 'integer', minimum: -(2 ** 31), maximum: 2 ** 31 - 1, description: 'a 32-bit signed integer (__s32)' };
    case 'str': return { type: 'string' };
    case 'bool': return { type: 'boolean' };
    case 'args': return { type: 'object' };
    case 'list': return { type: 'array' };
    case 'rid': return { $ref: '#/definitions/rid' };
    case 'vm': return { type: 'string', description: 'a VM of the platform' };
    case 'iommu': return { type: 'string', description: 'an IOMMU of the platform' };
    case 'host': return { type: 'string', description: 'a host of the platform' };
    default: return {};
  }
}

const optional = (spec: FieldSpec): boolean => typeof spec === 'string' && spec.endsWith('?');

function fieldsSchema(fields: Record<string, FieldSpec>, extra: Record<string, Schema> = {}): Schema {
  const properties: Record<string, Schema> = { ...extra };
  for (const [name, spec] of Object.entries(fields)) properties[name] = fieldSchema(spec);
  const required = Object.entries(fields).filter(([, s]) => !optional(s)).map(([n]) => n);
  return { properties, ...(required.length ? { required } : {}) };
}

const obj = (properties: Record<string, Schema>, required: string[] = []): Schema =>
  ({ type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false });
const bool = { type: 'boolean' };
const int = { type: 'integer', minimum: 0 };
const str = { type: 'string' };

/** The platform: the machine before step 0 (engine/types.ts Platform). */
export const PLATFORM_SCHEMA: Schema = obj({
  hosts: { type: 'array', items: obj({ id: str, capacity: int, systemQuota: int, minPasid: int, allowUnsafeInterrupts: bool }, ['id']) },
  iommus: { type: 'array', items: obj({ id: str, host: str, kind: { enum: ['vtd', 'smmuv3'] }, snoopControl: bool, nesting: bool, dirtyTracking: bool, pasidBits: { type: 'integer', minimum: 0, maximum: 20 }, msiIsolation: bool }, ['id', 'kind']) },
  devices: {
    type: 'array',
    items: obj({
      rid: fieldSchema('rid'), iommu: str, type: { enum: ['pf', 'vf', 'siov'] }, parent: fieldSchema('rid'), ats: bool, pri: bool,
      pasidCap: { anyOf: [{ type: 'null' }, obj({ offset: { type: 'integer', minimum: 0x100, maximum: 0xffc }, width: { type: 'integer', minimum: 1, maximum: 20 } }, ['offset', 'width'])] },
      configFree: { type: 'array', items: int, minItems: 2, maxItems: 2 },
      wqs: { type: 'array', items: obj({ id: str, mode: { enum: ['dedicated', 'shared'] } }, ['id', 'mode']) },
      noSnoop: bool,
    }, ['rid', 'iommu']),
  },
  vms: { type: 'array', items: obj({ id: str, host: str, vcpus: { type: 'integer', minimum: 1 } }, ['id']) },
  memory: { type: 'array', items: obj({ owner: str, base: int, size: int }, ['owner', 'base', 'size']) },
}, ['iommus', 'devices']);

/** `expect`: "ok", an errno, a fault code or name; {errno|fault, out}; or {by: axis, value: expect, ...}. */
function expectSchema(): Schema {
  const result = {
    anyOf: [
      { enum: ['ok', ...ERRNOS], description: 'success, or the errno the step must fail with' },
      { type: 'string', pattern: '^0x[0-9a-fA-F]+$', description: `a fault reason code: ${faultCodes().map((c) => `0x${c.toString(16)}`).join(', ')}` },
      { enum: faultNames(), description: 'a fault by name' },
    ],
  };
  return {
    anyOf: [
      result,
      obj({ errno: { enum: ['ok', ...ERRNOS] }, fault: { type: 'string' }, out: { type: 'object', description: 'output fields the step must return (integers by value)' } }),
      {
        type: 'object', required: ['by'], description: 'an expectation per value of a variant axis; a value left out expects nothing',
        properties: { by: { type: 'string', description: 'a variant axis of this scenario' } },
        additionalProperties: { $ref: '#/definitions/expect' },
      },
    ],
  };
}

function stepSchema(): Schema {
  const control: Record<string, Schema> = {
    op: { enum: Object.keys(OPS), description: 'what the step does (docs/scenarios.md lists every op)' },
    when: { type: 'object', description: 'run only under these variant values', additionalProperties: { anyOf: [str, { type: 'array', items: str }] } },
    as: { type: 'string', description: 'bind the step\'s result to a name, used later as "$name"' },
    expect: { $ref: '#/definitions/expect' },
    note: str,
    source: { type: 'string', description: 'the kernel function that decides the outcome' },
  };
  for (const k of STEP_CONTROL) if (!control[k]) control[k] = {};
  const branches: Schema[] = [];
  for (const [name, op] of Object.entries(OPS)) {
    const fields = fieldsSchema(op.fields, control);
    const then: Schema = { ...fields, additionalProperties: false, description: op.doc };
    if (name === 'ioctl') {
      // Each ioctl's arguments, chosen by cmd.
      const byCmd = Object.entries(IOCTLS).map(([cmd, spec]) => ({
        if: { properties: { cmd: { const: cmd } }, required: ['cmd'] },
        then: { properties: { args: { type: 'object', ...fieldsSchema(spec.args), additionalProperties: true } } },
      }));
      Object.assign(then, { allOf: byCmd });
    }
    branches.push({ if: { properties: { op: { const: name } }, required: ['op'] }, then });
  }
  return { type: 'object', required: ['op'], properties: { op: control.op }, allOf: branches };
}

/** The whole schema. */
export function scenarioSchema(): Schema {
  const builders = Object.keys(BUILDERS);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://iotrace.invalid/scenario.schema.json',
    title: 'iotrace scenario',
    description: 'A scenario for iotrace (docs/scenarios.md). Generated by `iotrace schema` from the validator\'s tables.',
    type: 'object',
    required: ['name', 'description', 'platform'],
    properties: {
      $schema: str,
      name: str,
      description: str,
      seed: { type: 'string', description: 'the seed thread the scenario comes from, e.g. "000"' },
      source: str,
      variants: { type: 'object', description: 'axis -> value -> one line of meaning; the first value is the default', additionalProperties: { type: 'object', additionalProperties: str, minProperties: 1 } },
      platform: { $ref: '#/definitions/platform' },
      steps: { type: 'array', items: { $ref: '#/definitions/step' } },
      threads: { type: 'object', description: 'thread name -> steps (docs/scenarios.md, Threads)', additionalProperties: { type: 'array', items: { $ref: '#/definitions/step' } } },
      generate: {
        type: 'object', required: ['builder', 'params'],
        properties: { builder: { enum: builders }, params: { type: 'object', properties: Object.fromEntries(builders.flatMap((b) => Object.entries(BUILDER_PARAMS[b] ?? {}).map(([p, s]) => [p, { type: 'integer', minimum: s.min, maximum: s.max, description: s.doc }]))) } },
      },
    },
    definitions: {
      platform: PLATFORM_SCHEMA, step: stepSchema(), expect: expectSchema(),
      int: integer('a non-negative integer up to 2^53-1: a number, a decimal or 0x-hex string, or "$name"'),
      u64: integer('a 64-bit unsigned integer: a number, a decimal or 0x-hex string up to 0xffffffffffffffff, or "$name"'),
      rid: { type: 'string', minLength: 1, description: 'a device of the platform: its requester id, bus:dev.fn (00:02.0), or the name of a mediated device' },
    },
  };
}
