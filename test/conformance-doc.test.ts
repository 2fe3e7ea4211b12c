// docs/conformance.md is the table of every TEST_F of the kernel's
// tools/testing/selftests/iommu/iommufd.c: it must not drop a name of the
// committed list (conformance/selftest-tests.txt), and every case file it
// names must exist.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_DIR } from '../scenarios/index.js';

const read = (rel: string): string => readFileSync(join(PACKAGE_DIR, rel), 'utf8');

/** "fixture name" pairs of the committed list; `#` starts a comment. */
function listedTests(): string[] {
  return read('conformance/selftest-tests.txt').split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line.length > 0)
    .map((line) => line.split(/\s+/).join(' '));
}

/** "fixture name" of every table row `| fixture | name | …` in the page. */
function tableRows(doc: string): Set<string> {
  const rows = new Set<string>();
  for (const line of doc.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const [fixture, name] = cells;
    if (cells.length < 3 || !fixture || !name || /^-+$/.test(fixture) || fixture === 'fixture') continue;
    rows.add(`${fixture} ${name}`);
  }
  return rows;
}

describe('docs/conformance.md', () => {
  const doc = read('docs/conformance.md');
  const names = listedTests();

  it('the committed list is a plausible selftest inventory', () => {
    expect(names.length).toBeGreaterThanOrEqual(60);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n, n).toMatch(/^[a-z0-9_]+ [a-z0-9_]+$/);
  });

  it('has a row for every TEST_F of the list', () => {
    const rows = tableRows(doc);
    expect(names.filter((n) => !rows.has(n))).toEqual([]);
  });

  it('every conformance case file it names exists', () => {
    const files = [...new Set(doc.match(/conformance\/[A-Za-z0-9_\-./]+\.json/g) ?? [])];
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => !existsSync(join(PACKAGE_DIR, f)))).toEqual([]);
  });

  it('gives every row a status: ported, partly or not modelled', () => {
    for (const line of doc.split('\n')) {
      if (!line.startsWith('|')) continue;
      const cells = line.split('|').slice(1, -1).map((c) => c.trim());
      const first = cells[0] ?? '';
      if (cells.length < 3 || first === 'fixture' || first === 'area' || /^-+$/.test(first)) continue;
      expect(cells[cells.length - 1], line).toMatch(/^(ported|partly|not modelled)\b/);
    }
  });
});
