// Lies that pass every checksum: forged-but-valid traces (every CRC, offset,
// SHA-256 digest and chain value recomputed by test/forge.ts) must not make
// info, state, verify or diff state a falsehood. Each test asserts the true
// answer, not just that nothing crashed.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalState } from '../engine/state.js';
import { adoptCheck, checkTrace } from '../replayer/check.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { BLOCK_HEAD } from '../trace/format.js';
import { loadScenario } from '../scenarios/index.js';
import { blockOffsets } from './fuzz/trace-bytes.js';
import { forge, gapsOf } from './forge.js';
import { recordTo, stressScenario, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

let dir: string;
let good: string;
let faulty: string;
beforeAll(() => {
  dir = tmp();
  // 4-event chunks, a checkpoint every 8 events: many blocks in a small file.
  good = recordTo(dir, 'good', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 4, checkpointEvery: 8 }).path;
  faulty = recordTo(dir, 'faulty', loadScenario('dwq-gpasid'), { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 8 }).path;
});

const save = (name: string, bytes: Buffer): string => { const p = join(dir, name); writeFileSync(p, bytes); return p; };

describe('a checkpoint that disagrees with its events', () => {
  let forged: string;
  let at: number;
  beforeAll(() => {
    // Checkpoint 1 loses every iommufd object: a state that never happened.
    forged = save('cp.iotrace', forge(good, { checkpoint: (i, st) => { if (i === 1) st.s.iommufd = Object.create(null) as typeof st.s.iommufd; return st; } }));
    const r = TraceReplayer.open(good);
    at = (r.index.checkpointSeqs[1] as number) + 2;
    r.close();
  });

  it('state shows the state the events build, not the checkpoint; --from-checkpoint says it is unchecked', () => {
    const truth = cli('state', good, '--at', String(at), '--json');
    const s = cli('state', forged, '--at', String(at), '--json');
    expect(s.status).toBe(0);
    expect(JSON.parse(s.stdout).sections).toEqual(JSON.parse(truth.stdout).sections);
    expect(Object.keys(JSON.parse(s.stdout).sections.iommufd).length).toBeGreaterThan(0);
    const fast = cli('state', forged, '--at', String(at), '--from-checkpoint');
    expect(fast.stdout).toMatch(/from the checkpoint after event \d+, UNCHECKED/);
  });

  it('info --deep and verify say the checkpoint is false (exit 1); plain info does not claim it checked them', () => {
    const deep = cli('info', forged, '--deep');
    expect(deep.status).toBe(1);
    expect(deep.stdout).toContain('CHECKPOINTS DISAGREE');
    expect(deep.stdout).toMatch(/checkpoint after event \d+ \(byte \d+\) holds a state the events do not build/);
    const j = JSON.parse(cli('info', forged, '--json').stdout) as { checks: { checkpoints: string } };
    expect(j.checks.checkpoints).toBe('unchecked');
    const v = cli('verify', forged);
    expect(v.status).toBe(1);
    expect(v.stdout).toMatch(/FALSE CLAIM: checkpoint after event/);
    expect(cli('verify', good).status).toBe(0);
  });

  it('the replayer stops using a checkpoint the deep check found false', () => {
    const r = TraceReplayer.open(forged);
    const t = TraceReplayer.open(good);
    expect(canonicalState(r.stateAt(at))).not.toEqual(canonicalState(t.stateAt(at)));
    const res = checkTrace(r, true);
    expect(res.badCheckpoints).toEqual([1]);
    adoptCheck(r, res);
    expect(r.checkpointClaims).toBe('disagree');
    expect(canonicalState(r.stateAt(at))).toEqual(canonicalState(t.stateAt(at)));
    r.close(); t.close();
  });
});

