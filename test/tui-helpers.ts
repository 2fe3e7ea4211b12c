// Driving the real debugger through fake terminal streams: an output Writable
// with isTTY / columns / rows, an input stream with setRawMode; keys are
// written to the input as a terminal would send them, the screen is read
// back as text.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { Scenario, Variant } from '../engine/scenario.js';
import { recordToFile } from '../recorder/record.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { openDebugger, type Debugger } from '../tui/app.js';
import { screenText } from '../tui/term.js';

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'iotrace-tui-'));

export function record(dir: string, name: string, variant: Variant = {}, scale?: number): string {
  const sc: Scenario = loadScenario(name);
  if (scale !== undefined) sc.generate = { builder: 'stress', params: { scale } };
  const path = join(dir, `${name}.iotrace`);
  recordToFile(sc, { variant }, path);
  return path;
}

/** Terminal byte sequences for named keys. */
export const KEY = {
  enter: '\r', esc: '\x1b', tab: '\t', up: '\x1b[A', down: '\x1b[B', left: '\x1b[D', right: '\x1b[C',
  pgup: '\x1b[5~', pgdn: '\x1b[6~', backspace: '\x7f',
} as const;

/** An X10 mouse report: button 0 press or release at 0-based (x, y). */
export const mouse = (x: number, y: number, release = false): string =>
  `\x1b[M${String.fromCharCode(32 + (release ? 3 : 0))}${String.fromCharCode(33 + x)}${String.fromCharCode(33 + y)}`;

export interface Ui {
  d: Debugger;
  r: TraceReplayer;
  /** Everything written to the fake terminal so far. */
  out(): string;
  /** Send keys (each string is one keypress / sequence), letting the UI handle each. */
  press(...keys: string[]): Promise<void>;
  /** Send keys without waiting for background work (a search, a continue) to finish. */
  send(...keys: string[]): Promise<void>;
  /** Type text into a prompt, then Enter. */
  type(text: string): Promise<void>;
  text(): string;
  lines(): string[];
  /** The event-list row holding the cursor (marked ▶). */
  cursorRow(): string;
  status(): string;
  close(): void;
}

const tick = (): Promise<void> => new Promise((res) => setImmediate(res));

export async function openUi(path: string, at?: number, cols = 140, rows = 44, env: NodeJS.ProcessEnv = {}): Promise<Ui> {
  const input = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode(b: boolean) { input.isRaw = b; return input; } });
  let written = '';
  const output = Object.assign(new Writable({ write(c: Buffer, _e, cb: () => void) { written += c.toString(); cb(); } }), { isTTY: true, columns: cols, rows });
  const r = TraceReplayer.open(path);
  const d = openDebugger(r, { input, output, at, env });
  const lines = (): string[] => screenText(d.screen).map((l) => l.trimEnd());
  const ui: Ui = {
    d, r,
    out: () => written,
    async press(...keys) { for (const k of keys) { input.write(k); await tick(); await tick(); } await d.idle(); await tick(); },
    async send(...keys) { for (const k of keys) { input.write(k); await tick(); await tick(); } },
    async type(text) { await ui.press(...[...text], KEY.enter); },
    text: () => lines().join('\n'),
    lines,
    cursorRow: () => lines().find((l) => /^│▶/.test(l)) ?? '',
    status: () => lines().slice(-2).join('\n'),
    close: () => { d.quit(); r.close(); },
  };
  await tick();
  return ui;
}
