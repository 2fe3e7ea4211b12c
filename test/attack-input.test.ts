// Attacks on the input side: scenario files and command-line arguments that
// once cost unbounded time or memory, blocked, or ended in an internal error
// (exit 70) or a multi-line message. Each class gets the right answer: the
// exact one-line message, exit 2, and nothing written (no trace, no temporary
// file). Every case finishes quickly by construction: each is refused before
// the engine runs, or runs a cost bounded by what is mapped (pt-unmap).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apply } from '../engine/apply.js';
import { Ctx } from '../engine/ctx.js';
import { MAX_COMBINATIONS, MAX_EVENTS_PER_STEP, MAX_PT_ENTRIES, MAX_PT_MAP_PAGES, MAX_SCALE, MAX_SCENARIO_BYTES, ScenarioRunError } from '../engine/limits.js';
import { ENGINE_VERSION, RunSession } from '../engine/run.js';
import { combinations, type Scenario } from '../engine/scenario.js';
import { emptyState } from '../engine/state.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { ScenarioError } from '../engine/validate.js';
import { DUMP_MAX_COLS, DUMP_MAX_ROWS, MAX_CONTEXT, MAX_HUNKS } from '../cli/limits.js';
import { TraceWriter } from '../recorder/writer.js';
import { FORMAT_VERSION } from '../trace/format.js';
import { parseScenario } from '../scenarios/index.js';
import { VTD } from './engine/helpers.js';
import { engineEvents, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, timeout: 30_000 });
const GOLDEN = join(process.cwd(), 'traces', 'dwq-gpasid--pasid=translated.iotrace');

/** A scenario document on the test platform. */
const doc = (steps: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ name: 'attack', description: 'd', platform: VTD, steps, ...extra });

/** Write `files` into a fresh folder and run the CLI there: exit 2, exactly `message` on one line, no stdout, nothing written. */
function refused(files: Record<string, string | Buffer>, args: string[], message: string): void {
  const dir = tmp();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const before = readdirSync(dir).sort();
  const r = cli(dir, ...args);
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`iotrace: ${message}\n`);
  expect(readdirSync(dir).sort()).toEqual(before);
}

const HUGE = Number.MAX_SAFE_INTEGER; // 2^53-1
const PT_MAP_HUGE = { op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: 0, pa: 0x100000, size: HUGE };
const PT_MAP_MESSAGE = `step 0: steps[0].size: maps 2199023255552 pages, more than the ${MAX_PT_MAP_PAGES} (256 MiB of 4 KiB pages) one pt-map step may write; split it into several steps`;

