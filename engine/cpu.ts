// The CPU side of ENQCMD (Documentation/arch/x86/sva.rst): IA32_PASID per
// vCPU, and the per-VM PASID translation table the VMM programs.
import type { Ctx } from './ctx.js';
import { k } from './keys.js';
import type { Outcome } from './op.js';
import type { Errno } from './types.js';

/** IA32_PASID MSR number; bit 31 is the valid bit. */
export const MSR_IA32_PASID = 0xd93;
/** #GP vector, reported as the fault reason of a CPU-side ENQCMD fault. */
export const GP_VECTOR = 13;

/**
 * ENQCMD copies IA32_PASID into the descriptor; in a guest the CPU first
 * translates it through the VM's PASID table. An invalid MSR or a guest PASID
 * missing from the table faults on the CPU: the descriptor never reaches the
 * device.
 */
export function enqcmd(ctx: Ctx, vm: string, vcpu: number, rid: string, wq: string): { pasid: number } | Outcome {
  const wqCell = ctx.state.s.wq[k.wq(rid, wq)];
  if (!wqCell) return { errno: 'ENOENT', fault: null };
  if (wqCell.mode !== 'shared') return { errno: 'EINVAL', fault: null };
  const msr = ctx.state.s.vcpu[k.vcpu(vm, vcpu)]?.pasid ?? null;
  if (msr === null) {
    ctx.emit({ kind: 'enqcmd', vm, vcpu, rid, wq, msr, pasid: null, gp: true });
    ctx.emit({ kind: 'fault', source: 'cpu', reason: GP_VECTOR, name: '#GP: IA32_PASID not valid', rid, pasid: null, addr: null, vm });
    return { errno: null, fault: { reason: GP_VECTOR, name: '#GP' } };
  }
  const map = ctx.state.s['cpu-pasid'][k.cpuPasid(vm, msr)];
  if (!map) {
    ctx.emit({ kind: 'enqcmd', vm, vcpu, rid, wq, msr, pasid: null, gp: true });
    ctx.emit({ kind: 'fault', source: 'cpu', reason: GP_VECTOR, name: 'PASID translation miss', rid, pasid: msr, addr: null, vm });
    return { errno: null, fault: { reason: GP_VECTOR, name: 'PASID translation miss' } };
  }
  ctx.emit({ kind: 'enqcmd', vm, vcpu, rid, wq, msr, pasid: map.hpasid, gp: false });
  return { pasid: map.hpasid };
}

export function writeMsr(ctx: Ctx, vm: string, vcpu: number, pasid: number | null): Errno | null {
  if (!ctx.state.s.vcpu[k.vcpu(vm, vcpu)]) return 'ENOENT';
  ctx.emit({ kind: 'msr-write', vm, vcpu, pasid });
  return null;
}
