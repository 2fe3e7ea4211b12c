// Bad scenarios and bad usage through the built binary. Every malformed
// scenario of the validator's table (test/engine/bad-scenarios.ts) given to
// `iotrace record` names the file, the step and the field, exits 2 and
// writes no trace (not even a temporary file). Unknown subcommands, missing
// files, directories, files that are not traces and traces of a newer format
// are one line on stderr and exit 2.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Encoder } from '@msgpack/msgpack';
import { decoder } from '../trace/chunk.js';
import { BAD_SCENARIOS } from './engine/bad-scenarios.js';
import { assemble, parseTrace } from './fuzz/trace-bytes.js';
import { tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd });

describe('malformed scenario files through iotrace record', () => {
  for (const [what, text, re] of BAD_SCENARIOS) {
    it(`${what}: exit 2, names bad.json${/step \d/.test(re.source) ? ', the step' : ''} and the field; no trace written`, () => {
      const dir = tmp();
      writeFileSync(join(dir, 'bad.json'), text);
      const r = cli(dir, 'record', 'bad.json', '-o', 'out.iotrace');
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^iotrace: bad\.json: /);
      expect(r.stderr.replace(/^iotrace: /, '')).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(dir)).toEqual(['bad.json']);
    });
  }

  it('the same files through run and matrix: exit 2, same message', () => {
    const dir = tmp();
    const [, text, re] = BAD_SCENARIOS.find(([what]) => what === 'unknown device')!;
    writeFileSync(join(dir, 'bad.json'), text);
    for (const cmd of ['run', 'matrix']) {
      const r = cli(dir, cmd, 'bad.json');
      expect(r.status, `${cmd}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
    }
  });
});

describe('bad usage: one line, exit 2', () => {
  const dir = tmp();
  const golden = join(process.cwd(), 'traces', 'dwq-gpasid--pasid=translated.iotrace');
  const newer = join(dir, 'newer.iotrace');
  const bytes = Buffer.from(readFileSync(golden));
  bytes.writeUInt32LE(3, 8);
  writeFileSync(newer, bytes);
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'these are not the bytes you are looking for\n');
  const sub = join(dir, 'a-directory');
  mkdirSync(sub);
  const missing = join(dir, 'missing.iotrace');

  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['toString'], /unknown command "toString"/],
    [['run', 'dwq-gpasid', '--variant', 'constructor=name'], /scenario dwq-gpasid has no variant axis "constructor"/],
    [['run', 'dwq-gpasid', '--variant', 'pasid=constructor'], /variant axis pasid has no value "constructor"/],
    [['info', missing], /missing\.iotrace: no such file/],
    [['events', missing], /no such file/],
    [['info', sub], /a-directory: is a directory, expected a trace file/],
    [['events', sub], /is a directory/],
    [['state', sub, '--at', '0'], /is a directory/],
    [['verify', sub], /is a directory/],
    [['export', sub, '--format', 'jsonl'], /is a directory/],
    [['record', sub], /a-directory: \(file\): is a directory, expected a scenario JSON file/],
    [['record', join(dir, 'nope.json')], /nope\.json: \(file\): no such built-in scenario or file/],
    [['run', 'no-such-scenario'], /no such built-in scenario or file/],
    [['info', text], /notes\.txt: not an iotrace file \(bad magic\)/],
    [['info', newer], /newer\.iotrace: trace format version 3 is newer than this iotrace reads \(1, 2\); upgrade iotrace/],
    [['events', newer], /format version 3 is newer/],
    [['state', newer, '--at', '0'], /format version 3 is newer/],
    [['verify', newer], /format version 3 is newer/],
    [['export', newer, '--format', 'jsonl'], /format version 3 is newer/],
    [['info'], /expected 1 argument/],
    [['info', golden, '--bogus'], /^iotrace: unknown option --bogus; iotrace info --help lists the options$/],
    [['state', golden, '--at', '999999'], /--at 999999: the trace has steps 0\.\.\d+/],
    [['record', 'dwq-gpasid', '--variant', 'colour=red', '-o', join(dir, 'v.iotrace')], /no variant axis "colour"/],
    [['record', 'dwq-gpasid', '--variant', 'pasid=weird', '-o', join(dir, 'v.iotrace')], /axis pasid has no value "weird"/],
    [['record', 'dwq-gpasid', '--seed', 'x', '-o', join(dir, 'v.iotrace')], /--seed takes an integer/],
    [['record', 'dwq-gpasid', '--scale', '10', '-o', join(dir, 'v.iotrace')], /is not generated/],
  ];
  for (const [args, re] of cases) {
    it(args.map((a) => a.replace(dir, '<dir>').replace(process.cwd(), '.')).join(' '), () => {
      const r = cli(dir, ...args);
      expect(r.status, r.stderr).toBe(2);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^iotrace: /);
      expect(lines[0]).toMatch(re);
    });
  }

  it('verify on a trace whose header (valid CRC) holds a malformed scenario: exit 2 naming the header, not an engine crash', () => {
    const { blocks } = parseTrace(readFileSync(golden));
    const h = decoder.decode(blocks[0]!.payload) as { scenario: { platform: unknown } };
    h.scenario.platform = { iommus: 3, devices: [] };
    blocks[0] = { type: blocks[0]!.type, payload: Buffer.from(new Encoder().encode(h)) };
    const forged = join(tmp(), 'forged.iotrace');
    writeFileSync(forged, assemble(blocks, 'offsets'));
    expect(cli(dir, 'info', forged).status).toBe(0);
    const r = cli(dir, 'verify', forged);
    expect(r.status, r.stderr).toBe(2);
    // Every problem of the scenario is listed on one line, after the header's name.
    expect(r.stderr).toMatch(/^iotrace: .*forged\.iotrace \(the trace header's scenario\): platform\.iommus: expected an array(;[^\n]*)?\n$/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it('no trace was written by the rejected record commands', () => {
    expect(readdirSync(dir).sort()).toEqual(['a-directory', 'newer.iotrace', 'notes.txt']);
  });
});
