// A one-line editor in the status area for `:`, `/`, `t` and `b` — kept
// in-house (not blessed's textbox) so every key goes through the one
// dispatcher and tests can type into it like a user. Up/Down walk the
// prompt's history; Tab completes the word before the cursor from the
// prompt's candidates (kinds, fields, RIDs...), listing them when several fit.
import type { Widgets } from 'blessed';

export interface PromptSpec {
  label: string;
  /** The label states a false claim of the trace's: the row is drawn in red. */
  warn?: boolean;
  initial?: string;
  /** Shown after the text while nothing is typed (e.g. the current filter). */
  hint?: string;
  /** This prompt's earlier entries, oldest first; submitting appends to it. */
  history?: string[];
  /** Completions for the last word typed. */
  complete?(word: string): readonly string[];
  submit(text: string): void;
}

const HISTORY_MAX = 50;

export class Prompt {
  private spec: PromptSpec | null = null;
  text = '';
  /** Candidates the last Tab found (shown beside the text). */
  private choices: string[] = [];
  private back = -1;

  get active(): boolean { return this.spec !== null; }

  open(spec: PromptSpec): void { this.spec = spec; this.text = spec.initial ?? ''; this.choices = []; this.back = -1; }

  close(): void { this.spec = null; this.text = ''; this.choices = []; }

  /** Feed one key; returns true when the prompt consumed it. */
  key(ch: string | undefined, key: Widgets.Events.IKeyEventArg): boolean {
    const spec = this.spec;
    if (!spec) return false;
    if (key.full !== 'tab') this.choices = [];
    if (key.full === 'enter') return true; // blessed sends 'return' and 'enter' for one \r
    if (key.full === 'escape' || key.full === 'C-c') { this.close(); return true; }
    if (key.full === 'return' || key.full === 'linefeed') {
      const t = this.text;
      this.close();
      const h = spec.history;
      if (h && t.trim() && h[h.length - 1] !== t) { h.push(t); if (h.length > HISTORY_MAX) h.shift(); }
      spec.submit(t);
      return true;
    }
    if (key.full === 'up' || key.full === 'down') { this.recall(key.full === 'up' ? 1 : -1); return true; }
    if (key.full === 'tab') { this.completeWord(); return true; }
    if (key.full === 'backspace' || key.full === 'C-h') { this.text = this.text.slice(0, -1); return true; }
    if (key.full === 'C-u') { this.text = ''; return true; }
    if (key.full === 'C-w') { this.text = this.text.replace(/\S*\s*$/, ''); return true; }
    if (ch && ch.length === 1 && ch >= ' ' && ch !== '\x7f') this.text += ch;
    return true;
  }

  private recall(dir: 1 | -1): void {
    const h = this.spec?.history ?? [];
    const next = Math.max(-1, Math.min(h.length - 1, this.back + dir));
    this.back = next;
    this.text = next < 0 ? '' : (h[h.length - 1 - next] as string);
  }

  private completeWord(): void {
    const spec = this.spec;
    if (!spec?.complete) return;
    const word = /(\S*)$/.exec(this.text)?.[1] ?? '';
    const all = [...new Set(spec.complete(word).filter((c) => c.toLowerCase().startsWith(word.toLowerCase())))];
    if (all.length === 0) { this.choices = ['(no completion)']; return; }
    const common = all.reduce((a, b) => { let i = 0; while (i < a.length && i < b.length && a[i]?.toLowerCase() === b[i]?.toLowerCase()) i++; return a.slice(0, i); });
    const done = all.length === 1 ? `${common}${common.endsWith(':') ? '' : ' '}` : common;
    this.text = `${this.text.slice(0, this.text.length - word.length)}${done.length >= word.length ? done : word}`;
    this.choices = all.length > 1 ? all : [];
  }

  get label(): string { return this.spec?.label ?? ''; }
  get warn(): boolean { return this.spec?.warn === true; }

  /** The prompt row: label, text, cursor, then the Tab candidates or the hint. */
  line(): string {
    const tail = this.choices.length ? `   Tab: ${this.choices.slice(0, 12).join(' ')}${this.choices.length > 12 ? ` … (${this.choices.length})` : ''}` : !this.text && this.spec?.hint ? `   ${this.spec.hint}` : '';
    return `${this.label}${this.text}█${tail}`;
  }
}
