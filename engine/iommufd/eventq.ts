// Event queues (drivers/iommu/iommufd/eventq.c, driver.c): the FAULT object a
// fault-capable HWPT delivers I/O page faults to, read from and answered
// through its fd; and the vEVENTQ a vIOMMU delivers events to (here: SMMUv3
// events of a nested device, with the vSID), read through its fd with
// sequence numbers and a LOST_EVENTS header on overflow.
//
// Records live in the `eventq` state section (key fd/queue/index, index in
// arrival order); the queue object's attrs hold its fd number (`efd`, the
// model's numbering: 100 + object id), whether the fd is open, and for a
// vEVENTQ its type, depth and next sequence number.
import type { Ctx } from '../ctx.js';
import { isStage2, SMMU_VEVENT_IDS } from '../drivers/smmuv3-viommu.js';
import { device, lookupEntry, RID_PASID, walkEntry } from '../iommu.js';
import { TAG } from '../indexes.js';
import { page, PAGE_SIZE } from '../keys.js';
import { optNum, optStr, type Fields, type IoctlSpec, type OpSpec, type Outcome } from '../op.js';
import type { Args, ArgValue, Errno, EventqCell, IommufdCell, Rid, State } from '../types.js';
import { queueView, type Rec } from './queue-index.js';
import { boundByDriver, create, done, err, firstWith, getObject, nextId, obj, objectsWith, update, type IoctlResult } from './object.js';
import { enumName, enumValue } from './viommu.js';
import { releaseCtx } from './main.js';
import { attachedAt, boundDevice, onBlockedDomain } from './device.js';

/** sizeof(struct iommu_hwpt_pgfault), sizeof(struct iommu_hwpt_page_response), include/uapi/linux/iommufd.h. */
export const PGFAULT_SIZE = 48;
export const PAGE_RESPONSE_SIZE = 8;
/** sizeof(struct iommufd_vevent_header); sizeof(struct iommu_vevent_arm_smmuv3). */
export const VEVENT_HEADER_SIZE = 8;
export const VEVENT_ARM_SMMUV3_SIZE = 32;

/** enum iommu_hwpt_pgfault_flags / _perm; enum iommufd_page_response_code; enum iommu_veventq_flag. */
export const PGFAULT_FLAGS_PASID_VALID = 1 << 0;
export const PGFAULT_FLAGS_LAST_PAGE = 1 << 1;
export const PGFAULT_PERM_READ = 1 << 0;
export const PGFAULT_PERM_WRITE = 1 << 1;
export const PAGE_RESP_CODES: Readonly<Record<string, number>> = { SUCCESS: 0, INVALID: 1 };
export const VEVENTQ_FLAG_LOST_EVENTS = 1 << 0;
/** enum iommu_veventq_type. */
export const VEVENTQ_TYPES: Readonly<Record<string, number>> = { DEFAULT: 0, ARM_SMMUV3: 1, TEGRA241_CMDQV: 2 };
const INT_MAX = 0x7fffffff;

/** The model's fd numbers for event-queue files (the kernel hands out the lowest unused fd of the process). */
const efdOf = (id: number): number => 100 + id;
const flagsOf = (v: ArgValue | undefined): number => (typeof v === 'number' ? v : 0);

// ---------------------------------------------------------------- records

/** The index of the next record: one past the tail's (engine/iommufd/queue-index.ts keeps the records). */
const nextIdx = (last: Rec | undefined): number => (last === undefined ? 0 : last.idx + 1);

function putRecord(ctx: Ctx, fd: string, queue: number, idx: number, record: EventqCell | null, why: string): void {
  ctx.emit({ kind: 'eventq', fd, queue, idx, record, why });
}

// ---------------------------------------------------------------- IOMMU_FAULT_QUEUE_ALLOC

