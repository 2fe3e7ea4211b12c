// verify on an imported trace (importers/): there is no scenario to re-run,
// so it checks what can be checked and says what cannot. Always: every
// block's checksum and SHA-256, the footer's counts, every checkpoint. With
// --source <log>: that the log is the one imported (its SHA-256) and that
// importing it again gives the same events, byte for byte.
import { isDeepStrictEqual } from 'node:util';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { summarize } from '../engine/summary.js';
import type { TraceEvent } from '../engine/types.js';
import { FORMATS } from '../importers/formats.js';
import { importLog } from '../importers/import.js';
import { checkTrace } from '../replayer/check.js';
import { type EventDifference, firstDifference } from '../replayer/first-difference.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { escapeText, jsonText } from '../safe/escape.js';
import { TempDir, withSignalCleanup } from '../safe/files.js';
import type { ImportSource } from '../trace/header.js';
import { headerClaims } from '../replayer/header-claims.js';
import { importedLines } from './imported.js';
import { paint } from './term.js';
import { fieldsText, UsageError } from './common.js';

interface Divergence { step: number; trace: string | null; reimport: string | null; fields: string[] }

interface Result {
  ok: boolean; strongHashes: boolean; imported: ImportSource; events: number; claims: string[];
  source: null | { path: string; sha256: string; matches: boolean; divergence: Divergence | null };
  unchecked: string[];
}

/** Fields of the header's account of its log that a re-import may differ in honestly (the log copied under another name). */
const RENAMABLE = new Set(['file']);
const shown = (v: unknown): string => { const t = JSON.stringify(v) ?? 'nothing'; return t.length > 120 ? `${t.slice(0, 117)}...` : t; };

/**
 * The header's account of the log (lines, forms, skipped names, malformed
 * lines, traced sections: info prints them, state's "unknown" sections come
 * from `traced`) and the platform inferred from it, against what importing
 * the same log again says: each difference is a false claim.
 */
function headerDifferences(mine: TraceReplayer, again: TraceReplayer): string[] {
  const a = mine.header.imported as unknown as Record<string, unknown>;
  const b = (again.header.imported ?? {}) as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!RENAMABLE.has(k) && !isDeepStrictEqual(a[k], b[k])) out.push(`header says the log's ${k} is ${shown(a[k])}; importing it again gives ${shown(b[k])}`);
  }
  if (!isDeepStrictEqual(mine.header.scenario.platform, again.header.scenario.platform)) out.push("header's platform (the IOMMUs and devices inferred from the log) is not the one importing it again infers");
  return out;
}

const divergence = (d: EventDifference | null): Divergence | null => (d ? { step: d.step, trace: line(d.a), reimport: line(d.b), fields: d.fields } : null);
const line = (ev: TraceEvent | null): string | null => (ev ? `${ev.kind}: ${summarize(ev)}` : null);

export async function verifyImported(r: TraceReplayer, imported: ImportSource, sourcePath: string | undefined, json: boolean): Promise<number> {
  const check = checkTrace(r, true);
  const res: Result = { ok: true, strongHashes: r.strongHashes, imported, events: r.count, claims: [...headerClaims(r.header, check.traced), ...check.problems.filter((p) => !p.startsWith('damaged:'))], source: null, unchecked: [] };
  if (sourcePath !== undefined) {
    // As `iotrace import` does: a FIFO would block the open, /dev/zero would be read for ever.
    let st;
    try { st = statSync(sourcePath); } catch (e) {
      throw new UsageError(`${sourcePath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (!st.isFile()) throw new UsageError(`${sourcePath}: not a regular file`);
    // Removed when done, and on Ctrl-C / SIGTERM during the re-import (withSignalCleanup).
    const dir = new TempDir('iotrace-verify-');
    try {
      const again = await withSignalCleanup(() => importLog(sourcePath, join(dir.path, 'reimport.iotrace'), FORMATS[imported.tool]));
      const matches = again.source.sha256 === imported.sha256;
      const other = TraceReplayer.open(again.path);
      try {
        res.source = { path: sourcePath, sha256: again.source.sha256, matches, divergence: matches ? divergence(firstDifference(r, other)) : null };
        if (matches) res.claims.push(...headerDifferences(r, other));
      } finally {
        other.close();
      }
    } finally {
      dir.remove();
    }
  } else {
    res.unchecked.push('that the events are what the source log says: no scenario to re-run; give the log with --source to import it again and compare');
  }
  res.ok = res.claims.length === 0 && r.truncated === null && (res.source === null || (res.source.matches && res.source.divergence === null));
  const code = res.ok ? 0 : 1;
  if (json) { console.log(jsonText(res)); return code; }
  for (const line of importedLines(imported, res.source?.matches === true)) console.log(line);
  if (r.truncated) console.log(`${paint('DAMAGED', 'red')}: ${r.count} events read back; stopped at byte ${r.truncated.offset}: ${escapeText(r.truncated.reason)}`);
  for (const p of res.claims) console.log(`${paint('FALSE CLAIM', 'red')}: ${escapeText(p)}`);
  if (res.claims.length === 0 && !r.truncated) console.log(`checked    every block's checksum${r.strongHashes ? ' and SHA-256' : ' (CRC-32 only: format 1 has no SHA-256 digests)'}, the footer's counts and every checkpoint agree with the ${r.count} events`);
  const s = res.source;
  if (s && !s.matches) console.log(`${paint('NOT THE SOURCE', 'red')}: ${escapeText(s.path)} has sha256 ${s.sha256}; the trace was imported from ${escapeText(imported.file)} with sha256 ${escapeText(imported.sha256)}`);
  else if (s?.divergence) {
    console.log(paint(`DIVERGES at step ${s.divergence.step}`, 'red'));
    console.log(`  trace:     ${s.divergence.trace === null ? '(trace ends here)' : escapeText(s.divergence.trace)}`);
    console.log(`  re-import: ${s.divergence.reimport === null ? '(re-import ends here)' : escapeText(s.divergence.reimport)}`);
    // Two events that differ only in their source line or tick summarise alike: the fields say where they part.
    if (s.divergence.trace !== null && s.divergence.reimport !== null) console.log(`  fields:    ${fieldsText(s.divergence.fields)}`);
  } else if (s) console.log(`checked    ${escapeText(s.path)} is the source (same SHA-256) and importing it again gives the same ${r.count} events`);
  for (const u of res.unchecked) console.log(`unchecked  ${u}`);
  if (res.ok) console.log(`${paint('ok', 'green')}: every check that can be made holds`);
  return code;
}
