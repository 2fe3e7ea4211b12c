// The replay debugger as a debugger (issue 15): detail, scenario steps and
// ticks, violations, the jump list, marks, breakpoints and continue, play
// back, prompts with history and completion, keys that say why they cannot
// act, 80x24, too small, NO_COLOR, a threaded trace. Real keys through the
// fake terminal; assertions on the drawn screen.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KEY, openUi, record, tmp } from './tui-helpers.js';

const TRACES = join(process.cwd(), 'traces');
const C_O = '\x0f';
const C_N = '\x0e';
let dwq = '';

/** Everything an open overlay holds: its lines read page by page (PgDn) from the top. */
async function overlayText(ui: Awaited<ReturnType<typeof openUi>>): Promise<string> {
  await ui.press('g');
  const seen: string[] = [ui.text()];
  for (let i = 0; i < 20; i++) {
    await ui.press(KEY.pgdn);
    const t = ui.text();
    if (t === seen[seen.length - 1]) break;
    seen.push(t);
  }
  return seen.join('\n');
}
beforeAll(() => { dwq = record(tmp(), 'dwq-gpasid', { pasid: 'translated' }); });

describe('detail (Enter, i)', () => {
  it('an event whole: every field, the scenario step with its note, the explanation and the cell it is about', async () => {
    const ui = await openUi(dwq, 40);
    await ui.press(KEY.enter);
    const t = await overlayText(ui);
    expect(t).toContain('event #40 · scenario step 18 · tick 18 · fault');
    expect(t).toMatch(/reason\s+0x59/);
    expect(t).toMatch(/addr\s+0x400000/);
    expect(t).toMatch(/name\s+SM: Present bit in PASID Table Entry is clear/);
    expect(t).toMatch(/op\s+wq-submit\s+\(set-up\)/);
    expect(t).toMatch(/wq\s+wq0\s/);
    expect(t).toContain('translated: the guest PASID reaches the IOMMU untranslated');
    expect(t).toContain('the IOMMU recorded fault reason 0x59, "SM: Present bit in PASID Table Entry is clear", for RID 00:02.0,');
    expect(t).toContain('PASID 5, address 0x400000, VM vm0.');
    expect(t).toContain('pasid 00:02.0/5: absent (no such cell after this event)');
    // [ steps with the detail open; it follows.
    await ui.press('[');
    expect(ui.d.cursor).toBe(39);
    expect(ui.text()).toContain('event #39 · scenario step 18 · tick 18 · dma');
    expect(ui.text()).toMatch(/via\s+none /);
    await ui.press(KEY.esc);
    expect(ui.text()).not.toContain('event #39 · scenario step 18');
    // i does the same; the platform event is the set-up.
    await ui.press('g', 'i');
    expect(ui.text()).toContain('event #0 · platform set-up · tick 0 · platform');
    expect(ui.text()).toContain('the platform the scenario declares');
    await ui.press('i');
    expect(ui.text()).not.toContain('the platform the scenario declares');
    ui.close();
  });

  it('a state cell whole with its writers, newest first; Enter on a header still folds', async () => {
    const ui = await openUi(dwq, 40);
    await ui.press(KEY.tab);
    for (let i = 0; i < 60 && !/›\s+wq0 /.test(ui.text()); i++) await ui.press('j');
    await ui.press(KEY.enter);
    const t = await overlayText(ui);
    expect(t).toContain('wq 00:02.0/wq0 after event #40');
    expect(t).toMatch(/pasid\s+5/);
    expect(t).toMatch(/mode\s+dedicated /);
    expect(t).toContain('written by (newest first)');
    const w33 = t.indexOf('#33  00:02.0 wq0 PASID register = 5');
    const w0 = t.indexOf('#0  platform:');
    expect(w33).toBeGreaterThan(0);
    expect(w0).toBeGreaterThan(w33);
    await ui.press(KEY.esc, 'g');
    expect(ui.text()).toMatch(/›▾ host · hosts/);
    await ui.press(KEY.enter);
    expect(ui.text()).toMatch(/›▸ host · hosts \(1\)/);
    ui.close();
  });
});