describe('traces that are not regular files are refused without being read', () => {
  it('a FIFO or a device given as a trace: refused at once, one line, exit 2 (the open does not wait for a writer)', () => {
    const dir = tmp();
    expect(spawnSync('mkfifo', [join(dir, 't.iotrace')]).status).toBe(0);
    for (const args of [['info', 't.iotrace'], ['events', 't.iotrace'], ['verify', 't.iotrace'], ['diff', 't.iotrace', 't.iotrace']]) {
      const r = cli(dir, ...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toBe('iotrace: t.iotrace: is a FIFO, expected a regular trace file\n');
    }
    const d = cli(dir, 'info', '/dev/zero');
    expect(d.status).toBe(2);
    expect(d.stderr).toBe('iotrace: /dev/zero: is a device, expected a regular trace file\n');
    // Below the CLI too: the replayer opens with O_NONBLOCK and refuses what is not a regular file.
    expect(() => TraceReplayer.open(join(dir, 't.iotrace'))).toThrow(/not a regular file/);
  });
});

describe('scenario files that are not regular files are refused without being read', () => {
  it('a FIFO: one line, exit 2, no block (opened O_NONBLOCK after a stat), nothing written', () => {
    const dir = tmp();
    expect(spawnSync('mkfifo', [join(dir, 'pipe.json')]).status).toBe(0);
    for (const cmd of ['record', 'run', 'matrix']) {
      const r = cli(dir, cmd, 'pipe.json');
      expect(r.status, `${cmd}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toBe('iotrace: pipe.json: (file): is a FIFO, expected a regular scenario JSON file\n');
    }
    expect(readdirSync(dir)).toEqual(['pipe.json']);
  });

  it('/dev/zero: a character device, refused before it is opened', () => {
    refused({}, ['record', '/dev/zero', '-o', 'out.iotrace'], '/dev/zero: (file): is a character device, expected a regular scenario JSON file');
    refused({}, ['run', '/dev/zero'], '/dev/zero: (file): is a character device, expected a regular scenario JSON file');
  });

  it('a directory named like a scenario', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub.json'));
    const r = cli(dir, 'run', 'sub.json');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('iotrace: sub.json: (file): is a directory, expected a scenario JSON file\n');
  });
});

describe('scenario file size', () => {
  it(`a 17 MiB file: refused from its size (limit ${MAX_SCENARIO_BYTES}), no trace and no temporary file`, () => {
    const big = Buffer.alloc(17 * 1024 * 1024, 0x20);
    refused({ 'big.json': big }, ['record', 'big.json', '-o', 'out.iotrace'], `big.json: (file): is ${big.length} bytes, larger than ${MAX_SCENARIO_BYTES} bytes (16 MiB), the most a scenario file may be`);
  });

  it('text handed to parseScenario directly is bounded too', () => {
    expect(() => parseScenario(' '.repeat(MAX_SCENARIO_BYTES + 1), 'x.json')).toThrow(`x.json: (file): larger than ${MAX_SCENARIO_BYTES} bytes (16 MiB), the most a scenario file may be`);
  });
});

describe('JSON text: a BOM, syntax errors', () => {
  it('a UTF-8 BOM is accepted and skipped', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bom.json'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(doc([{ op: 'run-deferred' }])))]));
    const r = cli(dir, 'run', 'bom.json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/platform/);
  });

  it('a BOM before invalid JSON: one line, the position counted after the BOM', () => {
    refused({ 'bom.json': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":\n  x}')]) }, ['record', 'bom.json'],
      "bom.json: (document): invalid JSON at line 2, column 3: unexpected 'x'");
  });

  it('a syntax error whose surroundings hold newlines and control characters: one line that never quotes the file', () => {
    // Node's own message would quote `"name": \n  \x1b[2J` raw.
    refused({ 'bad.json': '{\n  "name": \x1b[2J\n}' }, ['record', 'bad.json'], 'bad.json: (document): invalid JSON at line 2, column 11: unexpected U+001B');
  });

  it('an unterminated document, and a million open brackets (the position scan is iterative)', () => {
    refused({ 'cut.json': '{"name": "x", "steps": [' }, ['run', 'cut.json'], 'cut.json: (document): invalid JSON at line 1, column 25: unexpected the end of the file');
    refused({ 'deep.json': '['.repeat(1_000_000) }, ['run', 'deep.json'], 'deep.json: (document): invalid JSON at line 1, column 1000001: unexpected the end of the file');
  });
});

describe('validation: one clear line', () => {
  it('a negative number says so', () => {
    refused({ 'neg.json': JSON.stringify(doc([{ op: 'dma', rid: '00:02.0', addr: -4096 }])) }, ['record', 'neg.json'],
      'neg.json: step 0: steps[0].addr: -4096 is negative: expected a non-negative integer up to 2^53-1 (line 1, column 465)');
  });

  it('several problems are still one line', () => {
    refused({ 'neg.json': JSON.stringify(doc([{ op: 'dma', rid: '00:02.0', addr: -1, pasid: -2 }])) }, ['run', 'neg.json'],
      'neg.json: step 0: steps[0].pasid: -2 is negative: expected a non-negative integer up to 2^53-1 (line 1, column 476); step 0: steps[0].addr: -1 is negative: expected a non-negative integer up to 2^53-1 (line 1, column 465)');
  });

  it('integer-like variant values are refused, saying why (JavaScript would list them first and change the default)', () => {
    const text = JSON.stringify(doc([], { variants: { size: { '4k': 'small pages', 2: 'two', 10: 'ten' } } }))
      // JSON.stringify already moved "2" and "10" first; write them the way a person would, after "4k".
      .replace(/"size":\{[^}]*\}/, '"size":{"4k":"small pages","2":"two","10":"ten"}');
    const why = (v: string) => `variants.size.${v}: a value named like an integer ("${v}") is refused: JavaScript puts such keys first, so the default (the first value listed) would silently change; give it a name that is not a bare number (e.g. "${v}k", "x${v}")`;
    refused({ 'iv.json': text }, ['record', 'iv.json'], `iv.json: ${why('2')} (line 1, column 475); ${why('10')} (line 1, column 486)`);
    // Names that only look numeric keep their place and are fine.
    expect(() => parseScenario(JSON.stringify(doc([], { variants: { size: { '4k': 'a', '02': 'b', '-1': 'c', '1.5': 'd' } } })), 'ok.json')).not.toThrow();
  });

  it('a $ref bound only under another variant is a validation error naming both steps', () => {
    const text = JSON.stringify(doc([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', when: { mode: 'b' }, as: 'ioas' },
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$ioas' } },
    ], { variants: { mode: { a: 'default', b: 'other' } } }));
    refused({ 'ref.json': text }, ['record', 'ref.json', '--variant', 'mode=b'],
      'ref.json: step 1: steps[1].args.id: "$ioas" is bound only under another variant (step 0 binds it when mode=b), but this step also runs when mode=a, where nothing binds it (line 1, column 551)');
  });

  it('a $ref bound in every variant by different steps (the dwq-gpasid idiom) is fine', () => {
    expect(() => parseScenario(JSON.stringify(doc([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', when: { mode: 'a' }, as: 'ioas' },
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', when: { mode: ['b', 'c'] }, as: 'ioas' },
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$ioas' } },
    ], { variants: { mode: { a: '', b: '', c: '' } } })), 'ok.json')).not.toThrow();
  });

  it('an unvalidated scenario (library API) with such a $ref: a ScenarioRunError naming the step, not a plain Error', () => {
    const sc = doc([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', when: { mode: 'b' }, as: 'ioas' },
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$ioas' } },
    ], { variants: { mode: { a: '', b: '' } } }) as unknown as Scenario;
    const s = new RunSession(sc);
    let error: unknown = null;
    try { while (s.next()) { /* run */ } } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ScenarioRunError);
    expect((error as Error).message).toBe('scenario "attack": step 1 (ioctl): "$ioas" is not bound under this variant (no earlier step that ran bound it with "as")');
  });
});

describe('page tables: pages per op bounded', () => {
  it('pt-map of 2^53-1 bytes through record: refused before anything runs, no trace', () => {
    const text = JSON.stringify(doc([PT_MAP_HUGE]));
    // A file's problems also name the line and column (scenarios/json-position.ts); a trace header's have no text to point into.
    refused({ 'ptmap.json': text }, ['record', 'ptmap.json', '-o', 'out.iotrace'], `ptmap.json: ${PT_MAP_MESSAGE} (line 1, column 503)`);
  });

  it('pt-map of 2^53-1 bytes through verify of a forged trace header (written by the project\'s writer): refused, not run', () => {
    const dir = tmp();
    const forged: Scenario = doc([PT_MAP_HUGE]) as unknown as Scenario;
    // The events of a harmless run of the same scenario (4 KiB), under a header that holds the huge one.
    const events = engineEvents(doc([{ ...PT_MAP_HUGE, size: 4096 }]) as unknown as Scenario);
    const w = new TraceWriter(join(dir, 'forged.iotrace'), { format: FORMAT_VERSION, engine: ENGINE_VERSION, scenario: forged, variant: {}, seed: 0 });
    for (const ev of events) w.push(ev);
    w.finish();
    const r = cli(dir, 'verify', 'forged.iotrace');
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`iotrace: forged.iotrace (the trace header's scenario): ${PT_MAP_MESSAGE}\n`);
    expect(readdirSync(dir)).toEqual(['forged.iotrace']);
  });

  it('pt-map past the bound from an unvalidated scenario: a ScenarioRunError at the step, before any page is written', () => {
    const s = new RunSession(doc([PT_MAP_HUGE]) as unknown as Scenario);
    expect(s.next()).toBe(true); // the platform
    expect(() => s.next()).toThrow(`scenario "attack": step 0 (pt-map): pt-map of 2199023255552 pages, more than the ${MAX_PT_MAP_PAGES} one step may write; split it into several steps`);
    expect(s.state.s.pt).toEqual({});
  });

  it('pt-map of exactly the bound runs', () => {
    const evs = engineEvents(parseScenario(JSON.stringify(doc([{ ...PT_MAP_HUGE, size: MAX_PT_MAP_PAGES * 4096 }])), 'ok.json'));
    expect(evs.filter((e) => e.kind === 'pt-write')).toHaveLength(MAX_PT_MAP_PAGES);
  });

  it(`many maximal pt-maps: the page-table entries a run holds are bounded (${MAX_PT_ENTRIES}), the step past it named`, () => {
    const n = MAX_PT_ENTRIES / MAX_PT_MAP_PAGES;
    const big = (i: number) => ({ op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: i * MAX_PT_MAP_PAGES * 4096, pa: 0x100000, size: MAX_PT_MAP_PAGES * 4096 });
    // Re-mapping pages already present does not count twice; unmapping gives them back.
    const steps = [...Array.from({ length: n }, (_, i) => big(i)), big(0), { op: 'pt-unmap', root: 0x1000, addr: 0, size: 4096 }, { ...big(n), size: 4096 }, big(n + 1)];
    const s = new RunSession(parseScenario(JSON.stringify(doc(steps)), 'many.json'));
    let error: unknown = null;
    try { while (s.next()) { /* run */ } } catch (e) { error = e; }
    expect((error as Error).message).toBe(`scenario "attack": step ${n + 3} (pt-map): pt-map would leave ${MAX_PT_ENTRIES + MAX_PT_MAP_PAGES} page-table entries present, more than the ${MAX_PT_ENTRIES} a run may hold; unmap some first`);
    expect(Object.keys(s.state.s.pt)).toHaveLength(MAX_PT_ENTRIES);
  });

  it('pt-unmap of 2^53-1 bytes walks what is mapped, not 2^41 pages: the two mapped pages are cleared, in order', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'unmap.json'), JSON.stringify(doc([
      { op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: 0x3000, pa: 0x100000, size: 0x1000 },
      { op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: 0x1000, pa: 0x101000, size: 0x1000 },
      { op: 'pt-map', root: 0x2000, owner: 'proc-b', addr: 0x1000, pa: 0x200000, size: 0x1000 },
      { op: 'pt-unmap', root: 0x1000, addr: 0, size: HUGE, expect: 'ok' },
    ])));
    const r = cli(dir, 'run', 'unmap.json', '--json');
    expect(r.status, r.stderr).toBe(0);
    const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; step: number; root: number; page: number; after: unknown });
    const cleared = evs.filter((e) => e.step === 3 && e.kind === 'pt-write');
    expect(cleared.map((e) => [e.root, e.page, e.after])).toEqual([[0x1000, 1, null], [0x1000, 3, null]]);
  });
});