describe('a footer whose fault list omits a fault', () => {
  let forged: string;
  beforeAll(() => {
    forged = save('nofault.iotrace', forge(faulty, { footer: (d) => { d.faults = gapsOf([]); (d.kinds as Record<string, number>).fault = 0; } }));
  });

  it('info counts the fault from the events, says the footer disagrees, exits 1', () => {
    const truth = JSON.parse(cli('info', faulty, '--json').stdout) as { faults: number; firstFault: number };
    expect(truth.faults).toBe(1);
    const r = cli('info', forged);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`faults     1 (first at step ${truth.firstFault})`);
    expect(r.stdout).toContain('FOOTER DISAGREES');
    expect(r.stdout).toMatch(/footer lists faults at ; the events have them at \d+/);
    const j = JSON.parse(cli('info', forged, '--json').stdout) as { faults: number; firstFault: number; kinds: Record<string, number>; checks: { footer: string } };
    expect(j).toMatchObject({ faults: 1, firstFault: truth.firstFault, checks: { footer: 'disagree' } });
    expect(j.kinds.fault).toBe(1);
  });

  it('state --at first-fault finds the fault in the events; verify exits 1 naming the false list', () => {
    const truth = JSON.parse(cli('info', faulty, '--json').stdout) as { firstFault: number };
    expect(cli('state', forged, '--at', 'first-fault').stdout).toContain(`state after step ${truth.firstFault}`);
    const v = cli('verify', forged);
    expect(v.status).toBe(1);
    expect(v.stdout).toMatch(/FALSE CLAIM: footer lists faults/);
  });
});

/** Make the CRC-32 of buf equal `target` by rewriting the 4 bytes at `at` (CRC is affine over GF(2): solve 32 equations). */
function forceCrc(buf: Buffer, at: number, target: number): void {
  const base = crc32(buf);
  // basis[h]: a combination of bit flips whose CRC change has its highest set bit at h.
  const basis: ({ v: number; mask: number } | undefined)[] = new Array(32);
  for (let bit = 0; bit < 32; bit++) {
    const b = Buffer.from(buf);
    b[at + (bit >> 3)]! ^= 1 << (bit & 7);
    let v = (crc32(b) ^ base) >>> 0;
    let mask = (1 << bit) >>> 0;
    for (let h = 31; h >= 0 && v !== 0; h--) {
      if (!((v >>> h) & 1)) continue;
      const e = basis[h];
      if (!e) { basis[h] = { v, mask }; v = 0; break; }
      v = (v ^ e.v) >>> 0; mask = (mask ^ e.mask) >>> 0;
    }
  }
  let v = (base ^ target) >>> 0;
  let mask = 0;
  for (let h = 31; h >= 0; h--) {
    if (!((v >>> h) & 1)) continue;
    const e = basis[h];
    if (!e) throw new Error('no solution');
    v = (v ^ e.v) >>> 0; mask = (mask ^ e.mask) >>> 0;
  }
  for (let bit = 0; bit < 32; bit++) if ((mask >>> bit) & 1) buf[at + (bit >> 3)]! ^= 1 << (bit & 7);
}