describe('navigation: scenario steps, ticks, violations, jumps, marks', () => {
  it(':s19 :t13 :#N go by scenario step, tick and event; a step without events goes to the next', async () => {
    const ui = await openUi(dwq);
    await ui.press(':');
    await ui.type('s16');
    expect(ui.d.cursor).toBe(33);
    expect(ui.status()).toContain('event #33/41 · scenario step 16 · t16');
    await ui.press(':');
    await ui.type('t13');
    expect(ui.d.cursor).toBe(26);
    await ui.press(':');
    await ui.type('s8');
    expect(ui.d.cursor).toBe(21);
    expect(ui.status()).toContain('no event of scenario step 8; went to the next, scenario step 9');
    await ui.press(':');
    await ui.type('#5');
    expect(ui.d.cursor).toBe(5);
    await ui.press(':');
    await ui.type('first-violation');
    expect(ui.status()).toContain('this trace has no violation');
    await ui.press(':');
    await ui.type('s99');
    expect(ui.status()).toContain('no scenario step 99 and none after it');
    ui.close();
  });

  it('v / V visit violations, :first-violation goes to the first; n still visits faults and violations', async () => {
    const ui = await openUi(join(TRACES, 'free-while-bound--allocator=lowest--free=notify-cleanup.iotrace'));
    await ui.press('v');
    expect(ui.d.cursor).toBe(31);
    expect(ui.status()).toContain('VIOLATION entry-outlives-ioasid');
    await ui.press('v');
    expect(ui.d.cursor).toBe(33);
    await ui.press('v');
    expect(ui.status()).toContain('no violation after event #33');
    await ui.press('V');
    expect(ui.d.cursor).toBe(31);
    await ui.press('G', ':');
    await ui.type('first-violation');
    expect(ui.d.cursor).toBe(31);
    ui.close();
  });

  it('C-o goes back after every jump and C-n forward again; marks set with m and go with \'', async () => {
    const ui = await openUi(dwq);
    await ui.press('f');
    expect(ui.d.cursor).toBe(40);
    await ui.press(':');
    await ui.type('26');
    await ui.press(C_O);
    expect(ui.d.cursor).toBe(40);
    await ui.press(C_O);
    expect(ui.d.cursor).toBe(0);
    expect(ui.status()).toContain('back to event #0 (0 back, 2 forward)');
    await ui.press(C_O);
    expect(ui.status()).toContain('no earlier jump to go back to');
    await ui.press(C_N);
    expect(ui.d.cursor).toBe(40);
    await ui.press(C_N);
    expect(ui.d.cursor).toBe(26);
    // Marks: the letter shows in the list's mark column.
    await ui.press('m', 'a');
    expect(ui.status()).toContain('mark a at event #26');
    expect(ui.lines().find((l) => /^│▶a\s+26 t13/.test(l))).toBeDefined();
    await ui.press('G', "'");
    expect(ui.status()).toContain('go to mark: a letter (a #26)');
    await ui.press('a');
    expect(ui.d.cursor).toBe(26);
    expect(ui.status()).toContain('mark a: event #26 (scenario step 13): 00:02.0 PASID 1');
    await ui.press("'", 'z');
    expect(ui.status()).toContain('no mark z (marks: a #26)');
    await ui.press(C_O);
    expect(ui.d.cursor).toBe(40); // the mark jump left from G (40)
    ui.close();
  });
});

describe('breakpoints and continue', () => {
  it('b on an ioctl; c and C stop at it and at the fault; B toggles and deletes; continue does not wrap', async () => {
    const ui = await openUi(dwq);
    await ui.press('c');
    expect(ui.d.cursor).toBe(40);
    expect(ui.status()).toContain('breakpoint 1 (any fault) at event #40');
    await ui.press('g', 'b');
    expect(ui.status()).toContain('break on (any fault, any violation, or a search');
    await ui.type('IOMMU_HWPT_ALLOC');
    expect(ui.status()).toContain('breakpoint 2: IOMMU_HWPT_ALLOC (c continues to it');
    await ui.press('c');
    expect(ui.d.cursor).toBe(10);
    expect(ui.status()).toContain('breakpoint 2 (IOMMU_HWPT_ALLOC) at event #10 (scenario step 4)');
    await ui.press('c');
    expect(ui.d.cursor).toBe(25);
    await ui.press('c');
    expect(ui.d.cursor).toBe(40);
    await ui.press('c');
    expect(ui.status()).toContain('no breakpoint after event #40; stayed');
    await ui.press('C');
    expect(ui.d.cursor).toBe(25);
    // B: the list; Space turns "any fault" off, d deletes the ioctl breakpoint.
    await ui.press('B');
    let t = ui.text();
    expect(t).toMatch(/› \[x\]  1  any fault  \(index\)/);
    expect(t).toMatch(/ {2}\[x\]  2  IOMMU_HWPT_ALLOC  \(search\)/);
    await ui.press(' ');
    expect(ui.text()).toMatch(/› \[ \]  1  any fault/);
    await ui.press('j', 'd');
    t = ui.text();
    expect(t).not.toContain('IOMMU_HWPT_ALLOC  (search)');
    await ui.press(KEY.esc, 'c');
    expect(ui.status()).toContain('no breakpoint is on: b adds one');
    // b any violation / a kind; C-o after c returns.
    await ui.press('b');
    await ui.type('pasid-write');
    await ui.press('c');
    expect(ui.d.cursor).toBe(26);
    await ui.press(C_O);
    expect(ui.d.cursor).toBe(25);
    ui.close();
  });

  it('play stops at breakpoints, forward and backward (r)', async () => {
    const ui = await openUi(dwq);
    await ui.press('b');
    await ui.type('kind:kvm-pasid-map');
    await ui.press('0', 'p');
    for (let i = 0; i < 100 && ui.d.cursor < 30; i++) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, 50));
    expect(ui.d.cursor).toBe(30);
    expect(ui.status()).toContain('breakpoint 2 (kvm-pasid-map) at event #30');
    await ui.press('G', '0', 'r');
    for (let i = 0; i < 100 && ui.d.cursor > 30; i++) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, 50));
    expect(ui.d.cursor).toBe(30);
    await ui.press('0', 'r');
    expect(ui.status()).toContain('◀ playing max');
    for (let i = 0; i < 200 && ui.d.cursor > 0; i++) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, 50));
    expect(ui.d.cursor).toBe(0);
    expect(ui.status()).toContain('played backward to event #0');
    await ui.press('r');
    expect(ui.status()).toContain('at event #0; nothing to play back');
    ui.close();
  });
});

