// Provenance chains (issue 15): the causes of a fault, a violation or a cell,
// re-derived by re-running the engine's own decision on the replayer's state
// (provenance/decision.ts) and checked against known chains of recorded
// scenarios: the dwq-gpasid 0x59, a stale IOTLB line, the viommu-vdevice
// stale ATC line, and a generated (stress) trace where only the translation
// itself can be re-run.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Scenario } from '../engine/scenario.js';
import type { TraceEvent } from '../engine/types.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { Provenance, type ChainRow } from '../provenance/chain.js';
import { nextWrite } from '../provenance/watch.js';
import { WriterIndex } from '../provenance/writers.js';
import { recordTo, stressScenario, tmp } from './trace-helpers.js';

const golden = (name: string): string => join(process.cwd(), 'traces', `${name}.iotrace`);
const open: TraceReplayer[] = [];
const replayer = (path: string): TraceReplayer => { const r = TraceReplayer.open(path); open.push(r); return r; };
afterAll(() => { for (const r of open) r.close(); });

/** The rows one level below `row` (its direct causes). */
function kids(rows: ChainRow[], row: ChainRow): ChainRow[] {
  const i = rows.indexOf(row);
  const out: ChainRow[] = [];
  for (let j = i + 1; j < rows.length && (rows[j] as ChainRow).depth > row.depth; j++) if ((rows[j] as ChainRow).depth === row.depth + 1) out.push(rows[j] as ChainRow);
  return out;
}
const about = (rows: ChainRow[], section: string, key: string): ChainRow | undefined => rows.find((x) => x.cell?.section === section && x.cell.key === key);

/** Platform of stress.json, five explicit steps: an IOTLB line filled, the page remapped without invalidation, hit again. */
export function staleIotlbScenario(): Scenario {
  const sc = loadScenario('stress');
  delete sc.generate;
  sc.name = 'stale-iotlb';
  sc.steps = [
    { op: 'pt-map', root: 0x1000000, owner: 'proc-0', addr: 0x400000, pa: 0x10000000, size: 8192 },
    { op: 'sva-bind', rid: '00:03.0', owner: 'proc-0', root: 0x1000000, expect: 'ok' },
    { op: 'dma', rid: '00:03.0', pasid: 1, addr: 0x400040, note: 'fills the IOTLB line' },
    { op: 'pt-map', root: 0x1000000, owner: 'proc-0', addr: 0x400000, pa: 0x10001000, note: 'remapped without an IOTLB invalidation' },
    { op: 'dma', rid: '00:03.0', pasid: 1, addr: 0x400080, note: 'hits the stale line' },
  ];
  return sc;
}

