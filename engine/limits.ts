// Bounds on what a scenario may ask of the engine. Scenarios come from
// colleagues and mailing lists (and from the header of any trace, through
// `verify`): every cost a scenario can cause is bounded by its size or by one
// of these limits. Where the kernel or the hardware bounds a cost, the model
// follows it (an unmap walks only what is mapped, an invalidation only the
// cached lines it matches); where it does not, the limit is named here and in
// docs/robustness.md and docs/scenarios.md.

/** Largest scenario file read (bytes). A scenario is hand-written data; 16 MiB is far past any of them. */
export const MAX_SCENARIO_BYTES = 16 * 1024 * 1024;

/** Pages one `pt-map` step may write: 65 536 pages, 256 MiB of 4 KiB pages (each page is one event and one state cell). */
export const MAX_PT_MAP_PAGES = 1 << 16;

/**
 * Page-table entries present at once, over every table of a run: 65 536
 * (256 MiB of 4 KiB pages: one maximal `pt-map`). Bounds the state a long
 * scenario of maximal `pt-map`s builds (a 16 MiB file of them would otherwise
 * ask for 10^10 cells), and so what every checkpoint of its trace holds: the
 * writer checkpoints the whole state every 1024 events, so recording a run
 * that builds 262 144 entries took 43 s, one that builds 65 536 takes 3.
 */
export const MAX_PT_ENTRIES = 1 << 16;

/**
 * Events one scenario step may produce. The largest step of the model is a
 * `pt-map` of MAX_PT_MAP_PAGES pages (one event per page); a step past this
 * bound ends the run with one line naming the step.
 */
export const MAX_EVENTS_PER_STEP = 1 << 18;

/** Largest `scale` of a generated scenario (`--scale`, `generate.params.scale`): about that many events. */
export const MAX_SCALE = 100_000_000;

/** Variant combinations `iotrace matrix` runs at most; past it, pin axes with --variant. */
export const MAX_COMBINATIONS = 256;

/**
 * A scenario that validated but cannot go on at run time (a bound of the
 * model reached, a reference that did not resolve). Reported as one line,
 * exit 2, like a ScenarioError: it is bad input, not an engine failure.
 */
export class ScenarioRunError extends Error {
  constructor(readonly step: number, readonly detail: string, readonly op: string | null = null, readonly scenario: string | null = null) {
    super(`${scenario === null ? '' : `scenario ${JSON.stringify(scenario)}: `}step ${step}${op === null ? '' : ` (${op})`}: ${detail}`);
    this.name = 'ScenarioRunError';
  }
}
