// iotrace import on the real logs captured with QEMU on this machine
// (test/fixtures/import/, README there): what each trace holds is checked
// against the log's own lines, read here with plain patterns, not with the
// importer: counts per kind, each invalidation descriptor against QEMU's
// own decode of it, the faults. Then the commands that read traces (info,
// events, state, verify, diff, export) on the imports, and the debugger.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../engine/types.js';
import { FIXTURES, tmp } from './import-helpers.js';
import { decode, trackPath } from './perfetto-decode.js';
import { KEY, openUi } from './tui-helpers.js';

const BIN = join(process.cwd(), 'dist', 'cli', 'main.js');
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, timeout: 120_000 });

const dir = tmp();
const lines = (name: string): string[] => readFileSync(join(FIXTURES, name), 'utf8').split('\n').filter((l) => l !== '');
const count = (ls: string[], re: RegExp): number => ls.filter((l) => re.test(l)).length;

interface Imported { json: { events: number; kinds: Record<string, number>; faults: number; firstFault: number | null; source: { skipped: Record<string, number>; malformed: number; lines: number } }; events: TraceEvent[]; path: string }

function importFixture(tool: 'qemu' | 'ftrace', name: string): Imported {
  const path = join(dir, `${name}.iotrace`);
  const r = cli(dir, 'import', tool, join(FIXTURES, name), '-o', path, '--json');
  expect(r.status, r.stderr).toBe(0);
  const ev = cli(dir, 'events', path, '--json');
  expect(ev.status, ev.stderr).toBe(0);
  return { json: JSON.parse(r.stdout) as Imported['json'], events: ev.stdout.trim().split('\n').map((l) => JSON.parse(l) as TraceEvent), path };
}

/** The event(s) read from line n of the log. */
const atLine = (events: TraceEvent[], n: number): TraceEvent[] => events.filter((e) => e.obs?.line === n);
const hex = (s: string | undefined): number => parseInt(s ?? 'NaN', 16);

