// The yield points of the kernel paths a threaded scenario interleaves
// (engine/threads.ts, issue 13). Each op here is written as phases: `start`
// runs up to the first yield point, `resume` from a continuation (plain data)
// to the next. Outside a thread the phases run back to back (drive()), and
// each op's `run` is that, so a scenario without threads records exactly the
// events it always did (test/goldens.test.ts).
//
// A yield point is where the kernel path can be preempted or sleeps with the
// object it works on visible to others: it drops a lock, calls out to a
// notifier that may sleep, queues work for later, or (hardware) a walk is in
// flight. Each names the kernel function:
//
//   ioasid_free()        after each subscriber of the FREE notifier chain
//                        (blocking_notifier_call_chain, IOASID series v1 08/10: a
//                        subscriber may sleep), so a FREE half-delivered is visible;
//                        the IOASID returns to the allocator after the last one.
//   exit_mm()            the same, for each PASID the process owned, in order.
//   flush_workqueue()    between work items (process_one_work): each deferred
//                        clean-up of a FREE runs as its own item.
//   ioasid_alloc()       `locking=check-then-charge` only: between the quota check
//                        (nr_ioasids < quota) and the charge. The series holds
//                        ioasid_allocator_lock over both (`atomic`, the default): no
//                        yield point there.
//   IOMMU_VDEVICE_ALLOC  iommufd_vdevice_alloc_ioctl(), drivers/iommu/iommufd/viommu.c
//                        (v6.18): with idev->igroup->lock held (a per-device mutex,
//                        taken after the viommu / device lookups), after
//                        _iommufd_object_alloc() and idev->vdev = vdev, before
//                        xa_cmpxchg(&viommu->vdevs, virt_id, NULL, vdev); and, when
//                        that finds the slot taken, before out_abort's
//                        iommufd_vdevice_abort() (xa_cmpxchg(vdevs, virt_id, vdev,
//                        NULL), or under `abort=erase` an erase by virt_id that takes
//                        whatever holds the slot by then: seed 004).
//   dma                  a translation walked the tables and has not yet filled the
//                        IOTLB / ATC (engine/iommu.ts dmaBegin / dmaFinish). An
//                        invalidation waits for it (engine/threads.ts).
import type { Ctx } from './ctx.js';
import { dmaOutcomeOf } from './ops/hw.js';
import { dmaBegin, dmaFinish, type DmaPending } from './iommu.js';
import { allocIndex, ownerKeys } from './indexes.js';
import * as ioasid from './ioasid.js';
import { vdeviceCreate, vdeviceEarly, vdeviceSlot, vdeviceAbortErase } from './iommufd/viommu.js';
import { IOCTLS, OPS } from './ops/index.js';
import { parts } from './keys.js';
import { args, bool, drive, normalizeFields, num, optNum, optStr, str, type Cont, type Fields, type IoctlSpec, type Phase, type Phased } from './op.js';
import { ABI_FIELDS, applyAbi } from './iommufd/abi.js';
import { own } from './own.js';
import { compareKeys } from './state.js';
import type { ArgValue, Args, Errno, Rid } from './types.js';
import type { IoctlResult } from './iommufd/object.js';


/** The yield point a DMA stops at after its walk, before the fill (engine/iommu.ts dmaBegin / dmaFinish). */
export const DMA_WALKED = 'dma: translation walked, IOTLB/ATC not yet filled';

const hostOf = (ctx: Ctx, f: Fields): string => optStr(f, 'host') ?? Object.keys(ctx.state.s.host).sort(compareKeys)[0] ?? 'host0';

function kcallDone(ctx: Ctx, fn: string, callArgs: Args, errno: Errno | null, out: Args = {}, value: number | null = null): Phase {
  ctx.emit({ kind: 'kcall', fn, args: callArgs, errno, out });
  return { done: { errno, value, out } };
}

const obj = (v: ArgValue): Record<string, ArgValue> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {});

// ---------------------------------------------------------------- ioasid_free and exit_mm

/**
 * One PASID's free, from subscriber `order` of the FREE chain on: deliver it,
 * then yield (more subscribers, or the erase, follow); after the last
 * subscriber the IOASID returns to the allocator. Returns the continuation
 * or null when this PASID is done.
 */
