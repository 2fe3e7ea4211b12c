// The kernel's ftrace text: a tracefs `trace` file (the "# tracer:" header,
// then `task-pid [cpu] flags timestamp: event: args`) or `trace-cmd report`
// output (a "cpus=" header, the same columns, args padded). Each tracepoint's
// TP_printk format below is copied from its kernel header:
// drivers/iommu/intel/trace.h (TRACE_SYSTEM intel_iommu; include/trace/events/intel_iommu.h
// before v6.2) and include/trace/events/iommu.h (TRACE_SYSTEM iommu).
import type { Handler, Prefix } from './ctx.js';
import { LineError } from './ctx.js';
import type { Fields } from './format.js';
import { matcher, readFields } from './format.js';
import { tracepoint } from './handler.js';
import type { LogFormat } from './import.js';
import { ridOfName, ridOfSid } from './rid.js';
import { decodeDesc, descEvent, descRid } from './vtd-desc.js';
import type { Ctx } from './ctx.js';
import type { Rid } from '../engine/types.js';

const EVENT_LINE = /^\s*(.+?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:[^\s[\]]{4,6}\s+)?(\d+)\.(\d+):\s+(?:[a-z0-9_]+:)?([a-z0-9_]+):\s*(.*)$/s;
/** trace-cmd report's header lines and its notes between events. */
const TRACE_CMD_HEADER = /^(cpus=\d+|version = |CPU ?\d+ is empty|CPU:\d+ \[LOST )/;

/** A parser of one file's lines: remembers which of the two forms the header said. */
function ftracePrefixer(): (text: string) => Prefix | null {
  let form = 'trace';
  return (text) => {
    if (text.startsWith('#')) return null;
    if (TRACE_CMD_HEADER.test(text)) { if (/^(cpus=|version = )/.test(text)) form = 'trace-cmd'; return null; }
    const m = EVENT_LINE.exec(text);
    if (!m) throw new LineError(`not an ftrace event line (expected "task-pid [cpu] timestamp: event: args"): ${JSON.stringify(text.slice(0, 80))}`);
    const [, task = '', pid = '', cpu = '', sec = '', frac = '', event = '', args = ''] = m;
    return {
      event, args: args.trimEnd(), ns: BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9)), tsText: `${sec}.${frac}`,
      pid: Number(pid), cpu: Number(cpu), task: task.trim(), form,
    };
  };
}

/** An IOMMU the kernel names: DMAR units are VT-d, the rest (arm-smmu-v3.N.auto) SMMUv3. */
const iommuOf = (c: Ctx, name: string): string => c.iommu(name, /^dmar\d+$/.test(name) ? 'vtd' : 'smmuv3');

/** A device by its kernel name, behind `iommu`: a PCI name is a RID; any other name stays a name. */
function deviceOf(c: Ctx, name: string, iommu: string | null): Rid | null {
  const rid = ridOfName(name);
  return rid ? c.device(rid, iommu) : null;
}

/** A traced kernel call with no modelled state effect. */
const call = (c: Ctx, fn: string, args: Record<string, number | string | null>, out: Record<string, number | string> = {}): void => {
  c.emit({ kind: 'kcall', fn, args, errno: null, out });
};

/** decode_prq_descriptor() (drivers/iommu/intel/iommu.h): the page request as the tracepoint prints it. */
const PRQ = [
  matcher('prq_report', 'rid=0x%llx addr=0x%llx %c%c%c%c%c pasid=0x%llx index=0x%llx', ['rid', 'addr', 'r', 'w', 'x', 'p', 'l', 'pasid', 'index']),
  matcher('prq_report', 'rid=0x%llx addr=0x%llx %c%c%c%c%c pasid=0x%llx index=0x%llx private=0x%llx/0x%llx', ['rid', 'addr', 'r', 'w', 'x', 'p', 'l', 'pasid', 'index', 'priv0', 'priv1']),
];

const CACHE_TAG = '%s/%s type %s did %d pasid %d ref %d';
const CACHE_TAG_FIELDS = ['iommu', 'dev', 'type', 'did', 'pasid', 'users'];
const CACHE_TAG_FLUSH = '%s %s[%d] type %s did %d [0x%lx-0x%lx] addr 0x%lx pages 0x%lx mask 0x%lx';
const CACHE_TAG_FLUSH_FIELDS = ['iommu', 'dev', 'pasid', 'type', 'did', 'start', 'end', 'addr', 'pages', 'mask'];

function cacheTag(fn: string): [string, Handler] {
  return tracepoint(fn, [[CACHE_TAG, CACHE_TAG_FIELDS]], (f, c) => {
    const iommu = iommuOf(c, f.str('iommu'));
    deviceOf(c, f.str('dev'), iommu);
    call(c, fn, { iommu, dev: f.str('dev'), type: f.str('type'), did: f.num('did'), pasid: f.num('pasid') }, { users: f.num('users') });
  });
}

function cacheTagFlush(fn: string): [string, Handler] {
  return tracepoint(fn, [[CACHE_TAG_FLUSH, CACHE_TAG_FLUSH_FIELDS]], (f, c) => {
    const iommu = iommuOf(c, f.str('iommu'));
    deviceOf(c, f.str('dev'), iommu);
    call(c, fn, { iommu, dev: f.str('dev'), pasid: f.num('pasid'), type: f.str('type'), did: f.num('did'), start: f.num('start'), end: f.num('end'), addr: f.num('addr'), pages: f.num('pages'), mask: f.num('mask') });
  });
}

