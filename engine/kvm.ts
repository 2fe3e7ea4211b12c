// KVM: the per-VM PASID translation table ENQCMD goes through, and the
// WBINVD decision that follows from the cache coherency of attached domains.
import type { Ctx } from './ctx.js';
import { k, parts } from './keys.js';
import { compareKeys } from './state.js';
import type { Errno } from './types.js';

/** KVM_SET_PASID_MAPPING (seed 000; not merged): guest PASID -> host PASID for ENQCMD. */
export function setPasidMapping(ctx: Ctx, vm: string, gpasid: number, hpasid: number | null): Errno | null {
  if (!ctx.state.s.vm[vm]) return 'ENOENT';
  const cur = ctx.state.s['cpu-pasid'][k.cpuPasid(vm, gpasid)];
  if (hpasid === null && !cur) return 'ENOENT';
  if (hpasid !== null && cur && cur.hpasid !== hpasid) return 'EEXIST';
  ctx.emit({ kind: 'kvm-pasid-map', vm, gpasid, hpasid });
  return null;
}

/**
 * Seed 003: KVM must keep WBINVD working while any device of the VM can issue
 * no-snoop DMA through a domain that does not force snoop; when every domain
 * blocks no-snoop, WBINVD can be a no-op.
 */
export function updateWbinvd(ctx: Ctx, vm: string | null): void {
  if (vm === null) return;
  const cell = ctx.state.s.vm[vm];
  if (!cell) return;
  let noncoherent = 0;
  for (const key of Object.keys(ctx.state.s.bind).sort(compareKeys)) {
    const rid = parts(key)[0] ?? '';
    const dev = ctx.state.s.device[rid];
    const entry = ctx.state.s.pasid[key];
    if (dev?.vm === vm && entry?.p && dev.noSnoop && !entry.pgsnp) noncoherent++;
  }
  const wbinvd = noncoherent > 0 ? 'honour' : 'noop';
  if (wbinvd !== cell.wbinvd) ctx.emit({ kind: 'kvm-wbinvd', vm, wbinvd, noncoherent });
}
