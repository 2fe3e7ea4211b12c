// VMM and guest actions: device assignment, the guest's vIOMMU PASID table and
// the invalidations the VMM captures, guest MMIO/MSR writes, live migration.
import { writeMsr } from '../cpu.js';
import type { Ctx } from '../ctx.js';
import { clearEntry, device, installEntry } from '../iommu.js';
import { k, parts } from '../keys.js';
import { fail, num, ok, optNum, str, type OpSpec } from '../op.js';
import { allocIndex, cpuPasidsOfVm } from '../indexes.js';
import { compareKeys } from '../state.js';

function guestWqConfig(ctx: Ctx, vm: string, rid: string, wq: string, pasid: number): { errno: 'EINVAL' | 'ENOENT' | 'EPERM' | null } {
  const dev = device(ctx.state, rid);
  if (dev.vm !== vm) return { errno: 'EPERM' };
  const cell = ctx.state.s.wq[k.wq(rid, wq)];
  if (!cell) return { errno: 'ENOENT' };
  if (cell.mode !== 'dedicated') return { errno: 'EINVAL' };
  if (dev.type === 'siov') {
    // Mediated: the register is emulated; the parent driver writes the real PASID.
    const real = ctx.state.s['mdev-pasid'][k.mdevPasid(rid, pasid)];
    if (!real) return { errno: 'EINVAL' };
    ctx.emit({ kind: 'wq-config', rid, wq, pasid: real.pasid, enabled: true });
  } else {
    // Passed through: the guest's PASID lands in the device register untranslated.
    ctx.emit({ kind: 'wq-config', rid, wq, pasid, enabled: true });
  }
  return { errno: null };
}

