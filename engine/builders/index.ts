// Builders of sized scenarios: (params, prng) -> steps, produced lazily so a
// 10 M-event workload never sits in memory. Registered by name; a trace stores
// the name and the params, never the steps.
import type { Prng } from '../prng.js';
import type { Step } from '../scenario.js';
import { stress } from './stress.js';

export type Builder = (params: Record<string, number>, prng: Prng) => Iterable<Step>;

export const BUILDERS: Record<string, Builder> = { stress };