describe('two traces whose chunks differ but share a CRC-32', () => {
  it('diff says they differ and names the first event that differs', () => {
    const big = recordTo(dir, 'big', stressScenario(3000)).path;
    const orig = TraceReplayer.open(big);
    const events = orig.events(0, orig.count);
    const first3 = orig.index.chunkFirsts[3] as number;
    orig.close();
    const bytes0 = Buffer.from(readFileSync(big));
    const e = blockOffsets(bytes0).filter((o) => bytes0[o] === 0x45)[3] as number;
    const chunk3 = bytes0.subarray(e + BLOCK_HEAD, e + BLOCK_HEAD + bytes0.readUInt32LE(e + 4));
    let twin: string | null = null;
    // A bit-packed column (a bin of 5+ bytes after the state hash): flip a bit, then restore the CRC with the 4 bytes after it.
    for (let p = 20; p < chunk3.length - 7 && twin === null; p++) {
      if (chunk3[p] !== 0xc4 || (chunk3[p + 1] as number) < 6) continue;
      const payload = Buffer.from(chunk3);
      payload[p + 2]! ^= 0x01;
      forceCrc(payload, p + 3, crc32(chunk3));
      // Forge the footer's digests for the new bytes too: only the CRC-32 is shared.
      const cand = save(`crc-twin-${p}.iotrace`, forge(big, { bytes: (kind, i, b) => (kind === 'E' && i === 3 ? payload : b) }));
      try {
        const r = TraceReplayer.open(cand);
        const got = r.events(0, r.count);
        r.close();
        // A field diff compares (tick and step are timing, which diff's alignment ignores).
        const fields = (evs: typeof events) => JSON.stringify(evs.map(({ tick: _t, step: _s, ...rest }) => rest));
        if (fields(got) !== fields(events)) twin = cand;
      } catch { /* that column did not decode: try the next bin */ }
    }
    expect(twin, 'a same-CRC chunk whose events differ').not.toBeNull();
    const tb = Buffer.from(readFileSync(twin as string));
    const te = blockOffsets(tb).filter((o) => tb[o] === 0x45)[3] as number;
    expect(tb.readUInt32LE(te + 8)).toBe(crc32(chunk3));
    const d = cli('diff', big, twin as string, '--json');
    expect(d.status).toBe(1);
    const doc = JSON.parse(d.stdout) as { identical: boolean; commonPrefix: number; skippedChunks: number };
    expect(doc.identical).toBe(false);
    expect(doc.skippedChunks).toBe(3);
    expect(doc.commonPrefix).toBeGreaterThanOrEqual(first3);
  });
});

