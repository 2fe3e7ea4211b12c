// The import rate (issue 16 part 2): a QEMU vtd_* log of N lines in the mix
// a real one has (the captured fixture's: a context hit, an IOTLB fill and a
// translation, a page hit and its translation, an unmap's queued page
// invalidation, its decode and the wait descriptor, the queue's register
// lines), imported into a trace; lines/s and events/s, medians over the
// repetitions, with the time to read the same file line by line as the floor
// and the Chrome-JSON export of the imported trace (its own process) as the
// baseline measured in the same run.
//   node dist/bench/import.js [--lines N] [--reps N]   (also run by bench/run.ts)
import { mkdtempSync, openSync, closeSync, writeSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { importLog } from '../importers/import.js';
import { eachLine } from '../importers/lines.js';
import { QEMU } from '../importers/qemu.js';

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };

/** One round of the mix for page `i`: 16 lines, as QEMU 7.2 prints them (sid 0x10, domain 4). */
function round(i: number, us: number): string[] {
  const iova = (0xffff0000 - (i % 4096) * 0x1000) >>> 0;
  const pa = 0x3600000 + (i % 65536) * 0x1000;
  const x = (n: number): string => n.toString(16);
  const t = (k: number): string => `5555@1796169673.${String((us + k) % 1_000_000).padStart(6, '0')}:`;
  return [
    `${t(0)}vtd_iotlb_cc_hit IOTLB context hit bus 0x0 devfn 0x10 high 0x401 low 0x3278001 gen 1`,
    `${t(1)}vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x${x(iova)} slpte 0x${x(pa | 3)} domain 0x4`,
    `${t(2)}vtd_dmar_translate dev 00:02.00 iova 0x${x(iova)} -> gpa 0x${x(pa)} mask 0xfff`,
    `${t(3)}vtd_iotlb_cc_hit IOTLB context hit bus 0x0 devfn 0x10 high 0x401 low 0x3278001 gen 1`,
    `${t(4)}vtd_iotlb_page_hit IOTLB page hit sid 0x10 iova 0x${x(iova + 0x40)} slpte 0x${x(pa | 3)} domain 0x4`,
    `${t(5)}vtd_dmar_translate dev 00:02.00 iova 0x${x(iova + 0x40)} -> gpa 0x${x(pa + 0x40)} mask 0xfff`,
    `${t(6)}vtd_reg_write addr 0x88 size 0x4 value 0x${x((i * 32) % 4096)}`,
    `${t(7)}vtd_inv_qi_tail write tail ${(i * 2) % 256}`,
    `${t(8)}vtd_inv_qi_fetch `,
    `${t(9)}vtd_inv_qi_head read head ${(i * 2) % 256}`,
    `${t(10)}vtd_inv_desc invalidate desc type iotlb high 0x${x(iova)} low 0x400f2`,
    `${t(11)}vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x4 addr 0x${x(iova)} mask 0x0`,
    `${t(12)}vtd_inv_qi_head read head ${(i * 2 + 1) % 256}`,
    `${t(13)}vtd_inv_desc invalidate desc type wait high 0x2000c04 low 0x200000025`,
    `${t(14)}vtd_inv_desc_wait_sw wait invalidate status write addr 0x2000c04 data 0x2`,
    `${t(15)}vtd_reg_read addr 0x34 size 0x4`,
  ];
}

/** A log of at least `lines` lines, written in blocks. */
export function qemuLog(path: string, lines: number): void {
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i * 16 < lines;) {
      const block: string[] = [];
      for (let k = 0; k < 256 && i * 16 < lines; k++, i++) block.push(...round(i, i * 16));
      writeSync(fd, `${block.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
}

export interface ImportFigures { lines: number; events: number; bytes: number; ms: number; readMs: number; linesPerS: number; eventsPerS: number; chromeMs: number; chromeEventsPerS: number }

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

/** `iotrace export <trace> --format chrome -o <out>` in its own process, as a user runs it: wall ms. */
function chromeExport(trace: string, out: string): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'export', trace, '--format', 'chrome', '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`export failed: ${r.stderr}`);
  return performance.now() - t;
}

/** Import a generated log of `lines` lines `reps` times; the medians. */
export async function importBench(lines: number, reps: number, dir: string): Promise<ImportFigures> {
  const log = join(dir, 'bench-qemu.log');
  qemuLog(log, lines);
  const bytes = statSync(log).size;
  const ms: number[] = [];
  const read: number[] = [];
  const chrome: number[] = [];
  let events = 0;
  let n = 0;
  for (let r = 0; r < reps; r++) {
    // Alternating: the plain line read (the floor: both passes read the file once each), then the import.
    let t = performance.now();
    await eachLine(log, () => { n++; });
    await eachLine(log, () => { n++; });
    read.push(performance.now() - t);
    t = performance.now();
    const sum = await importLog(log, join(dir, 'bench-import.iotrace'), QEMU);
    ms.push(performance.now() - t);
    events = sum.events;
    // The baseline of the same run: the Chrome-JSON export of the trace just imported.
    chrome.push(chromeExport(sum.path, join(dir, 'bench-import.json')));
  }
  const m = median(ms);
  const c = median(chrome);
  const f = { lines: n / (2 * reps), events, bytes, ms: m, readMs: median(read), linesPerS: (n / (2 * reps)) / (m / 1000), eventsPerS: events / (m / 1000), chromeMs: c, chromeEventsPerS: events / (c / 1000) };
  console.log(`import qemu: ${f.lines} lines (${(bytes / 1e6).toFixed(1)} MB) -> ${events} events in ${m.toFixed(0)} ms (median of ${reps}): `
    + `${(f.linesPerS / 1e3).toFixed(0)} k lines/s, ${(f.eventsPerS / 1e3).toFixed(0)} k events/s; reading the file twice line by line ${f.readMs.toFixed(0)} ms`);
  console.log(`export --format chrome of that trace: ${c.toFixed(0)} ms, ${(f.chromeEventsPerS / 1e3).toFixed(0)} k events/s; import / chrome export ${(f.eventsPerS / f.chromeEventsPerS).toFixed(2)}x`);
  return f;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { lines: { type: 'string' }, reps: { type: 'string' } } });
  const dir = mkdtempSync(join(tmpdir(), 'iotrace-bench-import-'));
  try {
    console.log(`node ${process.version}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    await importBench(Number(values.lines ?? 1_000_000), Number(values.reps ?? 5), dir);
    console.log(`load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
