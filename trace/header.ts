// The header block: everything needed to re-run the recording, nothing that
// changes between runs (no time, host or path).
import { Encoder } from '@msgpack/msgpack';
import type { Scenario, Variant } from '../engine/scenario.js';
import { decoder } from './chunk.js';
import { LIMITS, READABLE_VERSIONS, showValue, TraceError } from './format.js';
import { MAX_MSGPACK_DEPTH } from './msgpack-guard.js';

/**
 * Where an imported trace (importers/) was read from: the tool's log format,
 * the source file's base name, size and SHA-256, what the importer could not
 * take in (event names without a mapping, malformed lines) and the first
 * timestamp, which every event's obs.ts counts from. Such a trace has no
 * scenario to re-run: its header's scenario is the platform inferred from the
 * log with no steps.
 */
export interface ImportSource {
  tool: 'qemu' | 'ftrace';
  file: string;
  sha256: string;
  bytes: number;
  lines: number;
  /** Line prefix forms seen: qemu 'tid@sec.usec', 'iso8601', 'bare'; ftrace 'trace', 'trace-cmd'. */
  forms: string[];
  /** The first timestamp as the file printed it, or null when no line had one. */
  t0: string | null;
  /** Event name -> lines the importer has no mapping for (unknown or not modelled). */
  skipped: Record<string, number>;
  /** Lines that restate the event of the line before (QEMU's vtd_inv_desc_* after vtd_inv_desc). */
  folded: number;
  malformed: number;
  /** The first malformed lines: number and why. */
  malformedLines: { line: number; why: string }[];
  /** State sections the log's events write (the platform's aside): the others are not in the log, so unknown rather than empty. */
  traced: string[];
}

/** What a trace was recorded from: enough to re-run it (or, imported, where it was read from). */
export interface TraceHeader {
  format: number;
  engine: string;
  scenario: Scenario;
  variant: Variant;
  seed: number;
  /** Format 2: the writer's events per chunk and K; every chunk and checkpoint interval must keep to them. */
  chunkEvents?: number;
  checkpointEvery?: number;
  /** Present only on an imported trace. */
  imported?: ImportSource;
}

/** How an imported trace is named where a recorded one shows its scenario and variant (status lines, diff sides), or null. */
export const importedTitle = (h: TraceHeader): string | null => (h.imported ? `${h.imported.tool} log ${h.imported.file} (imported)` : null);

const encoder = new Encoder();

export function encodeHeader(h: TraceHeader): Uint8Array {
  return encoder.encode({
    format: h.format, engine: h.engine, scenario: h.scenario, variant: h.variant, seed: h.seed, chunkEvents: h.chunkEvents, checkpointEvery: h.checkpointEvery,
    ...(h.imported ? { imported: h.imported } : {}),
  });
}

/**
 * Why a header could not be read back, or null: the reader's bounds (string
 * length, array and map sizes, nesting, block size) checked before anything
 * is recorded, so the writer never writes what the reader refuses (a note
 * over 1 MiB, more steps than a msgpack array may hold).
 */
export function headerProblem(h: TraceHeader): string | null {
  let elements = 0;
  const walk = (v: unknown, path: string, depth: number): string | null => {
    if (++elements > LIMITS.elements) return `more than ${LIMITS.elements} values`;
    if (depth > MAX_MSGPACK_DEPTH - 4) return `${path}: nested deeper than ${MAX_MSGPACK_DEPTH - 4} levels`;
    if (typeof v === 'string') return v.length > LIMITS.str ? `${path}: a string of ${v.length} characters, more than ${LIMITS.str}` : null;
    if (Array.isArray(v)) {
      if (v.length > LIMITS.chunkEvents * 4) return `${path}: ${v.length} elements, more than ${LIMITS.chunkEvents * 4}`;
      for (let i = 0; i < v.length; i++) { const p = walk(v[i], `${path}[${i}]`, depth + 1); if (p) return p; }
      return null;
    }
    if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length > LIMITS.chunkEvents) return `${path}: ${keys.length} keys, more than ${LIMITS.chunkEvents}`;
      for (const key of keys) { const p = walk((v as Record<string, unknown>)[key], `${path}.${key}`, depth + 1); if (p) return p; }
    }
    return null;
  };
  const problem = walk(h.scenario, 'scenario', 1) ?? (h.imported ? walk(h.imported, 'imported', 1) ?? importedProblem(h.scenario) : null);
  if (problem) return problem;
  const bytes = encodeHeader(h).length;
  return bytes > LIMITS.blockBytes ? `the header would be ${bytes} bytes, more than ${LIMITS.blockBytes}` : null;
}