function freeFrom(ctx: Ctx, hostId: string, pasid: number, order: number, label: string, rest: Record<string, ArgValue>): Cont | null {
  if (order < ioasid.SUBSCRIBERS.length) {
    ioasid.notifyOne(ctx, hostId, 'FREE', pasid, order);
    return { at: `${label}: FREE delivered to ${ioasid.SUBSCRIBERS[order]} (#${order}), the chain goes on (blocking_notifier_call_chain, IOASID series v1 08/10)`, data: { ...rest, pasid, order: order + 1 } };
  }
  ioasid.freeErase(ctx, hostId, hostId, pasid);
  return null;
}

const ioasidFree: Phased = {
  start(ctx, f) {
    const hostId = hostOf(ctx, f);
    const pasid = num(f, 'pasid');
    const refused = ioasid.freeCheck(ctx.state, hostId, hostId, pasid, optStr(f, 'set'));
    if (refused) return kcallDone(ctx, 'ioasid_free', { pasid, set: optStr(f, 'set') }, null, refused.freed ? { freed: true } : { freed: false, reason: refused.reason });
    return this.resume(ctx, f, { at: 'start', data: { pasid, order: 0 } });
  },
  resume(ctx, f, c) {
    const d = obj(c.data);
    const next = freeFrom(ctx, hostOf(ctx, f), d.pasid as number, d.order as number, 'ioasid_free()', {});
    if (next) return { yield: next };
    return kcallDone(ctx, 'ioasid_free', { pasid: num(f, 'pasid'), set: optStr(f, 'set') }, null, { freed: true });
  },
};

const processExit: Phased = {
  start(ctx, f) {
    const hostId = hostOf(ctx, f);
    const owner = str(f, 'owner');
    // A live run's index lists the owner's IOASIDs (engine/indexes.ts); a bare state scans them all.
    const ix = allocIndex(ctx.state);
    const owned = (ix ? [...ownerKeys(ix, owner)] : Object.keys(ctx.state.s.ioasid))
      .filter((key) => parts(key).length === 2 && parts(key)[0] === hostId && ctx.state.s.ioasid[key]?.owner === owner)
      .sort(compareKeys).map((key) => Number(parts(key)[1]));
    return this.resume(ctx, f, { at: 'start', data: { pasids: owned, i: 0, order: 0, n: owned.length } });
  },
  resume(ctx, f, c) {
    const hostId = hostOf(ctx, f);
    const d = obj(c.data);
    const pasids = d.pasids as number[];
    let i = d.i as number;
    let order = d.order as number;
    while (i < pasids.length) {
      const pasid = pasids[i] as number;
      // A PASID another thread freed meanwhile is left alone, as ioasid_free() would (pr_err).
      if (order === 0 && ioasid.freeCheck(ctx.state, hostId, hostId, pasid, null)) { i++; continue; }
      const next = freeFrom(ctx, hostId, pasid, order, 'exit_mm() -> ioasid_free()', { pasids, i, n: d.n as number });
      if (next) return { yield: next };
      i++; order = 0;
    }
    const n = d.n as number;
    return kcallDone(ctx, 'exit_mm', { owner: str(f, 'owner') }, n === 0 ? 'ENOENT' : null, {}, n);
  },
};

const runDeferred: Phased = {
  start(ctx, f) {
    return this.resume(ctx, f, { at: 'start', data: { keys: Object.keys(ctx.state.s.deferred).sort(compareKeys), i: 0, n: 0 } });
  },
  resume(ctx, _f, c) {
    const d = obj(c.data);
    const keys = d.keys as string[];
    let i = d.i as number;
    let n = d.n as number;
    while (i < keys.length) {
      const key = keys[i++] as string;
      if (!ioasid.runWork(ctx, key)) continue;
      n++;
      if (i < keys.length) return { yield: { at: `flush_workqueue(): work item ${key} done (process_one_work), the next one follows`, data: { keys, i, n } } };
    }
    return kcallDone(ctx, 'flush_workqueue', {}, null, {}, n);
  },
};

// ---------------------------------------------------------------- ioasid_alloc: the quota check and the charge

function allocRequest(ctx: Ctx, f: Fields): ioasid.AllocRequest {
  const hostId = hostOf(ctx, f);
  return {
    host: hostId, space: hostId, set: str(f, 'set'), owner: str(f, 'owner'),
    ...(optNum(f, 'min') !== null ? { min: num(f, 'min') } : {}), ...(optNum(f, 'max') !== null ? { max: num(f, 'max') } : {}),
    uncharged: f.uncharged === true,
  };
}

function allocDone(ctx: Ctx, f: Fields, r: { errno: Errno; reason: string } | { pasid: number }): Phase {
  const callArgs = { set: str(f, 'set'), owner: str(f, 'owner') };
  return 'errno' in r ? kcallDone(ctx, 'ioasid_alloc', callArgs, r.errno, { reason: r.reason }) : kcallDone(ctx, 'ioasid_alloc', callArgs, null, { pasid: r.pasid }, r.pasid);
}