describe('a long continue', () => {
  it('scans in the background with its progress; Esc stops it where it was', async () => {
    const big = record(tmp(), 'stress', {}, 450_000);
    const ui = await openUi(big);
    await ui.press('B', ' ', KEY.esc, 'b');
    await ui.type('"no such text anywhere"');
    await ui.send('c');
    let s = '';
    for (let i = 0; i < 200 && !/continuing forward to a breakpoint… \d+% \(Esc stops\)/.test(s); i++) { await new Promise((res) => setTimeout(res, 5)); s = ui.status(); }
    expect(s).toMatch(/continuing forward to a breakpoint… \d+% \(Esc stops\)/);
    await ui.press(KEY.esc);
    expect(ui.status()).toContain('continuing forward to a breakpoint: stopped');
    expect(ui.d.cursor).toBe(0);
    // Run to its end: no breakpoint after, stayed.
    await ui.press('c');
    expect(ui.status()).toContain('no breakpoint after event #0; stayed');
    ui.close();
  }, 60_000);
});

describe('prompts and keys that cannot act', () => {
  it('history with Up/Down, Tab completion of fields, RIDs and kinds; t starts empty with the filter as a hint', async () => {
    const ui = await openUi(dwq);
    await ui.press('/');
    await ui.type('kind:fault');
    expect(ui.d.cursor).toBe(40);
    await ui.press('/', KEY.up);
    expect(ui.status()).toContain('search /kind:fault█');
    await ui.press(KEY.down);
    expect(ui.status()).toContain('search /█');
    await ui.press(...'rid:'.split(''), KEY.tab);
    expect(ui.status()).toContain('search /rid:00:02.0 █');
    await ui.press(...'pasid-w'.split(''), KEY.tab);
    expect(ui.status()).toContain('search /rid:00:02.0 pasid-write █');
    await ui.press(KEY.esc, '/', ...'pasid'.split(''), KEY.tab);
    expect(ui.status()).toMatch(/Tab: pasid: pasid-write pasid-table-alloc pasid-cache-fill pasid-cache-inval/);
    await ui.press(KEY.esc, 't');
    expect(ui.status()).toContain('show kinds or families (empty: all): █   now: all kinds');
    await ui.type('dma fault');
    await ui.press('t');
    expect(ui.status()).toContain('show kinds or families (empty: all): █   now: dma fault (Up recalls it)');
    await ui.press(KEY.up);
    expect(ui.status()).toContain('(empty: all): dma fault█');
    await ui.press(KEY.esc, ':', KEY.tab);
    expect(ui.status()).toContain('Tab: first-fault first-violation last');
    ui.close();
  });

  it('a key that cannot act in the pane says why and where it works', async () => {
    const ui = await openUi(dwq);
    await ui.press('w');
    expect(ui.status()).toContain('w works in the state pane (Tab moves there): jump to the event that last wrote the selected cell');
    await ui.press('h');
    expect(ui.status()).toContain('h ← works in the timeline pane');
    await ui.press('z');
    expect(ui.status()).toContain('z is not a key here (events pane); ? lists them all');
    await ui.press('k');
    expect(ui.status()).toContain('at the first event (#0)');
    await ui.press('G', 'j');
    expect(ui.status()).toContain('at the last event (#40)');
    ui.close();
  });

  it('? lists every binding of the key map, wrapped, and the words used', async () => {
    const ui = await openUi(dwq, 0, 80, 24);
    await ui.press('?');
    const seen: string[] = [];
    for (let i = 0; i < 80; i++) { seen.push(...ui.lines()); await ui.press('j'); }
    const all = seen.join('\n');
    for (const k of ['m x', "' x", 'C-o', 'C-n', 'reverse-continue', 'play backward', 'the breakpoint list', 'Tab completes', '"scenario step 19"']) expect(all).toContain(k);
    await ui.press('?');
    expect(ui.text()).not.toContain('iotrace replay — keys');
    ui.close();
  });
});

