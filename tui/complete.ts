// Tab completion candidates for the prompts: event kinds and families, the
// search fields, the trace's RIDs (its platform), the ioctls and threads its
// scenario names, and the goto forms.
import { EVENT_KINDS } from '../engine/summary.js';
import { threadNames, type Scenario } from '../engine/scenario.js';
import { FAMILIES } from '../replayer/search.js';

const FIELDS = ['kind:', 'rid:', 'pasid:', 'cmd:', 'thread:'];

/** RIDs of the platform's devices, lower case. */
function rids(sc: Scenario): string[] {
  const devs = Array.isArray(sc.platform?.devices) ? sc.platform.devices : [];
  return devs.map((d) => (typeof d?.rid === 'string' ? d.rid.toLowerCase() : '')).filter(Boolean);
}

/** ioctl names the scenario's steps call (cmd fields), sorted. */
function ioctls(sc: Scenario): string[] {
  const out = new Set<string>();
  const steps = [...(sc.steps ?? []), ...Object.values(sc.threads ?? {}).flat()];
  for (const s of steps) if (typeof s?.cmd === 'string') out.add(s.cmd);
  return [...out].sort();
}

export function kindWords(): string[] { return [...FAMILIES, ...EVENT_KINDS]; }

/** Candidates for a search (or breakpoint) word: `rid:` completes to the RIDs, `kind:` to kinds, a bare word to anything. */
export function searchWords(sc: Scenario, word: string, breakpoint = false): string[] {
  const m = /^(kind|rid|cmd|thread|pasid)[:=]/i.exec(word);
  const field = m?.[1]?.toLowerCase();
  const sep = m ? word[m[0].length - 1] : ':';
  const withField = (f: string, vs: string[]): string[] => vs.map((v) => `${f}${sep}${v}`);
  if (field === 'kind') return withField('kind', kindWords());
  if (field === 'rid') return withField('rid', rids(sc));
  if (field === 'cmd') return withField('cmd', ioctls(sc));
  if (field === 'thread') return withField('thread', threadNames(sc));
  if (field === 'pasid') return [];
  return [...(breakpoint ? ['any fault', 'any violation'] : []), ...FIELDS, ...kindWords(), ...rids(sc), ...ioctls(sc)];
}

export const GOTO_WORDS = ['first-fault', 'first-violation', 'last'];
