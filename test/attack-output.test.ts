// Output that attacks the user, and errors that are not one line. A forged
// trace (valid checksums, digests and footer, from the project's own writer)
// and scenario files whose names, RIDs and notes hold a newline that forges
// an event line, an OSC title sequence, a screen clear, a C1 CSI, a line
// separator and a bidi override: every command prints them escaped and no
// raw control byte reaches stdout or stderr; --json stays exact JSON. Then
// stdout failures: a reader that goes away (EPIPE) ends the command quietly
// with exit 0; a full disk is one line, exit 2.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { escapeControls, escapeText, jsonText } from '../safe/escape.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { BIN, cli, EVIL_NAME, EVIL_RID, forgeTrace, RAW_CONTROL, scenarioFile } from './attack-helpers.js';
import { recordTo, stressScenario, tmp } from './trace-helpers.js';
import { loadScenario } from '../scenarios/index.js';

const SHOWN_RID = '00:02.0\\n      42 t1      fault              FAULT forged\\x1b]0;pwned\\x07\\u202e';
const SHOWN_NAME = 'evil\\x1b[2J\\x9b31m\\u2028name\\u202e';

describe('safe/escape.ts', () => {
  it('escapeText: C0, DEL, C1, separators and bidi controls as escapes, a backslash doubled; plain text unchanged', () => {
    expect(escapeText('00:02.0')).toBe('00:02.0');
    expect(escapeText('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(escapeText('\x1b]0;x\x07')).toBe('\\x1b]0;x\\x07');
    expect(escapeText('\x00\x7f\x80\x9b\x9f')).toBe('\\x00\\x7f\\x80\\x9b\\x9f');
    expect(escapeText('\u2028\u2029\u202a\u202e\u2066\u2069\u200e\u200f\u061c')).toBe('\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069\\u200e\\u200f\\u061c');
    // Unambiguous: the four characters \x1b and the byte ESC print differently.
    expect(escapeText('\\x1b')).toBe('\\\\x1b');
    expect(escapeText('\\x1b')).not.toBe(escapeText('\x1b'));
    expect(escapeText('é ü 中 →')).toBe('é ü 中 →');
    expect(RAW_CONTROL.test(escapeText(EVIL_RID + EVIL_NAME))).toBe(false);
  });

  it('escapeControls is idempotent and leaves backslashes alone', () => {
    const once = escapeControls(EVIL_RID);
    expect(escapeControls(once)).toBe(once);
    expect(escapeControls('a\\b')).toBe('a\\b');
  });

  it('jsonText: exact JSON (parses back to the same value) with C1, DEL, separators and bidi as \\uXXXX', () => {
    const v = { rid: EVIL_RID, name: EVIL_NAME, list: ['\u0085', '\x7f', 'plain'], n: 5 };
    const s = jsonText(v);
    expect(JSON.parse(s)).toEqual(v);
    expect(RAW_CONTROL.test(s)).toBe(false);
    expect(s).toContain('\\u202e');
    expect(s).toContain('\\u009b');
    expect(s).toContain('\\u2028');
    expect(JSON.parse(jsonText(v, 2))).toEqual(v);
    expect(jsonText(undefined)).toBe('null');
  });
});