const ioasidAlloc: Phased = {
  start(ctx, f) {
    const req = allocRequest(ctx, f);
    const refused = ioasid.allocCheck(ctx.state, req);
    if (refused) return allocDone(ctx, f, refused);
    // `atomic` (the series): ioasid_allocator_lock is held over the check and the charge.
    if (ctx.choice('locking', 'atomic') !== 'check-then-charge') return allocDone(ctx, f, ioasid.allocCharge(ctx, req));
    return { yield: { at: 'ioasid_alloc(): quota checked (nr_ioasids < quota), the lock dropped before the charge (locking=check-then-charge)', data: null } };
  },
  resume(ctx, f) {
    return allocDone(ctx, f, ioasid.allocCharge(ctx, allocRequest(ctx, f)));
  },
};

// ---------------------------------------------------------------- dma: walked, not yet filled

const dmaPhased: Phased = {
  start(ctx, f) {
    const r = dmaBegin(ctx, str(f, 'rid'), optNum(f, 'pasid'), num(f, 'addr'), bool(f, 'write'));
    if (!('rid' in r)) return { done: dmaOutcomeOf(ctx, str(f, 'rid'), r) };
    // Only a walk has a fill to come: a hit in the IOTLB or the ATC completes at once.
    if (r.fill === null && !r.atc) return { done: dmaOutcomeOf(ctx, str(f, 'rid'), dmaFinish(ctx, r)) };
    return { yield: { at: DMA_WALKED, data: r as unknown as ArgValue } };
  },
  resume(ctx, f, c) {
    return { done: dmaOutcomeOf(ctx, str(f, 'rid'), dmaFinish(ctx, c.data as unknown as DmaPending)) };
  },
};

// ---------------------------------------------------------------- IOMMU_VDEVICE_ALLOC

type IoctlPhase = { yield: Cont } | { done: IoctlResult };

const igroupLock = (fd: string, devId: number): string => `${fd}: idev ${devId} igroup->lock`;

const vdeviceAllocPhased = {
  start(ctx: Ctx, fd: string, a: Fields): IoctlPhase {
    // iommufd_vdevice_alloc_ioctl(): the viommu and device lookups and the iommu_dev check come before the lock
    const early = vdeviceEarly(ctx.state, fd, a);
    if ('errno' in early) return { done: early };
    const lock = igroupLock(fd, early.dev);
    // mutex_lock(&idev->igroup->lock): another thread's allocation for this device holds it
    if (ctx.locks.has(lock)) return { yield: { at: 'iommufd_vdevice_alloc_ioctl(): mutex_lock(&idev->igroup->lock)', data: { wait: 1 }, waitFor: lock } };
    return vdeviceLocked(ctx, fd, a);
  },
  resume(ctx: Ctx, fd: string, a: Fields, c: Cont): IoctlPhase {
    const d = obj(c.data);
    if (d.wait === 1) return vdeviceAllocPhased.start(ctx, fd, a);
    const devId = d.dev as number;
    const viommu = d.viommu as number;
    const virtId = d.virtId as number;
    const lock = [igroupLock(fd, devId)];
    if (d.abort === 1) {
      // out_abort: iommufd_object_abort_and_destroy() -> iommufd_vdevice_abort()
      if (ctx.choice('abort', 'cmpxchg') === 'erase') vdeviceAbortErase(ctx, fd, viommu, virtId);
      return { done: { errno: 'EEXIST', out: {} } };
    }
    // curr = xa_cmpxchg(&viommu->vdevs, virt_id, NULL, vdev): the slot taken -> -EEXIST, goto out_abort
    if (vdeviceSlot(ctx.state, fd, viommu, virtId)) {
      return { yield: { at: 'iommufd_vdevice_alloc_ioctl(): xa_cmpxchg found virt_id taken, goto out_abort', data: { ...d, abort: 1 }, locks: lock } };
    }
    return { done: vdeviceCreate(ctx, fd, viommu, devId, virtId, d.rid as Rid) };
  },
};

