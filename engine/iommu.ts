// IOMMU hardware: PASID tables (VT-d scalable mode, or SMMUv3 CD tables),
// the PASID cache and IOTLB, and the DMA translation walk. Caches are filled
// only by translations here and emptied only by invalidation descriptors.
import { atcVictims, iotlbVictims, pasidCacheVictims, rememberVictims } from './caches.js';
import type { Ctx } from './ctx.js';
import { recordDirty } from './dirty.js';
import { k, page, pasidDirIndex, PAGE_SIZE } from './keys.js';
import { memOwner, owns } from './memory.js';
import { hex } from './summary.js';
import type { DeviceCell, PasidEntry, Rid, State } from './types.js';

/** VT-d fault reasons (VT-d spec ch. 7, "Non-recoverable fault conditions"). */
export const VTD_FAULT: Record<number, string> = {
  0x05: 'write access denied',
  0x06: 'read access denied',
  0x50: 'PASID-directory access error',
  0x51: 'PASID-directory entry not present',
  0x58: 'PASID-table access error',
  0x59: 'PASID entry not present',
  0x5b: 'invalid PASID-table entry',
  0x70: 'first-stage entry invalid',
  0x71: 'first-stage entry not present',
  0x72: 'first-stage entry reserved bit set',
  0x73: 'first-stage bad pointer',
};

/** SMMUv3 event ids (arm-smmu-v3.h EVT_ID_*). */
export const SMMU_EVENT: Record<number, string> = {
  0x04: 'C_BAD_STE',
  0x08: 'C_BAD_SUBSTREAMID',
  0x0a: 'C_BAD_CD',
  0x10: 'F_TRANSLATION',
  0x13: 'F_PERMISSION',
};

/** The VT-d reason a fault on a SMMUv3 would report as its event id. */
const SMMU_OF_VTD: Record<number, number> = { 0x51: 0x08, 0x59: 0x0a, 0x5b: 0x0a, 0x70: 0x10, 0x71: 0x10, 0x72: 0x10, 0x73: 0x0a, 0x06: 0x10, 0x05: 0x13 };

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
    const prefix = `${rootCell.ioas}/`;
    for (const key of Object.keys(state.s['ioas-map'])) {
      if (!key.startsWith(prefix)) continue;
      const iova = Number(key.slice(prefix.length));
      const m = state.s['ioas-map'][key];
      if (m && addr >= iova && addr < iova + m.length) return { pa: m.hpa + (addr - iova), write: m.write };
    }
    return null;
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
    if (!out) return { ok: false, reason: write ? 0x05 : 0x06 };
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
      if (!second) return { ok: false, reason: write ? 0x05 : 0x06 };
      out = { pa: second.pa, write: first.write && second.write };
    }
  }
  if (write && !out.write) return { ok: false, reason: 0x05 };
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
 * Translation request from the IOMMU's side: PASID cache -> PASID table,
 * IOTLB -> page tables. Fills caches; a hit on a line that disagrees with
 * the tables is a violation (the hardware still uses the cached line).
 */
