// npm run bench: the trace benchmarks (issues 3 and 12 part 8) on the `stress`
// workload. Every rate is measured in this one process against baselines
// over the same events (a JSON-lines writer / reader and a plain per-event
// @msgpack/msgpack encoder / decoder), in alternating repetitions; it prints
// medians, ratios, wall and CPU time and the load average, since the
// machine is shared. BENCHMARKS.md keeps the latest figures.
//   node dist/bench/run.js [--scale N] [--ratio-scale N] [--reps N] [--skip-big] [--export-scale N]
// (--export-scale: the export benchmark's trace, bench/export.ts; default 100000, 0 skips it)
//   node dist/bench/run.js --probe <trace> [--samples N]   (one random-step probe process)
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { apply } from '../engine/apply.js';
import { run } from '../engine/run.js';
import type { Scenario } from '../engine/scenario.js';
import { emptyState } from '../engine/state.js';
import type { State, TraceEvent } from '../engine/types.js';
import { encodeChunk } from '../trace/chunk.js';
import { BLOCK, chainStep, digest, DIGEST_BYTES, FORMAT_VERSION, frameBlock, preamble, tail } from '../trace/format.js';
import { encodeFooter, type Index } from '../trace/footer.js';
import { encodeHeader } from '../trace/header.js';
import { encodeCheckpoint, StateHasher } from '../trace/state-codec.js';
import { recordToFile } from '../recorder/record.js';
import { DEFAULT_CHUNK_EVENTS, TraceWriter } from '../recorder/writer.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { exportBench, stressTrace } from './export.js';

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const FLUSH = 1 << 20;

function stress(scale: number): Scenario {
  const sc = loadScenario('stress');
  sc.generate = { builder: 'stress', params: { scale } };
  return sc;
}

/** A rate in M events/s over wall and CPU time (CPU includes V8's GC threads). */
interface Rate { wall: number; cpu: number }
function timed<T>(events: number, f: () => T): [T, Rate] {
  const c = cpuMs();
  const t = performance.now();
  const r = f();
  const wall = performance.now() - t;
  return [r, { wall: events / wall / 1000, cpu: events / (cpuMs() - c) / 1000 }];
}
const med = (rs: Rate[]): Rate => ({ wall: median(rs.map((r) => r.wall)), cpu: median(rs.map((r) => r.cpu)) });
const fmt = (r: Rate): string => `${r.wall.toFixed(2)} M ev/s (CPU ${r.cpu.toFixed(2)})`;
const ratio = (a: Rate, b: Rate): string => `${(a.wall / b.wall).toFixed(1)}x (CPU ${(a.cpu / b.cpu).toFixed(1)}x)`;

/** Buffered file output as the recorder does it: 1 MB, then one writeSync. */
class Sink {
  private readonly fd: number;
  private parts: Uint8Array[] = [];
  private size = 0;
  bytes = 0;
  constructor(path: string) { this.fd = openSync(path, 'w'); }
  write(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
    this.bytes += b.length;
    if (this.size >= FLUSH) this.flush();
  }
  close(): void { this.flush(); closeSync(this.fd); }
  private flush(): void {
    if (this.size === 0) return;
    const all = Buffer.concat(this.parts, this.size);
    let done = 0;
    while (done < all.length) done += writeSync(this.fd, all, done, all.length - done);
    this.parts = [];
    this.size = 0;
  }
}

/**
 * The recorder's format path over events in memory, exactly the writer's
 * per-chunk work bar the state (recorder/writer.ts flushChunk): encodeChunk
 * with the chunk's state hash, SHA-256 of the payload, the digest chain, the
 * CRC-32 frame, buffered writes, then the footer. `hashes` are the state
 * hashes a real recording gave these chunks.
 */
