// Hardware-facing ops: DMA, work queues, ENQCMD, page tables.
import { enqcmd } from '../cpu.js';
import type { Ctx } from '../ctx.js';
import { device, dma, type DmaResult, invalidateAtc, invalidateIotlb, invalidatePasidCache, SMMU_EVENT, VTD_FAULT } from '../iommu.js';
import { k, page } from '../keys.js';
import { ptMap, ptUnmap } from '../memory.js';
import { bool, fail, num, ok, optNum, str, type OpSpec, type Outcome } from '../op.js';

export function dmaOutcome(ctx: Ctx, rid: string, pasid: number | null, addr: number, write: boolean): Outcome {
  return dmaOutcomeOf(ctx, rid, dma(ctx, rid, pasid, addr, write));
}

/** The outcome of a finished DMA (its fault read back from the events the step produced). */
export function dmaOutcomeOf(ctx: Ctx, rid: string, r: DmaResult): Outcome {
  if (r.ok || r.fault === null) return { errno: null, value: r.pa };
  const smmu = ctx.state.s.iommu[device(ctx.state, rid).iommu]?.kind === 'smmuv3';
  // The fault record this DMA produced (a vEVENT may follow it); none when a fault-capable HWPT took the
  // failure as an I/O page fault (engine/iommufd/eventq.ts): then the outcome is named IOPF.
  let last: (typeof ctx.out)[number] | undefined;
  for (let i = ctx.out.length - 1; i >= 0 && !last; i--) {
    const ev = ctx.out[i];
    if (ev?.kind === 'dma') break;
    if (ev?.kind === 'fault') last = ev;
  }
  if (last?.kind !== 'fault') return { errno: null, fault: { reason: r.fault, name: 'IOPF' } };
  const reason = last.reason;
  return { errno: null, fault: { reason, name: (smmu ? SMMU_EVENT[reason] : VTD_FAULT[reason]) ?? '' } };
}

