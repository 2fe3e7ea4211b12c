// iotrace conformance: run a folder of scenario files whose steps carry
// `expect` (default: the built-in port of the kernel's iommufd selftest) and
// report each case: pass, fail (expected vs got) or invalid.
import { statSync } from 'node:fs';
import { CONFORMANCE_DIR, runConformance, summarizeResults, type CaseResult } from '../../conformance/runner.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { println } from '../../safe/stdout.js';
import { parse, UsageError } from '../common.js';

export const HELP = `usage: iotrace conformance [dir] [--json]

Runs every *.json scenario file under dir (default: the built-in cases,
the kernel's tools/testing/selftests/iommu/iommufd.c ported; see
docs/conformance.md). A case passes when every step's "expect" is met and no
invariant is violated; a file with variant axes is one case per combination.
Prints one line per case (pass / fail with expected-vs-got per unmet step /
invalid with the reason) and a summary line. --json prints
{cases: [...], summary: {cases, pass, fail, invalid, checked}}.

Exit 0 when every case passes, 1 when any fails or is invalid, 2 on bad usage.`;

/** A case's line(s); names, ops, messages and sources come from the case files, so each is escaped. */
function line(r: CaseResult): string {
  const e = escapeText;
  if (r.status === 'pass') return `pass     ${e(r.case)} (${r.checked} checked)`;
  if (r.status === 'invalid') return `invalid  ${e(r.case)}: ${e(r.message ?? '')}`;
  const why = [
    ...r.unmet.map((u) => `step ${u.step} ${e(String(u.op))}: expected ${e(String(u.expected))}, got ${e(String(u.got))}${u.source ? ` [${e(String(u.source))}]` : ''}`),
    ...r.violations.map((v) => `violation ${e(String(v))}`),
  ];
  return `fail     ${e(r.case)}\n${why.map((w) => `           ${w}`).join('\n')}`;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, [0, 1]);
  if (values.help) { console.log(HELP); return 0; }
  const dir = positionals[0] ?? CONFORMANCE_DIR;
  let isDir = false;
  try { isDir = statSync(dir).isDirectory(); } catch { /* reported below */ }
  if (!isDir) throw new UsageError(`${dir}: not a directory of scenario files`);
  const results = runConformance(dir);
  const summary = summarizeResults(results);
  if (values.json) await println(jsonText({ cases: results, summary }, 2));
  else {
    await println([...results.map(line), `${summary.cases} case(s): ${summary.pass} pass, ${summary.fail} fail, ${summary.invalid} invalid; ${summary.checked} expectation(s) checked`].join('\n'));
  }
  return summary.fail + summary.invalid > 0 || summary.cases === 0 ? 1 : 0;
}