describe.each(['qemu-vtd-scalable.log', 'qemu-vtd-legacy.log'])('import qemu %s (QEMU 7.2 intel-iommu, -trace vtd_*)', (name) => {
  let t: Imported;
  const log = lines(name);
  beforeAll(() => { t = importFixture('qemu', name); });

  it('has an event per traced fact: counts per kind from the log\'s own lines', () => {
    const k = t.json.kinds;
    expect(t.json.source.lines).toBe(log.length);
    expect(t.json.source.malformed).toBe(0);
    // Every descriptor is one event: the invalidations, and wait / IEC descriptors as calls (vtd_process_inv_desc).
    expect(k['iotlb-inval']).toBe(count(log, /vtd_inv_desc invalidate desc type iotlb /) + count(log, /vtd_iotlb_reset /));
    // QEMU 7.2 also resets its context cache on a root-table switch and translation enable (vtd_context_cache_reset).
    expect(k['context-cache-inval']).toBe(count(log, /vtd_inv_desc invalidate desc type context-cache /) + count(log, /vtd_context_cache_reset/));
    expect(stateEventsAt(t.events, log, /vtd_inv_desc invalidate desc type (wait|iec) /)).toEqual([]);
    // One DMA per translation and per fault.
    expect(k.dma).toBe(count(log, /vtd_dmar_translate /) + count(log, /vtd_dmar_fault /));
    expect(k.fault).toBe(count(log, /vtd_dmar_fault /));
    // A fill per IOTLB update; a page hit on a line filled before the log's window shows that line too.
    expect(k['iotlb-fill']).toBeGreaterThanOrEqual(count(log, /vtd_iotlb_page_update /));
    expect(k['iotlb-fill']).toBeLessThanOrEqual(count(log, /vtd_iotlb_page_update /) + count(log, /vtd_iotlb_page_hit /));
    expect(k['context-cache-fill']).toBeGreaterThanOrEqual(count(log, /vtd_iotlb_cc_update /));
    // Lines with no model counterpart are counted by name, none lost.
    expect(t.json.source.skipped.vtd_reg_read).toBe(count(log, /vtd_reg_read /));
    expect(t.json.source.skipped.vtd_ir_remap).toBe(count(log, /vtd_ir_remap /));
    expect(t.json.source.skipped.vtd_inv_qi_head).toBe(count(log, /vtd_inv_qi_head /));
  });

  it('decodes every invalidation descriptor as QEMU itself decoded it on the next line', () => {
    let checked = 0;
    log.forEach((line, i) => {
      if (!/vtd_inv_desc invalidate desc type (iotlb|context-cache) /.test(line)) return;
      const [ev] = atLine(t.events, i + 1);
      const next = log[i + 1] ?? '';
      let m: RegExpExecArray | null;
      if ((m = /vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x([0-9a-f]+) addr 0x([0-9a-f]+) mask 0x([0-9a-f]+)/.exec(next))) {
        expect(ev).toMatchObject({ kind: 'iotlb-inval', desc: 2, granularity: 'page', did: hex(m[1]), addr: hex(m[2]), npages: 2 ** hex(m[3]) });
      } else if ((m = /vtd_inv_desc_iotlb_domain iotlb invalidate whole domain 0x([0-9a-f]+)/.exec(next))) {
        expect(ev).toMatchObject({ kind: 'iotlb-inval', granularity: 'domain', did: hex(m[1]) });
      } else if (/vtd_inv_desc_iotlb_global/.test(next)) {
        expect(ev).toMatchObject({ kind: 'iotlb-inval', granularity: 'global', did: null });
      } else if (/vtd_inv_desc_cc_global/.test(next)) {
        expect(ev).toMatchObject({ kind: 'context-cache-inval', granularity: 'global' });
      } else if ((m = /vtd_inv_desc_cc_domain context invalidate domain 0x([0-9a-f]+)/.exec(next))) {
        expect(ev).toMatchObject({ kind: 'context-cache-inval', granularity: 'domain', did: hex(m[1]) });
      } else if ((m = /vtd_inv_desc_cc_devices context invalidate devices sid 0x([0-9a-f]+) fmask 0x([0-9a-f]+)/.exec(next))) {
        const sid = hex(m[1]);
        const rid = `${(sid >> 8).toString(16).padStart(2, '0')}:${((sid >> 3) & 31).toString(16).padStart(2, '0')}.${sid & 7}`;
        expect(ev).toMatchObject({ kind: 'context-cache-inval', granularity: 'device', rid, fm: hex(m[2]) });
      } else return;
      checked++;
    });
    // The trimmed logs keep the boot's global and per-device invalidations and the NIC's page invalidations.
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  it('the faults are the NIC\'s descriptor fetches at the unmapped IOVA, as QEMU reported them', () => {
    const faults = log.map((l, i) => [l, i + 1] as const).filter(([l]) => /vtd_dmar_fault /.test(l));
    const evs = t.events.filter((e) => e.kind === 'fault');
    expect(evs.map((e) => e.obs?.line)).toEqual(faults.map(([, n]) => n));
    for (const [ev, [l]] of evs.map((e, i) => [e, faults[i] as readonly [string, number]] as const)) {
      const m = /sid 0x([0-9a-f]+) fault (\d+) addr 0x([0-9a-f]+) write (\d)/.exec(l) as RegExpExecArray;
      expect(ev).toMatchObject({ source: 'iommu', rid: '00:03.0', reason: Number(m[2]), addr: hex(m[3]) });
    }
    // Reads of the TX descriptor (reason 6), then the write-back (reason 5).
    expect(evs[0]).toMatchObject({ reason: 6, name: 'PTE Read access is not set' });
    expect(evs.at(-1)).toMatchObject({ reason: 5, name: 'PTE Write access is not set' });
    expect(t.json.firstFault).toBe(evs[0]?.seq);
  });

  it('info names the source, verify checks what it can and says what it cannot, state says what is unknown', () => {
    const info = cli(dir, 'info', t.path);
    expect(info.status).toBe(0);
    expect(info.stdout).toContain(`imported   from a qemu log: ${name}`);
    expect(info.stdout).toMatch(/sha256 [0-9a-f]{64}/);
    const v = cli(dir, 'verify', t.path);
    expect(v.status).toBe(0);
    expect(v.stdout).toContain('unchecked  that the events are what the source log says');
    const vs = cli(dir, 'verify', t.path, '--source', join(FIXTURES, name), '--json');
    expect(vs.status, vs.stdout).toBe(0);
    expect(JSON.parse(vs.stdout)).toMatchObject({ ok: true, source: { matches: true, divergence: null }, unchecked: [] });
    const st = cli(dir, 'state', t.path, '--at', 'first-fault', '--json');
    expect(st.status).toBe(0);
    const state = JSON.parse(st.stdout) as { unknownSections: string[]; sections: Record<string, Record<string, unknown>> };
    expect(state.unknownSections).toContain('pasid');
    expect(state.unknownSections).not.toContain('iotlb');
    expect(Object.keys(state.sections.iotlb ?? {}).length).toBeGreaterThan(0);
  });
});

/** The kinds of the events other than calls read from the lines matching `re`. */
function stateEventsAt(events: TraceEvent[], log: string[], re: RegExp): string[] {
  return log.flatMap((l, i) => (re.test(l) ? atLine(events, i + 1).filter((e) => e.kind !== 'kcall').map((e) => e.kind) : []));
}

describe('import qemu qemu-smmuv3.log (QEMU 7.2 virt,iommu=smmuv3, -trace smmu*)', () => {
  const log = lines('qemu-smmuv3.log');
  let t: Imported;
  beforeAll(() => { t = importFixture('qemu', 'qemu-smmuv3.log'); });

  it('commands, translations and the translation faults with their addresses', () => {
    const k = t.json.kinds;
    expect(t.json.source.malformed).toBe(0);
    expect(k.kcall).toBe(count(log, /smmuv3_cmdq_opcode /));
    expect(k.fault).toBe(count(log, /smmuv3_record_event /));
    expect(k['iotlb-fill']).toBe(count(log, /smmu_iotlb_insert /));
    expect(k['iotlb-inval']).toBe(count(log, /smmuv3_s1_range_inval /) + count(log, /smmu_iotlb_inv_(all|asid) /));
    // Each fault follows a lookup miss whose walk found no PTE: the address is the miss's.
    for (const f of t.events.filter((e) => e.kind === 'fault')) {
      const before = log.slice(0, f.obs?.line).reverse().find((l) => /smmu_iotlb_lookup_miss /.test(l)) ?? '';
      expect(f).toMatchObject({ source: 'smmu', reason: 0x10, name: 'F_TRANSLATION', addr: hex(/addr=0x([0-9a-f]+)/.exec(before)?.[1]) });
    }
  });
});

describe.each(['guest-ftrace-scalable.txt', 'guest-ftrace-legacy.txt', 'guest-ftrace-arm64.txt', 'guest-trace-cmd-scalable.txt'])('import ftrace %s (the guest kernel\'s tracefs, trace-cmd report)', (name) => {
  const log = lines(name);
  let t: Imported;
  beforeAll(() => { t = importFixture('ftrace', name); });

  it('every qi_submit descriptor is its invalidation, fields as the qwords give them', () => {
    const k = t.json.kinds;
    expect(t.json.source.malformed).toBe(0);
    expect(k['iotlb-inval'] ?? 0).toBe(count(log, /qi_submit:\s+(p_)?iotlb_inv /));
    expect(k['pasid-cache-inval'] ?? 0).toBe(count(log, /qi_submit:\s+pc_inv /));
    expect(k['context-cache-inval'] ?? 0).toBe(count(log, /qi_submit:\s+cc_inv /));
    expect(k.kcall ?? 0).toBe(count(log, /(qi_submit:\s+iec_inv|: map:\s|: unmap:\s|add_device_to_group|attach_device_to_domain|tracing_mark_write)/));
    log.forEach((l, i) => {
      const m = /qi_submit:\s+iotlb_inv \S+: 0x([0-9a-f]+) 0x([0-9a-f]+)/.exec(l);
      if (!m) return;
      const qw0 = BigInt(`0x${m[1]}`);
      expect(atLine(t.events, i + 1)[0]).toMatchObject({ kind: 'iotlb-inval', desc: 2, ...((qw0 >> 4n) & 3n) !== 1n ? { did: Number((qw0 >> 16n) & 0xffffn) } : {} });
    });
  });
});

describe('import: bad usage and bad input', () => {
  it('is one line and exit 2: an unknown tool, a missing file, a folder, the output as the input', () => {
    for (const [args, msg] of [
      [['import', 'perf', join(FIXTURES, 'qemu-vtd-legacy.log')], /import takes qemu or ftrace, got "perf"/],
      [['import', 'qemu', join(dir, 'nope.log')], /nope\.log: no such file/],
      [['import', 'qemu', dir], /not a regular file/],
      [['import', 'qemu', join(FIXTURES, 'qemu-vtd-legacy.log'), '-o', join(FIXTURES, 'qemu-vtd-legacy.log')], /is the input/],
    ] as const) {
      const r = cli(dir, ...args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('without -o writes <log>.iotrace in the current folder and says how to open it', () => {
    const cwd = tmp();
    const r = cli(cwd, 'import', 'ftrace', join(FIXTURES, 'guest-ftrace-legacy.txt'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('to guest-ftrace-legacy.iotrace');
    expect(r.stdout).toMatch(/next: iotrace replay guest-ftrace-legacy\.iotrace\n$/);
  });
});

describe('iotrace diff and export on imported traces', () => {
  it('diff aligns two imports of the same machine in two modes by what happened, not by line or time', () => {
    const a = importFixture('qemu', 'qemu-vtd-scalable.log').path;
    const b = importFixture('qemu', 'qemu-vtd-legacy.log').path;
    const same = cli(dir, 'diff', a, a);
    expect(same.status).toBe(0);
    const d = cli(dir, 'diff', a, b, '--json');
    expect(d.status).toBe(1);
    const out = JSON.parse(d.stdout) as { a: { imported: { file: string } }; b: { imported: { file: string } }; commonPrefix: number; retimed: number; firstDivergence: { a: number; op: string; fields: string[] }; hunks: { op: string }[][] };
    expect(out.a.imported.file).toBe('qemu-vtd-scalable.log');
    expect(out.b.imported.file).toBe('qemu-vtd-legacy.log');
    // The boot's context-cache resets and first IEC descriptor are the same events in both, read from other lines:
    // aligned as retimed rows ('t'), so the exact common prefix ends at the first of them.
    expect(out.firstDivergence).toMatchObject({ a: out.commonPrefix, op: 't', fields: ['obs'] });
    expect(out.hunks[0]?.slice(0, 3).map((r) => r.op)).toEqual(['t', 't', 't']);
    expect(out.retimed).toBeGreaterThanOrEqual(3);
  });

  it('export --format perfetto puts each event at the log\'s own time, the fault on its device\'s track', () => {
    const p = importFixture('qemu', 'qemu-vtd-scalable.log');
    const out = join(dir, 'vtd.pftrace');
    const x = cli(dir, 'export', p.path, '--format', 'perfetto', '-o', out);
    expect(x.status, x.stderr).toBe(0);
    const d = decode(readFileSync(out));
    const fault = p.events.find((e) => e.kind === 'fault') as TraceEvent;
    const slice = d.slices.find((s) => s.args.seq === fault.seq);
    // obs.ts: ns since the log's first timestamp, as QEMU printed them (microseconds); the blocked DMA of the same
    // line comes first, and the exporter lays a line's events side by side within that microsecond.
    const ts = fault.obs?.ts as number;
    expect(ts % 1000).toBe(0);
    expect(slice?.ts).toBeGreaterThan(ts);
    expect(slice?.ts).toBeLessThan(ts + 1000);
    expect(trackPath(d, slice?.track ?? -1)).toMatch(/00:03\.0/);
  });

  it('export keeps every event\'s source line', () => {
    const p = importFixture('qemu', 'qemu-vtd-scalable.log');
    const x = cli(dir, 'export', p.path, '--format', 'jsonl');
    expect(x.status).toBe(0);
    const out = x.stdout.trim().split('\n').map((l) => JSON.parse(l) as TraceEvent);
    expect(out).toHaveLength(p.json.events);
    expect(out.find((e) => e.kind === 'fault')?.obs?.raw).toMatch(/vtd_dmar_fault sid 0x18 fault 6/);
  });
});

describe('the QEMU import in iotrace replay', () => {
  let ui: Awaited<ReturnType<typeof openUi>>;
  afterAll(() => ui?.close());

  it('opens, jumps to the first fault and shows its source line beside the state the log rebuilt', async () => {
    const p = importFixture('qemu', 'qemu-vtd-scalable.log');
    ui = await openUi(p.path, undefined, 240, 50);
    await ui.press('f');
    expect(ui.cursorRow()).toMatch(/FAULT iommu 0x6 PTE Read access is not set: 00:03\.0/);
    const screen = ui.text();
    expect(screen).toContain('source line');
    expect(screen).toContain('vtd_dmar_fault sid 0x18 fault 6');
    expect(screen).toContain('from a qemu log: untraced sections unknown');
    expect(ui.status()).toContain('qemu log qemu-vtd-scalable.log [imported]');
    // The IOTLB lines the log filled are in the state pane.
    expect(screen).toMatch(/IOTLB \[IOMMU: DID\/PASID\/address\]/);
    // And back: one step up is the DMA the fault blocked, at the address QEMU's first vtd_dmar_fault line gives.
    const addr = /vtd_dmar_fault sid 0x18 fault 6 addr (0x[0-9a-f]+)/.exec(lines('qemu-vtd-scalable.log').join('\n'))?.[1];
    await ui.press(KEY.up);
    expect(ui.cursorRow()).toContain(`DMA read 00:03.0 no PASID ${addr} -> blocked`);
  });
});
