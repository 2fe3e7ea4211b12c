// The side-by-side diff view driven by keys through fake terminal streams
// (an output Writable with isTTY / columns / rows, an input with setRawMode),
// asserting on the screen it draws.
import { PassThrough, Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceReplayer } from '../replayer/replayer.js';
import { diffTraces } from '../replayer/trace-diff.js';
import { openDiffView, type DiffView } from '../tui/diff-app.js';
import { screenText } from '../tui/term.js';
import type { TraceEvent } from '../engine/types.js';
import { loadScenario } from '../scenarios/index.js';
import { changeAt, events, recordDwqPair, tmp, write } from './diff-helpers.js';

const tick = (): Promise<void> => new Promise((res) => setImmediate(res));

interface Ui { v: DiffView; press(...keys: string[]): Promise<void>; lines(): string[]; text(): string; cursorRows(): string[]; status(): string; close(): void }

async function openUi(pa: string, pb: string, cols = 190, rows = 46): Promise<Ui> {
  const input = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode(b: boolean) { input.isRaw = b; return input; } });
  const output = Object.assign(new Writable({ write(_c: Buffer, _e, cb: () => void) { cb(); } }), { isTTY: true, columns: cols, rows });
  const a = TraceReplayer.open(pa);
  const b = TraceReplayer.open(pb);
  const v = openDiffView(a, b, diffTraces(a, b), { input, output });
  const lines = (): string[] => screenText(v.screen).map((l) => l.trimEnd());
  await tick();
  return {
    v,
    async press(...keys) { for (const k of keys) { input.write(k); await tick(); await tick(); } },
    lines,
    text: () => lines().join('\n'),
    // The cursor row of both lists: the one screen line that holds ▶ twice.
    cursorRows: () => (lines().find((l) => (l.match(/▶/g) ?? []).length === 2) ?? '').split('││'),
    status: () => lines().slice(-2).join('\n'),
    close: () => { v.quit(); a.close(); b.close(); },
  };
}

