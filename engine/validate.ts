// Scenario validation, before anything runs: every problem is reported with
// the step index and the JSON path of the field, so a hand-written file can
// be fixed without guessing.
import { u64, type FieldSpec } from './op.js';
import { expectProblem } from './expect.js';
import { ABI_FIELDS, IOMMUFD_ABI } from './iommufd/abi.js';
import type { ArgValue } from './types.js';
import { IOCTLS, OPS } from './ops/index.js';
import { own } from './own.js';
import { BUILDER_PARAMS, BUILDERS } from './builders/index.js';
import { MAX_PT_MAP_PAGES } from './limits.js';
import { ptPages } from './memory.js';
import { KVM_MAX_VCPUS, MAX_PLATFORM_CELLS, PASID_MAX } from './platform.js';
import { STEP_CONTROL, type Scenario, type Variants } from './scenario.js';
import { closest } from './suggest.js';
import { compareKeys } from './state.js';
import { MAX_THREADS, THREAD_NAME } from './threads.js';

export interface Problem {
  step: number | null;
  path: string;
  message: string;
  /** Where the value the path names starts in the file's text (scenarios/index.ts parseScenario adds it). */
  line?: number;
  column?: number;
}

/**
 * Text from a file made fit for a one-line message: control characters (a
 * newline in a key, an escape sequence) written as \xNN or \uNNNN, and cut
 * at `max` characters.
 */
function oneLine(t: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const e = t.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
  return e.length > max ? `${e.slice(0, max - 3)}...` : e;
}

/** Problems a ScenarioError's message lists (all of them stay in `problems`). */
export const MAX_PROBLEMS_SHOWN = 8;

/**
 * A scenario that cannot run. `source` is the file (or built-in name) it came
 * from. The message is one line: the file, then each problem (its step, its
 * field, what is wrong) separated by "; ", the first MAX_PROBLEMS_SHOWN of them.
 */
