// What a hostile log may cost an import: a matcher reads a line in one pass
// (no backtracking over a line of delimiters), the argument text it is
// handed is bounded, QEMU's IOTLBs hold what QEMU's caps let them, and the
// state a log builds is bounded (MAX_IMPORT_CELLS), so a trace grows with
// the log, not its square.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importLog } from '../importers/import.js';
import { QEMU } from '../importers/qemu.js';
import { SMMU_IOTLB_MAX_SIZE } from '../importers/qemu-smmu.js';
import { VTD_IOTLB_MAX_SIZE } from '../importers/qemu-vtd.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { MAX_IMPORT_CELLS } from '../trace/format.js';
import { matcher, MAX_ARGS, readFields, type Matcher } from '../importers/format.js';
import { FORMATS } from '../importers/formats.js';
import { FTRACE } from '../importers/ftrace.js';
import { bodies, importLines, tmp } from './import-helpers.js';

/** Every format of every handler with two or more %s: the ones a regex of lazy (.*?) took O(n^k) on. */
const multiS: Matcher[] = Object.values(FORMATS).flatMap((f) => Object.values(f.handlers).flatMap((h) => h.formats))
  .filter((m) => m.parts.filter((p) => 'conv' in p && p.re === null).length >= 2);

/** The format's own words, over and over, to `bytes`: every delimiter a %s may end at, and never the numbers between. */
const delimiters = (m: Matcher, bytes: number): string => {
  const words = m.parts.flatMap((p) => ('lit' in p ? [p.lit] : [])).join('');
  return words.repeat(Math.ceil(bytes / words.length)).slice(0, bytes);
};

describe('a format read in one pass', () => {
  it('finds the multi-%s formats of both importers', () => {
    expect(multiS.map((m) => m.event).sort()).toEqual(expect.arrayContaining([
      'cache_tag_assign', 'cache_tag_flush_range', 'iommufd_cdev_attach_ioas_hwpt', 'print', 'prq_report', 'qi_submit',
    ]));
  });

  it('a 60 KB line of its own delimiters does not read (it took minutes as one backtracking regex)', () => {
    for (const m of multiS) {
      // Only a format of nothing but text and a last %s reads any such line (its last %s takes the rest).
      const reads = m.parts.every((p) => 'lit' in p || p.re === null) && !('lit' in (m.parts[m.parts.length - 1] as object));
      const f = readFields(m, delimiters(m, 60_000));
      expect(f === null ? null : f.str(m.names[m.names.length - 1] as string).length > 50_000, m.event).toBe(reads ? true : null);
    }
    // The red team's line: "/ type " over and over, as cache_tag_assign's arguments.
    const tag = multiS.find((m) => m.event === 'cache_tag_assign') as Matcher;
    expect(readFields(tag, '/ type '.repeat(60_000 / 7))).toBeNull();
  });

  it('a %s ends where the text after it first appears; the last one takes all but the format\'s last words', () => {
    const tag = matcher('cache_tag_assign', '%s/%s type %s did %d pasid %d ref %d', ['iommu', 'dev', 'type', 'did', 'pasid', 'users']);
    const long = `dmar0/0000:00:02.0 type ${'/ type '.repeat(8000)} did 3 pasid 0 ref 1`;
    const f = readFields(tag, long);
    expect([f?.str('iommu'), f?.str('dev'), f?.str('type').length, f?.num('did'), f?.num('users')]).toEqual(['dmar0', '0000:00:02.0', 56_000, 3, 1]);
    const reset = matcher('vtd_iotlb_reset', 'IOTLB reset (reason: %s)', ['reason']);
    expect(readFields(reset, 'IOTLB reset (reason: a) b)')?.str('reason')).toBe('a) b');
    expect(readFields(reset, 'IOTLB reset (reason: ')).toBeNull();
    const pad = matcher('p', 'n=%5d x=%#x', ['n', 'x']);
    expect(readFields(pad, 'n=   42 x=0x1f')?.all()).toEqual({ n: 42, x: 31 });
  });

  it('refuses, when it is built, a format it could not read without going back', () => {
    expect(() => matcher('e', '%s%d', ['a', 'b'])).toThrow(/conversion right after %s/);
    expect(() => matcher('e', '%x%d', ['a', 'b'])).toThrow(/conversion right after %hex/);
    expect(() => matcher('e', '%d0 %s', ['a', 'b'])).toThrow(/could be read as part of the number/);
    expect(() => matcher('e', '0x%llxa', ['a'])).toThrow(/could be read as part of the number/);
  });
});

describe('an import handed a hostile line', () => {
  it('refuses arguments longer than any format prints, by line, and goes on', async () => {
    const evil = `t-1 [000] 1.000001: cache_tag_assign: ${'/ type '.repeat(60_000 / 7)}`;
    const good = 't-1 [000] 1.000002: cache_tag_assign: dmar0/0000:00:02.0 type iotlb did 3 pasid 0 ref 1';
    const { sum, events } = await importLines(FTRACE, [evil, good]);
    expect(sum.source.malformed).toBe(1);
    expect(sum.source.malformedLines).toEqual([{ line: 1, why: `cache_tag_assign: 59996 characters of arguments, more than its format prints (at most ${MAX_ARGS})` }]);
    expect(bodies(events, 'kcall')).toEqual([{ kind: 'kcall', fn: 'cache_tag_assign', args: { iommu: 'dmar0', dev: '0000:00:02.0', type: 'iotlb', did: 3, pasid: 0 }, errno: null, out: { users: 1 } }]);
  });
});

/** A vtd_iotlb_page_update line for page i of domain 1: a new IOTLB line each. */
const update = (i: number): string => `vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x${(i * 4096).toString(16)} slpte 0x${(0x100000 + i * 4096 + 3).toString(16)} domain 0x1`;