export function faultQueueAlloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  // iommufd_fault_alloc(), eventq.c: flags must be 0 -> -EOPNOTSUPP
  if (flagsOf(a.flags) !== 0) return err('EOPNOTSUPP');
  // iommufd_fault_alloc(): the object, then iommufd_eventq_init(): the "[iommufd-pgfault]" file, which holds a users
  // reference on the object until it is closed (refcount_inc(&eventq->obj.users))
  const id = create(ctx, fd, 'FAULT', [], { efd: efdOf(nextId(ctx.state, fd)), open: true });
  return done({ out_fault_id: id, out_fault_fd: efdOf(id) }, id);
}

// ---------------------------------------------------------------- IOMMU_VEVENTQ_ALLOC

export function veventqAlloc(ctx: Ctx, fd: string, a: Fields): IoctlResult {
  const state = ctx.state;
  const type = enumValue(a.type, VEVENTQ_TYPES);
  // iommufd_veventq_alloc(), eventq.c: flags, __reserved must be 0, type DEFAULT is reserved -> -EOPNOTSUPP
  if (flagsOf(a.flags) !== 0 || flagsOf(a.__reserved) !== 0 || type === VEVENTQ_TYPES.DEFAULT) return err('EOPNOTSUPP');
  // iommufd_veventq_alloc(), drivers/iommu/iommufd/eventq.c: veventq_depth == 0 -> -EINVAL (newest mainline sets no
  // upper bound; a queue holds at most one record per DMA step of the scenario, so the depth bounds nothing here)
  const depth = optNum(a, 'veventq_depth') ?? 0;
  if (depth === 0) return err('EINVAL');
  // iommufd_get_viommu(), iommufd_private.h -> -ENOENT
  const viommu = getObject(state, fd, a.viommu_id, 'VIOMMU');
  if (!viommu) return err('ENOENT');
  const name = enumName(type, VEVENTQ_TYPES);
  // iommufd_veventq_alloc(): iommufd_viommu_find_veventq(viommu, type) -> -EEXIST (one per type per vIOMMU)
  if (veventqOf(state, fd, viommu.id, name)) return err('EEXIST');
  // the vEVENTQ holds a users reference on the vIOMMU; its "[iommufd-viommu-event]" file one on the vEVENTQ
  const id = create(ctx, fd, 'VEVENTQ', [viommu.id], { viommu: viommu.id, type: name, depth, sequence: 0, efd: efdOf(nextId(state, fd)), open: true });
  return done({ out_veventq_id: id, out_veventq_fd: efdOf(id) }, id);
}

/** iommufd_viommu_find_veventq(), iommufd_private.h. */
function veventqOf(state: State, fd: string, viommu: number, type: string): IommufdCell | null {
  return firstWith(state, fd, TAG.veventqOn(viommu), (o) => o.type === 'VEVENTQ' && o.attrs.viommu === viommu && o.attrs.type === type) ?? null;
}

// ---------------------------------------------------------------- delivery

/** Whether the RID's IOMMU is an SMMUv3 (the event and page-request formats differ by driver). */
const behindSmmu = (state: State, rid: Rid): boolean => state.s.iommu[device(state, rid).iommu]?.kind === 'smmuv3';

/** The HWPT a (device, PASID) is attached to (attachedAt(), device.ts), as its object. */
function attachedHwpt(state: State, dev: IommufdCell, pasid: number): IommufdCell | null {
  const id = attachedAt(dev, pasid);
  return id === null ? null : obj(state, dev.fd, id) ?? null;
}

/** hwpt->fault: the FAULT object a fault-capable HWPT holds a reference on. */
function faultOfHwpt(state: State, hwpt: IommufdCell): IommufdCell | null {
  for (const id of hwpt.refs) {
    const o = obj(state, hwpt.fd, id);
    if (o?.type === 'FAULT') return o;
  }
  return null;
}

/**
 * The translation failures the model turns into a page request when the
 * domain is fault capable: an entry not present, or no permission (what a PRI
 * page request / an SMMUv3 stall asks the OS to fix). A malformed entry or a
 * missing PASID table entry stays a non-recoverable fault.
 */
const IOPF_REASONS: ReadonlySet<number> = new Set([0x71, 0x79, 0x85, 0x86]);

