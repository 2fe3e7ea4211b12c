// P, W, x and e in the real debugger (issue 15), driven by keys through the
// fake terminal of test/tui-helpers.ts and read back from the screen.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY, openUi, type Ui } from './tui-helpers.js';

const T = join(process.cwd(), 'traces', 'dwq-gpasid--pasid=translated.iotrace');
let ui: Ui | null = null;
afterEach(() => { ui?.close(); ui = null; });

describe('P: the provenance chain', () => {
  it('on the 0x59 fault: the step, the DWQ register the guest wrote (#33), the missing entry; Enter goes to #33; Esc closes', async () => {
    ui = await openUi(T, 40, 160, 48);
    await ui.press('P');
    const text = ui.text();
    expect(text).toMatch(/provenance of #40 · \d+ rows/);
    expect(text).toMatch(/#40 FAULT iommu 0x59 SM: Present bit in PASID Table Entry is clear/);
    expect(text).toMatch(/scenario step 18: wq-submit/);
    expect(text).toMatch(/wq 00:02\.0\/wq0 = enabled=1 mode=dedicated pasid=5 +← #33 00:02\.0 wq0 PASID register = 5/);
    expect(text).toMatch(/pasid 00:02\.0\/5 = not present +\(never written\)/);
    // Causes of causes start folded (▸) except cache fills; l unfolds one.
    const wqRow = ui.lines().findIndex((l) => /▸ wq 00:02\.0\/wq0/.test(l));
    expect(wqRow).toBeGreaterThan(0);
    // Select the wq row: rows are subject, step, wq (the third).
    await ui.press('j', 'j');
    expect(ui.lines().find((l) => l.includes('›')) ?? '').toMatch(/wq 00:02\.0\/wq0/);
    await ui.press('l');
    expect(ui.text()).toMatch(/scenario step 16: guest-wq-config/);
    await ui.press(KEY.enter);
    expect(ui.cursorRow()).toMatch(/^│▶ +33 /);
    expect(ui.status()).toMatch(/chain: went to #33 \(wq 00:02\.0\/wq0\)/);
    expect(ui.text()).not.toMatch(/provenance of/);
    await ui.press('P');
    expect(ui.text()).toMatch(/provenance of #33/);
    await ui.press(KEY.esc);
    expect(ui.text()).not.toMatch(/provenance of/);
    expect(ui.cursorRow()).toMatch(/^│▶ +33 /);
  });

  it('on a state cell (state pane): the cell as it stands, its writer and the writer\'s causes', async () => {
    // At step 26 the state pane follows the step onto the cell it wrote, 00:02.0's PASID entry 1; Tab keeps it.
    ui = await openUi(T, 26, 160, 48);
    await ui.press(KEY.tab);
    await ui.press('P');
    expect(ui.text()).toMatch(/provenance of pasid 00:02\.0\/1 after #26/);
    expect(ui.text()).toMatch(/pasid 00:02\.0\/1 = P=1 PGTT=NESTED .*← #26/);
    expect(ui.text()).toMatch(/scenario step 13: #29 VFIO_DEVICE_ATTACH_IOMMUFD_PT\(dev="00:02\.0" flags=1 pt_id=4 pasid=1\)/);
  });
});

describe('P at 80x24', () => {
  it('fits: the label, the subject, its direct causes and the keys line, every row 80 columns', async () => {
    ui = await openUi(T, 40, 80, 24);
    await ui.press('P');
    const lines = ui.lines();
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(lines[0]).toMatch(/^┌─ provenance of #40 · \d+ rows/);
    expect(ui.text()).toMatch(/▸ wq 00:02\.0\/wq0 = enabled=1 mode=dedicated pasid=5/);
    expect(ui.text()).toMatch(/j\/k move +Space\/h\/l fold +Enter go to the event/);
    expect(ui.status()).toMatch(/1F 0V/);
  });
});

describe('W: watch forward', () => {
  it('w back from #33 to the platform (#0), then W forward to #33 again; again: no later write', async () => {
    ui = await openUi(T, 33, 160, 48);
    await ui.press(KEY.tab);
    expect(ui.lines().find((l) => l.includes('›')) ?? '').toMatch(/wq0 +enabled=1 mode=dedicated pasid=5/);
    await ui.press('w');
    expect(ui.cursorRow()).toMatch(/^│▶ +0 /);
    await ui.press('W');
    expect(ui.cursorRow()).toMatch(/^│▶ +33 /);
    expect(ui.status()).toMatch(/#33 writes wq 00:02\.0\/wq0 next/);
    await ui.press('W');
    expect(ui.status()).toMatch(/no event after #33 writes wq 00:02\.0\/wq0/);
    expect(ui.cursorRow()).toMatch(/^│▶ +33 /);
  });

  it('in the events pane it says where it works', async () => {
    ui = await openUi(T, 20, 160, 48);
    await ui.press('W');
    expect(ui.status()).toMatch(/W works on a state cell: Tab to the state pane and select one/);
    expect(ui.cursorRow()).toMatch(/^│▶ +20 /);
  });
});

describe('x / e: what if', () => {
  it('e on the fault: step 18 needs the DWQ register; editing step 16 pasid=1 removes the fault, in the diff view beside the original', async () => {
    ui = await openUi(T, 33, 160, 48);
    await ui.press('e');
    expect(ui.status()).toMatch(/what if scenario step 16 had \(field=value\):/);
    await ui.type('pasid=1');
    await ui.d.idle();
    const text = ui.text();
    expect(text).toMatch(/what if scenario step 16 had pasid=1: first divergence A #33, B #33/);
    expect(text).toMatch(/faults only A 1, only B 0/);
    // The diff view's own keys work; q returns to the debugger, where it was.
    await ui.press('q');
    expect(ui.status()).toMatch(/back from the what-if \(scenario step 16 had pasid=1\); its trace: .*dwq-gpasid--whatif\.iotrace/);
    const path = /its trace: (\S+)/.exec(ui.status())?.[1] ?? '';
    expect(existsSync(path)).toBe(true);
    expect(ui.cursorRow()).toMatch(/^│▶ +33 /);
    ui.close();
    ui = null;
    expect(existsSync(path)).toBe(false); // the what-if trace lived in a private temporary folder, removed on quit
  });

  it('x on #33 (scenario step 16, the guest programming its PASID into the DWQ): the diff view at the first divergence', async () => {
    ui = await openUi(T, 33, 160, 48);
    await ui.press('x');
    await ui.d.idle();
    expect(ui.text()).toMatch(/what if without scenario step 16: first divergence A #33, B #33/);
    expect(ui.text()).toMatch(/┌─ A: dwq-gpasid \[pasid=translated\] 41 events ─.*┌─ B: dwq-gpasid \(what if: without step 16\) \[pasid=translated\] 42 events/);
    await ui.press('q');
    expect(ui.status()).toMatch(/back from the what-if \(without scenario step 16\)/);
  });

  it('x on the platform event says why not; a bad edit names the step and field', async () => {
    ui = await openUi(T, 0, 160, 48);
    await ui.press('x');
    expect(ui.status()).toMatch(/the platform set-up is not a scenario step/);
    await ui.press('j', 'e');
    await ui.type('rid=99:99.9');
    await ui.d.idle();
    expect(ui.status()).toMatch(/what if scenario step 0 had rid="99:99\.9": .*step 0.*rid/);
  });
});
