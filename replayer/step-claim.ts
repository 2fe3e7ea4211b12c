// What a scenario step did, by its events: the ioctl or kernel call they
// hold, and whether the header's scenario step says the same. The header is
// a claim a forged-but-valid file can falsify (step 2's IOMMU_IOAS_ALLOC
// renamed IOMMU_DESTROY, with a reassuring note, events untouched): export,
// the debugger's detail pane, provenance chains and `e` name a step by its
// events' call and mark a header that says otherwise.
//
// The rule: an op has no clean mapping to the call it makes (`ioctl` issues
// its `cmd`, `ioctl-nr` the command of its number, `close` the ioctl `close`,
// `device-unbind` VFIO_DEVICE_UNBIND, each kernel op its own function, most
// ops none at all), so the comparison is on what a step names: a step with a
// `cmd` or `fn` claims that call, and its events must hold it. An op or note
// with no call to compare stays the header's, unchecked (verify re-runs the
// scenario and compares every event).
import type { TraceEvent } from '../engine/types.js';
import { TraceError } from '../trace/format.js';

/** The kinds that carry out a step (the engine emits an ioctl's effects first, the call last). */
export const isCall = (ev: TraceEvent): boolean => ev.kind === 'ioctl' || ev.kind === 'kcall';

/** The call an ioctl or kernel-call event made (its command or function), or null. */
export function callName(ev: TraceEvent): string | null {
  const name: unknown = ev.kind === 'ioctl' ? ev.cmd : ev.kind === 'kcall' ? ev.fn : null;
  return typeof name === 'string' ? name : null;
}

/** Events of a step looked at for its call, each way from the event. */
const CALL_SCAN = 512;

/**
 * The ioctl or kernel-call event of `ev`'s scenario step (`ev` itself if it
 * is one), or null: a step's events are contiguous (same step and thread),
 * so the scan stops at the first event of another, after CALL_SCAN, and at a
 * chunk that does not read back (the step is then named as the header says).
 */
export function stepCall(r: { readonly count: number; event(n: number): TraceEvent }, ev: TraceEvent): TraceEvent | null {
  if (isCall(ev)) return ev;
  if (ev.step < 0) return null;
  try {
    for (const dir of [1, -1]) {
      for (let n = ev.seq + dir, k = 0; n >= 0 && n < r.count && k < CALL_SCAN; n += dir, k++) {
        const e = r.event(n);
        if (e.step !== ev.step || e.thread !== ev.thread) break;
        if (isCall(e)) return e;
      }
    }
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
  }
  return null;
}

/** A scenario step as the header gives it: the fields a claim is read from. */
export interface StepSpec { op?: unknown; cmd?: unknown; fn?: unknown; note?: unknown }

export interface StepClaim {
  /** The call the step's events hold, or null when none was found. */
  call: string | null;
  /** The call the header's step names (its `cmd` or `fn`), or null when it names none. */
  claimed: string | null;
  /** The header's step can stand: it names no call, or the events' (still unchecked otherwise). */
  agrees: boolean;
  /** The header's step names a call and the events hold another. */
  contradicted: boolean;
}

/** The header's step against the call event of its events (stepCall), or null when there is none. */
export function stepClaim(spec: StepSpec | undefined, call: TraceEvent | null): StepClaim {
  const did = call === null ? null : callName(call);
  const claimed = [spec?.cmd, spec?.fn].find((v): v is string => typeof v === 'string') ?? null;
  return { call: did, claimed, agrees: claimed === null || claimed === did, contradicted: claimed !== null && did !== null && claimed !== did };
}

/** The false claim, as every reader says it (after `FALSE CLAIM: `). Not escaped: both names come from the file. */
export const falseStepText = (c: StepClaim): string => `the header's step says ${c.claimed ?? '?'}; its events are ${c.call ?? '?'}`;
