// The `ioctl` op: every uAPI the model knows, with the argument fields of
// include/uapi/linux/iommufd.h, VFIO's structs, and seed 000's proposal.
// Each family's table lives beside its handlers (engine/iommufd/*, engine/vfio.ts).
import { closeFd } from '../iommufd/main.js';
import { DEVICE_IOCTLS } from '../iommufd/device.js';
import { EVENTQ_IOCTLS } from '../iommufd/eventq.js';
import { HWPT_IOCTLS } from '../iommufd/hwpt.js';
import { IOAS_IOCTLS } from '../iommufd/ioas.js';
import { IOAS_FILE_IOCTLS } from '../iommufd/ioas-file.js';
import { MAIN_IOCTLS } from '../iommufd/main.js';
import type { IoctlResult } from '../iommufd/object.js';
import { VIOMMU_IOCTLS } from '../iommufd/viommu.js';
import { VFIO_COMPAT_IOCTLS } from '../iommufd/vfio-compat.js';
import { VFIO_TYPE1_IOCTLS } from '../iommufd/vfio-type1.js';
import { KVM_IOCTLS, setPasidMapping } from '../kvm.js';
import { args, normalizeFields, optStr, str, type IoctlSpec, type OpSpec, type Outcome } from '../op.js';
import type { Ctx } from '../ctx.js';
import { ABI_FIELDS, applyAbi } from '../iommufd/abi.js';
import * as v2021 from '../uapi2021.js';
import type { Args } from '../types.js';
import { own } from '../own.js';
import { VFIO_IOCTLS, vfioUnbind } from '../vfio.js';

export type { IoctlSpec } from '../op.js';

const noResult = (errno: ReturnType<typeof setPasidMapping>): IoctlResult => ({ errno, out: {} });

export const IOCTLS: Record<string, IoctlSpec> = {
  // ---- iommufd (merged)
  ...MAIN_IOCTLS,
  ...IOAS_IOCTLS,
  ...IOAS_FILE_IOCTLS,
  ...HWPT_IOCTLS,
  ...DEVICE_IOCTLS,
  ...EVENTQ_IOCTLS,
  ...VIOMMU_IOCTLS,
  // ---- the VFIO compatibility side of an iommufd (IOMMU_VFIO_IOAS, VFIO_GET_API_VERSION, the type1 container ioctls)
  ...VFIO_COMPAT_IOCTLS,
  ...VFIO_TYPE1_IOCTLS,
  // ---- VFIO cdev
  ...VFIO_IOCTLS,
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
  // ---- KVM (merged): the kvm-vfio device (virt/kvm/vfio.c), engine/kvm.ts
  ...KVM_IOCTLS,
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
    return issue(ctx, cmd, spec, fdName, args(f, 'args'));
  },
};

/** The ioctl itself: the iommufd ABI checks (engine/iommufd/abi.ts), the handler, the event. */
function issue(ctx: Ctx, cmd: string, spec: IoctlSpec, fdName: string, raw: Args): Outcome {
  const a = normalizeFields(spec.file === 'iommufd' ? { ...spec.args, ...ABI_FIELDS } : spec.args, raw);
  const abi = spec.file === 'iommufd' ? applyAbi(cmd, a, ctx.step) : { args: a };
  const r: IoctlResult = 'errno' in abi ? { errno: abi.errno, out: {} } : spec.run(ctx, fdName, abi.args);
  ctx.emit({ kind: 'ioctl', fd: fdName, cmd, args: a as Args, errno: r.errno, out: r.out });
  return { errno: r.errno, value: r.value ?? null, out: r.out };
}

/** iommufd ioctls by number (_IOC_NR of _IO(';', nr)): the IOCTL_OP table of main.c, and the VFIO compat ioctls below it. */
const BY_NR = new Map<number, string>(Object.entries(IOCTLS).filter(([, s]) => s.file === 'iommufd' && s.nr !== undefined).map(([name, s]) => [s.nr as number, name]));

export const ioctlNrOp: OpSpec = {
  doc: 'Issue an iommufd ioctl by its number (`nr`, as in _IO(\';\', nr)): a known one runs as `ioctl` with that command (the IOCTL_OP table 0x80..0x94, and the VFIO compat path\'s 100 VFIO_GET_API_VERSION, 101 VFIO_CHECK_EXTENSION, 102 VFIO_SET_IOMMU, 112-114 VFIO_IOMMU_GET_INFO / MAP_DMA / UNMAP_DMA); any other is ENOTTY (iommufd_fops_ioctl(), main.c: a table hole, or iommufd_vfio_ioctl()\'s -ENOIOCTLCMD).',
  fields: { nr: 'int', fd: 'str?', args: 'args?' },
  run: (ctx, f) => {
    const nr = f.nr as number;
    const fdName = optStr(f, 'fd') ?? 'iommufd';
    const cmd = BY_NR.get(nr);
    const spec = cmd === undefined ? undefined : own(IOCTLS, cmd);
    if (cmd === undefined || !spec) {
      // iommufd_fops_ioctl(), main.c: a hole of iommufd_ioctl_ops[] (op->ioctl_num != cmd) is -ENOIOCTLCMD; a number outside
      // it goes to iommufd_vfio_ioctl(), vfio_compat.c, whose default is -ENOIOCTLCMD too: user space sees ENOTTY
      ctx.emit({ kind: 'ioctl', fd: fdName, cmd: `nr 0x${nr.toString(16)}`, args: args(f, 'args'), errno: 'ENOTTY', out: {} });
      return { errno: 'ENOTTY' };
    }
    return issue(ctx, cmd, spec, fdName, args(f, 'args'));
  },
};

export const closeOp: OpSpec = {
  doc: 'Close an iommufd: every object is destroyed, children before parents.',
  fields: { fd: 'str' },
  run: (ctx, f) => {
    const r = closeFd(ctx, str(f, 'fd'));
    ctx.emit({ kind: 'ioctl', fd: str(f, 'fd'), cmd: 'close', args: {}, errno: r.errno, out: r.out });
    return { errno: r.errno };
  },
};

export const unbindDeviceOp: OpSpec = {
  doc: 'The VFIO device is unbound (its fd closed) while iommufd objects still use it.',
  fields: { dev: 'rid', iommufd: 'str?' },
  run: (ctx, f) => {
    const fdName = optStr(f, 'iommufd') ?? 'iommufd';
    const r = vfioUnbind(ctx, fdName, str(f, 'dev'));
    ctx.emit({ kind: 'ioctl', fd: 'vfio', cmd: 'VFIO_DEVICE_UNBIND', args: { dev: str(f, 'dev'), iommufd: fdName }, errno: r.errno, out: r.out });
    return { errno: r.errno };
  },
};
