// Two traces that differ only in when an event happened (red team F1, F2):
// an event's tick, its scenario step or an imported event's source line
// (`obs`). Such a pair is never "identical", its common prefix stops at the
// first such event, and its rows are *retimed* ('t'): counted, shown in
// context, but not opening hunks of their own (a what-if retimes most later
// events). verify names the fields of a divergence that is only in them.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../engine/types.js';
import { loadScenario } from '../scenarios/index.js';
import { identicalEvent, sameEvent } from '../replayer/identity.js';
import { MemorySide } from '../replayer/memory-side.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { diffTraces } from '../replayer/trace-diff.js';
import { events, insertAt, write } from './diff-helpers.js';
import { forge } from './forge.js';
import { FIXTURES } from './import-helpers.js';
import { recordTo, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

interface DiffJson {
  identical: boolean | null;
  commonPrefix: number;
  same: number;
  retimed: number;
  changed: number;
  onlyInA: number;
  onlyInB: number;
  firstDivergence: { a: number; b: number; op: string; fields: string[] } | null;
  byKind: Record<string, unknown>;
  hunks: { op: string; a: number | null; b: number | null }[][];
}

let dir: string;
const save = (name: string, bytes: Buffer): string => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
/** `good` with event n edited by `edit`, every digest recomputed. */
const forgeAt = (good: string, name: string, n: number, edit: (ev: TraceEvent) => TraceEvent): string =>
  save(name, forge(good, { chunk: (_c, evs) => evs.map((ev) => (ev.seq === n ? edit(ev) : ev)) }));

const OBS = { line: 7, ts: 1000, raw: 'vtd_iotlb_page_hit sid 0x10 iova 0x1000' };
const EDITS: Record<'tick' | 'step' | 'obs', (ev: TraceEvent) => TraceEvent> = {
  tick: (ev) => ({ ...ev, tick: ev.tick + 1 }),
  step: (ev) => ({ ...ev, step: ev.step + 1 }),
  obs: (ev) => ({ ...ev, obs: OBS }),
};

beforeAll(() => { dir = tmp(); });

describe('identicalEvent: sameEvent plus tick, step and obs', () => {
  it('tells a retimed event from the same one', () => {
    const ev = events(loadScenario('iommufd-lifecycle'))[3] as TraceEvent;
    for (const edit of Object.values(EDITS)) {
      expect(sameEvent(ev, edit(ev))).toBe(true);
      expect(identicalEvent(ev, edit(ev))).toBe(false);
    }
    expect(identicalEvent(ev, { ...ev })).toBe(true);
    expect(identicalEvent({ ...ev, obs: OBS }, { ...ev, obs: { ...OBS } })).toBe(true);
    expect(identicalEvent({ ...ev, obs: OBS }, { ...ev, obs: { ...OBS, ts: null } })).toBe(false);
  });
});

describe('diff of forged traces that differ only in an event\'s tick, step or obs (F1, F2)', () => {
  let good: string;
  let count: number;
  beforeAll(() => {
    good = recordTo(dir, 'lifecycle', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 4, checkpointEvery: 8 }).path;
    const r = TraceReplayer.open(good);
    count = r.count;
    r.close();
  });

  for (const field of ['tick', 'step', 'obs'] as const) {
    for (const where of ['start', 'middle'] as const) {
      it(`${field} of one event at the ${where}: not identical, exit 1, the prefix stops there, one retimed row`, () => {
        const n = where === 'start' ? 0 : Math.floor(count / 2);
        const bad = forgeAt(good, `${field}-${where}.iotrace`, n, EDITS[field]);
        const res = cli('diff', good, bad, '--json');
        expect(res.status, res.stderr).toBe(1);
        const j = JSON.parse(res.stdout) as DiffJson;
        expect(j).toMatchObject({ identical: false, commonPrefix: n, same: count - 1, retimed: 1, changed: 0, onlyInA: 0, onlyInB: 0 });
        expect(j.firstDivergence).toMatchObject({ a: n, b: n, op: 't', fields: [field] });
        // Retimed rows open no hunk; byKind counts differences only.
        expect(j.hunks).toEqual([]);
        expect(j.byKind).toEqual({});
        const text = cli('diff', good, bad).stdout;
        expect(text).toContain(`common prefix: ${n} event(s)`);
        expect(text).toMatch(new RegExp(`first divergence: A step ${n} .*: the same event at another tick, step or source line \\(${field}\\)`));
        expect(text).toContain(`summary: ${count - 1} same, 1 retimed (same event, other tick/step/obs), 0 changed, 0 only in A, 0 only in B`);
        expect(text).not.toMatch(/^identical/m);
      });
    }
  }

  it('a tick moved before a changed field: the prefix ends at the tick, not at the field (F1)', () => {
    const r = TraceReplayer.open(good);
    const ioctl = r.events(0, r.count).find((ev) => ev.seq > 6 && ev.kind === 'ioctl') as TraceEvent & { errno: number | null };
    r.close();
    const bad = save('tick-then-errno.iotrace', forge(good, {
      chunk: (_c, evs) => evs.map((ev) => (ev.seq === 3 ? { ...ev, tick: ev.tick + 5 } : ev.seq === ioctl.seq ? { ...ev, errno: ioctl.errno === 22 ? 1 : 22 } as unknown as TraceEvent : ev)),
    }));
    const d = diffTraces(TraceReplayer.open(good), TraceReplayer.open(bad));
    expect(d.commonPrefix).toBe(3);
    expect(d.firstDivergence).toMatchObject({ a: 3, op: 't', fields: ['tick'] });
    expect(d).toMatchObject({ identical: false, retimed: 1, changed: 1 });
    // The changed ioctl opens the one hunk; the retimed row is context at most.
    const j = JSON.parse(cli('diff', good, bad, '--json', '--context', '0').stdout) as DiffJson;
    expect(j.hunks.map((h) => h.map((row) => row.op))).toEqual([['~']]);
  });

  it('the diff TUI marks the retimed row and opens on it', () => {
    const n = Math.floor(count / 2);
    const bad = forgeAt(good, 'tui-tick.iotrace', n, EDITS.tick);
    const res = cli('diff', good, bad, '--dump', '160x40');
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(new RegExp(`▶t\\s+${n} `));
    expect(res.stdout).toContain('1 retimed');
    expect(res.stdout).toContain(`first divergence: A event #${n}, B event #${n}`);
  });
});

