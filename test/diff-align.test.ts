// Alignment and the diff report: inserted, removed and changed events,
// different lengths, a truncated copy, late and event-only divergence found
// through the trace index, and bounded work on traces that differ everywhere.
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyState } from '../engine/state.js';
import type { TraceEvent } from '../engine/types.js';
import { loadScenario } from '../scenarios/index.js';
import { align } from '../replayer/align.js';
import { commonPrefix } from '../replayer/common-prefix.js';
import { AlignedRows } from '../replayer/diff-rows.js';
import { changedFields, identityOf } from '../replayer/identity.js';
import { MemorySide } from '../replayer/memory-side.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { diffStates } from '../replayer/state-diff.js';
import { diffTraces, firstDivergence } from '../replayer/trace-diff.js';
import { changeAt, events, insertAt, removeAt, stress, tmp, write } from './diff-helpers.js';

const side = (evs: TraceEvent[]) => new MemorySide(evs);

describe('identity', () => {
  it('ignores seq, tick, step and outcomes; keeps what was asked for', () => {
    const dma = { seq: 1, tick: 2, step: 3, kind: 'dma', rid: '00:02.0', pasid: 5, addr: 0x400000, write: true, via: 'walk', pa: 0x1000, ok: true } as TraceEvent;
    expect(identityOf({ ...dma, seq: 9, tick: 9, step: 9, via: 'iotlb', ok: false, pa: null } as TraceEvent)).toBe(identityOf(dma));
    expect(identityOf({ ...dma, pasid: 6 } as TraceEvent)).not.toBe(identityOf(dma));
    expect(identityOf({ ...dma, addr: 0x401000 } as TraceEvent)).not.toBe(identityOf(dma));
    expect(changedFields(dma, { ...dma, seq: 7, via: 'atc' } as TraceEvent)).toEqual(['via']);
  });
});

describe('alignment of edited streams (dwq-gpasid)', () => {
  const sc = loadScenario('dwq-gpasid');
  const base = events(sc, { pasid: 'identity' });

  it('the same stream: identical, no divergence', () => {
    const d = diffTraces(side(base), side([...base]));
    expect(d.identical).toBe(true);
    expect(d.firstDivergence).toBeNull();
    expect(d.commonPrefix).toBe(base.length);
  });

  it('an inserted invalidation is one insertion, not every later event changed', () => {
    const d = diffTraces(side(base), side(insertAt(base, 30)));
    expect(d).toMatchObject({ identical: false, commonPrefix: 30, onlyInA: 0, onlyInB: 1, changed: 0, same: base.length });
    expect(d.firstDivergence).toMatchObject({ a: 30, b: 30, op: '+' });
    expect(d.firstDivergence?.eventB?.kind).toBe('iotlb-inval');
    expect(d.byKind['iotlb-inval']).toEqual({ onlyInA: 0, onlyInB: 1, changed: 0 });
    expect(d.segments).toEqual([{ op: '=', a: 0, b: 0, n: 30 }, { op: '+', b: 30, n: 1 }, { op: '=', a: 30, b: 31, n: base.length - 30 }]);
  });

  it('a removed event is one removal', () => {
    const d = diffTraces(side(base), side(removeAt(base, 12)));
    expect(d).toMatchObject({ commonPrefix: 12, onlyInA: 1, onlyInB: 0, changed: 0 });
    expect(d.firstDivergence).toMatchObject({ a: 12, b: 12, op: '-' });
    expect(d.firstDivergence?.eventA?.kind).toBe(base[12]?.kind);
  });

  it('a changed outcome is one changed event with the differing fields', () => {
    const dma = base.findIndex((e) => e.kind === 'dma');
    const d = diffTraces(side(base), side(changeAt(base, dma, { via: 'iotlb' })));
    expect(d).toMatchObject({ commonPrefix: dma, onlyInA: 0, onlyInB: 0, changed: 1 });
    expect(d.firstDivergence).toMatchObject({ a: dma, b: dma, op: '~', fields: ['via'] });
  });

  it('insertion, removal and change together keep the rest aligned', () => {
    let b = changeAt(base, 35, { dropped: 7 });
    b = removeAt(b, 25);
    b = insertAt(b, 10);
    const d = diffTraces(side(base), side(b));
    expect(d).toMatchObject({ onlyInA: 1, onlyInB: 1, changed: 1, same: base.length - 2 });
  });

  it('traces of different length: the shorter one is a prefix', () => {
    const d = diffTraces(side(base), side(base.slice(0, 25)));
    expect(d).toMatchObject({ identical: false, commonPrefix: 25, onlyInA: base.length - 25, onlyInB: 0 });
    expect(d.firstDivergence).toMatchObject({ a: 25, b: 25, op: '-', eventB: null });
    const r = diffTraces(side(base.slice(0, 25)), side(base));
    expect(r).toMatchObject({ onlyInA: 0, onlyInB: base.length - 25 });
    expect(r.firstDivergence).toMatchObject({ op: '+', eventA: null });
  });

  it('identity vs translated: the divergence carries the guest PASID, the 0x59 fault is on B only, states part at the vIOMMU entry', () => {
    const b = events(sc, { pasid: 'translated' });
    const d = diffTraces(side(base), side(b));
    const f = d.firstDivergence;
    expect(f).not.toBeNull();
    const fault = b.findIndex((e) => e.kind === 'fault');
    expect(f?.b).toBeLessThan(fault);
    expect(JSON.stringify(f?.eventB)).toMatch(/"pasid":5/);
    expect(JSON.stringify(f?.eventA)).toMatch(/"pasid":1/);
    expect(d.faultsOnlyInA).toEqual([]);
    expect(d.faultsOnlyInB.map((p) => [p.step, p.reason])).toEqual([[fault, 0x59]]);
    expect(d.statesPart?.diff.entries.map((e) => `${e.op} ${e.section} ${e.key}`)).toEqual(['- vpasid vm0/00:02.0/1', '+ vpasid vm0/00:02.0/5']);
  });
});

