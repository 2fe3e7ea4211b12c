// Event queues (drivers/iommu/iommufd/eventq.c): the fault queue a
// fault-capable HWPT reports I/O page faults to.
import type { Ctx } from '../ctx.js';
import type { IoctlSpec } from '../op.js';
import { create, done, type IoctlResult } from './object.js';

export function faultQueueAlloc(ctx: Ctx, fd: string): IoctlResult {
  const id = create(ctx, fd, 'FAULT', [], {});
  return done({ out_fault_id: id, out_fault_fd: 100 + id }, id);
}


export const EVENTQ_IOCTLS: Record<string, IoctlSpec> = {
  IOMMU_FAULT_QUEUE_ALLOC: { file: 'iommufd', nr: 0x8e, args: {}, run: (ctx, f) => faultQueueAlloc(ctx, f) },
};
