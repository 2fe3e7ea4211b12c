// Small inputs, huge costs: a trace whose bytes are few but whose decoded
// values, events or applies would be many is refused by a stated limit
// (trace/format.ts LIMITS), in time bounded by its size.
import { deflateRawSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../engine/types.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { decodeChunk, encodeChunk } from '../trace/chunk.js';
import { LIMITS, TraceError } from '../trace/format.js';
import { loadScenario } from '../scenarios/index.js';
import { forge } from './forge.js';
import { recordTo, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

let dir: string;
let good: string;
beforeAll(() => {
  dir = tmp();
  good = recordTo(dir, 'good', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 4, checkpointEvery: 8 }).path;
});

/** msgpack array32 of n fixints: n decoded values in n + 5 bytes. */
function fixints(n: number): Buffer {
  const b = Buffer.alloc(n + 5);
  b[0] = 0xdd; b.writeUInt32BE(n, 1);
  return b;
}

describe('a checkpoint that inflates to millions of tiny values', () => {
  it('is refused at its limit before the values are built; state (replayed from the events) is unaffected', () => {
    // [seq, tick, [["pt", [..5M..], [..5M..]]]]: 10 M values, ~30 KB deflated.
    const n = 5_000_000;
    const body = Buffer.concat([Buffer.from([0x93, 0x07, 0x00, 0x91, 0x93, 0xa2, 0x70, 0x74]), fixints(n), fixints(n)]);
    const bomb = deflateRawSync(body, { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const p = join(dir, 'cp-bomb.iotrace');
    writeFileSync(p, forge(good, { bytes: (kind, i, b) => (kind === 'S' && i === 0 ? bomb : b) }));
    const r = TraceReplayer.open(p);
    expect(() => r.stateAt(9)).toThrow(TraceError);
    expect(() => r.stateAt(9)).toThrow(new RegExp(`more than ${LIMITS.elements} values`));
    r.close();
    const fast = cli('state', p, '--at', '9', '--from-checkpoint');
    expect(fast.status).toBe(2);
    expect(fast.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli('state', p, '--at', '9').status).toBe(0);
    const info = cli('info', p, '--deep');
    expect(info.stdout).toMatch(/checkpoint 0: bad checkpoint: msgpack holds more than \d+ values/);
  });
});

describe('a chunk of constant events', () => {
  it('announcing far more events than its bytes could hold is refused (events per byte)', () => {
    const ev = (seq: number): TraceEvent => ({ seq, tick: 1, step: 0, kind: 'expect', expected: 'ok', actual: 'ok', ok: true }) as TraceEvent;
    const events = Array.from({ length: 65_536 }, (_, i) => ev(i));
    const payload = encodeChunk(events, new Uint8Array(16));
    expect(payload.length).toBeLessThan(200);
    expect(() => decodeChunk(payload, 0)).toThrow(/65536 events in \d+ bytes \(at most 4 per byte\)/);
  });
});

describe('a footer without the checkpoints K promises', () => {
  it('is refused (recovery finds the checkpoints that are there), so no state is more than K applies away', () => {
    const p = join(dir, 'no-cp.iotrace');
    writeFileSync(p, forge(good, { footer: (d) => { d.checkpointSeqs = []; d.checkpointOffsets = []; d.checkpointDigests = new Uint8Array(0); } }));
    const r = TraceReplayer.open(p);
    expect(r.truncated?.reason).toMatch(/footer unusable \(index lists no checkpoint after event 7 \(K = 8\)/);
    expect(r.index.checkpointSeqs.length).toBeGreaterThan(0);
    r.close();
  });
});
