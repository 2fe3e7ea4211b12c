// The fuzz corpus: the valid traces every trace case starts from, each kept
// on disk (diff's "original" side) and open in a TraceReplayer whose events
// are the truth a mutated copy is judged against; the scenario files the
// scenario cases mutate. Small traces are recorded with small chunks so a
// few kilobytes hold many chunks and checkpoints; the large ones (a few MB,
// recorded at scale) are built only when a case first asks for one.
// Deterministic: every worker builds the same bytes.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario, Step, Variant } from '../../engine/scenario.js';
import { recordToFile } from '../../recorder/record.js';
import type { WriterOptions } from '../../recorder/writer.js';
import { TraceReplayer } from '../../replayer/replayer.js';
import { loadScenario, SCENARIO_DIR } from '../../scenarios/index.js';

export const scratchRoot = (): string => (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());

export interface TraceEntry {
  name: string;
  big: boolean;
  bytes: Buffer;
  /** The original file (diff's side A). */
  path: string;
  /** The original, opened: its events and states are the truth (valid bytes, checkpoints written by the recorder). */
  replayer: TraceReplayer;
  count: number;
}

export interface ScenarioEntry { name: string; text: string }

/** 1500 identical failing ioctls: every column of every chunk is constant but the step runs. */
function constantScenario(): Scenario {
  const base = loadScenario('iommufd-lifecycle');
  const steps: Step[] = [];
  for (let i = 0; i < 1500; i++) steps.push({ op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: 4242 }, expect: 'ENOENT' } as Step);
  return { name: 'constant-columns', description: 'the same failing ioctl, 1500 times', platform: base.platform, steps };
}

function stress(scale: number): Scenario {
  const sc = loadScenario('stress');
  sc.generate = { builder: 'stress', params: { scale } };
  return sc;
}

export class Corpus {
  readonly dir: string;
  readonly small: TraceEntry[] = [];
  readonly scenarios: ScenarioEntry[] = [];
  private bigOnes: TraceEntry[] | null = null;

  constructor() {
    this.dir = mkdtempSync(join(scratchRoot(), 'iotrace-fuzz-corpus-'));
    const dwq = loadScenario('dwq-gpasid');
    this.rec(this.small, 'dwq-small-chunks', dwq, { pasid: 'translated' }, { chunkEvents: 8, checkpointEvery: 16 });
    this.rec(this.small, 'dwq-default', dwq, { pasid: 'translated' }, {});
    this.rec(this.small, 'stress-25', stress(25), {}, { chunkEvents: 64, checkpointEvery: 128 });
    this.rec(this.small, 'iommufd-lifecycle', loadScenario('iommufd-lifecycle'), {}, { chunkEvents: 16, checkpointEvery: 32 });
    // A checkpoint after every 2 events: hundreds of S blocks in a small file.
    this.rec(this.small, 'viommu-many-checkpoints', loadScenario('viommu-vdevice'), {}, { chunkEvents: 2, checkpointEvery: 2 });
    this.rec(this.small, 'constant-columns', constantScenario(), {}, { chunkEvents: 64, checkpointEvery: 64 });
    for (const f of readdirSync(SCENARIO_DIR).filter((x) => x.endsWith('.json')).sort()) {
      // stress is sized by a parameter: a mutated scale runs for minutes by design (MAX_SCALE), so it is left out.
      if (f === 'stress.json') continue;
      this.scenarios.push({ name: f.replace(/\.json$/, ''), text: readFileSync(join(SCENARIO_DIR, f), 'utf8') });
    }
  }

  /** The large traces, recorded on first use (about a second). */
  big(): TraceEntry[] {
    if (!this.bigOnes) {
      this.bigOnes = [];
      // About 200 000 events in 1024-event chunks with a checkpoint after each: ~2 MB, ~195 chunks and checkpoints.
      this.rec(this.bigOnes, 'stress-200k', stress(200_000), {}, { chunkEvents: 1024, checkpointEvery: 1024 }, true);
    }
    return this.bigOnes;
  }

  /** Small trace bytes, for mutators that splice blocks from another recording. */
  get smallBytes(): Buffer[] { return this.small.map((e) => e.bytes); }

  done(): void {
    for (const e of [...this.small, ...(this.bigOnes ?? [])]) e.replayer.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private rec(into: TraceEntry[], name: string, sc: Scenario, variant: Variant, opts: WriterOptions, big = false): void {
    const path = join(this.dir, `${name}.iotrace`);
    recordToFile(sc, { variant }, path, opts);
    const replayer = TraceReplayer.open(path);
    if (replayer.truncated) throw new Error(`corpus trace ${name} did not record whole`);
    into.push({ name, big, bytes: readFileSync(path), path, replayer, count: replayer.count });
  }
}
