// The status area, two rows: where the cursor is and what is open, the most
// important first (an 80-column terminal keeps the position and the fault
// counts; the file name goes first when room runs out); then the prompt, a
// message, or the keys that matter in the focused pane.
import { basename } from 'node:path';
import { fit, paint } from './format.js';

export interface StatusInfo {
  trace: string;
  scenario: string;
  variant: string;
  cursor: number;
  count: number;
  tick: number | null;
  /** The scenario step of the cursor's event (-1: platform set-up), null when unreadable. */
  step: number | null;
  thread: string | null;
  firstFault: number | null;
  faults: number;
  violations: number;
  /** '' when the footer's claims were checked against the events, else what is known of them. */
  claims: string;
  filter: string | null;
  search: string | null;
  /** Breakpoints on, when they are not just the default "any fault". */
  breakpoints: number | null;
  countPrefix: string;
  playing: { speed: number; dir: 1 | -1 } | null;
  pane: string;
}

/** Each part in its full and its short form, most important first. */
function parts(s: StatusInfo): [string, string][] {
  const step = s.step === null ? '' : s.step < 0 ? ' · set-up' : ` · scenario step ${s.step}`;
  const out: [string, string][] = [
    [`event #${s.count === 0 ? '-' : s.cursor}/${s.count}${step}${s.thread ? ` · ${s.thread}` : ''}${s.tick !== null ? ` · t${s.tick}` : ''}`,
      `#${s.count === 0 ? '-' : s.cursor}/${s.count}${s.step === null ? '' : s.step < 0 ? ' setup' : ` s${s.step}`}${s.thread ? ` ${s.thread}` : ''}${s.tick !== null ? ` t${s.tick}` : ''}`],
    [`${s.faults}F ${s.violations}V${s.firstFault !== null ? ` · first fault #${s.firstFault}` : ' · no fault'}`, `${s.faults}F ${s.violations}V`],
  ];
  if (s.playing !== null) {
    const sp = s.playing.speed === 0 ? 'max' : `${s.playing.speed}/s`;
    out.push([`${s.playing.dir === 1 ? '▶' : '◀'} playing ${sp} — any key stops`, `${s.playing.dir === 1 ? '▶' : '◀'} ${sp}`]);
  }
  if (s.countPrefix) out.push([`count ${s.countPrefix}`, `×${s.countPrefix}`]);
  if (s.claims) out.push([s.claims, s.claims]);
  if (s.search) out.push([`search: ${s.search} (n/N)`, `/${s.search}`]);
  if (s.filter) out.push([`filter: ${s.filter}`, `t:${s.filter}`]);
  if (s.breakpoints !== null) out.push([`${s.breakpoints} breakpoint${s.breakpoints === 1 ? '' : 's'}`, `${s.breakpoints}b`]);
  out.push([`${s.scenario} [${s.variant}]`, s.scenario], [basename(s.trace), '']);
  return out;
}

export function statusRows(s: StatusInfo, width: number, second: { prompt?: string; promptWarn?: boolean; message?: string; error?: boolean; hints: string }): [string, string] {
  const ps = parts(s);
  const shown = ps.map((p) => p[0]);
  const join = (): string => ` ${shown.filter(Boolean).join(' │ ')}`;
  // Too wide: the least important parts take their short form first (the file name goes), so
  // the position, the counts and the markers of what is active stay on screen.
  for (let i = ps.length - 1; i >= 0 && join().length > width; i--) shown[i] = (ps[i] as [string, string])[1];
  const top = paint(fit(join(), width), 'inverse');
  let bottom: string;
  if (second.prompt !== undefined) bottom = paint(fit(second.prompt, width), ...(second.promptWarn ? ['red-fg'] : []), 'bold');
  else if (second.message) bottom = paint(fit(` ${second.message}`, width), second.error ? 'red-fg' : 'green-fg', 'bold');
  else bottom = paint(fit(` [${s.pane}] ${second.hints}`, width));
  return [top, bottom];
}
