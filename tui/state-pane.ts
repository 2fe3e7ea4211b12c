// The hardware-state pane: every section in the engine's stable order, cells
// grouped by their first key part (RID, VM, IOMMU, fd...), natural key order;
// the cells the selected step wrote are highlighted (cells it removed stay as
// "removed" rows so they can still be selected); sections and groups fold.
import { compareKeys, SECTION_NAMES, sortedKeys } from '../engine/state.js';
import type { SectionName, State } from '../engine/types.js';
import type { CellRef } from '../replayer/api.js';
import { cellText, fit, paint } from './format.js';
import { displayKey } from '../engine/summary.js';
import type { About } from './about.js';

export const SECTION_TITLES: Record<SectionName, string> = {
  host: 'hosts', iommu: 'IOMMUs', device: 'devices', 'pasid-dir': 'PASID directory', pasid: 'PASID table',
  'pasid-cache': 'PASID cache', 'context-cache': 'context cache', iotlb: 'IOTLB', atc: 'ATC (device TLB)', wq: 'work queues', vcpu: 'vCPUs (IA32_PASID)',
  'cpu-pasid': 'CPU PASID translation (KVM)', vm: 'VMs', 'ioasid-set': 'IOASID sets', ioasid: 'IOASIDs',
  deferred: 'deferred clean-up', bind: 'bindings', 'mdev-pasid': 'mdev PASID mediation', vpasid: 'guest vIOMMU PASID table',
  iommufd: 'iommufd objects', 'iommufd-ctx': 'iommufd contexts', 'ioas-map': 'IOAS mappings', vdev: 'vIOMMU devices', eventq: 'event queues (FAULT, vEVENTQ)', 'pt-root': 'page-table roots',
  pt: 'page tables', dirty: 'dirty bits (HWPT_PAGING)', mem: 'memory',
};

/** What the parts of a key are, after the group. */
const KEY_PARTS: Partial<Record<SectionName, string>> = {
  'pasid-dir': 'RID: dir', pasid: 'RID: PASID', iotlb: 'IOMMU: DID/PASID/address', 'pasid-cache': 'IOMMU: RID/PASID', 'context-cache': 'IOMMU: RID',
  atc: 'RID: PASID/address', wq: 'RID: WQ', vcpu: 'VM: vCPU', 'cpu-pasid': 'VM: guest PASID', 'ioasid-set': 'host: set',
  ioasid: 'space: PASID', iommufd: 'fd: id', 'iommufd-ctx': 'fd', 'ioas-map': 'fd: IOAS/IOVA', pt: 'root: address', dirty: 'root: address', bind: 'RID: PASID',
  'mdev-pasid': 'RID: vPASID', vpasid: 'VM: RID/PASID', vdev: 'fd: vIOMMU/virt_id', eventq: 'fd: queue/index', deferred: 'host: PASID/subscriber',
};

/** Folded at start: large and rarely the point. */
export const DEFAULT_FOLDED: readonly SectionName[] = ['pt', 'mem'];

export type Row =
  | { type: 'section'; id: string; section: SectionName; cells: number; written: number; folded: boolean }
  | { type: 'group'; id: string; section: SectionName; group: string; cells: number; written: number; folded: boolean }
  | { type: 'cell'; id: string; section: SectionName; key: string; label: string; value: unknown; written: boolean; removed: boolean; grouped: boolean };

const cellId = (section: string, key: string): string => `c\u0000${section}\u0000${key}`;
/** A cell row's label: its key without the group, addresses in 0x form. */
function label(section: string, key: string, g: string | null): string {
  const shown = displayKey(section, key);
  if (g === null) return shown;
  const i = shown.indexOf('/');
  return i < 0 ? shown : shown.slice(i + 1);
}
const groupOf = (key: string): string | null => { const i = key.indexOf('/'); return i < 0 ? null : key.slice(0, i); };

const keyCache = new WeakMap<State, Map<SectionName, string[]>>();
function keysOf(state: State, section: SectionName): string[] {
  let m = keyCache.get(state);
  if (!m) keyCache.set(state, (m = new Map()));
  let keys = m.get(section);
  if (!keys) m.set(section, (keys = sortedKeys(state.s[section] as Record<string, unknown>)));
  return keys;
}

export class StatePane {
  readonly folded = new Set<string>(DEFAULT_FOLDED.map((s) => `s\u0000${s}`));
  private sel: string | null = null;
  private selIndex = 0;
  private top = 0;
  private rowsCache: Row[] = [];
  private shownTop = 0;

