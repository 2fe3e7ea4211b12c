// IOMMU hardware: PASID tables (VT-d scalable mode, or SMMUv3 CD tables),
// the PASID cache and IOTLB, and the DMA translation walk. Caches are filled
// only by translations here and emptied only by invalidation descriptors.
import { areaContaining } from './areas.js';
import { atcVictims, iotlbVictims, pasidCacheVictims, rememberVictims } from './caches.js';
import type { Ctx } from './ctx.js';
import { recordDirty } from './dirty.js';
import { onDmaFault } from './iommufd/eventq.js';
import { k, page, pasidDirIndex, PAGE_SIZE } from './keys.js';
import { memOwner, owns } from './memory.js';
import { hex } from './summary.js';
import type { DeviceCell, PasidEntry, Rid, State } from './types.js';

/**
 * VT-d scalable-mode fault reasons, worded as the kernel prints them:
 * dma_remap_sm_fault_reasons[] in drivers/iommu/intel/dmar.c, which
 * dmar_get_fault_reason() indexes with reason - 0x30 (QEMU's names:
 * VTD_FR_* in hw/i386/intel_iommu_internal.h). The model runs every VT-d
 * IOMMU in scalable mode, so the legacy reasons of dma_remap_fault_reasons[]
 * (0x5 "PTE Write access is not set", 0x6 "PTE Read access is not set") never
 * occur: a write to a read-only page is 0x85, a second-level miss 0x79.
 */
export const VTD_FAULT: Record<number, string> = {
  0x50: 'SM: Error attempting to access the PASID Directory Entry', // VTD_FR_PASID_DIR_ACCESS_ERR
  0x51: 'SM: Present bit in Directory Entry is clear', // VTD_FR_PASID_DIR_ENTRY_P
  0x52: 'SM: Non-zero reserved field set in PASID Directory Entry',
  0x58: 'SM: Error attempting to access PASID Table Entry', // VTD_FR_PASID_TABLE_ACCESS_ERR
  0x59: 'SM: Present bit in PASID Table Entry is clear', // VTD_FR_PASID_ENTRY_P
  0x5a: 'SM: Non-zero reserved field set in PASID Table Entry',
  0x5b: 'SM: Invalid Scalable-Mode PASID Table Entry', // VTD_FR_PASID_TABLE_ENTRY_INV
  0x70: 'SM: Error attempting to access first-level paging entry', // VTD_FR_FS_PAGING_ENTRY_INV
  0x71: 'SM: Present bit in first-level paging entry is clear', // VTD_FR_FS_PAGING_ENTRY_P
  0x72: 'SM: Non-zero reserved field set in first-level paging entry', // VTD_FR_FS_PAGING_ENTRY_RSVD
  0x73: 'SM: Error attempting to access FL-PML4 entry', // VTD_FR_PASID_ENTRY_FSPTPTR_INV
  0x78: 'SM: Error attempting to access second-level paging entry',
  0x79: 'SM: Read/Write permission error in second-level paging entry',
  0x7a: 'SM: Non-zero reserved field set in second-level paging entry',
  0x7b: 'SM: Invalid second-level page table pointer',
  0x85: 'SM: No write permission for Write/AtomicOp request', // VTD_FR_SM_WRITE
  0x86: 'SM: No read permission for Read/AtomicOp request',
};

/** SMMUv3 event ids: EVT_ID_* in drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h, named as the SMMUv3 spec names them. */
export const SMMU_EVENT: Record<number, string> = {
  0x02: 'C_BAD_STREAMID', // EVT_ID_BAD_STREAMID_CONFIG
  0x04: 'C_BAD_STE', // EVT_ID_BAD_STE_CONFIG
  0x08: 'C_BAD_SUBSTREAMID', // EVT_ID_BAD_SUBSTREAMID_CONFIG
  0x09: 'F_CD_FETCH', // EVT_ID_CD_FETCH_FAULT
  0x0a: 'C_BAD_CD', // EVT_ID_BAD_CD_CONFIG
  0x10: 'F_TRANSLATION', // EVT_ID_TRANSLATION_FAULT
  0x11: 'F_ADDR_SIZE', // EVT_ID_ADDR_SIZE_FAULT
  0x12: 'F_ACCESS', // EVT_ID_ACCESS_FAULT
  0x13: 'F_PERMISSION', // EVT_ID_PERMISSION_FAULT
};

