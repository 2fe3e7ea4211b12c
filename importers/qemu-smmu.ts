// QEMU's SMMUv3 model (hw/arm/smmuv3.c, hw/arm/smmu-common.c) as events;
// the trace-events lines are copied from hw/arm/trace-events (QEMU 7.2).
//
// A command is one smmuv3_cmdq_opcode line (the command queue record), then
// QEMU's decode of it and the effect on its IOTLB (smmu_iotlb_inv_*) or
// configuration cache (smmuv3_config_cache_inv). A translation is a lookup
// (smmu_iotlb_lookup_hit / _miss), on a miss a table walk and an insert, then
// its result (smmuv3_translate_success / _abort / _bypass); an insert prints
// no output address, so it is held until the result on the same thread gives it.
import { SMMU_EVENT } from '../engine/iommu.js';
import { k, page } from '../engine/keys.js';
import type { Rid } from '../engine/types.js';
import { contextCacheRange, contextCacheVictims, dropping, iotlbVictims } from '../engine/caches.js';
import type { Ctx, Handler } from './ctx.js';
import { qemuEvent } from './handler.js';
import { ridOfSid } from './rid.js';

/** QEMU's one SMMUv3. */
export const SMMU = 'smmu0';

/** SMMU_CMD_* opcodes (hw/arm/smmuv3-internal.h, the SMMUv3 spec's command numbers), by QEMU's names for them. */
const OPCODES: Record<string, number> = {
  PREFETCH_CONFIG: 0x01, PREFETCH_ADDR: 0x02, CFGI_STE: 0x03, CFGI_STE_RANGE: 0x04, CFGI_CD: 0x05, CFGI_CD_ALL: 0x06, CFGI_ALL: 0x07,
  TLBI_NH_ALL: 0x10, TLBI_NH_ASID: 0x11, TLBI_NH_VA: 0x12, TLBI_NH_VAA: 0x13, TLBI_EL3_ALL: 0x18, TLBI_EL3_VA: 0x1a,
  TLBI_EL2_ALL: 0x20, TLBI_EL2_ASID: 0x21, TLBI_EL2_VA: 0x22, TLBI_EL2_VAA: 0x23, TLBI_S12_VMALL: 0x28, TLBI_S2_IPA: 0x2a,
  TLBI_NSNH_ALL: 0x30, ATC_INV: 0x40, PRI_RESP: 0x41, RESUME: 0x44, STALL_TERM: 0x45, SYNC: 0x46,
};

/** SMMU_EVT_* ids (the SMMUv3 spec's event numbers) for the names QEMU prints; the kernel's names where engine/iommu.ts has them. */
const EVENTS: Record<string, number> = {
  F_UUT: 0x01, C_BAD_STREAMID: 0x02, F_STE_FETCH: 0x03, C_BAD_STE: 0x04, F_BAD_ATS_TREQ: 0x05, F_STREAM_DISABLED: 0x06,
  F_TRANS_FORBIDDEN: 0x07, C_BAD_SUBSTREAM: 0x08, F_CD_FETCH: 0x09, C_BAD_CD: 0x0a, F_WALK_EABT: 0x0b, F_TRANSLATION: 0x10,
  F_ADDR_SIZE: 0x11, F_ACCESS: 0x12, F_PERMISSION: 0x13, F_TLB_CONFLICT: 0x20, F_CFG_CONFLICT: 0x21, E_PAGE_REQ: 0x24,
};

/** SMMU_IOTLB_MAX_SIZE (include/hw/arm/smmu-common.h): the lines QEMU's SMMU IOTLB holds at most (smmu_iotlb_insert(), hw/arm/smmu-common.c). */
export const SMMU_IOTLB_MAX_SIZE = 256;

/** 4 KiB pages in a granule: TG 1 4K, 2 16K, 3 64K (0: no range, a 4K page). */
const granulePages = (tg: number): number => (tg === 2 ? 4 : tg === 3 ? 16 : 1);

interface Range { asid: number; addr: number }

