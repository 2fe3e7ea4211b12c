// What a timeline export draws from a forged-but-valid trace (redteam-lies
// F3, F14): counters and tracks start from the state the events build, not
// from an unchecked checkpoint; a step's slice is named by what the step's
// events did, not by a header that says otherwise.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { forge } from './forge.js';
import { recordTo, stressScenario, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
interface ChromeEvent { name: string; ph: string; cat?: string; pid: number; args: Record<string, unknown> }
const chrome = (...args: string[]): { metadata: Record<string, unknown>; traceEvents: ChromeEvent[] } => {
  const r = cli('export', ...args, '--format', 'chrome');
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { metadata: Record<string, unknown>; traceEvents: ChromeEvent[] };
};

let dir: string;
const save = (name: string, bytes: Buffer): string => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
beforeAll(() => { dir = tmp(); });

describe('export --from over a checkpoint that holds a state the events never built (F3)', () => {
  it('the IOTLB counter starts at what the events hold (2), not the checkpoint\'s 502', () => {
    const good = recordTo(dir, 'stress', stressScenario(40), {}, { chunkEvents: 64, checkpointEvery: 64 }).path;
    const r = TraceReplayer.open(good);
    const cp2 = r.index.checkpointSeqs[2] as number;
    const truth = Object.keys(r.replayedState(cp2).s.iotlb).length;
    r.close();
    expect(truth).toBe(2);
    const forged = save('cp.iotrace', forge(good, { checkpoint: (i, st) => {
      const [key, cell] = Object.entries(st.s.iotlb)[0] ?? [];
      if (i === 2 && key !== undefined) for (let j = 0; j < 500; j++) (st.s.iotlb as Record<string, unknown>)[`${key}x${j}`] = cell;
      return st;
    } }));
    const window = ['--from', String(cp2 + 1), '--to', String(cp2 + 31)];
    const iotlb = (p: string): unknown => chrome(p, ...window).traceEvents.find((e) => e.ph === 'C' && /IOTLB/.test(e.name))?.args;
    expect(iotlb(good)).toEqual({ value: truth });
    expect(iotlb(forged)).toEqual({ value: truth });
    expect(chrome(forged, ...window)).toEqual(chrome(good, ...window));
  });
});

describe("a header whose scenario step says another command than the step's events (F14)", () => {
  it('the step slice is named by the ioctl the step ran, without the header\'s note; the metadata says what is unchecked', () => {
    const good = recordTo(dir, 'life', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 4, checkpointEvery: 8 }).path;
    const forged = save('h.iotrace', forge(good, { header: (d) => {
      const step = (d.scenario as { steps: Record<string, unknown>[] }).steps[2] as Record<string, unknown>;
      expect(step.cmd).toBe('IOMMU_IOAS_ALLOC');
      expect(step.note).toBeUndefined();
      step.cmd = 'IOMMU_DESTROY';
      step.note = 'destroys the IOAS (harmless)';
    } }));
    const step2 = (p: string): { name: string; note: unknown }[] => chrome(p).traceEvents.filter((e) => e.cat === 'step' && e.args.step === 2).map((e) => ({ name: e.name, note: e.args.note }));
    expect(step2(forged)).toEqual([{ name: 'step 2 IOMMU_IOAS_ALLOC', note: undefined }]);
    // A genuine header agrees with its events: its name and note are kept (step 3's note, IOMMU_IOAS_MAP).
    const step3 = chrome(good).traceEvents.filter((e) => e.cat === 'step' && e.args.step === 3).map((e) => ({ name: e.name, note: e.args.note }));
    expect(step3).toEqual([{ name: 'step 3 IOMMU_IOAS_MAP', note: 'IPA 0..0x8000' }]);
    // Step 3's note forged onto a step whose command is forged too: dropped with the name.
    const both = save('h3.iotrace', forge(good, { header: (d) => { ((d.scenario as { steps: Record<string, unknown>[] }).steps[3] as Record<string, unknown>).cmd = 'IOMMU_DESTROY'; } }));
    expect(chrome(both).traceEvents.filter((e) => e.cat === 'step' && e.args.step === 3).map((e) => ({ name: e.name, note: e.args.note }))).toEqual([{ name: 'step 3 IOMMU_IOAS_MAP', note: undefined }]);
    expect(chrome(good).metadata.steps).toMatch(/ops and notes are the header's \(unchecked: iotrace verify re-runs the scenario\)/);
  });
});
