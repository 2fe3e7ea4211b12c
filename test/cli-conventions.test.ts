// CLI conventions (issue 14 §4): --version, help <command>, did-you-mean,
// one-line usage errors, colour only on a terminal (NO_COLOR / FORCE_COLOR),
// progress with percent and ETA, completion scripts. The built binary.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { colourWanted, Progress, progressText } from '../cli/term.js';
import { closest } from '../engine/suggest.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (env: NodeJS.ProcessEnv, ...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env }, timeout: 60_000 });
const T = join(process.cwd(), 'traces', 'dwq-gpasid--pasid=translated.iotrace');

describe('CLI conventions', () => {
  it('--version names the package, engine and trace format versions; help <command> is that command\'s --help', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const v = cli({}, flag);
      expect(v.status).toBe(0);
      expect(v.stdout).toMatch(new RegExp(`^iotrace ${pkg.version.replace(/\./g, '\\.')} \\(engine [^,]+, trace format \\d+\\)\\n$`));
    }
    const h = cli({}, 'help', 'events');
    expect(h.status).toBe(0);
    expect(h.stdout).toBe(cli({}, 'events', '--help').stdout);
    expect(h.stdout).toMatch(/^usage: iotrace events/);
  });

  it('did-you-mean for commands, options, variant axes and values, scenario ops and fields; each one line, exit 2', () => {
    const cases: [string[], string][] = [
      [['rnu'], 'iotrace: unknown command "rnu" (did you mean run?); iotrace --help lists the commands\n'],
      [['help', 'evnets'], 'iotrace: unknown command "evnets" (did you mean events?); iotrace --help lists the commands\n'],
      [['run', 'dwq-gpasid', '--josn'], 'iotrace: unknown option --josn (did you mean --json?); iotrace run --help lists the options\n'],
      [['run', 'dwq-gpasid', '--variant', 'psid=translated'], 'iotrace: scenario dwq-gpasid has no variant axis "psid" (did you mean pasid?) (axes: pasid)\n'],
      [['run', 'dwq-gpasid', '--variant', 'pasid=translate'], 'iotrace: variant axis pasid has no value "translate" (did you mean translated?) (values: identity, translated)\n'],
      [['state', T, '--at', '-1'], 'iotrace: --at takes a step number, first-fault, first-violation or last; got "-1"\n'],
      [['record', 'dwq-gpasid', '-o'], 'iotrace: -o takes a value (iotrace record --help)\n'],
      [['list', '--json=1'], 'iotrace: --json takes no value\n'],
      [['diff', T], 'iotrace: expected 2 argument(s), got 1 (iotrace diff --help)\n'],
      [['events', T, '--from', '-3'], 'iotrace: --from takes an integer 0..9007199254740991, got "-3"\n'],
      [['completion', 'fish'], 'iotrace: completion takes bash or zsh, got "fish"\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = cli({}, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe(stderr);
    }
  });

  it('scenario validation suggests the op, ioctl, field and platform name meant, instead of listing them all', async () => {
    const { parseScenario } = await import('../scenarios/index.js');
    const doc = (steps: object[]) => JSON.stringify({ name: 's', description: 'd', platform: { iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }] }, steps });
    const msg = (steps: object[]): string => { try { parseScenario(doc(steps), 's.json'); return ''; } catch (e) { return (e as Error).message; } };
    expect(msg([{ op: 'dam', rid: '00:02.0', addr: 0 }])).toMatch(/^s\.json: step 0: steps\[0\]\.op: unknown op "dam" \(did you mean dma\?\) \(line 1, column \d+\)$/);
    expect(msg([{ op: 'ioctl', cmd: 'IOMMU_IOAS_ALOC' }])).toMatch(/steps\[0\]\.cmd: expected one of \d+ names, got "IOMMU_IOAS_ALOC" \(did you mean IOMMU_IOAS_ALLOC\?\)/);
    expect(msg([{ op: 'dma', rid: '00:02.0', adr: 0 }])).toMatch(/steps\[0\]\.addr: missing \(line 1, column \d+\); step 0: steps\[0\]\.adr: unknown field \(did you mean addr\?\) \(line 1, column \d+\)$/);
    expect(msg([{ op: 'dma', rid: '00:02.1', addr: 0 }])).toMatch(/steps\[0\]\.rid: no device "00:02\.1" in the platform \(did you mean 00:02\.0\?; known: 00:02\.0\)/);
    expect(closest('zzzzzz', ['dma', 'ioctl'])).toEqual([]);
  });

  it('colour only when stdout is a terminal or FORCE_COLOR asks; never with NO_COLOR, never in a pipe', () => {
    const plain = cli({}, 'events', T, '--kind', 'fault');
    expect(plain.stdout).not.toContain('\x1b');
    const forced = cli({ FORCE_COLOR: '1' }, 'events', T, '--kind', 'fault');
    expect(forced.stdout).toContain('\x1b[31m');
    expect(forced.stdout.replace(/\x1b\[\d+m/g, '')).toBe(plain.stdout);
    expect(cli({ NO_COLOR: '1' }, 'run', 'dwq-gpasid').stdout).not.toContain('\x1b');
    expect(cli({ FORCE_COLOR: '1' }, 'events', T, '--json').stdout).not.toContain('\x1b');
    expect(cli({ FORCE_COLOR: '1' }, 'verify', T).stdout).toMatch(/^\x1b\[32mok\x1b\[0m: /);
    expect(cli({}, 'verify', T).stdout).toMatch(/^ok: /);
    expect(colourWanted({ isTTY: true }, {})).toBe(true);
    expect(colourWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(colourWanted({ isTTY: false }, {})).toBe(false);
    expect(colourWanted({ isTTY: false }, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
    expect(colourWanted({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
  });

  it('progress: percent and ETA when the total is known, on a terminal only, cleared when done', () => {
    expect(progressText('matrix', 3, 8, 'combinations', 3000)).toBe('matrix: 37% (3 of 8 combinations), ETA 5s');
    expect(progressText('recording', 2_500_000, 2_000_000, 'events', 10_000, true)).toBe('recording: 99% (2.50 M of ~2.00 M events), ETA 0s');
    expect(progressText('recording', 1234, null, 'events', 1000)).toBe('recording: 1234 events');
    const written: string[] = [];
    const tty = new Progress('matrix', 4, 'combinations', false, { isTTY: true, write: (s: string) => written.push(s) });
    tty.update(2, true);
    tty.done();
    expect(written).toEqual(['\r\x1b[Kmatrix: 50% (2 of 4 combinations)', '\r\x1b[K']);
    const none: string[] = [];
    const pipe = new Progress('matrix', 4, 'combinations', false, { isTTY: false, write: (s: string) => none.push(s) });
    pipe.update(2, true);
    pipe.done();
    expect(none).toEqual([]);
    // Through the binary, stderr is a pipe: no progress bytes.
    expect(cli({}, 'matrix', 'free-while-bound').stderr).toBe('');
  });

  it('completion bash|zsh lists every command and each command\'s options from its help', () => {
    const b = cli({}, 'completion', 'bash');
    expect(b.status).toBe(0);
    expect(b.stdout).toContain('complete -o filenames -F _iotrace iotrace');
    expect(b.stdout).toMatch(/events\) opts="[^"]*--pasid[^"]*"/);
    expect(b.stdout).toMatch(/compgen -W "list run start replay record/);
    expect(spawnSync('bash', ['-n'], { input: b.stdout }).status).toBe(0);
    const z = cli({}, 'completion', 'zsh');
    expect(z.status).toBe(0);
    expect(z.stdout).toMatch(/^#compdef iotrace/);
    expect(z.stdout).toContain('dwq-gpasid');
  });
});
