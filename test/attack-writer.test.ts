// The writer obeys the reader: a recording the reader would refuse (a note
// over the string bound, more steps than a msgpack array may hold) is
// refused before a byte is written, in one line; and what the writer does
// write, the reader reads back whole — including a recovered trace with more
// checkpoints than a function call may take arguments.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_VERSION } from '../engine/run.js';
import type { State, TraceEvent } from '../engine/types.js';
import { RecordLimitError, TraceWriter } from '../recorder/writer.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { encodeChunk } from '../trace/chunk.js';
import { BLOCK, FORMAT_VERSION, frameBlock, LIMITS, preamble } from '../trace/format.js';
import { encodeHeader } from '../trace/header.js';
import { encodeCheckpoint } from '../trace/state-codec.js';
import { emptyState, SECTION_NAMES } from '../engine/state.js';
import { loadScenario } from '../scenarios/index.js';
import { tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd });

const base = { name: 'w', description: 'writer limits', platform: { iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }] } };

describe('the writer refuses what the reader would refuse', () => {
  it('a note over 1 MiB: record exits 2 with one line, and no trace or temp file is left', () => {
    const dir = tmp();
    const file = join(dir, 'note.json');
    writeFileSync(file, JSON.stringify({ ...base, steps: [{ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', note: 'x'.repeat(LIMITS.str + 1) }] }));
    const r = cli(dir, 'record', file, '-o', join(dir, 'out.iotrace'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot record: scenario\.steps\[0\]\.note: a string of 1048577 characters, more than 1048576 \(a trace reader refuses it\)/);
    expect(readdirSync(dir).sort()).toEqual(['note.json']);
  });

  it('more steps than a header array may hold: refused by the writer before it opens a file', () => {
    const dir = tmp();
    const steps = Array.from({ length: LIMITS.chunkEvents * 4 + 1 }, () => ({ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC' }));
    const path = join(dir, 'steps.iotrace');
    expect(() => new TraceWriter(path, { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario: { ...base, steps } as never, variant: {}, seed: 0 })).toThrow(RecordLimitError);
    expect(() => new TraceWriter(path, { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario: { ...base, steps } as never, variant: {}, seed: 0 })).toThrow(/scenario\.steps: 262145 elements, more than 262144/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('what the writer accepts at the bound, the reader reads back whole', () => {
    const dir = tmp();
    const file = join(dir, 'at-bound.json');
    writeFileSync(file, JSON.stringify({ ...base, steps: [{ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', note: 'y'.repeat(LIMITS.str) }] }));
    const out = join(dir, 'at-bound.iotrace');
    expect(cli(dir, 'record', file, '-o', out).status).toBe(0);
    const info = JSON.parse(cli(dir, 'info', out, '--json').stdout) as { whole: boolean; events: number };
    expect(info).toMatchObject({ whole: true });
    expect(info.events).toBeGreaterThan(1);
  });
});

describe('recovery of a trace with very many checkpoints', () => {
  it('130 000 chunks each followed by a checkpoint, no footer: recovered whole, no stack overflow', () => {
    const dir = tmp();
    const n = 130_000;
    const sc = loadScenario('dwq-gpasid');
    const parts: Buffer[] = [preamble(), frameBlock(BLOCK.header, encodeHeader({ format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario: sc, variant: { pasid: 'identity' }, seed: 0, chunkEvents: 1, checkpointEvery: 1 }))];
    const cp = frameBlock(BLOCK.state, encodeCheckpoint(emptyState()));
    for (let i = 0; i < n; i++) {
      const ev = { seq: i, tick: 0, step: 0, kind: 'expect', expected: 'ok', actual: 'ok', ok: true } as TraceEvent;
      parts.push(frameBlock(BLOCK.events, encodeChunk([ev], new Uint8Array(16))), cp);
    }
    const path = join(dir, 'many.iotrace');
    writeFileSync(path, Buffer.concat(parts));
    const r = TraceReplayer.open(path);
    expect(r.count).toBe(n);
    expect(r.index.checkpointSeqs.length).toBe(n);
    expect(r.checkpointEvery).toBe(1);
    expect(r.truncated?.reason).toMatch(/130000 events in 130000 whole chunk\(s\) recovered/);
    r.close();
  });
});

describe('a checkpoint at the reader\'s bound', () => {
  // 300 000 cells in one section (its key array was over the reader's 262 144), then cells holding arrays up to LIMITS.elements
  // decoded values: 4, then 4 per section, 2 per one-value cell, 2 + n per cell of an n-array (the bound that binds).
  const stateOf = (extra: number): State => {
    const s = emptyState();
    s.seq = 0;
    const iotlb = s.s.iotlb as Record<string, unknown>;
    const many = 300_000;
    for (let i = 0; i < many; i++) iotlb[`p${i.toString(36)}`] = 1;
    let left = LIMITS.elements - 4 - 4 * SECTION_NAMES.length - 2 * many + extra;
    const atc = s.s.atc as Record<string, unknown>;
    for (let i = 0; left > 0; i++) {
      const n = Math.min(60_000, left - 2);
      atc[`a${i}`] = new Array<number>(n).fill(7);
      left -= 2 + n;
    }
    expect(left).toBe(0);
    return s;
  };
  const ev = { seq: 0, tick: 0, step: 0, kind: 'kcall', fn: 'f', args: {}, errno: null, out: {} } as unknown as TraceEvent;
  const header = { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario: { ...base, steps: [] } as never, variant: {}, seed: 0 };

  it('the largest state the reader takes is written and read back whole (it was refused as an array over 262 144)', () => {
    const dir = tmp();
    const path = join(dir, 'big.iotrace');
    const w = new TraceWriter(path, header, { chunkEvents: 1, checkpointEvery: 1 });
    const state = stateOf(0);
    w.attach(state);
    w.pushApplied(ev);
    w.finish();
    const r = TraceReplayer.open(path);
    try {
      expect(r.truncated).toBeNull();
      const back = r.checkpointAt(0);
      const keys = Object.keys(back.s.iotlb);
      expect([keys.length, keys[0], keys[299_999], back.s.iotlb.p0]).toEqual([300_000, 'p0', `p${(299_999).toString(36)}`, 1]);
      const arrays = Object.values(back.s.atc) as unknown as number[][];
      expect(arrays.reduce((n, a) => n + a.length, 0)).toBe((Object.values(state.s.atc) as unknown as number[][]).reduce((n, a) => n + a.length, 0));
      expect(arrays.every((a) => a.every((v) => v === 7))).toBe(true);
    } finally {
      r.close();
    }
  });

  it('one value more is refused as it is written, in one line, and no file is left', () => {
    const dir = tmp();
    const path = join(dir, 'over.iotrace');
    const w = new TraceWriter(path, header, { chunkEvents: 1, checkpointEvery: 1 });
    w.attach(stateOf(1));
    let err: unknown = null;
    try { w.pushApplied(ev); } catch (e) { err = e; w.abort(); }
    expect(err).toBeInstanceOf(RecordLimitError);
    expect((err as Error).message).toBe(`cannot record: the state after event 0 is a checkpoint that holds more than ${LIMITS.elements} values (a trace reader refuses such a checkpoint)`);
    expect(readdirSync(dir)).toEqual([]);
  });
});
