// PCI config-space ops the guest driver performs through the capability
// offsets it cached at probe time (struct pci_dev keeps pasid_cap, pri_cap,
// acs_cap, ... — seed 002). Kept apart from guest.ts because seed 002's
// migration problem is entirely about these cached offsets.
import { device } from '../iommu.js';
import { bool, num, ok, str, type OpSpec } from '../op.js';

export const pciOps: Record<string, OpSpec> = {
  'guest-pasid-enable': {
    doc: 'The guest driver writes PASID Enable in the PASID Control register of the capability at `offset` (the offset it cached at probe). A write where the capability is not has no effect on PASID: config writes do not fail.',
    fields: { vm: 'vm', rid: 'rid', offset: 'int', enable: 'bool?' },
    run: (ctx, f) => {
      const rid = str(f, 'rid');
      device(ctx.state, rid);
      ctx.emit({ kind: 'config-write', rid, offset: num(f, 'offset'), what: 'pasid-ctl', value: bool(f, 'enable', true) ? 1 : 0 });
      return ok();
    },
  },
};