export const guestOps: Record<string, OpSpec> = {
  'device-assign': {
    doc: 'The VMM assigns a device (PF, VF or mdev/SIOV) to a VM.',
    fields: { rid: 'rid', vm: 'vm' },
    run: (ctx, f) => {
      const vm = ctx.state.s.vm[str(f, 'vm')];
      if (!vm) return fail('ENOENT');
      if (device(ctx.state, str(f, 'rid')).host !== vm.host) return fail('EINVAL');
      ctx.emit({ kind: 'device-assign', rid: str(f, 'rid'), vm: str(f, 'vm'), host: vm.host });
      return ok();
    },
  },
  'guest-pasid-alloc': {
    doc: 'The guest allocates a PASID: its own choice, or (with a vIOMMU virtual command) the host PASID it is given.',
    fields: { vm: 'vm', pasid: 'int' },
    run: (ctx, f) => {
      ctx.emit({ kind: 'kcall', fn: 'guest_pasid_alloc', args: { vm: str(f, 'vm') }, errno: null, out: { pasid: num(f, 'pasid') } });
      return ok(num(f, 'pasid'));
    },
  },
  'guest-msr': {
    doc: 'The guest kernel writes IA32_PASID (MSR 0xd93) of a vCPU with a guest PASID (null clears the valid bit).',
    fields: { vm: 'vm', vcpu: 'int?', pasid: 'int?' },
    run: (ctx, f) => ({ errno: writeMsr(ctx, str(f, 'vm'), optNum(f, 'vcpu') ?? 0, optNum(f, 'pasid')) }),
  },
  'guest-wq-config': {
    doc: 'The guest driver writes a dedicated WQ\'s PASID register through MMIO.',
    fields: { vm: 'vm', rid: 'rid', wq: 'str', pasid: 'int' },
    run: (ctx, f) => guestWqConfig(ctx, str(f, 'vm'), str(f, 'rid'), str(f, 'wq'), num(f, 'pasid')),
  },
  'guest-pasid-entry': {
    doc: 'The guest writes a PASID entry in its vIOMMU table (GPA). With a guest-owned table (IOASID_SET_PASID_TABLE) the hardware walks it directly, nested on `s2`.',
    fields: { vm: 'vm', rid: 'rid', pasid: 'int', flptr: 'int', s2: 'int?', fpd: 'bool?' },
    run: (ctx, f) => {
      const rid = str(f, 'rid');
      const pasid = num(f, 'pasid');
      ctx.emit({ kind: 'guest-pasid-write', vm: str(f, 'vm'), rid, pasid, flptr: num(f, 'flptr') });
      if (device(ctx.state, rid).guestTable === null) return ok();
      const s2 = optNum(f, 's2');
      if (s2 === null) return fail('EINVAL');
      // fpd: the entry's Fault Processing Disable bit (faults at or below this entry are not recorded).
      const errno = installEntry(ctx, rid, pasid, { fpd: f.fpd === true, pgtt: 3, flptr: num(f, 'flptr'), slptptr: s2, did: 0x300, pgsnp: false });
      if (!errno) ctx.emit({ kind: 'bind', rid, pasid, owner: str(f, 'vm'), via: 'guest PASID table', space: null });
      return { errno };
    },
  },
  'guest-pasid-clear': {
    doc: 'The guest clears a PASID entry of its vIOMMU table.',
    fields: { vm: 'vm', rid: 'rid', pasid: 'int' },
    run: (ctx, f) => {
      const rid = str(f, 'rid');
      const pasid = num(f, 'pasid');
      ctx.emit({ kind: 'guest-pasid-write', vm: str(f, 'vm'), rid, pasid, flptr: null });
      if (device(ctx.state, rid).guestTable !== null && clearEntry(ctx, rid, pasid)) {
        ctx.emit({ kind: 'bind', rid, pasid, owner: null, via: 'guest PASID table', space: null });
      }
      return ok();
    },
  },
  'guest-pasid-cache-inval': {
    doc: 'The guest issues a PASID-cache invalidation on its vIOMMU; the VMM captures it (how QEMU learns of a new guest PASID).',
    fields: { vm: 'vm', rid: 'rid?', pasid: 'int?' },
    run: (ctx, f) => {
      ctx.emit({ kind: 'guest-inval', vm: str(f, 'vm'), what: 'pasid-cache', rid: (f.rid as string | undefined) ?? null, pasid: optNum(f, 'pasid') });
      return ok();
    },
  },
  'guest-config-read': {
    doc: 'The guest driver reads the PASID capability at the config-space offset it found (and cached) at probe time.',
    fields: { vm: 'vm', rid: 'rid', offset: 'int' },
    run: (ctx, f) => {
      const dev = device(ctx.state, str(f, 'rid'));
      const found = dev.pasidCap?.offset === num(f, 'offset') ? 'pasid-cap' : null;
      ctx.emit({ kind: 'config-read', rid: str(f, 'rid'), vm: str(f, 'vm'), offset: num(f, 'offset'), what: 'pasid-cap', found });
      return found ? ok() : fail('EIO');
    },
  },
  'pasid-cap-place': {
    doc: 'Place the PASID capability in config space at `offset` (by the kernel\'s vfio-pci or synthesised by the VMM).',
    fields: { rid: 'rid', offset: 'int', by: ['kernel', 'vmm'] },
    run: (ctx, f) => {
      const dev = device(ctx.state, str(f, 'rid'));
      const offset = num(f, 'offset');
      if (offset < dev.configFree[0] || offset + 8 > dev.configFree[1]) return fail('ENOSPC');
      ctx.emit({ kind: 'config-write', rid: str(f, 'rid'), offset, what: 'pasid-cap', value: offset });
      return ok();
    },
  },
  migrate: {
    doc: 'Live-migrate a VM: guest state (vIOMMU tables, IA32_PASID) moves; host state (KVM PASID mappings, device assignment) does not.',
    fields: { vm: 'vm', to: 'host' },
    run: (ctx, f) => {
      const vmId = str(f, 'vm');
      const vm = ctx.state.s.vm[vmId];
      if (!vm) return fail('ENOENT');
      const from = vm.host;
      ctx.emit({ kind: 'migrate', vm: vmId, from, to: str(f, 'to'), phase: 'save' });
      // A live run's index has each VM's translations (engine/indexes.ts); a bare state sorts every VM's.
      const ix = allocIndex(ctx.state);
      for (const key of ix ? cpuPasidsOfVm(ix, vmId) : Object.keys(ctx.state.s['cpu-pasid']).sort(compareKeys)) {
        const [owner, gpasid] = parts(key);
        if (owner === vmId) ctx.emit({ kind: 'kvm-pasid-map', vm: vmId, gpasid: Number(gpasid), hpasid: null });
      }
      for (const rid of Object.keys(ctx.state.s.device).sort(compareKeys)) {
        if (ctx.state.s.device[rid]?.vm === vmId) ctx.emit({ kind: 'device-assign', rid, vm: null, host: from });
      }
      ctx.emit({ kind: 'vm-host', vm: vmId, host: str(f, 'to') });
      ctx.emit({ kind: 'migrate', vm: vmId, from, to: str(f, 'to'), phase: 'restore' });
      return ok();
    },
  },
};