function formatWrite(events: readonly TraceEvent[], hashes: Uint8Array, sc: Scenario, path: string): number {
  const out = new Sink(path);
  out.write(preamble());
  out.write(frameBlock(BLOCK.header, encodeHeader({ format: FORMAT_VERSION, engine: 'bench', scenario: sc, variant: {}, seed: 0, chunkEvents: DEFAULT_CHUNK_EVENTS, checkpointEvery: DEFAULT_CHUNK_EVENTS })));
  const ix: Index = {
    events: events.length, chunkEvents: DEFAULT_CHUNK_EVENTS, checkpointEvery: DEFAULT_CHUNK_EVENTS, chunkOffsets: [], chunkFirsts: [], hashes,
    checkpointSeqs: [], checkpointOffsets: [], faults: [], violations: [], kinds: {}, digests: new Uint8Array(0), checkpointDigests: new Uint8Array(0), chain: new Uint8Array(0),
  };
  const digests: Uint8Array[] = [];
  let chain: Uint8Array = new Uint8Array(DIGEST_BYTES);
  for (let i = 0, c = 0; i < events.length; i += DEFAULT_CHUNK_EVENTS, c++) {
    const chunk = events.slice(i, i + DEFAULT_CHUNK_EVENTS);
    for (const ev of chunk) {
      ix.kinds[ev.kind] = (ix.kinds[ev.kind] ?? 0) + 1;
      if (ev.kind === 'fault') ix.faults.push(ev.seq); else if (ev.kind === 'violation') ix.violations.push(ev.seq);
    }
    ix.chunkOffsets.push(out.bytes);
    ix.chunkFirsts.push(i);
    const payload = encodeChunk(chunk, hashes.subarray(c * 16, c * 16 + 16));
    const d = digest(payload);
    digests.push(d);
    chain = chainStep(chain, d);
    out.write(frameBlock(BLOCK.events, payload));
  }
  ix.digests = Buffer.concat(digests);
  ix.chain = chain;
  const footer = frameBlock(BLOCK.footer, encodeFooter(ix));
  out.write(footer);
  out.write(tail(footer.length));
  out.close();
  return out.bytes;
}

/** The same events as JSON lines straight from the engine, through the same 1 MB buffering (issue 3's baseline). */
function jsonLines(sc: Scenario, path: string): number {
  const out = new Sink(path);
  let parts: string[] = [];
  let size = 0;
  let n = 0;
  for (const ev of run(sc, {})) {
    const line = JSON.stringify(ev);
    parts.push(line);
    size += line.length + 1;
    n++;
    if (size >= FLUSH) { out.write(Buffer.from(`${parts.join('\n')}\n`)); parts = []; size = 0; }
  }
  if (parts.length) out.write(Buffer.from(`${parts.join('\n')}\n`));
  out.close();
  return n;
}

/** Baseline writers over the same events, with the same buffering. */
function jsonWrite(events: readonly TraceEvent[], path: string): number {
  const out = new Sink(path);
  let parts: string[] = [];
  let size = 0;
  for (const ev of events) {
    const line = JSON.stringify(ev);
    parts.push(line);
    size += line.length + 1;
    if (size >= FLUSH) { out.write(Buffer.from(`${parts.join('\n')}\n`)); parts = []; size = 0; }
  }
  if (parts.length) out.write(Buffer.from(`${parts.join('\n')}\n`));
  out.close();
  return out.bytes;
}

function msgpackWrite(events: readonly TraceEvent[], path: string): number {
  const out = new Sink(path);
  const enc = new Encoder();
  // encode() copies its result, as a writer that keeps the bytes must.
  for (const ev of events) out.write(enc.encode(ev));
  out.close();
  return out.bytes;
}

/** Baseline readers: every event object rebuilt from the files above. */
function jsonRead(path: string): number {
  const text = readFileSync(path, 'utf8');
  let n = 0;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    const ev = JSON.parse(text.slice(start, nl)) as TraceEvent;
    if (ev.seq >= 0) n++;
    start = nl + 1;
  }
  return n;
}

function msgpackRead(path: string): number {
  const bytes = readFileSync(path);
  let n = 0;
  for (const ev of new Decoder().decodeMulti(bytes)) if ((ev as TraceEvent).seq >= 0) n++;
  return n;
}

