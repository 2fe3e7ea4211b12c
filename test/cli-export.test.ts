// iotrace export through the built binary (issue 16 part 1): jsonl by
// default, perfetto decoded with the .proto, Chrome JSON with the same
// names, tracks, flows and metadata, and --from/--to/--kind for all three.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decode, trackPath } from './perfetto-decode.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const T = join(process.cwd(), 'traces', 'dwq-gpasid--pasid=translated.iotrace');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'buffer', timeout: 60_000 });
const text = (b: Buffer): string => b.toString('utf8');
const hasPty = spawnSync('python3', ['-c', 'import pty']).status === 0;

/** The binary in a pseudo-terminal (test/pty-run.py): stdout and stderr are the terminal. */
async function inPty(cwd: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn('python3', [join(process.cwd(), 'test', 'pty-run.py'), '120', '40', process.execPath, BIN, ...args], { cwd, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => { out += d; });
  child.stdin.end();
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return { code, out };
}

interface ChromeEvent { ph: string; name: string; cat?: string; pid: number; tid: number; ts?: number; dur?: number; id?: number; args?: Record<string, unknown> }
interface Chrome { metadata: Record<string, unknown>; traceEvents: ChromeEvent[] }

describe('iotrace export', () => {
  it('without --format writes JSON lines, one event per line (as --format jsonl)', () => {
    const plain = cli('export', T);
    expect(plain.status, text(plain.stderr)).toBe(0);
    const lines = text(plain.stdout).trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number });
    expect(lines.map((e) => e.seq)).toEqual([...Array(41).keys()]);
    expect(text(cli('export', T, '--format', 'jsonl').stdout)).toBe(text(plain.stdout));
  });

  it('--format perfetto -o writes a trace the .proto decodes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotrace-export-'));
    const out = join(dir, 'x.pftrace');
    const r = cli('export', T, '--format', 'perfetto', '-o', out);
    expect(r.status, text(r.stderr)).toBe(0);
    expect(readdirSync(dir)).toEqual(['x.pftrace']);
    const d = decode(readFileSync(out));
    expect(d.slices.filter((s) => s.cat !== 'step' && s.cat !== 'metadata')).toHaveLength(41);
    const fault = d.slices.find((s) => s.cat === 'fault');
    expect(fault && trackPath(d, fault.track)).toBe('device 00:02.0/DMA');
    // To stdout (a pipe here) it is the same bytes.
    expect(Buffer.compare(cli('export', T, '--format', 'perfetto').stdout, readFileSync(out))).toBe(0);
  });

  it('--from/--to/--kind select the same events in every format', () => {
    const args = ['--from', '30', '--to', '40', '--kind', 'translation,fault'];
    const jl = text(cli('export', T, ...args).stdout).trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; kind: string });
    expect(jl.map((e) => `${e.seq} ${e.kind}`)).toEqual(['34 enqcmd', '35 pasid-cache-fill', '36 iotlb-fill', '37 atc-fill', '38 dma', '39 dma']);
    const want = jl.map((e) => e.seq);
    const p = decode(cli('export', T, '--format', 'perfetto', ...args).stdout);
    expect(p.slices.filter((s) => s.cat !== 'step' && s.cat !== 'metadata').map((s) => s.args.seq)).toEqual(want);
    const c = JSON.parse(text(cli('export', T, '--format', 'chrome', ...args).stdout)) as Chrome;
    expect(c.traceEvents.filter((e) => (e.ph === 'X' || e.ph === 'i') && e.cat !== 'step' && e.cat !== 'metadata').map((e) => e.args?.seq)).toEqual(want);
    expect(c.metadata).toMatchObject({ from: 30, to: 40, kinds: ['enqcmd', 'dma', 'iotlb-fill', 'pasid-cache-fill', 'context-cache-fill', 'atc-fill', 'fault'] });
    // A fault kind only: the window 30..40 holds none, so only the metadata instant.
    const f = JSON.parse(text(cli('export', T, '--format', 'chrome', '--from', '30', '--to', '40', '--kind', 'fault').stdout)) as Chrome;
    expect(f.traceEvents.filter((e) => e.ph === 'X' || (e.ph === 'i' && e.cat !== 'metadata'))).toEqual([]);
  });

  it('--format chrome: slices named by what they are, faults on their device\'s track, no stray vCPU track, flows, metadata', () => {
    const r = cli('export', T, '--format', 'chrome');
    expect(r.status, text(r.stderr)).toBe(0);
    const c = JSON.parse(text(r.stdout)) as Chrome;
    expect(c.metadata).toMatchObject({ scenario: 'dwq-gpasid', variant: { pasid: 'translated' }, seed: 0, 'iotrace-title': 'dwq-gpasid (pasid=translated) seed 0' });
    const proc = new Map(c.traceEvents.filter((e) => e.name === 'process_name').map((e) => [e.pid, (e.args as { name: string }).name]));
    const thread = new Map(c.traceEvents.filter((e) => e.name === 'thread_name').map((e) => [`${e.pid}/${e.tid}`, `${proc.get(e.pid)}/${(e.args as { name: string }).name}`]));
    const where = (e: ChromeEvent): string | undefined => thread.get(`${e.pid}/${e.tid}`);
    const ioctls = c.traceEvents.filter((e) => e.cat === 'ioctl');
    expect(ioctls.map((e) => e.name)).toEqual(['IOMMU_IOAS_ALLOC', 'IOMMU_IOAS_MAP', 'VFIO_DEVICE_BIND_IOMMUFD', 'IOMMU_HWPT_ALLOC', 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', 'IOMMU_HWPT_ALLOC', 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', 'KVM_SET_PASID_MAPPING']);
    expect(where(ioctls[0] as ChromeEvent)).toBe('files (ioctls by fd)/iommufd');
    const fault = c.traceEvents.find((e) => e.cat === 'fault') as ChromeEvent;
    expect(fault).toMatchObject({ ph: 'i', name: 'FAULT 0x59 SM: Present bit in PASID Table Entry is clear', ts: 18.5 });
    expect(where(fault)).toBe('device 00:02.0/DMA');
    expect([...thread.values()]).toContain('VM vm0/vCPU 0');
    expect([...thread.values()].filter((n) => /vm0 vCPU|kernel\/kernel$/.test(n))).toEqual([]);
    expect(where(c.traceEvents.find((e) => e.cat === 'kvm-pasid-map') as ChromeEvent)).toBe('VM vm0/KVM');
    // Flows: each starts once ('s') and continues ('t') with the same id; the DMA at 38 continues the flow of PASID 1's write at 26.
    const flows = c.traceEvents.filter((e) => e.cat === 'flow');
    const starts = flows.filter((e) => e.ph === 's').map((e) => e.id);
    expect(new Set(starts).size).toBe(starts.length);
    for (const e of flows.filter((x) => x.ph === 't')) expect(starts).toContain(e.id);
    const slice = (seq: number): ChromeEvent => c.traceEvents.find((e) => e.args?.seq === seq && e.cat !== 'step') as ChromeEvent;
    const inside = (s: ChromeEvent) => flows.filter((f) => f.pid === s.pid && f.tid === s.tid && (f.ts as number) >= (s.ts as number) && (f.ts as number) <= (s.ts as number) + (s.dur ?? 0)).map((f) => f.id);
    expect(inside(slice(38)).some((id) => inside(slice(26)).includes(id))).toBe(true);
    // Counters per IOMMU and device.
    expect(c.traceEvents.filter((e) => e.ph === 'C').map((e) => `${proc.get(e.pid)}/${e.name}=${String((e.args as { value: number }).value)}`)).toEqual(['kernel/IOASIDs in use: set system=1', 'IOMMU dmar0/PASID-cache entries=1', 'IOMMU dmar0/IOTLB entries=1', 'device 00:02.0/ATC entries=1']);
  });

  it('in a terminal: progress on stderr while it exports, cleared at the end; a Perfetto trace is not written to the terminal', async () => {
    if (!hasPty) return;
    const dir = mkdtempSync(join(tmpdir(), 'iotrace-export-'));
    expect(cli('record', 'stress', '--scale', '20000', '-o', join(dir, 'big.iotrace')).status).toBe(0);
    const r = await inPty(dir, 'export', 'big.iotrace', '--format', 'perfetto', '-o', 'big.pftrace');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/export: \d+% \(\d+ of \d+ events\)/);
    expect(r.out.endsWith('\r\x1b[K')).toBe(true);
    expect(decode(readFileSync(join(dir, 'big.pftrace'))).slices.length).toBeGreaterThan(20_000);
    const tty = await inPty(dir, 'export', 'big.iotrace', '--format', 'perfetto');
    expect(tty.code).toBe(2);
    expect(tty.out).toMatch(/^iotrace: a Perfetto trace is binary: give -o FILE or redirect stdout\r?\n$/);
  });

  it('bad usage is one line, exit 2', () => {
    for (const [args, msg] of [
      [['--format', 'xml'], /--format must be jsonl, chrome, perfetto; got "xml"/],
      [['--kind', 'faults'], /--kind: "faults" is not an event kind or family/],
      [['--from', '9', '--to', '3'], /--from 9 is past --to 3/],
      [['--from', 'x'], /--from takes an integer/],
    ] as const) {
      const r = cli('export', T, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(text(r.stderr)).toMatch(msg);
      expect(text(r.stderr).trim().split('\n')).toHaveLength(1);
    }
  });
});
