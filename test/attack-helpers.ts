// Forged input for the output and file attack tests: traces written by the
// project's own writer (valid checksums, digests and footer) whose strings
// hold what an attacker would put there, scenario files with such strings,
// and the built CLI.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINE_VERSION, run } from '../engine/run.js';
import { resolveVariant, type Scenario } from '../engine/scenario.js';
import type { TraceEvent } from '../engine/types.js';
import { TraceWriter } from '../recorder/writer.js';
import { loadScenario } from '../scenarios/index.js';
import { FORMAT_VERSION } from '../trace/format.js';

export const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');

export const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, timeout: 60_000 });

/** A RID that, printed raw, forges a FAULT line, sets the window title and reverses the text after it. */
export const EVIL_RID = '00:02.0\n      42 t1      fault              FAULT forged\x1b]0;pwned\x07\u202e';
/** A scenario name that, printed raw, clears the screen, and holds C1 CSI and a line separator. */
export const EVIL_NAME = 'evil\x1b[2J\u009b31m\u2028name\u202e';

/** What no byte of output may hold: C0 except newline, DEL, C1, U+2028/9, bidi controls. */
export const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function swap(v: unknown, from: string, to: string): unknown {
  if (typeof v === 'string') return v === from ? to : v;
  if (Array.isArray(v)) return v.map((x) => swap(x, from, to));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k === from ? to : k] = swap(x, from, to);
    return out;
  }
  return v;
}

/**
 * dwq-gpasid (pasid=translated) with every `00:02.0` replaced by EVIL_RID in
 * every event, and the header's scenario named EVIL_NAME, written by
 * TraceWriter in 8-event chunks: a trace every check accepts.
 */
export function forgeTrace(dir: string, name = 'evil'): { path: string; events: TraceEvent[] } {
  const sc = loadScenario('dwq-gpasid');
  const variant = resolveVariant(sc, { pasid: 'translated' });
  const events = [...run(sc, { variant })].map((e) => swap(e, '00:02.0', EVIL_RID) as TraceEvent);
  const path = join(dir, `${name}.iotrace`);
  const w = new TraceWriter(path, { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario: { ...sc, name: EVIL_NAME } as Scenario, variant, seed: 0 }, { chunkEvents: 8, checkpointEvery: 8 });
  for (const e of events) w.push(e);
  w.finish();
  return { path, events };
}

/** A built-in scenario's JSON, edited, written to dir/file. */
export function scenarioFile(dir: string, file: string, base: string, edit: (s: Record<string, any>) => void): string {
  const s = JSON.parse(readFileSync(join(process.cwd(), 'scenarios', `${base}.json`), 'utf8')) as Record<string, any>;
  edit(s);
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(s));
  return path;
}
