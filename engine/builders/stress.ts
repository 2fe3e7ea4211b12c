// The sized `stress` workload: a steady mix of DMA (IOTLB / ATC fills and
// hits), ENQCMD from a guest, dedicated-WQ submissions, PASID-table rewrites,
// invalidations and rare faults. Pure and deterministic: the steps depend only
// on params and the PRNG, and are produced lazily so 10 M events never sit in
// memory. The platform it runs on is scenarios/stress.json.
import { MAX_SCALE } from '../limits.js';
import type { Prng } from '../prng.js';
import type { Step } from '../scenario.js';

/** Processes bound with SVA; process p owns PASID p+1 (lowest-free from 1). */
export const STRESS_PROCS = 4;
/** Pages each process maps: bounds the IOTLB and ATC (and so checkpoints) to PROCS*PAGES lines. */
export const STRESS_PAGES = 32;
const VA = 0x400000;
const ROOT = (p: number): number => 0x1000000 * (p + 1);
/** Physical memory of process p (scenarios/stress.json declares the same regions). */
const MEM = (p: number): number => 0x10000000 * (p + 1);
const OWNER = (p: number): string => `proc-${p}`;
const DEVS = ['00:02.0', '00:03.0'] as const;
const IOMMU = 'dmar0';
/** Guest PASID the VM's IA32_PASID holds; KVM translates it to process 0's PASID. */
const GPASID = 5;

/**
 * Measured mean events per loop step (see BENCHMARKS.md): `scale` is a target
 * event count, so the loop runs about scale / EVENTS_PER_STEP steps.
 */
export const EVENTS_PER_STEP = 1.68;

function* setup(): Generator<Step> {
  for (let p = 0; p < STRESS_PROCS; p++) {
    yield { op: 'pt-map', root: ROOT(p), owner: OWNER(p), addr: VA, pa: MEM(p), size: STRESS_PAGES * 4096 };
    for (const rid of DEVS) yield { op: 'sva-bind', rid, owner: OWNER(p), root: ROOT(p), expect: 'ok' };
  }
  yield { op: 'wq-config', rid: DEVS[0], wq: 'wq0', pasid: 2 };
  yield { op: 'guest-msr', vm: 'vm0', vcpu: 0, pasid: GPASID };
  yield { op: 'ioctl', cmd: 'KVM_SET_PASID_MAPPING', args: { vm: 'vm0', gpasid: GPASID, hpasid: 1 }, expect: 'ok' };
}

/** A page in the process's mapping, skewed so that a few pages are hot (IOTLB / ATC hits). */
function pageAddr(prng: Prng): number {
  const r = prng.next();
  const pg = Math.floor(r * r * STRESS_PAGES);
  return VA + pg * 4096 + prng.int(64) * 64;
}

export function* stress(params: Record<string, number>, prng: Prng): Generator<Step> {
  yield* setup();
  // Validated to 0..MAX_SCALE (engine/builders/index.ts BUILDER_PARAMS); clamped again for direct callers.
  const scale = Math.min(MAX_SCALE, Math.max(0, Math.floor(params.scale ?? 100_000) || 0));
  const steps = Math.ceil(scale / EVENTS_PER_STEP);
  for (let i = 0; i < steps; i++) {
    const r = prng.int(10_000);
    const p = prng.int(STRESS_PROCS);
    const rid = DEVS[prng.int(DEVS.length)] ?? DEVS[0];
    if (r < 7_000) {
      yield { op: 'dma', rid, pasid: p + 1, addr: pageAddr(prng), write: prng.int(4) === 0 };
    } else if (r < 8_200) {
      yield { op: 'enqcmd', vm: 'vm0', vcpu: 0, rid: DEVS[0], wq: 'wq1', addr: pageAddr(prng), write: true };
    } else if (r < 9_000) {
      yield { op: 'wq-submit', rid: DEVS[0], wq: 'wq0', addr: pageAddr(prng) };
    } else if (r < 9_500) {
      // Page-selective PASID-based IOTLB invalidation, then the device TLB.
      const addr = pageAddr(prng) & ~0xfff;
      yield { op: 'inval-iotlb', iommu: IOMMU, granularity: 'page', did: 0x400 + p + 1, pasid: p + 1, addr, npages: 1 };
      yield { op: 'inval-atc', rid: DEVS[0], granularity: 'page', pasid: p + 1, addr, npages: 1 };
    } else if (r < 9_960) {
      // Remap one page in place (pt-write) and invalidate it the way a driver must.
      const addr = pageAddr(prng) & ~0xfff;
      yield { op: 'pt-map', root: ROOT(p), owner: OWNER(p), addr, pa: MEM(p) + (addr - VA) };
      yield { op: 'inval-iotlb', iommu: IOMMU, granularity: 'pasid', did: 0x400 + p + 1, pasid: p + 1 };
    } else if (r < 9_995) {
      // Rebind: the PASID entry is cleared (cache / IOTLB / ATC flushed) and written again.
      yield { op: 'sva-unbind', rid, pasid: p + 1 };
      yield { op: 'sva-bind', rid, owner: OWNER(p), root: ROOT(p) };
    } else {
      // Rare fault: a DMA outside the mapping (first-stage entry not present).
      yield { op: 'dma', rid, pasid: p + 1, addr: VA + STRESS_PAGES * 4096 + prng.int(16) * 4096, write: false };
    }
  }
}
