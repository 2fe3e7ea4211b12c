// Attacks from a red-team review of 90673b1, one class each, every test
// asserting the true answer: a source log that is a FIFO or a device
// (verify --source blocked, or hashed /dev/zero for ever); an import whose
// platform the reader refuses (exit 0, then 0 events read back); record -o
// naming its own scenario file (the JSON replaced by the trace); a VT-d mask
// QEMU never prints (npages Infinity, printed as null in JSON); a footer
// listing a kind no event has; a scenario number JSON reads as Infinity
// (recorded into a header every reader refuses: seed 1, case 125 283).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FTRACE } from '../importers/ftrace.js';
import { importLog } from '../importers/import.js';
import { QEMU } from '../importers/qemu.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { loadScenario } from '../scenarios/index.js';
import { forge } from './forge.js';
import { recordTo, tmp } from './trace-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });

describe('verify --source takes a regular file only', () => {
  it('a FIFO or /dev/zero as the source log: one line, exit 2, at once', () => {
    const dir = tmp();
    copyFileSync('test/fixtures/import/qemu-vtd-ats.log', join(dir, 'q.log'));
    expect(cli(dir, 'import', 'qemu', 'q.log', '-o', 'q.iotrace').status).toBe(0);
    expect(spawnSync('mkfifo', [join(dir, 'ff')]).status).toBe(0);
    for (const src of ['ff', '/dev/zero']) {
      const r = cli(dir, 'verify', 'q.iotrace', '--source', src);
      expect(r.status, src).toBe(2);
      expect(r.stderr).toBe(`iotrace: ${src}: not a regular file\n`);
    }
  });
});

describe('import never writes a platform the reader refuses', () => {
  it('a log naming 65 600 IOMMUs is refused in one line and leaves no file', async () => {
    const dir = tmp();
    let s = '';
    for (let i = 0; i < 65_600; i++) s += `t-1 [000] 1.${String(i).padStart(6, '0')}: cache_tag_assign: u${i}/0000:00:02.0 type iotlb did 1 pasid 0 ref 1\n`;
    writeFileSync(join(dir, 'f.txt'), s);
    await expect(importLog(join(dir, 'f.txt'), join(dir, 'f.iotrace'), FTRACE)).rejects.toThrow(/a platform no trace can hold \(platform: describes 65603 cells/);
    expect(existsSync(join(dir, 'f.iotrace'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['f.txt']);
  }, 120_000);
});

describe('record -o never replaces its own scenario file', () => {
  it('the same path, another spelling of it or a hard link: one line, exit 2, the scenario unchanged', () => {
    const dir = tmp();
    copyFileSync('scenarios/dwq-gpasid.json', join(dir, 's.json'));
    linkSync(join(dir, 's.json'), join(dir, 'h.json'));
    const before = readFileSync(join(dir, 's.json'), 'utf8');
    for (const out of ['s.json', './s.json', 'h.json']) {
      const r = cli(dir, 'record', 's.json', '-o', out);
      expect(r.status, out).toBe(2);
      expect(r.stderr).toBe(`iotrace: ${out}: is the input; refusing to write over it (name another output)\n`);
    }
    expect(readFileSync(join(dir, 's.json'), 'utf8')).toBe(before);
  });
});

describe('a VT-d address mask QEMU never prints', () => {
  it('mask over VTD_MAMV (18) is a malformed line; 18 itself imports as 2^18 pages', async () => {
    const dir = tmp();
    const line = (mask: number): string => `vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x1 addr 0x0 mask 0x${mask.toString(16)}`;
    writeFileSync(join(dir, 'q.log'), [line(0x12), line(0x13), line(0x400)].join('\n') + '\n');
    await importLog(join(dir, 'q.log'), join(dir, 'q.iotrace'), QEMU);
    const r = TraceReplayer.open(join(dir, 'q.iotrace'));
    try {
      expect(r.header.imported?.malformed).toBe(2);
      const inval = r.events(0, r.count).filter((e) => e.kind === 'iotlb-inval');
      expect(inval.map((e) => (e as { npages: number | null }).npages)).toEqual([2 ** 18]);
    } finally { r.close(); }
  });
});

describe('a footer listing a kind no event has, with a count of 0', () => {
  it('info lists only the kinds the events hold', () => {
    const dir = tmp();
    const good = recordTo(dir, 'good', loadScenario('dwq-gpasid'), { pasid: 'translated' }, { chunkEvents: 4, checkpointEvery: 8 }).path;
    const p = join(dir, 'phantom-kinds.iotrace');
    writeFileSync(p, forge(good, { footer: (d) => { (d.kinds as Record<string, number>)['zz-made-up'] = 0; } }));
    const j = JSON.parse(cli(dir, 'info', p, '--json').stdout) as { kinds: Record<string, number> };
    expect(Object.keys(j.kinds)).not.toContain('zz-made-up');
    expect(j.kinds.fault).toBe(1);
  });
});

describe('a scenario number JSON reads as Infinity', () => {
  it('is refused by run, record and matrix -o in one line naming its path, and nothing is written (the header would be unreadable)', () => {
    const dir = tmp();
    const doc = JSON.parse(readFileSync('scenarios/pasid-cap-migration.json', 'utf8')) as { variants: Record<string, Record<string, unknown>> };
    const [axis, values] = Object.entries(doc.variants)[0] as [string, Record<string, unknown>];
    const value = Object.keys(values)[1] as string;
    // The description of a variant value, the place the campaign found: no field check looks at it.
    const text = JSON.stringify(doc, null, 2).replace(`"${value}": ${JSON.stringify(values[value])}`, `"${value}": 1${'0'.repeat(400)}`);
    writeFileSync(join(dir, 's.json'), text);
    for (const args of [['run', 's.json'], ['record', 's.json', '-o', 'out.iotrace'], ['matrix', 's.json', '-o', 'm']]) {
      const r = cli(dir, ...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^iotrace: [^\\n]*variants\\.${axis}\\.${value}: a number too large for a double \\(JSON reads it as Infinity\\), which no trace can hold \\(line \\d+, column \\d+\\)\\n$`));
    }
    expect(readdirSync(dir)).toEqual(['s.json']);
  });
});