/**
 * iommufd_fault_iopf_handler(), eventq.c: the page request of a DMA that
 * missed on a fault-capable HWPT joins its FAULT's deliver list (one fault per
 * group, LAST_PAGE). The model takes the device to be PRI capable (or an SMMUv3
 * stall master): a failing DMA stands for the translation request and the page
 * request that follows. `pasid`: the request's PASID, null without a PASID
 * prefix. Returns whether the fault became a page request.
 */
function iopfReport(ctx: Ctx, rid: Rid, pasid: number | null, addr: number, write: boolean, reason: number): boolean {
  const state = ctx.state;
  if (!IOPF_REASONS.has(reason)) return false;
  const dev = boundDevice(state, rid);
  if (!dev) return false;
  const attachPasid = pasid ?? RID_PASID;
  const hwpt = attachedHwpt(state, dev, attachPasid);
  if (!hwpt) return false;
  const fault = faultOfHwpt(state, hwpt);
  if (!fault) return false;
  const idx = nextIdx(queueView(state, fault.fd, fault.id).last());
  // iommufd_compose_fault_message(): flags, dev_id (the DEVICE's object id), pasid, grpid, perm, addr copied from the
  // driver's iommu_fault_page_request unchanged; length 0. grpid: the model numbers page-request groups by arrival
  // (9-bit PRG index).
  const prm = behindSmmu(state, rid) ? smmuStallPrm(pasid, addr, write) : vtdPrqPrm(pasid, addr, write);
  putRecord(ctx, fault.fd, fault.id, idx, {
    type: 'iopf',
    data: {
      flags: prm.flags, dev_id: dev.id, pasid: pasid ?? 0, grpid: idx & 0x1ff, perm: prm.perm, addr: prm.addr, length: 0,
      cookie: 0, rid, hwpt: hwpt.id, attach_pasid: attachPasid,
    },
  }, 'page request');
  return true;
}

/** IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID, include/linux/iommu.h: not in the uAPI's flags, but iommufd passes it on. */
const FAULT_PAGE_RESPONSE_NEEDS_PASID = 1 << 2;

interface Prm { flags: number; perm: number; addr: number }

/**
 * intel_prq_report(), drivers/iommu/intel/prq.c: the page request descriptor
 * as a PCIe device sends it — R and W as asked (a write asks for both, the
 * model's reading of prq_to_iommu_prot()), the page address
 * (desc->addr << VTD_PAGE_SHIFT), and with a PASID both PASID_VALID and
 * NEEDS_PASID.
 */
function vtdPrqPrm(pasid: number | null, addr: number, write: boolean): Prm {
  return {
    flags: PGFAULT_FLAGS_LAST_PAGE | (pasid !== null ? PGFAULT_FLAGS_PASID_VALID | FAULT_PAGE_RESPONSE_NEEDS_PASID : 0),
    perm: write ? PGFAULT_PERM_READ | PGFAULT_PERM_WRITE : PGFAULT_PERM_READ,
    addr: page(addr) * PAGE_SIZE,
  };
}

/**
 * arm_smmu_handle_event(), drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: a
 * stall event — `if (event->read) perm |= READ; else perm |= WRITE;`, the
 * faulting address itself (.addr = event->iova), PASID_VALID with SSV and
 * never NEEDS_PASID.
 */
function smmuStallPrm(pasid: number | null, addr: number, write: boolean): Prm {
  return {
    flags: PGFAULT_FLAGS_LAST_PAGE | (pasid !== null ? PGFAULT_FLAGS_PASID_VALID : 0),
    perm: write ? PGFAULT_PERM_WRITE : PGFAULT_PERM_READ,
    addr,
  };
}

/**
 * arm_smmu_handle_event(), arm-smmu-v3.c: an event of a master that has a
 * vmaster and is not a stage-2 fault goes to arm_vmaster_report_event() ->
 * iommufd_viommu_report_event() with the vSID in place of the StreamID. The
 * vmaster is what the last RID attach captured (the DEVICE's `vmaster`,
 * device.ts): a vDEVICE destroyed since leaves it, one created since is not
 * seen until the next attach.
 */
