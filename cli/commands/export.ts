// iotrace export: JSON lines, Chrome trace-event JSON or a native Perfetto
// trace (exporters/). Streams a batch at a time, so memory stays flat.
import { exportTrace, type Format, FORMATS } from '../../exporters/export.js';
import { ExportError } from '../../exporters/timeline.js';
import { escapeText } from '../../safe/escape.js';
import { AtomicFile, refuseSameFile, withSignalCleanup } from '../../safe/files.js';
import { write } from '../../safe/stdout.js';
import { parse, UsageError } from '../common.js';
import { Progress } from '../term.js';
import { intArg, openForCli } from '../trace.js';
import { kindFlags } from './events.js';

export const HELP = `usage: iotrace export <trace> [--format jsonl|chrome|perfetto] [-o file]
                     [--from N] [--to N] [--kind K]...

jsonl (the default): one event per line, as JSON (docs/events.md).
perfetto: a native Perfetto trace (protobuf TrackEvents; open it in
ui.perfetto.dev): a track group per IOMMU (its PASID table, invalidation
queue, IOTLB, PASID cache), per device (DMA and its faults, ATC, config
space), per VM (a track per vCPU, KVM, the guest's vIOMMU), the scenario (a
track per thread), the open files (ioctls by fd) and the kernel; slices
named by what they are (IOMMU_HWPT_ALLOC, FAULT 0x59 ...) with their fields
as arguments; counters of IOTLB, ATC and PASID-cache entries and IOASIDs in
use per set; flows from an ioctl through what it caused, and from a PASID
entry's write to each DMA and fault through it; scenario, variant and seed
as metadata. A recorded step lasts 1 us (tick x 1000 ns); an imported
trace keeps its log's timestamps. docs/perfetto.md tells the layout.
chrome: the same timeline as Chrome trace-event JSON (chrome://tracing,
Perfetto's legacy JSON importer).

--from N   first step exported (default 0); --to N: the step after the last
           (default: the end). The state before --from (where the counters
           start, how tracks are named) is built from every event before it,
           never from an unchecked checkpoint
--kind K   only events of that kind or family (as iotrace events --kind);
           repeat or comma-separate; counters stay when a kind that changes
           them is exported

Writes to stdout unless -o is given. With -o the output is written under a
temporary name in the same folder and renamed when whole, so the name never
holds a partial export; -o must be a regular file or a new name (not a
symlink, a device, a FIFO or a directory) and never the input trace.
Progress goes to stderr when it is a terminal. Strings are exact JSON with
controls, C1, U+2028/U+2029 and bidi controls written as \\uXXXX.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    format: { type: 'string' }, output: { type: 'string', short: 'o' }, from: { type: 'string' }, to: { type: 'string' }, kind: { type: 'string', multiple: true },
  }, 1);
  if (values.help) { console.log(HELP); return 0; }
  const format = (values.format ?? 'jsonl') as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be ${FORMATS.join(', ')}; got "${escapeText(String(values.format).slice(0, 40))}"`);
  const kinds = kindFlags(values.kind) ?? null;
  const input = positionals[0];
  if (values.output !== undefined && input !== undefined) refuseSameFile(input, values.output);
  const r = openForCli(input);
  try {
    const from = intArg(values.from, '--from', 0);
    const to = Math.min(r.count, intArg(values.to, '--to', r.count));
    if (from > to && (values.from !== undefined || values.to !== undefined)) throw new UsageError(`--from ${from} is past --to ${to} (the trace has steps 0..${r.count - 1})`);
    if (format === 'perfetto' && values.output === undefined && process.stdout.isTTY) throw new UsageError('a Perfetto trace is binary: give -o FILE or redirect stdout');
    // -o: a temporary file renamed onto the name when whole (safe/files.ts); stdout otherwise (EPIPE ends quietly).
    const file = values.output !== undefined ? new AtomicFile(values.output) : null;
    const put = file
      ? async (s: string | Buffer): Promise<void> => { file.write(typeof s === 'string' ? Buffer.from(s) : s); await new Promise((res) => setImmediate(res)); }
      : write;
    const progress = new Progress('export', to - from, 'events');
    return await withSignalCleanup(async () => {
      try {
        await exportTrace(r, { format, from, to, kinds, progress: (done) => progress.update(done) }, put);
        progress.done();
        file?.commit();
        return 0;
      } catch (e) {
        progress.done();
        file?.abort();
        if (e instanceof ExportError) throw new UsageError(`${escapeText(r.path)}: ${e.message}`);
        throw e;
      }
    });
  } finally {
    r.close();
  }
}
