// Small scenarios built inline for engine tests.
import { run } from '../../engine/run.js';
import type { Scenario, Step, Variant } from '../../engine/scenario.js';
import { validateScenario } from '../../engine/validate.js';
import { apply } from '../../engine/apply.js';
import { emptyState } from '../../engine/state.js';
import type { EventKind, EventOf, Platform, State, TraceEvent } from '../../engine/types.js';

export const VTD: Platform = {
  iommus: [{ id: 'dmar0', kind: 'vtd' }],
  devices: [
    { rid: '00:02.0', iommu: 'dmar0', ats: true, wqs: [{ id: 'wq0', mode: 'dedicated' }, { id: 'wq1', mode: 'shared' }] },
    { rid: '00:03.0', iommu: 'dmar0' },
  ],
  vms: [{ id: 'vm0' }],
  memory: [
    { owner: 'proc-a', base: 0x100000, size: 0x10000 },
    { owner: 'proc-b', base: 0x200000, size: 0x10000 },
    { owner: 'vm0', base: 0x80000000, size: 0x10000 },
  ],
};

export function scenario(steps: Step[], opts: { platform?: Platform; variants?: Scenario['variants'] } = {}): Scenario {
  return validateScenario({ name: 'test', description: 'inline test scenario', variants: opts.variants ?? {}, platform: opts.platform ?? VTD, steps }, 'test');
}

export function events(s: Scenario | Step[], variant: Variant = {}): TraceEvent[] {
  return [...run(Array.isArray(s) ? scenario(s) : s, { variant })];
}

export function ofKind<K extends EventKind>(evs: TraceEvent[], kind: K): EventOf<K>[] {
  return evs.filter((e): e is EventOf<K> => e.kind === kind);
}

/** The state the events fold into, through apply alone. */
export function stateOf(evs: TraceEvent[]): State {
  const st = emptyState();
  for (const e of evs) apply(st, e);
  return st;
}

/** Errnos of the ioctl / kernel-call events, in order. */
export function errnos(evs: TraceEvent[]): (string | null)[] {
  return evs.flatMap((e) => (e.kind === 'ioctl' || e.kind === 'kcall' ? [e.errno] : []));
}

/** A process address space: page table root 0x1000 (proc-a) maps VA 0x400000 -> 0x100000. */
export const procA: Step[] = [
  { op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: 0x400000, pa: 0x100000, size: 0x2000 },
];
export const procB: Step[] = [
  { op: 'pt-map', root: 0x2000, owner: 'proc-b', addr: 0x400000, pa: 0x200000, size: 0x2000 },
];
