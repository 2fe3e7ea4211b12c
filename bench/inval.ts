// Readers and importers on inputs whose every invalidation once scanned a
// whole cache (the bounds red team's F5 and F13; bench/inval-workloads.ts):
// a trace of N IOTLB fills then N 65 536-page invalidations, read by
// stateAt(last), replayedState and the deep check; the QEMU VT-d log of the
// same shape and an SMMUv3 log of N streams then N CFGI_STE_RANGE, imported.
// With the line index (engine/caches.ts indexedTouch) a doubling of N about
// doubles the time (ratio ~2; a scan per invalidation gives ~4). Each figure
// is the median of --reps runs.
//   node dist/bench/inval.js [--n 20000] [--reps 3] [--only <substring>]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importLog } from '../importers/import.js';
import { QEMU } from '../importers/qemu.js';
import { checkTrace } from '../replayer/check.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { fillsThenWideInvals, smmuSteRangeLog, vtdWideInvalLog } from './inval-workloads.js';

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };

const dir = mkdtempSync(join(tmpdir(), 'iotrace-bench-inval-'));

const onTrace = (read: (r: TraceReplayer, path: string) => void) => (n: number): number => {
  const path = fillsThenWideInvals(n, join(dir, `wide-${n}.iotrace`));
  const r = TraceReplayer.open(path);
  try {
    const t0 = performance.now();
    read(r, path);
    return performance.now() - t0;
  } finally { r.close(); }
};

const onLog = (lines: (n: number) => string[]) => async (n: number): Promise<number> => {
  const log = join(dir, `log-${n}.log`);
  writeFileSync(log, `${lines(n).join('\n')}\n`);
  const t0 = performance.now();
  await importLog(log, join(dir, `log-${n}.iotrace`), QEMU);
  return performance.now() - t0;
};

const WORKLOADS: Record<string, (n: number) => number | Promise<number>> = {
  'trace: state --at last (N fills, N wide invalidations)': onTrace((r) => { r.stateAt(r.count - 1); }),
  'trace: replayedState(last)': onTrace((r) => { r.replayedState(r.count - 1); }),
  'trace: deep check (info --deep, verify\'s pass)': onTrace((_r, path) => { const c = TraceReplayer.open(path); try { checkTrace(c, true); } finally { c.close(); } }),
  'import qemu: VT-d N page updates, N wide invalidations (F5)': onLog(vtdWideInvalLog),
  'import qemu: SMMUv3 N streams, N CFGI_STE_RANGE (F13)': onLog(smmuSteRangeLog),
};

const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' }, reps: { type: 'string', default: '3' }, only: { type: 'string' } } });
const n = Number(values.n);
const reps = Number(values.reps);
if (!Number.isSafeInteger(n) || n < 4) throw new Error('--n takes an integer >= 4');
if (!Number.isSafeInteger(reps) || reps < 1) throw new Error('--reps takes an integer >= 1');
console.log(`node ${process.version}, N and N/2 of each workload, medians of ${reps}`);
try {
  for (const [name, w] of Object.entries(WORKLOADS)) {
    if (values.only !== undefined && !name.includes(values.only)) continue;
    const half: number[] = [];
    const full: number[] = [];
    for (let r = 0; r < reps; r++) { half.push(await w(n / 2 | 0)); full.push(await w(n)); }
    const h = median(half);
    const f = median(full);
    console.log(`${name}: N=${n} ${f.toFixed(0)} ms; N/2 ${h.toFixed(0)} ms; ratio ${(f / h).toFixed(2)}`);
  }
} finally { rmSync(dir, { recursive: true, force: true }); }
