// iotrace export: JSON lines, or Chrome trace-event JSON for Perfetto /
// chrome://tracing. Streams chunk by chunk, so memory stays flat.
import { summarize } from '../../engine/summary.js';
import type { TraceEvent } from '../../engine/types.js';
import { jsonText } from '../../safe/escape.js';
import { AtomicFile, refuseSameFile, withSignalCleanup } from '../../safe/files.js';
import { write } from '../../safe/stdout.js';
import { parse, UsageError } from '../common.js';
import { openForCli } from '../trace.js';

export const HELP = `usage: iotrace export <trace> --format jsonl|chrome [-o file]

jsonl: one event per line, as JSON. chrome: Chrome trace-event JSON that the
Perfetto UI (ui.perfetto.dev) and chrome://tracing open: one track per IOMMU,
per device (RID), per vCPU and one for the kernel; one microsecond per step
sequence number; faults and violations are instant events. Writes to stdout
unless -o is given. With -o the output is written under a temporary name in
the same folder and renamed when whole, so the name never holds a partial
export; -o must be a regular file or a new name (not a symlink, a device, a
FIFO or a directory) and never the input trace. Strings are exact JSON with
controls, C1, U+2028/U+2029 and bidi controls written as \\uXXXX.`;

/** Tracks: pid groups by component, tid by instance, named with metadata events. */
class Tracks {
  private readonly ids = new Map<string, [number, number]>();
  readonly meta: object[] = [];
  private static readonly PIDS: Record<string, [number, string]> = { iommu: [1, 'IOMMU'], device: [2, 'devices'], cpu: [3, 'CPU'], kernel: [4, 'kernel'] };

  of(ev: TraceEvent): [number, number] {
    const f = ev as unknown as Record<string, unknown>;
    let group = 'kernel';
    let name = 'kernel';
    if (ev.kind === 'enqcmd' || ev.kind === 'msr-write' || ev.kind === 'kvm-pasid-map') { group = 'cpu'; name = `${String(f.vm ?? 'host')} vCPU${String(f.vcpu ?? '')}`.trim(); }
    else if (typeof f.iommu === 'string') { group = 'iommu'; name = f.iommu; }
    else if (typeof f.rid === 'string' && ev.kind !== 'ioctl' && ev.kind !== 'kcall') { group = 'device'; name = f.rid; }
    const key = `${group}/${name}`;
    let id = this.ids.get(key);
    if (!id) {
      const [pid, pname] = Tracks.PIDS[group] ?? [4, 'kernel'];
      if (![...this.ids.values()].some(([p]) => p === pid)) this.meta.push({ ph: 'M', name: 'process_name', pid, tid: 0, args: { name: pname } });
      id = [pid, this.ids.size + 1];
      this.ids.set(key, id);
      this.meta.push({ ph: 'M', name: 'thread_name', pid, tid: id[1], args: { name } });
    }
    return id;
  }
}

function chromeEvent(ev: TraceEvent, [pid, tid]: [number, number]): object {
  const args = { ...ev, summary: summarize(ev) };
  if (ev.kind === 'fault' || ev.kind === 'violation' || ev.kind === 'expect') return { name: `${ev.kind}: ${summarize(ev)}`, cat: ev.kind, ph: 'i', s: 'p', ts: ev.seq, pid, tid, args };
  return { name: ev.kind, cat: ev.kind, ph: 'X', ts: ev.seq, dur: 1, pid, tid, args };
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { format: { type: 'string' }, output: { type: 'string', short: 'o' } }, 1);
  if (values.help) { console.log(HELP); return 0; }
  if (values.format !== 'jsonl' && values.format !== 'chrome') throw new UsageError('--format must be jsonl or chrome');
  const input = positionals[0];
  if (values.output !== undefined && input !== undefined) refuseSameFile(input, values.output);
  const r = openForCli(input);
  try {
    // -o: a temporary file renamed onto the name when whole (safe/files.ts); stdout otherwise (EPIPE ends quietly).
    const file = values.output !== undefined ? new AtomicFile(values.output) : null;
    const put = file ? async (s: string): Promise<void> => file.write(Buffer.from(s)) : write;
    return await withSignalCleanup(async () => {
      try {
        const tracks = new Tracks();
        const chrome = values.format === 'chrome';
        if (chrome) await put('{"displayTimeUnit":"ns","traceEvents":[\n');
        let first = true;
        for (let n = 0; n < r.count; n += 4096) {
          const lines: string[] = [];
          for (const ev of r.events(n, n + 4096)) lines.push(jsonText(chrome ? chromeEvent(ev, tracks.of(ev)) : ev));
          if (lines.length) { await put(`${chrome && !first ? ',\n' : ''}${lines.join(chrome ? ',\n' : '\n')}${chrome ? '' : '\n'}`); first = false; }
          // Let a signal handler run (it removes the temporary file) on a long export.
          if (file) await new Promise((res) => setImmediate(res));
        }
        if (chrome) await put(`${first ? '' : ',\n'}${tracks.meta.map((m) => jsonText(m)).join(',\n') || '{"ph":"M","name":"process_name","pid":4,"tid":0,"args":{"name":"kernel"}}'}\n]}\n`);
        file?.commit();
        return 0;
      } catch (e) {
        file?.abort();
        throw e;
      }
    });
  } finally {
    r.close();
  }
}
