// The status area, two rows: what is open and where the cursor is; then the
// prompt, a message, or the keys that matter in the focused pane.
import { basename } from 'node:path';
import { fit, paint } from './format.js';

export interface StatusInfo {
  trace: string;
  scenario: string;
  variant: string;
  cursor: number;
  count: number;
  tick: number | null;
  firstFault: number | null;
  faults: number;
  violations: number;
  /** '' when the footer's claims were checked against the events, else what is known of them. */
  claims: string;
  filter: string | null;
  search: string | null;
  countPrefix: string;
  playing: number | null;
  pane: string;
}

export function statusRows(s: StatusInfo, width: number, second: { prompt?: string; message?: string; error?: boolean; hints: string }): [string, string] {
  const parts = [
    basename(s.trace),
    `${s.scenario} [${s.variant}]`,
    `step ${s.count === 0 ? '-' : s.cursor} / ${s.count}${s.tick !== null ? ` t${s.tick}` : ''}`,
    s.firstFault !== null ? `first fault ${s.firstFault}` : 'no fault',
    `${s.faults}F ${s.violations}V`,
  ];
  if (s.claims) parts.push(s.claims);
  if (s.filter) parts.push(`filter: ${s.filter}`);
  if (s.search) parts.push(`search: ${s.search} (n/N)`);
  if (s.playing !== null) parts.push(`▶ playing ${s.playing === 0 ? 'max' : `${s.playing}/s`} — any key stops`);
  if (s.countPrefix) parts.push(`count ${s.countPrefix}`);
  const top = paint(fit(` ${parts.join(' │ ')}`, width), 'inverse');
  let bottom: string;
  if (second.prompt !== undefined) bottom = paint(fit(second.prompt, width), 'bold');
  else if (second.message) bottom = paint(fit(` ${second.message}`, width), second.error ? 'red-fg' : 'green-fg', 'bold');
  else bottom = paint(fit(` [${s.pane}] ${second.hints}`, width));
  return [top, bottom];
}