function veventReport(ctx: Ctx, rid: Rid, pasid: number | null, addr: number, write: boolean, vtdReason: number): void {
  const state = ctx.state;
  if (!behindSmmu(state, rid)) return;
  let fault = null;
  for (let i = ctx.out.length - 1; i >= 0; i--) {
    const ev = ctx.out[i];
    if (ev?.kind === 'fault') { fault = ev; break; }
  }
  const firstStageRefuses = (): boolean => {
    const entry = lookupEntry(state, rid, pasid ?? RID_PASID);
    return !('fault' in entry) && !walkEntry(state, { pgtt: 1, flptr: entry.flptr, slptptr: 0 }, addr, write).ok;
  };
  if (!fault || !SMMU_VEVENT_IDS.has(fault.reason) || isStage2(vtdReason, firstStageRefuses)) return;
  const dev = boundDevice(state, rid);
  if (!dev) return;
  const hwpt = attachedHwpt(state, dev, RID_PASID);
  if (!hwpt || hwpt.type !== 'HWPT_NESTED' || typeof hwpt.attrs.viommu !== 'number') return;
  // arm_smmu_handle_event(): `if (master->vmaster && !event->s2)`
  const vsid = dev.attrs.vmaster;
  if (typeof vsid !== 'number') return;
  reportEvent(ctx, dev.fd, hwpt.attrs.viommu, 'ARM_SMMUV3', { id: fault.reason, name: fault.name, vsid, ssid: pasid ?? 0, addr });
}

/**
 * iommufd_viommu_report_event(), driver.c, and iommufd_vevent_handler(),
 * iommufd_private.h: no vEVENTQ of the type -> -EOPNOTSUPP (the driver only
 * logs); a full queue (num_events == depth) gets the LOST_EVENTS header at its
 * tail instead; a header that is the last node is taken out whenever a node is
 * added; every node takes the next sequence number, wrapping at INT_MAX.
 */
function reportEvent(ctx: Ctx, fd: string, viommu: number, type: string, data: EventqCell['data']): Errno | null {
  const q = veventqOf(ctx.state, fd, viommu, type);
  if (!q) return 'EOPNOTSUPP';
  const view = queueView(ctx.state, fd, q.id);
  const numEvents = view.vevents();
  const last = view.last();
  if (last?.cell.type === 'lost') putRecord(ctx, fd, q.id, last.idx, null, 'LOST_EVENTS header moved');
  const sequence = q.attrs.sequence as number;
  const idx = nextIdx(last);
  if (numEvents >= (q.attrs.depth as number)) putRecord(ctx, fd, q.id, idx, { type: 'lost', data: { flags: VEVENTQ_FLAG_LOST_EVENTS, sequence } }, 'queue full');
  else putRecord(ctx, fd, q.id, idx, { type: 'vevent', data: { flags: 0, sequence, ...data } }, 'vEVENT');
  const cur = obj(ctx.state, fd, q.id) ?? q;
  update(ctx, cur, cur.refs, { ...cur.attrs, sequence: (sequence + 1) & INT_MAX });
  return null;
}

/**
 * The hook engine/iommu.ts's DMA path calls for a failed translation, in place
 * of reporting the fault itself: an SMMUv3 device on iommufd's blocked domain
 * is behind an abort STE and nothing is recorded; a fault-capable HWPT takes
 * it as a page request (no fault record); otherwise the IOMMU reports it
 * (`report`) and an SMMUv3 forwards it to the vIOMMU's vEVENTQ where it
 * should. Returns false when nothing was recorded or queued.
 */
export function onDmaFault(ctx: Ctx, rid: Rid, pasid: number | null, tag: number | null, addr: number, write: boolean, reason: number,
  report: (ctx: Ctx, rid: Rid, pasid: number | null, addr: number, reason: number) => void): boolean {
  // arm_smmu_attach_dev_blocked(), drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: with no SSID in use the blocked
  // domain is arm_smmu_make_abort_ste(): the transaction is terminated and no event recorded
  if (behindSmmu(ctx.state, rid) && onBlockedDomain(ctx.state, rid)) return false;
  if (iopfReport(ctx, rid, tag, addr, write, reason)) return true;
  report(ctx, rid, pasid, addr, reason);
  veventReport(ctx, rid, pasid, addr, write, reason);
  return true;
}