describe('QEMU\'s IOTLB caps, as QEMU applies them', () => {
  it('VT-d: a new line in a full IOTLB empties it first (vtd_update_iotlb()); QEMU\'s own reset line after it is folded', async () => {
    const lines = Array.from({ length: VTD_IOTLB_MAX_SIZE + 1 }, (_, i) => update(i));
    lines.push('vtd_iotlb_reset IOTLB reset (reason: iotlb exceeds size limit)', update(5000));
    const { events, sum, path } = await importLines(QEMU, lines);
    const invals = bodies(events, 'iotlb-inval');
    expect(invals).toEqual([{ kind: 'iotlb-inval', desc: 0, iommu: 'dmar0', granularity: 'global', did: null, pasid: null, addr: null, npages: null, dropped: VTD_IOTLB_MAX_SIZE }]);
    // The reset comes between the 1024th fill and the 1025th, which stays.
    const at = events.findIndex((e) => e.kind === 'iotlb-inval');
    expect([events[at - 1]?.obs?.line, events[at]?.obs?.line, events[at + 1]?.obs?.line]).toEqual([VTD_IOTLB_MAX_SIZE, VTD_IOTLB_MAX_SIZE + 1, VTD_IOTLB_MAX_SIZE + 1]);
    expect(sum.source.folded).toBe(1);
    const r = TraceReplayer.open(path);
    try {
      expect(Object.keys(r.stateAt(r.count - 1).s.iotlb).sort()).toEqual(['dmar0/1/0/1024', 'dmar0/1/0/5000']);
    } finally { r.close(); }
  });

  it('VT-d: QEMU\'s size-limit reset before the importer\'s count is full empties the IOTLB and keeps the line just updated', async () => {
    const { events, path } = await importLines(QEMU, [update(1), update(2), update(3), 'vtd_iotlb_reset IOTLB reset (reason: iotlb exceeds size limit)']);
    expect(bodies(events).slice(1).map((b) => [b.kind, b.page ?? b.dropped])).toEqual([['iotlb-fill', 1], ['iotlb-fill', 2], ['iotlb-fill', 3], ['iotlb-inval', 3], ['iotlb-fill', 3]]);
    const r = TraceReplayer.open(path);
    try { expect(Object.keys(r.stateAt(r.count - 1).s.iotlb)).toEqual(['dmar0/1/0/3']); } finally { r.close(); }
  });

  it('SMMUv3: the 257th line inserted without QEMU\'s smmu_iotlb_inv_all line before it empties the IOTLB first (smmu_iotlb_insert())', async () => {
    const lines = Array.from({ length: SMMU_IOTLB_MAX_SIZE + 1 }, (_, i) => `smmu_iotlb_insert IOTLB ++ asid=1 addr=0x${(i * 4096).toString(16)} tg=0 level=3`);
    const { events } = await importLines(QEMU, lines);
    expect(bodies(events, 'iotlb-inval')).toEqual([{ kind: 'iotlb-inval', desc: 0, iommu: 'smmu0', pasid: null, granularity: 'global', did: null, addr: null, npages: null, dropped: SMMU_IOTLB_MAX_SIZE }]);
    expect(events.filter((e) => e.kind === 'iotlb-fill')).toHaveLength(SMMU_IOTLB_MAX_SIZE + 1);
  });

  it('300 000 distinct IOTLB fills make a trace twice the size of 150 000 (it was quadratic: every checkpoint held every line)', async () => {
    const dir = tmp();
    const size = async (n: number): Promise<{ bytes: number; lines: number; resets: number }> => {
      const log = join(dir, `${n}.log`);
      writeFileSync(log, `${Array.from({ length: n }, (_, i) => update(i)).join('\n')}\n`);
      const out = join(dir, `${n}.iotrace`);
      const sum = await importLog(log, out, QEMU);
      const r = TraceReplayer.open(out);
      try {
        expect(r.truncated).toBeNull();
        return { bytes: statSync(out).size, lines: Object.keys(r.stateAt(r.count - 1).s.iotlb).length, resets: sum.kinds['iotlb-inval'] ?? 0 };
      } finally { r.close(); }
    };
    const half = await size(150_000);
    const whole = await size(300_000);
    expect(whole.bytes / half.bytes).toBeLessThan(2.5);
    // A reset before every 1024th new line: what QEMU's IOTLB holds at the end.
    expect([half.resets, half.lines, whole.resets, whole.lines]).toEqual([146, 150_000 - 146 * 1024, 292, 300_000 - 292 * 1024]);
  }, 300_000);
});

describe('the state an imported log may build', () => {
  it(`a log whose events would hold more than MAX_IMPORT_CELLS cells: exit 2, one line naming the line, no file`, () => {
    const dir = tmp();
    const log = join(dir, 'maps.log');
    writeFileSync(log, Array.from({ length: MAX_IMPORT_CELLS + 1 }, (_, i) => `iommufd_backend_map_dma  iommufd=3 ioas=2 iova=0x${(i * 4096).toString(16)} size=0x1000 addr=0x7f0000000000 readonly=0 (0)\n`).join(''));
    const r = spawnSync(process.execPath, [join(process.cwd(), 'dist', 'cli', 'main.js'), 'import', 'qemu', 'maps.log', '-o', 'maps.iotrace'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`iotrace: maps.log: line ${MAX_IMPORT_CELLS + 1}: the log's events would hold more than ${MAX_IMPORT_CELLS} state cells at once (MAX_IMPORT_CELLS), more than an imported trace keeps\n`);
    expect(readdirSync(dir)).toEqual(['maps.log']);
  });
});
