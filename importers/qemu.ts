// QEMU's "log" trace backend: one line per event, `<event> <args>` where args
// is the event's trace-events format printed, behind one of the prefixes QEMU
// writes (scripts/tracetool/backend/log.py): `<tid>@<sec>.<usec>:` when
// message timestamps are on (`-msg timestamp=on`; always before QEMU 7.1),
// nothing when they are off, and an ISO-8601 time when the log line carries
// one (qemu_log with a timestamp, or a tool that stamped each line).
import type { Handler, Prefix } from './ctx.js';
import { LineError } from './ctx.js';
import type { LogFormat } from './import.js';
import { IOMMUFD_HANDLERS } from './qemu-iommufd.js';
import { SMMU_HANDLERS } from './qemu-smmu.js';
import { VTD_HANDLERS } from './qemu-vtd.js';

// Every QEMU trace event is named <subsystem>_<event>: a word without an underscore is not one.
const TID = /^(\d{1,10})@(\d{1,12})\.(\d{1,9}):([a-z0-9]+_[a-z0-9_]+)(?: (.*))?$/s;
const ISO = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?:?\s+(.*)$/s;
const BARE = /^([a-z0-9]+_[a-z0-9_]+)(?: (.*))?$/s;

/** Nanoseconds since the epoch of an ISO-8601 time (its fraction kept to the nanosecond). */
function isoNs(m: RegExpExecArray): bigint {
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  const ms = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  if (!Number.isFinite(ms)) throw new LineError(`bad ISO-8601 time ${JSON.stringify(m[0].slice(0, 40))}`);
  const zone = m[8];
  let offset = 0;
  if (zone && zone !== 'Z') {
    const z = /^([+-])(\d\d):?(\d\d)$/.exec(zone);
    offset = (z?.[1] === '-' ? -1 : 1) * (Number(z?.[2]) * 60 + Number(z?.[3])) * 60_000;
  }
  return BigInt(ms - offset) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
}

export function qemuPrefix(text: string): Prefix {
  const iso = ISO.exec(text);
  const rest = iso ? (iso[9] as string) : text;
  const tid = TID.exec(rest);
  if (tid) {
    // QEMU prints tv_usec with %06zu: six digits of microseconds.
    const ns = BigInt(tid[2] as string) * 1_000_000_000n + BigInt((tid[3] as string).padEnd(9, '0').slice(0, 9));
    return {
      event: tid[4] as string, args: tid[5] ?? '', ns: iso ? isoNs(iso) : ns, tsText: iso ? iso[0].slice(0, iso[0].length - rest.length).trim() : `${tid[2]}.${tid[3]}`,
      pid: Number(tid[1]), form: iso ? 'iso8601' : 'tid@sec.usec',
    };
  }
  const bare = BARE.exec(rest);
  if (!bare) throw new LineError(`not a QEMU trace line (expected "<event> <args>", "<tid>@<sec>.<usec>:<event> <args>" or an ISO-8601 time first): ${JSON.stringify(text.slice(0, 80))}`);
  return {
    event: bare[1] as string, args: bare[2] ?? '', ns: iso ? isoNs(iso) : null, tsText: iso ? iso[0].slice(0, iso[0].length - rest.length).trim() : null,
    form: iso ? 'iso8601' : 'bare',
  };
}

const HANDLERS: Record<string, Handler> = { ...VTD_HANDLERS, ...SMMU_HANDLERS, ...IOMMUFD_HANDLERS };

export const QEMU: LogFormat = {
  tool: 'qemu',
  prefixer: () => qemuPrefix,
  handlers: HANDLERS,
  // QEMU models one vIOMMU per machine; a device no line ties to one sits behind the first the log names.
  defaultIommu: { name: 'dmar0', kind: 'vtd' },
};