/**
 * iommufd_auto_response_faults(), eventq.c: when a (device, PASID) leaves a
 * fault-capable HWPT, every group of that attach handle still in the deliver
 * list or read but unanswered is answered INVALID and freed. device.ts calls
 * this from the detach / replace paths.
 */
export function autoRespondFaults(ctx: Ctx, fd: string, hwptId: number, devId: number, pasid: number): void {
  const hwpt = obj(ctx.state, fd, hwptId);
  if (!hwpt) return;
  const fault = faultOfHwpt(ctx.state, hwpt);
  if (!fault) return;
  for (const r of queueView(ctx.state, fd, fault.id).ofHandle(hwptId, devId, pasid)) putRecord(ctx, fd, fault.id, r.idx, null, 'auto response INVALID');
}

/**
 * iommufd_fault_destroy() (every group left is answered INVALID) and
 * iommufd_veventq_abort() (the events are freed), eventq.c: main.ts calls
 * this before it destroys a FAULT or a vEVENTQ.
 */
export function dropQueue(ctx: Ctx, o: IommufdCell): void {
  if (o.type !== 'FAULT' && o.type !== 'VEVENTQ') return;
  const why = o.type === 'FAULT' ? 'destroyed: answered INVALID' : 'destroyed';
  for (const r of queueView(ctx.state, o.fd, o.id).all()) putRecord(ctx, o.fd, o.id, r.idx, null, why);
}

const isOpenQueue = (o: IommufdCell): boolean => (o.type === 'FAULT' || o.type === 'VEVENTQ') && o.attrs.open === true;

/** The FAULT / vEVENTQ objects of this iommufd whose fd is open, in id order. */
const openQueues = (state: State, fd: string): IommufdCell[] => objectsWith(state, fd, TAG.openQueue, isOpenQueue);

/** Whether any FAULT / vEVENTQ fd of this iommufd is open. */
export const eventFdsOpen = (state: State, fd: string): boolean => openQueues(state, fd).length > 0;

/**
 * iommufd_eventq_init(), eventq.c: each event-queue file holds a reference on
 * the iommufd context (iommufd_ctx_get()), so closing the iommufd releases
 * nothing while one is open. Marks the open queues (`ctxClosed`) so the last
 * eventq-close runs the release; returns whether any held the context.
 */
export function holdCtxByEventFds(ctx: Ctx, fd: string): boolean {
  let held = false;
  for (const o of openQueues(ctx.state, fd)) {
    held = true;
    if (o.attrs.ctxClosed !== true) update(ctx, o, o.refs, { ...o.attrs, ctxClosed: true });
  }
  return held;
}

/** An open event-queue fd holds a users reference on its object (iommufd_eventq_init()): IOMMU_DESTROY is -EBUSY. */
export const fdHeld = (o: IommufdCell): boolean => (o.type === 'FAULT' || o.type === 'VEVENTQ') && o.attrs.open === true;

// ---------------------------------------------------------------- read / write / close of the fd

/** The open queue file a step names: by fd number (`queue_fd`), or by its object's id (`queue`, the model's shorthand). */
function openQueue(state: State, fd: string, f: Fields): IommufdCell | null {
  const efd = optNum(f, 'queue_fd');
  const id = optNum(f, 'queue');
  const tag = efd !== null ? TAG.efd(efd) : TAG.openQueue;
  return firstWith(state, fd, tag, (o) => isOpenQueue(o) && (efd !== null ? o.attrs.efd === efd : o.id === id)) ?? null;
}

interface FileResult { errno: Errno | null; out: Args }

const pgfault = (d: EventqCell['data']): Args => ({
  flags: d.flags ?? 0, dev_id: d.dev_id ?? 0, pasid: d.pasid ?? 0, grpid: d.grpid ?? 0, perm: d.perm ?? 0, addr: d.addr ?? 0, length: d.length ?? 0, cookie: d.cookie ?? 0,
});

