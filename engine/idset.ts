// A set of ids with "lowest free at or after" (the xarray's XA_FLAGS_ALLOC
// search) in O(log n), and a multiset over it: the building blocks of the
// derived indexes (engine/indexes.ts, engine/iommufd/queue-index.ts).

/** 32^(level+1): the ids a trie node of `level` covers. */
const span = (level: number): number => 2 ** (5 * (level + 1));

interface Node {
  /** Level 0: the ids present (bit i: base + i). Above: the children that are full. */
  mask: number;
  /** Ids present under this node. */
  n: number;
  /** Children (levels above 0 only). */
  kids: Array<Node | undefined> | null;
}

const ctz = (x: number): number => 31 - Math.clz32(x & -x);

/**
 * A set of non-negative safe integers that finds the lowest id absent from
 * it at or after any id in O(log n): a 32-way trie whose inner nodes keep a
 * mask of their full children (the xarray's free mark, inverted). Up to 11
 * levels cover 2^53.
 */
export class IdSet {
  private root: Node | null = null;
  private level = 0;
  size = 0;

  has(id: number): boolean {
    if (this.root === null || id >= span(this.level)) return false;
    let node: Node | undefined = this.root;
    for (let level = this.level; level > 0; level--) {
      node = node.kids?.[Math.floor(id / span(level - 1)) % 32];
      if (!node) return false;
    }
    return ((node.mask >>> (id % 32)) & 1) === 1;
  }

