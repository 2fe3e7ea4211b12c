// Hex where the domain speaks hex (issue 14 §4), in text output only:
// addresses, pointers and sizes in 0x form and one spelling of the PASID
// translation type in summaries, `iotrace state` and the TUI; --json keeps
// numbers.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cellText, displayKey, fieldValueText, summarize } from '../engine/summary.js';
import { cellText as tuiCellText } from '../tui/format.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
const T = join(process.cwd(), 'traces', 'dwq-gpasid--pasid=translated.iotrace');

describe('hex in text output', () => {
  it('state: pointers in 0x form, PGTT by name in the PASID cache as in the table; --json keeps numbers', () => {
    const text = cli('state', T, '--at', 'first-fault').stdout;
    expect(text).toMatch(/dmar0\/00:02\.0\/1 +did=4 flptr=0x200000 pgtt=NESTED slptptr=0x10003000/);
    expect(text).toMatch(/00:02\.0\/1 +P=1 PGTT=NESTED DID=4 FLPTR=0x200000 SLPTPTR=0x10003000/);
    expect(text).toMatch(/pasidCap=\{offset=0x1b0 width=20\}/);
    expect(text).not.toContain('268447744');
    const json = JSON.parse(cli('state', T, '--at', 'first-fault', '--json').stdout) as { sections: { 'pasid-cache': Record<string, { slptptr: number; pgtt: number }> } };
    expect(json.sections['pasid-cache']['dmar0/00:02.0/1']).toMatchObject({ slptptr: 0x10003000, pgtt: 3 });
  });

  it('ioctl and kernel-call arguments: addresses and lengths in 0x form, ids and flags as numbers', () => {
    const out = cli('events', join(process.cwd(), 'traces', 'iommufd-lifecycle.iotrace'), '--cmd', 'IOMMU_IOAS_MAP').stdout;
    expect(out).toContain('IOMMU_IOAS_MAP(ioas_id=1 user_va=0x80000000 iova=0x0 length=0x8000 flags=7) on iommufd = 0 iova=0x0');
    expect(fieldValueText('data_uptr', 4096)).toBe('0x1000');
    expect(fieldValueText('entry_num', 16)).toBe('16');
    expect(fieldValueText('pgtt', 3)).toBe('NESTED');
    expect(summarize({ seq: 0, tick: 0, step: 0, kind: 'kcall', fn: 'f', args: { addr: 0x400000, pasid: 5 }, errno: null, out: {} })).toBe('f(addr=0x400000 pasid=5) = 0');
  });

  it('the TUI shows a cell with the same text as iotrace state', () => {
    const cell = { did: 4, pgtt: 3, flptr: 0x200000, slptptr: 0x10003000 };
    expect(tuiCellText('pasid-cache', cell)).toBe(cellText('pasid-cache', cell));
    expect(cellText('pasid-cache', cell)).toBe('did=4 flptr=0x200000 pgtt=NESTED slptptr=0x10003000');
  });

  it('cell keys that hold an address or a page frame are shown as the address in state, diff and the TUI; --json keeps the key', () => {
    expect(displayKey('iotlb', 'dmar0/4/1/1024')).toBe('dmar0/4/1/0x400000');
    expect(displayKey('atc', '00:02.0/1/1024')).toBe('00:02.0/1/0x400000');
    expect(displayKey('pt', '2097152/1024')).toBe('0x200000/0x400000');
    expect(displayKey('pt-root', '268447744')).toBe('0x10003000');
    expect(displayKey('ioas-map', 'iommufd/1/0')).toBe('iommufd/1/0x0');
    expect(displayKey('pasid', '00:02.0/5')).toBe('00:02.0/5');
    expect(displayKey('iotlb', 'forged/key')).toBe('forged/key');
    const text = cli('state', T, '--at', 'first-fault').stdout;
    expect(text).toMatch(/\n  dmar0\/4\/1\/0x400000 +pa=0x80001000/);
    expect(text).toMatch(/\n  0x10003000 +ioas=iommufd\/1/);
    const json = JSON.parse(cli('state', T, '--at', 'first-fault', '--json').stdout) as { sections: { iotlb: Record<string, unknown> } };
    expect(Object.keys(json.sections.iotlb)).toEqual(['dmar0/4/1/1024']);
    const d = cli('diff', join(process.cwd(), 'traces', 'dwq-gpasid--pasid=identity.iotrace'), T).stdout;
    expect(d).toContain('  - vpasid vm0/00:02.0/1: A flptr=0x200000');
  });
});
