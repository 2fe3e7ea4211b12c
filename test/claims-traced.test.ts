// An imported trace's `traced` list (the state sections its log's events
// write) decides which sections state and the debugger call unknown rather
// than empty. A forged header (test/forge.ts recomputes every digest) that
// lists a section the events never write, or drops one they do, must not
// make them say so: the list is found from the events (replayer/traced.ts),
// and info and verify name the header's as a FALSE CLAIM.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, tmp } from './import-helpers.js';
import { forge } from './forge.js';
import { openUi, type Ui } from './tui-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

let dir = '';
let good = '';
/** The trace with its header's traced list replaced. */
const withTraced = (name: string, traced: string[]): string => {
  const p = join(dir, name);
  writeFileSync(p, forge(good, { header: (d) => { (d.imported as { traced: string[] }).traced = traced; } }));
  return p;
};
const unknownLine = (p: string): string => cli('state', p, '--at', 'last').stdout.split('\n').find((l) => l.startsWith('not in the log')) ?? '';
const unknownJson = (p: string): string[] => (JSON.parse(cli('state', p, '--at', 'last', '--json').stdout) as { unknownSections: string[] }).unknownSections;

beforeAll(() => {
  dir = tmp();
  good = join(dir, 'vtd.iotrace');
  const r = cli('import', 'qemu', join(FIXTURES, 'qemu-vtd-scalable.log'), '-o', good);
  expect(r.status, r.stderr).toBe(0);
});

describe("an imported trace's traced sections come from its events, not its header", () => {
  it('the genuine header agrees with the events: no claim, the same unknown sections', () => {
    expect((JSON.parse(cli('info', good, '--json').stdout) as { imported: { traced: string[] } }).imported.traced).toEqual(['context-cache', 'iotlb']);
    const i = cli('info', good);
    expect(i.status).toBe(0);
    expect(i.stdout).not.toContain('FALSE CLAIM');
    expect(cli('verify', good).status).toBe(0);
    expect(unknownJson(good)).not.toContain('iotlb');
    expect(unknownJson(good)).toContain('pasid');
  });

  it('a header listing a section the events never write (pasid): state still calls it unknown; info and verify FALSE CLAIM, exit 1', () => {
    const p = withTraced('extra.iotrace', ['context-cache', 'iotlb', 'pasid']);
    expect(unknownJson(p)).toEqual(unknownJson(good));
    expect(unknownLine(p)).toMatch(/^not in the log, so unknown \(not empty\): pasid-dir, pasid, pasid-cache, atc,/);
    const claim = 'FALSE CLAIM: header says the traced sections are context-cache, iotlb, pasid; the events write context-cache, iotlb';
    for (const cmd of ['info', 'verify']) {
      const r = cli(cmd, p);
      expect(r.status, cmd).toBe(1);
      expect(r.stdout.split('\n'), cmd).toContain(claim);
    }
    expect((JSON.parse(cli('info', p, '--json').stdout) as { checks: { header: string[] } }).checks.header).toEqual([claim.slice('FALSE CLAIM: '.length)]);
  });

  it('a header dropping a section the events write (iotlb): state does not call its cells unknown; info and verify FALSE CLAIM, exit 1', () => {
    const p = withTraced('drop.iotrace', ['context-cache']);
    const s = cli('state', p, '--at', 'last');
    expect(s.stdout).toMatch(/^\[iotlb\] \d+$/m);
    expect(unknownJson(p)).not.toContain('iotlb');
    expect(unknownLine(p)).toBe(unknownLine(good));
    for (const cmd of ['info', 'verify']) {
      const r = cli(cmd, p);
      expect(r.status, cmd).toBe(1);
      expect(r.stdout, cmd).toContain('FALSE CLAIM: header says the traced sections are context-cache; the events write context-cache, iotlb');
    }
  });
});

describe('the debugger on a forged imported trace', () => {
  let ui: Ui | null = null;
  afterEach(() => { ui?.close(); ui = null; });

  it('the state pane names the unknown sections the events leave, and the message line the false claim', async () => {
    const truth = unknownLine(good).slice('not in the log, so unknown (not empty): '.length);
    for (const [name, traced] of [['extra-tui.iotrace', ['context-cache', 'iotlb', 'pasid']], ['drop-tui.iotrace', ['context-cache']]] as const) {
      ui = await openUi(withTraced(name, [...traced]), 0, 400, 50);
      expect(ui.text(), name).toContain('from a qemu log: untraced sections unknown');
      // The state pane is the right-hand column; the note wraps over its first rows.
      const pane = ui.lines().map((l) => /││(.*)│$/.exec(l)?.[1]?.trim() ?? '').filter(Boolean).join(' ');
      expect(pane, name).toContain(`not in the log, so unknown (not empty): ${truth}`);
      expect(ui.status(), name).toContain('the trace claims what its events do not say: header says the traced sections are');
      ui.close();
      ui = null;
    }
  });
});