describe('retimed rows: the same event and outcome at another tick, step or obs', () => {
  const base = events(loadScenario('dwq-gpasid'), { pasid: 'identity' });
  const later = (evs: TraceEvent[], from: number, to: number): TraceEvent[] => evs.map((ev, i) => (i >= from && i < to ? { ...ev, tick: ev.tick + 3 } : ev));

  it('are their own op, merged into runs, and counted apart from same and changed', () => {
    const b = changeAt(later(base, 5, 9), 12, { step: 99 });
    const al = align(side(base), side(b));
    expect(al.segments).toEqual([
      { op: '=', a: 0, b: 0, n: 5 }, { op: 't', a: 5, b: 5, n: 4 }, { op: '=', a: 9, b: 9, n: 3 },
      { op: 't', a: 12, b: 12, n: 1 }, { op: '=', a: 13, b: 13, n: base.length - 13 },
    ]);
    const d = diffTraces(side(base), side(b));
    expect(d).toMatchObject({ identical: false, commonPrefix: 5, same: base.length - 5, retimed: 5, changed: 0, byKind: {} });
    expect(d.firstDivergence).toMatchObject({ a: 5, b: 5, op: 't', fields: ['tick'] });
    // A retimed row beside a changed one: the changed row names its timing fields too.
    const both = diffTraces(side(base), side(changeAt(later(base, 5, 6), 5, { errno: 9 })));
    expect(both.firstDivergence?.op).toBe('~');
    expect([...(both.firstDivergence?.fields ?? [])].sort()).toEqual(['errno', 'tick']);
  });

  it('open no run of differences: differences() and nextDifference pass over them', () => {
    const dma = base.findIndex((e) => e.kind === 'dma');
    const b = changeAt(later(base, 5, base.length), dma, { via: 'iotlb' });
    const rows = new AlignedRows(align(side(base), side(b)).segments);
    expect(rows.row(6)).toEqual({ op: 't', a: 6, b: 6, aUpTo: 6, bUpTo: 6 });
    expect([...rows.differences()]).toEqual([{ from: dma, to: dma + 1 }]);
    expect(rows.nextDifference(0, 1)).toBe(dma);
    expect(rows.nextDifference(dma, 1)).toBeNull();
    expect(rows.nextDifference(base.length - 1, -1)).toBe(dma);
    // Only retimed rows: nothing to visit, yet not identical.
    const only = new AlignedRows(align(side(base), side(later(base, 5, 9))).segments);
    expect([...only.differences()]).toEqual([]);
    expect(only.nextDifference(0, 1)).toBeNull();
  });
});

describe('keyed state diff', () => {
  it('matches cells by (section, key)', () => {
    const a = emptyState();
    const b = emptyState();
    a.s.pasid['00:02.0/1'] = { p: true, fpd: false, pgtt: 1, slptptr: 0, flptr: 0x1000, did: 4, pgsnp: false };
    b.s.pasid['00:02.0/1'] = { p: true, fpd: false, pgtt: 1, slptptr: 0, flptr: 0x2000, did: 4, pgsnp: false };
    b.s.pasid['00:02.0/5'] = { p: true, fpd: false, pgtt: 1, slptptr: 0, flptr: 0x1000, did: 4, pgsnp: false };
    a.s.wq['00:02.0/wq0'] = { mode: 'dedicated', pasid: 5, enabled: true };
    b.s.wq['00:02.0/wq0'] = { enabled: true, pasid: 5, mode: 'dedicated' };
    const d = diffStates(a, b);
    expect(d.entries.map((e) => `${e.op} ${e.section} ${e.key}`)).toEqual(['~ pasid 00:02.0/1', '+ pasid 00:02.0/5']);
  });
});