describe('the writer index', () => {
  it('answers lastWriter and the next write as the replayer\'s scans do, for every cell written, from many points', () => {
    const dir = tmp();
    const { path } = recordTo(dir, 'stress', stressScenario(6_000));
    const r = replayer(path);
    const ix = new WriterIndex(r);
    while (ix.step()) { /* one chunk a step */ }
    expect(ix.complete).toBe(true);
    const cells = new Map<string, { section: Parameters<typeof r.lastWriter>[0]['section']; key: string }>();
    for (let n = 0; n < r.count; n += 97) for (const c of r.touched(n)) cells.set(`${c.section} ${c.key}`, c);
    cells.set('pasid never', { section: 'pasid', key: '00:09.0/7' });
    expect(cells.size).toBeGreaterThan(20);
    let checked = 0;
    for (const cell of cells.values()) {
      for (const at of [0, 300, 1_000, 2_500, r.count - 1]) {
        expect(ix.lastWriter(cell, at), `${cell.section} ${cell.key} at ${at}`).toBe(r.lastWriter(cell, at));
        expect(ix.nextWriter(cell, at), `${cell.section} ${cell.key} after ${at}`).toBe(nextWrite(r, cell, at));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('provenance chains', () => {
  it('dwq-gpasid 0x59: the DWQ carried guest PASID 5 because the guest programmed it (wq-config, step 16); no entry 5 was ever written', () => {
    const r = replayer(golden('dwq-gpasid--pasid=translated'));
    const p = new Provenance(r);
    const c = p.chainOfEvent(40);
    expect(c.complete).toBe(true);
    const top = c.rows[0] as ChainRow;
    expect(top).toMatchObject({ depth: 0, seq: 40 });
    const direct = kids(c.rows, top);
    // The step row first, then the cells the wq-submit op and the DMA read, in the order the engine read them.
    expect(direct[0]?.text).toMatch(/^scenario step 18: wq-submit .*the guest PASID reaches the IOMMU untranslated/);
    expect(direct.filter((x) => x.cell).map((x) => `${x.cell?.section} ${x.cell?.key} ${x.seq}`)).toEqual([
      'wq 00:02.0/wq0 33', 'device 00:02.0 1', 'atc 00:02.0/5/1024 null', 'pasid-cache dmar0/00:02.0/5 null',
      'pasid-dir 00:02.0/0 11', 'pasid 00:02.0/5 null', 'iommu dmar0 0',
    ]);
    expect(about(direct, 'wq', '00:02.0/wq0')?.text).toMatch(/pasid=5 .*← #33 00:02\.0 wq0 PASID register = 5/);
    expect(about(direct, 'pasid', '00:02.0/5')?.text).toBe('pasid 00:02.0/5 = not present  (never written)');
    // The writer's own causes: the guest-wq-config step and the wq cell as the platform left it.
    const wq = about(direct, 'wq', '00:02.0/wq0') as ChainRow;
    expect(kids(c.rows, wq)[0]?.text).toMatch(/^scenario step 16: guest-wq-config .*it gets the guest PASID/);
    // The directory entry's writer goes back to the ioctl behind it.
    const dir = about(direct, 'pasid-dir', '00:02.0/0') as ChainRow;
    expect(kids(c.rows, dir)[0]).toMatchObject({ seq: 15, text: expect.stringMatching(/^scenario step 5: #15 VFIO_DEVICE_ATTACH_IOMMUFD_PT\(dev="00:02\.0" pt_id=3\) on vfio = 0/) });
    // Every row with a seq names a real event before the subject; every cell row's writer did write that cell.
    for (const row of c.rows) {
      if (row.seq !== null) expect(row.seq).toBeLessThanOrEqual(40);
      if (row.cell && row.seq !== null && row.depth > 0) expect(r.touched(row.seq)).toContainEqual(row.cell);
    }
  });

  it('a stale IOTLB line: the line used, its fill, the PASID-cache line and page-table entry the fill read and their writers, and the remap the tables now give', () => {
    const dir = tmp();
    const { path } = recordTo(dir, 'stale-iotlb', staleIotlbScenario());
    const r = replayer(path);
    const evs = r.events(0, r.count);
    const v = evs.find((e) => e.kind === 'violation') as TraceEvent & { invariant: string };
    expect(v.invariant).toBe('stale-iotlb');
    const fill = evs.find((e) => e.kind === 'iotlb-fill') as TraceEvent;
    const remap = evs.filter((e) => e.kind === 'pt-write').at(-1) as TraceEvent;
    const pcFill = evs.find((e) => e.kind === 'pasid-cache-fill') as TraceEvent;
    const entry = evs.find((e) => e.kind === 'pasid-write') as TraceEvent;
    const c = new Provenance(r).chainOfEvent(v.seq);
    const direct = kids(c.rows, c.rows[0] as ChainRow);
    const line = about(direct, 'iotlb', 'dmar0/1025/1/1024') as ChainRow;
    expect(line.seq).toBe(fill.seq);
    expect(line.text).toMatch(/pa=0x10000000 .*← #\d+ IOTLB fill dmar0 DID 1025 PASID 1 0x400000 -> 0x10000000/);
    // The tables today: the PTE's writer is the remap of step 3, after the fill.
    const pteNow = about(direct, 'pt', '16777216/1024') as ChainRow;
    expect(pteNow.seq).toBe(remap.seq);
    expect(remap.seq).toBeGreaterThan(fill.seq);
    expect(kids(c.rows, pteNow)[0]?.text).toMatch(/^scenario step 3: pt-map .*remapped without an IOTLB invalidation/);
    // The fill's causes: what its walk read, as it stood then. The PASID cache missed, so the walk used the
    // entry it read from the PASID table (the engine's iommuTranslate: PASID cache, else the table; then the IOTLB).
    const fillKids = kids(c.rows, line);
    expect(fillKids[0]?.text).toMatch(/^scenario step 2: dma .*fills the IOTLB line/);
    expect(fillKids.filter((x) => x.cell).map((x) => `${x.cell?.section} ${x.cell?.key} ${x.seq}`)).toEqual([
      'device 00:03.0 0', 'pasid-cache dmar0/00:03.0/1 null', `pasid-dir 00:03.0/0 ${entry.seq - 1}`, `pasid 00:03.0/1 ${entry.seq}`,
      'iotlb dmar0/1025/1/1024 null', 'pt-root 16777216 1', 'pt 16777216/1024 2',
    ]);
    expect(about(fillKids, 'pt', '16777216/1024')?.text).toMatch(/pa=0x10000000 .*← #2 page table 0x1000000 page 0x400000: none -> 0x10000000/);
    // The violation's own walk read the PASID-cache line #11 filled (a hit), and the entry behind it.
    expect(about(direct, 'pasid-cache', 'dmar0/00:03.0/1')?.seq).toBe(pcFill.seq);
    // ...and further back: the entry sva-bind wrote, behind iommu_sva_bind_device().
    const entryRow = about(direct, 'pasid-dir', '00:03.0/0') as ChainRow;
    expect(kids(c.rows, entryRow)[0]?.text).toMatch(/^scenario step 1: #\d+ iommu_sva_bind_device\(rid="00:03\.0" owner="proc-0"\) = 0/);
  });

  it('the translation alone, re-run with the inputs its dma event records, reads what the step read for it', () => {
    const dir = tmp();
    const { path } = recordTo(dir, 'stale-iotlb', staleIotlbScenario());
    const r = replayer(path);
    const p = new Provenance(r);
    const v = r.events(0, r.count).find((e) => e.kind === 'violation') as TraceEvent;
    const local = p.decisions.translation(v.seq);
    const step = p.decisions.of(v.seq);
    expect(local?.how).toBe('dma');
    expect('seqs' in step && step.how).toBe('step');
    if (!local || !('seqs' in step)) return;
    expect(local.seqs).toEqual(step.seqs);
    const cells = (d: typeof local): string[] => d.reads.map((x) => `${x.section} ${x.key}`);
    expect(cells(local)).toEqual(cells(step));
  });

  it('the viommu-vdevice stale ATC line: the fill read the guest PTE as 0x1000 (#27); the tables now give 0x3000 (#47, the guest moved the page)', () => {
    const r = replayer(golden('viommu-vdevice--abort=erase'));
    const c = new Provenance(r).chainOfEvent(49);
    const direct = kids(c.rows, c.rows[0] as ChainRow);
    const line = about(direct, 'atc', '00:05.0/0/1024') as ChainRow;
    expect(line.seq).toBe(43);
    expect(about(kids(c.rows, line), 'pt', '2097152/1024')?.seq).toBe(27);
    expect(about(direct, 'pt', '2097152/1024')).toMatchObject({ seq: 47, text: expect.stringMatching(/pa=0x3000/) });
  });

  it('a threaded race (race-quota, check-then-charge): the overrun is read after vcpu1 resumed past its quota check', () => {
    const r = replayer(golden('race-quota--locking=check-then-charge'));
    const v = r.violations[0] as number;
    const p = new Provenance(r);
    const d = p.decisions.of(v);
    expect('seqs' in d && d.resumed).toMatch(/ioasid_alloc\(\): quota checked/);
    const c = p.chainOfEvent(v);
    const direct = kids(c.rows, c.rows[0] as ChainRow);
    expect(direct[0]?.text).toMatch(/^scenario step \d+ \[thread vcpu1\]: #\d+ \[vcpu1\] ioasid_alloc\(set="vm0" owner="vm0"\) = 0 pasid=3/);
    expect(direct[1]?.text).toMatch(/resumed after ioasid_alloc\(\): quota checked/);
    // The charge and the check read the set (its quota, 2) and vcpu0's allocation, made while vcpu1 was suspended.
    expect(about(direct, 'ioasid-set', 'host0/vm0')?.text).toMatch(/quota=2/);
    const vcpu0 = r.events(0, v).find((e) => e.kind === 'ioasid-alloc' && e.thread === 'vcpu0' && (e as { pasid: number }).pasid === 2) as TraceEvent;
    expect(c.rows.some((x) => x.seq === vcpu0.seq)).toBe(true);
  });

  it('a generated trace: the step cannot be re-run (the header keeps no steps), the DMA can; a cell chain starts at its writer', () => {
    const dir = tmp();
    const { path } = recordTo(dir, 'stress', stressScenario(20_000));
    const r = replayer(path);
    const p = new Provenance(r);
    const f = r.faults[0] as number;
    expect(f).toBeDefined();
    const d = p.decisions.of(f);
    expect('seqs' in d && d.how).toBe('dma');
    const c = p.chainOfEvent(f);
    const direct = kids(c.rows, c.rows[0] as ChainRow);
    expect(direct[0]?.text).toMatch(/^scenario step \d+ \(generated by stress\)$/);
    const ev = r.event(f) as TraceEvent & { rid: string; pasid: number; addr: number };
    expect(about(direct, 'pasid', `${ev.rid}/${ev.pasid}`)?.seq).toBe(r.lastWriter({ section: 'pasid', key: `${ev.rid}/${ev.pasid}` }, f));
    // A first-stage miss (0x71): the walk read the PTE that is not there.
    expect(about(direct, 'pt', `${(ev.pasid) * 0x1000000}/${Math.floor(ev.addr / 4096)}`)?.text).toMatch(/= absent/);
    const cell = { section: 'pasid' as const, key: `${ev.rid}/${ev.pasid}` };
    const cc = p.chainOfCell(cell, f);
    expect(cc.rows[0]).toMatchObject({ depth: 0, seq: r.lastWriter(cell, f), cell });
  });
});
