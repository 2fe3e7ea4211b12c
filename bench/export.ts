// Export rates (issue 16 part 1): the same recorded `stress` trace exported
// as a Perfetto protobuf trace, as Chrome trace-event JSON and as JSON lines,
// alternating formats within each repetition after an untimed warm-up round,
// each written to a file through exporters/export.ts as `iotrace export -o`
// does. Prints medians (events/s over wall and CPU time), bytes per event and
// the ratios against the Chrome-JSON export of the same run.
//   node dist/bench/export.js [--scale N] [--reps N] [--trace FILE]
// bench/run.ts runs it at the end of `npm run bench` (--export-scale).
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportTrace, type Format } from '../exporters/export.js';
import { recordToFile } from '../recorder/record.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

interface Run { wall: number; cpu: number; bytes: number }

async function once(r: TraceReplayer, format: Format, out: string): Promise<Run> {
  const fd = openSync(out, 'w');
  let bytes = 0;
  const c = cpuMs();
  const t = performance.now();
  try {
    await exportTrace(r, { format, from: 0, to: r.count, kinds: null }, async (chunk) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let done = 0; done < b.length;) done += writeSync(fd, b, done, b.length - done);
      bytes += b.length;
    });
  } finally { closeSync(fd); }
  const wall = performance.now() - t;
  return { wall: r.count / wall * 1000, cpu: r.count / (cpuMs() - c) * 1000, bytes };
}

/** Export the trace in every format `reps` times (alternating) and print the figures. */
export async function exportBench(trace: string, reps: number, dir: string): Promise<void> {
  const r = TraceReplayer.open(trace);
  try {
    const formats: Format[] = ['perfetto', 'chrome', 'jsonl'];
    const runs = new Map<Format, Run[]>(formats.map((f) => [f, []]));
    for (const f of formats) await once(r, f, join(dir, `warm.${f}`));
    for (let i = 0; i < reps; i++) for (const f of formats) runs.get(f)?.push(await once(r, f, join(dir, `out.${f}`)));
    const m = (f: Format, k: keyof Run): number => median((runs.get(f) ?? []).map((x) => x[k]));
    const k = (x: number): string => `${(x / 1000).toFixed(1)} k ev/s`;
    console.log(`export of ${r.count} events (medians of ${reps}, alternating, after a warm-up round; load ${load()}):`);
    for (const f of formats) console.log(`  ${f.padEnd(8)} ${k(m(f, 'wall'))} (CPU ${k(m(f, 'cpu'))}), ${(m(f, 'bytes') / r.count).toFixed(1)} B/ev`);
    console.log(`  perfetto / chrome: ${(m('perfetto', 'wall') / m('chrome', 'wall')).toFixed(2)}x the rate (CPU ${(m('perfetto', 'cpu') / m('chrome', 'cpu')).toFixed(2)}x), ${(m('perfetto', 'bytes') / m('chrome', 'bytes')).toFixed(2)}x the bytes`);
  } finally { r.close(); }
}

/** A `stress` trace of about `scale` events, recorded into dir. */
export function stressTrace(scale: number, dir: string): string {
  const sc = loadScenario('stress');
  sc.generate = { builder: 'stress', params: { scale } };
  const path = join(dir, 'export-stress.iotrace');
  recordToFile(sc, {}, path);
  return path;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string' }, reps: { type: 'string' }, trace: { type: 'string' } } });
  const dir = mkdtempSync(join(tmpdir(), 'iotrace-bench-export-'));
  try {
    const trace = values.trace ?? stressTrace(Number(values.scale ?? 100_000), dir);
    await exportBench(trace, Number(values.reps ?? 3), dir);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