/** Every chunk through the replayer's own reader: CRC-32, SHA-256 against the index, decode, count and first against the index. */
function fullDecode(r: TraceReplayer): number {
  let n = 0;
  const chunks = r.chunks.length;
  for (let c = 0; c < chunks; c++) n += r.chunkEvents(c).length;
  return n;
}

/**
 * The writer's state side without the engine: the touch bookkeeping, the
 * state-hash seal after each chunk and a checkpoint every K events
 * (encodeCheckpoint: msgpack + deflate + SHA-256), timed apart from apply.
 */
function stateSide(events: readonly TraceEvent[]): { touchNs: number; sealNs: number; checkpointNs: number } {
  // CPU time (process.cpuUsage, microseconds): a seal or checkpoint is ~0.1-0.3 ms, and wall time on a shared machine counts time spent descheduled.
  const hasher = new StateHasher();
  const state: State = emptyState();
  let seal = 0;
  let cp = 0;
  const t0 = cpuMs();
  for (let i = 0; i < events.length; i++) {
    apply(state, events[i] as TraceEvent, hasher.touch);
    if ((i + 1) % DEFAULT_CHUNK_EVENTS === 0) {
      let t = cpuMs();
      hasher.seal(state);
      seal += cpuMs() - t;
      t = cpuMs();
      digest(encodeCheckpoint(state));
      cp += cpuMs() - t;
    }
  }
  const withTouch = cpuMs() - t0 - seal - cp;
  const bare = emptyState();
  const t1 = cpuMs();
  for (const ev of events) apply(bare, ev);
  const applyOnly = cpuMs() - t1;
  const per = (ms: number): number => (ms * 1e6) / events.length;
  return { touchNs: Math.max(0, per(withTouch - applyOnly)), sealNs: per(seal), checkpointNs: per(cp) };
}

/** Child process: read a file of events (a trace, JSON lines or msgpack) once untimed, then `reps` times; prints the median rate. */
function readMode(path: string, format: string, reps: number): void {
  const r = format === 'trace' ? TraceReplayer.open(path) : null;
  const once = (): number => (r ? fullDecode(r) : format === 'jsonl' ? jsonRead(path) : msgpackRead(path));
  const n = once();
  const rates: Rate[] = [];
  for (let i = 0; i < reps; i++) rates.push(timed(n, once)[1]);
  r?.close();
  console.log(JSON.stringify(med(rates)));
}