/**
 * Why a header that says `imported` cannot be an imported trace's, or null.
 * The importer writes the platform alone (no steps, threads or builder): a
 * scenario that could be re-run beside the label would let the label switch
 * verify's re-run off, so reader and writer refuse the pair.
 */
function importedProblem(sc: Scenario): string | null {
  const runnable = [sc.steps.length > 0 ? `${sc.steps.length} step(s)` : '', sc.threads !== undefined ? 'threads' : '', sc.generate !== undefined ? 'a builder' : ''].filter(Boolean);
  return runnable.length > 0 ? `imported: beside a scenario with ${runnable.join(', ')} to run (an imported trace's scenario is the platform alone)` : null;
}

export function decodeHeader(payload: Uint8Array, offset: number): TraceHeader {
  const bad = (why: string): never => { throw new TraceError(`bad header: ${why}`, offset); };
  let doc: unknown;
  try { doc = decoder.decode(payload); } catch (e) { return bad((e as Error).message); }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return bad('not a map');
  const d = doc as Record<string, unknown>;
  if (typeof d.format !== 'number' || !READABLE_VERSIONS.includes(d.format)) bad(`format version ${showValue(d.format)}, this reader knows ${READABLE_VERSIONS.join(', ')}`);
  const format = d.format as number;
  const sizes: { chunkEvents?: number; checkpointEvery?: number } = {};
  if (format >= 2) {
    const ce = d.chunkEvents;
    const k = d.checkpointEvery;
    if (typeof ce !== 'number' || !Number.isInteger(ce) || ce < 1 || ce > LIMITS.chunkEvents) bad('chunkEvents');
    if (typeof k !== 'number' || !Number.isInteger(k) || k < (ce as number) || k % (ce as number) !== 0 || k > LIMITS.chunkEvents * 16) bad('checkpointEvery');
    sizes.chunkEvents = ce as number;
    sizes.checkpointEvery = k as number;
  }
  if (typeof d.engine !== 'string') bad('engine version');
  const sc = d.scenario as Partial<Scenario> | null;
  if (sc === null || typeof sc !== 'object' || typeof sc.name !== 'string' || typeof sc.platform !== 'object' || !Array.isArray(sc.steps)) bad('scenario');
  const variant = d.variant;
  if (variant === null || typeof variant !== 'object' || Array.isArray(variant) || Object.values(variant).some((v) => typeof v !== 'string')) bad('variant');
  if (typeof d.seed !== 'number' || !Number.isInteger(d.seed) || d.seed < 0) bad('seed');
  const imported = d.imported === undefined ? undefined : importSource(d.imported, bad);
  const mixed = imported ? importedProblem(sc as Scenario) : null;
  if (mixed) bad(mixed);
  return { format, engine: d.engine as string, scenario: sc as Scenario, variant: variant as Record<string, string>, seed: d.seed as number, ...sizes, ...(imported ? { imported } : {}) };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The header's `imported` map, each field checked: a forged one is a bad header, never a crash further on. */
function importSource(v: unknown, bad: (why: string) => never): ImportSource {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad('imported: not a map');
  const m = v as Record<string, unknown>;
  if (m.tool !== 'qemu' && m.tool !== 'ftrace') bad('imported.tool');
  for (const f of ['file', 'sha256'] as const) if (typeof m[f] !== 'string') bad(`imported.${f}`);
  for (const f of ['bytes', 'lines', 'folded', 'malformed'] as const) if (!isCount(m[f])) bad(`imported.${f}`);
  for (const f of ['forms', 'traced'] as const) if (!Array.isArray(m[f]) || (m[f] as unknown[]).some((x) => typeof x !== 'string')) bad(`imported.${f}`);
  if (m.t0 !== null && typeof m.t0 !== 'string') bad('imported.t0');
  const skipped = m.skipped;
  if (skipped === null || typeof skipped !== 'object' || Array.isArray(skipped) || Object.values(skipped).some((n) => !isCount(n))) bad('imported.skipped');
  const lines = m.malformedLines;
  if (!Array.isArray(lines) || lines.some((x) => x === null || typeof x !== 'object' || !isCount((x as { line?: unknown }).line) || typeof (x as { why?: unknown }).why !== 'string')) bad('imported.malformedLines');
  return m as unknown as ImportSource;
}
