// QEMU's Intel IOMMU model (hw/i386/intel_iommu.c) as events: each
// trace-events line below is copied from hw/i386/trace-events (QEMU 7.2 and
// later; a second line where a later QEMU prints it differently).
//
// QEMU prints each invalidation descriptor twice: vtd_inv_desc with its 128
// bits (vtd_process_inv_desc()), then its own decode (vtd_inv_desc_iotlb_pages,
// vtd_inv_desc_cc_device, ...) and the reset it does (vtd_iotlb_reset,
// vtd_context_cache_reset). The descriptor is the event; a decode right
// after it on the same thread is folded into it, and one with no descriptor
// before it (only the decode traced) becomes the event itself.
import { contextCacheVictims, dropping, iotlbVictims, pasidCacheVictims } from '../engine/caches.js';
import { VTD_FAULT } from '../engine/iommu.js';
import { k, page, PAGE_SIZE } from '../engine/keys.js';
import type { ContextCacheCell, EventBody, Rid } from '../engine/types.js';
import type { Ctx, Handler } from './ctx.js';
import { FieldError, type Fields } from './format.js';
import { qemuEvent } from './handler.js';
import { ridOf, ridOfDevfn, ridOfSid } from './rid.js';
import { decodeDesc, descEvent, descRid } from './vtd-desc.js';

/** QEMU's one vIOMMU, named as the guest kernel names it (the first DMAR unit). */
export const VTD = 'dmar0';

/**
 * VT-d legacy fault reasons, worded as the kernel prints them
 * (dma_remap_fault_reasons[] in drivers/iommu/intel/dmar.c); QEMU reports
 * these codes (VTD_FR_* in hw/i386/intel_iommu_internal.h) in legacy mode and
 * the scalable-mode ones (engine/iommu.ts VTD_FAULT) in scalable mode.
 */
export const VTD_LEGACY_FAULT: Record<number, string> = {
  0x1: 'Present bit in root entry is clear', 0x2: 'Present bit in context entry is clear', 0x3: 'Invalid context entry',
  0x4: 'Access beyond MGAW', 0x5: 'PTE Write access is not set', 0x6: 'PTE Read access is not set',
  0x7: 'Next page table ptr is invalid', 0x8: 'Root table address invalid', 0x9: 'Context table ptr is invalid',
  0xa: 'non-zero reserved fields in RTP', 0xb: 'non-zero reserved fields in CTP', 0xc: 'non-zero reserved fields in PTE',
  0xd: 'PCE for translation request specifies blocking',
};

export const vtdFaultName = (reason: number): string => VTD_LEGACY_FAULT[reason] ?? VTD_FAULT[reason] ?? 'Unknown';

/** The descriptor this thread's last vtd_inv_desc line was: what its decode lines restate. */
interface Desc { type: number; g: string }

/** A second-level PTE's address bits 51:12 (and its W bit 1): where an IOTLB line points. */
const pteAddr = (pte: bigint): number => Number(pte & 0x000ffffffffff000n);
const pteWrite = (pte: bigint): boolean => (pte & 2n) === 2n;

/** A context entry (lo, hi) as the cache holds it: legacy (VT-d 9.3) or scalable mode (9.4). */
export function contextEntry(lo: bigint, hi: bigint, scalable: boolean): ContextCacheCell {
  const root = Number((lo >> 12n) << 12n & 0x000fffffffffffffn);
  if (scalable) return { did: null, tt: null, root, scalable };
  return { did: Number((hi >> 8n) & 0xffffn), tt: Number((lo >> 2n) & 3n), root, scalable };
}

/**
 * A decode line: folded when this thread's last descriptor was of `type` (and
 * `g` when given), else the event `own()` builds from the line's fields.
 */
function restates(c: Ctx, type: number, g: string | null, own: () => EventBody | null): void {
  const d = c.recall<Desc>('desc');
  if (d && d.type === type && (g === null || d.g === g)) { c.fold(); return; }
  c.forget('desc');
  const body = own();
  if (body) c.emit(body);
}

function iotlbInval(c: Ctx, desc: number, q: { granularity: 'global' | 'domain' | 'pasid' | 'page'; did: number | null; pasid: number | null; addr: number | null; npages: number | null }): EventBody {
  const full = { iommu: VTD, ...q };
  return dropping(c.state, { kind: 'iotlb-inval' as const, desc, ...full }, iotlbVictims(c.state, full));
}

