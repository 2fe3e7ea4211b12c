// The `ioctl` op: every uAPI the model knows, with the argument fields of
// include/uapi/linux/iommufd.h, VFIO's structs, and seed 000's proposal.
import type { Ctx } from '../ctx.js';
import * as fd from '../iommufd.js';
import type { IoctlResult } from '../iommufd.js';
import { setPasidMapping } from '../kvm.js';
import { args, optStr, str, type FieldSpec, type Fields, type OpSpec } from '../op.js';
import * as v2021 from '../uapi2021.js';
import type { Args } from '../types.js';
import { own } from '../own.js';

export interface IoctlSpec {
  /** Which file the ioctl is issued on; the step's `fd` names the instance. */
  file: 'iommufd' | 'ioasid' | 'vfio' | 'kvm';
  /** iommufd ioctl number (_IO(';', nr)), where the uAPI has one. */
  nr?: number;
  args: Record<string, FieldSpec>;
  run(ctx: Ctx, fdName: string, a: Fields): IoctlResult;
}

const noResult = (errno: ReturnType<typeof setPasidMapping>): IoctlResult => ({ errno, out: {} });

export const IOCTLS: Record<string, IoctlSpec> = {
  // ---- iommufd (merged)
  IOMMU_DESTROY: { file: 'iommufd', nr: 0x80, args: { id: 'int' }, run: (ctx, f, a) => fd.destroy(ctx, f, a.id as number) },
  IOMMU_IOAS_ALLOC: { file: 'iommufd', nr: 0x81, args: {}, run: (ctx, f) => fd.ioasAlloc(ctx, f) },
  IOMMU_IOAS_MAP: { file: 'iommufd', nr: 0x85, args: { ioas_id: 'int', user_va: 'int', length: 'int', iova: 'int?', flags: 'int?' }, run: (ctx, f, a) => fd.ioasMap(ctx, f, a) },
  IOMMU_IOAS_UNMAP: { file: 'iommufd', nr: 0x86, args: { ioas_id: 'int', iova: 'int', length: 'int' }, run: (ctx, f, a) => fd.ioasUnmap(ctx, f, a) },
  IOMMU_HWPT_ALLOC: { file: 'iommufd', nr: 0x89, args: { dev_id: 'int', pt_id: 'int', flags: 'int?', fault_id: 'int?', data_type: 'str?', data: 'args?' }, run: (ctx, f, a) => fd.hwptAlloc(ctx, f, a) },
  IOMMU_GET_HW_INFO: { file: 'iommufd', nr: 0x8a, args: { dev_id: 'int' }, run: (ctx, f, a) => fd.getHwInfo(ctx, f, a) },
  IOMMU_HWPT_INVALIDATE: { file: 'iommufd', nr: 0x8d, args: { hwpt_id: 'int', data_type: 'str', entry_num: 'int?', entries: 'list?' }, run: (ctx, f, a) => fd.hwptInvalidate(ctx, f, a) },
  IOMMU_FAULT_QUEUE_ALLOC: { file: 'iommufd', nr: 0x8e, args: {}, run: (ctx, f) => fd.faultQueueAlloc(ctx, f) },
  IOMMU_VIOMMU_ALLOC: { file: 'iommufd', nr: 0x90, args: { dev_id: 'int', hwpt_id: 'int', type: 'str?' }, run: (ctx, f, a) => fd.viommuAlloc(ctx, f, a) },
  IOMMU_VDEVICE_ALLOC: { file: 'iommufd', nr: 0x91, args: { viommu_id: 'int', dev_id: 'int', virt_id: 'int' }, run: (ctx, f, a) => fd.vdeviceAlloc(ctx, f, a) },
  // ---- VFIO cdev
  VFIO_DEVICE_BIND_IOMMUFD: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?' }, run: (ctx, _f, a) => fd.deviceBind(ctx, (a.iommufd as string | undefined) ?? 'iommufd', a.dev as string) },
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?', pt_id: 'int', pasid: 'int?' }, run: (ctx, _f, a) => fd.deviceAttach(ctx, (a.iommufd as string | undefined) ?? 'iommufd', a.dev as string, a) },
  VFIO_DEVICE_DETACH_IOMMUFD_PT: { file: 'vfio', args: { dev: 'rid', iommufd: 'str?', flags: 'int?', pasid: 'int?' }, run: (ctx, _f, a) => fd.deviceDetach(ctx, (a.iommufd as string | undefined) ?? 'iommufd', a.dev as string, a) },
  // ---- the 2021 /dev/ioasid proposal (seed 000)
  IOASID_SET_HWID_MODE: { file: 'ioasid', args: { mode: ['IOASID_HWID_LOCAL', 'IOASID_HWID_GLOBAL'], host: 'host?' }, run: (ctx, _f, a) => v2021.setHwidMode(ctx, a) },
  IOASID_HWID_SET_GLOBAL_MIN: { file: 'ioasid', args: { global_min: 'int', host: 'host?' }, run: (ctx, _f, a) => v2021.setGlobalMin(ctx, a) },
  IOASID_ALLOC: { file: 'ioasid', args: { s2: 'int?', vm: 'vm?' }, run: (ctx, f, a) => v2021.alloc(ctx, f, a) },
  VFIO_ATTACH_IOASID: { file: 'vfio', args: { dev: 'rid', ioasid: 'int', ioasid_fd: 'str?' }, run: (ctx, _f, a) => v2021.attach(ctx, (a.ioasid_fd as string | undefined) ?? 'ioasid', a) },
  IOASID_SET_PASID_TABLE: { file: 'ioasid', args: { ioasid: 'int', gpa: 'int' }, run: (ctx, f, a) => v2021.setPasidTable(ctx, f, a) },
  IOASID_SET_HWID: { file: 'ioasid', args: { ioasid: 'int', pasid: 'int', set: 'str?' }, run: (ctx, f, a) => v2021.setHwid(ctx, f, a) },
  IOASID_BIND_PGTABLE: { file: 'ioasid', args: { ioasid: 'int', gpa: 'int' }, run: (ctx, f, a) => v2021.bindPgtable(ctx, f, a) },
  IOASID_UNBIND_PGTABLE: { file: 'ioasid', args: { ioasid: 'int' }, run: (ctx, f, a) => v2021.unbindPgtable(ctx, f, a) },
  IOASID_FREE: { file: 'ioasid', args: { ioasid: 'int' }, run: (ctx, f, a) => v2021.free(ctx, f, a) },
  // ---- KVM (seed 000's proposal; KVM_MAP_PASID in an earlier RFC; neither merged)
  KVM_SET_PASID_MAPPING: { file: 'kvm', args: { vm: 'vm', gpasid: 'int', hpasid: 'int' }, run: (ctx, _f, a) => noResult(setPasidMapping(ctx, a.vm as string, a.gpasid as number, a.hpasid as number)) },
  KVM_CLEAR_PASID_MAPPING: { file: 'kvm', args: { vm: 'vm', gpasid: 'int' }, run: (ctx, _f, a) => noResult(setPasidMapping(ctx, a.vm as string, a.gpasid as number, null)) },
};