describe('invalidations cost what they drop, not the cache or the range', () => {
  // proc-a's 4096 pages (0x400000..) mapped and bound on 00:02.0 (ATS): every DMA fills an IOTLB and an ATC line.
  const PAGES = 4096;
  const fill = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ op: 'dma', rid: '00:02.0', pasid: 1, addr: 0x400000 + (from + i) * 4096 }));
  const setup = [
    { op: 'pt-map', root: 0x1000, owner: 'proc-a', addr: 0x400000, pa: 0x100000, size: PAGES * 4096 },
    { op: 'sva-bind', rid: '00:02.0', owner: 'proc-a', root: 0x1000, expect: 'ok' },
  ];

  it('2000 wide descriptors that miss a full cache, then ones that hit: the right counts, the same state a replay (which scans) builds', () => {
    const miss = Array.from({ length: 1000 }, () => [
      { op: 'inval-iotlb', iommu: 'dmar0', granularity: 'page', did: 0, pasid: 1, addr: 2 ** 40, npages: HUGE - 2 ** 28 },
      { op: 'inval-atc', rid: '00:02.0', granularity: 'page', pasid: 1, addr: 2 ** 40, npages: HUGE - 2 ** 28 },
    ]).flat();
    const sc = parseScenario(JSON.stringify(doc([...setup, ...fill(0, PAGES), ...miss,
      { op: 'inval-atc', rid: '00:02.0', granularity: 'page', pasid: 1, addr: 0x400000 + 100 * 4096, npages: 1000 },
      { op: 'inval-atc', rid: '00:02.0', granularity: 'pasid', pasid: 1 },
      { op: 'inval-iotlb', iommu: 'dmar0', granularity: 'global' },
    ])), 'inval.json');
    // The DID the bind chose: from the first IOTLB fill.
    const evs = engineEvents(sc);
    const did = (evs.find((e) => e.kind === 'iotlb-fill') as { did: number }).did;
    const sc2 = JSON.parse(JSON.stringify(sc).replaceAll('"did":0,', `"did":${did},`)) as Scenario;
    const s = new RunSession(sc2);
    const all = [];
    while (s.next()) all.push(...s.out);
    const dropped = all.flatMap((e) => (e.kind === 'iotlb-inval' || e.kind === 'atc-inval' ? [(e as { dropped: number }).dropped] : []));
    expect(dropped.slice(0, 2000).every((n) => n === 0)).toBe(true);
    expect(dropped.slice(2000)).toEqual([1000, PAGES - 1000, PAGES]);
    expect(Object.keys(s.state.s.iotlb)).toHaveLength(0);
    expect(Object.keys(s.state.s.atc)).toHaveLength(0);
  });

  it('random fills and descriptors: the engine (indexed) and apply alone (scanning) build the same state after every event', () => {
    let seed = 7;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
    const steps: unknown[] = [...setup];
    for (let i = 0; i < 3000; i++) {
      const r = rnd(10);
      const addr = 0x400000 + rnd(PAGES + 64) * 4096;
      if (r < 6) steps.push(...fill(rnd(PAGES), 1));
      else if (r < 8) steps.push({ op: 'inval-atc', rid: '00:02.0', granularity: ['page', 'pasid', 'all'][rnd(3)], pasid: 1, addr, npages: [1, 7, 600, 5000, HUGE][rnd(5)] });
      else steps.push({ op: 'inval-iotlb', iommu: 'dmar0', granularity: ['page', 'pasid', 'domain', 'global'][rnd(4)], did: rnd(2) === 0 ? null : 1025, pasid: rnd(3) === 0 ? null : 1, addr, npages: [1, 7, 600, 5000, HUGE][rnd(5)] });
    }
    const sc = doc(steps) as unknown as Scenario;
    const s = new RunSession(sc);
    const replay = emptyState();
    let checked = 0;
    let drops = 0;
    while (s.next()) {
      for (const ev of s.out) {
        apply(replay, ev);
        if (ev.kind === 'iotlb-inval' || ev.kind === 'atc-inval') drops += ev.dropped;
      }
      expect(Object.keys(replay.s.iotlb).sort()).toEqual(Object.keys(s.state.s.iotlb).sort());
      expect(Object.keys(replay.s.atc).sort()).toEqual(Object.keys(s.state.s.atc).sort());
      checked++;
    }
    expect(checked).toBe(steps.length + 1);
    expect(drops).toBeGreaterThan(1000);
  });
});

