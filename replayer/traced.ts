// Which state sections an imported trace's log traced, from its events. The
// header's `imported.traced` (importers/import.ts) is a claim a forged header
// can falsify: listing a section the events never write presents an empty
// section as known-empty, dropping one they write presents its cells as
// unknown. state, the TUI, info and verify take the list from here, and the
// header's list is compared with it.
import type { Touch } from '../engine/apply.js';
import { SECTION_NAMES } from '../engine/state.js';
import type { SectionName, TraceEvent } from '../engine/types.js';

/** The sections the events write, and whether every event was applied (damage stops the pass early). */
export interface Traced { sections: SectionName[]; complete: boolean }

/** Sections the platform event installs: for an imported trace, inferred from the log's names, so never unknown. */
const PLATFORM_SECTIONS: ReadonlySet<SectionName> = new Set(['host', 'iommu', 'device', 'ioasid-set']);

/**
 * Collects the sections apply() touches, as the importer's first pass does:
 * every event but the platform event the importer writes first (that one
 * installs what the log names, not what it traced). Fed by the pass that
 * already applies every event (replayer/check.ts).
 */
export class TracedSections {
  private readonly seen = new Set<SectionName>();
  private counting = false;

  /** Call before `ev` is applied. */
  next(ev: TraceEvent): void { this.counting = !(ev.seq === 0 && ev.kind === 'platform'); }

  readonly touch: Touch = (section) => { if (this.counting) this.seen.add(section); };

  result(complete: boolean): Traced { return { sections: SECTION_NAMES.filter((s) => this.seen.has(s)), complete }; }
}

/** The sections neither the log traced nor the platform names: unknown, not empty. */
export const unknownSections = (t: Traced): SectionName[] => SECTION_NAMES.filter((s) => !t.sections.includes(s) && !PLATFORM_SECTIONS.has(s));

/** The line state and the TUI show for them (section names are the engine's own: no escaping needed). */
export function unknownText(t: Traced): string {
  const unknown = unknownSections(t);
  const list = unknown.length > 0 ? unknown.join(', ') : '(none)';
  return `not in the log, so unknown (not empty): ${list}${t.complete ? '' : ' (from the events before the damage; the rest are unread)'}`;
}

const listed = (xs: readonly string[]): string => (xs.length > 0 ? xs.join(', ') : '(none)');

/**
 * The false claim in the header's list, or null. A pass stopped by damage
 * cannot disprove a section the header lists (an unread event may write it),
 * only show one the events read back write that the header leaves out.
 */
export function tracedClaim(header: readonly string[], t: Traced): string | null {
  const claimed = new Set(header);
  const missing = t.sections.filter((s) => !claimed.has(s));
  const extra = [...claimed].filter((s) => !(t.sections as readonly string[]).includes(s));
  if (missing.length === 0 && (extra.length === 0 || !t.complete)) return null;
  return `header says the traced sections are ${listed(header)}; the events ${t.complete ? '' : 'read back '}write ${listed(t.sections)}`;
}