describe('layout and colour', () => {
  it('80x24: position, fault counts and timeline markers stay; the legend is one line', async () => {
    const ui = await openUi(dwq, 26, 80, 24);
    const lines = ui.lines();
    expect(lines).toHaveLength(24);
    expect(ui.status()).toContain(' event #26/41 · scenario step 13 · t13 │ 1F 0V · first fault #40 │');
    const tl = lines.findIndex((l) => l.includes('─ timeline '));
    expect(lines[tl + 1]).toMatch(/^│F fault V violation ▲ cursor · 1 col = 1 event/);
    expect(lines[tl + 3]).toMatch(/^│·{26}▲·{13}F\s+│$/);
    for (const l of lines.slice(0, 22)) expect(l.length).toBeLessThanOrEqual(80);
    // a summary keeps more than ten columns
    expect(ui.cursorRow()).toMatch(/pasid-write\s+00:02\.0 PASID 1: /);
    ui.close();
  });

  it('below 80x24 a clear "terminal too small" screen; q still quits', async () => {
    const ui = await openUi(dwq, 0, 79, 30);
    expect(ui.text()).toContain('terminal too small (needs 80x24, this one is 79x30)');
    expect(ui.text()).not.toContain('events (41)');
    await ui.press('q');
    await ui.d.done;
    ui.r.close();
  });

  it('NO_COLOR: no colour escape reaches the terminal, the focus still shows; colour otherwise, unfocused borders in the default colour', async () => {
    const sgr = (out: string): string[] => [...out.matchAll(/\x1b\[([\d;]*)m/g)].map((m) => m[1] as string);
    const colourful = (codes: string[]): boolean => codes.some((c) => c.split(';').some((x) => /^(3[0-7]|9[0-7]|4[0-7]|38|48)$/.test(x)));
    const plain = await openUi(dwq, 40, 140, 44, { NO_COLOR: '1' });
    await plain.press(KEY.tab, 'j');
    expect(colourful(sgr(plain.out()))).toBe(false);
    expect(sgr(plain.out()).some((c) => c.split(';').includes('7'))).toBe(true); // inverse: cursor row, focused label
    plain.close();
    const ui = await openUi(dwq, 40);
    expect(colourful(sgr(ui.out()))).toBe(true);
    // No border drawn in black (blessed's grey on an 8-colour xterm): 30 never appears.
    expect(sgr(ui.out()).some((c) => c.split(';').includes('30'))).toBe(false);
    ui.close();
  });
});

describe('the state pane follows the event', () => {
  it('at a stale-ATC violation it selects the stale ATC line', async () => {
    const ui = await openUi(join(TRACES, 'viommu-vdevice--abort=erase.iotrace'), 49);
    expect(ui.cursorRow()).toContain('VIOLATION stale-atc');
    expect(ui.text()).toMatch(/›\s+0\/0x400000\s+pa=0x80001000/);
    ui.close();
  });

  it('a threaded trace shows the thread in the status line and the detail', async () => {
    const ui = await openUi(join(TRACES, 'race-quota--locking=check-then-charge.iotrace'), 13);
    expect(ui.status()).toMatch(/event #13\/\d+ · scenario step \d+ · vcpu1 · t6/);
    await ui.press('i');
    const t = await overlayText(ui);
    expect(t).toMatch(/event #13 · scenario step \d+ · tick 6 · thread vcpu1 · violation/);
    expect(t).toMatch(/op\s+\S+\s+\(thread vcpu1\)/);
    expect(t).toContain('quota-overrun: an IOASID set holds more PASIDs than its quota allows.');
    ui.close();
  });
});