describe('events per step', () => {
  it(`a step past ${MAX_EVENTS_PER_STEP} events ends the run with a ScenarioRunError naming the step`, () => {
    const ctx = new Ctx(emptyState(), {});
    ctx.beginStep(7);
    const emitOne = () => ctx.emit({ kind: 'pt-root', root: 1, owner: 'p', ioas: null });
    for (let i = 0; i < MAX_EVENTS_PER_STEP; i++) emitOne();
    expect(emitOne).toThrow(new ScenarioRunError(7, `produced more than ${MAX_EVENTS_PER_STEP} events, the most one step may produce; split it into smaller steps`));
    ctx.beginStep(8);
    expect(emitOne).not.toThrow();
  });
});

describe('generated scenarios: scale bounded', () => {
  it('--scale past the bound: one line, exit 2, no trace', () => {
    refused({}, ['record', 'stress', '--scale', '99999999999999999999', '-o', 'out.iotrace'], `--scale takes an integer 0..${MAX_SCALE}, got "99999999999999999999"`);
    refused({}, ['record', 'stress', '--scale', String(MAX_SCALE + 1), '-o', 'out.iotrace'], `--scale takes an integer 0..${MAX_SCALE}, got "${MAX_SCALE + 1}"`);
  });

  it('generate.params.scale past the bound (a file, or a trace header through verify): refused by the validator', () => {
    const text = JSON.stringify(doc([], { generate: { builder: 'stress', params: { scale: 1e15 } } }));
    refused({ 'gen.json': text }, ['record', 'gen.json', '-o', 'out.iotrace'], `gen.json: generate.params.scale: expected an integer 0..${MAX_SCALE} (about that many events), got 1000000000000000 (line 1, column 481)`);
    expect(() => parseScenario(JSON.stringify(doc([], { generate: { builder: 'stress', params: { scale: 10, loops: 5 } } })), 'g.json')).toThrow('g.json: generate.params.loops: unknown parameter (known: scale)');
  });
});