function inval(c: Ctx, q: { granularity: 'global' | 'domain' | 'page'; did: number | null; addr: number | null; npages: number | null }, unknown?: string[]): void {
  const full = { iommu: SMMU, pasid: null, ...q };
  const op = c.recall<number>('cmd') ?? 0;
  c.emit(dropping(c.state, { kind: 'iotlb-inval' as const, desc: op, ...full }, iotlbVictims(c.state, full)), unknown);
}

const device = (c: Ctx, sid: number): Rid => { c.iommu(SMMU, 'smmuv3'); return c.device(ridOfSid(sid), SMMU); };

const ON: [string, Handler][] = [
  qemuEvent(`smmuv3_cmdq_opcode(const char *opcode) "<--- %s"`, (f, c) => {
    c.iommu(SMMU, 'smmuv3');
    const name = f.str('opcode').replace(/^SMMU_CMD_/, '');
    const op = OPCODES[name];
    c.remember('cmd', op ?? 0);
    c.forget('range');
    c.emit({ kind: 'kcall', fn: 'smmuv3_cmdq_consume', args: { iommu: SMMU, opcode: f.str('opcode'), op: op ?? null }, errno: null, out: {} }, op === undefined ? ['op'] : undefined);
  }),
  // QEMU's decode of the command just consumed: its effect is the smmu_iotlb_inv_* / config-cache line after it.
  qemuEvent(`smmuv3_cmdq_tlbi_nh(void) ""`, (_f, c) => c.fold()),
  qemuEvent(`smmuv3_cmdq_tlbi_nh_asid(uint16_t asid) "asid=%d"`, (_f, c) => c.fold()),
  qemuEvent(`smmuv3_cmdq_cfgi_ste(int streamid) "streamid= 0x%x"`, (_f, c) => c.fold()),
  // CFGI_STE_RANGE drops the configuration of every stream in the range (smmuv3_invalidate_ste()); QEMU prints no line per stream.
  qemuEvent(`smmuv3_cmdq_cfgi_ste_range(int start, int end) "start=0x%x - end=0x%x"`, (f, c) => {
    const [start, end] = [f.num('start'), f.num('end')];
    if (start === 0 && end >= 0xffff) {
      const q = { iommu: SMMU, granularity: 'global' as const, did: null, rid: null, fm: null };
      c.emit(dropping(c.state, { kind: 'context-cache-inval' as const, ...q }, contextCacheVictims(c.state, q)));
      return;
    }
    let any = false;
    // The cached streams in the range from the context cache's index of source ids (a binary search, not every stream).
    for (const key of contextCacheRange(c.state, SMMU, start, end)) {
      const rid = key.slice(SMMU.length + 1);
      const q = { iommu: SMMU, granularity: 'device' as const, did: null, rid, fm: 0 };
      c.emit(dropping(c.state, { kind: 'context-cache-inval' as const, ...q }, contextCacheVictims(c.state, q)));
      any = true;
    }
    if (!any) c.fold();
  }),
  qemuEvent(`smmuv3_cmdq_cfgi_cd(uint32_t sid) "sid=0x%x"`, (_f, c) => c.fold()),
  // smmuv3_s1_range_inval(): a TLBI by address, its whole range; smmu_iotlb_inv_iova after it restates it.
  qemuEvent(`smmuv3_s1_range_inval(int vmid, int asid, uint64_t addr, uint8_t tg, uint64_t num_pages, uint8_t ttl, bool leaf) "vmid=%d asid=%d addr=0x%"PRIx64" tg=%d num_pages=0x%"PRIx64" ttl=%d leaf=%d"`, (f, c) => {
    const asid = f.num('asid');
    const addr = f.num('addr');
    const npages = Math.max(1, f.num('num_pages')) * granulePages(f.num('tg'));
    inval(c, { granularity: 'page', did: asid, addr, npages });
    c.remember('range', { asid, addr });
  }),
  qemuEvent(`smmu_iotlb_inv_all(void) "IOTLB invalidate all"`, (_f, c) => inval(c, { granularity: 'global', did: null, addr: null, npages: null })),
  qemuEvent(`smmu_iotlb_inv_asid(uint16_t asid) "IOTLB invalidate asid=%d"`, (f, c) => inval(c, { granularity: 'domain', did: f.num('asid'), addr: null, npages: null })),
  qemuEvent(`smmu_iotlb_inv_iova(uint16_t asid, uint64_t addr) "IOTLB invalidate asid=%d addr=0x%"PRIx64`, (f, c) => {
    const r = c.recall<Range>('range');
    if (r && r.asid === f.num('asid') && r.addr === f.num('addr')) { c.fold(); return; }
    inval(c, { granularity: 'page', did: f.num('asid'), addr: f.num('addr'), npages: 1 }, ['npages']);
  }),
  // The configuration cache (STE and CD per stream), shown as the context cache.
  qemuEvent(`smmuv3_config_cache_inv(uint32_t sid) "Config cache INV for sid=0x%x"`, (f, c) => {
    const q = { iommu: SMMU, granularity: 'device' as const, did: null, rid: device(c, f.num('sid')), fm: 0 };
    c.emit(dropping(c.state, { kind: 'context-cache-inval' as const, ...q }, contextCacheVictims(c.state, q)));
  }),
  qemuEvent(`smmuv3_config_cache_miss(uint32_t sid, uint32_t hits, uint32_t misses, uint32_t perc) "Config cache MISS for sid=0x%x (hits=%d, misses=%d, hit rate=%d)"`,
    (f, c) => c.emit({ kind: 'context-cache-fill', iommu: SMMU, rid: device(c, f.num('sid')), entry: { did: null, tt: null, root: 0, scalable: false } }, ['entry'])),
  qemuEvent(`smmuv3_config_cache_hit(uint32_t sid, uint32_t hits, uint32_t misses, uint32_t perc) "Config cache HIT for sid=0x%x (hits=%d, misses=%d, hit rate=%d)"`, (f, c) => {
    const rid = device(c, f.num('sid'));
    if (c.state.s['context-cache'][k.contextCache(SMMU, rid)]) { c.fold(); return; }
    c.emit({ kind: 'context-cache-fill', iommu: SMMU, rid, entry: { did: null, tt: null, root: 0, scalable: false } }, ['entry']);
  }),
  qemuEvent(`smmu_iotlb_lookup_hit(uint16_t asid, uint64_t addr, uint32_t hit, uint32_t miss, uint32_t p) "IOTLB cache HIT asid=%d addr=0x%"PRIx64" hit=%d miss=%d hit rate=%d"`,
    (f, c) => { c.remember('hit', { asid: f.num('asid'), addr: f.num('addr') }); c.fold(); }),
  // A miss starts a table walk: its address is the one a fault recorded after the walk is about.
  qemuEvent(`smmu_iotlb_lookup_miss(uint16_t asid, uint64_t addr, uint32_t hit, uint32_t miss, uint32_t p) "IOTLB cache MISS asid=%d addr=0x%"PRIx64" hit=%d miss=%d hit rate=%d"`,
    (f, c) => { c.forget('hit'); c.remember('miss', { asid: f.num('asid'), addr: f.num('addr') }); c.fold(); }),
  qemuEvent(`smmu_iotlb_insert(uint16_t asid, uint64_t addr, uint8_t tg, uint8_t level) "IOTLB ++ asid=%d addr=0x%"PRIx64" tg=%d level=%d"`, (f, c) => {
    c.iommu(SMMU, 'smmuv3');
    c.forget('hit');
    // smmu_iotlb_insert() empties a full IOTLB (smmu_iotlb_inv_all(), whose line comes before this one) first: a log
    // without that line still never holds more than SMMU_IOTLB_MAX_SIZE lines.
    if (!c.state.s.iotlb[k.iotlb(SMMU, f.num('asid'), 0, page(f.num('addr')))] && c.lines('iotlb', SMMU) >= SMMU_IOTLB_MAX_SIZE) {
      const q = { iommu: SMMU, pasid: null, granularity: 'global' as const, did: null, addr: null, npages: null };
      c.emit(dropping(c.state, { kind: 'iotlb-inval' as const, desc: 0, ...q }, iotlbVictims(c.state, q)));
    }
    // SMMU IOTLB lines are keyed by ASID; the substream (PASID) is not in the trace: PASID 0.
    c.hold({ kind: 'iotlb-fill', iommu: SMMU, did: f.num('asid'), pasid: 0, page: page(f.num('addr')), pa: 0, write: false }, ['pasid', 'pa', 'write']);
  }),
  qemuEvent(`smmuv3_translate_success(const char *n, uint16_t sid, uint64_t iova, uint64_t translated, int perm) "%s sid=0x%x iova=0x%"PRIx64" translated=0x%"PRIx64" perm=0x%x"`, (f, c) => {
    const rid = device(c, f.num('sid'));
    const iova = f.num('iova');
    const pa = f.num('translated');
    const held = c.take();
    const hit = c.recall<Range>('hit');
    c.forget('hit');
    let via: 'walk' | 'iotlb' = 'walk';
    const fill = held?.body;
    if (held && fill?.kind === 'iotlb-fill' && fill.page === page(iova)) {
      // IOMMU_RO 1, IOMMU_WO 2 (IOMMUAccessFlags): the line's permission.
      held.emit({ ...fill, pa: pa - (pa % 4096), write: (f.num('perm') & 2) !== 0 }, ['pasid']);
    } else {
      if (held && fill) held.emit(fill, ['pasid', 'pa', 'write']);
      if (hit && page(hit.addr) === page(iova)) via = 'iotlb';
    }
    c.emit({ kind: 'dma', rid, pasid: null, addr: iova, write: false, via, pa, ok: true }, held || via === 'iotlb' ? ['write'] : ['write', 'via']);
  }, { takes: true }),
  qemuEvent(`smmuv3_translate_abort(const char *n, uint16_t sid, uint64_t addr, bool is_write) "%s sid=0x%x abort on iova:0x%"PRIx64" is_write=%d"`, (f, c) => {
    const rid = device(c, f.num('sid'));
    c.remember('abort', { rid, addr: f.num('addr') });
    c.emit({ kind: 'dma', rid, pasid: null, addr: f.num('addr'), write: f.num('is_write') !== 0, via: 'walk', pa: null, ok: false });
  }),
  qemuEvent(`smmuv3_translate_bypass(const char *n, uint16_t sid, uint64_t addr, bool is_write) "%s sid=0x%x STE bypass iova:0x%"PRIx64" is_write=%d"`,
    (f, c) => c.emit({ kind: 'dma', rid: device(c, f.num('sid')), pasid: null, addr: f.num('addr'), write: f.num('is_write') !== 0, via: 'none', pa: f.num('addr'), ok: true })),
  qemuEvent(`smmuv3_translate_disable(const char *n, uint16_t sid, uint64_t addr, bool is_write) "%s sid=0x%x bypass (smmu disabled) iova:0x%"PRIx64" is_write=%d"`,
    (f, c) => c.emit({ kind: 'dma', rid: device(c, f.num('sid')), pasid: null, addr: f.num('addr'), write: f.num('is_write') !== 0, via: 'none', pa: f.num('addr'), ok: true })),
  // smmuv3_record_event(): an event queue record; the address is the aborted translation's on this thread.
  qemuEvent(`smmuv3_record_event(const char *type, uint32_t sid) "%s sid=0x%x"`, (f, c) => {
    const rid = device(c, f.num('sid'));
    const name = f.str('type').replace(/^SMMU_EVT_/, '');
    const id = EVENTS[name];
    const abort = c.recall<{ rid: Rid; addr: number }>('abort');
    const miss = c.recall<Range>('miss');
    c.forget('abort');
    c.forget('miss');
    let addr: number | null = null;
    if (abort && abort.rid === rid) addr = abort.addr;
    else if (miss) {
      // A walk that failed after a miss (smmuv3_translate() records the event and no abort line): the blocked DMA.
      addr = miss.addr;
      c.emit({ kind: 'dma', rid, pasid: null, addr, write: false, via: 'walk', pa: null, ok: false }, ['write']);
    }
    c.emit({ kind: 'fault', source: 'smmu', reason: id ?? 0, name: (id !== undefined ? SMMU_EVENT[id] : undefined) ?? name, rid, pasid: null, addr, vm: null },
      [...(id === undefined ? ['reason'] : []), ...(addr === null ? ['addr'] : [])]);
  }),
];

export const SMMU_HANDLERS: Record<string, Handler> = Object.fromEntries(ON);