export const hwOps: Record<string, OpSpec> = {
  dma: {
    doc: 'A device issues one DMA request with (or without) a PASID.',
    fields: { rid: 'rid', pasid: 'int?', addr: 'int', write: 'bool?' },
    run: (ctx, f) => dmaOutcome(ctx, str(f, 'rid'), optNum(f, 'pasid'), num(f, 'addr'), bool(f, 'write')),
  },
  'wq-config': {
    doc: 'The host driver programs a dedicated work queue\'s PASID register.',
    fields: { rid: 'rid', wq: 'str', pasid: 'int?' },
    run: (ctx, f) => {
      const rid = str(f, 'rid');
      const wq = ctx.state.s.wq[k.wq(rid, str(f, 'wq'))];
      if (!wq) return fail('ENOENT');
      if (wq.mode !== 'dedicated') return fail('EINVAL');
      ctx.emit({ kind: 'wq-config', rid, wq: str(f, 'wq'), pasid: optNum(f, 'pasid'), enabled: true });
      return ok();
    },
  },
  'wq-submit': {
    doc: 'A descriptor on a dedicated work queue runs: the device DMAs with the PASID in the WQ register.',
    fields: { rid: 'rid', wq: 'str', addr: 'int', write: 'bool?' },
    run: (ctx, f) => {
      const rid = str(f, 'rid');
      const wq = ctx.state.s.wq[k.wq(rid, str(f, 'wq'))];
      if (!wq) return fail('ENOENT');
      if (wq.mode !== 'dedicated') return fail('EINVAL');
      return dmaOutcome(ctx, rid, wq.pasid, num(f, 'addr'), bool(f, 'write'));
    },
  },
  enqcmd: {
    doc: 'A vCPU submits to a shared work queue with ENQCMD: IA32_PASID, translated guest -> host, then the DMA.',
    fields: { vm: 'vm', vcpu: 'int?', rid: 'rid', wq: 'str', addr: 'int', write: 'bool?' },
    run: (ctx, f) => {
      const r = enqcmd(ctx, str(f, 'vm'), optNum(f, 'vcpu') ?? 0, str(f, 'rid'), str(f, 'wq'));
      if (!('pasid' in r)) return r;
      return dmaOutcome(ctx, str(f, 'rid'), r.pasid, num(f, 'addr'), bool(f, 'write'));
    },
  },
  'pt-map': {
    doc: 'Write page-table entries: map [addr, addr+size) to pa in the table at root (a process mm, a guest table in GPA space, a VM stage 2).',
    fields: { root: 'int', owner: 'str', addr: 'int', pa: 'int', size: 'int?', write: 'bool?' },
    run: (ctx, f) => {
      ptMap(ctx, num(f, 'root'), str(f, 'owner'), num(f, 'addr'), num(f, 'pa'), optNum(f, 'size') ?? 4096, bool(f, 'write', true));
      return ok();
    },
  },
  'pt-corrupt': {
    doc: 'Leave a malformed first-stage entry at addr, as a buggy page-table writer would: "invalid" (fault 0x70) or "reserved" bit set (0x72).',
    fields: { root: 'int', addr: 'int', how: ['invalid', 'reserved'] },
    run: (ctx, f) => {
      const pg = page(num(f, 'addr'));
      const before = ctx.state.s.pt[k.pt(num(f, 'root'), pg)] ?? null;
      if (!before) ctx.ptEntries++;
      ctx.emit({ kind: 'pt-write', root: num(f, 'root'), page: pg, before, after: { pa: before?.pa ?? 0, write: before?.write ?? false, bad: str(f, 'how') as 'invalid' | 'reserved' } });
      return ok();
    },
  },
  'pt-unmap': {
    doc: 'Clear page-table entries (no invalidation: that is a separate step, as in a real driver).',
    fields: { root: 'int', addr: 'int', size: 'int?' },
    run: (ctx, f) => ok(ptUnmap(ctx, num(f, 'root'), num(f, 'addr'), optNum(f, 'size') ?? 4096)),
  },
};

/** Invalidation descriptors a host driver queues by hand (VT-d QI; SMMUv3 CMDQ for the ATC). */
export const invalOps: Record<string, OpSpec> = {
  'inval-iotlb': {
    doc: 'Queue an IOTLB (0x2) or PASID-based IOTLB (0x6) invalidation: global, domain, pasid or page granularity.',
    fields: { iommu: 'iommu', granularity: ['global', 'domain', 'pasid', 'page'], did: 'int?', pasid: 'int?', addr: 'int?', npages: 'int?' },
    run: (ctx, f) => ok(invalidateIotlb(ctx, str(f, 'iommu'), str(f, 'granularity') as 'global', optNum(f, 'did'), optNum(f, 'pasid'), optNum(f, 'addr'), optNum(f, 'npages'))),
  },
  'inval-pasid-cache': {
    doc: 'Queue a PASID-cache invalidation (0x7): global, domain or PASID-selective.',
    fields: { iommu: 'iommu', granularity: ['global', 'domain', 'pasid'], did: 'int?', pasid: 'int?' },
    run: (ctx, f) => ok(invalidatePasidCache(ctx, str(f, 'iommu'), str(f, 'granularity') as 'global', optNum(f, 'did'), optNum(f, 'pasid'))),
  },
  'inval-atc': {
    doc: 'Queue a device-TLB invalidation (0x3 / PASID-based 0x8): all, one PASID, or a page range in a PASID.',
    fields: { rid: 'rid', granularity: ['all', 'pasid', 'page'], pasid: 'int?', addr: 'int?', npages: 'int?' },
    run: (ctx, f) => ok(invalidateAtc(ctx, str(f, 'rid'), str(f, 'granularity') as 'all', optNum(f, 'pasid'), optNum(f, 'addr'), optNum(f, 'npages'))),
  },
};
