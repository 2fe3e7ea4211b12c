// A log file in, a trace file out: importers/ -> recorder/'s writer -> trace/.
// Two passes over the file, both streaming: the first applies every event to
// a scratch state to learn the platform (IOMMUs and devices the lines name)
// and what the header says of the source (SHA-256, forms, skipped and
// malformed lines); the second writes the platform event, then the same
// events, through the writer, which renames the trace into place only when whole.
import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import { ENGINE_VERSION } from '../engine/run.js';
import { platformProblems } from '../engine/validate.js';
import { emptyState, SECTION_NAMES } from '../engine/state.js';
import type { IommuSpec, Platform, SectionName, TraceEvent } from '../engine/types.js';
import { TraceWriter, type WriteSummary } from '../recorder/writer.js';
import { FORMAT_VERSION } from '../trace/format.js';
import type { ImportSource } from '../trace/header.js';
import { Ctx, LineError, MAX_RAW, type Handler, type Prefix } from './ctx.js';
import { FieldError, MAX_ARGS, readFields } from './format.js';
import { eachLine } from './lines.js';

/** A log format: how a line's prefix reads, which lines are headers, and the handlers by event name. */
export interface LogFormat {
  tool: ImportSource['tool'];
  /** A parser for one pass over a file: the prefix of an event line, or a LineError; null for a header or a comment. */
  prefixer(): (text: string) => Prefix | null;
  handlers: Readonly<Record<string, Handler>>;
  /** The IOMMU a device sits behind when no line names one, or null: then such a device is left out of the platform. */
  defaultIommu: { name: string; kind: IommuSpec['kind'] } | null;
}

/** Malformed lines kept by number in the header. */
const MALFORMED_KEPT = 20;
/** Event names the header counts one by one; lines of any further name are counted under OTHER_NAMES. */
export const MAX_SKIPPED_NAMES = 500;
export const OTHER_NAMES = '(other names)';

/** What one pass over the file learns of it. */
type Seen = Omit<ImportSource, 'file' | 'sha256' | 'bytes' | 'traced'>;

async function pass(path: string, fmt: LogFormat, ctx: Ctx, onBytes?: (b: Buffer) => void): Promise<Seen> {
  const skipped: Record<string, number> = Object.create(null) as Record<string, number>;
  const forms = new Set<string>();
  const malformedLines: ImportSource['malformedLines'] = [];
  let malformed = 0;
  let lines = 0;
  let t0: bigint | null = null;
  let t0Text: string | null = null;
  const prefix = fmt.prefixer();
  const bad = (line: number, why: string): void => {
    malformed++;
    if (malformedLines.length < MALFORMED_KEPT) malformedLines.push({ line, why: why.length > 200 ? `${why.slice(0, 200)}...` : why });
  };
  await eachLine(path, ({ n, text, tooLong }) => {
    lines = n;
    if (tooLong) { bad(n, `longer than the longest line a trace tool writes (cut at 64 KiB)`); return; }
    if (text.trim() === '') return;
    let p: Prefix | null;
    try { p = prefix(text); } catch (e) {
      if (e instanceof LineError) { bad(n, e.message); return; }
      throw e;
    }
    if (p === null) return;
    forms.add(p.form);
    if (p.ns !== null && t0 === null) { t0 = p.ns; t0Text = p.tsText; }
    const h = Object.hasOwn(fmt.handlers, p.event) ? fmt.handlers[p.event] : undefined;
    if (!h) {
      // A file of ever new names (not a real log) must not grow the header without bound: the rest are counted together.
      const name = Object.hasOwn(skipped, p.event) || Object.keys(skipped).length < MAX_SKIPPED_NAMES ? p.event : OTHER_NAMES;
      skipped[name] = (skipped[name] ?? 0) + 1;
      return;
    }
    const raw = text.length > MAX_RAW ? `${text.slice(0, MAX_RAW - 1)}…` : text;
    ctx.begin({
      line: n, ts: p.ns !== null && t0 !== null ? Number(p.ns - t0) : null, raw,
      ...(p.pid !== undefined ? { pid: p.pid } : {}), ...(p.cpu !== undefined ? { cpu: p.cpu } : {}), ...(p.task !== undefined ? { task: p.task } : {}),
    });
    if (p.args.length > MAX_ARGS) { bad(n, `${p.event}: ${p.args.length} characters of arguments, more than its format prints (at most ${MAX_ARGS})`); return; }
    let fields = null;
    for (const m of h.formats) if ((fields = readFields(m, p.args)) !== null) break;
    if (fields === null) { bad(n, `${p.event}: the arguments do not read as its format (${JSON.stringify(p.args.slice(0, 120))})`); return; }
    if (!h.takes) ctx.release();
    try { h.run(fields, ctx); } catch (e) {
      if (e instanceof FieldError || e instanceof LineError) { bad(n, e.message); return; }
      throw e;
    }
  }, onBytes);
  ctx.releaseAll();
  return { tool: fmt.tool, lines, forms: [...forms].sort(), t0: t0Text, skipped: { ...skipped }, folded: ctx.folded, malformed, malformedLines };
}

