// Inputs whose every invalidation once cost a pass over a whole cache in a
// replay or an import (the bounds red team's F5 and F13): shared by
// bench/inval.ts (timed) and test/inval-cost.test.ts (counted).
import { run } from '../engine/run.js';
import type { TraceEvent } from '../engine/types.js';
import { TraceWriter } from '../recorder/writer.js';
import type { TraceHeader } from '../replayer/api.js';
import { loadScenario } from '../scenarios/index.js';

/**
 * A recorded-looking trace (any writer may make one) of a platform, `n`
 * distinct IOTLB fills, `n` 65 536-page invalidations of a domain that holds
 * nothing, then page-range invalidations that drop 1024 lines each. No
 * checkpoint: a reader replays it from the start.
 */
export function fillsThenWideInvals(n: number, path: string): string {
  const sc = loadScenario('dwq-gpasid');
  const platform = run(sc, { variant: { pasid: 'translated' } }).next().value as TraceEvent;
  const header = { format: 2, engine: 'bench', scenario: sc, variant: { pasid: 'translated' }, seed: 0 } as unknown as TraceHeader;
  const w = new TraceWriter(path, header, { chunkEvents: 1024, checkpointEvery: 1 << 20 });
  let seq = 0;
  const stamp = (body: object): TraceEvent => ({ seq, tick: seq, step: seq++, ...body }) as TraceEvent;
  w.push({ ...platform, seq: seq++ });
  const inval = { kind: 'iotlb-inval', iommu: 'dmar0', desc: 2, granularity: 'page', pasid: null };
  for (let i = 0; i < n; i++) w.push(stamp({ kind: 'iotlb-fill', iommu: 'dmar0', did: 1, pasid: 0, page: i, pa: 0x100000 + i * 4096, write: true }));
  for (let i = 0; i < n; i++) w.push(stamp({ ...inval, did: 2, addr: 0, npages: 65536, dropped: 0 }));
  for (let p = 0; p < n; p += 1024) w.push(stamp({ ...inval, did: 1, addr: p * 4096, npages: 1024, dropped: Math.min(1024, n - p) }));
  w.finish();
  return path;
}

/** QEMU VT-d log lines (redteam f5-inval-scan.sh): `n` IOTLB page updates, then `n` 65 536-page invalidations of another domain. */
export function vtdWideInvalLog(n: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x${(i * 4096).toString(16)} slpte 0x${(0x100000 + i * 4096 + 3).toString(16)} domain 0x1`);
  for (let i = 0; i < n; i++) lines.push('vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x2 addr 0x0 mask 0x10');
  return lines;
}

/**
 * QEMU SMMUv3 log lines (redteam f13-smmu-ste-range.sh): `n` streams' configuration cached, `n` CFGI_STE_RANGE
 * whose range holds none, then one that holds them all.
 */
export function smmuSteRangeLog(n: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`smmuv3_config_cache_miss Config cache MISS for sid=0x${(i + 16).toString(16)} (hits=0, misses=1, hit rate=0)`);
  for (let i = 0; i < n; i++) lines.push('smmuv3_cmdq_cfgi_ste_range start=0x7ffffff0 - end=0x7ffffff1');
  lines.push(`smmuv3_cmdq_cfgi_ste_range start=0x10 - end=0x${(n + 15).toString(16)}`);
  return lines;
}