describe('diff TUI: dwq-gpasid pasid=identity (A) vs pasid=translated (B)', () => {
  let id = '';
  let tr = '';
  beforeAll(() => { ({ id, tr } = recordDwqPair()); });

  it('opens at the first divergence with both lists, both states and A vs B drawn', async () => {
    const ui = await openUi(id, tr);
    const t = ui.text();
    for (const label of ['A: dwq-gpasid [pasid=identity] 40 events', 'B: dwq-gpasid [pasid=translated] 41 events', 'state A after event #21', 'state B after event #21', 'A vs B at row 21']) expect(t).toContain(label);
    const [left, right] = ui.cursorRows();
    expect(left).toMatch(/▶~\s+21 kcall\s+guest_pasid_alloc\(vm="vm0"\) = 0 pasid=1/);
    expect(right).toMatch(/▶~\s+21 kcall\s+guest_pasid_alloc\(vm="vm0"\) = 0 pasid=5/);
    expect(t).toContain('A and B agree here');
    expect(ui.status()).toContain('row 21 / 41');
    expect(ui.status()).toContain('first divergence: A event #21, B event #21');
    ui.close();
  });

  it('j moves both cursors; the A vs B pane shows the keyed state diff', async () => {
    const ui = await openUi(id, tr);
    await ui.press('j');
    const [left, right] = ui.cursorRows();
    expect(left).toMatch(/▶~\s+22 guest-pasid-write .*PASID 1 /);
    expect(right).toMatch(/▶~\s+22 guest-pasid-write .*PASID 5 /);
    const t = ui.text();
    expect(t).toContain('2 cells differ');
    expect(t).toContain('- vpasid vm0/00:02.0/1');
    expect(t).toContain('+ vpasid vm0/00:02.0/5');
    await ui.press('k', 'k');
    expect(ui.v.cursor).toBe(20);
    expect(ui.cursorRows()[0]).toMatch(/▶\s+20 kcall\s+ioasid_alloc/);
    ui.close();
  });

  it('n / N visit the runs of differences; the last is the DMA and the fault only in B', async () => {
    const ui = await openUi(id, tr);
    await ui.press('n');
    expect(ui.v.cursor).toBe(30);
    expect(ui.cursorRows()[1]).toMatch(/▶~\s+30 kvm-pasid-map\s+KVM vm0 PASID translation: guest 5 -> host 1/);
    await ui.press('n');
    expect(ui.v.cursor).toBe(39);
    expect(ui.cursorRows()[0]).toMatch(/▶~\s+39 dma\s+DMA write 00:02\.0 PASID 1 0x400000 -> 0x80001000 via atc/);
    expect(ui.cursorRows()[1]).toMatch(/▶~\s+39 dma\s+DMA write 00:02\.0 PASID 5 0x400000 -> blocked/);
    await ui.press('j');
    // Row 40: the fault, only in B; A's side shows nothing there.
    expect(ui.cursorRows()[1]).toMatch(/▶\+\s+40 fault\s+FAULT iommu 0x59 SM: Present bit in PASID Table Entry is clear/);
    expect(ui.cursorRows()[0]).not.toMatch(/fault/);
    expect(ui.text()).toContain('state A after event #39 (no event on this row)');
    await ui.press('n');
    expect(ui.status()).toContain('no difference after row 40');
    await ui.press('N');
    expect(ui.v.cursor).toBe(39);
    await ui.press('N', 'N');
    expect(ui.v.cursor).toBe(21);
    ui.close();
  });

  it('f, s, ! and g/G jump; ? opens the help; q quits', async () => {
    const ui = await openUi(id, tr);
    await ui.press('G');
    expect(ui.v.cursor).toBe(40);
    await ui.press('f');
    expect(ui.v.cursor).toBe(21);
    await ui.press('s');
    expect(ui.v.cursor).toBe(22);
    expect(ui.status()).toContain('states part here: 2 cell(s) differ');
    await ui.press('!');
    expect(ui.v.cursor).toBe(40);
    expect(ui.status()).toContain('only on one side: A · / B 40 only in B: FAULT iommu 0x59');
    await ui.press('g');
    expect(ui.v.cursor).toBe(0);
    await ui.press('?');
    expect(ui.text()).toContain('iotrace diff — keys');
    expect(ui.text()).toContain('next difference');
    await ui.press('q');
    expect(ui.text()).not.toContain('iotrace diff — keys');
    let quit = false;
    void ui.v.done.then(() => { quit = true; });
    await ui.press('q');
    await tick();
    expect(quit).toBe(true);
    ui.close();
  });

  it('a trace against itself: no difference to visit', async () => {
    const ui = await openUi(tr, tr);
    expect(ui.status()).toContain('A and B hold the same events');
    expect(ui.v.cursor).toBe(0);
    await ui.press('n');
    expect(ui.status()).toContain('no difference after row 0');
    ui.close();
  });
});

describe('diff TUI: retimed rows (the same events one tick later from event 5, one DMA changed)', () => {
  const sc = loadScenario('dwq-gpasid');
  const base = events(sc, { pasid: 'identity' });
  const dma = base.findIndex((e) => e.kind === 'dma');
  let pa = '';
  let pb = '';
  beforeAll(() => {
    const dir = tmp();
    pa = write(dir, 'a', sc, base);
    pb = write(dir, 'b', sc, changeAt(base.map((ev) => (ev.seq >= 5 ? { ...ev, tick: ev.tick + 1 } : ev)) as TraceEvent[], dma, { via: 'iotlb' }));
  });

  it('marks them t, opens on the first, says both ticks; n passes over them to the real difference', async () => {
    const ui = await openUi(pa, pb);
    const [left, right] = ui.cursorRows();
    expect(left).toMatch(/▶t\s+5 /);
    expect(right).toMatch(/▶t\s+5 /);
    expect(ui.status()).toContain(`${base.length - 6} retimed, 1 changed`);
    await ui.press('f');
    expect(ui.status()).toMatch(new RegExp(`first divergence: A 5 / B 5 retimed \\(tick A ${base[5]?.tick} B ${(base[5]?.tick ?? 0) + 1}\\)`));
    await ui.press('n');
    expect(ui.v.cursor).toBe(dma);
    expect(ui.cursorRows()[0]).toMatch(/▶~\s+\d+ dma/);
    await ui.press('n');
    expect(ui.status()).toContain(`no difference after row ${dma}`);
    await ui.press('?');
    expect(ui.text()).toContain('t the same event at another tick, step or source line (retimed): n / N pass over it.');
    ui.close();
  });
});