describe('a forged trace whose RID and scenario name attack the terminal', () => {
  let dir = '';
  let evil = '';
  let count = 0;
  let plain = '';
  beforeAll(() => {
    dir = tmp();
    const f = forgeTrace(dir);
    evil = f.path;
    count = f.events.length;
    plain = recordTo(dir, 'plain', loadScenario('dwq-gpasid'), { pasid: 'translated' }).path;
  });

  const clean = (r: { stdout: string; stderr: string }): void => {
    expect(RAW_CONTROL.test(r.stdout), JSON.stringify(r.stdout.match(RAW_CONTROL))).toBe(false);
    expect(RAW_CONTROL.test(r.stderr)).toBe(false);
  };

  it('events: one line per event (the newline in the RID forges none), the RID shown escaped, no raw control byte', () => {
    const r = cli(dir, 'events', evil);
    expect(r.status, r.stderr).toBe(0);
    clean(r);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(count);
    lines.forEach((l, i) => expect(l).toMatch(new RegExp(`^\\s+${i} t\\d+ `)));
    expect(lines.some((l) => /^\s+42 t1\s+fault/.test(l))).toBe(false);
    expect(r.stdout).toContain(SHOWN_RID);
    const fault = lines[count - 1]!;
    expect(fault).toMatch(/^\s+40 t\d+\s+fault\s+FAULT iommu 0x59/);
    expect(fault).toContain(SHOWN_RID);
  });

  it('events --json: exact JSON, the same events the reader decodes, C1 and bidi as \\uXXXX', () => {
    const r = cli(dir, 'events', evil, '--json');
    expect(r.status, r.stderr).toBe(0);
    clean(r);
    const got = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    const rp = TraceReplayer.open(evil);
    expect(got).toEqual(rp.events(0, rp.count));
    rp.close();
    expect(r.stdout).toContain('\\u202e');
    expect(JSON.stringify(got)).toContain(JSON.stringify(EVIL_RID).slice(1, -1));
  });

  it('info: the scenario name shown escaped; state: keys escaped, values as safe JSON', () => {
    const i = cli(dir, 'info', evil);
    expect(i.status, i.stderr).toBe(0);
    clean(i);
    expect(i.stdout).toContain(`scenario   ${SHOWN_NAME} (pasid=translated)`);
    const ij = cli(dir, 'info', evil, '--json');
    clean(ij);
    expect((JSON.parse(ij.stdout) as { scenario: string }).scenario).toBe(EVIL_NAME);
    const s = cli(dir, 'state', evil, '--at', 'last');
    expect(s.status, s.stderr).toBe(0);
    clean(s);
    expect(s.stdout).toContain(`  ${SHOWN_RID}`);
    // Every line is a section head, a cell, or the title: the RID's newline starts none.
    for (const l of s.stdout.trimEnd().split('\n')) expect(l).toMatch(/^(state after|\[[a-z-]+\] \d+|  \S)/);
  });

  it('diff, verify, export and the --dump frame: escaped, no raw control byte', () => {
    const d = cli(dir, 'diff', evil, plain);
    expect(d.status).toBe(1);
    clean(d);
    expect(d.stdout).toContain(SHOWN_NAME);
    expect(d.stdout).toContain(SHOWN_RID);
    const dj = cli(dir, 'diff', evil, plain, '--json');
    clean(dj);
    expect(JSON.parse(dj.stdout)).toMatchObject({ identical: false, a: { scenario: EVIL_NAME } });
    const v = cli(dir, 'verify', evil);
    expect(v.status).toBe(1);
    clean(v);
    const x = cli(dir, 'export', evil, '--format', 'jsonl');
    expect(x.status, x.stderr).toBe(0);
    clean(x);
    expect(x.stdout.trimEnd().split('\n')).toHaveLength(count);
    const c = cli(dir, 'export', evil, '--format', 'chrome');
    clean(c);
    expect(JSON.parse(c.stdout)).toHaveProperty('traceEvents');
    const f = cli(dir, 'replay', evil, '--at', 'first-fault', '--dump', '140x30');
    expect(f.status, f.stderr).toBe(0);
    clean(f);
    expect(f.stdout).toContain(SHOWN_NAME);
    expect(f.stdout).toContain('00:02.0\\n');
    const t = cli(dir, 'diff', evil, plain, '--tui', '--dump', '140x30');
    clean(t);
    expect(t.stdout).toContain('A: evil\\x1b[2J');
  });
});