const DEFAULT_FD: Record<IoctlSpec['file'], string> = { iommufd: 'iommufd', ioasid: 'ioasid', vfio: 'vfio', kvm: 'kvm' };

export const ioctlOp: OpSpec = {
  doc: 'Issue an ioctl: `cmd` names it, `args` carries the uAPI struct\'s fields, `fd` the open file (default per file type).',
  fields: { cmd: Object.keys(IOCTLS), fd: 'str?', args: 'args?' },
  run: (ctx, f) => {
    const cmd = str(f, 'cmd');
    const spec = own(IOCTLS, cmd);
    if (!spec) return { errno: 'ENOTTY' };
    const fdName = optStr(f, 'fd') ?? DEFAULT_FD[spec.file];
    const a = args(f, 'args');
    const r = spec.run(ctx, fdName, a);
    ctx.emit({ kind: 'ioctl', fd: fdName, cmd, args: a as Args, errno: r.errno, out: r.out });
    return { errno: r.errno, value: r.value ?? null };
  },
};

export const closeOp: OpSpec = {
  doc: 'Close an iommufd: every object is destroyed, children before parents.',
  fields: { fd: 'str' },
  run: (ctx, f) => {
    const r = fd.closeFd(ctx, str(f, 'fd'));
    ctx.emit({ kind: 'ioctl', fd: str(f, 'fd'), cmd: 'close', args: {}, errno: r.errno, out: r.out });
    return { errno: r.errno };
  },
};

export const unbindDeviceOp: OpSpec = {
  doc: 'The VFIO device is unbound (its fd closed) while iommufd objects still use it.',
  fields: { dev: 'rid', iommufd: 'str?' },
  run: (ctx, f) => {
    const fdName = optStr(f, 'iommufd') ?? 'iommufd';
    const r = fd.deviceUnbind(ctx, fdName, str(f, 'dev'));
    ctx.emit({ kind: 'ioctl', fd: 'vfio', cmd: 'VFIO_DEVICE_UNBIND', args: { dev: str(f, 'dev'), iommufd: fdName }, errno: r.errno, out: r.out });
    return { errno: r.errno };
  },
};
