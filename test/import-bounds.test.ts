// What a hostile log may cost an import: a matcher reads a line in one pass
// (no backtracking over a line of delimiters), and the argument text it is
// handed is bounded.
import { describe, expect, it } from 'vitest';
import { matcher, MAX_ARGS, readFields, type Matcher } from '../importers/format.js';
import { FORMATS } from '../importers/formats.js';
import { FTRACE } from '../importers/ftrace.js';
import { bodies, importLines } from './import-helpers.js';

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
