// Every scenario op, by name.
import type { OpSpec } from '../op.js';
import { guestOps } from './guest.js';
import { hwOps, invalOps } from './hw.js';
import { closeOp, ioctlNrOp, ioctlOp, unbindDeviceOp } from './ioctl.js';
import { eventqOps } from '../iommufd/eventq.js';
import { kernelOps } from './kernel.js';
import { pciOps } from './pci.js';

export const OPS: Record<string, OpSpec> = {
  ioctl: ioctlOp,
  'ioctl-nr': ioctlNrOp,
  close: closeOp,
  'device-unbind': unbindDeviceOp,
  ...hwOps,
  ...invalOps,
  ...kernelOps,
  ...eventqOps,
  ...guestOps,
  ...pciOps,
};

export { IOCTLS } from './ioctl.js';
