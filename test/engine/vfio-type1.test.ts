// The VFIO type1 container ioctls on an iommufd (engine/iommufd/vfio-type1.ts): a map and an unmap change
// the state exactly as IOMMU_IOAS_MAP / UNMAP do (the same events), a type1 cut splits an area in place, and
// what the model cannot answer stops the run (ScenarioRunError) instead of guessing. The per-errno rules are
// the conformance cases' (conformance/vfio-compat/).
import { describe, expect, it } from 'vitest';
import { ScenarioRunError } from '../../engine/limits.js';
import type { Step } from '../../engine/scenario.js';
import { events, ofKind, scenario, stateOf } from './helpers.js';

const COMPAT: Step[] = [
  { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
  { op: 'device-assign', rid: '00:03.0', vm: 'vm0' },
  { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:03.0' } },
  { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:03.0', pt_id: '$ioas' } },
  { op: 'ioctl-nr', nr: 136, args: { op: 1, ioas_id: '$ioas' } },
] as Step[];
const setIommu = (type: number): Step => ({ op: 'ioctl-nr', nr: 102, args: { arg: type } } as Step);
const vfioMap = (iova: number, size: number, flags = 3): Step => ({ op: 'ioctl-nr', nr: 113, args: { flags, vaddr: 0x80000000 + (iova - 0x1000000), iova, size } } as Step);
const vfioUnmap = (iova: number, size: number): Step => ({ op: 'ioctl-nr', nr: 114, args: { iova, size } } as Step);
const ioasMap = (iova: number, length: number, flags: number): Step => ({ op: 'ioctl', cmd: 'IOMMU_IOAS_MAP', args: { ioas_id: '$ioas', flags, user_va: 0x80000000 + (iova - 0x1000000), iova, length } } as Step);
const ioasUnmap = (iova: number, length: number): Step => ({ op: 'ioctl', cmd: 'IOMMU_IOAS_UNMAP', args: { ioas_id: '$ioas', iova, length } } as Step);

/** Every event but the ioctl records themselves (which name the command). */
const effects = (steps: Step[]): unknown[] => events(scenario([...COMPAT, ...steps])).filter((e) => e.kind !== 'ioctl' && e.kind !== 'expect').map((e) => ({ ...e, seq: 0, step: 0 }));

describe('VFIO type1 on the compatibility IOAS', () => {
  it('VFIO_IOMMU_MAP_DMA / UNMAP_DMA emit what IOMMU_IOAS_MAP / UNMAP do (areas, flushes)', () => {
    const rw = [vfioMap(0x1000000, 0x4000), { op: 'dma', rid: '00:03.0', addr: 0x1001000, write: true } as Step, vfioUnmap(0x1000000, 0x4000)];
    const same = [ioasMap(0x1000000, 0x4000, 7), { op: 'dma', rid: '00:03.0', addr: 0x1001000, write: true } as Step, ioasUnmap(0x1000000, 0x4000)];
    expect(effects(rw)).toEqual(effects(same));
    // READ alone: a read-only area (IOMMU_IOAS_MAP READABLE), pages pinned read-only
    expect(effects([vfioMap(0x1000000, 0x1000, 1)])).toEqual(effects([ioasMap(0x1000000, 0x1000, 5)]));
  });

  it('VFIO_TYPE1_IOMMU: an unmap inside an area cuts it, the parts keep their addresses; TYPE1v2 leaves it whole', () => {
    const cut = events(scenario([...COMPAT, setIommu(1), vfioMap(0x1000000, 0x4000), vfioUnmap(0x1001000, 0x1000)]));
    expect(stateOf(cut).s['ioas-map']).toEqual({
      'iommufd/1/16777216': { length: 0x1000, hpa: 0x80000000, write: true },
      'iommufd/1/16785408': { length: 0x2000, hpa: 0x80002000, write: true },
    });
    expect(ofKind(cut, 'ioctl').at(-1)).toMatchObject({ errno: null, out: { size: 0x1000 } });
    const whole = events(scenario([...COMPAT, setIommu(3), vfioMap(0x1000000, 0x4000), vfioUnmap(0x1001000, 0x1000)]));
    expect(stateOf(whole).s['ioas-map']).toEqual({ 'iommufd/1/16777216': { length: 0x4000, hpa: 0x80000000, write: true } });
    expect(ofKind(whole, 'ioctl').at(-1)).toMatchObject({ errno: 'ENOENT', out: { size: 0 } });
  });

  it('stops the run where the answer is not the model\'s to give', () => {
    const noIommu: Step = { op: 'ioctl-nr', nr: 101, args: { arg: 8 } } as Step;
    expect(() => events(scenario([noIommu]))).toThrow(ScenarioRunError);
    expect(() => events(scenario([noIommu]))).toThrow(/CONFIG_VFIO_NOIOMMU.*not modelled/);
    expect(() => events(scenario([...COMPAT, vfioMap(0x1000000, 0x1000, 0)]))).toThrow(/neither VFIO_DMA_MAP_FLAG_READ nor WRITE.*not modelled/);
    // the argument checks before the prot is used still answer
    expect(ofKind(events(scenario([...COMPAT, { op: 'ioctl-nr', nr: 113, args: { argsz: 31 } } as Step])), 'ioctl').at(-1)).toMatchObject({ errno: 'EINVAL' });
  });

  it('the validator takes the VFIO struct fields and no iommufd `size`', () => {
    expect(() => scenario([{ op: 'ioctl-nr', nr: 101, args: { arg: 3 } } as Step])).not.toThrow();
    expect(() => scenario([{ op: 'ioctl', cmd: 'VFIO_IOMMU_GET_INFO', args: { argsz: 24, size: 24 } } as Step])).toThrow(/size/);
    expect(() => scenario([{ op: 'ioctl', cmd: 'VFIO_SET_IOMMU', args: {} } as Step])).toThrow(/arg/);
  });
});
