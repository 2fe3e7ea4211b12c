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
import type { TraceEvent } from '../engine/types.js';
import { RecordLimitError, TraceWriter } from '../recorder/writer.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { encodeChunk } from '../trace/chunk.js';
import { BLOCK, FORMAT_VERSION, frameBlock, LIMITS, preamble } from '../trace/format.js';
import { encodeHeader } from '../trace/header.js';
import { encodeCheckpoint } from '../trace/state-codec.js';
import { emptyState } from '../engine/state.js';
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