/** Child process: open the trace, then reach random steps. Keeps the parent's heap out of RSS. */
function probe(path: string, samples: number): void {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const r = TraceReplayer.open(path);
  const openMs = performance.now() - t0;
  const rssOpen = process.memoryUsage().rss;
  const times: number[] = [];
  // CPU time per step as well (every thread: V8's GC helpers included): on a shared machine the wall-clock tail is mostly time spent descheduled.
  const cpus: number[] = [];
  let x = 2463534242;
  for (let i = 0; i < samples; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const n = x % r.count;
    const c = cpuMs();
    const t = performance.now();
    r.stateAt(n);
    times.push(performance.now() - t);
    cpus.push(cpuMs() - c);
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  const pick = (xs: number[], q: number): number => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
  console.log(JSON.stringify({
    openMs, rssBeforeMB: rss0 / 2 ** 20, rssOpenMB: rssOpen / 2 ** 20, rssAfterMB: process.memoryUsage().rss / 2 ** 20,
    p50: pick(times, 0.5), p99: pick(times, 0.99), max: pick(times, 1), cpuP50: pick(cpus, 0.5), cpuP99: pick(cpus, 0.99), samples,
  }));
  r.close();
}

/** Section 2 of main: the same events in memory through the recorder's format path, the whole writer and the baseline writers, alternating. */
function writers(sc: Scenario, p: (f: string) => string, reps: number, count: number): number {
  const events = [...run(sc, {})];
  const recorded = TraceReplayer.open(p('r.iotrace'));
  const hashes = Uint8Array.from(recorded.index.hashes);
  recorded.close();
  const finalState = emptyState();
  for (const ev of events) apply(finalState, ev);
  const fw: Rate[] = []; const ww: Rate[] = []; const jw: Rate[] = []; const mw: Rate[] = [];
  let sizes = { trace: 0, json: 0, msgpack: 0 };
  // One untimed round first: every contender compiled and warm.
  for (let i = -1; i < reps; i++) {
    const [tb, a] = timed(events.length, () => formatWrite(events, hashes, sc, p('f.iotrace')));
    if (i >= 0) fw.push(a);
    // The whole writer as recording uses it, attached to a fixed state (the run's last): seal and a checkpoint per chunk, no engine.
    const [, b] = timed(events.length, () => {
      const w = new TraceWriter(p('w.iotrace'), { format: FORMAT_VERSION, engine: 'bench', scenario: sc, variant: {}, seed: 0 });
      w.attach(finalState);
      for (const ev of events) w.pushApplied(ev);
      return w.finish();
    });
    const [jb, c] = timed(events.length, () => jsonWrite(events, p('m.jsonl')));
    const [mb, d] = timed(events.length, () => msgpackWrite(events, p('m.msgpack')));
    if (i >= 0) { ww.push(b); jw.push(c); mw.push(d); }
    sizes = { trace: tb, json: jb, msgpack: mb };
  }
  const n = events.length;
  console.log(`events in memory (${n}): recorder format path (encode + frame + SHA-256 + chain + write) ${fmt(med(fw))}; JSON lines writer ${fmt(med(jw))}; per-event msgpack writer ${fmt(med(mw))}`);
  console.log(`  recorder / JSON lines ${ratio(med(fw), med(jw))}; recorder / msgpack ${ratio(med(fw), med(mw))}`);
  console.log(`  the whole writer (format path + state-hash seal + a checkpoint per chunk of a fixed state, no engine) ${fmt(med(ww))}`);
  const st = stateSide(events);
  console.log(`  state side per event (CPU time), from a replay without the engine's decisions: touch ${st.touchNs.toFixed(0)} ns, seal ${st.sealNs.toFixed(0)} ns, checkpoint (msgpack + deflate + SHA-256) ${st.checkpointNs.toFixed(0)} ns`);
  console.log(`  bytes per event: trace chunks + footer ${(sizes.trace / n).toFixed(2)}, recorded trace with checkpoints ${(statSync(p('r.iotrace')).size / count).toFixed(2)}, JSON lines ${(sizes.json / n).toFixed(1)}, msgpack ${(sizes.msgpack / n).toFixed(1)}`);

  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string' }, 'ratio-scale': { type: 'string' }, reps: { type: 'string' }, probe: { type: 'string' }, samples: { type: 'string' }, read: { type: 'string' }, format: { type: 'string' }, 'skip-big': { type: 'boolean' }, 'export-scale': { type: 'string' } } });
  if (values.probe) { probe(values.probe, Number(values.samples ?? 1000)); return; }
  if (values.read) { readMode(values.read, values.format ?? 'trace', Number(values.reps ?? 3)); return; }
  const scale = Number(values.scale ?? 10_000_000);
  const ratioScale = Number(values['ratio-scale'] ?? 1_000_000);
  const reps = Number(values.reps ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'iotrace-bench-'));
  const p = (f: string): string => join(dir, f);
  console.log(`node ${process.version}, stress: ratio runs at --scale ${ratioScale} x${reps}, big trace at --scale ${scale}; load average ${load()}`);

  // 1. Record with the engine vs JSON lines with the engine (issue 3), alternating.
  const sc = stress(ratioScale);
  const rec: Rate[] = []; const jsl: Rate[] = []; const eng: Rate[] = [];
  let count = 0;
  for (let i = 0; i < reps; i++) {
    const [s, r1] = timed(1, () => recordToFile(sc, {}, p('r.iotrace')));
    count = s.events;
    rec.push({ wall: r1.wall * s.events, cpu: r1.cpu * s.events });
    const [, r2] = timed(count, () => jsonLines(sc, p('r.jsonl')));
    jsl.push(r2);
    const [, r3] = timed(count, () => { let k = 0; for (const _ of run(sc, {})) k++; return k; });
    eng.push(r3);
  }
  console.log(`record (engine + recorder + write) ${fmt(med(rec))}; engine + JSON lines ${fmt(med(jsl))}; ratio ${ratio(med(rec), med(jsl))}; engine alone ${fmt(med(eng))}`);

  // 2. Events in memory: the recorder's format path vs the baseline writers (a function, so the events are garbage after it).
  const n = writers(sc, p, reps, count);

  // 3. Reading the same events back: the replayer's full decode vs the baseline readers, each in a fresh process
  // (warmed up by one untimed pass), so no reader inherits another's heap.
  const self = fileURLToPath(import.meta.url);
  const reader = (format: string, file: string): Rate => JSON.parse(spawnSync(process.execPath, [self, '--read', file, '--format', format, '--reps', String(reps)], { encoding: 'utf8' }).stdout) as Rate;
  const fr = reader('trace', p('r.iotrace'));
  const jr = reader('jsonl', p('m.jsonl'));
  const mr = reader('msgpack', p('m.msgpack'));
  console.log(`full decode (CRC-32, SHA-256 against the index, every check, every event object): trace ${fmt(fr)}; JSON lines ${fmt(jr)}; msgpack ${fmt(mr)} (${n} events, medians of ${reps} after a warm-up pass, one process each)`);
  console.log(`  trace / JSON lines ${ratio(fr, jr)}; trace / msgpack ${ratio(fr, mr)}`);

  if (!values['skip-big']) {
    // 4. The big trace: size, full decode, open and random steps in fresh processes.
    const trace = p('stress-big.iotrace');
    const [big, bigRate] = timed(1, () => recordToFile(stress(scale), {}, trace));
    console.log(`big trace: ${big.events} events, ${big.bytes} bytes, ${big.bytesPerEvent.toFixed(2)} B/ev, recorded at ${(bigRate.wall * big.events).toFixed(3)} M ev/s`);
    const dec = reader('trace', trace);
    console.log(`big trace full decode ${fmt(dec)} (median of ${reps} after a warm-up pass)`);
    const probes = Array.from({ length: reps }, () => JSON.parse(spawnSync(process.execPath, [self, '--probe', trace, '--samples', '1000'], { encoding: 'utf8' }).stdout) as Record<string, number>);
    const m = (k: string): number => median(probes.map((q) => q[k] ?? NaN));
    console.log(`open ${m('openMs').toFixed(1)} ms, RSS after open ${m('rssOpenMB').toFixed(0)} MB (process start ${m('rssBeforeMB').toFixed(0)} MB), after 1000 random steps ${m('rssAfterMB').toFixed(0)} MB`);
    console.log(`random step: p50 ${m('p50').toFixed(2)} ms, p99 ${m('p99').toFixed(2)} ms, max ${m('max').toFixed(1)} ms (medians over ${reps} processes; p99 per process ${probes.map((q) => (q.p99 ?? NaN).toFixed(2)).join(', ')})`);
    console.log(`random step CPU time (all threads): p50 ${m('cpuP50').toFixed(2)} ms, p99 ${m('cpuP99').toFixed(2)} ms (p99 per process ${probes.map((q) => (q.cpuP99 ?? NaN).toFixed(2)).join(', ')})`);
  }
  // 5. Export rates: Perfetto protobuf vs Chrome JSON vs JSON lines over one trace (bench/export.ts).
  const exportScale = Number(values['export-scale'] ?? 100_000);
  if (exportScale > 0) await exportBench(stressTrace(exportScale, dir), reps, dir);
  console.log(`load average at the end ${load()}`);
  rmSync(dir, { recursive: true, force: true });
}

await main();