function ccInval(c: Ctx, q: { granularity: 'global' | 'domain' | 'device'; did: number | null; rid: Rid | null; fm: number | null }): EventBody {
  const full = { iommu: VTD, ...q };
  if (q.rid) c.device(q.rid, VTD);
  return dropping(c.state, { kind: 'context-cache-inval' as const, ...full }, contextCacheVictims(c.state, full));
}

function pcInval(c: Ctx, q: { granularity: 'global' | 'domain' | 'pasid'; did: number | null; pasid: number | null }): EventBody {
  const full = { iommu: VTD, ...q };
  return dropping(c.state, { kind: 'pasid-cache-inval' as const, ...full }, pasidCacheVictims(c.state, full));
}

/** QEMU's largest address mask (VTD_MAMV in hw/i386/intel_iommu_internal.h, advertised as CAP_REG.MAMV). */
const VTD_MAMV = 18;

/**
 * A page-selective descriptor's address mask (2^AM pages). QEMU refuses AM >
 * VTD_MAMV before it invalidates, and traces the invalidation only after
 * (vtd_process_iotlb_desc() in hw/i386/intel_iommu.c): a wider mask is no line
 * QEMU prints.
 */
function addressMask(f: Fields): number {
  const am = f.num('mask');
  if (am > VTD_MAMV) throw new FieldError(`${f.event}: mask 0x${am.toString(16)} is wider than QEMU's largest address mask (VTD_MAMV ${VTD_MAMV}), which it refuses before tracing`);
  return am;
}

/** A QEMU call with no modelled state effect, named by its trace event. */
const call = (fn: string, f: Fields, out: Record<string, number | string> = {}): EventBody => ({ kind: 'kcall', fn, args: f.all(), errno: null, out });

/** A translation this thread just served: the next vtd_dmar_translate of the same page restates it. */
interface Served { rid: Rid; page: number }

function served(c: Ctx, tag: string, rid: Rid, addr: number): boolean {
  const s = c.recall<Served>(tag);
  return s !== undefined && s.rid === rid && s.page === page(addr);
}

/**
 * VTD_IOTLB_MAX_SIZE (hw/i386/intel_iommu_internal.h): vtd_update_iotlb()
 * empties the whole IOTLB (vtd_reset_iotlb_locked(), traced as vtd_iotlb_reset
 * "iotlb exceeds size limit") before it adds a line to a full one.
 */
export const VTD_IOTLB_MAX_SIZE = 1024;
const SIZE_LIMIT = 'iotlb exceeds size limit';

/** vtd_reset_iotlb_locked() as an event: the whole IOTLB dropped, no descriptor (desc 0). */
const iotlbReset = (c: Ctx): EventBody => iotlbInval(c, 0, { granularity: 'global', did: null, pasid: null, addr: null, npages: null });

function hitOrUpdate(f: Fields, c: Ctx, hit: boolean): void {
  const rid = c.device(ridOfSid(f.num('sid')), VTD);
  const addr = f.num('addr');
  const pte = f.big('slpte');
  const did = f.num('domain');
  const fill: EventBody = { kind: 'iotlb-fill', iommu: VTD, did, pasid: 0, page: page(addr), pa: pteAddr(pte), write: pteWrite(pte) };
  const line = c.state.s.iotlb[k.iotlb(VTD, did, 0, page(addr))];
  c.iommu(VTD, 'vtd');
  c.forget('reset');
  // A new line in a full IOTLB: an update empties it first, as vtd_update_iotlb() does (QEMU's vtd_iotlb_reset line after it
  // is then folded); a hit on a line the trace lacks adds none, since QEMU's lookup changed nothing.
  const full = !line && c.lines('iotlb', VTD) >= VTD_IOTLB_MAX_SIZE;
  if (full && !hit) { c.emit(iotlbReset(c)); c.remember('reset', true); }
  // QEMU's IOTLB lines carry no PASID in the trace: kept under PASID 0, the RID_PASID of requests without one.
  if (!hit) { c.emit(fill, ['pasid']); c.remember('filled', fill); } else if (!full && (!line || line.pa !== pteAddr(pte))) c.emit(fill, ['pasid']);
  if (hit) {
    c.emit({ kind: 'dma', rid, pasid: null, addr, write: false, via: 'iotlb', pa: pteAddr(pte) + (addr % PAGE_SIZE), ok: true }, ['write']);
    c.remember('hit', { rid, page: page(addr) });
    c.forget('walked');
  } else {
    c.remember('walked', { rid, page: page(addr) });
    c.forget('hit');
  }
}