describe('matrix: combinations bounded', () => {
  const axes: Record<string, Record<string, string>> = {};
  for (let i = 0; i < 40; i++) axes[`a${String(i).padStart(2, '0')}`] = { on: 'x', off: 'y' };
  const text = JSON.stringify(doc([], { variants: axes }));

  it(`40 two-valued axes (2^40 combinations): refused at once, saying how to pin axes`, () => {
    refused({ 'axes.json': text }, ['matrix', 'axes.json', '-o', 'out'],
      `scenario attack: 1099511627776 variant combinations over 40 unpinned axes (a00 (2), a01 (2), a02 (2), a03 (2), a04 (2), a05 (2), ...), more than the ${MAX_COMBINATIONS} iotrace matrix runs; pin axes with --variant axis=value (each pin divides the count by that axis's number of values), e.g. --variant a00=on`);
  });

  it(`pinning 32 of them leaves 2^8 = ${MAX_COMBINATIONS}: runs`, () => {
    const dir = tmp();
    writeFileSync(join(dir, 'axes.json'), text);
    const pins = Object.keys(axes).slice(0, 32).flatMap((a) => ['--variant', `${a}=off`]);
    const r = cli(dir, 'matrix', 'axes.json', ...pins);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^attack: ${MAX_COMBINATIONS} combination\\(s\\)`));
  });

  it('combinations() itself never lists past its limit', () => {
    expect(() => combinations(parseScenario(text, 'axes.json'))).toThrow(RangeError);
  });
});

describe('numeric options bounded', () => {
  it('--dump past the bound (replay, diff)', () => {
    refused({}, ['replay', GOLDEN, '--dump', '100000x100000'], `--dump takes COLSxROWS, 40..${DUMP_MAX_COLS} x 12..${DUMP_MAX_ROWS}, got "100000x100000"`);
    refused({}, ['diff', GOLDEN, GOLDEN, '--dump', `${DUMP_MAX_COLS + 1}x40`], `--dump takes COLSxROWS, 60..${DUMP_MAX_COLS} x 12..${DUMP_MAX_ROWS}, got "${DUMP_MAX_COLS + 1}x40"`);
    refused({}, ['replay', GOLDEN, '--dump', `120x${DUMP_MAX_ROWS + 1}`], `--dump takes COLSxROWS, 40..${DUMP_MAX_COLS} x 12..${DUMP_MAX_ROWS}, got "120x${DUMP_MAX_ROWS + 1}"`);
  });

  it('--context and --hunks past their bounds', () => {
    refused({}, ['diff', GOLDEN, GOLDEN, '--context', '1000000'], `--context takes an integer 0..${MAX_CONTEXT}, got "1000000"`);
    refused({}, ['diff', GOLDEN, GOLDEN, '--hunks', String(MAX_HUNKS + 1)], `--hunks takes an integer 0..${MAX_HUNKS}, got "${MAX_HUNKS + 1}"`);
  });

  it('--from / --to beyond 2^53 and --seed beyond 32 bits', () => {
    refused({}, ['events', GOLDEN, '--from', '1'.repeat(30)], `--from takes an integer 0..${Number.MAX_SAFE_INTEGER}, got "${'1'.repeat(30)}"`);
    refused({}, ['run', 'dwq-gpasid', '--seed', '4294967296'], '--seed takes an integer 0..4294967295, got "4294967296"');
  });
});

describe('ScenarioError messages are one line whatever the file holds', () => {
  it('a key with a newline and a huge value are quoted, never raw or whole', () => {
    try {
      parseScenario(JSON.stringify(doc([{ op: 'dma', rid: '00:02.0', addr: 'x'.repeat(100_000), 'a\nFAULT\x1b[2J': 1 }])), 'k.json');
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      const m = (e as Error).message;
      expect(m).not.toContain('\n');
      expect(m).toContain('steps[0].a\\x0aFAULT\\x1b[2J: unknown field');
      expect(m).toMatch(/got "x{70,}\.\.\./);
      expect(m.length).toBeLessThan(1000);
    }
  });
});