function iommuTranslate(ctx: Ctx, rid: Rid, pasid: number, addr: number, write: boolean): Walk & { via: 'iotlb' | 'walk' } {
  const state = ctx.state;
  const dev = device(state, rid);
  const pcKey = k.pasidCache(dev.iommu, rid, pasid);
  let entry: Pick<PasidEntry, 'did' | 'pgtt' | 'flptr' | 'slptptr'> | undefined = state.s['pasid-cache'][pcKey];
  if (!entry) {
    const found = lookupEntry(state, rid, pasid);
    if ('fault' in found) {
      if (found.fault === 0x59 && state.s.pasid[k.pasid(rid, pasid)]?.fpd) return { ok: false, reason: -1, via: 'walk' };
      return { ok: false, reason: found.fault, via: 'walk' };
    }
    entry = { did: found.did, pgtt: found.pgtt, flptr: found.flptr, slptptr: found.slptptr };
    ctx.emit({ kind: 'pasid-cache-fill', iommu: dev.iommu, rid, pasid, entry: { ...entry } });
  }
  const pg = page(addr);
  const tlb = state.s.iotlb[k.iotlb(dev.iommu, entry.did, pasid, pg)];
  if (tlb) {
    if (write && !tlb.write) return { ok: false, reason: 0x05, via: 'iotlb' };
    const truth = walkTables(state, rid, pasid, addr, write);
    if (!truth.ok || page(truth.pa) !== page(tlb.pa)) {
      ctx.emit({ kind: 'violation', invariant: 'stale-iotlb', rid, pasid, detail: `IOTLB line ${dev.iommu} did ${entry.did} pasid ${pasid} page ${hex(pg * PAGE_SIZE)} -> ${hex(tlb.pa)}, tables give ${truth.ok ? hex(truth.pa) : `fault ${hex(truth.reason)}`}` });
    }
    return { ok: true, pa: tlb.pa + (addr % PAGE_SIZE), write: tlb.write, via: 'iotlb' };
  }
  const w = walkEntry(state, entry, addr, write);
  if (!w.ok) return { ok: false, reason: w.reason, via: 'walk' };
  ctx.emit({ kind: 'iotlb-fill', iommu: dev.iommu, did: entry.did, pasid, page: pg, pa: w.pa - (addr % PAGE_SIZE), write: w.write });
  return { ok: true, pa: w.pa, write: w.write, via: 'walk' };
}

/**
 * One DMA from a device: ATC first when ATS is on, then the IOMMU. Ends in a
 * `dma` event (and a `fault` on failure); checks that the memory reached
 * belongs to the address space its (RID, PASID) is bound to.
 */
export function dma(ctx: Ctx, rid: Rid, pasidIn: number | null, addr: number, write: boolean): DmaResult {
  const state = ctx.state;
  const dev = device(state, rid);
  // A function whose PASID Enable bit is clear must not send a PASID TLP
  // prefix (PCIe 6.x, PASID capability): the request goes out untagged and
  // the IOMMU translates it as a request without PASID (RID_PASID).
  const untagged = pasidIn !== null && dev.pasidCap !== null && dev.pasidCap.enabled === false;
  const pasid = untagged ? RID_PASID : (pasidIn ?? RID_PASID);
  const tag = untagged ? null : pasidIn;
  const pg = page(addr);
  let result: Walk & { via: 'iotlb' | 'walk' | 'atc' };
  const atcLine = dev.ats ? state.s.atc[k.atc(rid, pasid, pg)] : undefined;
  if (atcLine && (!write || atcLine.write)) {
    const truth = walkTables(state, rid, pasid, addr, write);
    if (!truth.ok || page(truth.pa) !== page(atcLine.pa)) {
      ctx.emit({ kind: 'violation', invariant: 'stale-atc', rid, pasid, detail: `ATC line ${rid} pasid ${pasid} page ${hex(pg * PAGE_SIZE)} -> ${hex(atcLine.pa)}, tables give ${truth.ok ? hex(truth.pa) : `fault ${hex(truth.reason)}`}` });
    }
    result = { ok: true, pa: atcLine.pa + (addr % PAGE_SIZE), write: atcLine.write, via: 'atc' };
  } else {
    result = iommuTranslate(ctx, rid, pasid, addr, write);
    if (result.ok && dev.ats) ctx.emit({ kind: 'atc-fill', rid, pasid, page: pg, pa: result.pa - (addr % PAGE_SIZE), write: result.write });
  }
  if (!result.ok) {
    ctx.emit({ kind: 'dma', rid, pasid: tag, addr, write, via: 'none', pa: null, ok: false });
    if (result.reason >= 0) reportFault(ctx, rid, untagged ? null : pasid, addr, result.reason);
    return { ok: false, pa: null, fault: result.reason >= 0 ? result.reason : null };
  }
  ctx.emit({ kind: 'dma', rid, pasid: tag, addr, write, via: result.via, pa: result.pa, ok: true });
  // The IOMMU sets the written page's dirty bit where the table records A/D (engine/dirty.ts, H2).
  if (write) recordDirty(ctx, rid, pasid, addr);
  checkAddressSpace(ctx, rid, pasid, result.pa);
  return { ok: true, pa: result.pa, fault: null };
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