/**
 * iommufd_fault_fops_read(), eventq.c: a read at an offset or of a size that is
 * not a multiple of the record is -ESPIPE; groups leave the deliver list in
 * order while they fit, each given a cookie (xa_alloc in fault->response:
 * lowest free from 1) to answer it by. A read that fits none returns 0.
 */
function faultRead(ctx: Ctx, q: IommufdCell, count: number | null): FileResult {
  const view = queueView(ctx.state, q.fd, q.id);
  const want = count ?? view.pendingCount() * PGFAULT_SIZE;
  if (want % PGFAULT_SIZE !== 0) return { errno: 'ESPIPE', out: {} };
  const records: Args[] = [];
  let done = 0;
  // the groups in order: each one read leaves the pending ones (its cookie is set), so the next is the first pending again
  for (let r = view.firstPending(); r !== undefined; r = view.firstPending()) {
    if (done >= want || PGFAULT_SIZE > want - done) break;
    const cookie = view.freeCookie();
    putRecord(ctx, q.fd, q.id, r.idx, { type: r.cell.type, data: { ...r.cell.data, cookie } }, 'read');
    records.push(pgfault({ ...r.cell.data, cookie }));
    done += PGFAULT_SIZE;
  }
  return { errno: null, out: { bytes: done, count: records.length, records, cookies: records.map((x) => x.cookie as number) } };
}

/**
 * iommufd_veventq_fops_read(), eventq.c: records leave in order while they fit
 * (a LOST_EVENTS header is 8 bytes, an event 8 + its data); a normal event
 * read frees its place in the queue (num_events--).
 */
function veventqRead(ctx: Ctx, q: IommufdCell, count: number | null): FileResult {
  const view = queueView(ctx.state, q.fd, q.id);
  const size = (r: Rec): number => VEVENT_HEADER_SIZE + (r.cell.type === 'lost' ? 0 : VEVENT_ARM_SMMUV3_SIZE);
  const want = count ?? view.all().reduce((n, r) => n + size(r), 0);
  const records: Args[] = [];
  let done = 0;
  // the records in order: each one read leaves the queue, so the next is the head again
  for (let r = view.first(); r !== undefined; r = view.first()) {
    if (done >= want || VEVENT_HEADER_SIZE > want - done) break;
    if (r.cell.type !== 'lost' && size(r) > want - done) break;
    putRecord(ctx, q.fd, q.id, r.idx, null, 'read');
    records.push({ ...r.cell.data } as Args);
    done += size(r);
  }
  return {
    errno: null,
    out: {
      bytes: done, count: records.length, records,
      sequences: records.map((x) => x.sequence as number),
      lost: records.some((x) => ((x.flags as number) & VEVENTQ_FLAG_LOST_EVENTS) !== 0),
      virt_ids: records.filter((x) => typeof x.vsid === 'number').map((x) => x.vsid as number),
    },
  };
}

/**
 * iommufd_fault_fops_write(), eventq.c: an offset or a size that is not a
 * multiple of the response is -ESPIPE; each response's code must be SUCCESS or
 * INVALID and its cookie one read() handed out and not yet answered, else
 * -EINVAL — the bytes of the responses before it are still returned. The
 * group is answered (iopf_group_response()) and freed.
 */
function faultWrite(ctx: Ctx, q: IommufdCell, responses: Args[], count: number | null): FileResult {
  const want = count ?? responses.length * PAGE_RESPONSE_SIZE;
  if (want % PAGE_RESPONSE_SIZE !== 0) return { errno: 'ESPIPE', out: {} };
  let done = 0;
  let errno: Errno | null = null;
  for (const resp of responses.slice(0, want / PAGE_RESPONSE_SIZE)) {
    const code = enumValue(resp.code, PAGE_RESP_CODES);
    if (code !== PAGE_RESP_CODES.SUCCESS && code !== PAGE_RESP_CODES.INVALID) { errno = 'EINVAL'; break; }
    const cookie = typeof resp.cookie === 'number' ? resp.cookie : -1;
    const r = cookie > 0 ? queueView(ctx.state, q.fd, q.id).withCookie(cookie) : undefined;
    if (!r) { errno = 'EINVAL'; break; }
    putRecord(ctx, q.fd, q.id, r.idx, null, `answered ${enumName(code, PAGE_RESP_CODES)}`);
    done += PAGE_RESPONSE_SIZE;
  }
  return done === 0 && errno ? { errno, out: {} } : { errno: null, out: { bytes: done } };
}

