// The rows of a side-by-side view over an alignment's segments, without
// materialising them: row r -> (op, A step or null, B step or null), by a
// binary search over the segments' first rows. Used by the diff CLI's
// context listing and the diff TUI. A run of differences is rows that are
// neither '=' nor 't': a retimed row is a difference of timing only, shown
// in context and counted, but it opens no hunk and n / N pass over it (a
// what-if retimes almost every later event; the real differences would drown).
import { segmentRows, type Segment } from './align.js';

export type RowKind = '=' | 't' | '~' | '-' | '+' | '?';

/** Rows that open a run of differences: all but identical and retimed ones. */
export const isDifference = (op: RowKind): boolean => op !== '=' && op !== 't';

export interface Row {
  op: RowKind;
  /** A's step on this row, or null when A has no event here. */
  a: number | null;
  b: number | null;
  /** A's last step at or before this row (-1: none): whose state A shows here. */
  aUpTo: number;
  bUpTo: number;
}

interface Placed { seg: Segment; row: number; a: number; b: number }

export class AlignedRows {
  readonly count: number;
  private readonly placed: Placed[] = [];

  constructor(segments: readonly Segment[]) {
    let row = 0;
    let a = 0;
    let b = 0;
    for (const seg of segments) {
      this.placed.push({ seg, row, a, b });
      row += segmentRows(seg);
      if (seg.op === '?') { a += seg.na; b += seg.nb; } else {
        if (seg.op !== '+') a += seg.n;
        if (seg.op !== '-') b += seg.n;
      }
    }
    this.count = row;
  }

  private index(r: number): number {
    let lo = 0;
    let hi = this.placed.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.placed[mid] as Placed).row <= r) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  row(r: number): Row {
    if (r < 0 || r >= this.count) throw new RangeError(`row ${r} is outside 0..${this.count - 1}`);
    const p = this.placed[this.index(r)] as Placed;
    const k = r - p.row;
    const s = p.seg;
    switch (s.op) {
      case '=': case 't': case '~': return { op: s.op, a: s.a + k, b: s.b + k, aUpTo: s.a + k, bUpTo: s.b + k };
      case '-': return { op: '-', a: s.a + k, b: null, aUpTo: s.a + k, bUpTo: p.b - 1 };
      case '+': return { op: '+', a: null, b: s.b + k, aUpTo: p.a - 1, bUpTo: s.b + k };
      case '?': {
        const a = k < s.na ? s.a + k : null;
        const b = k < s.nb ? s.b + k : null;
        return { op: '?', a, b, aUpTo: a ?? s.a + s.na - 1, bUpTo: b ?? s.b + s.nb - 1 };
      }
    }
  }

  /** The first row of the next (dir 1) or previous (dir -1) run of differences from row r, or null. */
  nextDifference(r: number, dir: 1 | -1): number | null {
    if (this.placed.length === 0) return null;
    let i = this.index(Math.max(0, Math.min(this.count - 1, r)));
    const here = this.placed[i] as Placed;
    // Backwards from inside a run of differences: its first row comes first.
    if (dir === -1 && isDifference(here.seg.op) && r > here.row) return here.row;
    for (i += dir; i >= 0 && i < this.placed.length; i += dir) {
      const p = this.placed[i] as Placed;
      if (isDifference(p.seg.op)) return p.row;
    }
    return null;
  }

  /** Runs of differing rows [from, to): neighbouring segments that are differences form one run. */
  *differences(): Generator<{ from: number; to: number }> {
    let run: { from: number; to: number } | null = null;
    for (const p of this.placed) {
      if (!isDifference(p.seg.op)) { if (run) yield run; run = null; continue; }
      const to = p.row + segmentRows(p.seg);
      if (run) run.to = to; else run = { from: p.row, to };
    }
    if (run) yield run;
  }

  /** The row that shows A's step n (dir: A) or B's step n. */
  rowOf(side: 'a' | 'b', n: number): number | null {
    for (const p of this.placed) {
      const s = p.seg;
      const start = side === 'a' ? p.a : p.b;
      const len = s.op === '?' ? (side === 'a' ? s.na : s.nb) : (side === 'a' ? (s.op === '+' ? 0 : s.n) : (s.op === '-' ? 0 : s.n));
      if (n >= start && n < start + len) return p.row + (n - start);
    }
    return null;
  }
}
