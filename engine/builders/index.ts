// Builders of sized scenarios: (params, prng) -> steps, produced lazily so a
// 10 M-event workload never sits in memory. Registered by name; a trace stores
// the name and the params, never the steps.
import type { Prng } from '../prng.js';
import type { Step } from '../scenario.js';
import { MAX_SCALE } from '../limits.js';
import { stress } from './stress.js';

export type Builder = (params: Record<string, number>, prng: Prng) => Iterable<Step>;

export const BUILDERS: Record<string, Builder> = { stress };

/** Each builder's parameters and their bounds: the validator refuses any other parameter or value. */
export const BUILDER_PARAMS: Record<string, Record<string, { min: number; max: number; doc: string }>> = {
  stress: { scale: { min: 0, max: MAX_SCALE, doc: 'about that many events' } },
};
