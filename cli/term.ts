// The terminal niceties of the command line: colour on stdout when it is a
// terminal, progress on stderr when it is one. Neither ever reaches a pipe or
// a file unless asked (FORCE_COLOR), so `iotrace events t | grep` and
// `--json` see plain bytes.
//
// Colour: FORCE_COLOR set to anything but "0" or "false" turns it on, then
// NO_COLOR set to anything non-empty turns it off (https://no-color.org),
// else it is on when stdout is a terminal (and TERM is not "dumb"). Colours
// are added around text that is already escaped (safe/escape.ts), never
// inside it, so a file's string cannot smuggle its own.
import { family } from '../engine/summary.js';
import { escapeText } from '../safe/escape.js';
import type { EventKind, Family } from '../engine/types.js';

/** Whether to colour a stream's text, from the environment and whether the stream is a terminal. */
export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (force === '0' || force === 'false') return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

let stdoutColour: boolean | null = null;
/** Whether stdout's text is coloured in this process (decided once). */
export const colourOn = (): boolean => (stdoutColour ??= colourWanted(process.stdout));

const SGR: Record<string, string> = { red: '31', green: '32', yellow: '33', blue: '34', magenta: '35', cyan: '36', dim: '2', bold: '1' };
export type Colour = keyof typeof SGR;

/** `text` in a colour when stdout is coloured, else as it is. `text` must already be escaped. */
export function paint(text: string, colour: Colour | undefined, on = colourOn()): string {
  if (!on || colour === undefined || text === '') return text;
  return `\x1b[${SGR[colour] ?? '0'}m${text}\x1b[0m`;
}

/** The colour of an event kind's family, as the debugger uses them. */
const FAMILY_COLOUR: Record<Family, Colour> = {
  ioctl: 'cyan', table: 'yellow', translation: 'green', invalidation: 'blue', fault: 'red', violation: 'magenta', kernel: 'dim', guest: 'cyan',
};

/** The colour for an event kind (undefined for a kind this engine does not know: a forged trace). */
export function kindColour(kind: string): Colour | undefined {
  try { return FAMILY_COLOUR[family(kind as EventKind)]; } catch { return undefined; }
}

// ---------------------------------------------------------------- progress

/**
 * Progress of a long job on stderr, only when stderr is a terminal: one line
 * redrawn at most 10 times a second, `label: 37% (370 of 1000 what), ETA 3s`
 * when the total is known (`~` when it is an estimate), the count otherwise.
 * done() clears the line.
 */
export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private drawn = false;
  constructor(private readonly label: string, private readonly total: number | null, private readonly what: string, private readonly estimate = false,
    private readonly out: { isTTY?: boolean; write(s: string): unknown } = process.stderr) {}

  get active(): boolean { return this.out.isTTY === true; }

  update(done: number, force = false): void {
    if (!this.active) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    this.drawn = true;
    this.out.write(`\r\x1b[K${progressText(this.label, done, this.total, this.what, now - this.start, this.estimate)}`);
  }

  done(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}

const count = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : String(n));

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The progress line: percent and ETA when the total is known (an estimate: never past 99% before done). */
export function progressText(label: string, done: number, total: number | null, what: string, elapsedMs: number, estimate = false): string {
  if (total === null || total <= 0) return `${label}: ${count(done)} ${what}`;
  const frac = Math.min(estimate ? 0.99 : 1, done / total);
  const eta = frac > 0 && elapsedMs > 500 ? `, ETA ${duration((elapsedMs / frac) * (1 - frac))}` : '';
  return `${label}: ${Math.floor(frac * 100)}% (${count(done)} of ${estimate ? '~' : ''}${count(total)} ${what})${eta}`;
}

/** An event's kind column (padded to `width`) and summary, escaped, coloured by family when stdout is (the summary too for faults, violations and unmet expectations). */
export function kindAndText(kind: string, text: string, width = 18): string {
  const c = kindColour(kind);
  const t = escapeText(text);
  return `${paint(escapeText(kind).padEnd(width), c)} ${kind === 'fault' || kind === 'violation' || kind === 'expect' ? paint(t, c) : t}`;
}
