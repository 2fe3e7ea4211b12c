// A one-line editor in the status area for `:`, `/` and the kind filter —
// kept in-house (not blessed's textbox) so every key goes through the one
// dispatcher and tests can type into it like a user.
import type { Widgets } from 'blessed';

export interface PromptSpec {
  label: string;
  initial?: string;
  submit(text: string): void;
}

export class Prompt {
  private spec: PromptSpec | null = null;
  text = '';

  get active(): boolean { return this.spec !== null; }

  open(spec: PromptSpec): void { this.spec = spec; this.text = spec.initial ?? ''; }

  close(): void { this.spec = null; this.text = ''; }

  /** Feed one key; returns true when the prompt consumed it. */
  key(ch: string | undefined, key: Widgets.Events.IKeyEventArg): boolean {
    const spec = this.spec;
    if (!spec) return false;
    if (key.full === 'enter') return true; // blessed sends 'return' and 'enter' for one \r
    if (key.full === 'escape' || key.full === 'C-c') { this.close(); return true; }
    if (key.full === 'return' || key.full === 'linefeed') { const t = this.text; this.close(); spec.submit(t); return true; }
    if (key.full === 'backspace' || key.full === 'C-h') { this.text = this.text.slice(0, -1); return true; }
    if (key.full === 'C-u') { this.text = ''; return true; }
    if (key.full === 'C-w') { this.text = this.text.replace(/\S*\s*$/, ''); return true; }
    if (ch && ch.length === 1 && ch >= ' ' && ch !== '\x7f') this.text += ch;
    return true;
  }

  get label(): string { return this.spec?.label ?? ''; }
}
