// A scrolling window over the panes: the help, the detail of an event or a
// cell, the breakpoint list. One at a time; it draws tagged lines into the
// layout's overlay box and takes the keys first while open.
import type { Widgets } from 'blessed';
import type { Box } from './term.js';
import { inner } from './layout.js';

export interface OverlaySpec {
  title: string;
  /** Tagged lines for a width (called every frame: the content may change while open). */
  lines(width: number): string[];
  /** Keys other than scrolling and closing; true when handled. */
  key?(full: string): boolean;
  /** The row to keep in view (a list's selection), or null. */
  focusRow?(): number | null;
}

const CLOSE = new Set(['escape', 'q', 'C-c']);

export class Overlay {
  private spec: OverlaySpec | null = null;
  private top = 0;

  get open(): boolean { return this.spec !== null; }
  get title(): string | null { return this.spec?.title ?? null; }

  show(spec: OverlaySpec): void { this.spec = spec; this.top = 0; }
  close(): void { this.spec = null; }

  /** Feed a key while open; `also` are extra keys that close it (the key that opened it). */
  key(full: string, page: number, also: readonly string[] = []): void {
    const s = this.spec;
    if (!s) return;
    if (CLOSE.has(full) || also.includes(full)) { this.close(); return; }
    if (s.key?.(full)) return;
    if (full === 'j' || full === 'down') this.top++;
    else if (full === 'k' || full === 'up') this.top = Math.max(0, this.top - 1);
    else if (full === 'pagedown' || full === 'C-f' || full === 'space') this.top += page;
    else if (full === 'pageup' || full === 'C-b') this.top = Math.max(0, this.top - page);
    else if (full === 'g' || full === 'home') this.top = 0;
    else if (full === 'S-g' || full === 'end') this.top = Number.MAX_SAFE_INTEGER;
  }

  render(b: Box): void {
    const s = this.spec;
    if (!s) { b.hide(); return; }
    const { w, h } = inner(b);
    const lines = s.lines(w);
    const row = s.focusRow?.() ?? null;
    if (row !== null) { if (row < this.top) this.top = row; if (row >= this.top + h) this.top = row - h + 1; }
    this.top = Math.max(0, Math.min(this.top, lines.length - h));
    const more = lines.length > h ? ` ${this.top + 1}-${Math.min(lines.length, this.top + h)} of ${lines.length} ` : '';
    b.setLabel(` ${s.title}${more ? ` ·${more}` : ' '}`);
    b.setContent(lines.slice(this.top, this.top + h).join('\n'));
    b.show();
    (b as Widgets.BoxElement).setFront();
  }
}
