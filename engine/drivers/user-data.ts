// Driver-specific user data that iommufd hands a driver untouched
// (include/linux/iommu.h: struct iommu_user_data / iommu_user_data_array and
// the copy helpers every driver uses). The model's "user memory" is the JSON
// the scenario gives: `data` for one struct, `entries` for an array; a NULL
// user pointer is `data_uptr: 0`, and an index past the end of `entries` is
// memory that faults.
import { lowBytes, u64, U64_MAX } from '../op.js';
import type { ArgValue, Args, Errno } from '../types.js';

/** enum iommu_hwpt_data_type (IOMMU_HWPT_ALLOC) and the invalidation data types, by the model's names. */
export type DataType = string;

/** struct iommu_user_data: one driver struct at uptr, len bytes. */
export interface UserData { type: DataType; len: number; nullPtr: boolean; data: Args }

/** struct iommu_user_data_array: entry_num structs of entry_len bytes each. */
export interface UserArray { type: DataType; entryLen: number; entryNum: number; nullPtr: boolean; entries: ArgValue[] }

/**
 * __iommu_copy_struct_from_user(), include/linux/iommu.h: the type must match,
 * the length must lie in [min_len, sizeof(struct)] (EINVAL), then
 * copy_struct_from_user() (a NULL pointer faults: EFAULT; a shorter struct is
 * zero-filled). Returns the struct's fields, or the errno.
 */
export function copyStructFromUser(ud: UserData, type: DataType, size: number, minLen: number): Errno | Args {
  // __iommu_copy_struct_from_user(), include/linux/iommu.h: src_data->type != data_type -> -EINVAL
  if (ud.type !== type) return 'EINVAL';
  // __iommu_copy_struct_from_user(), include/linux/iommu.h: len < min_len || data_len < len -> -EINVAL
  if (ud.len < minLen || size < ud.len) return 'EINVAL';
  // copy_struct_from_user(), include/linux/uaccess.h: a NULL user pointer faults -> -EFAULT
  if (ud.nullPtr) return 'EFAULT';
  return ud.data;
}

/**
 * __iommu_copy_struct_from_user_array(), include/linux/iommu.h: entry `index`
 * of the array, through the same checks as one struct (entry_len is the
 * length). An entry the scenario did not give is unreadable memory: EFAULT.
 */
export function copyStructFromUserArray(ua: UserArray, type: DataType, index: number, size: number, minLen: number): Errno | Args {
  // __iommu_copy_struct_from_user_array(), include/linux/iommu.h: WARN_ON(index >= entry_num) -> -EINVAL
  if (index >= ua.entryNum) return 'EINVAL';
  // __iommu_copy_struct_from_user_array(), include/linux/iommu.h: !entry_num -> -EINVAL
  if (ua.entryNum === 0) return 'EINVAL';
  // __iommu_copy_struct_from_user(), include/linux/iommu.h: type mismatch, then len outside [min_len, data_len] -> -EINVAL
  if (ua.type !== type) return 'EINVAL';
  if (ua.entryLen < minLen || size < ua.entryLen) return 'EINVAL';
  const e = ua.entries[index];
  if (ua.nullPtr || e === undefined || e === null || typeof e !== 'object' || Array.isArray(e)) return 'EFAULT';
  return e;
}

/**
 * iommu_copy_struct_from_full_user_array(), include/linux/iommu.h: the whole
 * array at once. Type mismatch or an empty array is EINVAL; each item goes
 * through copy_struct_from_user(): a shorter entry is zero-filled, a longer
 * one must have a zero tail (E2BIG). The model's entry may say `tail` (the
 * bytes past the kernel's struct, when entry_len is larger, as a
 * little-endian u64 of which the entry holds entry_len - size bytes) to test that.
 */
export function copyStructFromFullUserArray(ua: UserArray, type: DataType, size: number): Errno | Args[] {
  // iommu_copy_struct_from_full_user_array(), include/linux/iommu.h: user_array->type != data_type -> -EINVAL
  if (ua.type !== type) return 'EINVAL';
  // iommu_copy_struct_from_full_user_array(), include/linux/iommu.h: !user_array->entry_num -> -EINVAL
  if (ua.entryNum === 0) return 'EINVAL';
  // iommu_copy_struct_from_full_user_array(), include/linux/iommu.h: copy_from_user() of the array faults -> -EFAULT
  if (ua.nullPtr || ua.entries.length < ua.entryNum) return 'EFAULT';
  const out: Args[] = [];
  for (let i = 0; i < ua.entryNum; i++) {
    const e = ua.entries[i];
    // copy_struct_from_user(), include/linux/uaccess.h: an entry that is not readable user memory -> -EFAULT
    if (e === undefined || e === null || typeof e !== 'object' || Array.isArray(e)) return 'EFAULT';
    // copy_struct_from_user(), include/linux/uaccess.h: check_zeroed_user() of the entry_len - size bytes past the struct -> -E2BIG
    // (only `tail`'s low bytes lie inside the entry: little-endian, its low byte first)
    if (ua.entryLen > size && lowBytes(u64(e.tail) ?? 0n, ua.entryLen - size) !== 0n) return 'E2BIG';
    out.push(e);
  }
  return out;
}

/** A u64 field of user data (absent = 0, the zero-filled default; "U64_MAX" may be written by name). */
export const field64 = (a: Args, name: string): bigint => (a[name] === 'U64_MAX' ? U64_MAX : u64(a[name]) ?? 0n);
