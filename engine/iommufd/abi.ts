// The iommufd ioctl ABI before any handler runs (iommufd_fops_ioctl(),
// drivers/iommu/iommufd/main.c): every argument struct starts with its u32
// `size`; the kernel refuses one shorter than the struct's last mandatory
// field (op->min_size, the IOCTL_OP table's `_last`), zero-fills what a
// shorter struct leaves out, and refuses non-zero bytes past the struct it
// knows (copy_struct_from_user() -> -E2BIG). A scenario passes `size` (and
// `tail`: the value of the bytes past the kernel's struct, 0 when they are
// zero) in the ioctl's args; without `size` the struct is exactly the
// kernel's. Sizes from include/uapi/linux/iommufd.h (v6.18).
import type { Errno } from '../types.js';
import type { Fields } from '../op.js';
import { u64 } from '../op.js';

export interface StructAbi {
  /** sizeof(struct iommu_...). */
  size: number;
  /** offsetofend(struct, _last) of its IOCTL_OP line. */
  min: number;
  /** Input fields that lie past min: the byte where each ends (a shorter struct leaves them zero). */
  late?: Readonly<Record<string, number>>;
}

/** The IOCTL_OP table of main.c, by the model's ioctl names. */
export const IOMMUFD_ABI: Readonly<Record<string, StructAbi>> = {
  IOMMU_DESTROY: { size: 8, min: 8 },
  IOMMU_FAULT_QUEUE_ALLOC: { size: 16, min: 16 },
  // struct iommu_hw_info: _last __reserved; out_capabilities (output only) lies past it.
  IOMMU_GET_HW_INFO: { size: 40, min: 32 },
  IOMMU_HW_QUEUE_ALLOC: { size: 40, min: 40 },
  // struct iommu_hwpt_alloc: _last __reserved (24); data_type, data_len, data_uptr, fault_id came later.
  IOMMU_HWPT_ALLOC: { size: 48, min: 24, late: { data_type: 28, data_len: 32, data_uptr: 40, data: 40, fault_id: 44, __reserved2: 48 } },
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
  IOMMU_VEVENTQ_ALLOC: { size: 32, min: 28, late: { __reserved: 32 } },
  IOMMU_VFIO_IOAS: { size: 12, min: 12 },
  // struct iommu_viommu_alloc: _last out_viommu_id (24); data_len, data_uptr came later.
  IOMMU_VIOMMU_ALLOC: { size: 40, min: 24, late: { data_len: 28, data_uptr: 40, data: 40 } },
  // IOCTL_OP(IOMMU_TEST_CMD, ..., struct iommu_test_cmd, last) under CONFIG_IOMMUFD_TEST
  // (drivers/iommu/iommufd/iommufd_test.h): a 16-byte header, a 48-byte union (its largest member `dirty`),
  // then `last` at 64; sizeof 72 with the union's 8-byte alignment. Every IOMMU_TEST_OP_* shares it.
  IOMMU_TEST_OP_ADD_RESERVED: { size: 72, min: 68 },
};

/** The ABI fields a scenario may add to any iommufd ioctl's args. */
export const ABI_FIELDS = { size: 'int?', tail: 'u64?' } as const;

/**
 * iommufd_fops_ioctl(): the size checks, then the struct as the handler
 * sees it (fields a short struct left out removed, the ABI fields dropped).
 */
export function applyAbi(cmd: string, a: Fields): { errno: Errno } | { args: Fields } {
  const abi = IOMMUFD_ABI[cmd];
  if (!abi || (a.size === undefined && a.tail === undefined)) return { args: a };
  const size = typeof a.size === 'number' ? a.size : abi.size;
  // if (ucmd.user_size < op->min_size) return -EINVAL;
  if (size < abi.min) return { errno: 'EINVAL' };
  // copy_struct_from_user(): non-zero bytes past the kernel's struct -> -E2BIG
  if (size > abi.size && (u64(a.tail) ?? 0n) !== 0n) return { errno: 'E2BIG' };
  const out: Fields = {};
  for (const key of Object.keys(a)) {
    if (key === 'size' || key === 'tail') continue;
    const end = abi.late?.[key];
    // A field past the caller's struct reads as zero: absent, the handlers' default.
    if (end !== undefined && end > size) continue;
    out[key] = a[key];
  }
  return { args: out };
}
