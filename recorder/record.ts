// recordToFile: run a scenario through the engine straight into a trace file.
import { ENGINE_VERSION, RunSession } from '../engine/run.js';
import { resolveVariant, type Scenario, type Variant } from '../engine/scenario.js';
import { FORMAT_VERSION } from '../trace/format.js';
import { TraceWriter, type WriteSummary, type WriterOptions } from './writer.js';

export interface RecordOptions extends WriterOptions {
  /** Called every `progressEvery` events with the count so far. */
  onProgress?: (events: number) => void;
  progressEvery?: number;
}

type RunArgs = { variant?: Variant; seed?: number; schedule?: readonly string[] };

/** The writer attached to a run of the scenario: the part recordToFile and recordToFileAsync share. */
function startRecording(scenario: Scenario, run_: RunArgs, outPath: string, opts: RecordOptions): { writer: TraceWriter; session: RunSession } {
  const variant = resolveVariant(scenario, run_.variant ?? {});
  const seed = run_.seed ?? 0;
  const writer = new TraceWriter(outPath, { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario, variant, seed }, opts);
  const every = opts.progressEvery ?? 1 << 18;
  const progress = opts.onProgress;
  try {
    // The writer reads the engine's live state (checkpoints, hashes) instead
    // of applying every event a second time.
    const session = new RunSession(scenario, { variant, seed, ...(run_.schedule ? { schedule: run_.schedule } : {}) }, {
      touch: writer.touch,
      onEvent: progress
        ? (ev) => { writer.pushApplied(ev); if (writer.events % every === 0) progress(writer.events); }
        : (ev) => { writer.pushApplied(ev); },
    });
    writer.attach(session.state);
    return { writer, session };
  } catch (e) {
    writer.abort();
    throw e;
  }
}

export function recordToFile(scenario: Scenario, run_: RunArgs, outPath: string, opts: RecordOptions = {}): WriteSummary {
  const { writer, session } = startRecording(scenario, run_, outPath, opts);
  try {
    while (session.next()) { /* events reach the writer through onEvent */ }
    return writer.finish();
  } catch (e) {
    writer.abort();
    throw e;
  }
}

/** Scenario steps run between two yields to the event loop in recordToFileAsync. */
const STEPS_PER_SLICE = 4096;

/**
 * recordToFile that yields to the event loop every few thousand steps, so a
 * signal handler (safe/files.ts withSignalCleanup: Ctrl-C keeps the partial
 * as `<out>.partial`) can run part-way through a long recording. The same
 * bytes as recordToFile.
 */
export async function recordToFileAsync(scenario: Scenario, run_: RunArgs, outPath: string, opts: RecordOptions = {}): Promise<WriteSummary> {
  const { writer, session } = startRecording(scenario, run_, outPath, opts);
  try {
    for (let n = 1; session.next(); n++) {
      if (n % STEPS_PER_SLICE === 0) await new Promise((res) => setImmediate(res));
    }
    return writer.finish();
  } catch (e) {
    writer.abort();
    throw e;
  }
}