/**
 * The event a SMMUv3 reports for the walk failure the model names by its
 * VT-d reason: no L1 CD descriptor → C_BAD_SUBSTREAMID; CD invalid or its
 * TTB unusable → C_BAD_CD; a missing or malformed descriptor at either stage
 * → F_TRANSLATION; a write to a read-only page → F_PERMISSION.
 */
const SMMU_OF_VTD: Record<number, number> = {
  0x51: 0x08, 0x59: 0x0a, 0x5b: 0x0a, 0x73: 0x0a, 0x70: 0x10, 0x71: 0x10, 0x72: 0x10, 0x79: 0x10, 0x85: 0x13, 0x86: 0x13,
};

export type Walk = { ok: true; pa: number; write: boolean } | { ok: false; reason: number };

/** RID_PASID: requests without a PASID use entry 0 in scalable mode. */
export const RID_PASID = 0;

export function device(state: State, rid: Rid): DeviceCell {
  const dev = state.s.device[rid];
  if (!dev) throw new Error(`no device ${rid}`);
  return dev;
}

/** Translate through one page table (root -> page map), or an IOAS when the root is an iommufd HWPT. */
function ptLookup(state: State, root: number, addr: number, rootCell = state.s['pt-root'][String(root)]): { pa: number; write: boolean; bad?: 'invalid' | 'reserved' } | null {
  if (rootCell?.ioas) {
    // HWPT_PAGING: the IOAS mappings are the second stage.
    const a = areaContaining(state, `${rootCell.ioas}/`, addr);
    return a ? { pa: a.cell.hpa + (addr - a.iova), write: a.cell.write } : null;
  }
  const pte = state.s.pt[k.pt(root, page(addr))];
  if (!pte) return null;
  return pte.bad ? { pa: pte.pa + (addr % PAGE_SIZE), write: pte.write, bad: pte.bad } : { pa: pte.pa + (addr % PAGE_SIZE), write: pte.write };
}

/** The walk the tables give, ignoring every cache: ground truth for stale-cache checks. */
export function walkEntry(state: State, entry: Pick<PasidEntry, 'pgtt' | 'flptr' | 'slptptr'>, addr: number, write: boolean): Walk {
  let out: { pa: number; write: boolean } | null;
  if (entry.pgtt === 4) return { ok: true, pa: addr, write: true };
  if (entry.pgtt === 2) {
    out = ptLookup(state, entry.slptptr, addr);
    // Second-level entries have no Present bit: R = W = 0 is "not present", reported as SSL 0x79.
    if (!out) return { ok: false, reason: 0x79 };
  } else {
    const rootCell = state.s['pt-root'][String(entry.flptr)];
    if (!rootCell) return { ok: false, reason: 0x73 };
    const first = ptLookup(state, entry.flptr, addr, rootCell);
    if (!first) return { ok: false, reason: 0x71 };
    if (first.bad) return { ok: false, reason: first.bad === 'invalid' ? 0x70 : 0x72 };
    out = first;
    if (entry.pgtt === 3) {
      // Nested: the first stage yields a GPA that the second stage translates.
      const second = ptLookup(state, entry.slptptr, first.pa);
      if (!second) return { ok: false, reason: 0x79 };
      out = { pa: second.pa, write: first.write && second.write };
    }
  }
  // The effective permission of the whole walk: a write to a page without write permission (SGN 0x85).
  if (write && !out.write) return { ok: false, reason: 0x85 };
  return { ok: true, pa: out.pa, write: out.write };
}

/** Look up the PASID entry the hardware would use, without caches. */
export function lookupEntry(state: State, rid: Rid, pasid: number): PasidEntry | { fault: number } {
  if (!state.s['pasid-dir'][k.pasidDir(rid, pasidDirIndex(pasid))]) return { fault: 0x51 };
  const entry = state.s.pasid[k.pasid(rid, pasid)];
  if (!entry || !entry.p) return { fault: 0x59 };
  if ((entry.pgtt === 2 || entry.pgtt === 3) && entry.slptptr === 0) return { fault: 0x5b };
  return entry;
}

export function walkTables(state: State, rid: Rid, pasid: number, addr: number, write: boolean): Walk {
  const entry = lookupEntry(state, rid, pasid);
  if ('fault' in entry) return { ok: false, reason: entry.fault };
  return walkEntry(state, entry, addr, write);
}

