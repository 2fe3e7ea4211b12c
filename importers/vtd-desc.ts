// VT-d invalidation-queue descriptors, decoded as the VT-d spec lays them out
// (chapter 6.5.2) and as the kernel builds them: the QI_* macros of
// drivers/iommu/intel/iommu.h, cited per field. QEMU's vtd_inv_desc trace
// prints the same 128 bits (lo = qw0, hi = qw1); the kernel's qi_submit
// tracepoint prints all four quadwords.
import { atcVictims, contextCacheVictims, dropping, iotlbVictims, pasidCacheVictims } from '../engine/caches.js';
import type { Args, EventBody, State } from '../engine/types.js';
import { ridOfSid } from './rid.js';

const bits = (v: bigint, hi: number, lo: number): number => Number((v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n));
const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;
/** Address bits 63:12 of a quadword (QI_IOTLB_ADDR, QI_DEV_IOTLB_ADDR: & VTD_PAGE_MASK). */
const addrOf = (v: bigint): number => Number((v >> 12n) << 12n);

/** The kernel's names for the types (the __print_symbolic of the qi_submit tracepoint, drivers/iommu/intel/trace.h). */
export const QI_TYPE_NAMES: Record<number, string> = {
  0x1: 'cc_inv', 0x2: 'iotlb_inv', 0x3: 'dev_tlb_inv', 0x4: 'iec_inv', 0x5: 'inv_wait',
  0x6: 'p_iotlb_inv', 0x7: 'pc_inv', 0x8: 'p_dev_tlb_inv', 0x9: 'page_grp_resp', 0xa: 'page_strm_resp',
};

export interface Decoded { type: number; name: string; fields: Args }

/**
 * Type and fields of a descriptor. The type is qw0 bits 3:0 with bits 11:9
 * as type[6:4] (scalable-mode descriptors; the kernel's tracepoint prints
 * only the low four).
 */
export function decodeDesc(qw0: bigint, qw1: bigint): Decoded {
  const type = bits(qw0, 3, 0) | (bits(qw0, 11, 9) << 4);
  const name = QI_TYPE_NAMES[type] ?? `type_${type.toString(16)}`;
  const g = bits(qw0, 5, 4);
  switch (type) {
    // QI_CC_GRAN (1 global, 2 domain, 3 device: DMA_CCMD_*_INVL >> 57), QI_CC_DID, QI_CC_SID, QI_CC_FM.
    case 0x1: return { type, name, fields: { g: ['reserved', 'global', 'domain', 'device'][g] as string, did: bits(qw0, 31, 16), sid: bits(qw0, 47, 32), fm: bits(qw0, 49, 48) } };
    // QI_IOTLB_GRAN (1 global, 2 domain, 3 page), QI_IOTLB_DR / _DW, QI_IOTLB_DID; qw1 QI_IOTLB_ADDR, _IH, _AM.
    case 0x2: return { type, name, fields: { g: ['reserved', 'global', 'domain', 'page'][g] as string, dr: bit(qw0, 7), dw: bit(qw0, 6), did: bits(qw0, 31, 16), addr: addrOf(qw1), ih: bit(qw1, 6), am: bits(qw1, 5, 0) } };
    // QI_DEV_IOTLB_SID, _QDEP, _PFSID (bits 15:12 and 63:52); qw1 QI_DEV_IOTLB_ADDR, QI_DEV_IOTLB_SIZE (bit 0).
    case 0x3: return { type, name, fields: { sid: bits(qw0, 47, 32), pfsid: bits(qw0, 15, 12) | (bits(qw0, 63, 52) << 4), qdep: bits(qw0, 20, 16), addr: addrOf(qw1), s: bit(qw1, 0) } };
    // QI_IEC_SELECTIVE (bit 4), QI_IEC_IM, QI_IEC_IIDEX.
    case 0x4: return { type, name, fields: { g: bit(qw0, 4) ? 'index' : 'global', im: bits(qw0, 31, 27), iidx: bits(qw0, 47, 32) } };
    // QI_IWD_STATUS_WRITE, _FENCE, _PRQ_DRAIN, interrupt flag (bit 4), QI_IWD_STATUS_DATA; qw1 the status address.
    case 0x5: return { type, name, fields: { if: bit(qw0, 4), sw: bit(qw0, 5), fn: bit(qw0, 6), pd: bit(qw0, 7), data: bits(qw0, 63, 32), addr: Number((qw1 >> 2n) << 2n) } };
    // QI_EIOTLB_GRAN (QI_GRAN_NONG_PASID 2: all of the PASID, QI_GRAN_PSI_PASID 3: page), _DID, _PASID; qw1 _ADDR, _IH, _AM.
    case 0x6: return { type, name, fields: { g: ['reserved', 'reserved', 'pasid', 'page'][g] as string, did: bits(qw0, 31, 16), pasid: bits(qw0, 51, 32), addr: addrOf(qw1), ih: bit(qw1, 6), am: bits(qw1, 5, 0) } };
    // QI_PC_GRAN (QI_PC_ALL_PASIDS 0: the domain, QI_PC_PASID_SEL 1, QI_PC_GLOBAL 3), QI_PC_DID, QI_PC_PASID.
    case 0x7: return { type, name, fields: { g: ['domain', 'pasid', 'reserved', 'global'][g] as string, did: bits(qw0, 31, 16), pasid: bits(qw0, 51, 32) } };
    // QI_DEV_EIOTLB_SID (31:16), _PASID, _QDEP (8:4), _PFSID; qw1 _ADDR, QI_DEV_EIOTLB_SIZE (bit 11), global (bit 0).
    case 0x8: return { type, name, fields: { sid: bits(qw0, 31, 16), pasid: bits(qw0, 51, 32), qdep: bits(qw0, 8, 4), pfsid: bits(qw0, 15, 12) | (bits(qw0, 63, 52) << 4), addr: addrOf(qw1), s: bit(qw1, 11), g: bit(qw1, 0) } };
    // QI_PGRP_PASID_P, QI_PGRP_PDP, QI_PGRP_RESP_CODE, QI_PGRP_DID (the requester id), QI_PGRP_PASID; qw1 QI_PGRP_LPIG, QI_PGRP_IDX.
    case 0x9: return { type, name, fields: { pasidP: bit(qw0, 4), pdp: bit(qw0, 5), code: bits(qw0, 15, 12), rid: bits(qw0, 31, 16), pasid: bits(qw0, 51, 32), lpig: bit(qw1, 2), prgi: bits(qw1, 11, 3) } };
    default: return { type, name, fields: {} };
  }
}

