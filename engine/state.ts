// State construction, cloning and the stable order every consumer uses.
import type { SectionName, Sections, State } from './types.js';

/** Section order for rendering, hashing and encoding: hardware first, then kernel. */
export const SECTION_NAMES: readonly SectionName[] = [
  'host', 'iommu', 'device', 'pasid-dir', 'pasid', 'pasid-cache', 'context-cache', 'iotlb', 'atc', 'wq',
  'vcpu', 'cpu-pasid', 'vm', 'ioasid-set', 'ioasid', 'deferred', 'bind', 'mdev-pasid', 'vpasid', 'iommufd', 'iommufd-ctx', 'ioas-map',
  'vdev', 'eventq', 'pt-root', 'pt', 'dirty', 'mem',
];

export function emptyState(): State {
  const s = {} as Record<SectionName, Record<string, unknown>>;
  for (const name of SECTION_NAMES) s[name] = Object.create(null) as Record<string, unknown>;
  return { s: s as unknown as Sections, seq: -1, tick: 0 };
}

/**
 * A copy of the section maps; cell values are shared. apply() only ever
 * replaces a cell (put / drop), never mutates one in place, so a value
 * reachable from one state is never changed under another, and a copy costs
 * one property write per cell instead of a deep clone of every value.
 */
export function cloneState(state: State): State {
  const out = emptyState();
  out.seq = state.seq;
  out.tick = state.tick;
  for (const name of SECTION_NAMES) Object.assign(out.s[name], state.s[name]);
  return out;
}

/**
 * Natural order for cell keys: digit runs compare by value, so PASID 9 sorts
 * before PASID 10 and "00:02.0/64" after "00:02.0/7". Never depends on
 * insertion order.
 */
export function compareKeys(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      // Compare the two digit runs by value without allocating: skip leading
      // zeros (keeping one digit), then the longer run is larger, else the first differing digit decides.
      let ie = i; while (ie < a.length && isDigit(a.charCodeAt(ie))) ie++;
      let je = j; while (je < b.length && isDigit(b.charCodeAt(je))) je++;
      let ia = i; while (ia < ie - 1 && a.charCodeAt(ia) === 48) ia++;
      let jb = j; while (jb < je - 1 && b.charCodeAt(jb) === 48) jb++;
      if (ie - ia !== je - jb) return (ie - ia) - (je - jb);
      for (; ia < ie; ia++, jb++) {
        const d = a.charCodeAt(ia) - b.charCodeAt(jb);
        if (d !== 0) return d < 0 ? -1 : 1;
      }
      i = ie; j = je;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++; j++;
  }
  const rest = (a.length - i) - (b.length - j);
  // Equal by value ("a01" and "a1"): fall back to code units, so the order is total and never insertion order.
  return rest !== 0 || a === b ? rest : a < b ? -1 : 1;
}

function isDigit(c: number): boolean { return c >= 48 && c <= 57; }

export function sortedKeys(section: Record<string, unknown>): string[] {
  return Object.keys(section).sort(compareKeys);
}

/** A value with object keys sorted, for hashing and printing in a stable order. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort(compareKeys)) {
      const v = canonical((value as Record<string, unknown>)[k]);
      // An own "__proto__" key (JSON.parse makes one) stays data: assigning it would set out's prototype.
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
    }
    return out;
  }
  return value;
}

/** The whole state as canonical plain data: sections in SECTION_NAMES order, keys sorted. */
export function canonicalState(state: State): { seq: number; tick: number; sections: [SectionName, [string, unknown][]][] } {
  return {
    seq: state.seq,
    tick: state.tick,
    sections: SECTION_NAMES.map((name) => {
      const sec = state.s[name] as Record<string, unknown>;
      return [name, sortedKeys(sec).map((k) => [k, canonical(sec[k])] as [string, unknown])];
    }),
  };
}
