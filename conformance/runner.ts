// The conformance runner: every scenario file under a folder is a case whose
// steps carry `expect`; a case passes when every expectation is met and the
// model breaks none of its invariants. `iotrace conformance` prints it and
// `npm test` runs it over the built-in cases (this folder).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from '../engine/run.js';
import { resolveExpect } from '../engine/expect.js';
import { combinationCount, combinations, stepApplies, type Scenario, type Variant } from '../engine/scenario.js';
import { ScenarioError } from '../engine/validate.js';
import { PACKAGE_DIR, parseScenario } from '../scenarios/index.js';

/** The built-in cases: the kernel's selftest, ported (docs/conformance.md). */
export const CONFORMANCE_DIR = join(PACKAGE_DIR, 'conformance');

/** Most variant combinations one case file may ask for (each is run). */
export const MAX_CASE_VARIANTS = 64;
/** Largest case file read. */
export const MAX_CASE_BYTES = 1 << 20;

export interface Unmet { step: number; op: string; expected: string; got: string; source: string | null; note: string | null }

export interface CaseResult {
  /** Path relative to the folder run, with the variant when the file has axes. */
  case: string;
  file: string;
  variant: Variant;
  source: string | null;
  status: 'pass' | 'fail' | 'invalid';
  /** Steps whose expectation was checked. */
  checked: number;
  unmet: Unmet[];
  violations: string[];
  /** Why the case is invalid. */
  message: string | null;
}

/**
 * Every *.json file under dir, in sorted path order. Each directory is walked
 * once (by device and inode): a symbolic link back up the tree is not a loop.
 */
export function caseFiles(dir: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (d: string): void => {
    const st = statSync(d);
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && name.endsWith('.json')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function stepLabel(scenario: Scenario, index: number): string {
  const step = scenario.steps[index];
  if (!step) return '?';
  return step.op === 'ioctl' && typeof step.cmd === 'string' ? step.cmd : step.op;
}

function runVariant(scenario: Scenario, file: string, name: string, variant: Variant): CaseResult {
  const result: CaseResult = { case: name, file, variant, source: scenario.source ?? null, status: 'pass', checked: 0, unmet: [], violations: [], message: null };
  result.checked = scenario.steps.filter((s) => resolveExpect(s.expect, variant) !== undefined && stepApplies(s, variant)).length;
  if (result.checked === 0) return { ...result, status: 'invalid', message: 'no step carries an expect: the case cannot fail' };
  for (const ev of run(scenario, { variant })) {
    if (ev.kind === 'expect') {
      const step = scenario.steps[ev.step];
      result.unmet.push({ step: ev.step, op: stepLabel(scenario, ev.step), expected: ev.expected, got: ev.actual, source: step?.source ?? null, note: step?.note ?? null });
    } else if (ev.kind === 'violation') {
      result.violations.push(`step ${ev.step}: ${ev.invariant}: ${ev.detail}`);
    }
  }
  if (result.unmet.length > 0 || result.violations.length > 0) result.status = 'fail';
  return result;
}

/** Run one case file: one result per variant combination (one when it has no axes). */
export function runCaseFile(path: string, root: string): CaseResult[] {
  const rel = relative(root, path) || path;
  const invalid = (message: string): CaseResult[] => [{ case: rel, file: path, variant: {}, source: null, status: 'invalid', checked: 0, unmet: [], violations: [], message }];
  let scenario: Scenario;
  try {
    if (statSync(path).size > MAX_CASE_BYTES) return invalid(`larger than ${MAX_CASE_BYTES} bytes`);
    scenario = parseScenario(readFileSync(path, 'utf8'), rel);
  } catch (e) {
    if (e instanceof ScenarioError) return invalid(e.message.split('\n').join('; '));
    return invalid((e as Error).message);
  }
  if (scenario.generate) return invalid('a generated scenario has no steps to check');
  const count = combinationCount(scenario);
  if (count > MAX_CASE_VARIANTS) return invalid(`${count} variant combinations, more than ${MAX_CASE_VARIANTS}`);
  const variants = combinations(scenario);
  const axes = Object.keys(scenario.variants ?? {}).length > 0;
  return variants.map((v) => {
    const name = axes ? `${rel} [${Object.keys(v).map((a) => `${a}=${v[a]}`).join(',')}]` : rel;
    try {
      return runVariant(scenario, path, name, v);
    } catch (e) {
      return { ...invalid((e as Error).message)[0]!, case: name, variant: v };
    }
  });
}

export function runConformance(dir: string): CaseResult[] {
  return caseFiles(dir).flatMap((f) => runCaseFile(f, dir));
}

export interface Summary { cases: number; pass: number; fail: number; invalid: number; checked: number }

export function summarizeResults(results: CaseResult[]): Summary {
  const s: Summary = { cases: results.length, pass: 0, fail: 0, invalid: 0, checked: 0 };
  for (const r of results) { s[r.status]++; s.checked += r.checked; }
  return s;
}
