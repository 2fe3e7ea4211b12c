// Golden traces (traces/, see traces/README.md): each re-records byte for
// byte, and `verify` re-runs each and finds the same events and state hashes.
// When the engine changes what it records on purpose: `npm run goldens`.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main as verify } from '../cli/commands/verify.js';
import { matrix, traceName } from '../cli/commands/matrix.js';
import { resolveVariant } from '../engine/scenario.js';
import { GOLDENS, goldenFile, recordGolden } from '../scenarios/goldens.js';
import { builtinNames, loadScenario } from '../scenarios/index.js';

const TRACES = join(process.cwd(), 'traces');

async function verifyJson(path: string): Promise<{ code: number; out: { ok: boolean; events: number; checked: number } }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.map(String).join(' ')); });
  try {
    const code = await verify([path, '--json']);
    return { code, out: JSON.parse(lines.join('\n')) as { ok: boolean; events: number; checked: number } };
  } finally {
    spy.mockRestore();
  }
}

describe('golden traces', () => {
  it('every built-in scenario but stress has a default golden; every scenario with axes a second one', () => {
    const byScenario = new Map<string, string[]>();
    for (const g of GOLDENS) byScenario.set(g.scenario, [...(byScenario.get(g.scenario) ?? []), g.role]);
    for (const name of builtinNames().filter((n) => n !== 'stress')) {
      const roles = byScenario.get(name) ?? [];
      expect(roles.length, name).toBeGreaterThan(0);
      if (Object.keys(loadScenario(name).variants ?? {}).length > 0) expect(roles.length, name).toBeGreaterThanOrEqual(2);
    }
    // traces/ holds exactly the goldens (and the README)
    expect(readdirSync(TRACES).filter((f) => f.endsWith('.iotrace')).sort()).toEqual(GOLDENS.map(goldenFile).sort());
  });

  const dir = mkdtempSync(join(tmpdir(), 'iotrace-goldens-'));
  for (const g of GOLDENS) {
    const file = goldenFile(g);
    it(`${file}: re-recorded byte for byte, and verify passes`, async () => {
      const golden = join(TRACES, file);
      expect(existsSync(golden), `${file} missing: npm run goldens`).toBe(true);
      const fresh = recordGolden(g, dir);
      expect(readFileSync(fresh).equals(readFileSync(golden)), `${file} differs from a fresh recording: if the engine changed on purpose, npm run goldens`).toBe(true);
      const r = await verifyJson(golden);
      expect(r.code).toBe(0);
      expect(r.out.ok).toBe(true);
      expect(r.out.checked).toBe(r.out.events);
    });
  }

  it('matrix -o records one trace per combination, named as the goldens are, with the same bytes', () => {
    const out = mkdtempSync(join(tmpdir(), 'iotrace-matrix-'));
    const sc = loadScenario('viommu-vdevice');
    const rows = matrix(sc, { outDir: out });
    expect(rows.map((r) => r.trace)).toEqual(rows.map((r) => join(out, traceName(sc, r.variant))));
    const erase = GOLDENS.find((g) => g.scenario === 'viommu-vdevice' && g.role === 'problem');
    expect(erase).toBeDefined();
    if (!erase) return;
    expect(traceName(sc, resolveVariant(sc, erase.variant))).toBe(goldenFile(erase));
    expect(readFileSync(join(out, goldenFile(erase))).equals(readFileSync(join(TRACES, goldenFile(erase))))).toBe(true);
  });
});