const ON: [string, Handler][] = [
  qemuEvent(`vtd_inv_desc(const char *type, uint64_t hi, uint64_t lo) "invalidate desc type %s high 0x%"PRIx64" low 0x%"PRIx64`, (f, c) => {
    c.iommu(VTD, 'vtd');
    const d = decodeDesc(f.big('lo'), f.big('hi'));
    const rid = descRid(d);
    if (rid) c.device(rid, VTD);
    c.emit(descEvent(VTD, d, c.state, 'vtd_process_inv_desc'));
    c.remember('desc', { type: d.type, g: String(d.fields.g ?? '') });
  }),
  qemuEvent(`vtd_inv_desc_cc_domain(uint16_t domain) "context invalidate domain 0x%"PRIx16`, (f, c) => restates(c, 0x1, 'domain', () => ccInval(c, { granularity: 'domain', did: f.num('domain'), rid: null, fm: null }))),
  qemuEvent(`vtd_inv_desc_cc_global(void) "context invalidate globally"`, (_f, c) => restates(c, 0x1, 'global', () => ccInval(c, { granularity: 'global', did: null, rid: null, fm: null }))),
  qemuEvent(`vtd_inv_desc_cc_device(uint8_t bus, uint8_t dev, uint8_t fn) "context invalidate device %02"PRIx8":%02"PRIx8".%02"PRIx8`,
    (f, c) => restates(c, 0x1, 'device', () => ccInval(c, { granularity: 'device', did: null, rid: ridOf(f.num('bus'), f.num('dev'), f.num('fn')), fm: 0 }))),
  qemuEvent(`vtd_inv_desc_cc_devices(uint16_t sid, uint16_t fmask) "context invalidate devices sid 0x%"PRIx16" fmask 0x%"PRIx16`,
    (f, c) => restates(c, 0x1, 'device', () => ccInval(c, { granularity: 'device', did: null, rid: ridOfSid(f.num('sid')), fm: f.num('fmask') }))),
  // vtd_context_global_invalidate() and a root-table switch reset the whole context cache.
  qemuEvent(`vtd_context_cache_reset(void) ""`, (_f, c) => restates(c, 0x1, 'global', () => ccInval(c, { granularity: 'global', did: null, rid: null, fm: null }))),
  qemuEvent(`vtd_inv_desc_iotlb_global(void) "iotlb invalidate global"`, (_f, c) => restates(c, 0x2, 'global', () => iotlbInval(c, 0x2, { granularity: 'global', did: null, pasid: null, addr: null, npages: null }))),
  qemuEvent(`vtd_inv_desc_iotlb_domain(uint16_t domain) "iotlb invalidate whole domain 0x%"PRIx16`,
    (f, c) => restates(c, 0x2, 'domain', () => iotlbInval(c, 0x2, { granularity: 'domain', did: f.num('domain'), pasid: null, addr: null, npages: null }))),
  qemuEvent(`vtd_inv_desc_iotlb_pages(uint16_t domain, uint64_t addr, uint8_t mask) "iotlb invalidate domain 0x%"PRIx16" addr 0x%"PRIx64" mask 0x%"PRIx8`,
    (f, c) => restates(c, 0x2, 'page', () => iotlbInval(c, 0x2, { granularity: 'page', did: f.num('domain'), pasid: null, addr: f.num('addr'), npages: 2 ** addressMask(f) }))),
  qemuEvent(`vtd_inv_desc_iotlb_pasid_pages(uint16_t domain, uint64_t addr, uint8_t mask, uint32_t pasid) "iotlb invalidate domain 0x%"PRIx16" addr 0x%"PRIx64" mask 0x%"PRIx8" pasid 0x%"PRIx32`,
    (f, c) => restates(c, 0x6, 'page', () => iotlbInval(c, 0x6, { granularity: 'page', did: f.num('domain'), pasid: f.num('pasid'), addr: f.num('addr'), npages: 2 ** addressMask(f) }))),
  qemuEvent(`vtd_inv_desc_iotlb_pasid(uint16_t domain, uint32_t pasid) "iotlb invalidate domain 0x%"PRIx16" pasid 0x%"PRIx32`,
    (f, c) => restates(c, 0x6, 'pasid', () => iotlbInval(c, 0x6, { granularity: 'pasid', did: f.num('domain'), pasid: f.num('pasid'), addr: null, npages: null }))),
  // vtd_reset_iotlb(): a global invalidation, or QEMU emptying its IOTLB on its own (desc 0: no descriptor). A full IOTLB
  // is emptied in vtd_update_iotlb() before the line it just traced is added: if the importer's count had not reached
  // VTD_IOTLB_MAX_SIZE (it keys lines by domain, QEMU by source), that line is filled again after the reset.
  qemuEvent(`vtd_iotlb_reset(const char *reason) "IOTLB reset (reason: %s)"`, (f, c) => {
    const filled = f.str('reason') === SIZE_LIMIT ? c.recall<EventBody>('filled') : undefined;
    if (filled === undefined) { restates(c, 0x2, 'global', () => iotlbReset(c)); return; }
    c.forget('filled');
    if (c.recall<boolean>('reset') === true) { c.forget('reset'); c.fold(); return; }
    c.emit(iotlbReset(c));
    c.emit(filled, ['pasid']);
  }),
  qemuEvent(`vtd_inv_desc_wait_sw(uint64_t addr, uint32_t data) "wait invalidate status write addr 0x%"PRIx64" data 0x%"PRIx32`, (f, c) => restates(c, 0x5, null, () => call('vtd_inv_desc_wait_sw', f))),
  qemuEvent(`vtd_inv_desc_wait_irq(const char *msg) "%s"`, (f, c) => restates(c, 0x5, null, () => call('vtd_inv_desc_wait_irq', f))),
  qemuEvent(`vtd_inv_desc_wait_write_fail(uint64_t hi, uint64_t lo) "write fail for wait desc hi 0x%"PRIx64" lo 0x%"PRIx64`, (f, c) => restates(c, 0x5, null, () => call('vtd_inv_desc_wait_write_fail', f))),
  qemuEvent(`vtd_inv_desc_iec(uint32_t granularity, uint32_t index, uint32_t mask) "granularity 0x%"PRIx32" index 0x%"PRIx32" mask 0x%"PRIx32`, (f, c) => restates(c, 0x4, null, () => call('vtd_inv_desc_iec', f))),
  // The PASID-cache descriptor (0x7) as QEMU decodes it (QEMU 8.x and later; 7.2 ignores 0x7 descriptors).
  qemuEvent(`vtd_pasid_cache_gsi(void) ""`, (_f, c) => restates(c, 0x7, 'global', () => pcInval(c, { granularity: 'global', did: null, pasid: null }))),
  qemuEvent([`vtd_pasid_cache_dsi(uint16_t domain) "Domain selective PC invalidation domain 0x%"PRIx16`, `vtd_pasid_cache_dsi(uint16_t domain) "Domain slective PC invalidation domain 0x%"PRIx16`],
    (f, c) => restates(c, 0x7, 'domain', () => pcInval(c, { granularity: 'domain', did: f.num('domain'), pasid: null }))),
  qemuEvent([`vtd_pasid_cache_psi(uint16_t domain, uint32_t pasid) "PASID selective PC invalidation domain 0x%"PRIx16" pasid 0x%"PRIx32`, `vtd_pasid_cache_psi(uint16_t domain, uint32_t pasid) "PASID slective PC invalidation domain 0x%"PRIx16" pasid 0x%"PRIx32`],
    (f, c) => restates(c, 0x7, 'pasid', () => pcInval(c, { granularity: 'pasid', did: f.num('domain'), pasid: f.num('pasid') }))),
  qemuEvent(`vtd_pasid_cache_reset(void) ""`, (_f, c) => restates(c, 0x7, 'global', () => pcInval(c, { granularity: 'global', did: null, pasid: null }))),

  // vtd_dev_to_context_entry(): the lookup before a translation (or an address-space switch) failed; the fault, if reported, is vtd_dmar_fault.
  qemuEvent(`vtd_re_not_present(uint8_t bus) "Root entry bus %"PRIu8" not present"`,
    (f, c) => { c.forget('desc'); c.emit({ kind: 'kcall', fn: 'vtd_dev_to_context_entry', args: { bus: f.num('bus') }, errno: null, out: { fault: 0x1, reason: vtdFaultName(0x1) } }); }),
  qemuEvent(`vtd_ce_not_present(uint8_t bus, uint8_t devfn) "Context entry bus %"PRIu8" devfn %"PRIu8" not present"`, (f, c) => {
    c.forget('desc');
    const rid = c.device(ridOfDevfn(f.num('bus'), f.num('devfn')), VTD);
    c.emit({ kind: 'kcall', fn: 'vtd_dev_to_context_entry', args: { rid }, errno: null, out: { fault: 0x2, reason: vtdFaultName(0x2) } });
  }),
  qemuEvent(`vtd_iotlb_page_hit(uint16_t sid, uint64_t addr, uint64_t slpte, uint16_t domain) "IOTLB page hit sid 0x%"PRIx16" iova 0x%"PRIx64" slpte 0x%"PRIx64" domain 0x%"PRIx16`,
    (f, c) => { c.forget('desc'); hitOrUpdate(f, c, true); }),
  qemuEvent(`vtd_iotlb_page_update(uint16_t sid, uint64_t addr, uint64_t slpte, uint16_t domain) "IOTLB page update sid 0x%"PRIx16" iova 0x%"PRIx64" slpte 0x%"PRIx64" domain 0x%"PRIx16`,
    (f, c) => { c.forget('desc'); hitOrUpdate(f, c, false); }),
  // vtd_iommu_translate(): the result of every translation; after a page hit it restates the DMA that hit already is.
  qemuEvent(`vtd_dmar_translate(uint8_t bus, uint8_t slot, uint8_t func, uint64_t iova, uint64_t gpa, uint64_t mask) "dev %02x:%02x.%02x iova 0x%"PRIx64" -> gpa 0x%"PRIx64" mask 0x%"PRIx64`, (f, c) => {
    c.forget('desc');
    const rid = c.device(ridOf(f.num('bus'), f.num('slot'), f.num('func')), VTD);
    const iova = f.num('iova');
    if (served(c, 'hit', rid, iova)) { c.forget('hit'); c.fold(); return; }
    const walked = served(c, 'walked', rid, iova);
    c.forget('walked');
    c.emit({ kind: 'dma', rid, pasid: null, addr: iova, write: false, via: 'walk', pa: f.num('gpa'), ok: true }, walked ? ['write'] : ['write', 'via']);
  }),
  // vtd_report_fault(): a DMA the tables refused (not reported when the context entry has FPD set).
  qemuEvent(`vtd_dmar_fault(uint16_t sid, int fault, uint64_t addr, bool is_write) "sid 0x%"PRIx16" fault %d addr 0x%"PRIx64" write %d"`, (f, c) => {
    c.forget('desc');
    c.iommu(VTD, 'vtd');
    const rid = c.device(ridOfSid(f.num('sid')), VTD);
    const addr = f.num('addr');
    const reason = f.num('fault');
    c.emit({ kind: 'dma', rid, pasid: null, addr, write: f.num('is_write') !== 0, via: 'walk', pa: null, ok: false });
    c.emit({ kind: 'fault', source: 'iommu', reason, name: vtdFaultName(reason), rid, pasid: null, addr, vm: null });
  }),
  qemuEvent(`vtd_iotlb_cc_hit(uint8_t bus, uint8_t devfn, uint64_t high, uint64_t low, uint32_t gen) "IOTLB context hit bus 0x%"PRIx8" devfn 0x%"PRIx8" high 0x%"PRIx64" low 0x%"PRIx64" gen %"PRIu32`, (f, c) => {
    c.forget('desc');
    const rid = c.device(ridOfDevfn(f.num('bus'), f.num('devfn')), VTD);
    const entry = contextEntry(f.big('low'), f.big('high'), c.flag<boolean>('scalable') === true);
    const have = c.state.s['context-cache'][k.contextCache(VTD, rid)];
    // A hit on a line the trace already holds adds nothing; one on a line filled before the log began shows it.
    if (have && have.root === entry.root && have.did === entry.did && have.tt === entry.tt) c.fold();
    else c.emit({ kind: 'context-cache-fill', iommu: VTD, rid, entry });
  }),
  qemuEvent(`vtd_iotlb_cc_update(uint8_t bus, uint8_t devfn, uint64_t high, uint64_t low, uint32_t gen1, uint32_t gen2) "IOTLB context update bus 0x%"PRIx8" devfn 0x%"PRIx8" high 0x%"PRIx64" low 0x%"PRIx64" gen %"PRIu32" -> gen %"PRIu32`, (f, c) => {
    c.forget('desc');
    c.iommu(VTD, 'vtd');
    const rid = c.device(ridOfDevfn(f.num('bus'), f.num('devfn')), VTD);
    c.emit({ kind: 'context-cache-fill', iommu: VTD, rid, entry: contextEntry(f.big('low'), f.big('high'), c.flag<boolean>('scalable') === true) });
  }),
  // The root table pointer (SRTP): whether the context entries cached from now on are read in scalable mode.
  qemuEvent(`vtd_reg_dmar_root(uint64_t addr, bool scalable) "addr 0x%"PRIx64" scalable %d"`, (f, c) => {
    c.forget('desc');
    c.iommu(VTD, 'vtd');
    c.setFlag('scalable', f.num('scalable') !== 0);
    c.emit(call('vtd_reg_dmar_root', f));
  }),
];

export const VTD_HANDLERS: Record<string, Handler> = Object.fromEntries(ON);