/** The platform the first pass met: every IOMMU named, every device behind its IOMMU (or the format's default). */
function platformOf(ctx: Ctx, fmt: LogFormat): Platform {
  const iommus = new Map(ctx.iommus);
  const first = [...iommus.keys()][0];
  const devices = [...ctx.devices].flatMap(([rid, iommu]) => {
    const at = iommu ?? first ?? fmt.defaultIommu?.name;
    if (at === undefined) return [];
    if (!iommus.has(at)) iommus.set(at, fmt.defaultIommu?.kind ?? 'vtd');
    return [{ rid, iommu: at }];
  });
  return { iommus: [...iommus].map(([id, kind]) => ({ id, kind })), devices };
}

/** SHA-256 and size of the blocks it is fed. */
function hasher(): { update: (b: Buffer) => void; hex: () => string; bytes: () => number } {
  const h = createHash('sha256');
  let n = 0;
  return { update: (b) => { h.update(b); n += b.length; }, hex: () => h.digest('hex'), bytes: () => n };
}

export interface ImportSummary extends WriteSummary { source: ImportSource }

/** Import the log at `input` into a trace at `output`. */
export async function importLog(input: string, output: string, fmt: LogFormat, onProgress?: (line: number) => void): Promise<ImportSummary> {
  // The sections the log's events write: the rest of the state is not in the log (unknown, not empty).
  const traced = new Set<SectionName>();
  const first = new Ctx(emptyState(), (section) => { traced.add(section); });
  const sum1 = hasher();
  const seen = await pass(input, fmt, first, sum1.update);
  const source: ImportSource = { ...seen, traced: SECTION_NAMES.filter((s) => traced.has(s)), file: basename(input), sha256: sum1.hex(), bytes: sum1.bytes() };
  const platform = platformOf(first, fmt);
  // The writer obeys the reader: a platform every reader refuses (a log naming 70 000 IOMMUs) would make
  // event 0 damage, so the whole trace would read back empty. Refused before a byte is written.
  const problem = platformProblems(platform)[0];
  if (problem !== undefined) throw new LineError(`the log names a platform no trace can hold (${problem}): ${platform.iommus.length} IOMMU(s), ${platform.devices.length} device(s)`);
  const scenario = { name: `${fmt.tool}:${source.file}`, description: `imported from ${fmt.tool} log ${source.file} (sha256 ${source.sha256})`, platform, steps: [] };
  const writer = new TraceWriter(output, { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario, variant: {}, seed: 0, imported: source });
  try {
    const state = emptyState();
    writer.attach(state);
    const every = 1 << 16;
    const ctx = new Ctx(state, writer.touch, (ev: TraceEvent) => {
      writer.pushApplied(ev);
      if (onProgress && writer.events % every === 0) onProgress(ev.tick);
    });
    ctx.platform({ kind: 'platform', platform });
    const sum2 = hasher();
    await pass(input, fmt, ctx, sum2.update);
    // The header's SHA-256 must be of the bytes the events were read from.
    if (sum2.hex() !== source.sha256) throw new LineError(`${source.file} changed while it was being imported; import it again once it is complete`);
    return { ...writer.finish(), source };
  } catch (e) {
    writer.abort();
    throw e;
  }
}