export class ScenarioError extends Error {
  constructor(readonly source: string, readonly problems: Problem[]) {
    const at = (p: Problem): string => (p.line !== undefined ? ` (line ${p.line}, column ${p.column ?? 1})` : '');
    const text = (p: Problem): string => `${p.step === null ? '' : `step ${p.step}: `}${oneLine(p.path, 160)}: ${oneLine(p.message, Infinity)}${at(p)}`;
    const more = problems.length - MAX_PROBLEMS_SHOWN;
    super(`${oneLine(source, 400)}: ${problems.slice(0, MAX_PROBLEMS_SHOWN).map(text).join('; ')}${more > 0 ? `; and ${more} more problem(s)` : ''}`);
    this.name = 'ScenarioError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
// JSON.stringify turns Infinity and NaN (which a trace's msgpack can carry) into null.
// Long values are cut: a message quotes the file, it does not repeat it.
const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const text = JSON.stringify(v) ?? typeof v;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Keys that are data in JSON but a prototype in JavaScript: refused wherever a name from input becomes a key. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Where a step runs: for each axis its `when` names, the values it allows
 * (an axis it does not name allows every value).
 */
type Box = Map<string, ReadonlySet<string>>;

interface Names {
  rid: Set<string>; vm: Set<string>; iommu: Set<string>; host: Set<string>;
  /** Each name an `as` bound so far, with the steps that bind it and where they run. */
  refs: Map<string, { step: number; box: Box }[]>;
  /** Where the step being checked runs. */
  here: Box;
  /** The scenario's axes and their values. */
  axes: Map<string, string[]>;
  /** Variant combinations the reference check may still enumerate (a bound on its cost). */
  budget: number;
}

/** Combinations the `$ref` check enumerates in all, for one scenario. */
const REF_CHECK_BUDGET = 1 << 20;

const boxText = (box: Box | Record<string, string>): string => {
  const entries = box instanceof Map ? [...box].map(([a, v]) => `${a}=${[...v].join('|')}`) : Object.keys(box).map((a) => `${a}=${box[a]}`);
  return entries.length === 0 ? 'under every variant' : `when ${entries.join(', ')}`;
};

/**
 * A variant (over the axes the binders name) under which the step `use`
 * runs but none of `binders` does, or null when there is none; 'unknown'
 * when the check ran out of budget.
 */
function unbound(use: Box, binders: Box[], names: Names): Record<string, string> | null | 'unknown' {
  const allows = (b: Box, axis: string, value: string): boolean => b.get(axis)?.has(value) ?? true;
  // The usual case: one binder runs wherever this step does.
  const contains = (b: Box): boolean => [...b].every(([axis, vals]) => [...(use.get(axis) ?? names.axes.get(axis) ?? [])].every((v) => vals.has(v)));
  if (binders.some(contains)) return null;
  const axes = [...new Set(binders.flatMap((b) => [...b.keys()]))].sort();
  const choices = axes.map((a) => [...(use.get(a) ?? names.axes.get(a) ?? [])]);
  let count = 1;
  for (const c of choices) count *= c.length;
  if (count * binders.length > names.budget) return 'unknown';
  names.budget -= count * binders.length;
  const at = axes.map(() => 0);
  for (let n = 0; n < count; n++) {
    const variant: Record<string, string> = {};
    axes.forEach((a, i) => { variant[a] = choices[i]?.[at[i] ?? 0] ?? ''; });
    if (!binders.some((b) => axes.every((a) => allows(b, a, variant[a] ?? '')))) return variant;
    for (let i = axes.length - 1; i >= 0; i--) {
      at[i] = (at[i] ?? 0) + 1;
      if ((at[i] ?? 0) < (choices[i]?.length ?? 0)) break;
      at[i] = 0;
    }
  }
  return null;
}

function refProblem(value: string, names: Names): string | null {
  const binders = names.refs.get(value.slice(1));
  if (!binders) return `"${value}" is not bound by an earlier step's "as"`;
  const gap = unbound(names.here, binders.map((b) => b.box), names);
  if (gap === null) return null;
  const by = binders.map((b) => `step ${b.step} binds it ${boxText(b.box)}`).join('; ');
  if (gap === 'unknown') return `"${value}" may be unbound under some variant (${by}; too many combinations to check): bind it in a step that runs wherever this one does`;
  return `"${value}" is bound only under another variant (${by}), but this step also runs ${boxText(gap)}, where nothing binds it`;
}

/**
 * What to say after an unknown word: "(did you mean X?)" when a known word is
 * close to it (the whole list too when it is short), else "(known: ...)".
 */
export function knownWords(word: unknown, known: readonly string[]): string {
  const close = typeof word === 'string' ? closest(word, known) : [];
  const mean = close.length ? `did you mean ${close.join(' or ')}?` : '';
  if (mean && known.length > 8) return `(${mean})`;
  return `(${mean ? `${mean}; ` : ''}known: ${known.join(', ') || 'none'})`;
}

function checkField(spec: FieldSpec, value: unknown, names: Names): string | null {
  if (Array.isArray(spec)) {
    if (typeof value === 'string' && spec.includes(value)) return null;
    const close = typeof value === 'string' ? closest(value, spec) : [];
    return close.length && spec.length > 8 ? `expected one of ${spec.length} names, got ${show(value)} (did you mean ${close.join(' or ')}?)` : `expected one of ${spec.join(', ')}, got ${show(value)}${close.length ? ` (did you mean ${close.join(' or ')}?)` : ''}`;
  }
  const type = (spec as string).replace(/\?$/, '');
  if (typeof value === 'string' && value.startsWith('$')) {
    if (type !== 'int' && type !== 'u64') return `a "$ref" stands only where an integer is expected, got ${show(value)}`;
    return refProblem(value, names);
  }
  // A negative number gets its own words: the ranges below say "non-negative", this says why it failed.
  const negative = (typeof value === 'number' && value < 0) || (typeof value === 'string' && /^\s*-/.test(value));
  if (negative && (type === 'int' || type === 'u64')) return `${show(value)} is negative: expected a non-negative integer${type === 'int' ? ' up to 2^53-1' : ' up to 2^64-1'}`;
  switch (type) {
    case 'int': { const n = u64(value as ArgValue); return n !== undefined && n <= MAX_SAFE ? null : `expected a non-negative integer up to 2^53-1 (a number, or a string of decimal or 0x-hex digits) or "$ref", got ${show(value)}`; }
    case 'u64': return u64(value as ArgValue) !== undefined ? null : `expected a 64-bit unsigned integer (a number, or a string of decimal or 0x-hex digits up to 0xffffffffffffffff) or "$ref", got ${show(value)}`;
    case 's32': return Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31 ? null : `expected a 32-bit signed integer (-2147483648..2147483647, a JSON number), got ${show(value)}`;
    case 'str': return typeof value === 'string' ? null : `expected a string, got ${show(value)}`;
    case 'bool': return typeof value === 'boolean' ? null : `expected true or false, got ${show(value)}`;
    case 'args': return isObj(value) ? null : `expected an object, got ${show(value)}`;
    case 'list': return Array.isArray(value) ? null : `expected an array, got ${show(value)}`;
    case 'rid': case 'vm': case 'iommu': case 'host': {
      if (typeof value !== 'string') return `expected a ${type} name, got ${show(value)}`;
      const known = names[type];
      return known.has(value) ? null : `no ${type === 'rid' ? 'device' : type} ${show(value)} in the platform ${knownWords(value, [...known])}`;
    }
    default: return `unknown field type ${type}`;
  }
}

function checkFields(specs: Record<string, FieldSpec>, obj: Record<string, unknown>, base: string, names: Names, out: (path: string, msg: string) => void, skip: ReadonlySet<string>): void {
  for (const [name, spec] of Object.entries(specs)) {
    const optional = typeof spec === 'string' && spec.endsWith('?');
    const value = obj[name];
    if (value === undefined || value === null) {
      if (!optional) out(`${base}${name}`, 'missing');
      continue;
    }
    const problem = checkField(spec, value, names);
    if (problem) out(`${base}${name}`, problem);
  }
  for (const name of Object.keys(obj)) {
    if (skip.has(name)) continue;
    if (FORBIDDEN_KEYS.has(name)) out(`${base}${name}`, 'reserved key');
    else if (!Object.hasOwn(specs, name)) out(`${base}${name}`, `unknown field ${knownWords(name, [...skip, ...Object.keys(specs)])}`);
  }
}

function checkPlatform(p: unknown, out: (path: string, msg: string) => void): Names {
  const names: Names = { rid: new Set(), vm: new Set(), iommu: new Set(), host: new Set(), refs: new Map(), here: new Map(), axes: new Map(), budget: REF_CHECK_BUDGET };
  if (!isObj(p)) { out('platform', 'expected an object with iommus and devices'); return names; }
  const list = (key: string, idKey: string, set: Set<string>, required: boolean): Record<string, unknown>[] => {
    const v = p[key];
    if (v === undefined && !required) return [];
    if (!Array.isArray(v)) { out(`platform.${key}`, 'expected an array'); return []; }
    return v.flatMap((item, i) => {
      if (!isObj(item) || typeof item[idKey] !== 'string') { out(`platform.${key}[${i}].${idKey}`, 'expected a string'); return []; }
      const id = item[idKey] as string;
      if (FORBIDDEN_KEYS.has(id)) out(`platform.${key}[${i}].${idKey}`, 'reserved name');
      if (set.has(id)) out(`platform.${key}[${i}].${idKey}`, `duplicate ${show(id)}`);
      set.add(id);
      return [item];
    });
  };
  // Scalar fields by spec; the ones with their own check below are listed in the skip set.
  const entry = (key: string, i: number, item: Record<string, unknown>, specs: Record<string, FieldSpec>, own: string[]): void =>
    checkFields(specs, item, `platform.${key}[${i}].`, names, out, new Set(own));
  const onlyKnown = (obj: Record<string, unknown>, base: string, known: string[]): void => checkFields({}, obj, base, names, out, new Set(known));
  const intIn = (path: string, v: unknown, lo: number, hi: number): void => {
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= lo && (v as number) <= hi)) out(path, `expected an integer ${lo}..${hi}, got ${show(v)}`);
  };
  for (const [i, h] of list('hosts', 'id', names.host, false).entries()) {
    entry('hosts', i, h, { systemQuota: 'int?', minPasid: 'int?', allowUnsafeInterrupts: 'bool?' }, ['id', 'capacity']);
    intIn(`platform.hosts[${i}].capacity`, h.capacity, 1, PASID_MAX);
  }
  if (names.host.size === 0) names.host.add('host0');
  for (const [i, m] of list('iommus', 'id', names.iommu, true).entries()) {
    entry('iommus', i, m, { snoopControl: 'bool?', nesting: 'bool?', dirtyTracking: 'bool?', msiIsolation: 'bool?' }, ['id', 'kind', 'host', 'pasidBits']);
    intIn(`platform.iommus[${i}].pasidBits`, m.pasidBits, 0, 20);
    if (m.kind !== 'vtd' && m.kind !== 'smmuv3') out(`platform.iommus[${i}].kind`, `expected "vtd" or "smmuv3", got ${show(m.kind)}`);
    if (m.host !== undefined && !names.host.has(m.host as string)) out(`platform.iommus[${i}].host`, `no host ${show(m.host)}`);
  }
  for (const [i, d] of list('devices', 'rid', names.rid, true).entries()) {
    entry('devices', i, d, { parent: 'str?', ats: 'bool?', pri: 'bool?', noSnoop: 'bool?' }, ['rid', 'iommu', 'type', 'pasidCap', 'configFree', 'wqs']);
    if (!names.iommu.has(d.iommu as string)) out(`platform.devices[${i}].iommu`, `no iommu ${show(d.iommu)}`);
    if (d.type !== undefined && d.type !== 'pf' && d.type !== 'vf' && d.type !== 'siov') out(`platform.devices[${i}].type`, `expected "pf", "vf" or "siov", got ${show(d.type)}`);
    // PRI is refused where the kernel would not read it, so that the flag means one thing to every check: a VF's
    // PRI is its PF's (pci_pri_supported(), drivers/pci/ats.c: "VFs share the PF PRI"), an mdev / SIOV device is
    // no PCI function, and PRI without ATS is no PCIe function either (PRI is part of ATS; VT-d enables it only
    // with ATS, intel_iommu_probe_device()).
    if (d.pri === true && d.type === 'vf') out(`platform.devices[${i}].pri`, 'a VF shares its PF\'s PRI capability (pci_pri_supported()): set pri on its parent');
    else if (d.pri === true && d.type === 'siov') out(`platform.devices[${i}].pri`, 'a SIOV / mdev device is not a PCI function: set pri on its parent');
    else if (d.pri === true && d.ats !== true) out(`platform.devices[${i}].pri`, 'PRI needs ATS: set ats too (a page request asks for a translation the device then fetches with ATS)');
    // PCIe extended config space is 4 KiB; the PASID capability's width is at most 20 bits.
    if (d.pasidCap !== undefined && d.pasidCap !== null) {
      const c = d.pasidCap;
      if (!isObj(c)) out(`platform.devices[${i}].pasidCap`, 'expected {offset, width} or null');
      else { onlyKnown(c, `platform.devices[${i}].pasidCap.`, ['offset', 'width']); intIn(`platform.devices[${i}].pasidCap.offset`, c.offset ?? null, 0x100, 0xffc); intIn(`platform.devices[${i}].pasidCap.width`, c.width ?? null, 1, 20); }
    }
    if (d.configFree !== undefined) {
      const f = d.configFree;
      if (!Array.isArray(f) || f.length !== 2 || !f.every((x) => Number.isSafeInteger(x) && x >= 0x100 && x <= 0x1000) || f[0] > f[1]) out(`platform.devices[${i}].configFree`, 'expected [start, end] within 0x100..0x1000');
    }
    if (d.wqs !== undefined && !Array.isArray(d.wqs)) out(`platform.devices[${i}].wqs`, 'expected an array');
    for (const [j, wq] of (Array.isArray(d.wqs) ? d.wqs : []).entries()) {
      if (!isObj(wq) || typeof wq.id !== 'string' || (wq.mode !== 'dedicated' && wq.mode !== 'shared')) out(`platform.devices[${i}].wqs[${j}]`, 'expected {id, mode: "dedicated" | "shared"}');
      else onlyKnown(wq, `platform.devices[${i}].wqs[${j}].`, ['id', 'mode']);
    }
  }
  for (const [i, vm] of list('vms', 'id', names.vm, false).entries()) {
    entry('vms', i, vm, {}, ['id', 'host', 'vcpus']);
    if (vm.host !== undefined && !names.host.has(vm.host as string)) out(`platform.vms[${i}].host`, `no host ${show(vm.host)}`);
    intIn(`platform.vms[${i}].vcpus`, vm.vcpus, 1, KVM_MAX_VCPUS);
  }
  // What platformCells() will install, bounded: a forged trace can list a quarter of a million VMs.
  const lengthOf = (v: unknown): number => (Array.isArray(v) ? v.length : 0);
  const devices = Array.isArray(p.devices) ? p.devices : [];
  const vms = Array.isArray(p.vms) ? p.vms : [];
  const cells = 2 * Math.max(1, lengthOf(p.hosts)) + lengthOf(p.iommus) + devices.length + lengthOf(p.memory)
    + devices.reduce((n: number, d) => n + (isObj(d) ? lengthOf(d.wqs) : 0), 0)
    + vms.reduce((n: number, vm) => n + 1 + (isObj(vm) && Number.isSafeInteger(vm.vcpus) ? (vm.vcpus as number) : 1), 0);
  if (cells > MAX_PLATFORM_CELLS) out('platform', `describes ${cells} cells (hosts, IOMMUs, devices, work queues, VMs, vCPUs, memory), more than ${MAX_PLATFORM_CELLS}`);
  if (p.memory !== undefined) {
    if (!Array.isArray(p.memory)) out('platform.memory', 'expected an array');
    else {
      const owners = new Set<string>();
      p.memory.forEach((m, i) => {
        if (!isObj(m) || typeof m.owner !== 'string' || !Number.isSafeInteger(m.base) || !Number.isSafeInteger(m.size)) out(`platform.memory[${i}]`, 'expected {owner, base, size}');
        else if (owners.has(m.owner) || FORBIDDEN_KEYS.has(m.owner)) out(`platform.memory[${i}].owner`, `one region per owner: ${show(m.owner)} again`);
        else { owners.add(m.owner); onlyKnown(m, `platform.memory[${i}].`, ['owner', 'base', 'size']); }
      });
    }
  }
  return names;
}