/** With the igroup lock: idev->vdev, then the object, then the yield before xa_cmpxchg. */
function vdeviceLocked(ctx: Ctx, fd: string, a: Fields): IoctlPhase {
  const early = vdeviceEarly(ctx.state, fd, a);
  if ('errno' in early) return { done: early };
  // iommufd_vdevice_alloc_ioctl(): idev->vdev already set -> -EEXIST
  if (early.exists) return { done: { errno: 'EEXIST', out: {} } };
  const rid = early.rid;
  return {
    yield: {
      at: 'iommufd_vdevice_alloc_ioctl(): vDEVICE allocated and idev->vdev set, before xa_cmpxchg(&viommu->vdevs, virt_id, NULL, vdev)',
      data: { viommu: early.viommu, dev: early.dev, virtId: a.virt_id as number, rid },
      locks: [igroupLock(fd, early.dev)],
    },
  };
}

// ---------------------------------------------------------------- the ioctl op and the table of phased ops

const ioctlPhased: Phased = {
  start(ctx, f) {
    const cmd = str(f, 'cmd');
    const spec = own(IOCTLS, cmd);
    const inner = spec?.phased;
    if (!spec || !inner) return { done: plainIoctl(ctx, f) };
    const { a, abi } = ioctlArgs(ctx.step, f, spec);
    // the iommufd ABI checks (engine/iommufd/abi.ts) come first, as in the ioctl op's issue()
    if ('errno' in abi) return ioctlEnd(ctx, f, a, { done: { errno: abi.errno, out: {} } });
    return ioctlEnd(ctx, f, a, inner.start(ctx, fdOf(f, spec.file), abi.args));
  },
  resume(ctx, f, c) {
    const spec = own(IOCTLS, str(f, 'cmd'));
    const inner = spec?.phased;
    if (!spec || !inner) throw new Error('resume of an ioctl without yield points');
    const { a, abi } = ioctlArgs(ctx.step, f, spec);
    if ('errno' in abi) throw new Error('resume of an ioctl its ABI checks refused');
    return ioctlEnd(ctx, f, a, inner.resume(ctx, fdOf(f, spec.file), abi.args, c));
  },
};

/** The ioctl's arguments as the ioctl op normalises them, and what the ABI checks make of them. */
function ioctlArgs(step: number, f: Fields, spec: IoctlSpec): { a: Fields; abi: ReturnType<typeof applyAbi> } {
  const a = normalizeFields(spec.file === 'iommufd' ? { ...spec.args, ...ABI_FIELDS } : spec.args, args(f, 'args'));
  return { a, abi: spec.file === 'iommufd' ? applyAbi(str(f, 'cmd'), a, step) : { args: a } };
}

const DEFAULT_FD: Record<string, string> = { iommufd: 'iommufd', ioasid: 'ioasid', vfio: 'vfio', kvm: 'kvm' };
const fdOf = (f: Fields, file: string): string => optStr(f, 'fd') ?? DEFAULT_FD[file] ?? file;

function ioctlEnd(ctx: Ctx, f: Fields, a: Fields, r: IoctlPhase): Phase {
  if ('yield' in r) return r;
  const spec = own(IOCTLS, str(f, 'cmd'));
  ctx.emit({ kind: 'ioctl', fd: fdOf(f, spec?.file ?? 'iommufd'), cmd: str(f, 'cmd'), args: a as Args, errno: r.done.errno, out: r.done.out });
  return { done: { errno: r.done.errno, value: r.done.value ?? null, out: r.done.out } };
}

/** The ioctl op's own run (an ioctl without yield points is one segment). */
const plainIoctl = OPS.ioctl?.run.bind(OPS.ioctl) ?? ((): never => { throw new Error('no ioctl op'); });

/** Attach the phases: each op's and ioctl's `run` becomes its phases driven back to back. */
function install(): void {
  const ops: Record<string, Phased> = { 'ioasid-free': ioasidFree, 'process-exit': processExit, 'run-deferred': runDeferred, 'ioasid-alloc': ioasidAlloc, dma: dmaPhased };
  for (const name of Object.keys(ops)) {
    const spec = OPS[name];
    const p = ops[name];
    if (!spec || !p) continue;
    spec.phased = p;
    spec.run = (ctx, f) => drive(ctx, f, p);
  }
  const vdev = IOCTLS.IOMMU_VDEVICE_ALLOC;
  if (vdev) {
    vdev.phased = vdeviceAllocPhased;
    vdev.run = (ctx, fd, a) => {
      let r = vdeviceAllocPhased.start(ctx, fd, a);
      while ('yield' in r) r = vdeviceAllocPhased.resume(ctx, fd, a, r.yield);
      return r.done;
    };
  }
  const ioctl = OPS.ioctl;
  if (ioctl) ioctl.phased = ioctlPhased;
}
install();
