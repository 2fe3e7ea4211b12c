// The scenario library (issue 4): every built-in scenario shows the outcome
// its seed thread argues. Problem variants fault or violate; fixed variants
// and variant-less scenarios run clean: no violation, no unmet expectation,
// and a fault only where a step expects one.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matrix, type MatrixRow } from '../cli/commands/matrix.js';
import { run } from '../engine/run.js';
import { loadScenario } from '../scenarios/index.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

const key = (v: Record<string, string>): string => Object.keys(v).sort().map((a) => `${a}=${v[a]}`).join(',');
const rowsOf = (name: string): Map<string, MatrixRow> => new Map(matrix(loadScenario(name)).map((r) => [key(r.variant), r]));

function clean(r: MatrixRow | undefined): void {
  expect(r).toBeDefined();
  expect(r?.violations).toBe(0);
  expect(r?.unmetExpectations).toBe(0);
  expect(r?.unexpectedFaults).toBe(0);
}

/** Scenario -> the combinations that show the problem (with what they show) and the ones that must run clean. */
const ARGUED: Record<string, { problem: Record<string, (r: MatrixRow) => void>; fixed: string[] }> = {
  'dwq-gpasid': {
    problem: { 'pasid=translated': (r) => { expect(r.firstFaultAt).toMatchObject({ source: 'iommu', reason: 0x59 }); } },
    fixed: ['pasid=identity'],
  },
  'live-migration': {
    problem: { 'pasid-space=global': (r) => { expect(r.faults).toBe(1); expect(r.firstFaultAt).toMatchObject({ source: 'iommu', reason: 0x59 }); } },
    fixed: ['pasid-space=per-rid', 'pasid-space=split'],
  },
  'free-while-bound': {
    problem: { 'allocator=lowest,free=notify-cleanup': (r) => { expect(r.violationKinds).toEqual(['entry-outlives-ioasid', 'wrong-address-space']); } },
    fixed: ['allocator=cyclic,free=notify-cleanup', 'allocator=lowest,free=free-after-unbind', 'allocator=cyclic,free=free-after-unbind'],
  },
  'pasid-cap-migration': {
    problem: { 'pasid-cap=kernel': (r) => { expect(r.firstFaultAt).toMatchObject({ source: 'iommu', reason: 0x79 }); } },
    fixed: ['pasid-cap=vmm'],
  },
  'viommu-vdevice': {
    problem: { 'abort=erase': (r) => { expect(r.violationKinds).toEqual(['stale-atc']); expect(r.faults).toBe(0); } },
    fixed: ['abort=cmpxchg'],
  },
};

describe('each problem variant shows the argued outcome; the fixed ones run clean', () => {
  for (const [name, { problem, fixed }] of Object.entries(ARGUED)) {
    it(name, () => {
      const rows = rowsOf(name);
      expect(rows.size).toBe(Object.keys(problem).length + fixed.length);
      for (const [variant, shows] of Object.entries(problem)) {
        const r = rows.get(variant);
        expect(r, variant).toBeDefined();
        if (!r) continue;
        expect(r.faults + r.violations, variant).toBeGreaterThan(0);
        expect(r.unmetExpectations, variant).toBe(0);
        shows(r);
      }
      for (const variant of fixed) clean(rows.get(variant));
    });
  }

  it('free-while-bound: the safe combinations never hand a PASID to the wrong address space', () => {
    for (const r of rowsOf('free-while-bound').values()) {
      if (key(r.variant) !== 'allocator=lowest,free=notify-cleanup') expect(r.violations).toBe(0);
    }
  });
});

describe('nosnoop-wbinvd: the KVM decision follows the VFIO files the VMM hands to kvm-vfio', () => {
  it('block: WBINVD stays a no-op; allow: honoured while the file is added; unregistered: no-snoop DMA without WBINVD', () => {
    const sc = loadScenario('nosnoop-wbinvd');
    for (const r of matrix(sc)) if (r.variant.nosnoop !== 'unregistered') clean(r);
    const decisions = (v: string) => [...run(sc, { variant: { nosnoop: v } })].flatMap((e) => (e.kind === 'kvm-wbinvd' ? [e.wbinvd] : []));
    expect(decisions('block')).toEqual([]);
    expect(decisions('allow')).toEqual(['honour', 'noop']);
    expect(decisions('unregistered')).toEqual([]);
    const bad = matrix(sc).find((r) => r.variant.nosnoop === 'unregistered');
    expect(bad?.violationKinds).toEqual(['noncoherent-dma-without-wbinvd']);
    expect(bad?.unmetExpectations).toBe(0);
  });
});

