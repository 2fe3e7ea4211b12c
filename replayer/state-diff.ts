// Keyed state diff between two traces at a point: cells are matched by
// (section, key) — a PASID entry, an IOTLB line — never by line position, so
// one extra cell is one '+' and not a shifted listing. The result has the
// shape of the TUI's per-step diff (tui/diff.ts StepDiff: '-' only in A, '+'
// only in B, '~' in both with different values), so the same renderer draws
// both.
import { compareKeys, SECTION_NAMES } from '../engine/state.js';
import type { SectionName, State } from '../engine/types.js';
import type { CellRef } from './api.js';
import { sameValue } from './identity.js';

export interface StateDiffEntry { section: SectionName; key: string; op: '+' | '-' | '~'; /** A's value */ before: unknown; /** B's value */ after: unknown }

export interface StateDiff {
  /** Cells compared. */
  written: number;
  /** Cells that differ. */
  changed: number;
  /** The first `limit` differences, in section order then key order. */
  entries: StateDiffEntry[];
  bySection: Map<SectionName, number>;
  uncompared: number;
}

/**
 * Differences between state A and state B. With `cells`, only those are
 * compared (the cells the last steps wrote); otherwise every key of every
 * section on either side.
 */
export function diffStates(a: State, b: State, limit = 200, cells?: readonly CellRef[]): StateDiff {
  const out: StateDiff = { written: 0, changed: 0, entries: [], bySection: new Map(), uncompared: 0 };
  const bySection = new Map<SectionName, Set<string>>();
  if (cells) for (const c of cells) { let s = bySection.get(c.section); if (!s) bySection.set(c.section, (s = new Set())); s.add(c.key); }
  for (const section of SECTION_NAMES) {
    const sa = a.s[section] as Record<string, unknown>;
    const sb = b.s[section] as Record<string, unknown>;
    let keys: string[];
    if (cells) {
      const s = bySection.get(section);
      if (!s) continue;
      keys = [...s];
    } else {
      keys = Object.keys(sa);
      for (const k of Object.keys(sb)) if (!(k in sa)) keys.push(k);
    }
    keys.sort(compareKeys);
    out.written += keys.length;
    for (const key of keys) {
      const x = sa[key];
      const y = sb[key];
      // As identity.ts compares event fields: a bin is not a map, NaN and Infinity are not null.
      if (sameValue(x, y)) continue;
      out.changed++;
      out.bySection.set(section, (out.bySection.get(section) ?? 0) + 1);
      if (out.entries.length < limit) out.entries.push({ section, key, op: y === undefined ? '-' : x === undefined ? '+' : '~', before: x, after: y });
    }
  }
  return out;
}