/** The device a descriptor names (device-selective context-cache, device-TLB), or null. */
export function descRid(d: Decoded): string | null {
  const sid = d.fields.sid;
  if (typeof sid !== 'number') return null;
  return d.type === 0x3 || d.type === 0x8 || (d.type === 0x1 && d.fields.g === 'device') ? ridOfSid(sid) : null;
}

/**
 * A device-TLB invalidation's range (VT-d spec 6.5.2.5): with S clear one
 * page; with S set the address's trailing one bits above bit 12 say the size
 * (qi_flush_dev_iotlb(): addr |= (1 << (VTD_PAGE_SHIFT + mask - 1)) - 1), and
 * an address of all ones is the whole space.
 */
export function devTlbRange(addr: number, s: boolean): { addr: number | null; npages: number | null } {
  if (!s) return { addr, npages: 1 };
  let pfn = BigInt(addr) >> 12n;
  if (pfn === (1n << 52n) - 1n) return { addr: null, npages: null };
  let ones = 0;
  while ((pfn & 1n) === 1n) { pfn >>= 1n; ones++; }
  const order = ones + 1;
  return { addr: Number((pfn >> 1n) << BigInt(order + 12)), npages: 2 ** order };
}

/**
 * The event a descriptor is to the model: an IOTLB, PASID-cache, device-TLB
 * or context-cache invalidation with how many of `state`'s lines it drops;
 * a descriptor that changes no modelled state (wait, IEC, page response, a
 * reserved granularity) is a call to `via` with the decoded fields.
 */
export function descEvent(iommu: string, d: Decoded, state: State, via: string): EventBody {
  const f = d.fields as Record<string, number | boolean | string>;
  const n = (k: string): number => f[k] as number;
  const call = (): EventBody => ({ kind: 'kcall', fn: via, args: { iommu, type: d.name, ...d.fields }, errno: null, out: {} });
  if (d.type === 0x2 && f.g !== 'reserved') {
    const g = f.g as 'global' | 'domain' | 'page';
    const q = { iommu, granularity: g, did: g === 'global' ? null : n('did'), pasid: null, addr: g === 'page' ? n('addr') : null, npages: g === 'page' ? 2 ** n('am') : null };
    return dropping(state, { kind: 'iotlb-inval' as const, desc: 0x2, ...q }, iotlbVictims(state, q));
  }
  if (d.type === 0x6 && f.g !== 'reserved') {
    const g = f.g as 'pasid' | 'page';
    const q = { iommu, granularity: g, did: n('did'), pasid: n('pasid'), addr: g === 'page' ? n('addr') : null, npages: g === 'page' ? 2 ** n('am') : null };
    return dropping(state, { kind: 'iotlb-inval' as const, desc: 0x6, ...q }, iotlbVictims(state, q));
  }
  if (d.type === 0x7 && f.g !== 'reserved') {
    const g = f.g as 'domain' | 'pasid' | 'global';
    const q = { iommu, granularity: g, did: g === 'global' ? null : n('did'), pasid: g === 'pasid' ? n('pasid') : null };
    return dropping(state, { kind: 'pasid-cache-inval' as const, ...q }, pasidCacheVictims(state, q));
  }
  if (d.type === 0x1 && f.g !== 'reserved') {
    const g = f.g as 'global' | 'domain' | 'device';
    const q = { iommu, granularity: g, did: g === 'domain' ? n('did') : null, rid: g === 'device' ? ridOfSid(n('sid')) : null, fm: g === 'device' ? n('fm') : null };
    return dropping(state, { kind: 'context-cache-inval' as const, ...q }, contextCacheVictims(state, q));
  }
  if (d.type === 0x3 || d.type === 0x8) {
    const range = devTlbRange(n('addr'), f.s as boolean);
    const pasid = d.type === 0x8 && !f.g ? n('pasid') : null;
    const granularity = range.addr === null ? (pasid === null ? 'all' : 'pasid') : 'page';
    const q = { rid: ridOfSid(n('sid')), pasid, addr: range.addr, npages: range.npages, granularity } as const;
    return dropping(state, { kind: 'atc-inval' as const, ...q }, atcVictims(state, q));
  }
  return call();
}
