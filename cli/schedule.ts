// --schedule guest,guest,vmm: the thread of each scheduling decision of a
// threaded scenario (engine/threads.ts). Shared by run, record and explore.
import type { Scenario } from '../engine/scenario.js';
import { threadNames } from '../engine/threads.js';
import { UsageError } from './common.js';
import { didYouMean } from './suggest.js';

/** Longest schedule a command line may give. */
export const MAX_SCHEDULE = 100_000;

export function scheduleFlag(value: string | undefined, scenario: Scenario): string[] | undefined {
  if (value === undefined) return undefined;
  const names = threadNames(scenario);
  if (names.length === 0) throw new UsageError(`--schedule: scenario ${scenario.name} has no threads`);
  const list = value === '' ? [] : value.split(',');
  if (list.length > MAX_SCHEDULE) throw new UsageError(`--schedule: ${list.length} decisions, more than ${MAX_SCHEDULE}`);
  list.forEach((t, i) => {
    if (!names.includes(t)) throw new UsageError(`--schedule position ${i + 1}: no thread "${t}" (threads: ${names.join(', ')})${didYouMean(t, names)}`);
  });
  return list;
}
