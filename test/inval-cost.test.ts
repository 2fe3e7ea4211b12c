// Finding F5 / F13 of the bounds red team: an invalidation wider than 512
// pages, an SMMU CFGI_STE_RANGE, cost a pass over the whole cache in every
// replay (the line index, engine/caches.ts, was kept only in a live run) and
// in the importer. Now every long-lived replayed state is indexed
// (indexedTouch): this file checks that the index changes the cost, never
// the answer (the same states, hashes, checks, exports and imported bytes with
// and without it, over every golden trace, the fuzz corpus's small traces and
// every import fixture), and that the cost is linear, by counting the cache
// cells the victim lookups visit (victimVisits), not by timing.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { fillsThenWideInvals, smmuSteRangeLog, vtdWideInvalLog } from '../bench/inval-workloads.js';
import { victimVisits } from '../engine/caches.js';
import { exportTrace } from '../exporters/export.js';
import { FTRACE } from '../importers/ftrace.js';
import { importLog } from '../importers/import.js';
import { QEMU } from '../importers/qemu.js';
import { checkTrace } from '../replayer/check.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { StateHasher } from '../trace/state-codec.js';
import { Corpus } from './fuzz/corpus.js';

// Off: every reader's indexedTouch() gives the bare touch, as before the fix (the state is scanned per invalidation).
const flag = vi.hoisted(() => ({ indexed: true }));
vi.mock('../engine/caches.js', async (original) => {
  const m = await original<typeof import('../engine/caches.js')>();
  return { ...m, indexedTouch: (s: Parameters<typeof m.indexedTouch>[0], t?: Parameters<typeof m.indexedTouch>[1]) => (flag.indexed ? m.indexedTouch(s, t) : (t ?? (() => {}))) };
});

