// iotrace conformance: run a folder of scenario files whose steps carry
// `expect` (default: the built-in port of the kernel's iommufd selftest) and
// report each case: pass, fail (expected vs got) or invalid.
import { statSync } from 'node:fs';
import { CONFORMANCE_DIR, runConformance, summarizeResults, type CaseResult } from '../../conformance/runner.js';
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

function line(r: CaseResult): string {
  if (r.status === 'pass') return `pass     ${r.case} (${r.checked} checked)`;
  if (r.status === 'invalid') return `invalid  ${r.case}: ${r.message ?? ''}`;
  const why = [
    ...r.unmet.map((u) => `step ${u.step} ${u.op}: expected ${u.expected}, got ${u.got}${u.source ? ` [${u.source}]` : ''}`),
    ...r.violations.map((v) => `violation ${v}`),
  ];
  return `fail     ${r.case}\n${why.map((w) => `           ${w}`).join('\n')}`;
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
  if (values.json) console.log(JSON.stringify({ cases: results, summary }, null, 2));
  else {
    for (const r of results) console.log(line(r));
    console.log(`${summary.cases} case(s): ${summary.pass} pass, ${summary.fail} fail, ${summary.invalid} invalid; ${summary.checked} expectation(s) checked`);
  }
  return summary.fail + summary.invalid > 0 || summary.cases === 0 ? 1 : 0;
}
