// The debugger's pieces on their own: search syntax, the bounded keyed diff,
// the virtualised event list on a larger stress trace.
import { PassThrough, Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyState } from '../engine/state.js';
import type { TraceEvent } from '../engine/types.js';
import type { CellRef, Replayer } from '../replayer/api.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { openDebugger } from '../tui/app.js';
import { diffStep, renderDiff } from '../tui/diff.js';
import { parseQuery } from '../tui/search.js';
import { KEY, record, tmp } from './tui-helpers.js';

describe('search syntax', () => {
  it('reads kinds, families, RIDs, PASIDs, ioctl names and free text', () => {
    expect(parseQuery('fault')).toEqual({ kinds: ['fault'] });
    expect(parseQuery('IOMMU_HWPT_ALLOC')).toEqual({ cmd: 'IOMMU_HWPT_ALLOC' });
    expect(parseQuery('00:02.0 pasid:5 dma')).toEqual({ rid: '00:02.0', pasid: 5, kinds: ['dma'] });
    expect(parseQuery('kind:invalidation').kinds).toEqual(['iotlb-inval', 'pasid-cache-inval', 'context-cache-inval', 'atc-inval']);
    expect(parseQuery('rid=00:03.0 cmd:ioasid_alloc')).toEqual({ rid: '00:03.0', cmd: 'ioasid_alloc' });
    expect(parseQuery('"dma write" 0x59 blocked')).toEqual({ text: 'dma write 0x59 blocked' });
  });
});

describe('keyed diff', () => {
  it('compares only written cells, keyed by (section, key), and summarises a huge change', () => {
    const before = emptyState();
    const after = emptyState();
    const touched: CellRef[] = [];
    for (let i = 0; i < 5000; i++) {
      after.s.iotlb[`dmar0/1/1/${i}`] = { pa: 0x1000 * i, write: true };
      touched.push({ section: 'iotlb', key: `dmar0/1/1/${i}` });
    }
    before.s.wq['00:02.0/wq0'] = { mode: 'dedicated', pasid: null, enabled: true };
    after.s.wq['00:02.0/wq0'] = { mode: 'dedicated', pasid: 5, enabled: true };
    touched.push({ section: 'wq', key: '00:02.0/wq0' }, { section: 'wq', key: '00:02.0/wq0' });
    const d = diffStep(before, after, touched, 50);
    expect(d.written).toBe(5001);
    expect(d.changed).toBe(5001);
    expect(d.entries.length).toBe(50);
    // Section order (iotlb before wq), natural key order within a section.
    expect(d.entries[0]).toMatchObject({ section: 'iotlb', key: 'dmar0/1/1/0', op: '+' });
    expect(d.entries[10]).toMatchObject({ key: 'dmar0/1/1/10' });
    const text = renderDiff(d, 'step 9 iotlb-fill', 80).join('\n');
    expect(text).toContain('5001 cells changed');
    expect(text).toContain('… 4951 more changes not shown (by section: iotlb 5000, wq 1)');
    const small = diffStep(before, after, [{ section: 'wq', key: '00:02.0/wq0' }]);
    expect(renderDiff(small, 'step 1', 80).join('\n')).toContain('pasid - → 5');
  });
});

describe('virtualised event list', () => {
  let path = '';
  beforeAll(() => { path = record(tmp(), 'stress', {}, 200_000); });

  it('reads only the events on screen, however long the trace', async () => {
    const r = TraceReplayer.open(path);
    expect(r.count).toBeGreaterThan(150_000);
    let read = 0;
    const counting: Replayer = new Proxy(r, {
      get(target, prop, recv) {
        if (prop === 'events') return (a: number, b: number): TraceEvent[] => { const evs = target.events(a, b); read += evs.length; return evs; };
        if (prop === 'event') return (n: number): TraceEvent => { read++; return target.event(n); };
        const v = Reflect.get(target, prop, recv) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
    const output = Object.assign(new Writable({ write: (_c, _e, cb: () => void) => cb() }), { isTTY: true, columns: 120, rows: 40 });
    const d = openDebugger(counting, { input, output });
    for (const key of ['G', KEY.pgup, 'g', KEY.pgdn, 'f', 'n', 'N']) {
      read = 0;
      input.write(key);
      await new Promise((res) => setImmediate(res));
      await new Promise((res) => setImmediate(res));
      expect(read, key).toBeLessThan(200);
    }
    expect(d.cursor).toBe(r.faults[0]);
    d.quit();
    r.close();
  });
});
