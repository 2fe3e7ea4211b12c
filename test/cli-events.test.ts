// iotrace events filters (issue 14 §3): --kind (kinds and families,
// validated, did-you-mean), --rid, --pasid (any PASID an event carries),
// --cmd, --grep, --from/--to; the same matcher as the TUI's search.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matches } from '../replayer/search.js';
import { TraceReplayer } from '../replayer/replayer.js';
import { parseQuery } from '../tui/search.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
const T = join(process.cwd(), 'traces', 'dwq-gpasid--pasid=translated.iotrace');
const seqs = (out: string): number[] => out.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq);

describe('iotrace events filters', () => {
  it('--pasid finds every event carrying the PASID: host and guest fields, ioctl args, kernel-call outputs, the MSR, ENQCMD', () => {
    const r = cli('events', T, '--pasid', '5', '--json');
    expect(r.status, r.stderr).toBe(0);
    const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; seq: number });
    const kinds = evs.map((e) => e.kind);
    for (const k of ['kcall', 'guest-pasid-write', 'kvm-pasid-map', 'ioctl', 'msr-write', 'wq-config', 'enqcmd', 'dma', 'fault']) expect(kinds, k).toContain(k);
    // 0x5 is the same PASID.
    expect(seqs(cli('events', T, '--pasid', '0x5', '--json').stdout)).toEqual(evs.map((e) => e.seq));
  });

  it('--kind takes kinds and families, repeated or comma-separated; --rid, --cmd, --grep and --from/--to narrow it', () => {
    const table = seqs(cli('events', T, '--kind', 'table', '--json').stdout);
    expect(table.length).toBeGreaterThan(3);
    const two = seqs(cli('events', T, '--kind', 'pasid-write,fault', '--json').stdout);
    expect(two).toEqual(seqs(cli('events', T, '--kind', 'pasid-write', '--kind', 'fault', '--json').stdout));
    expect(seqs(cli('events', T, '--kind', 'fault', '--rid', '00:02.0', '--json').stdout)).toEqual([40]);
    expect(cli('events', T, '--cmd', 'KVM_SET_PASID_MAPPING').stdout).toMatch(/^ +31 t14 +ioctl +KVM_SET_PASID_MAPPING/);
    expect(seqs(cli('events', T, '--grep', 'SM: present BIT', '--json').stdout)).toEqual([40]);
    expect(seqs(cli('events', T, '--from', '30', '--to', '33', '--json').stdout)).toEqual([30, 31, 32]);
  });

  it('--thread keeps the events of one thread of a threaded run, as the TUI\'s thread: search does', () => {
    const race = join(process.cwd(), 'traces', 'race-quota--locking=check-then-charge.iotrace');
    const r = cli('events', race, '--thread', 'vcpu1', '--json');
    expect(r.status, r.stderr).toBe(0);
    const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { thread?: string; seq: number });
    expect(evs.length).toBeGreaterThan(0);
    expect(evs.every((e) => e.thread === 'vcpu1')).toBe(true);
    const t = TraceReplayer.open(race);
    try {
      const q = parseQuery('thread:vcpu1');
      expect(evs.map((e) => e.seq)).toEqual(t.events(0, t.count).filter((e) => matches(e, q)).map((e) => e.seq));
    } finally { t.close(); }
  });

  it('a filter that matches nothing says so on stderr, and why when the kind is absent; exit 0', () => {
    const r = cli('events', join(process.cwd(), 'traces', 'dwq-gpasid--pasid=identity.iotrace'), '--kind', 'fault');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^iotrace: no event matches --kind fault in steps 0\.\.39 of .*; those steps hold no fault event\n$/);
  });

  it('usage mistakes are one line, exit 2, with did-you-mean for kinds', () => {
    const k = cli('events', T, '--kind', 'faults');
    expect(k.status).toBe(2);
    expect(k.stderr).toMatch(/^iotrace: --kind: "faults" is not an event kind or family \(did you mean fault\?\)/);
    expect(cli('events', T, '--kind', 'pasid-wirte').stderr).toMatch(/did you mean pasid-write\?/);
    expect(cli('events', T, '--rid', '2').stderr).toMatch(/^iotrace: --rid takes a requester id bus:dev\.fn/);
    expect(cli('events', T, '--pasid', 'five').stderr).toMatch(/^iotrace: --pasid takes a PASID/);
    expect(cli('events', T, '--from', '9', '--to', '3').stderr).toBe('iotrace: --from 9 is past --to 3\n');
    for (const args of [['--kind', 'faults'], ['--rid', '2'], ['--pasid', 'five']]) expect(cli('events', T, ...args).stderr.split('\n')).toHaveLength(2);
  });

  it('--rid and rid: find every VFIO ioctl naming the device (dev=), in the CLI and the TUI alike', () => {
    const evs = JSON.parse(`[${cli('events', T, '--rid', '00:02.0', '--kind', 'ioctl', '--json').stdout.trim().split('\n').join(',')}]`) as { seq: number; cmd: string; args: { dev?: string } }[];
    // Steps 3, 5 and 13 of dwq-gpasid: the bind and both attaches name the device only as dev="00:02.0".
    expect(evs.map((e) => [e.seq, e.cmd])).toEqual([[7, 'VFIO_DEVICE_BIND_IOMMUFD'], [15, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT'], [29, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT']]);
    expect(evs.every((e) => e.args.dev === '00:02.0')).toBe(true);
    const r = TraceReplayer.open(T);
    try {
      const q = parseQuery('ioctl rid:00:02.0');
      expect(r.events(0, r.count).filter((e) => matches(e, q)).map((e) => e.seq)).toEqual([7, 15, 29]);
      expect(r.search(parseQuery('00:02.0 cmd:VFIO_DEVICE_BIND_IOMMUFD'), -1, 1)).toBe(7);
    } finally { r.close(); }
  });

  it('the TUI search and events select the same events (one matcher)', () => {
    const r = TraceReplayer.open(T);
    try {
      const all = r.events(0, r.count);
      for (const [query, args] of [['pasid:5', ['--pasid', '5']], ['table 00:02.0', ['--kind', 'table', '--rid', '00:02.0']], ['kind:invalidation', ['--kind', 'invalidation']], ['"PASID 1"', ['--grep', 'PASID 1']], ['cmd:IOMMU_HWPT_ALLOC', ['--cmd', 'IOMMU_HWPT_ALLOC']]] as const) {
        const q = parseQuery(query);
        expect(seqs(cli('events', T, ...args, '--json').stdout), query).toEqual(all.filter((e) => matches(e, q)).map((e) => e.seq));
      }
    } finally { r.close(); }
  });
});
