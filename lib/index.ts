// iotrace as a library: `import { loadScenario, run, recordToFile,
// TraceReplayer, diffTraces } from 'iotrace'`. One entry point over the
// modules the command line uses (docs/api.md has an example of each); the
// CLI is a thin layer over exactly these.

// ---------------------------------------------------------------- scenarios
export type { Expect, ExpectSpec, Scenario, Step, Variant, Variants } from '../engine/scenario.js';
export { combinations, resolveVariant, stepApplies } from '../engine/scenario.js';
export { ScenarioError, validateScenario, type Problem } from '../engine/validate.js';
export { builtinNames, listScenarios, loadScenario, parseScenario, readScenarioFile, SCENARIO_DIR } from '../scenarios/index.js';

// ---------------------------------------------------------------- running
export { ENGINE_VERSION, run, RunSession, type RunOptions } from '../engine/run.js';
export { ScenarioRunError } from '../engine/limits.js';
export { apply } from '../engine/apply.js';
export { canonicalState, cloneState, emptyState } from '../engine/state.js';
export { EVENT_KINDS, family, summarize } from '../engine/summary.js';
export type { Args, ArgValue, EventKind, EventOf, Family, Platform, SectionName, State, TraceEvent } from '../engine/types.js';

// ---------------------------------------------------------------- recording
export { recordToFile, recordToFileAsync, type RecordOptions } from '../recorder/record.js';
export { RecordLimitError, TraceWriter, type WriteSummary, type WriterOptions } from '../recorder/writer.js';
export { FORMAT_VERSION, TraceError } from '../trace/format.js';

// ---------------------------------------------------------------- replaying
export { openReplayer, TraceReplayer } from '../replayer/replayer.js';
export type { CellRef, Replayer, SearchQuery, TraceHeader, Truncation } from '../replayer/api.js';
export { kindsOf, matches, pasidsOf, ridsOf } from '../replayer/search.js';
export { checkTrace } from '../replayer/check.js';

// ---------------------------------------------------------------- comparing
export { diffTraces, type DiffOptions, type Divergence, type TraceDiff } from '../replayer/trace-diff.js';
export { MemorySide, type DiffSide } from '../replayer/memory-side.js';
export { diffStates, type StateDiff } from '../replayer/state-diff.js';

// ---------------------------------------------------------------- every variant at once
export { matrix, matrixRow, traceName, type MatrixRow } from '../cli/commands/matrix.js';

// ---------------------------------------------------------------- threads: schedules and races
export { explore, FAIL_KINDS, type ExploreOptions, type ExploreResult, type Failure, type FailKind, type Strategy } from '../explore/explore.js';
export { shrink, type ShrinkOptions, type ShrinkResult } from '../explore/shrink.js';