describe('trace files: the index skips the common prefix', () => {
  const sc = stress(20_000);
  let base: TraceEvent[] = [];
  let dir = '';
  let pathA = '';
  beforeAll(() => {
    base = events(sc);
    dir = tmp();
    pathA = write(dir, 'a', sc, base);
  });

  it('a late insertion: whole chunks matched without decoding, exact first event', () => {
    const at = 15_003;
    const b = TraceReplayer.open(write(dir, 'late', sc, insertAt(base, at)));
    const a = TraceReplayer.open(pathA);
    const p = commonPrefix(a, b);
    expect(p.chunks).toBe(Math.floor(at / 256));
    expect(p.events).toBe(Math.floor(at / 256) * 256);
    expect(firstDivergence(a, b)).toEqual({ a: at, b: at });
    const d = diffTraces(a, b);
    expect(d).toMatchObject({ commonPrefix: at, onlyInB: 1, onlyInA: 0, changed: 0, stopped: null });
    a.close(); b.close();
  });

  it('a difference that writes no state (a DMA outcome) is found: chunks are compared by the SHA-256 of their bytes', () => {
    const at = base.findIndex((e, i) => i > 12_000 && e.kind === 'dma');
    const b = TraceReplayer.open(write(dir, 'dma', sc, changeAt(base, at, { via: 'none', ok: false, pa: null })));
    const a = TraceReplayer.open(pathA);
    const p = commonPrefix(a, b);
    expect(p.chunks).toBe(Math.floor(at / 256));
    const d = diffTraces(a, b);
    expect(d.firstDivergence).toMatchObject({ a: at, b: at, op: '~' });
    expect(d).toMatchObject({ changed: 1, onlyInA: 0, onlyInB: 0 });
    a.close(); b.close();
  });

  it('scattered edits across many windows are each counted once', () => {
    let b = base;
    const ins = [1_000, 7_000, 13_000, 19_000];
    const rem = [4_000, 10_000, 16_000];
    const chg = [2_500, 8_500, 14_500].map((n) => b.findIndex((e, i) => i >= n && e.kind === 'dma'));
    for (const n of chg) b = changeAt(b, n, { via: 'none' });
    // Edit from the back so earlier positions stay put.
    for (const n of [...ins.map((x) => ['+', x] as const), ...rem.map((x) => ['-', x] as const)].sort((x, y) => y[1] - x[1])) {
      b = n[0] === '+' ? insertAt(b, n[1]) : removeAt(b, n[1]);
    }
    const d = diffTraces(side(base), side(b), { window: 1024, margin: 64 });
    expect(d).toMatchObject({ onlyInA: rem.length, onlyInB: ins.length, changed: chg.length, stopped: null });
    expect(new AlignedRows(d.segments).count).toBe(base.length + ins.length);
  });

  it('a much longer trace: the rest is only on one side, not a failed alignment', () => {
    const d = diffTraces(side(base.slice(0, 500)), side(base), { window: 256, margin: 16, maxFailures: 2 });
    expect(d).toMatchObject({ commonPrefix: 500, onlyInA: 0, onlyInB: base.length - 500, stopped: null, failedWindows: 0 });
  });

  it('a truncated copy of itself: every event the copy holds agrees, the rest cannot be compared (identical null, no divergence)', () => {
    const cut = join(dir, 'cut.iotrace');
    copyFileSync(pathA, cut);
    const bytes = readFileSync(cut);
    writeFileSync(cut, bytes.subarray(0, Math.floor(statSync(cut).size * 0.6)));
    const a = TraceReplayer.open(pathA);
    const b = TraceReplayer.open(cut);
    expect(b.truncated).not.toBeNull();
    expect(b.count).toBeGreaterThan(0);
    const d = diffTraces(a, b);
    // The copy's lost events may be A's rest: nothing says they are only in A.
    expect(d).toMatchObject({ identical: null, damaged: { a: null, b: b.count }, commonPrefix: b.count, onlyInA: a.count - b.count, onlyInB: 0, changed: 0 });
    expect(d.skipped?.chunks).toBe(b.chunks.length);
    expect(d.firstDivergence).toBeNull();
    a.close(); b.close();
  });

  it('two traces that differ everywhere (other seed) give a bounded summary quickly', () => {
    const other = side(events(sc, {}, 7));
    const t = performance.now();
    const al = align(side(base), other, { maxFailures: 4 });
    expect(performance.now() - t).toBeLessThan(5_000);
    const d = diffTraces(side(base), other, { maxFailures: 4 });
    expect(d.identical).toBe(false);
    // Either aligned with many differences, or stopped with the rest marked as not aligned.
    if (al.stopped) expect(al.segments[al.segments.length - 1]?.op).toBe('?');
    expect(d.onlyInA + d.changed).toBeGreaterThan(0);
  });
});