describe('variant-less scenarios assert their errnos and notifications and run clean', () => {
  for (const name of ['sriov-pasid-table', 'sriov-bind-pgtable', 'enqcmd-global-pasid', 'ioasid-quota', 'mdev-siov', 'iommufd-lifecycle']) {
    it(name, () => {
      const sc = loadScenario(name);
      expect(Object.keys(sc.variants ?? {})).toEqual([]);
      expect(sc.steps.filter((s) => s.expect !== undefined).length).toBeGreaterThan(sc.steps.length / 2);
      const rows = matrix(sc);
      expect(rows).toHaveLength(1);
      clean(rows[0]);
    });
  }

  it('ioasid-quota: FREE reaches the IOMMU driver before KVM for every PASID of the freed set', () => {
    const evs = [...run(loadScenario('ioasid-quota'))];
    const frees = evs.flatMap((e) => (e.kind === 'notify' && e.event === 'FREE' ? [[e.pasid, e.subscriber]] : []));
    expect(frees.length).toBe(18);
    for (let i = 0; i < frees.length; i += 2) {
      expect(frees[i]?.[1]).toBe('iommu-driver');
      expect(frees[i + 1]).toEqual([frees[i]?.[0], 'kvm']);
    }
    // in ascending PASID order, as the kernel walks its xarray
    const pasids = frees.filter((_, i) => i % 2 === 0).map((f) => f[0] as number);
    expect(pasids).toEqual([...pasids].sort((a, b) => a - b));
  });
});

describe('iotrace list / matrix (the built binary)', () => {
  it('list --json shows all sixteen scenarios with their axes', () => {
    const r = cli('list', '--json');
    expect(r.status).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; variants: Record<string, Record<string, string>> }[];
    const axes = Object.fromEntries(list.map((s) => [s.name, Object.fromEntries(Object.entries(s.variants).map(([a, v]) => [a, Object.keys(v)]))]));
    expect(axes).toEqual({
      'dwq-gpasid': { pasid: ['identity', 'translated'] },
      'sriov-pasid-table': {},
      'sriov-bind-pgtable': {},
      'enqcmd-global-pasid': {},
      'live-migration': { 'pasid-space': ['per-rid', 'global', 'split'] },
      'ioasid-quota': {},
      'free-while-bound': { allocator: ['lowest', 'cyclic'], free: ['notify-cleanup', 'free-after-unbind'] },
      'mdev-siov': {},
      'pasid-cap-migration': { 'pasid-cap': ['kernel', 'vmm'] },
      'nosnoop-wbinvd': { nosnoop: ['block', 'allow', 'unregistered'] },
      'viommu-vdevice': { abort: ['cmpxchg', 'erase'] },
      'iommufd-lifecycle': {},
      stress: {},
      'race-free-while-bound': { free: ['notify-cleanup', 'free-after-unbind'], allocator: ['lowest', 'cyclic'] },
      'race-quota': { locking: ['check-then-charge', 'atomic'] },
      'race-vdevice-alias': { abort: ['erase', 'cmpxchg'] },
    });
  });

  it('matrix --json: one object per combination with the documented fields; --variant pins an axis', () => {
    const r = cli('matrix', 'free-while-bound', '--json');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      for (const f of ['variant', 'events', 'faults', 'firstFault', 'violations', 'unmetExpectations']) expect(row).toHaveProperty(f);
    }
    const pinned = JSON.parse(cli('matrix', 'free-while-bound', '--json', '--variant', 'free=free-after-unbind').stdout) as { variant: Record<string, string>; firstFault: number | null }[];
    expect(pinned.map((p) => p.variant)).toEqual([{ allocator: 'lowest', free: 'free-after-unbind' }, { allocator: 'cyclic', free: 'free-after-unbind' }]);
    expect(pinned.every((p) => typeof p.firstFault === 'number')).toBe(true);
  });

  it('matrix prints a table and exits 0 even when a variant faults; bad usage exits 2', () => {
    const r = cli('matrix', 'dwq-gpasid');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/pasid=translated\s+\d+\s+1\s+#\d+ step 18 iommu 0x59 SM: Present bit in PASID Table Entry is clear/);
    expect(cli('matrix', 'dwq-gpasid', '--variant', 'pasid=nope').status).toBe(2);
    expect(cli('matrix').status).toBe(2);
    expect(cli('matrix', 'no-such-scenario').status).toBe(2);
  });
});

describe('docs/scenarios.md', () => {
  it('documents every op, every ioctl and every built-in scenario', async () => {
    const { readFileSync } = await import('node:fs');
    const { OPS, IOCTLS } = await import('../engine/ops/index.js');
    const { builtinNames } = await import('../scenarios/index.js');
    const doc = readFileSync(join(process.cwd(), 'docs', 'scenarios.md'), 'utf8');
    for (const op of Object.keys(OPS).filter((o) => o !== 'ioctl')) expect(doc, op).toContain(`| \`${op}\` |`);
    for (const cmd of Object.keys(IOCTLS)) expect(doc, cmd).toContain(`| \`${cmd}\` |`);
    for (const name of builtinNames()) expect(doc, name).toMatch(new RegExp(`^### ${name} `, 'm'));
  });
});