describe('a what-if-like pair: one inserted event, every later event one tick on', () => {
  const sc = loadScenario('dwq-gpasid');
  const base = events(sc, { pasid: 'identity' });
  const at = 10;
  const shifted = insertAt(base, at).map((ev) => (ev.seq > at ? { ...ev, tick: ev.tick + 1 } : ev));

  it('the insertion is the one difference; the later rows are retimed, counted, not hunks', () => {
    const d = diffTraces(new MemorySide(base), new MemorySide(shifted));
    expect(d).toMatchObject({ identical: false, commonPrefix: at, same: at, retimed: base.length - at, changed: 0, onlyInA: 0, onlyInB: 1 });
    expect(d.firstDivergence).toMatchObject({ a: at, b: at, op: '+' });
    expect(d.segments).toEqual([{ op: '=', a: 0, b: 0, n: at }, { op: '+', b: at, n: 1 }, { op: 't', a: at, b: at + 1, n: base.length - at }]);
  });

  it('diff lists one hunk; its context shows the retimed rows with both ticks on one line', () => {
    const pa = write(dir, 'wa', sc, base);
    const pb = write(dir, 'wb', sc, shifted);
    const j = JSON.parse(cli('diff', pa, pb, '--json', '--context', '2').stdout) as DiffJson;
    expect(j.retimed).toBe(base.length - at);
    expect(j.hunks.map((h) => h.map((row) => row.op))).toEqual([['=', '=', '+', 't', 't']]);
    const text = cli('diff', pa, pb, '--context', '2').stdout;
    const ev = base[at] as TraceEvent;
    expect(text).toContain(`@@ A ${at - 2}.. B ${at - 2}.. @@`);
    expect(text).toMatch(new RegExp(`\\n t  A ${at} B ${at + 1} tA ${ev.tick} tB ${ev.tick + 1} `));
    expect(text).toContain(`${base.length - at} retimed (same event, other tick/step/obs)`);
    expect(text).not.toContain('more differences after this');
  });
});

describe('verify names the fields of a divergence in tick, step or obs only', () => {
  it('a recorded trace with one event\'s tick moved: DIVERGES, fields: tick', () => {
    const good = recordTo(dir, 'v-lifecycle', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 4, checkpointEvery: 8 }).path;
    for (const field of ['tick', 'step'] as const) {
      const bad = forgeAt(good, `v-${field}.iotrace`, 5, EDITS[field]);
      const res = cli('verify', bad);
      expect(res.status).toBe(1);
      expect(res.stdout).toContain('DIVERGES at step 5');
      expect(res.stdout).toContain(`  fields:   ${field}\n`);
      const j = JSON.parse(cli('verify', bad, '--json').stdout) as { divergence: { step: number; fields: string[] } };
      expect(j.divergence).toMatchObject({ step: 5, fields: [field] });
    }
  });

  it('an imported trace whose event 3 says another source line: verify --source DIVERGES, fields: obs', () => {
    const log = join(FIXTURES, 'qemu-vtd-scalable.log');
    const path = join(dir, 'imp.iotrace');
    expect(cli('import', 'qemu', log, '-o', path).status).toBe(0);
    const bad = forgeAt(path, 'imp-obs.iotrace', 3, (ev) => ({ ...ev, obs: { ...(ev.obs ?? OBS), line: (ev.obs?.line ?? 0) + 1 } }));
    const res = cli('verify', bad, '--source', log);
    expect(res.status).toBe(1);
    expect(res.stdout).toContain('DIVERGES at step 3');
    expect(res.stdout).toContain('  fields:    obs\n');
    const j = JSON.parse(cli('verify', bad, '--source', log, '--json').stdout) as { source: { divergence: { step: number; fields: string[] } } };
    expect(j.source.divergence).toMatchObject({ step: 3, fields: ['obs'] });
  });
});