describe('a scenario file whose name, RID and note attack the terminal', () => {
  let dir = '';
  let file = '';
  beforeAll(() => {
    dir = tmp();
    file = scenarioFile(dir, 'evil.json', 'dwq-gpasid', (s) => {
      s.name = EVIL_NAME;
      for (const d of s.platform.devices) d.rid = EVIL_RID;
      const fix = (v: unknown): unknown => (v === '00:02.0' ? EVIL_RID : Array.isArray(v) ? v.map(fix) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fix(x)])) : v);
      s.steps = fix(s.steps);
      s.steps[0].note = 'note\x1b[2J\u202e';
    });
  });

  // The validator may accept such strings (then the output escapes them) or refuse them (then the one-line error does).
  for (const args of [['run', 'evil.json'], ['run', 'evil.json', '--json'], ['record', 'evil.json', '-o', 'evil.iotrace'], ['matrix', 'evil.json'], ['matrix', 'evil.json', '--json']]) {
    it(`${args.join(' ')}: no raw control byte; the name and RID escaped, or one escaped error line`, () => {
      const r = cli(dir, ...args);
      expect(RAW_CONTROL.test(r.stdout)).toBe(false);
      expect(RAW_CONTROL.test(r.stderr)).toBe(false);
      if (r.status === 2) {
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        return;
      }
      expect(r.status, r.stderr).toBe(0);
      if (args.includes('--json')) {
        if (args[0] === 'run') {
          const events = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { rid?: string });
          expect(events.some((e) => e.rid === EVIL_RID)).toBe(true);
        } else expect(JSON.parse(r.stdout)).toHaveLength(2);
      } else {
        expect(r.stdout).toContain(args[0] === 'run' ? SHOWN_RID : SHOWN_NAME);
      }
      if (args[0] === 'run' && !args.includes('--json')) {
        const lines = r.stdout.trimEnd().split('\n');
        lines.forEach((l, i) => expect(l).toMatch(new RegExp(`^\\s+${i} t\\d+ `)));
      }
    });
  }

  it('an error message that quotes a file\'s string is one line with its controls escaped', () => {
    const bad = scenarioFile(dir, 'bad.json', 'dwq-gpasid', (s) => { s.steps[0].op = 'no-such-op\n\x1b]0;pwned\x07'; });
    const r = cli(dir, 'run', bad);
    expect(r.status).toBe(2);
    expect(RAW_CONTROL.test(r.stderr)).toBe(false);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no-such-op/);
  });
});

describe('stdout failures', () => {
  let dir = '';
  let big = '';
  beforeAll(() => {
    dir = tmp();
    // Far more output than a pipe holds (~200 k lines).
    big = recordTo(dir, 'big', stressScenario(200_000)).path;
  });

  /** Run the CLI with stdout a pipe that is closed after the first chunk arrives (as `| head -1` does). */
  function closedEarly(...args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string; first: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let first = '';
      child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
      child.stdout.once('data', (b: Buffer) => { first = b.toString().split('\n')[0] ?? ''; child.stdout.destroy(); });
      child.on('exit', (code, signal) => resolve({ code, signal, stderr, first }));
    });
  }

  for (const args of [['events', 'big.iotrace'], ['events', 'big.iotrace', '--json'], ['export', 'big.iotrace', '--format', 'jsonl'], ['run', 'stress'], ['state', 'big.iotrace', '--at', 'last']]) {
    it(`${args.join(' ')} | head -1: exit 0, nothing on stderr`, async () => {
      const r = await closedEarly(...args);
      expect(r.stderr).toBe('');
      expect(r.signal).toBe(null);
      expect(r.code).toBe(0);
      expect(r.first.length).toBeGreaterThan(0);
    });
  }

  for (const args of [['info', 'big.iotrace'], ['info', 'big.iotrace', '--json'], ['state', 'big.iotrace', '--at', '5'], ['events', 'big.iotrace', '--to', '3'], ['list'], ['diff', 'big.iotrace', 'big.iotrace'], ['record', 'dwq-gpasid', '-o', 'x.iotrace'], ['help'], ['help', 'info'], ['--version']]) {
    it(`${args.join(' ')} > /dev/full: one line on stderr, exit 2`, () => {
      const full = openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/^iotrace: cannot write to stdout: ENOSPC[^\n]*\n$/);
      } finally {
        closeSync(full);
      }
    });
  }

});
