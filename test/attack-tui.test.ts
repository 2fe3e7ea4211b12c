// The replay debugger and the diff view on hostile traces, driven through
// the fake terminal like test/tui.test.ts: strings from a forged trace reach
// the screen escaped (no OSC title, no bidi override, no C1, no forged row
// in what is written to the terminal), the search prompt echoes what is
// typed escaped, and a damaged chunk met while navigating goes to the status
// line while the debugger keeps running.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordToFile } from '../recorder/record.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { diffTraces } from '../replayer/trace-diff.js';
import { loadScenario } from '../scenarios/index.js';
import { openDiffView } from '../tui/diff-app.js';
import { screenText } from '../tui/term.js';
import { forgeTrace } from './attack-helpers.js';
import { KEY, openUi, record, tmp } from './tui-helpers.js';

/** What the program must never have sent to the terminal: the trace's own OSC, bidi controls, C1, separators. */
const HOSTILE = /\x1b\]0;pwned|[\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let dir = '';
let evil = '';
let plain = '';
beforeAll(() => {
  dir = tmp();
  evil = forgeTrace(dir).path;
  plain = record(dir, 'dwq-gpasid', { pasid: 'translated' });
});

describe('replay debugger on a forged trace', () => {
  it('draws the RID and the scenario name escaped; nothing hostile reaches the terminal; one row per event', async () => {
    const ui = await openUi(evil, 26);
    const t = ui.text();
    expect(t).toContain('00:02.0\\n      42 t1');
    expect(ui.status()).toContain('evil\\x1b[2J\\x9b31m\\u2028name\\u202e [pasid=translated]');
    expect(ui.out()).not.toMatch(HOSTILE);
    // Every row of the events pane is one event (seq ascending), none forged by the RID's newline.
    const rows = ui.lines().map((l) => /^│[▶ ][* ]\s*(\d+) t\d+/.exec(l)?.[1]).filter((x): x is string => x !== undefined).map(Number);
    expect(rows.length).toBeGreaterThan(10);
    rows.forEach((n, i) => { if (i > 0) expect(n).toBe((rows[i - 1] as number) + 1); });
    await ui.press('f');
    expect(ui.status()).toContain('first fault, event #40 (scenario step 18): FAULT iommu 0x59');
    expect(ui.status()).toContain('00:02.0\\n');
    await ui.press(KEY.tab);
    expect(ui.text()).toMatch(/00:02\.0\\n {6}42 t1 {6}fault/);
    expect(ui.out()).not.toMatch(HOSTILE);
    ui.close();
  });

  it('the search prompt echoes a pasted bidi override and C1 control escaped', async () => {
    const ui = await openUi(evil);
    await ui.press('/', '\u202e', '\u0085', 'x');
    expect(ui.status()).toContain('search /\\u202e\\x85x');
    expect(ui.out()).not.toMatch(HOSTILE);
    await ui.press(KEY.esc);
    ui.close();
  });
});

describe('diff view on a forged trace', () => {
  it('labels and rows escaped, nothing hostile written', () => {
    const a = TraceReplayer.open(evil);
    const b = TraceReplayer.open(plain);
    let written = '';
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
    const output = Object.assign(new Writable({ write(c: Buffer, _e, cb: () => void) { written += c.toString(); cb(); } }), { isTTY: true, columns: 150, rows: 40 });
    const v = openDiffView(a, b, diffTraces(a, b), { input, output });
    const text = screenText(v.screen).join('\n');
    expect(text).toContain('A: evil\\x1b[2J');
    expect(text).toContain('00:02.0\\n');
    expect(written).not.toMatch(HOSTILE);
    v.quit();
    a.close();
    b.close();
  });
});

describe('a damaged chunk reached by navigation', () => {
  let damaged = '';
  let bad = { first: 0, count: 0 };
  beforeAll(() => {
    damaged = join(dir, 'damaged.iotrace');
    recordToFile(loadScenario('dwq-gpasid'), { variant: { pasid: 'translated' } }, damaged, { chunkEvents: 4, checkpointEvery: 4 });
    const r = TraceReplayer.open(damaged);
    const c = r.chunks[5]!;
    r.close();
    bad = { first: c.first, count: c.count };
    const bytes = readFileSync(damaged);
    writeFileSync(join(dir, 'whole.iotrace'), bytes);
    bytes[c.offset + 20] = (bytes[c.offset + 20] ?? 0) ^ 0xff;
    writeFileSync(damaged, bytes);
  });

  it('the replay debugger says so in the status line and keeps running: other steps still read, keys still work', async () => {
    const ui = await openUi(damaged);
    const count = ui.r.count;
    await ui.press(':');
    await ui.type(String(bad.first + 1));
    expect(ui.d.cursor).toBe(bad.first + 1);
    expect(ui.status()).toMatch(/damaged trace: .*checksum|damaged/);
    expect(ui.text()).toContain(`cannot read`);
    // The detail of an unreadable event says so, and the keys still work (issue 15).
    await ui.press('i');
    expect(ui.text()).toContain(`cannot read event #${bad.first + 1}:`);
    await ui.press(KEY.esc, 'c');
    expect(ui.status()).toMatch(/breakpoint 1 \(any fault\)|damaged/);
    // Still alive: move away from the damage and everything draws again.
    await ui.press('g');
    expect(ui.d.cursor).toBe(0);
    expect(ui.cursorRow()).toMatch(/▶\s+0 t0\s+platform/);
    await ui.press('G');
    expect(ui.d.cursor).toBe(count - 1);
    // Stepping through the damaged chunk one key at a time: each key answers, none kills the debugger.
    await ui.press(':');
    await ui.type(String(bad.first - 1));
    for (let i = 0; i < bad.count + 2; i++) await ui.press('j');
    expect(ui.d.cursor).toBe(bad.first + bad.count + 1);
    await ui.press('/');
    await ui.type('kind:fault');
    expect(ui.status()).toMatch(/match at event #40 |damaged/);
    ui.close();
  });

  it('the diff view too (the alignment computed on the whole file, the view drawn over the damaged one)', async () => {
    const wa = TraceReplayer.open(join(dir, 'whole.iotrace'));
    const wb = TraceReplayer.open(plain);
    const d = diffTraces(wa, wb);
    wa.close();
    wb.close();
    const a = TraceReplayer.open(damaged);
    const b = TraceReplayer.open(plain);
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
    const output = Object.assign(new Writable({ write: (_c, _e, cb: () => void) => cb() }), { isTTY: true, columns: 150, rows: 40 });
    // (diffTraces over the damaged file itself is a TraceError: the CLI's one-line error, exit 2.)
    expect(() => diffTraces(a, b)).toThrow(/checksum|damaged|SHA-256/);
    const v = openDiffView(a, b, d, { input, output });
    const status = (): string => screenText(v.screen).slice(-2).join('\n');
    for (let i = 0; i <= bad.first; i++) { input.write('j'); await new Promise((res) => setImmediate(res)); }
    expect(v.cursor).toBe(bad.first + 1);
    expect(status()).toMatch(/damaged trace/);
    for (const k of ['g', 'j']) { input.write(k); await new Promise((res) => setImmediate(res)); }
    expect(v.cursor).toBe(1);
    expect(status()).toContain('row 1 /');
    v.quit();
    a.close();
    b.close();
  });
});
