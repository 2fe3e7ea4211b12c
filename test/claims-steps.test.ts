// A scenario step named by the header instead of its events: a forged header
// (test/forge.ts recomputes every digest) renames step 2's IOMMU_IOAS_ALLOC
// to IOMMU_DESTROY and adds a reassuring note, events untouched. The detail
// pane, the provenance chain and `e` must name the step by the call its
// events hold and mark the header's claim (replayer/step-claim.ts), as
// export does (test/claims-export.test.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Provenance } from '../provenance/chain.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { forge } from './forge.js';
import { recordTo, tmp } from './trace-helpers.js';
import { KEY, openUi, type Ui } from './tui-helpers.js';

const CLAIM = "FALSE CLAIM: the header's step says IOMMU_DESTROY; its events are IOMMU_IOAS_ALLOC";
const NOTE = 'destroys the IOAS (harmless)';
/** Step 2's events: the IOAS object, then the ioctl that made it. */
const OBJ = 3;
const IOCTL = 4;

let good = '';
let forged = '';
beforeAll(() => {
  const dir = tmp();
  good = recordTo(dir, 'life', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 4, checkpointEvery: 8 }).path;
  forged = join(dir, 'h.iotrace');
  writeFileSync(forged, forge(good, { header: (d) => {
    const step = (d.scenario as { steps: Record<string, unknown>[] }).steps[2] as Record<string, unknown>;
    expect(step.cmd).toBe('IOMMU_IOAS_ALLOC');
    step.cmd = 'IOMMU_DESTROY';
    step.note = NOTE;
  } }));
  const r = TraceReplayer.open(good);
  expect([r.event(OBJ).kind, r.event(IOCTL).kind, r.event(OBJ).step, r.event(IOCTL).step]).toEqual(['iommufd-obj', 'ioctl', 2, 2]);
  r.close();
});

let ui: Ui | null = null;
afterEach(() => { ui?.close(); ui = null; });

/** The open overlay's text from its top. */
async function detail(at: number, path: string): Promise<Ui> {
  ui = await openUi(path, at, 160, 60);
  await ui.press(KEY.enter);
  return ui;
}

describe('the detail pane (Enter) on a step the header renames', () => {
  for (const at of [OBJ, IOCTL]) {
    it(`event #${at}: the step by its events' call, the header's op and note labelled, the false claim in red`, async () => {
      const u = await detail(at, forged);
      const t = u.text();
      expect(t).toMatch(/call +IOMMU_IOAS_ALLOC +\(#4, the ioctl its events hold\)/);
      expect(t).toContain(CLAIM);
      expect(t).toContain("the header's step (unchecked: iotrace verify re-runs the scenario and compares):");
      expect(t).toMatch(/cmd +IOMMU_DESTROY/);
      expect(t).toContain(NOTE);
      // Drawn in red (SGR 31) up to the claim's text.
      expect(u.out()).toMatch(/\x1b\[[0-9;]*31[0-9;]*m(\x1b\[[0-9;]*m)* *FALSE CLAIM: the header's step says IOMMU_DESTROY/);
    });
  }

  it('a genuine header: the same call, no claim', async () => {
    const t = (await detail(OBJ, good)).text();
    expect(t).toMatch(/call +IOMMU_IOAS_ALLOC +\(#4, the ioctl its events hold\)/);
    expect(t).toMatch(/cmd +IOMMU_IOAS_ALLOC/);
    expect(t).not.toContain('FALSE CLAIM');
  });
});

describe('the provenance chain', () => {
  const open: TraceReplayer[] = [];
  afterAll(() => { for (const r of open) r.close(); });
  const stepRow = (path: string, seq: number) => {
    const r = TraceReplayer.open(path);
    open.push(r);
    const rows = new Provenance(r).chainOfEvent(seq).rows;
    return rows.find((x) => x.depth === 1 && x.text.startsWith('scenario step'));
  };

  it("names the step by its ioctl and says the header's command is false (its note dropped)", () => {
    const obj = stepRow(forged, OBJ);
    expect(obj).toMatchObject({ seq: IOCTL, falseClaim: true });
    expect(obj?.text).toBe(`scenario step 2: #4 IOMMU_IOAS_ALLOC() on iommufd = 0 out_ioas_id=1 — ${CLAIM}`);
    expect(stepRow(forged, IOCTL)?.text).toBe(`scenario step 2: IOMMU_IOAS_ALLOC (this event) — ${CLAIM}`);
    expect(stepRow(good, IOCTL)).toMatchObject({ text: 'scenario step 2: IOMMU_IOAS_ALLOC (this event)' });
    expect(stepRow(good, IOCTL)?.falseClaim).toBeUndefined();
  });
});

describe('e (what if this step had ...)', () => {
  it("the prompt names the step by its events' call and says the header's false claim, in red", async () => {
    ui = await openUi(forged, OBJ, 220, 44);
    await ui.press('e');
    expect(ui.status()).toContain(`what if scenario step 2 (IOMMU_IOAS_ALLOC; ${CLAIM}) had (field=value):`);
    expect(ui.out()).toMatch(/\x1b\[[0-9;]*31[0-9;]*m(\x1b\[[0-9;]*m)*what if scenario step 2 \(IOMMU_IOAS_ALLOC; FALSE CLAIM/);
    await ui.press(KEY.esc);
    // And on the message line once the prompt is gone: the call whole, the claim, not the header's note.
    const status = ui.status();
    expect(status).toContain(`scenario step 2: #4 IOMMU_IOAS_ALLOC() on iommufd = 0 out_ioas_id=1 — ${CLAIM}`);
    expect(status).not.toContain(NOTE);
  });

  it('a genuine header: the call, no claim', async () => {
    ui = await openUi(good, OBJ, 220, 44);
    await ui.press('e');
    expect(ui.status()).toContain('what if scenario step 2 (IOMMU_IOAS_ALLOC) had (field=value):');
    expect(ui.status()).not.toContain('FALSE CLAIM');
    await ui.press(KEY.esc);
  });
});
