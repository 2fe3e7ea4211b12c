// The iommufd ioctl ABI before any handler runs (iommufd_fops_ioctl(),
// drivers/iommu/iommufd/main.c): every argument struct starts with its u32
// `size`; the kernel refuses one shorter than the struct's last mandatory
// field (op->min_size, the IOCTL_OP table's `_last`), then
// copy_struct_from_user() (include/linux/uaccess.h) copies exactly `size`
// bytes of the caller's struct: a shorter struct has the rest zero-filled (a
// field cut by `size` keeps the bytes below it, on a little-endian machine its
// low bytes), a longer one must be zero past the kernel's struct (-E2BIG). A
// scenario passes `size` (and `tail`: the bytes past the kernel's struct as a
// little-endian integer, 0 when they are zero) in the ioctl's args; without
// `size` the struct is exactly the kernel's. Sizes and offsets from
// include/uapi/linux/iommufd.h (v6.18).
import type { Errno } from '../types.js';
import type { Fields } from '../op.js';
import { lowBytes, normalizeInt, u64 } from '../op.js';
import { ScenarioRunError } from '../limits.js';

/** An input field past min: bytes [at, end) of the struct. */
export interface LateField {
  at: number;
  end: number;
  /** The model gives it as an enum name, not a number; every name's value is below 256, so its low byte carries it whole. */
  enumName?: true;
}

export interface StructAbi {
  /** sizeof(struct iommu_...). */
  size: number;
  /** offsetofend(struct, _last) of its IOCTL_OP line. */
  min: number;
  /** Input fields that lie past min (a shorter struct cuts or zero-fills them). */
  late?: Readonly<Record<string, LateField>>;
  /**
   * A late pointer field and the model's field for the user memory it addresses (`data` at `data_uptr`); no
   * `field` when the scenario gives no such memory (the handler decides what an absent pointer reads).
   */
  pointee?: { field?: string; pointer: string };
}

/** The IOCTL_OP table of main.c, by the model's ioctl names. */
export const IOMMUFD_ABI: Readonly<Record<string, StructAbi>> = {
  IOMMU_DESTROY: { size: 8, min: 8 },
  IOMMU_FAULT_QUEUE_ALLOC: { size: 16, min: 16 },
  // struct iommu_hw_info: _last __reserved; out_capabilities (output only) lies past it.
  IOMMU_GET_HW_INFO: { size: 40, min: 32 },
  IOMMU_HW_QUEUE_ALLOC: { size: 40, min: 40 },
  // struct iommu_hwpt_alloc: _last __reserved (24); data_type, data_len, data_uptr, fault_id came later.
  IOMMU_HWPT_ALLOC: {
    size: 48, min: 24,
    late: {
      data_type: { at: 24, end: 28, enumName: true }, data_len: { at: 28, end: 32 }, data_uptr: { at: 32, end: 40 },
      fault_id: { at: 40, end: 44 }, __reserved2: { at: 44, end: 48 },
    },
    pointee: { field: 'data', pointer: 'data_uptr' },
  },
  IOMMU_HWPT_GET_DIRTY_BITMAP: { size: 48, min: 48 },
  IOMMU_HWPT_INVALIDATE: { size: 32, min: 32 },
  IOMMU_HWPT_SET_DIRTY_TRACKING: { size: 16, min: 16 },
  IOMMU_IOAS_ALLOC: { size: 12, min: 12 },
  IOMMU_IOAS_ALLOW_IOVAS: { size: 24, min: 24 },
  IOMMU_IOAS_CHANGE_PROCESS: { size: 8, min: 8 },
  IOMMU_IOAS_COPY: { size: 40, min: 40 },
  IOMMU_IOAS_IOVA_RANGES: { size: 32, min: 32 },
  IOMMU_IOAS_MAP: { size: 40, min: 40 },
  IOMMU_IOAS_MAP_FILE: { size: 40, min: 40 },
  IOMMU_IOAS_UNMAP: { size: 24, min: 24 },
  IOMMU_OPTION: { size: 24, min: 24 },
  IOMMU_VDEVICE_ALLOC: { size: 24, min: 24 },
  // struct iommu_veventq_alloc: _last out_veventq_fd (28); __reserved (bytes 28..31) past it.
  IOMMU_VEVENTQ_ALLOC: { size: 32, min: 28, late: { __reserved: { at: 28, end: 32 } } },
  IOMMU_VFIO_IOAS: { size: 12, min: 12 },
  // struct iommu_viommu_alloc: _last out_viommu_id (24); data_len, __reserved, data_uptr came later (the model
  // takes none of them: arm_vsmmu_init() reads no user data for IOMMU_VIOMMU_TYPE_ARM_SMMUV3).
  IOMMU_VIOMMU_ALLOC: { size: 40, min: 24, late: { data_len: { at: 24, end: 28 }, __reserved: { at: 28, end: 32 }, data_uptr: { at: 32, end: 40 } } },
  // IOCTL_OP(IOMMU_TEST_CMD, ..., struct iommu_test_cmd, last) under CONFIG_IOMMUFD_TEST
  // (drivers/iommu/iommufd/iommufd_test.h): a 16-byte header, a 48-byte union (its largest member `dirty`),
  // then `last` at 64; sizeof 72 with the union's 8-byte alignment. Every IOMMU_TEST_OP_* shares it.
  IOMMU_TEST_OP_ADD_RESERVED: { size: 72, min: 68 },
};

