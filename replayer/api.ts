// The contract between the trace reader and its consumers (CLI, TUI, diff).
import type { EventKind, SectionName, State, TraceEvent } from '../engine/types.js';

import type { TraceHeader } from '../trace/header.js';

export type { TraceHeader };

export interface CellRef { section: SectionName; key: string }

/** Where a damaged trace stopped being readable. */
export interface Truncation { offset: number; reason: string }

export interface SearchQuery {
  kinds?: EventKind[];
  rid?: string;
  pasid?: number;
  /** ioctl / kernel-call name, e.g. IOMMU_HWPT_ALLOC */
  cmd?: string;
  /** Free text matched against the event's one-line summary. */
  text?: string;
  /** The thread of a threaded run whose step produced the event. */
  thread?: string;
}

export interface Replayer {
  readonly path: string;
  readonly header: TraceHeader;
  /** Number of readable events; valid steps are 0 .. count-1. */
  readonly count: number;
  readonly bytes: number;
  readonly truncated: Truncation | null;
  /** Why the file has no readable header, or null; when set, `header` is a stand-in: its scenario, engine and seed are not the file's. */
  readonly headerLost: string | null;
  readonly kinds: Readonly<Record<string, number>>;
  /** Sequence numbers of every fault and every violation, ascending. */
  readonly faults: readonly number[];
  readonly violations: readonly number[];
  event(n: number): TraceEvent;
  /** Events from .. to-1. */
  events(from: number, to: number): TraceEvent[];
  /** The state after event n has been applied (n = -1: empty state), from the nearest checkpoint. Callers must not mutate it. */
  stateAt(n: number): State;
  /** The state after event n built by applying every event from the first: trusts no checkpoint. */
  replayedState(n: number): State;
  /** The sequence number of the unchecked checkpoint stateAt(n) would start from, or null (none, or checked). */
  stateUnchecked(n: number): number | null;
  /** The cells event n wrote. */
  touched(n: number): CellRef[];
  /** The last event at or before `at` that wrote the cell, or null. */
  lastWriter(cell: CellRef, at: number): number | null;
  /** First event matching the query after `from` (dir 1) or before it (dir -1), or null. */
  search(query: SearchQuery, from: number, dir: 1 | -1): number | null;
  close(): void;
}
