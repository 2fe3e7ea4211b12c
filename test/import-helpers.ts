// Importing a log written from lines in a test: the importer's own entry
// point, the trace read back with the replayer.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceEvent } from '../engine/types.js';
import { importLog, type ImportSummary, type LogFormat } from '../importers/import.js';
import { TraceReplayer } from '../replayer/replayer.js';

export const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'import');

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'iotrace-import-'));

export interface Imported { sum: ImportSummary; events: TraceEvent[]; path: string }

/** Import `lines` (joined with newlines) as a log of `fmt`; every event of the trace. */
export async function importLines(fmt: LogFormat, lines: string[], name = 'test.log'): Promise<Imported> {
  const dir = tmp();
  const log = join(dir, name);
  writeFileSync(log, `${lines.join('\n')}\n`);
  return importFile(fmt, log, join(dir, 'out.iotrace'));
}

export async function importFile(fmt: LogFormat, log: string, out: string): Promise<Imported> {
  const sum = await importLog(log, out, fmt);
  const r = TraceReplayer.open(out);
  try {
    return { sum, events: r.events(0, r.count), path: out };
  } finally {
    r.close();
  }
}

/** The events of `kind`, without the base fields and obs: what the line meant. */
export function bodies(events: readonly TraceEvent[], kind?: string): Record<string, unknown>[] {
  return events.filter((e) => kind === undefined || e.kind === kind).map((e) => {
    const { seq: _s, tick: _t, step: _st, obs: _o, ...body } = e as TraceEvent & Record<string, unknown>;
    return body;
  });
}
