// iotrace info: what a trace holds, each claim checked against the events.
import { variantText } from '../../engine/scenario.js';
import { adoptCheck, checkTrace } from '../../replayer/check.js';
import { escapeText, jsonText } from '../../safe/escape.js';
import { parse } from '../common.js';
import { withTrace } from '../trace.js';
import { paint } from '../term.js';
import { headerClaims } from '../../replayer/header-claims.js';
import { importedLines } from '../imported.js';

export const HELP = `usage: iotrace info <trace> [--deep] [--json]

Prints the header (scenario, variant, seed, engine and format versions; for
an imported trace the tool, source file, its SHA-256 and what the importer
skipped),
counts per event kind, faults (and the first), violations, bytes, and whether
the trace is whole (then every block's checksum and SHA-256 digest matched
the index and the footer's counts agree with the events) or was recovered
from damage (then where it stopped). The footer is only a cache: info reads
every block and counts the events itself, and says where the footer
disagrees (the counts shown are then the events'). --deep also applies every
event and compares every checkpoint with the state the events build.

Exit 0 when the trace is whole or was recovered from damage, 1 when its
footer or a checkpoint disagrees with its events, its header's variant is
not one its scenario has, or an imported trace's header names other traced
sections than its events write (every event of an imported trace is applied
to find them): the file claims something false; 2 on bad input.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, deep: { type: 'boolean' } }, 1);
  if (values.help) { console.log(HELP); return 0; }
  return withTrace(positionals[0], async (r) => {
    const check = checkTrace(r, values.deep === true);
    adoptCheck(r, check);
    const h = r.header;
    const kinds = Object.fromEntries(Object.keys(r.kinds).sort().map((k) => [k, r.kinds[k] ?? 0]));
    // A false checkpoint found before damage stops the deep pass is still false: a finding, whatever comes after.
    const header = headerClaims(h, check.traced);
    const lies = !check.claimsOk && r.truncated === null && check.stoppedAt === null || check.disproved || header.length > 0;
    const whole = r.truncated === null && check.whole;
    const info = {
      path: r.path, format: h.format, engine: h.engine, scenario: h.scenario.name, variant: h.variant, seed: h.seed,
      ...(h.imported ? { imported: h.imported } : {}),
      // No header: the stand-in's scenario, engine and seed are nobody's claim (the format is the preamble's, if any).
      ...(r.headerLost !== null ? { headerLost: r.headerLost, format: h.format || null, engine: null, scenario: null, variant: null, seed: null } : {}),
      events: check.events, faults: r.faults.length, firstFault: r.faults[0] ?? null, violations: r.violations.length,
      firstViolation: r.violations[0] ?? null, kinds, bytes: r.bytes, bytesPerEvent: check.events ? r.bytes / check.events : 0,
      checkpointEvery: r.checkpointEvery, whole, truncated: !whole, truncation: r.truncated ?? (check.damageAt !== null ? { offset: check.damageAt, reason: check.problems.find((p) => !p.startsWith('damaged:')) ?? '' } : null),
      checks: {
        strongHashes: r.strongHashes, header, footer: r.claims, checkpoints: values.deep ? r.checkpointClaims : 'unchecked', problems: check.problems,
      },
    };
    if (values.json) { console.log(jsonText(info)); return lies ? 1 : 0; }
    // Every string below comes from the file (or its name): escaped for the terminal.
    console.log(`trace      ${escapeText(r.path)}`);
    if (r.headerLost !== null) console.log(`header     ${paint('LOST', 'red')}: ${escapeText(r.headerLost)}${h.format ? ` (the preamble says format ${h.format})` : ''}; no scenario, engine or seed to show`);
    else if (h.imported) for (const line of importedLines(h.imported, false)) console.log(line);
    else console.log(`scenario   ${escapeText(h.scenario.name)} (${escapeText(variantText(h.variant))}), seed ${h.seed}`);
    for (const p of header) console.log(`${paint('FALSE CLAIM', 'red')}: ${escapeText(p)}`);
    if (r.headerLost === null) console.log(`engine     ${escapeText(h.engine || '?')}, format ${h.format}${r.strongHashes ? '' : ' (no SHA-256 digests: identity rests on CRC-32 only; re-record to upgrade)'}`);
    console.log(`events     ${check.events}`);
    console.log(`faults     ${r.faults.length}${info.firstFault !== null ? ` (first at step ${info.firstFault})` : ''}`);
    console.log(`violations ${r.violations.length}${info.firstViolation !== null ? ` (first at step ${info.firstViolation})` : ''}`);
    console.log(`bytes      ${r.bytes} (${info.bytesPerEvent.toFixed(2)} per event)`);
    if (r.truncated) console.log(`${paint('DAMAGED', 'red')}    recovered ${r.count} events; stopped at byte ${r.truncated.offset}: ${escapeText(r.truncated.reason)}`);
    else if (!check.whole && check.stoppedAt !== null) console.log(`${paint('DAMAGED', 'red')}    ${check.events} events read back; stopped at byte ${check.stoppedAt}: ${escapeText(check.problems[check.problems.length - 1] ?? '')}`);
    else if (!check.whole) console.log(`${paint('DAMAGED', 'red')}    every event reads back; damage at byte ${check.damageAt}: ${escapeText(check.problems.find((p) => !p.startsWith('damaged:')) ?? '')}`);
    else console.log(`whole      yes (every block's checksum${r.strongHashes ? ' and SHA-256' : ''} matches${check.claimsOk ? '; the footer\'s counts agree with the events' : ''})`);
    if (!check.claimsOk && check.stoppedAt === null && r.truncated === null) console.log(`${paint('FOOTER DISAGREES', 'red')} with the events; the counts above are the events'`);
    if (values.deep) {
      console.log(check.checkpointsOk ? `checkpoints ${r.index.checkpointSeqs.length} checked: each is the state its events build`
        : check.checkpointsOk === null ? 'checkpoints UNCHECKED past the damage: the deep pass stopped there'
          : `${paint('CHECKPOINTS DISAGREE', 'red')} with the events`);
    }
    for (const p of check.problems) if (!p.startsWith('damaged:')) console.log(`  ! ${escapeText(p)}`);
    console.log('kinds');
    for (const [k, n] of Object.entries(kinds)) console.log(`  ${escapeText(k).padEnd(18)} ${n}`);
    return lies ? 1 : 0;
  });
}
