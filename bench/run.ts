// npm run bench: the trace benchmarks of issue 3 on the `stress` workload.
// Prints medians of repeated runs and ratios measured in the same process;
// BENCHMARKS.md keeps the latest figures.
//   node dist/bench/run.js [--scale N] [--ratio-scale N] [--reps N]
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { run } from '../engine/run.js';
import type { Scenario } from '../engine/scenario.js';
import { decodeChunk } from '../trace/chunk.js';
import { recordToFile } from '../recorder/record.js';
import { TraceWriter } from '../recorder/writer.js';
import { FORMAT_VERSION } from '../trace/format.js';
import { readBlock } from '../replayer/open.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { exploreBench } from './explore.js';

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };
const mps = (events: number, ms: number): number => events / ms / 1000;

function stress(scale: number): Scenario {
  const sc = loadScenario('stress');
  sc.generate = { builder: 'stress', params: { scale } };
  return sc;
}

/** The same events as JSON lines, written through the same 1 MB buffering. */
function jsonLines(sc: Scenario, path: string): number {
  const fd = openSync(path, 'w');
  let parts: string[] = [];
  let size = 0;
  let n = 0;
  for (const ev of run(sc, {})) {
    const line = JSON.stringify(ev);
    parts.push(line);
    size += line.length + 1;
    n++;
    if (size >= 1 << 20) { writeSync(fd, `${parts.join('\n')}\n`); parts = []; size = 0; }
  }
  if (parts.length) writeSync(fd, `${parts.join('\n')}\n`);
  closeSync(fd);
  return n;
}

function timed<T>(f: () => T): [T, number] { const t = performance.now(); const r = f(); return [r, performance.now() - t]; }

/** Child process: open the trace, then reach random steps. Keeps the parent's heap out of RSS. */
function probe(path: string, samples: number): void {
  const rss0 = process.memoryUsage().rss;
  const [r, openMs] = timed(() => TraceReplayer.open(path));
  const rssOpen = process.memoryUsage().rss;
  const times: number[] = [];
  let x = 2463534242;
  for (let i = 0; i < samples; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const n = x % r.count;
    times.push(timed(() => r.stateAt(n))[1]);
  }
  times.sort((a, b) => a - b);
  const pick = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  console.log(JSON.stringify({ openMs, rssBeforeMB: rss0 / 2 ** 20, rssOpenMB: rssOpen / 2 ** 20, rssAfterMB: process.memoryUsage().rss / 2 ** 20, p50: pick(0.5), p99: pick(0.99), max: pick(1), samples }));
  r.close();
}

function main(): void {
  const { values } = parseArgs({ options: { scale: { type: 'string' }, 'ratio-scale': { type: 'string' }, reps: { type: 'string' }, probe: { type: 'string' }, samples: { type: 'string' } } });
  if (values.probe) { probe(values.probe, Number(values.samples ?? 1000)); return; }
  const scale = Number(values.scale ?? 10_000_000);
  const ratioScale = Number(values['ratio-scale'] ?? 1_000_000);
  const reps = Number(values.reps ?? 3);
  const dir = join(tmpdir(), `iotrace-bench-${process.pid}`);
  const trace = join(dir, 'stress.iotrace');
  spawnSync('mkdir', ['-p', dir]);
  console.log(`node ${process.version}, stress: ratio runs at --scale ${ratioScale} x${reps}, big trace at --scale ${scale}`);

  // 1. Record vs JSON lines, alternating, same process, same events.
  const rec: number[] = []; const jsl: number[] = []; const enc: number[] = []; const engine: number[] = [];
  const sc = stress(ratioScale);
  for (let i = 0; i < reps; i++) {
    const [s, ms] = timed(() => recordToFile(sc, {}, join(dir, 'r.iotrace')));
    rec.push(mps(s.events, ms));
    const [n, jms] = timed(() => jsonLines(sc, join(dir, 'r.jsonl')));
    jsl.push(mps(n, jms));
    const [m, ems] = timed(() => { let k = 0; for (const _ of run(sc, {})) k++; return k; });
    engine.push(mps(m, ems));
  }
  // Format cost alone: the same events, already in memory, encoded and written.
  const events = [...run(stress(Math.min(ratioScale, 1_000_000)), {})];
  for (let i = 0; i < reps; i++) {
    const [, ms] = timed(() => {
      const w = new TraceWriter(join(dir, 'e.iotrace'), { format: FORMAT_VERSION, engine: 'bench', scenario: sc, variant: {}, seed: 0 });
      for (const ev of events) w.push(ev);
      w.finish();
    });
    enc.push(mps(events.length, ms));
  }
  const jsonBytes = statSync(join(dir, 'r.jsonl')).size;
  const recBytes = statSync(join(dir, 'r.iotrace')).size;
  console.log(`record (engine+encode+write) ${median(rec).toFixed(3)} M ev/s; JSON lines ${median(jsl).toFixed(3)} M ev/s; ratio ${(median(rec) / median(jsl)).toFixed(2)}x`);
  console.log(`engine alone ${median(engine).toFixed(3)} M ev/s; recorder alone (apply+hash+encode+write, events in memory) ${median(enc).toFixed(3)} M ev/s`);
  console.log(`size at ratio scale: trace ${(recBytes / events.length).toFixed(2)} B/ev, JSON lines ${(jsonBytes / events.length).toFixed(1)} B/ev`);

  // 2. The big trace.
  const [big, bigMs] = timed(() => recordToFile(stress(scale), {}, trace));
  console.log(`big trace: ${big.events} events, ${big.bytes} bytes, ${big.bytesPerEvent.toFixed(2)} B/ev, recorded in ${(bigMs / 1000).toFixed(1)} s (${mps(big.events, bigMs).toFixed(3)} M ev/s)`);

  // 3. Full decode: read every chunk and build every event object.
  const r = TraceReplayer.open(trace);
  const chunks = r.chunks;
  const dec: number[] = [];
  const fd = openSync(trace, 'r');
  for (let i = 0; i < reps; i++) {
    const [n, ms] = timed(() => {
      let k = 0;
      for (const c of chunks) k += decodeChunk(readBlock(fd, r.bytes, c.offset).payload, c.offset).events.length;
      return k;
    });
    dec.push(mps(n, ms));
  }
  closeSync(fd);
  r.close();
  console.log(`full decode ${median(dec).toFixed(2)} M ev/s (median of ${reps})`);

  // 4. Open and random access, in a fresh process.
  const self = fileURLToPath(import.meta.url);
  const probes = Array.from({ length: reps }, () => JSON.parse(spawnSync(process.execPath, [self, '--probe', trace, '--samples', '1000'], { encoding: 'utf8' }).stdout) as Record<string, number>);
  const m = (k: string) => median(probes.map((p) => p[k] ?? NaN));
  console.log(`open ${m('openMs').toFixed(1)} ms, RSS after open ${m('rssOpenMB').toFixed(0)} MB (process start ${m('rssBeforeMB').toFixed(0)} MB), after 1000 random steps ${m('rssAfterMB').toFixed(0)} MB`);
  console.log(`random step: p50 ${m('p50').toFixed(2)} ms, p99 ${m('p99').toFixed(2)} ms, max ${m('max').toFixed(1)} ms (medians over ${reps} processes)`);
  rmSync(dir, { recursive: true, force: true });

  // 5. The explorer (issue 13): bench/explore.ts.
  exploreBench();
}

main();
