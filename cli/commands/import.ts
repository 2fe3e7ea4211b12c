// iotrace import: a real QEMU trace log or kernel ftrace text into a trace
// that info, events, state, replay, diff and export read like a recorded one.
import { basename } from 'node:path';
import { statSync } from 'node:fs';
import { FORMATS } from '../../importers/formats.js';
import { importLog } from '../../importers/import.js';
import { ImportLimitError, LineError } from '../../importers/ctx.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { refuseSameFile, withSignalCleanup } from '../../safe/files.js';
import { insideDir, slug } from '../../safe/slug.js';
import { println } from '../../safe/stdout.js';
import { parse, UsageError } from '../common.js';
import { shellWord } from '../paths.js';
import { paint, Progress } from '../term.js';

export const HELP = `usage: iotrace import qemu|ftrace <log> [-o out.iotrace] [--json]

Reads a real trace and writes it as an iotrace trace (docs/import.md says
which events map to what):
  qemu    QEMU's "log" trace backend (-trace 'vtd_*' -trace 'smmu*'
          -trace 'iommufd*' -D file), with or without the
          <tid>@<sec>.<usec>: prefix or an ISO-8601 time before each line;
  ftrace  a tracefs trace file or trace-cmd report output of the
          intel_iommu (qi_submit, prq_report, cache_tag_*) and iommu
          (map, unmap, io_page_fault, attach_device_to_domain) events.
Every event keeps its source line (number, text, time); the trace's header
names the tool, the file and its SHA-256. Lines of events the importer does
not map are counted by name, malformed lines are reported by number and
skipped; neither stops the import. Without -o the trace goes to the current
folder as <log>.iotrace. The trace is written under a temporary name and
renamed when whole. Exit 0, 2 on bad usage or an unreadable file.`;

/** Skipped event names shown (the rest are counted in one line). */
const SHOWN = 12;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' }, json: { type: 'boolean' } }, 2);
  if (values.help) { console.log(HELP); return 0; }
  const [tool = '', input = ''] = positionals;
  const fmt = Object.hasOwn(FORMATS, tool) ? FORMATS[tool as keyof typeof FORMATS] : undefined;
  if (!fmt) throw new UsageError(`import takes qemu or ftrace, got "${tool.slice(0, 40)}"`);
  let st;
  try { st = statSync(input); } catch (e) {
    throw new UsageError(`${input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (!st.isFile()) throw new UsageError(`${input}: not a regular file`);
  // A name from the command line's file never chooses a folder: one safe component in the current one.
  const out = values.output ?? insideDir('.', `${slug(basename(input).replace(/\.(log|txt|trace|dat)$/i, ''), 60)}.iotrace`);
  refuseSameFile(input, out);
  const progress = new Progress('importing', null, 'lines');
  let sum;
  try {
    sum = await withSignalCleanup(() => importLog(input, out, fmt, (line) => progress.update(line)).finally(() => progress.done()));
  } catch (e) {
    if (e instanceof LineError || e instanceof ImportLimitError) throw new UsageError(`${input}: ${e.message}`);
    throw e;
  }
  const s = sum.source;
  if (values.json) {
    await println(jsonText({ path: sum.path, source: s, events: sum.events, kinds: sum.kinds, faults: sum.faults, firstFault: sum.firstFault, bytes: sum.bytes }));
    return 0;
  }
  const skipped = Object.entries(s.skipped).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const skippedLines = skipped.reduce((n, [, c]) => n + c, 0);
  const kinds = Object.entries(sum.kinds).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const lines = [
    `imported ${paint(escapeText(s.file), 'bold')} (${s.tool}, ${s.forms.join(', ') || 'no event lines'}; sha256 ${s.sha256}) to ${escapeText(sum.path)}`,
    `  lines       ${s.lines}${s.t0 ? ` (first timestamp ${escapeText(s.t0)})` : ' (no timestamps)'}`,
    `  events      ${sum.events}: ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`,
    `  faults      ${paint(String(sum.faults), sum.faults ? 'red' : undefined)}${sum.firstFault !== null ? ` (first at step ${sum.firstFault})` : ''}`,
    `  folded      ${s.folded} (lines that restate the event before them)`,
    `  not mapped  ${skippedLines} line(s)${skipped.length ? `: ${skipped.slice(0, SHOWN).map(([k, n]) => `${escapeText(k)} ${n}`).join(', ')}${skipped.length > SHOWN ? `, and ${skipped.length - SHOWN} more event names` : ''}` : ''}`,
    `  malformed   ${paint(String(s.malformed), s.malformed ? 'yellow' : undefined)}${s.malformed ? ' (skipped)' : ''}`,
    ...s.malformedLines.map((m) => `    line ${m.line}: ${escapeText(m.why)}`),
    ...(s.malformed > s.malformedLines.length ? [`    ... and ${s.malformed - s.malformedLines.length} more`] : []),
    `next: iotrace replay ${shellWord(sum.path)}${sum.firstFault !== null ? ' --at first-fault' : ''}`,
  ];
  await println(lines.join('\n'));
  return 0;
}