/** The ABI fields a scenario may add to any iommufd ioctl's args. */
export const ABI_FIELDS = { size: 'int?', tail: 'u64?' } as const;

/**
 * iommufd_fops_ioctl(): the size checks, then the struct as the handler sees
 * it (each late field as copy_struct_from_user() leaves it, the ABI fields
 * dropped). `step` names the scenario step in a refusal.
 */
export function applyAbi(cmd: string, a: Fields, step: number): { errno: Errno } | { args: Fields } {
  const abi = IOMMUFD_ABI[cmd];
  if (!abi || (a.size === undefined && a.tail === undefined)) return { args: a };
  const size = typeof a.size === 'number' ? a.size : abi.size;
  // iommufd_fops_ioctl(), drivers/iommu/iommufd/main.c: if (ucmd.user_size < op->min_size) return -EINVAL;
  if (size < abi.min) return { errno: 'EINVAL' };
  return copyStruct(cmd, abi, size, a, step, ['size', 'tail']);
}

/**
 * copy_struct_from_user(dst, abi.size, src, size), include/linux/uaccess.h:
 * the tail check, then the struct as the handler sees it (each late field as
 * the copy leaves it, the fields named in `drop` taken out). `a.tail` is the
 * bytes past the kernel's struct. Shared by the iommufd ioctls (applyAbi())
 * and the VFIO structs that are copied the same way (engine/vfio.ts).
 */
export function copyStruct(cmd: string, abi: StructAbi, size: number, a: Fields, step: number, drop: readonly string[]): { errno: Errno } | { args: Fields } {
  // copy_struct_from_user() -> check_zeroed_user(), include/linux/uaccess.h: a non-zero byte in [ksize, usize)
  // -> -E2BIG; `tail`'s bytes from size on are not the caller's (little-endian: its low byte comes first)
  if (size > abi.size && lowBytes(u64(a.tail) ?? 0n, size - abi.size) !== 0n) return { errno: 'E2BIG' };
  const out: Fields = {};
  for (const key of Object.keys(a)) if (!drop.includes(key)) out[key] = a[key];
  for (const [key, f] of Object.entries(abi.late ?? {})) {
    if (size >= f.end) continue;
    // copy_struct_from_user(): the first `size` bytes copied, the rest zero-filled: the field keeps `kept` low bytes
    const kept = Math.max(0, size - f.at);
    if (kept === 0) {
      // Zero-filled, so 0 (absent would take the handler's default: data_len's is the data's struct size, data_uptr's
      // the address of data); an enum name's 0 is NONE, the handlers' default.
      if (f.enumName) delete out[key];
      else out[key] = 0;
      continue;
    }
    const ptr = abi.pointee?.pointer === key ? abi.pointee : undefined;
    if (ptr?.field !== undefined && out[key] === undefined && out[ptr.field] !== undefined) {
      throw new ScenarioRunError(step, `${cmd} with size ${size} copies ${kept} of ${key}'s ${f.end - f.at} bytes: without ${key} the model gives ${ptr.field} no address, so which memory the kernel reads is not modelled (give ${key})`);
    }
    // An enum name is below 256 and the handlers' defaults (data_len 16 or 24) fit in a byte: one byte keeps them.
    const v = u64(out[key]);
    if (f.enumName || v === undefined) continue;
    const cut = lowBytes(v, kept);
    // A pointer cut to another non-NULL address reads memory the scenario did not give, which faults
    // (engine/drivers/user-data.ts); the handlers' one unreadable pointer is NULL.
    out[key] = ptr && cut !== v ? 0 : normalizeInt(`0x${cut.toString(16)}`) ?? 0;
  }
  return { args: out };
}
