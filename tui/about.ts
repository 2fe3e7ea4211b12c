// The state cell an event is about, so the state pane can select it: at a
// stale-IOTLB violation the stale line, at a 0x59 fault the missing PASID
// entry, at an ENQCMD #GP the vCPU's IA32_PASID or the missing translation.
// Read from the event, its neighbours of the same scenario step (the DMA that
// names the page) and the state after it; the keys are engine/keys.ts's.
import { k, page } from '../engine/keys.js';
import type { SectionName, State, TraceEvent } from '../engine/types.js';
import type { CellRef, Replayer } from '../replayer/api.js';

/** A cell (maybe absent from the state: a missing entry) and the group to select when the cell has no row. */
export interface About { cell: CellRef | null; group: { section: SectionName; group: string } | null }

const NONE: About = { cell: null, group: null };
const str = (x: unknown): x is string => typeof x === 'string';
const num = (x: unknown): x is number => typeof x === 'number';

/** The DMA of the same scenario step nearest to event n in `dir` (a stale line's violation precedes it), or null. */
function stepDma(r: Replayer, n: number, ev: TraceEvent, dir: 1 | -1): TraceEvent | null {
  for (let i = n + dir, seen = 0; i >= 0 && i < r.count && seen < 8; i += dir, seen++) {
    const e = r.event(i);
    if (e.step !== ev.step) return null;
    if (e.kind === 'dma' && e.rid === (ev as { rid?: unknown }).rid) return e;
  }
  return null;
}

function pasidEntry(rid: unknown, pasid: unknown): About {
  if (!str(rid)) return NONE;
  return { cell: num(pasid) ? { section: 'pasid', key: k.pasid(rid, pasid) } : null, group: { section: 'pasid', group: rid } };
}

export function aboutEvent(r: Replayer, n: number, ev: TraceEvent, state: State): About {
  if (ev.kind === 'violation') {
    const { rid, pasid } = ev;
    switch (ev.invariant) {
      case 'stale-iotlb': {
        const iommu = str(rid) ? state.s.device[rid]?.iommu : undefined;
        const dma = stepDma(r, n, ev, 1);
        if (!str(iommu) || !num(pasid)) return pasidEntry(rid, pasid);
        const group = { section: 'iotlb' as const, group: iommu };
        if (!dma || dma.kind !== 'dma') return { cell: null, group };
        // The line's DID is the PASID entry's (cached): look for the line of this PASID and page in that IOMMU.
        const tail = `/${pasid}/${page(dma.addr)}`;
        const key = Object.keys(state.s.iotlb).find((x) => x.startsWith(`${iommu}/`) && x.endsWith(tail));
        return { cell: key ? { section: 'iotlb', key } : null, group };
      }
      case 'stale-atc': {
        const dma = stepDma(r, n, ev, 1);
        if (!str(rid) || !num(pasid)) return NONE;
        return { cell: dma && dma.kind === 'dma' ? { section: 'atc', key: k.atc(rid, pasid, page(dma.addr)) } : null, group: { section: 'atc', group: rid } };
      }
      case 'wrong-address-space':
        return str(rid) && num(pasid) ? { cell: { section: 'bind', key: k.bind(rid, pasid) }, group: { section: 'bind', group: rid } } : NONE;
      default: return pasidEntry(rid, pasid);
    }
  }
  if (ev.kind === 'fault') {
    if (ev.source === 'cpu' && str(ev.vm)) {
      if (num(ev.pasid)) return { cell: { section: 'cpu-pasid', key: k.cpuPasid(ev.vm, ev.pasid) }, group: { section: 'cpu-pasid', group: ev.vm } };
      const enq = n > 0 ? r.event(n - 1) : null;
      return enq?.kind === 'enqcmd' ? { cell: { section: 'vcpu', key: k.vcpu(ev.vm, enq.vcpu) }, group: { section: 'vcpu', group: ev.vm } } : NONE;
    }
    return pasidEntry(ev.rid, ev.pasid);
  }
  const f = ev as unknown as { rid?: unknown; pasid?: unknown };
  return pasidEntry(f.rid, f.pasid);
}
