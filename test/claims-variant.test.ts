// A header variant its scenario does not have, seen from every view that
// names it (redteam-lies F5) and from a what-if (F6): the events are the
// genuine recording's, only the header's label is forged, so nothing may
// present the label as how the events were made or re-run under it.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Provenance } from '../provenance/chain.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { forge } from './forge.js';
import { recordTo, tmp } from './trace-helpers.js';
import { openUi, type Ui } from './tui-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });

let dir: string;
let good: string;
const forged: Record<string, string> = {};
const VARIANTS: Record<string, Record<string, string>> = { extra: { pasid: 'translated', iommu: 'amd-vi' }, bogus: { pasid: 'bogus' }, missing: {} };
let ui: Ui | null = null;
afterEach(() => { ui?.close(); ui = null; });

beforeAll(() => {
  dir = tmp();
  good = recordTo(dir, 'good', loadScenario('dwq-gpasid'), { pasid: 'translated' }).path;
  for (const [name, variant] of Object.entries(VARIANTS)) {
    forged[name] = join(dir, `${name}.iotrace`);
    writeFileSync(forged[name], forge(good, { header: (d) => { d.variant = variant; } }));
  }
});

describe('whatif under a variant its scenario has not (F6)', () => {
  it('re-runs nothing, says FALSE CLAIM, exit 1; the genuine trace still runs', () => {
    expect(cli('whatif', good, '--edit-step', '0', '--set', 'note=hello').status).toBe(0);
    for (const name of Object.keys(VARIANTS)) {
      const r = cli('whatif', forged[name] as string, '--edit-step', '0', '--set', 'note=hello');
      expect(r.status, name).toBe(1);
      expect(r.stdout, name).toMatch(/^FALSE CLAIM: header's variant .* is not a variant of its scenario: .*: a what-if re-runs the scenario under the header's variant, so nothing was re-run$/m);
      // Before the fix, "extra" was re-run under pasid=translated and called identical (exit 0).
      expect(r.stdout, name).not.toMatch(/identical/);
      expect(r.stderr, name).not.toMatch(/recorded to/);
    }
  });

  it("the debugger's x says so and opens no diff", async () => {
    ui = await openUi(forged.extra as string, 1, 260, 48);
    await ui.press('x');
    await ui.d.idle();
    expect(ui.status()).toMatch(/FALSE CLAIM: header's variant pasid=translated,iommu=amd-vi is not a variant/);
    expect(ui.text()).not.toMatch(/first divergence|the same events/);
  });
});

describe('every view marks the false variant (F5)', () => {
  it('diff: beside the name, a FALSE CLAIM line, headerClaims in --json, exit 1 although the events agree', () => {
    const t = cli('diff', good, forged.extra as string);
    expect(t.status).toBe(1);
    expect(t.stdout).toMatch(/^B .*\[pasid=translated,iommu=amd-vi FALSE: not a variant of its scenario\] seed 0, 41 events$/m);
    expect(t.stdout).toMatch(/^FALSE CLAIM \(B\): header's variant pasid=translated,iommu=amd-vi is not a variant of its scenario: iommu=amd-vi: not an axis/m);
    expect(t.stdout).not.toMatch(/^FALSE CLAIM \(A\)/m);
    const j = JSON.parse(cli('diff', good, forged.extra as string, '--json').stdout) as { identical: boolean; a: { headerClaims: string[] }; b: { headerClaims: string[] } };
    expect(j.identical).toBe(true);
    expect(j.a.headerClaims).toEqual([]);
    expect(j.b.headerClaims).toHaveLength(1);
    expect(cli('diff', good, good).status).toBe(0);
  });

  it('export: the metadata holds the false claim and the title marks it', () => {
    for (const name of Object.keys(VARIANTS)) {
      const doc = JSON.parse(cli('export', forged[name] as string, '--format', 'chrome').stdout) as { metadata: Record<string, unknown> };
      expect(doc.metadata.falseClaim, name).toMatch(/^header's variant .* is not a variant of its scenario/);
      expect(doc.metadata['iotrace-title'], name).toMatch(/\[variant FALSE: not a variant of its scenario\] seed 0$/);
    }
    const real = JSON.parse(cli('export', good, '--format', 'chrome').stdout) as { metadata: Record<string, unknown> };
    expect(real.metadata.falseClaim).toBeUndefined();
  });

  it('the debugger: the status line says VARIANT FALSE, the message row the claim', async () => {
    ui = await openUi(forged.bogus as string, 1, 200, 48);
    expect(ui.status()).toMatch(/VARIANT FALSE/);
    expect(ui.status()).toMatch(/pasid=bogus FALSE: not a variant of its scenario/);
    expect(ui.status()).toMatch(/FALSE CLAIM: header's variant pasid=bogus is not a variant of its scenario/);
    ui.close();
    ui = await openUi(good, 1, 200, 48);
    expect(ui.status()).not.toMatch(/FALSE/);
  });

  it("provenance re-runs no step under it: the step's decision says why", () => {
    const r = TraceReplayer.open(forged.extra as string);
    try {
      const d = new Provenance(r).decisions.of(5);
      expect(d).toMatchObject({ why: expect.stringMatching(/^header's variant pasid=translated,iommu=amd-vi is not a variant of its scenario: .*: its steps cannot be re-run under it$/) });
    } finally { r.close(); }
    const g = TraceReplayer.open(good);
    try { expect(new Provenance(g).decisions.of(5)).toHaveProperty('seqs'); } finally { g.close(); }
  });
});
