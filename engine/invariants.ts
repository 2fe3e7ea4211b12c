// Invariants checked after every step. Stale-cache hits and DMA into another
// address space are checked where they happen (engine/iommu.ts); these are the
// ones that hold of the state itself. Each broken one is a `violation` event,
// reported once when it starts to hold.
import type { Ctx } from './ctx.js';
import { k, parts } from './keys.js';
import { allocIndex, deferredPending, firstOpenEntry, outliving, overQuota } from './indexes.js';
import { outstanding } from './ioasid.js';
import { kvmHolders } from './kvm.js';
import { compareKeys } from './state.js';
import type { Rid } from './types.js';

export class InvariantChecker {
  /** Violations currently standing, so each is reported when it appears, not every step. */
  private standing = new Set<string>();

  check(ctx: Ctx): void {
    if (ctx.dirty.has('ioasid') || ctx.dirty.has('bind') || ctx.dirty.has('pasid') || ctx.dirty.has('deferred')) this.entriesOutliveIoasid(ctx);
    if (ctx.dirty.has('ioasid') || ctx.dirty.has('ioasid-set')) this.quota(ctx);
    if (ctx.dirty.has('pasid') || ctx.dirty.has('vm') || ctx.dirty.has('device')) this.noncoherentWithoutWbinvd(ctx);
  }

  private report(now: Set<string>, id: string, raise: () => void): void {
    now.add(id);
    if (!this.standing.has(id)) raise();
  }

  private settle(prefix: string, now: Set<string>): void {
    for (const id of [...this.standing]) if (id.startsWith(prefix) && !now.has(id)) this.standing.delete(id);
    for (const id of now) this.standing.add(id);
  }

  /**
   * A present PASID entry whose IOASID was freed, with no clean-up pending,
   * or whose PASID the allocator has already handed to another owner.
   */
  private entriesOutliveIoasid(ctx: Ctx): void {
    const s = ctx.state.s;
    const now = new Set<string>();
    // A live run's index (engine/indexes.ts) holds the bindings this holds of: O(stale entries), not O(bindings x deferred work).
    const ix = allocIndex(ctx.state);
    for (const key of ix ? outliving(ix) : Object.keys(s.bind).sort(compareKeys)) {
      const b = s.bind[key];
      if (!b?.space || !s.pasid[key]?.p) continue;
      const [rid, p] = parts(key) as [Rid, string];
      const pasid = Number(p);
      const alloc = s.ioasid[k.ioasid(b.space, pasid)];
      const hostId = parts(b.space)[0] ?? '';
      const pending = ix ? deferredPending(ix, `${hostId}/${pasid}/`) : Object.keys(s.deferred).some((d) => d.startsWith(`${hostId}/${pasid}/`));
      let detail: string | null = null;
      if (!alloc && !pending) detail = `PASID ${pasid} entry of ${rid} still present after its IOASID was freed, no clean-up pending`;
      else if (alloc && alloc.owner !== b.owner) detail = `PASID ${pasid} re-allocated to ${alloc.owner} while ${rid}'s entry still points at ${b.owner}'s address space`;
      if (detail !== null) {
        const text = detail;
        this.report(now, `outlive:${key}:${alloc?.owner ?? ''}`, () =>
          ctx.emit({ kind: 'violation', invariant: 'entry-outlives-ioasid', rid, pasid, detail: text }));
      }
    }
    this.settle('outlive:', now);
  }

  /**
   * Seed 003: a device of a VM that issues no-snoop TLPs is reachable through
   * a present PASID entry without PGSNP (the IOMMU does not force snoop), while
   * KVM treats the VM's WBINVD as a no-op (kvm_arch_has_noncoherent_dma() is
   * false: the VMM never added the device's VFIO file to the kvm-vfio device,
   * or KVM judged it coherent). "Processing no-snoop without a working wbinvd
   * would be fatal" (Jason Gunthorpe, seed 003): the guest's cache flushes do
   * not reach the data the device wrote or will read.
   */
  private noncoherentWithoutWbinvd(ctx: Ctx): void {
    const s = ctx.state.s;
    const now = new Set<string>();
    const ix = allocIndex(ctx.state);
    for (const rid of Object.keys(s.device).sort(compareKeys)) {
      const dev = s.device[rid];
      if (!dev?.noSnoop || dev.vm === null) continue;
      const vm = s.vm[dev.vm];
      if (!vm || vm.wbinvd !== 'noop') continue;
      const prefix = `${rid}/`;
      const first = ix ? firstOpenEntry(ix, prefix) : Object.keys(s.pasid).sort(compareKeys).find((key) => key.startsWith(prefix) && s.pasid[key]?.p && !s.pasid[key]?.pgsnp);
      if (first === undefined) continue;
      const pasid = Number(first.slice(prefix.length));
      const why = kvmHolders(dev).includes(dev.vm) ? 'KVM holds its VFIO file but counts it coherent' : 'KVM was never given its VFIO file (no KVM_DEV_VFIO_FILE_ADD)';
      const detail = `${rid} in ${dev.vm} issues no-snoop DMA through PASID ${pasid} (entry without PGSNP) while WBINVD is a no-op: ${why}. "Processing no-snoop without a working wbinvd would be fatal" (seed 003)`;
      this.report(now, `nosnoop:${rid}`, () =>
        ctx.emit({ kind: 'violation', invariant: 'noncoherent-dma-without-wbinvd', rid, pasid, detail }));
    }
    this.settle('nosnoop:', now);
  }

  private quota(ctx: Ctx): void {
    const now = new Set<string>();
    // The sets over their quota come from the allocators' index (engine/indexes.ts) when the run keeps one: O(sets over quota), not O(sets x IOASIDs).
    const ix = allocIndex(ctx.state);
    for (const key of ix ? overQuota(ix) : Object.keys(ctx.state.s['ioasid-set']).sort(compareKeys)) {
      const set = ctx.state.s['ioasid-set'][key];
      const [hostId, name] = parts(key);
      if (!set || hostId === undefined || name === undefined) continue;
      const n = outstanding(ctx.state, hostId, name);
      if (n > set.quota) {
        this.report(now, `quota:${key}`, () =>
          ctx.emit({ kind: 'violation', invariant: 'quota-overrun', rid: null, pasid: null, detail: `IOASID set ${name} on ${hostId} holds ${n} PASIDs, quota ${set.quota}` }));
      }
    }
    this.settle('quota:', now);
  }
}