  /** Rows for a state, with the step's written cells marked. */
  rows(state: State, written: readonly CellRef[]): Row[] {
    const w = new Map<SectionName, Set<string>>();
    for (const c of written) { let s = w.get(c.section); if (!s) w.set(c.section, (s = new Set())); s.add(c.key); }
    const rows: Row[] = [];
    for (const section of SECTION_NAMES) {
      const cells = state.s[section] as Record<string, unknown>;
      const ws = w.get(section);
      const removed = ws ? [...ws].filter((k) => !(k in cells)) : [];
      const sid = `s\u0000${section}`;
      const folded = this.folded.has(sid);
      const count = folded ? Object.keys(cells).length : keysOf(state, section).length;
      if (count === 0 && removed.length === 0) continue;
      rows.push({ type: 'section', id: sid, section, cells: count, written: ws?.size ?? 0, folded });
      if (folded) continue;
      const keys = removed.length ? [...keysOf(state, section), ...removed].sort(compareKeys) : keysOf(state, section);
      let group: string | null = null;
      let groupFolded = false;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const g = groupOf(key);
        if (g !== null && g !== group) {
          group = g;
          const gid = `g\u0000${section}\u0000${g}`;
          groupFolded = this.folded.has(gid);
          let n = 0;
          let nw = 0;
          for (let j = i; j < keys.length && groupOf(keys[j] as string) === g; j++) { n++; if (ws?.has(keys[j] as string)) nw++; }
          rows.push({ type: 'group', id: gid, section, group: g, cells: n, written: nw, folded: groupFolded });
        } else if (g === null) { group = null; groupFolded = false; }
        if (g !== null && groupFolded) continue;
        rows.push({
          // The label shows an address or page frame in a key as the address (engine/summary.ts displayKey).
          type: 'cell', id: cellId(section, key), section, key, label: label(section, key, g),
          value: cells[key], written: ws?.has(key) ?? false, removed: !(key in cells), grouped: g !== null,
        });
      }
    }
    return rows;
  }

  /** The selected cell, when a cell row is selected. */
  get selected(): CellRef | null {
    if (!this.sel?.startsWith('c\u0000')) return null;
    const [, section, key] = this.sel.split('\u0000') as [string, SectionName, string];
    return { section, key };
  }

  /** The row under the selection as last drawn (a header or a cell), or null. */
  get selectedRow(): Row | null { return this.rowsCache[this.selIndex] ?? null; }

  select(cell: CellRef): void { this.sel = cellId(cell.section, cell.key); }

  /**
   * Select what the step is about: for a fault or a violation the cell it
   * concerns (tui/about.ts: the stale IOTLB line, the missing PASID entry's
   * RID group); else the first written cell that is on screen (unfolded);
   * when the step wrote nothing (a DMA), the PASID-table entry or the RID
   * group it names.
   */
  follow(rows: readonly Row[], about: About, bad: boolean): void {
    const pick = (): Row | undefined => {
      const written = rows.find((x) => x.type === 'cell' && x.written);
      if (written && !bad) return written;
      const want = [about.cell ? cellId(about.cell.section, about.cell.key) : null, about.group ? `g\u0000${about.group.section}\u0000${about.group.group}` : null];
      return want.map((id) => (id === null ? undefined : rows.find((x) => x.id === id))).find((x) => x !== undefined) ?? written;
    };
    const hit = pick();
    if (hit) this.sel = hit.id;
  }

  move(delta: number): void { this.selIndex += delta; this.sel = null; }
  home(): void { this.selIndex = 0; this.sel = null; }
  end(): void { this.selIndex = Number.MAX_SAFE_INTEGER; this.sel = null; }

  /** Fold or unfold what the selection is in (a cell folds its group, or its section when ungrouped). */
  toggle(): void {
    const row = this.rowsCache[this.selIndex];
    if (!row) return;
    let id: string;
    if (row.type === 'cell') id = row.grouped ? `g\u0000${row.section}\u0000${row.key.slice(0, row.key.indexOf('/'))}` : `s\u0000${row.section}`;
    else id = row.id;
    if (this.folded.has(id)) this.folded.delete(id); else this.folded.add(id);
    this.sel = id;
  }

  /** Select a row by its position on screen (mouse). */
  clickRow(y: number): Row | null {
    const row = this.rowsCache[this.shownTop + y];
    if (row) { this.sel = row.id; this.selIndex = this.shownTop + y; }
    return row ?? null;
  }

  /** Draw; `follow`, when given, first moves the selection to what the step is about (see follow). */
  render(state: State, written: readonly CellRef[], width: number, height: number, follow?: { about: About; bad: boolean }): string[] {
    const rows = this.rows(state, written);
    this.rowsCache = rows;
    if (follow) this.follow(rows, follow.about, follow.bad);
    if (rows.length === 0) return [paint('(empty state)', 'bold')];
    let i = this.sel === null ? -1 : rows.findIndex((r) => r.id === this.sel);
    if (i < 0) i = Math.max(0, Math.min(this.selIndex, rows.length - 1));
    this.selIndex = i;
    this.sel = (rows[i] as Row).id;
    if (i < this.top) this.top = i;
    if (i >= this.top + height) this.top = i - height + 1;
    this.top = Math.max(0, Math.min(this.top, rows.length - height));
    this.shownTop = this.top;
    return rows.slice(this.top, this.top + height).map((row, k) => line(row, width, this.top + k === i));
  }
}


function line(row: Row, width: number, selected: boolean): string {
  let text: string;
  let styles: string[] = [];
  if (row.type === 'section') {
    const parts = KEY_PARTS[row.section];
    text = ` ${row.folded ? '▸' : '▾'} ${row.section} · ${SECTION_TITLES[row.section]}${parts ? ` [${parts}]` : ''} (${row.cells})${row.written ? `  ${row.written} written` : ''}`;
    styles = row.written ? ['bold', 'yellow-fg'] : ['bold'];
  } else if (row.type === 'group') {
    // A page table's group is its root: shown as the address, as its cells' keys are.
    const shownGroup = row.section === 'pt' || row.section === 'dirty' ? (displayKey(row.section, `${row.group}/0`).split('/')[0] ?? row.group) : row.group;
    text = `   ${row.folded ? '▸' : '▾'} ${shownGroup} (${row.cells})${row.written ? `  ${row.written} written` : ''}`;
    styles = row.written ? ['yellow-fg'] : ['cyan-fg'];
  } else {
    const indent = row.grouped ? '       ' : '     ';
    const value = row.removed ? '(removed by this event)' : cellText(row.section, row.value);
    text = `${indent}${row.label.padEnd(8)} ${value}`;
    styles = row.removed ? ['red-fg', 'bold'] : row.written ? ['yellow-fg', 'bold'] : [];
  }
  const fitted = fit(selected ? `›${text.slice(1)}` : text, width);
  return selected ? paint(fitted, ...styles, 'inverse') : paint(fitted, ...styles);
}