/**
 * What is wrong with a platform description, as "path: message" lines. The
 * trace reader checks a decoded platform event with it: apply() trusts the
 * platform it installs (a forged vcpus of Infinity would loop forever).
 */
export function platformProblems(p: unknown): string[] {
  const out: string[] = [];
  checkPlatform(p, (path, message) => out.push(`${path}: ${message}`));
  return out;
}

/** Deepest nesting a scenario may have: its trace header must stay within the reader's msgpack depth bound. */
export const MAX_SCENARIO_DEPTH = 32;

/**
 * Reserved keys (`__proto__`, `constructor`, `prototype`) anywhere in the
 * document, numbers JSON.parse reads as Infinity (`1e999`, a 400-digit
 * integer), and nesting beyond MAX_SCENARIO_DEPTH. Each would be written
 * into the trace header, which every reader then refuses (JSON.parse makes
 * "__proto__" an own key; the readers refuse a non-finite float in any block).
 */
function checkKeys(v: unknown, path: string, step: number | null, depth: number, problems: Problem[]): void {
  if (typeof v === 'number' && !Number.isFinite(v)) { problems.push({ step, path: path || '(document)', message: 'a number too large for a double (JSON reads it as Infinity), which no trace can hold' }); return; }
  if (v === null || typeof v !== 'object') return;
  if (depth > MAX_SCENARIO_DEPTH) { problems.push({ step, path: path || '(document)', message: `nested deeper than ${MAX_SCENARIO_DEPTH} levels` }); return; }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkKeys(x, `${path}[${i}]`, path === 'steps' ? i : step, depth + 1, problems));
    return;
  }
  for (const key of Object.keys(v)) {
    const sub = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) problems.push({ step, path: sub, message: 'reserved key' });
    else checkKeys((v as Record<string, unknown>)[key], sub, step, depth + 1, problems);
  }
}

