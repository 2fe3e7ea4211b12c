// The replay debugger, driven through fake terminal streams with the keys a
// user would press, asserting on the screen it draws.
import { beforeAll, describe, expect, it } from 'vitest';
import { KEY, mouse, openUi, record, tmp } from './tui-helpers.js';

let dwq = '';
beforeAll(() => { dwq = record(tmp(), 'dwq-gpasid', { pasid: 'translated' }); });

describe('replay debugger on dwq-gpasid (pasid=translated)', () => {
  it('opens at step 0 with every pane drawn', async () => {
    const ui = await openUi(dwq);
    const t = ui.text();
    for (const label of ['events (41)', 'state after event #0', 'diff: #-1 → #0', 'timeline']) expect(t).toContain(label);
    expect(ui.cursorRow()).toMatch(/▶\s+0 t0\s+platform/);
    expect(ui.status()).toContain(' event #0/41 · set-up · t0 │ 1F 0V · first fault #40 │ dwq-gpasid [pasid=translated] │');
    ui.close();
  });

  it('steps with j/k and the arrows, pages, and goes to the ends with g/G', async () => {
    const ui = await openUi(dwq);
    await ui.press('j', 'j', 'j');
    expect(ui.d.cursor).toBe(3);
    expect(ui.cursorRow()).toMatch(/▶\s+3 /);
    await ui.press('k', KEY.down, KEY.down, KEY.up);
    expect(ui.d.cursor).toBe(3);
    expect(ui.status()).toContain('event #3/41 · scenario step ');
    await ui.press(KEY.pgdn);
    const page = ui.d.cursor - 3;
    expect(page).toBeGreaterThan(10);
    await ui.press(KEY.pgup);
    expect(ui.d.cursor).toBe(3);
    await ui.press('G');
    expect(ui.d.cursor).toBe(40);
    await ui.press('g');
    expect(ui.d.cursor).toBe(0);
    await ui.press('1', '2', 'g');
    expect(ui.d.cursor).toBe(12);
    await ui.press('5', 'j');
    expect(ui.d.cursor).toBe(17);
    await ui.press(':');
    expect(ui.status()).toContain('go to (#event, +N, -N, s<scenario step>, t<tick>');
    await ui.type('26');
    expect(ui.d.cursor).toBe(26);
    expect(ui.cursorRow()).toContain('pasid-write');
    ui.close();
  });

  it('f lands on the 0x59 fault of the dedicated WQ and the state pane shows that RID\'s PASID table', async () => {
    const ui = await openUi(dwq);
    await ui.press('f');
    expect(ui.d.cursor).toBe(40);
    expect(ui.cursorRow()).toContain('fault');
    expect(ui.cursorRow()).toContain('FAULT iommu 0x59 SM: Present bit in PASID');
    expect(ui.status()).toContain('first fault, event #40 (scenario step 18): FAULT iommu 0x59 SM: Present bit in PASID Table Entry is clear: 00:02.0 PASID 5');
    const t = ui.text();
    expect(t).toContain('state after event #40');
    expect(t).toContain('event #40 fault: no state change');
    // The PASID table of 00:02.0 is selected: entries 0 and 1, no 5.
    expect(t).toMatch(/›\s+▾ 00:02\.0 \(2\)/);
    expect(t).toMatch(/ 1\s+P=1 PGTT=NESTED DID=4/);
    // The timeline marks the cursor on the fault's column.
    expect(t).toMatch(/·▲\s*│/);
    ui.close();
  });

  it('the diff pane shows the PASID-table change of a step, keyed by cell', async () => {
    const ui = await openUi(dwq, 26);
    let t = ui.text();
    expect(t).toContain('diff: #25 → #26');
    expect(t).toContain('event #26 pasid-write: 1 cell changed');
    expect(t).toContain('+ pasid 00:02.0/1');
    expect(t).toMatch(/P=1 PGTT=NESTED DID=4 FLPTR=0x200000/);
    // ...and highlights the written cell in the state pane.
    expect(t).toMatch(/▾ pasid · PASID table \[RID: PASID\] \(2\)\s+1 written/);
    await ui.press(':');
    await ui.type('33');
    t = ui.text();
    expect(t).toContain('~ wq 00:02.0/wq0');
    expect(t).toContain('pasid - → 5');
    ui.close();
  });

  it('w jumps to the event that last wrote the selected state cell, and again to the one before', async () => {
    const ui = await openUi(dwq);
    await ui.press('f', KEY.tab);
    expect(ui.status()).toContain('[state]');
    // Walk the selection down to the wq0 cell of 00:02.0.
    for (let i = 0; i < 60 && !/›\s+wq0 /.test(ui.text()); i++) await ui.press('j');
    expect(ui.text()).toMatch(/›\s+wq0\s+enabled=1 mode=dedicated pasid=5/);
    await ui.press('w');
    expect(ui.d.cursor).toBe(33);
    expect(ui.cursorRow()).toContain('wq-config');
    expect(ui.status()).toContain('event #33 (scenario step 16) wrote wq 00:02.0/wq0');
    expect(ui.text()).toMatch(/›\s+wq0\s+enabled=1 mode=dedicated pasid=5/);
    await ui.press('w');
    expect(ui.d.cursor).toBe(ui.r.lastWriter({ section: 'wq', key: '00:02.0/wq0' }, 32));
    expect(ui.d.cursor).toBe(0);
    await ui.press('w');
    expect(ui.status()).toContain('no event at or before #0 wrote wq 00:02.0/wq0');
    ui.close();
  });

  it('/ searches by ioctl name, kind, RID, PASID and text; n/N follow the search until Esc, then faults', async () => {
    const ui = await openUi(dwq);
    await ui.press('/');
    await ui.type('IOMMU_HWPT_ALLOC');
    const first = ui.d.cursor;
    expect(ui.cursorRow()).toContain('IOMMU_HWPT_ALLOC(');
    expect(ui.status()).toContain('search: IOMMU_HWPT_ALLOC (n/N)');
    await ui.press('n');
    expect(ui.d.cursor).toBeGreaterThan(first);
    expect(ui.cursorRow()).toContain('IOMMU_HWPT_ALLOC(');
    await ui.press('N');
    expect(ui.d.cursor).toBe(first);
    // Search hits are starred in the list.
    expect(ui.lines().filter((l) => /^│.\*/.test(l)).length).toBe(2);
    await ui.press(KEY.esc);
    expect(ui.status()).not.toContain('search:');
    await ui.press('n');
    expect(ui.d.cursor).toBe(40);
    await ui.press('g', '/');
    await ui.type('dma pasid:5');
    expect(ui.d.cursor).toBe(39);
    expect(ui.status()).toContain('match at event #39 (scenario step 18): DMA write 00:02.0 PASID 5 0x400000 -> blocked');
    await ui.press('g', '/');
    await ui.type('rid:00:02.0 fault');
    expect(ui.d.cursor).toBe(40);
    await ui.press('g', '/');
    await ui.type('"guest 5 -> host 1"');
    expect(ui.cursorRow()).toContain('kvm-pasid-map');
    await ui.press('/');
    await ui.type('no-such-thing-anywhere');
    expect(ui.status()).toContain('no event matches');
    ui.close();
  });

  it('t filters the list by kind or family; the cursor steps over hidden events', async () => {
    const ui = await openUi(dwq);
    await ui.press('t');
    await ui.type('pasid-write fault');
    const rows = ui.lines().filter((l) => /^│[▶ ][* ]\s+\d+ t\d+/.test(l));
    expect(rows.length).toBe(3);
    expect(ui.status()).toContain('filter: pasid-write|fault');
    expect(ui.cursorRow()).toContain('pasid-write');
    await ui.press('j', 'j');
    expect(ui.d.cursor).toBe(40);
    await ui.press('k');
    expect(ui.d.cursor).toBe(26);
    await ui.press(KEY.esc);
    expect(ui.status()).toContain('kind filter cleared');
    await ui.press('t');
    await ui.type('bogus');
    expect(ui.status()).toContain('"bogus" is neither an event kind nor a family');
    ui.close();
  });

  it('? shows every key; Esc closes the help', async () => {
    const ui = await openUi(dwq);
    await ui.press('?');
    const t = ui.text();
    expect(t).toContain('iotrace replay — keys');
    for (const k of ['last wrote the selected cell', 'first fault', 'kind filter', 'play forward', 'while a search is active']) expect(t).toContain(k);
    await ui.press('j');
    expect(ui.d.cursor).toBe(0);
    await ui.press(KEY.esc);
    expect(ui.text()).not.toContain('iotrace replay — keys');
    ui.close();
  });

  it('Enter folds and unfolds a state section', async () => {
    const ui = await openUi(dwq, 40);
    await ui.press(KEY.tab, 'g');
    expect(ui.text()).toMatch(/›▾ host · hosts/);
    await ui.press(KEY.enter);
    expect(ui.text()).toMatch(/›▸ host · hosts \(1\)/);
    expect(ui.text()).not.toContain('capacity=');
    await ui.press(KEY.enter);
    expect(ui.text()).toContain('capacity=');
    ui.close();
  });

  it('p plays forward and any key stops it', async () => {
    const ui = await openUi(dwq);
    await ui.press('5', '0', 'p');
    expect(ui.status()).toContain('▶ playing 50/s — any key stops');
    // Wait for play to move (by the cursor, not by a fixed delay: a loaded machine runs timers late).
    for (let i = 0; i < 500 && ui.d.cursor <= 1; i++) await new Promise((res) => setTimeout(res, 20));
    await ui.press('x');
    const stopped = ui.d.cursor;
    expect(stopped).toBeGreaterThan(1);
    expect(ui.status()).toContain(`stopped at event #${stopped}`);
    await new Promise((res) => setTimeout(res, 100));
    expect(ui.d.cursor).toBe(stopped);
    await ui.press('0', 'p');
    for (let i = 0; i < 500 && ui.d.cursor < 40; i++) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, 20));
    expect(ui.d.cursor).toBe(40);
    // The fault is the last event, and play stops at it (the "any fault" breakpoint).
    expect(ui.status()).toContain('breakpoint 1 (any fault) at event #40 (scenario step 18): FAULT iommu 0x59');
    ui.close();
  });

  it('the mouse selects an event, scrolls, and the timeline jumps', async () => {
    const ui = await openUi(dwq, 10);
    const y = ui.lines().findIndex((l) => /^│[ ▶][ *]\s+12 t/.test(l));
    await ui.press(mouse(10, y), mouse(10, y, true));
    expect(ui.d.cursor).toBe(12);
    await ui.press('\x1b[M' + String.fromCharCode(32 + 65) + String.fromCharCode(33 + 10) + String.fromCharCode(33 + y));
    expect(ui.d.cursor).toBe(15);
    const tl = ui.lines().findIndex((l) => l.includes('─ timeline '));
    // Column 40 inside the border is step 40's column (1 step per column).
    await ui.press(mouse(41, tl + 2), mouse(41, tl + 2, true));
    expect(ui.d.cursor).toBe(40);
    ui.close();
  });

  it('q quits and gives the terminal back', async () => {
    const ui = await openUi(dwq);
    await ui.press('q');
    await ui.d.done;
    expect(ui.out()).toContain('\x1b[?1049l'); // left the alternate screen
    ui.r.close();
  });
});