function fileOp(ctx: Ctx, fn: string, f: Fields, body: (q: IommufdCell) => FileResult): Outcome {
  const fdName = optStr(f, 'iommufd') ?? 'iommufd';
  const q = openQueue(ctx.state, fdName, f);
  // a closed or never opened fd
  const r: FileResult = q ? body(q) : { errno: 'EBADF', out: {} };
  const efd = q ? (q.attrs.efd as number) : optNum(f, 'queue_fd') ?? -1;
  const callArgs: Args = { iommufd: fdName, fd: efd };
  if (typeof f.count === 'number') callArgs.count = f.count;
  if (Array.isArray(f.responses)) callArgs.responses = f.responses;
  ctx.emit({ kind: 'kcall', fn, args: callArgs, errno: r.errno, out: r.out });
  return { errno: r.errno, out: r.out };
}

export const eventqOps: Record<string, OpSpec> = {
  'eventq-read': {
    doc: 'read() on a FAULT or vEVENTQ fd (out_fault_fd / out_veventq_fd): the records that fit in `count` bytes (default: all), with the cookies to answer page faults by, or the vEVENTs with their sequence numbers.',
    fields: { queue_fd: 'int?', queue: 'int?', iommufd: 'str?', count: 'int?' },
    run: (ctx, f) => fileOp(ctx, 'read', f, (q) => (q.type === 'FAULT' ? faultRead(ctx, q, optNum(f, 'count')) : veventqRead(ctx, q, optNum(f, 'count')))),
  },
  'eventq-write': {
    doc: 'write() of page responses ({cookie, code: SUCCESS | INVALID}) to a FAULT fd; a vEVENTQ fd has no write (EINVAL).',
    fields: { queue_fd: 'int?', queue: 'int?', iommufd: 'str?', responses: 'list', count: 'int?' },
    run: (ctx, f) => fileOp(ctx, 'write', f, (q) => {
      // vfs_write(): the vEVENTQ file has no write op (FMODE_CAN_WRITE clear) -> -EINVAL
      if (q.type !== 'FAULT') return { errno: 'EINVAL', out: {} };
      return faultWrite(ctx, q, (f.responses as ArgValue[]).filter((x): x is Args => x !== null && typeof x === 'object' && !Array.isArray(x)), optNum(f, 'count'));
    }),
  },
  'eventq-close': {
    doc: 'close() of a FAULT or vEVENTQ fd: drops the reference the file held on its object (iommufd_eventq_fops_release); the object and its records stay until IOMMU_DESTROY or the iommufd is closed.',
    fields: { queue_fd: 'int?', queue: 'int?', iommufd: 'str?' },
    run: (ctx, f) => fileOp(ctx, 'close', f, (q) => {
      // iommufd_eventq_fops_release(), eventq.c: drops the object's users reference and the context's; the last
      // reference on a context whose iommufd was closed runs iommufd_fops_release()
      update(ctx, q, q.refs, { ...q.attrs, open: false });
      if (q.attrs.ctxClosed === true && !eventFdsOpen(ctx.state, q.fd) && !boundByDriver(ctx.state, q.fd)) releaseCtx(ctx, q.fd);
      return { errno: null, out: {} };
    }),
  },
};

export const EVENTQ_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_FAULT_QUEUE_ALLOC: { file: 'iommufd', nr: 0x8e, args: { flags: 'int?' }, run: (ctx, f, a) => faultQueueAlloc(ctx, f, a) },
  IOMMU_VEVENTQ_ALLOC: {
    file: 'iommufd', nr: 0x93,
    args: { viommu_id: 'int', type: 'str?', veventq_depth: 'int?', flags: 'int?', __reserved: 'int?' },
    run: (ctx, f, a) => veventqAlloc(ctx, f, a),
  },
};