/** Canonical array-index spelling: the keys JavaScript orders before all others. */
const INTEGER_LIKE = /^(0|[1-9][0-9]*)$/;

/** Where a step with this `when` runs (only known axes and values: the rest is reported elsewhere). */
function whereRuns(when: unknown, names: Names): Box {
  const box: Box = new Map();
  if (!isObj(when)) return box;
  for (const axis of Object.keys(when)) {
    const values = names.axes.get(axis);
    if (!values) continue;
    const want = when[axis];
    box.set(axis, new Set((Array.isArray(want) ? want : [want]).filter((w): w is string => typeof w === 'string' && values.includes(w))));
  }
  return box;
}

/** Check a parsed scenario document; throws ScenarioError listing every problem. */
export function validateScenario(doc: unknown, source: string): Scenario {
  const problems: Problem[] = [];
  const top = (path: string, message: string) => problems.push({ step: null, path, message });
  if (!isObj(doc)) throw new ScenarioError(source, [{ step: null, path: '(document)', message: 'expected a JSON object' }]);
  checkKeys(doc, '', null, 0, problems);
  if (typeof doc.name !== 'string' || doc.name === '') top('name', 'expected a non-empty string');
  if (typeof doc.description !== 'string') top('description', 'expected a string');
  if (doc.source !== undefined && typeof doc.source !== 'string') top('source', 'expected a string naming the selftest or kernel function');
  const variants = doc.variants ?? {};
  if (!isObj(variants)) top('variants', 'expected an object: axis -> value -> meaning');
  else for (const [axis, values] of Object.entries(variants)) {
    if (!isObj(values) || Object.keys(values).length === 0) { top(`variants.${axis}`, 'expected an object: value -> one line of meaning'); continue; }
    // JavaScript lists integer-like keys first, in numeric order, whatever their place in the file:
    // the default (the first value listed) would silently become another one.
    for (const value of Object.keys(values)) {
      if (INTEGER_LIKE.test(value) && Number(value) < 2 ** 32 - 1) top(`variants.${axis}.${value}`, `a value named like an integer ("${value}") is refused: JavaScript puts such keys first, so the default (the first value listed) would silently change; give it a name that is not a bare number (e.g. "${value}k", "x${value}")`);
    }
  }
  const names = checkPlatform(doc.platform, top);
  if (isObj(variants)) for (const [axis, values] of Object.entries(variants)) if (isObj(values)) names.axes.set(axis, Object.keys(values));
  if (doc.generate !== undefined) {
    if (!isObj(doc.generate) || typeof doc.generate.builder !== 'string' || !isObj(doc.generate.params)) top('generate', 'expected {builder, params}');
    else if (!own(BUILDERS, doc.generate.builder)) top('generate.builder', `unknown builder ${show(doc.generate.builder)} ${knownWords(doc.generate.builder, Object.keys(BUILDERS))}`);
    else {
      const specs = own(BUILDER_PARAMS, doc.generate.builder) ?? {};
      const params = doc.generate.params;
      for (const name of Object.keys(params)) {
        const spec = own(specs, name);
        const v = params[name];
        if (!spec) top(`generate.params.${name}`, `unknown parameter ${knownWords(name, Object.keys(specs))}`);
        else if (!(Number.isSafeInteger(v) && (v as number) >= spec.min && (v as number) <= spec.max)) top(`generate.params.${name}`, `expected an integer ${spec.min}..${spec.max} (${spec.doc}), got ${show(v)}`);
      }
    }
  }
  if (!Array.isArray(doc.steps)) top('steps', 'expected an array');
  const steps = Array.isArray(doc.steps) ? doc.steps : [];
  const checkStep = (step: unknown, i: number, at: string): void => {
    const out = (path: string, message: string) => problems.push({ step: i, path: `${at}.${path}`, message });
    if (!isObj(step)) { out('', 'expected an object'); return; }
    const op = typeof step.op === 'string' ? own(OPS, step.op) : undefined;
    if (!op) { out('op', `unknown op ${show(step.op)} ${knownWords(step.op, Object.keys(OPS))}`); return; }
    names.here = whereRuns(step.when, names);
    if (step.when !== undefined) {
      if (!isObj(step.when)) out('when', 'expected an object: axis -> value');
      else for (const [axis, want] of Object.entries(step.when)) {
        const values = isObj(variants) && isObj(own(variants, axis)) ? Object.keys(variants[axis] as object) : null;
        if (!values) { out(`when.${axis}`, `unknown variant axis ${show(axis)} ${knownWords(axis, isObj(variants) ? Object.keys(variants) : [])}`); continue; }
        for (const w of Array.isArray(want) ? want : [want]) {
          if (typeof w !== 'string' || !values.includes(w)) out(`when.${axis}`, `unknown value ${show(w)} (axis ${axis} has ${values.join(', ')})${typeof w === 'string' && closest(w, values).length ? ` (did you mean ${closest(w, values).join(' or ')}?)` : ''}`);
        }
      }
    }
    if (step.as !== undefined && typeof step.as !== 'string') out('as', 'expected a name');
    if (step.expect !== undefined) { const bad = expectProblem(step.expect, isObj(variants) ? (variants as Variants) : {}); if (bad) out('expect', bad); }
    if (step.note !== undefined && typeof step.note !== 'string') out('note', 'expected a string');
    if (step.source !== undefined && typeof step.source !== 'string') out('source', 'expected a string naming the kernel function');
    checkFields(op.fields, step, '', names, out, STEP_CONTROL);
    // `ioctl` names its command; `ioctl-nr` gives an iommufd number (an unknown one is ENOTTY at run time, not a file error).
    const cmd = step.op === 'ioctl' && typeof step.cmd === 'string' ? step.cmd
      : step.op === 'ioctl-nr' && typeof step.nr === 'number' ? Object.entries(IOCTLS).find(([, x]) => x.file === 'iommufd' && x.nr === step.nr)?.[0] : undefined;
    const ioctl = cmd === undefined ? undefined : own(IOCTLS, cmd);
    if (ioctl && cmd !== undefined) {
      const a = step.args ?? {};
      // An iommufd struct starts with its size (engine/iommufd/abi.ts): `size` and `tail` are accepted on each ioctl of
      // the IOCTL_OP table, not on the VFIO compat ioctls (no iommufd size header: VFIO's structs start with argsz).
      const sized = ioctl.file === 'iommufd' && own(IOMMUFD_ABI, cmd) !== undefined;
      if (isObj(a)) checkFields(sized ? { ...ioctl.args, ...ABI_FIELDS } : ioctl.args, a, 'args.', names, out, new Set());
    }
    if (step.op === 'pt-map' && step.size !== undefined && step.size !== null && !(typeof step.size === 'string' && step.size.startsWith('$'))) {
      const size = u64(step.size as ArgValue);
      if (size !== undefined && size <= MAX_SAFE && ptPages(Number(size)) > MAX_PT_MAP_PAGES) out('size', `maps ${ptPages(Number(size))} pages, more than the ${MAX_PT_MAP_PAGES} (256 MiB of 4 KiB pages) one pt-map step may write; split it into several steps`);
    }
    if (typeof step.as === 'string' && !threaded) {
      const list = names.refs.get(step.as) ?? [];
      list.push({ step: i, box: names.here });
      names.refs.set(step.as, list);
    }
  };
  let threaded = false;
  steps.forEach((step: unknown, i: number) => checkStep(step, i, `steps[${i}]`));
  // Threads (engine/threads.ts): each a list of steps, numbered after the set-up thread by thread in name
  // order. A `$ref` may name a result of any thread: a step waits until it is bound in its schedule.
  if (doc.threads !== undefined) {
    if (!isObj(doc.threads)) top('threads', 'expected an object: thread name -> steps');
    else {
      const tnames = Object.keys(doc.threads).sort(compareKeys);
      if (tnames.length === 0) top('threads', 'expected at least one thread');
      if (tnames.length > MAX_THREADS) top('threads', `${tnames.length} threads, more than ${MAX_THREADS}`);
      if (doc.generate !== undefined) top('threads', 'a generated scenario cannot have threads');
      let index = steps.length;
      for (const t of tnames) {
        const list = doc.threads[t];
        if (!THREAD_NAME.test(t)) top(`threads.${t}`, 'a thread name is a letter, then letters, digits, "-" or "_" (at most 32): --schedule lists them separated by commas');
        if (!Array.isArray(list)) { top(`threads.${t}`, 'expected an array of steps'); continue; }
        list.forEach((step: unknown, j: number) => {
          if (isObj(step) && typeof step.as === 'string') {
            const binders = names.refs.get(step.as) ?? [];
            binders.push({ step: index + j, box: whereRuns(step.when, names) });
            names.refs.set(step.as, binders);
          }
        });
        index += list.length;
      }
      threaded = true;
      index = steps.length;
      for (const t of tnames) {
        const list = doc.threads[t];
        if (!Array.isArray(list)) continue;
        list.forEach((step: unknown, j: number) => checkStep(step, index + j, `threads.${t}[${j}]`));
        index += list.length;
      }
    }
  }
  if (problems.length > 0) {
    // The key walk and the field checks may both name one reserved key.
    const seen = new Set<string>();
    throw new ScenarioError(source, problems.filter((p) => { const id = `${p.step}\0${p.path}\0${p.message}`; return !seen.has(id) && seen.add(id); }));
  }
  return doc as unknown as Scenario;
}