function reportFault(ctx: Ctx, rid: Rid, pasid: number | null, addr: number, vtdReason: number): void {
  const dev = device(ctx.state, rid);
  const iommu = ctx.state.s.iommu[dev.iommu];
  if (iommu?.kind === 'smmuv3') {
    const id = SMMU_OF_VTD[vtdReason] ?? 0x10;
    ctx.emit({ kind: 'fault', source: 'smmu', reason: id, name: SMMU_EVENT[id] ?? 'EVT', rid, pasid, addr, vm: dev.vm });
  } else {
    ctx.emit({ kind: 'fault', source: 'iommu', reason: vtdReason, name: VTD_FAULT[vtdReason] ?? 'fault', rid, pasid, addr, vm: dev.vm });
  }
}

export interface DmaResult { ok: boolean; pa: number | null; fault: number | null }

/**
 * FPD (Fault Processing Disable) in the PASID entry: faults the hardware meets
 * at this entry or below it are not recorded (-1: the DMA fails silently). The
 * field counts whatever the entry's Present bit says. The model reads it from
 * the table, not from a PASID-cache line.
 */
function faultOrSilent(state: State, rid: Rid, pasid: number, reason: number): number {
  return state.s.pasid[k.pasid(rid, pasid)]?.fpd ? -1 : reason;
}

/** An IOTLB line a walk will fill once the translation completes (dmaFinish). */
interface IotlbFill { iommu: string; did: number; pasid: number; page: number; pa: number; write: boolean }

/**
 * Translation request from the IOMMU's side: PASID cache -> PASID table,
 * IOTLB -> page tables. Fills the PASID cache; a hit on a line that
 * disagrees with the tables is a violation (the hardware still uses the
 * cached line). A successful walk returns the IOTLB line to fill: the fill
 * comes with the translation's completion (dmaFinish).
 */
function iommuTranslate(ctx: Ctx, rid: Rid, pasid: number, addr: number, write: boolean): Walk & { via: 'iotlb' | 'walk'; fill?: IotlbFill } {
  const state = ctx.state;
  const dev = device(state, rid);
  const pcKey = k.pasidCache(dev.iommu, rid, pasid);
  let entry: Pick<PasidEntry, 'did' | 'pgtt' | 'flptr' | 'slptptr'> | undefined = state.s['pasid-cache'][pcKey];
  if (!entry) {
    const found = lookupEntry(state, rid, pasid);
    if ('fault' in found) {
      // A missing directory entry has no PASID entry whose FPD could silence it.
      return { ok: false, reason: found.fault === 0x51 ? found.fault : faultOrSilent(state, rid, pasid, found.fault), via: 'walk' };
    }
    entry = { did: found.did, pgtt: found.pgtt, flptr: found.flptr, slptptr: found.slptptr };
    ctx.emit({ kind: 'pasid-cache-fill', iommu: dev.iommu, rid, pasid, entry: { ...entry } });
  }
  const pg = page(addr);
  const tlb = state.s.iotlb[k.iotlb(dev.iommu, entry.did, pasid, pg)];
  if (tlb) {
    if (write && !tlb.write) return { ok: false, reason: faultOrSilent(state, rid, pasid, 0x85), via: 'iotlb' };
    const truth = walkTables(state, rid, pasid, addr, write);
    if (!truth.ok || page(truth.pa) !== page(tlb.pa)) {
      ctx.emit({ kind: 'violation', invariant: 'stale-iotlb', rid, pasid, detail: `IOTLB line ${dev.iommu} did ${entry.did} pasid ${pasid} page ${hex(pg * PAGE_SIZE)} -> ${hex(tlb.pa)}, tables give ${truth.ok ? hex(truth.pa) : `fault ${hex(truth.reason)}`}` });
    }
    return { ok: true, pa: tlb.pa + (addr % PAGE_SIZE), write: tlb.write, via: 'iotlb' };
  }
  const w = walkEntry(state, entry, addr, write);
  if (!w.ok) return { ok: false, reason: faultOrSilent(state, rid, pasid, w.reason), via: 'walk' };
  return { ok: true, pa: w.pa, write: w.write, via: 'walk', fill: { iommu: dev.iommu, did: entry.did, pasid, page: pg, pa: w.pa - (addr % PAGE_SIZE), write: w.write } };
}

/**
 * A DMA whose translation has been walked and whose IOTLB / ATC fill and
 * completion are still to come (plain data: a thread suspended at the
 * DMA_WALKED yield point holds it, engine/threads.ts).
 */
export interface DmaPending {
  rid: Rid; pasid: number; tag: number | null; addr: number; write: boolean;
  pa: number; pw: boolean; via: 'iotlb' | 'walk' | 'atc';
  fill: IotlbFill | null; atc: boolean;
}

