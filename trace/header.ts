// The header block: everything needed to re-run the recording, nothing that
// changes between runs (no time, host or path).
import { Encoder } from '@msgpack/msgpack';
import type { Scenario, Variant } from '../engine/scenario.js';
import { decoder } from './chunk.js';
import { FORMAT_VERSION, showValue, TraceError } from './format.js';

/** What a trace was recorded from: enough to re-run it. */
export interface TraceHeader {
  format: number;
  engine: string;
  scenario: Scenario;
  variant: Variant;
  seed: number;
}

const encoder = new Encoder();

export function encodeHeader(h: TraceHeader): Uint8Array {
  return encoder.encode({ format: h.format, engine: h.engine, scenario: h.scenario, variant: h.variant, seed: h.seed });
}

export function decodeHeader(payload: Uint8Array, offset: number): TraceHeader {
  const bad = (why: string): never => { throw new TraceError(`bad header: ${why}`, offset); };
  let doc: unknown;
  try { doc = decoder.decode(payload); } catch (e) { return bad((e as Error).message); }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return bad('not a map');
  const d = doc as Record<string, unknown>;
  if (d.format !== FORMAT_VERSION) bad(`format version ${showValue(d.format)}, this reader knows ${FORMAT_VERSION}`);
  if (typeof d.engine !== 'string') bad('engine version');
  const sc = d.scenario as Partial<Scenario> | null;
  if (sc === null || typeof sc !== 'object' || typeof sc.name !== 'string' || typeof sc.platform !== 'object' || !Array.isArray(sc.steps)) bad('scenario');
  const variant = d.variant;
  if (variant === null || typeof variant !== 'object' || Array.isArray(variant) || Object.values(variant).some((v) => typeof v !== 'string')) bad('variant');
  if (typeof d.seed !== 'number' || !Number.isInteger(d.seed) || d.seed < 0) bad('seed');
  return { format: FORMAT_VERSION, engine: d.engine as string, scenario: sc as Scenario, variant: variant as Record<string, string>, seed: d.seed as number };
}