describe('an index whose chunks overlap', () => {
  it('is refused: the trace reads the same with and without its footer', () => {
    const r0 = TraceReplayer.open(good);
    const offsets = r0.index.chunkOffsets.slice();
    const all = r0.events(0, r0.count);
    r0.close();
    // Chunk 2 moved to point into chunk 1's payload.
    offsets[2] = (offsets[1] as number) + 20;
    const forged = save('overlap.iotrace', forge(good, { footer: (d) => { d.chunkOffsets = gapsOf(offsets); } }));
    const r = TraceReplayer.open(forged);
    expect(r.truncated?.reason).toMatch(/footer unusable \(index puts chunk 2 at byte \d+, the blocks have it at \d+/);
    expect(r.events(0, r.count)).toEqual(all);
    r.close();
  });
});

describe('a damaged middle chunk', () => {
  it('info does not say whole: it reads every block and says where the damage is', () => {
    const bytes = Buffer.from(readFileSync(good));
    const e = blockOffsets(bytes).filter((o) => bytes[o] === 0x45)[4] as number;
    bytes[e + BLOCK_HEAD + 3]! ^= 0xff;
    const p = save('middle.iotrace', bytes);
    const r = cli('info', p);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('whole      yes');
    expect(r.stdout).toMatch(new RegExp(`DAMAGED .* stopped at byte ${e}: chunk 4: block checksum mismatch`));
    const j = JSON.parse(cli('info', p, '--json').stdout) as { whole: boolean; events: number };
    expect(j.whole).toBe(false);
    expect(j.events).toBe(16);
  });

  it('a chunk rewritten with a valid CRC but a stale SHA-256 in the index is damage, not data', () => {
    const forged = forge(good, {});
    const p = save('stale-digest.iotrace', forged);
    expect(cli('info', p).stdout).toContain('whole      yes');
    const bytes = Buffer.from(readFileSync(p));
    const e = blockOffsets(bytes).filter((o) => bytes[o] === 0x45)[2] as number;
    const len = bytes.readUInt32LE(e + 4);
    const payload = bytes.subarray(e + BLOCK_HEAD, e + BLOCK_HEAD + len);
    const hashAt = payload.indexOf(Buffer.from([0xc4, 16])) + 2;
    payload[hashAt]! ^= 1;
    bytes.writeUInt32LE(crc32(payload), e + 8);
    const q = save('stale-digest2.iotrace', bytes);
    const r = cli('info', q);
    expect(r.stdout).toMatch(/chunk 2: SHA-256 of its bytes differs from the index's/);
    expect(r.stdout).not.toContain('whole      yes');
  });
});

describe('format 1 traces', () => {
  it('still open, with a note that they lack the strong hash; verify says it checked CRC-32 only, not "every digest"', () => {
    const v1 = save('v1.iotrace', forge(faulty, { version: 1 }));
    const info = cli('info', v1);
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/format 1 \(no SHA-256 digests: identity rests on CRC-32 only/);
    const v = cli('verify', v1);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^ok: 41 events identical, \d+ state hashes match; every checksum \(CRC-32 only: format 1 has no SHA-256 digests\), footer count and checkpoint agrees with the events\n$/m);
    expect(v.stdout).not.toContain('every digest');
    const j = JSON.parse(cli('verify', v1, '--json').stdout) as { ok: boolean; strongHashes: boolean };
    expect(j).toMatchObject({ ok: true, strongHashes: false });
    expect(JSON.parse(cli('verify', faulty, '--json').stdout)).toMatchObject({ ok: true, strongHashes: true });
  });
});

describe('the replay debugger over a forged footer', () => {
  it('shows the fault the footer omits, says the index is false, and f jumps to it', async () => {
    const { openUi } = await import('./tui-helpers.js');
    const forged = save('nofault-tui.iotrace', forge(faulty, { footer: (d) => { d.faults = gapsOf([]); (d.kinds as Record<string, number>).fault = 0; } }));
    const truth = TraceReplayer.open(faulty);
    const first = truth.faults[0] as number;
    truth.close();
    const ui = await openUi(forged);
    expect(ui.status()).toContain(`first fault #${first}`);
    expect(ui.status()).toContain('1F 0V');
    expect(ui.status()).toContain('INDEX FALSE');
    await ui.press('f');
    expect(ui.d.cursor).toBe(first);
    ui.close();
  });

  it('a true trace shows no claim marker once checked', async () => {
    const { openUi } = await import('./tui-helpers.js');
    const ui = await openUi(faulty);
    expect(ui.status()).not.toMatch(/unchecked|INDEX FALSE/);
    ui.close();
  });
});

describe('a damaged checkpoint in a trace whose events all read back', () => {
  it('info says where the damage is (not "byte null"), and --json gives its offset and reason', () => {
    const bytes = Buffer.from(readFileSync(good));
    const s = blockOffsets(bytes).filter((o) => bytes[o] === 0x53)[0] as number;
    bytes[s + BLOCK_HEAD + 2]! ^= 0xff;
    const p = save('cp-damaged.iotrace', bytes);
    const r = cli('info', p);
    expect(r.stdout).toMatch(new RegExp(`DAMAGED +every event reads back; damage at byte ${s}: checkpoint 0: block checksum mismatch`));
    expect(r.stdout).not.toContain('null');
    const j = JSON.parse(cli('info', p, '--json').stdout) as { whole: boolean; truncation: { offset: number; reason: string } | null };
    expect(j.whole).toBe(false);
    expect(j.truncation).toEqual({ offset: s, reason: expect.stringMatching(/^checkpoint 0: block checksum mismatch/) });
  });
});

describe('a state cell of the wrong shape (a forged event)', () => {
  it('is shown, never thrown: the TUI draws every cell with cellText', async () => {
    const { cellText } = await import('../engine/summary.js');
    const hostile = JSON.parse('{"p":true,"pgtt":{"toString":1},"flptr":"x"}') as unknown;
    expect(() => cellText('pasid', hostile)).not.toThrow();
    expect(() => cellText('pasid', 5)).not.toThrow();
    expect(() => cellText('iotlb', { pa: undefined, toString: 3 })).not.toThrow();
    expect(cellText('pasid', 5)).toMatch(/not a PASID entry/);
  });
});
