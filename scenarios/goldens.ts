// The golden traces in traces/: every built-in scenario but `stress`, under
// its default variant and under the variant that shows the problem its seed
// thread argues (or, where the default is itself the problem, the variant
// that avoids it). A test re-records each and compares the bytes, so any
// change in what the engine records shows up as a golden to re-record
// (`npm run goldens`) and a diff to explain.
import { join } from 'node:path';
import type { Variant } from '../engine/scenario.js';
import { resolveVariant } from '../engine/scenario.js';
import { recordToFile } from '../recorder/record.js';
import { loadScenario } from './index.js';

export interface Golden {
  scenario: string;
  /** The variant as given here; the trace header holds it resolved (every axis set). */
  variant: Variant;
  role: 'default' | 'problem' | 'fixed' | 'other';
  /** One line for traces/README.md: what this trace shows. */
  shows: string;
  /** A threaded scenario's schedule (engine/threads.ts; round-robin after it, and when absent). */
  schedule?: string[];
}

export const GOLDENS: Golden[] = [
  { scenario: 'dwq-gpasid', variant: {}, role: 'default', shows: 'gPASID == hPASID: both work queues reach the guest\'s memory, no fault' },
  { scenario: 'dwq-gpasid', variant: { pasid: 'translated' }, role: 'problem', shows: 'ENQCMD is translated 5 -> 1 and succeeds; the dedicated WQ carries guest PASID 5: fault 0x59' },
  { scenario: 'sriov-pasid-table', variant: {}, role: 'default', shows: 'scheme 1: the guest-owned CD table is walked directly; expected C_BAD_CD for an unset and a cleared SSID' },
  { scenario: 'sriov-bind-pgtable', variant: {}, role: 'default', shows: 'scheme 2: SET_HWID / BIND_PGTABLE at the guest\'s PASID; the DWQ works untranslated; expected 0x59 after unbind' },
  { scenario: 'enqcmd-global-pasid', variant: {}, role: 'default', shows: 'scheme 3: local 5 / global 1024, entries at both; ENQCMD and DWQ both work; expected CPU translation miss for an unregistered PASID' },
  { scenario: 'live-migration', variant: {}, role: 'default', shows: 'per-RID: PASID 5 rebuilt exactly on host1, the DWQ keeps working' },
  { scenario: 'live-migration', variant: { 'pasid-space': 'global' }, role: 'problem', shows: 'global: the guest\'s PASID 1 is vm1\'s on host1; re-mapped to 2 for ENQCMD, but the DWQ still carries 1: fault 0x59' },
  { scenario: 'ioasid-quota', variant: {}, role: 'default', shows: 'the 2020 series (v1): ENOSPC past the capacity or a quota, EINVAL below what is outstanding, EACCES for another set, EBUSY when no set id is free; FREE to the IOMMU driver, then KVM' },
  { scenario: 'free-while-bound', variant: {}, role: 'problem', shows: 'lowest + notify-cleanup (the default): PASID 1 re-allocated to proc-b while 00:02.0 still points at proc-a: entry-outlives-ioasid, wrong-address-space' },
  { scenario: 'free-while-bound', variant: { allocator: 'cyclic' }, role: 'fixed', shows: 'cyclic + notify-cleanup: proc-b gets PASID 2, the deferred clean-up runs before PASID 1 is reused: clean' },
  { scenario: 'mdev-siov', variant: {}, role: 'default', shows: 'two mdevs, both guests use PASID 5; real PASIDs 1 and 2 from the parent\'s space, translated in the mediation path' },
  { scenario: 'pasid-cap-migration', variant: {}, role: 'problem', shows: 'kernel-placed capability (the default): 0x160 on host0, 0x1a0 on host1; PASID stays disabled, DMA leaves untagged: fault 0x79 (second-level miss)' },
  { scenario: 'pasid-cap-migration', variant: { 'pasid-cap': 'vmm' }, role: 'fixed', shows: 'VMM-synthesised capability at 0x1a0 on both hosts: the DMA keeps its PASID' },
  { scenario: 'nosnoop-wbinvd', variant: {}, role: 'default', shows: 'every domain enforces snoop (PGSNP): no kvm-wbinvd event, WBINVD stays a no-op' },
  { scenario: 'nosnoop-wbinvd', variant: { nosnoop: 'allow' }, role: 'other', shows: 'a GPU behind an IOMMU without snoop control: KVM honours WBINVD until it is unplugged' },
  { scenario: 'nosnoop-wbinvd', variant: { nosnoop: 'unregistered' }, role: 'problem', shows: 'the VMM never adds the GPU\'s VFIO file to the kvm-vfio device: WBINVD stays a no-op while no-snoop DMA is allowed: noncoherent-dma-without-wbinvd' },
  { scenario: 'viommu-vdevice', variant: {}, role: 'default', shows: 'cmpxchg abort: ATC_INV for vSID 0x10 reaches 00:05.0, the next DMA walks the new mapping' },
  { scenario: 'viommu-vdevice', variant: { abort: 'erase' }, role: 'problem', shows: 'erase abort deletes vSID 0x10\'s slot: the ATC_INV batch fails with EIO and none of it reaches the hardware; the next DMA hits a stale ATC line' },
  { scenario: 'race-free-while-bound', variant: {}, role: 'problem', schedule: ['exit', 'exit', 'exit', 'procb'], shows: 'threads, lowest + notify-cleanup, the schedule explore finds: exit_mm frees PASID 1 (FREE to the IOMMU driver and KVM), proc-b binds before the workqueue runs and gets PASID 1: entry-outlives-ioasid' },
  { scenario: 'race-free-while-bound', variant: { allocator: 'cyclic' }, role: 'fixed', shows: 'threads, cyclic + notify-cleanup, round-robin: proc-b gets PASID 2 whatever the order (explore: clean within its bound)' },
  { scenario: 'race-quota', variant: {}, role: 'problem', shows: 'threads, check-then-charge, round-robin: both allocations pass the quota check at the yield point before either charges: quota-overrun' },
  { scenario: 'race-quota', variant: { locking: 'atomic' }, role: 'fixed', shows: 'threads, one lock over the check and the charge: the second allocation gets ENOSPC' },
  { scenario: 'race-vdevice-alias', variant: {}, role: 'problem', schedule: ['vmm-a', 'vmm-a', 'vmm-a', 'guest', 'guest', 'vmm-b', 'vmm-b', 'vmm-b', 'guest', 'guest', 'guest'], shows: 'threads, erase abort: 00:05.0 wins vSID 0x10, 00:06.0 loses and its abort erases the slot; the guest\'s ATC_INV fails with EIO and the next DMA hits a stale ATC line' },
  { scenario: 'race-vdevice-alias', variant: { abort: 'cmpxchg' }, role: 'fixed', shows: 'threads, cmpxchg abort, round-robin: the loser clears only its own slot' },
  { scenario: 'iommufd-lifecycle', variant: {}, role: 'default', shows: 'reference counts, EBUSY / ENOENT / EINVAL / EEXIST, a device unbound before its vDEVICE, close() depth-first' },
];

/** traces/<scenario>--<axis>=<value>...iotrace, the same names `iotrace matrix -o` uses. */
export function goldenFile(g: Golden): string {
  const v = resolveVariant(loadScenario(g.scenario), g.variant);
  return `${[g.scenario, ...Object.keys(v).sort().map((axis) => `${axis}=${v[axis]}`)].join('--')}.iotrace`;
}

/** Record one golden trace into `dir` (seed 0, default chunking); returns its path. */
export function recordGolden(g: Golden, dir: string): string {
  const path = join(dir, goldenFile(g));
  recordToFile(loadScenario(g.scenario), { variant: g.variant, seed: 0, ...(g.schedule ? { schedule: g.schedule } : {}) }, path);
  return path;
}
