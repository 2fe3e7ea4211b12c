// An emulated (mdev/SIOV) VFIO device binds as an iommufd ACCESS (engine/iommufd/access.ts):
// what a conformance case cannot say — the object's type in the state, what it holds, the
// context it keeps alive across a close, and that its attach programs no hardware.
import { describe, expect, it } from 'vitest';
import type { Step } from '../../engine/scenario.js';
import type { Platform } from '../../engine/types.js';
import { events, ofKind, scenario, stateOf } from './helpers.js';

const MDEV: Platform = {
  iommus: [{ id: 'dmar0', kind: 'vtd' }],
  devices: [{ rid: '00:02.0', iommu: 'dmar0' }, { rid: 'mdev0', iommu: 'dmar0', type: 'siov', parent: '00:02.0' }],
};
const run = (steps: Step[]) => events(scenario(steps, { platform: MDEV }));
const unmet = (evs: ReturnType<typeof events>) => ofKind(evs, 'expect').filter((e) => !e.ok);
const objs = (evs: ReturnType<typeof events>) => Object.values(stateOf(evs).s.iommufd)
  .map((o) => `${o.id}:${o.type}${o.refs.length ? ` holds ${o.refs.join(',')}` : ''} users ${o.users}`).sort();

const attached: Step[] = [
  { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
  { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: 'mdev0' }, expect: { out: { out_devid: 2 } } },
  { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: 'mdev0', pt_id: '$ioas' }, expect: { out: { pt_id: 1 } } },
];

describe('an emulated device\'s binding is an ACCESS (iommufd_access_create())', () => {
  it('shows in the state as an ACCESS holding its IOAS; nothing else is created, no PASID entry is written', () => {
    const evs = run(attached);
    expect(unmet(evs)).toEqual([]);
    expect(objs(evs)).toEqual(['1:IOAS users 1', '2:ACCESS holds 1 users 0']);
    expect(stateOf(evs).s.iommufd['iommufd/2']?.attrs).toEqual({ rid: 'mdev0', ioas: 1 });
    expect(ofKind(evs, 'pasid-write')).toEqual([]);
    expect(ofKind(evs, 'bind')).toEqual([]);
  });

  it('a replace moves the users reference; the detach drops it', () => {
    const evs = run([...attached,
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas2', expect: { out: { out_ioas_id: 3 } } },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: 'mdev0', pt_id: '$ioas2' }, expect: { out: { pt_id: 3 } } },
    ]);
    expect(unmet(evs)).toEqual([]);
    expect(objs(evs)).toEqual(['1:IOAS users 0', '2:ACCESS holds 3 users 0', '3:IOAS users 1']);
    const off = run([...attached, { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: 'mdev0' }, expect: 'ok' }]);
    expect(objs(off)).toEqual(['1:IOAS users 0', '2:ACCESS users 0']);
  });

  it('the access holds the context: a close releases nothing until the device is unbound', () => {
    const closed = run([...attached, { op: 'close', fd: 'iommufd', expect: 'ok' }]);
    expect(unmet(closed)).toEqual([]);
    expect(objs(closed)).toEqual(['1:IOAS users 1', '2:ACCESS holds 1 users 0']);
    expect(stateOf(closed).s.iommufd['iommufd/2']?.attrs.ctxClosed).toBe(true);
    // the context lives on: VFIO still detaches and re-attaches in it
    const still = run([...attached, { op: 'close', fd: 'iommufd' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { dev: 'mdev0' }, expect: 'ok' },
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: 'mdev0', pt_id: '$ioas' }, expect: { out: { pt_id: 1 } } }]);
    expect(unmet(still)).toEqual([]);
    const unbound = run([...attached, { op: 'close', fd: 'iommufd' }, { op: 'device-unbind', dev: 'mdev0', expect: 'ok' }]);
    expect(unmet(unbound)).toEqual([]);
    expect(objs(unbound)).toEqual([]);
  });

  it('an unbind before the close takes the access off its IOAS and leaves the rest to the close', () => {
    const evs = run([...attached, { op: 'device-unbind', dev: 'mdev0', expect: 'ok' }]);
    expect(unmet(evs)).toEqual([]);
    expect(objs(evs)).toEqual(['1:IOAS users 0']);
    expect(objs(run([...attached, { op: 'device-unbind', dev: 'mdev0' }, { op: 'close', fd: 'iommufd' }]))).toEqual([]);
  });

  it('a physical device and an emulated one in one iommufd: the context is released after the last of them goes', () => {
    const both: Step[] = [...attached,
      { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:02.0' }, expect: { out: { out_devid: 3 } } },
      { op: 'close', fd: 'iommufd' },
      { op: 'device-unbind', dev: '00:02.0', expect: 'ok' }];
    expect(objs(run(both))).toEqual(['1:IOAS users 1', '2:ACCESS holds 1 users 0']);
    expect(objs(run([...both, { op: 'device-unbind', dev: 'mdev0' }]))).toEqual([]);
  });
});