/**
 * One DMA from a device: ATC first when ATS is on, then the IOMMU. Ends in a
 * `dma` event (and a `fault` on failure); checks that the memory reached
 * belongs to the address space its (RID, PASID) is bound to.
 */
export function dma(ctx: Ctx, rid: Rid, pasidIn: number | null, addr: number, write: boolean): DmaResult {
  const r = dmaBegin(ctx, rid, pasidIn, addr, write);
  return 'rid' in r ? dmaFinish(ctx, r) : r;
}

/**
 * The DMA up to its translation: a failed one is finished here (`dma` and
 * `fault` events); a translated one comes back pending, to be completed by
 * dmaFinish: at once (dma()), or after a yield point when the walk filled no
 * line yet (a threaded run's `dma` step).
 */
export function dmaBegin(ctx: Ctx, rid: Rid, pasidIn: number | null, addr: number, write: boolean): DmaResult | DmaPending {
  const state = ctx.state;
  const dev = device(state, rid);
  // A function whose PASID Enable bit is clear must not send a PASID TLP
  // prefix (PCIe 6.x, PASID capability): the request goes out untagged and
  // the IOMMU translates it as a request without PASID (RID_PASID).
  const untagged = pasidIn !== null && dev.pasidCap !== null && dev.pasidCap.enabled === false;
  const pasid = untagged ? RID_PASID : (pasidIn ?? RID_PASID);
  const tag = untagged ? null : pasidIn;
  const pg = page(addr);
  let result: Walk & { via: 'iotlb' | 'walk' | 'atc'; fill?: IotlbFill };
  const atcLine = dev.ats ? state.s.atc[k.atc(rid, pasid, pg)] : undefined;
  let atc = false;
  if (atcLine && (!write || atcLine.write)) {
    const truth = walkTables(state, rid, pasid, addr, write);
    if (!truth.ok || page(truth.pa) !== page(atcLine.pa)) {
      ctx.emit({ kind: 'violation', invariant: 'stale-atc', rid, pasid, detail: `ATC line ${rid} pasid ${pasid} page ${hex(pg * PAGE_SIZE)} -> ${hex(atcLine.pa)}, tables give ${truth.ok ? hex(truth.pa) : `fault ${hex(truth.reason)}`}` });
    }
    result = { ok: true, pa: atcLine.pa + (addr % PAGE_SIZE), write: atcLine.write, via: 'atc' };
  } else {
    result = iommuTranslate(ctx, rid, pasid, addr, write);
    atc = result.ok && dev.ats;
  }
  if (!result.ok) {
    ctx.emit({ kind: 'dma', rid, pasid: tag, addr, write, via: 'none', pa: null, ok: false });
    // iommufd's I/O page faults and vIOMMU events (engine/iommufd/eventq.ts): a fault-capable HWPT takes the
    // failure as a page request (iommufd_fault_iopf_handler()); else reportFault, then an SMMUv3 vEVENT if due.
    const recorded = result.reason >= 0 && onDmaFault(ctx, rid, untagged ? null : pasid, tag, addr, write, result.reason, reportFault);
    return { ok: false, pa: null, fault: recorded ? result.reason : null };
  }
  return { rid, pasid, tag, addr, write, pa: result.pa, pw: result.write, via: result.via, fill: result.fill ?? null, atc };
}

/** The translation completes: the walk's IOTLB line and the device's ATC line are filled, the access is done. */
export function dmaFinish(ctx: Ctx, p: DmaPending): DmaResult {
  const { rid, pasid, addr, write } = p;
  if (p.fill) ctx.emit({ kind: 'iotlb-fill', ...p.fill });
  if (p.atc) ctx.emit({ kind: 'atc-fill', rid, pasid, page: page(addr), pa: p.pa - (addr % PAGE_SIZE), write: p.pw });
  ctx.emit({ kind: 'dma', rid, pasid: p.tag, addr, write, via: p.via, pa: p.pa, ok: true });
  // The IOMMU sets the written page's dirty bit where the table records A/D (engine/dirty.ts, H2).
  if (write) recordDirty(ctx, rid, pasid, addr);
  checkAddressSpace(ctx, rid, pasid, p.pa);
  return { ok: true, pa: p.pa, fault: null };
}

/**
 * Whose address space should (RID, PASID) reach? The owner the allocator
 * currently gives the PASID, if it came from a host allocator; otherwise the
 * owner the kernel bound it for.
 */