const dir = mkdtempSync(join(tmpdir(), 'iotrace-inval-cost-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function both<T>(f: () => T | Promise<T>): Promise<{ indexed: T; scanned: T }> {
  flag.indexed = true;
  const indexed = await f();
  flag.indexed = false;
  try { return { indexed, scanned: await f() }; } finally { flag.indexed = true; }
}

/** The cells the victim lookups visit while `f` runs. */
function visits(f: () => void): number {
  const before = victimVisits.cells;
  f();
  return victimVisits.cells - before;
}

/** What a reader sees of a trace: states (and their hashes) at a spread of steps, the replayed last state, the deep check, the Perfetto export. */
async function readerView(path: string): Promise<string> {
  const r = TraceReplayer.open(path);
  try {
    const out: string[] = [];
    const step = Math.max(1, Math.floor(r.count / 40));
    for (let n = -1; n < r.count; n += step) {
      const s = r.stateAt(n);
      out.push(`${n} ${Buffer.from(new StateHasher().seal(s)).toString('hex')} ${JSON.stringify(s)}`);
    }
    if (r.count > 0) out.push(JSON.stringify(r.replayedState(r.count - 1)), JSON.stringify(r.stateAt(r.count - 1)));
    const { problems, checkpointsOk, whole, claimsOk } = checkTrace(TraceReplayer.open(path), true);
    out.push(JSON.stringify({ problems, checkpointsOk, whole, claimsOk }));
    const parts: Buffer[] = [];
    await exportTrace(r, { format: 'perfetto', from: 0, to: r.count, kinds: null }, async (c) => { parts.push(typeof c === 'string' ? Buffer.from(c) : c); });
    out.push(Buffer.concat(parts).toString('base64'));
    return out.join('\n');
  } finally { r.close(); }
}

const TRACES = join(process.cwd(), 'traces');
const FIXTURES = join(process.cwd(), 'test/fixtures/import');

describe('F5: the line index changes what a replay costs, not what it finds', () => {
  it('every golden trace: the same states, hashes, deep check and export with and without the index', async () => {
    const names = readdirSync(TRACES).filter((f) => f.endsWith('.iotrace')).sort();
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      const r = await both(() => readerView(join(TRACES, name)));
      if (r.indexed !== r.scanned) expect.fail(`${name}: a reader sees something else with the index`);
    }
  }, 300_000);

  it('the fuzz corpus\'s small traces: the same with and without the index', async () => {
    const corpus = new Corpus();
    try {
      for (const e of corpus.small) {
        const r = await both(() => readerView(e.path));
        if (r.indexed !== r.scanned) expect.fail(`${e.name}: a reader sees something else with the index`);
      }
    } finally { corpus.done(); }
  }, 300_000);

  it('every import fixture imports to the same bytes with and without the index', async () => {
    for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.log') || x.endsWith('.txt')).sort()) {
      const fmt = f.startsWith('qemu') ? QEMU : FTRACE;
      const bytes = await both(async () => {
        const out = join(dir, `${f}-${String(flag.indexed)}.iotrace`);
        await importLog(join(FIXTURES, f), out, fmt);
        return readFileSync(out);
      });
      expect(bytes.indexed.equals(bytes.scanned), f).toBe(true);
    }
  }, 120_000);

  it('N fills then N wide invalidations: the same states either way, and the replay visits O(N) cells (O(N^2) without the index)', async () => {
    const small = await both(() => readerView(fillsThenWideInvals(500, join(dir, 'wide-500.iotrace'))));
    expect(small.indexed).toBe(small.scanned);
    const n = 3000;
    const path = fillsThenWideInvals(n, join(dir, 'wide.iotrace'));
    const cost = await both(() => {
      const r = TraceReplayer.open(path);
      try {
        const last = visits(() => r.stateAt(r.count - 1));
        const replayed = visits(() => r.replayedState(r.count - 1));
        const deep = visits(() => checkTrace(TraceReplayer.open(path), true));
        return { last, replayed, deep, state: r.stateAt(r.count - 1) };
      } finally { r.close(); }
    });
    // Every fill was dropped by the 1024-page invalidations.
    expect(Object.keys(cost.indexed.state.s.iotlb)).toEqual([]);
    expect(cost.scanned.state).toEqual(cost.indexed.state);
    for (const k of ['last', 'replayed', 'deep'] as const) {
      expect(cost.indexed[k], k).toBeLessThanOrEqual(3 * n);
      expect(cost.scanned[k], `${k} without the index`).toBeGreaterThan(n * n / 4);
    }
  }, 120_000);
});

describe('F5 and F13: an import of N fills / streams then N wide invalidations is linear', () => {
  const importVisits = async (name: string, lines: string[]): Promise<{ indexed: number; scanned: number; same: boolean }> => {
    const log = join(dir, name);
    writeFileSync(log, `${lines.join('\n')}\n`);
    const r = await both(async () => {
      const out = join(dir, `${name}-${String(flag.indexed)}.iotrace`);
      const before = victimVisits.cells;
      await importLog(log, out, QEMU);
      return { cells: victimVisits.cells - before, bytes: readFileSync(out) };
    });
    return { indexed: r.indexed.cells, scanned: r.scanned.cells, same: r.indexed.bytes.equals(r.scanned.bytes) };
  };

  it('VT-d: N page updates, then N 65 536-page invalidations of another domain', async () => {
    const n = 4000;
    const v = await importVisits('vtd-wide.log', vtdWideInvalLog(n));
    expect(v.same).toBe(true);
    // Two passes over the log; each invalidation looks up one prefix that holds nothing (the IOTLB resets at 1024 lines).
    expect(v.indexed).toBeLessThanOrEqual(8 * n);
    expect(v.scanned).toBeGreaterThan(n * 1024 / 2);
  }, 120_000);

  it('SMMUv3: N streams cached, then N CFGI_STE_RANGE whose range holds none', async () => {
    const n = 1500;
    const v = await importVisits('smmu-range.log', smmuSteRangeLog(n));
    expect(v.same).toBe(true);
    // Two passes; a range that holds nothing is one binary search, one that holds every stream a few cells per stream.
    expect(v.indexed).toBeLessThanOrEqual(12 * n);
    expect(v.scanned).toBeGreaterThan(n * n);
  }, 120_000);
});