  add(id: number): void {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`IdSet: ${id} is not a non-negative safe integer`);
    if (this.has(id)) return;
    if (this.root === null) { this.root = { mask: 0, n: 0, kids: null }; this.level = 0; }
    while (id >= span(this.level)) {
      const old = this.root as Node;
      this.level++;
      this.root = { mask: old.n === span(this.level - 1) ? 1 : 0, n: old.n, kids: old.n > 0 ? [old] : [] };
    }
    const path: Node[] = [];
    let node = this.root as Node;
    for (let level = this.level; level > 0; level--) {
      path.push(node);
      const c = Math.floor(id / span(level - 1)) % 32;
      const kids = (node.kids ??= []);
      let kid = kids[c];
      if (!kid) kids[c] = kid = { mask: 0, n: 0, kids: null };
      node = kid;
    }
    node.mask = (node.mask | (1 << (id % 32))) | 0;
    node.n++;
    // Up the path: counts, and the full bit of each child that just filled.
    for (let i = path.length - 1; i >= 0; i--) {
      const parent = path[i] as Node;
      parent.n++;
      const level = this.level - i;
      const c = Math.floor(id / span(level - 1)) % 32;
      const kid = parent.kids?.[c];
      if (kid && kid.n === span(level - 1)) parent.mask = (parent.mask | (1 << c)) | 0;
    }
    this.size++;
  }

  delete(id: number): void {
    if (!this.has(id)) return;
    const path: Node[] = [];
    let node = this.root as Node;
    for (let level = this.level; level > 0; level--) {
      path.push(node);
      node = (node.kids as Array<Node | undefined>)[Math.floor(id / span(level - 1)) % 32] as Node;
    }
    node.mask = (node.mask & ~(1 << (id % 32))) | 0;
    node.n--;
    for (let i = path.length - 1; i >= 0; i--) {
      const parent = path[i] as Node;
      parent.n--;
      const level = this.level - i;
      const c = Math.floor(id / span(level - 1)) % 32;
      parent.mask = (parent.mask & ~(1 << c)) | 0;
      if (parent.kids?.[c]?.n === 0) parent.kids[c] = undefined;
    }
    this.size--;
    if (this.size === 0) { this.root = null; this.level = 0; }
  }

  /** The lowest id >= from (a non-negative integer) that is not in the set. */
  firstFree(from: number): number {
    if (this.root === null || from >= span(this.level)) return from;
    return this.search(this.root, this.level, 0, from) ?? span(this.level);
  }

  private search(node: Node, level: number, base: number, from: number): number | null {
    if (level === 0) {
      const free = ~node.mask & (-1 << (from - base));
      return free === 0 ? null : base + ctz(free);
    }
    const cs = span(level - 1);
    for (let c = Math.floor((from - base) / cs); c < 32; c++) {
      if (((node.mask >>> c) & 1) === 1) continue;
      const kidBase = base + c * cs;
      const at = Math.max(from, kidBase);
      const kid = node.kids?.[c];
      if (!kid) return at;
      const r = this.search(kid, level - 1, kidBase, at);
      if (r !== null) return r;
    }
    return null;
  }

  /** The lowest id in the set, or null when it is empty. */
  min(): number | null {
    let node = this.root;
    if (node === null) return null;
    let base = 0;
    for (let level = this.level; level > 0; level--) {
      const cs = span(level - 1);
      const kids: Array<Node | undefined> = node.kids ?? [];
      let c = 0;
      while (c < 32 && !kids[c]) c++;
      base += c * cs;
      node = kids[c] as Node;
    }
    return base + ctz(node.mask);
  }

  /** The highest id in the set, or null when it is empty. */
  max(): number | null {
    let node = this.root;
    if (node === null) return null;
    let base = 0;
    for (let level = this.level; level > 0; level--) {
      const cs = span(level - 1);
      const kids: Array<Node | undefined> = node.kids ?? [];
      let c = 31;
      while (c > 0 && !kids[c]) c--;
      base += c * cs;
      node = kids[c] as Node;
    }
    return base + 31 - Math.clz32(node.mask);
  }

  /** The highest id in the set that is <= x, or null. */
  prev(x: number): number | null {
    if (this.root === null || !(x >= 0)) return null;
    return this.prevIn(this.root, this.level, 0, Math.min(Math.floor(x), span(this.level) - 1));
  }

  private prevIn(node: Node, level: number, base: number, x: number): number | null {
    if (level === 0) {
      const off = x - base;
      const m = off >= 31 ? node.mask : node.mask & ((1 << (off + 1)) - 1);
      return m === 0 ? null : base + 31 - Math.clz32(m);
    }
    const cs = span(level - 1);
    for (let c = Math.floor((x - base) / cs); c >= 0; c--) {
      const kid = node.kids?.[c];
      if (!kid) continue;
      const r = this.prevIn(kid, level - 1, base + c * cs, Math.min(x, base + (c + 1) * cs - 1));
      if (r !== null) return r;
    }
    return null;
  }

  /** The ids in [lo, hi), ascending. */
  range(lo: number, hi: number): number[] {
    const out: number[] = [];
    const walk = (node: Node, level: number, base: number): void => {
      if (base >= hi || base + span(level) <= lo) return;
      if (level === 0) {
        for (let i = Math.max(0, lo - base); i < 32 && base + i < hi; i++) if ((node.mask >>> i) & 1) out.push(base + i);
        return;
      }
      const cs = span(level - 1);
      for (let c = 0; c < 32; c++) { const kid = node.kids?.[c]; if (kid) walk(kid, level - 1, base + c * cs); }
    };
    if (this.root !== null) walk(this.root, this.level, 0);
    return out;
  }

  /** The ids in ascending order (tests). */
  *values(): Generator<number> {
    if (this.root === null) return;
    const walk = function* (node: Node, level: number, base: number): Generator<number> {
      if (level === 0) { for (let i = 0; i < 32; i++) if ((node.mask >>> i) & 1) yield base + i; return; }
      const cs = span(level - 1);
      for (let c = 0; c < 32; c++) { const kid = node.kids?.[c]; if (kid) yield* walk(kid, level - 1, base + c * cs); }
    };
    yield* walk(this.root, this.level, 0);
  }
}

/** An IdSet that counts how many times each id was added (a multiset). */
export class CountedIds {
  readonly ids = new IdSet();
  private readonly counts = new Map<number, number>();
  // An id no allocator could hand out (negative, fractional, past 2^53) never equals a candidate: left out.
  add(id: number): void {
    if (!Number.isSafeInteger(id) || id < 0) return;
    const n = this.counts.get(id) ?? 0;
    this.counts.set(id, n + 1);
    if (n === 0) this.ids.add(id);
  }
  delete(id: number): void {
    if (!Number.isSafeInteger(id) || id < 0) return;
    const n = this.counts.get(id) ?? 0;
    if (n <= 1) { this.counts.delete(id); this.ids.delete(id); } else this.counts.set(id, n - 1);
  }
  get empty(): boolean { return this.counts.size === 0; }
}