export function expectedOwner(state: State, rid: Rid, pasid: number): string | null {
  const bind = state.s.bind[k.bind(rid, pasid)];
  if (bind?.space) {
    const alloc = state.s.ioasid[k.ioasid(bind.space, pasid)];
    if (alloc) return alloc.owner;
  }
  return bind?.owner ?? null;
}

function checkAddressSpace(ctx: Ctx, rid: Rid, pasid: number, pa: number): void {
  const want = expectedOwner(ctx.state, rid, pasid);
  if (want === null || owns(ctx.state, want, pa)) return;
  const got = memOwner(ctx.state, pa);
  if (got !== null) {
    ctx.emit({ kind: 'violation', invariant: 'wrong-address-space', rid, pasid, detail: `DMA ${rid} pasid ${pasid} reached ${hex(pa)} owned by ${got}; PASID ${pasid} belongs to ${want}` });
  }
}

/** Install a PASID-table entry; the leaf table is allocated on first use. EBUSY when present. */
export function installEntry(ctx: Ctx, rid: Rid, pasid: number, entry: Omit<PasidEntry, 'p'>): 'EBUSY' | null {
  const state = ctx.state;
  const before = state.s.pasid[k.pasid(rid, pasid)] ?? null;
  if (before?.p) return 'EBUSY';
  const dir = pasidDirIndex(pasid);
  if (!state.s['pasid-dir'][k.pasidDir(rid, dir)]) {
    ctx.emit({ kind: 'pasid-table-alloc', rid, dir, table: tableAddress(rid, dir) });
  }
  ctx.emit({ kind: 'pasid-write', rid, pasid, before, after: { p: true, ...entry } });
  return null;
}

/** A deterministic address for a lazily allocated leaf table (for display). */
function tableAddress(rid: Rid, dir: number): number {
  let h = 0;
  for (let i = 0; i < rid.length; i++) h = (h * 31 + rid.charCodeAt(i)) >>> 0;
  return 0x7f000000 + ((h & 0xfff) << 12) + dir * 0x1000;
}

/**
 * Tear an entry down in the order intel/pasid.c does: clear the entry,
 * PASID-selective PASID-cache invalidation, PASID-based IOTLB invalidation,
 * then the device TLB.
 */
export function clearEntry(ctx: Ctx, rid: Rid, pasid: number, opts: { atc?: boolean } = {}): boolean {
  const state = ctx.state;
  const before = state.s.pasid[k.pasid(rid, pasid)];
  if (!before) return false;
  const dev = device(state, rid);
  ctx.emit({ kind: 'pasid-write', rid, pasid, before, after: null });
  invalidatePasidCache(ctx, dev.iommu, 'pasid', before.did, pasid);
  invalidateIotlb(ctx, dev.iommu, 'pasid', before.did, pasid, null, null);
  if (dev.ats && opts.atc !== false) invalidateAtc(ctx, rid, 'pasid', pasid, null, null);
  return true;
}

export function invalidatePasidCache(ctx: Ctx, iommu: string, granularity: 'global' | 'domain' | 'pasid', did: number | null, pasid: number | null): number {
  const ev = { kind: 'pasid-cache-inval' as const, iommu, granularity, did, pasid, dropped: 0 };
  ev.dropped = rememberVictims(ctx.state, ev, pasidCacheVictims(ctx.state, ev));
  ctx.emit(ev);
  return ev.dropped;
}

export function invalidateIotlb(ctx: Ctx, iommu: string, granularity: 'global' | 'domain' | 'pasid' | 'page', did: number | null, pasid: number | null, addr: number | null, npages: number | null): number {
  // 0x6 PASID-based IOTLB when a PASID is named, else 0x2 IOTLB.
  const ev = { kind: 'iotlb-inval' as const, desc: pasid !== null ? 0x6 : 0x2, iommu, granularity, did, pasid, addr, npages, dropped: 0 };
  ev.dropped = rememberVictims(ctx.state, ev, iotlbVictims(ctx.state, ev));
  ctx.emit(ev);
  return ev.dropped;
}

export function invalidateAtc(ctx: Ctx, rid: Rid, granularity: 'all' | 'pasid' | 'page', pasid: number | null, addr: number | null, npages: number | null): number {
  const ev = { kind: 'atc-inval' as const, rid, granularity, pasid, addr, npages, dropped: 0 };
  ev.dropped = rememberVictims(ctx.state, ev, atcVictims(ctx.state, ev));
  ctx.emit(ev);
  return ev.dropped;
}