const ON: [string, Handler][] = [
  // qi_submit_sync(): every descriptor the kernel queues, all four quadwords.
  tracepoint('qi_submit', [['%s %s: 0x%llx 0x%llx 0x%llx 0x%llx', ['type', 'iommu', 'qw0', 'qw1', 'qw2', 'qw3']]], (f, c) => {
    const iommu = iommuOf(c, f.str('iommu'));
    const d = decodeDesc(f.big('qw0'), f.big('qw1'));
    const rid = descRid(d);
    if (rid) c.device(rid, iommu);
    c.emit(descEvent(iommu, d, c.state, 'qi_submit'));
  }),
  // A page request from the device (PRI), as intel_prq_report() logs it: a recoverable I/O page fault.
  tracepoint('prq_report', [['%s/%s seq# %ld: %s', ['iommu', 'dev', 'seq', 'desc']]], (f, c) => {
    const iommu = iommuOf(c, f.str('iommu'));
    const desc = f.str('desc').trimEnd();
    let p: Fields | null = null;
    for (const m of PRQ) if ((p = readFields(m, desc)) !== null) break;
    if (!p) throw new LineError(`prq_report: the descriptor does not read as decode_prq_descriptor() prints it (${JSON.stringify(desc.slice(0, 80))})`);
    const rid = c.device(ridOfSid(p.num('rid')), iommu);
    deviceOf(c, f.str('dev'), iommu);
    const access = ['r', 'w', 'x', 'p', 'l'].map((k) => p.str(k)).join('');
    c.emit({ kind: 'fault', source: 'iommu', reason: 0, name: `page request ${access} (seq ${f.num('seq')}, index ${p.num('index')})`, rid, pasid: p.num('pasid'), addr: p.num('addr'), vm: null }, ['reason']);
  }),
  cacheTag('cache_tag_assign'),
  cacheTag('cache_tag_unassign'),
  cacheTag('cache_tag_flush_all'),
  cacheTagFlush('cache_tag_flush_range'),
  cacheTagFlush('cache_tag_flush_range_np'),
  // include/trace/events/iommu.h: iommu_map() and iommu_unmap() of some domain (which one is not printed).
  tracepoint('map', [['IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx size=%zu', ['iova', 'end', 'paddr', 'size']]],
    (f, c) => call(c, 'iommu_map', { iova: f.num('iova'), paddr: f.num('paddr'), size: f.num('size') })),
  tracepoint('unmap', [['IOMMU: iova=0x%016llx - 0x%016llx size=%zu unmapped_size=%zu', ['iova', 'end', 'size', 'unmapped']]],
    (f, c) => call(c, 'iommu_unmap', { iova: f.num('iova'), size: f.num('size') }, { unmapped: f.num('unmapped') })),
  // report_iommu_fault(): an unrecoverable fault handed to the device's driver; flags IOMMU_FAULT_READ 0 / IOMMU_FAULT_WRITE 1.
  tracepoint('io_page_fault', [['IOMMU:%s %s iova=0x%016llx flags=0x%04x', ['driver', 'device', 'iova', 'flags']]], (f, c) => {
    const rid = deviceOf(c, f.str('device'), null);
    const flags = f.num('flags');
    c.emit({ kind: 'fault', source: 'iommu', reason: flags, name: `io_page_fault ${(flags & 1) !== 0 ? 'write' : 'read'} (${f.str('driver')} ${f.str('device')})`, rid, pasid: null, addr: f.num('iova'), vm: null });
  }),
  tracepoint('attach_device_to_domain', [['IOMMU: device=%s', ['device']]], (f, c) => { deviceOf(c, f.str('device'), null); call(c, 'iommu_attach_device', { device: f.str('device') }); }),
  tracepoint('detach_device_from_domain', [['IOMMU: device=%s', ['device']]], (f, c) => { deviceOf(c, f.str('device'), null); call(c, 'iommu_detach_device', { device: f.str('device') }); }),
  tracepoint('add_device_to_group', [['IOMMU: groupID=%d device=%s', ['group', 'device']]], (f, c) => { deviceOf(c, f.str('device'), null); call(c, 'iommu_group_add_device', { group: f.num('group'), device: f.str('device') }); }),
  // A line user space wrote to trace_marker (echo ... > /sys/kernel/tracing/trace_marker): kept in place, as a note;
  // trace-cmd report prints it as the ftrace:print event, "print: tracing_mark_write: <text>".
  tracepoint('tracing_mark_write', [['%s', ['text']]], (f, c) => call(c, 'trace_marker', { text: f.str('text') })),
  tracepoint('print', [['%s: %s', ['ip', 'text']]], (f, c) => call(c, 'trace_marker', { text: f.str('text') })),
  tracepoint('remove_device_from_group', [['IOMMU: groupID=%d device=%s', ['group', 'device']]], (f, c) => call(c, 'iommu_group_remove_device', { group: f.num('group'), device: f.str('device') })),
];

export const FTRACE: LogFormat = {
  tool: 'ftrace',
  prefixer: ftracePrefixer,
  handlers: Object.fromEntries(ON),
  // A device no line ties to an IOMMU (iommu:* name none) sits behind the first one named; with none named
  // (an SMMUv3 or AMD host traces no intel_iommu events), the log does not say which, and the platform leaves it out.
  defaultIommu: null,
};
