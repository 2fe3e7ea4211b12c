// The event list, virtualised: it only ever reads the events in its window
// (through Replayer.events, which decodes just those chunks), so a 10 M-event
// trace scrolls like a 100-event one. A kind filter hides other events; the
// selected step stays visible even when the filter hides its kind.
import { summarize } from '../engine/summary.js';
import type { EventKind, TraceEvent } from '../engine/types.js';
import type { Replayer } from '../replayer/api.js';
import { TraceError } from '../trace/format.js';
import { esc } from './term.js';
import { fit, kindColour, paint } from './format.js';
import { scan } from './search.js';

/** How many events a filtered hop may examine before giving up (keeps a keypress bounded). */
export const FILTER_BUDGET = 2_000_000;
const MARGIN = 2;

export class EventList {
  /** Step of the first row on screen. */
  top = 0;
  private filter: Set<EventKind> | null = null;
  private shown: number[] = [];

  constructor(private readonly r: Replayer) {}

  get kinds(): EventKind[] | null { return this.filter ? [...this.filter] : null; }

  setFilter(kinds: EventKind[] | null): void { this.filter = kinds && kinds.length ? new Set(kinds) : null; }

  visible(ev: TraceEvent): boolean { return !this.filter || this.filter.has(ev.kind); }

  /** The step `count` visible events away from `from` in `dir`, stopping at the ends. */
  move(from: number, dir: 1 | -1, count = 1): number {
    if (this.r.count === 0) return 0;
    if (!this.filter) return Math.max(0, Math.min(this.r.count - 1, from + dir * count));
    let at = from;
    for (let i = 0; i < count; i++) {
      const { found } = scan(this.r, (ev) => this.visible(ev), at, dir, FILTER_BUDGET);
      if (found === null) break;
      at = found;
    }
    return at;
  }

  /** First (dir 1) or last (dir -1) visible step, or null. */
  end(dir: 1 | -1): number | null {
    if (this.r.count === 0) return null;
    if (!this.filter) return dir === 1 ? 0 : this.r.count - 1;
    return scan(this.r, (ev) => this.visible(ev), dir === 1 ? -1 : this.r.count, dir, FILTER_BUDGET).found;
  }

  /** The steps on screen, `height` rows, scrolled so `cursor` is visible. */
  window(cursor: number, height: number): number[] {
    const r = this.r;
    if (r.count === 0 || height <= 0) return (this.shown = []);
    const margin = Math.min(MARGIN, Math.floor((height - 1) / 2));
    if (!this.filter) {
      if (cursor < this.top + margin) this.top = cursor - margin;
      if (cursor > this.top + height - 1 - margin) this.top = cursor - height + 1 + margin;
      this.top = Math.max(0, Math.min(this.top, r.count - height));
      const rows: number[] = [];
      for (let n = this.top; n < Math.min(r.count, this.top + height); n++) rows.push(n);
      return (this.shown = rows);
    }
    const vis = (ev: TraceEvent): boolean => ev.seq === cursor || this.visible(ev);
    const back = (from: number, k: number): number => {
      let at = from;
      for (let i = 0; i < k; i++) { const f = scan(r, vis, at, -1, FILTER_BUDGET).found; if (f === null) break; at = f; }
      return at;
    };
    if (cursor < this.top) this.top = back(cursor, margin);
    let rows = this.collect(this.top, height, vis);
    const idx = rows.indexOf(cursor);
    if (idx < 0 || idx > height - 1 - margin) {
      this.top = back(cursor, height - 1 - margin);
      rows = this.collect(this.top, height, vis);
    }
    return (this.shown = rows);
  }

  private collect(from: number, height: number, vis: (ev: TraceEvent) => boolean): number[] {
    const rows: number[] = [];
    if (from < this.r.count && vis(this.r.event(from))) rows.push(from);
    let at = from;
    while (rows.length < height) {
      const f = scan(this.r, vis, at, 1, FILTER_BUDGET).found;
      if (f === null) break;
      rows.push(f);
      at = f;
    }
    return rows;
  }

  /** The step drawn on row y of the last window, or null. */
  rowAt(y: number): number | null { return this.shown[y] ?? null; }

  /** Tagged lines for the window: cursor row inverse, kind coloured by family, search hits and marks shown. */
  render(cursor: number, width: number, height: number, hit?: (ev: TraceEvent) => boolean, markOf?: (n: number) => string | null): string[] {
    const rows = this.window(cursor, height);
    if (rows.length === 0) return [paint(this.r.count === 0 ? 'the trace holds no events' : 'no event matches the kind filter', 'bold')];
    const seqW = Math.max(4, String(this.r.count - 1).length);
    const first = rows[0] as number;
    const last = rows[rows.length - 1] as number;
    let evs: (TraceEvent | number)[];
    try {
      evs = this.filter ? rows.map((n) => this.r.event(n)) : this.r.events(first, last + 1);
    } catch (e) {
      if (!(e instanceof TraceError)) throw e;
      // A damaged chunk in the window: its rows say so, the others are drawn as usual.
      evs = rows.map((n) => { try { return this.r.event(n); } catch (x) { if (!(x instanceof TraceError)) throw x; return n; } });
    }
    return evs.map((ev) => {
      if (typeof ev === 'number') {
        const text = `${ev === cursor ? '▶' : ' '} ${String(ev).padStart(seqW)} (unreadable: damaged chunk)`;
        return paint(fit(text, width), 'red-fg', ...(ev === cursor ? ['inverse'] : []));
      }
      // Second column: * a search match, else the letter of a mark (m), else blank.
      const mark = `${ev.seq === cursor ? '▶' : ' '}${hit?.(ev) ? '*' : markOf?.(ev.seq) ?? ' '}`;
      const head = `${mark}${String(ev.seq).padStart(seqW)} t${String(ev.tick).padEnd(5)} `;
      // The kind column gives way at narrow widths, so an 80-column list keeps room for the summary.
      const kw = width >= 70 ? 17 : Math.max(8, Math.min(17, width - head.length - 20));
      const kind = ev.kind.padEnd(kw).slice(0, kw);
      const rest = Math.max(0, width - head.length - kind.length - 1);
      const text = fit(summarize(ev), rest);
      const bad = ev.kind === 'fault' || ev.kind === 'violation' || ev.kind === 'expect';
      if (ev.seq === cursor) return paint(fit(`${head}${kind} ${text}`, width), 'inverse', ...(bad ? ['red-fg'] : []));
      // A threaded trace: the "[thread] " prefix in the thread's own colour (a sched event's in its chosen thread's).
      const who = typeof ev.thread === 'string' ? ev.thread : null;
      const cut = who !== null && ev.kind !== 'sched' && text.startsWith(`[${who}]`) ? who.length + 2 : 0;
      const tag = cut > 0 ? `${paint(text.slice(0, cut), `${threadColour(who as string)}-fg`)}` : '';
      const body = text.slice(cut);
      return `${esc(head)}${paint(kind, `${who !== null && ev.kind === 'sched' ? threadColour(who) : kindColour(ev.kind)}-fg`, ...(bad ? ['bold'] : []))} ${tag}${bad ? paint(body, 'red-fg') : esc(body)}`;
    });
  }
}

/** The colour of a thread: one of a few, by its name (stable across runs and traces). */
export function threadColour(name: string): string {
  const palette = ['cyan', 'yellow', 'green', 'magenta', 'blue', 'white'];
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return palette[h % palette.length] as string;
}
