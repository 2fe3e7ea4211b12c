// Claims a forged-but-valid trace could make false (found by a red-team review
// of 90673b1): each test builds the forgery and asserts the true answer.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadScenario } from '../scenarios/index.js';
import { forge } from './forge.js';
import { recordTo, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

let dir: string;
let good: string;
/** Event 2 (an iommufd-obj) gets refs: null: every block whole, but the event does not apply. */
let noApply: string;
beforeAll(() => {
  dir = tmp();
  good = recordTo(dir, 'good', loadScenario('dwq-gpasid'), { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 8 }).path;
  noApply = join(dir, 'noapply.iotrace');
  writeFileSync(noApply, forge(good, { chunk: (_c, evs) => evs.map((ev) => (ev.seq === 2 ? { ...ev, refs: null } as unknown as typeof ev : ev)) }));
});

describe('an event that does not apply stops the deep check', () => {
  it('info --deep still counts every event that reads back, and the fault after the stop', () => {
    const plain = JSON.parse(cli('info', noApply, '--json').stdout) as { events: number; faults: number };
    expect(plain.events).toBe(41);
    expect(plain.faults).toBe(1);
    const deep = JSON.parse(cli('info', noApply, '--deep', '--json').stdout) as { events: number; faults: number };
    expect(deep.events).toBe(41);
    expect(deep.faults).toBe(1);
    const text = cli('info', noApply, '--deep').stdout;
    expect(text).toMatch(/every event reads back; damage at byte \d+: event 2 \(iommufd-obj\) does not apply/);
    expect(text).not.toContain('CHECKPOINTS DISAGREE');
  });

  it('the debugger keeps the fault the events hold and f jumps to it', async () => {
    const { openUi } = await import('./tui-helpers.js');
    const ui = await openUi(noApply);
    expect(ui.status()).toContain('1F 0V');
    await ui.press('f');
    expect(ui.d.cursor).toBe(40);
    ui.close();
  });
});


describe('replay --at first-fault over a footer whose fault list is false', () => {
  it('opens at the fault the events hold, not the footer\'s', async () => {
    const { gapsOf } = await import('./forge.js');
    const nf = join(dir, 'nf.iotrace');
    writeFileSync(nf, forge(good, { footer: (d) => { d.faults = gapsOf([]); (d.kinds as Record<string, number>).fault = 0; } }));
    const a = cli('replay', nf, '--at', 'first-fault', '--dump', '120x30');
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(a.stdout).toContain('state after event #40');
    const moved = join(dir, 'moved.iotrace');
    writeFileSync(moved, forge(good, { footer: (d) => { d.faults = gapsOf([5, 40]); (d.kinds as Record<string, number>).fault = 2; } }));
    expect(cli('replay', moved, '--at', 'first-fault', '--dump', '120x30').stdout).toContain('state after event #40');
    const v = join(dir, 'v.iotrace');
    writeFileSync(v, forge(good, { footer: (d) => { d.violations = gapsOf([7]); (d.kinds as Record<string, number>).violation = 1; } }));
    const rv = cli('replay', v, '--at', 'first-violation', '--dump', '120x30');
    expect(rv.status).toBe(2);
    expect(rv.stderr).toMatch(/no violation/);
  });
});

describe('a footer whose state-hash chain is false (chunks, checkpoints and digests genuine)', () => {
  it('info says the footer disagrees; verify names the footer, not the state', () => {
    const h = join(dir, 'hashes.iotrace');
    writeFileSync(h, forge(good, { footer: (d) => { const b = Buffer.from(d.hashes as Uint8Array); b[16 * 3]! ^= 1; d.hashes = b; } }));
    const i = cli('info', h);
    expect(i.status).toBe(1);
    expect(i.stdout).toContain("footer's state hash for chunk 3");
    expect(i.stdout).not.toContain("the footer's counts agree");
    const v = cli('verify', h);
    expect(v.status).toBe(1);
    expect(v.stdout).not.toContain('the state they build does not');
    expect(v.stdout).toMatch(/FALSE CLAIM: footer's state hash for chunk 3/);
  });
});

describe('info over a footer that omits a fault', () => {
  it('does not say the footer agrees in the same breath as FOOTER DISAGREES', async () => {
    const { gapsOf } = await import('./forge.js');
    const nf = join(dir, 'nf-info.iotrace');
    writeFileSync(nf, forge(good, { footer: (d) => { d.faults = gapsOf([]); (d.kinds as Record<string, number>).fault = 0; } }));
    const out = cli('info', nf).stdout;
    expect(out).toContain('FOOTER DISAGREES');
    expect(out).not.toContain("the footer's counts agree with the events");
  });
});

// The header's claims (F1, F2, F5) are tested in test/claims-header.test.ts.

describe('export --from over a false checkpoint (F3)', () => {
  it('counters start from the state the events build', () => {
    const p = join(dir, 'cp-iotlb.iotrace');
    const life = recordTo(dir, 'life', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 4, checkpointEvery: 8 }).path;
    // checkpoint 1 loses every cell (on main: tracks "IOMMU unknown", counters from 0)
    writeFileSync(p, forge(life, { checkpoint: (i, st) => { if (i === 1) { for (const s of Object.keys(st.s)) (st.s as unknown as Record<string, unknown>)[s] = Object.create(null); } return st; } }));
    const out = (f: string) => cli('export', f, '--format', 'chrome', '--from', '16').stdout;
    expect(out(p)).toBe(out(life));
  });
});

describe('a footer whose chunkFirsts are off by one (F17)', () => {
  it('is unusable at open: the trace reads the same as without its footer', async () => {
    const { gapsOf } = await import('./forge.js');
    const { TraceReplayer } = await import('../replayer/replayer.js');
    const r0 = TraceReplayer.open(good);
    const firsts = r0.index.chunkFirsts.slice();
    const all = r0.events(0, r0.count);
    r0.close();
    firsts[1] = (firsts[1] as number) + 1;
    const p = join(dir, 'firsts.iotrace');
    writeFileSync(p, forge(good, { footer: (d) => { d.chunkFirsts = gapsOf(firsts); } }));
    const r = TraceReplayer.open(p);
    expect(r.truncated?.reason).toMatch(/footer unusable \(index says chunk 0 holds events 0\.\.4, the chunk 0\.\.3/);
    expect(r.events(0, r.count)).toEqual(all);
    r.close();
    const j = JSON.parse(cli('info', p, '--json').stdout) as { events: number; faults: number };
    expect(j).toMatchObject({ events: 41, faults: 1 });
  });
});
