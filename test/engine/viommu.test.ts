// vIOMMU area rules a conformance case cannot state by itself: what the event
// queues hold in state, that apply() alone rebuilds it, which SMMUv3 faults
// reach the guest, and what destroy / close leave behind.
import { describe, expect, it } from 'vitest';
import type { Step } from '../../engine/scenario.js';
import { summarize } from '../../engine/summary.js';
import { canonicalState } from '../../engine/state.js';
import type { Platform } from '../../engine/types.js';
import { events, ofKind, scenario, stateOf } from './helpers.js';
import { run } from '../../engine/run.js';

const SMMU: Platform = {
  iommus: [{ id: 'smmu0', kind: 'smmuv3' }],
  devices: [{ rid: '00:05.0', iommu: 'smmu0', ats: true }],
  vms: [{ id: 'vm0' }],
  memory: [{ owner: 'vm0', base: 0x80000000, size: 0x10000 }],
};

/** A device on a nested HWPT of a vIOMMU, with its vDEVICE (vSID 0x10); `fault`: the HWPT is fault capable. */
function nested(fault: boolean): Step[] {
  return [
    { op: 'device-assign', rid: '00:05.0', vm: 'vm0' },
    { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
    { op: 'ioctl', cmd: 'IOMMU_IOAS_MAP', args: { ioas_id: '$ioas', user_va: 0x80000000, iova: 0, length: 0x10000, flags: 7 } },
    { op: 'ioctl', cmd: 'VFIO_DEVICE_BIND_IOMMUFD', args: { dev: '00:05.0' }, as: 'dev' },
    { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$ioas', flags: 1 }, as: 's2' },
    { op: 'ioctl', cmd: 'IOMMU_VIOMMU_ALLOC', args: { dev_id: '$dev', hwpt_id: '$s2', type: 'ARM_SMMUV3' }, as: 'viommu' },
    // stage 1: VA 0x400000 -> IPA 0x1000 read-only; VA 0x700000 -> IPA 0x20000 (not in the IOAS)
    { op: 'pt-map', root: 0x200000, owner: 'vm0', addr: 0x400000, pa: 0x1000, size: 4096, write: false },
    { op: 'pt-map', root: 0x200000, owner: 'vm0', addr: 0x700000, pa: 0x20000, size: 4096 },
    // VA 0x800000 -> IPA 0x30000, writable at stage 1, read-only at stage 2
    { op: 'ioctl', cmd: 'IOMMU_IOAS_MAP', args: { ioas_id: '$ioas', user_va: 0x8000f000, iova: 0x30000, length: 0x1000, flags: 5 } },
    { op: 'pt-map', root: 0x200000, owner: 'vm0', addr: 0x800000, pa: 0x30000, size: 4096 },
    ...(fault ? [{ op: 'ioctl', cmd: 'IOMMU_FAULT_QUEUE_ALLOC', as: 'fault' }] : []),
    { op: 'ioctl', cmd: 'IOMMU_HWPT_ALLOC', args: { dev_id: '$dev', pt_id: '$viommu', data_type: 'ARM_SMMUV3', data: { ste: 0x200000 }, ...(fault ? { flags: 4, fault_id: '$fault' } : {}) }, as: 'nested' },
    { op: 'ioctl', cmd: 'IOMMU_VDEVICE_ALLOC', args: { viommu_id: '$viommu', dev_id: '$dev', virt_id: 0x10 }, as: 'vdev' },
    { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:05.0', pt_id: '$nested' } },
  ];
}
const veventq: Step = { op: 'ioctl', cmd: 'IOMMU_VEVENTQ_ALLOC', args: { viommu_id: '$viommu', type: 'ARM_SMMUV3', veventq_depth: 8 }, as: 'q' };
const smmu = (steps: Step[]) => events(scenario(steps, { platform: SMMU }));

describe('vEVENTQ: which SMMUv3 faults reach the guest', () => {
  it('a stage-1 miss and a stage-1 write to a read-only page are forwarded with the vSID; stage-2 faults are not', () => {
    const evs = smmu([...nested(false), veventq,
      { op: 'dma', rid: '00:05.0', addr: 0x500000, expect: 'F_TRANSLATION' },            // S1 miss
      { op: 'dma', rid: '00:05.0', addr: 0x400000, write: true, expect: 'F_PERMISSION' }, // S1 read-only leaf
      { op: 'dma', rid: '00:05.0', addr: 0x700000, expect: 'F_TRANSLATION' },            // S2 miss: the host's
      { op: 'dma', rid: '00:05.0', addr: 0x800000, write: true, expect: 'F_PERMISSION' }, // S2 read-only: the host's
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    const vevents = ofKind(evs, 'eventq').filter((e) => e.record?.type === 'vevent').map((e) => [e.record?.data.name, e.record?.data.vsid, e.record?.data.sequence]);
    expect(vevents).toEqual([['F_TRANSLATION', 0x10, 0], ['F_PERMISSION', 0x10, 1]]);
  });

  it('without a vEVENTQ the event is only the host\'s fault record (iommufd_viommu_report_event(): EOPNOTSUPP)', () => {
    const evs = smmu([...nested(false), { op: 'dma', rid: '00:05.0', addr: 0x500000, expect: 'F_TRANSLATION' }]);
    expect(ofKind(evs, 'fault')).toHaveLength(1);
    expect(ofKind(evs, 'eventq')).toEqual([]);
  });

  it('a device on the nest parent (no vmaster) reports no vEVENT', () => {
    const evs = smmu([...nested(false), veventq,
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:05.0', pt_id: '$s2' } },
      { op: 'dma', rid: '00:05.0', addr: 0x900000 },
    ]);
    expect(ofKind(evs, 'fault')).toHaveLength(1);
    expect(ofKind(evs, 'eventq')).toEqual([]);
  });
});

describe('event queues in state', () => {
  const flow: Step[] = [...nested(true),
    { op: 'dma', rid: '00:05.0', addr: 0x500000 },
    { op: 'dma', rid: '00:05.0', addr: 0x600000, write: true },
    { op: 'eventq-read', queue: '$fault', count: 48 },
  ];

  it('records are cells of the eventq section; apply() alone rebuilds the same state', () => {
    const evs = [...run(scenario(flow, { platform: SMMU }), {})];
    const rebuilt = stateOf(evs);
    const cells = Object.entries(rebuilt.s.eventq);
    expect(cells.map(([key, c]) => [key, c.type, c.data.cookie])).toEqual([['iommufd/5/0', 'iopf', 1], ['iommufd/5/1', 'iopf', 0]]);
    expect(JSON.stringify(canonicalState(rebuilt).sections)).toContain('"eventq"');
    // no fault record for a DMA a fault-capable HWPT took as a page request
    expect(ofKind(evs, 'fault')).toEqual([]);
    for (const e of ofKind(evs, 'eventq')) expect(summarize(e)).not.toMatch(/malformed/);
  });

  it('IOMMU_DESTROY of the FAULT answers what is left (the records go) once nothing holds it', () => {
    const evs = smmu([...flow,
      { op: 'ioctl', cmd: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { dev: '00:05.0', pt_id: '$s2' } },
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$nested' } },
      { op: 'eventq-close', queue: '$fault' },
      { op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$fault' }, expect: 'ok' },
    ]);
    expect(ofKind(evs, 'expect')).toEqual([]);
    expect(stateOf(evs).s.eventq).toEqual({});
  });

  it('closing the iommufd, the device and the event fds leaves no queue records behind', () => {
    const evs = smmu([...flow, veventq, { op: 'dma', rid: '00:05.0', addr: 0x900000 },
      { op: 'close', fd: 'iommufd' }, { op: 'device-unbind', dev: '00:05.0' },
      { op: 'eventq-close', queue: '$fault' }, { op: 'eventq-close', queue: '$q' }]);
    const st = stateOf(evs);
    expect(st.s.eventq).toEqual({});
    expect(st.s.iommufd).toEqual({});
  });

  it('an open event fd holds the iommufd context: close releases nothing until the fd is closed too', () => {
    const evs = events(scenario([
      { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC' },
      { op: 'ioctl', cmd: 'IOMMU_FAULT_QUEUE_ALLOC', as: 'fault' },
      { op: 'close', fd: 'iommufd', expect: 'ok' },
      { op: 'eventq-read', queue: '$fault', expect: { out: { count: 0 } } },
      { op: 'eventq-close', queue: '$fault', expect: 'ok' },
    ], { platform: SMMU }));
    expect(ofKind(evs, 'expect')).toEqual([]);
    const destroyed = ofKind(evs, 'iommufd-obj').filter((e) => e.op === 'destroy');
    expect(destroyed.map((e) => [e.type, e.step])).toEqual([['FAULT', 4], ['IOAS', 4]]);
  });

  it('the vEVENTQ\'s sequence lives in its attrs and counts every node, the LOST_EVENTS header too', () => {
    const steps: Step[] = [...nested(false), { op: 'ioctl', cmd: 'IOMMU_VEVENTQ_ALLOC', args: { viommu_id: '$viommu', type: 'ARM_SMMUV3', veventq_depth: 1 }, as: 'q' }];
    for (let i = 0; i < 4; i++) steps.push({ op: 'dma', rid: '00:05.0', addr: 0x500000 });
    const st = stateOf(smmu(steps));
    const q = Object.values(st.s.iommufd).find((o) => o.type === 'VEVENTQ');
    expect(q?.attrs.sequence).toBe(4);
    // one event, then one header that was moved to the tail with each new loss
    expect(Object.values(st.s.eventq).map((c) => [c.type, c.data.sequence])).toEqual([['vevent', 0], ['lost', 3]]);
  });

  it('veventq_depth has no upper bound (iommufd_veventq_alloc() refuses only 0): the largest __u32 makes a queue, and the next of the type is EEXIST', () => {
    const alloc = (depth: number): Step => ({ op: 'ioctl', cmd: 'IOMMU_VEVENTQ_ALLOC', args: { viommu_id: '$viommu', type: 'ARM_SMMUV3', veventq_depth: depth } });
    const ioctls = ofKind(smmu([...nested(false), alloc(0), alloc(2 ** 32 - 1), alloc(2 ** 19 + 1)]), 'ioctl').filter((e) => e.cmd === 'IOMMU_VEVENTQ_ALLOC');
    expect(ioctls.map((e) => e.errno)).toEqual(['EINVAL', null, 'EEXIST']);
  });
});

describe('event queues in a trace', () => {
  it('record and replay: the eventq cells at every checkpoint and at the end equal the engine\'s, and each has its writer', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { recordToFile } = await import('../../recorder/record.js');
    const { openReplayer } = await import('../../replayer/replayer.js');
    const steps: Step[] = [...nested(true), { op: 'ioctl', cmd: 'IOMMU_VEVENTQ_ALLOC', args: { viommu_id: '$viommu', type: 'ARM_SMMUV3', veventq_depth: 1 }, as: 'q' }];
    for (let i = 0; i < 6; i++) steps.push({ op: 'dma', rid: '00:05.0', addr: 0x500000 + i * 0x1000 });
    steps.push({ op: 'eventq-read', queue: '$fault', count: 96 }, { op: 'eventq-write', queue: '$fault', responses: [{ cookie: 1, code: 'SUCCESS' }] });
    const sc = scenario(steps, { platform: SMMU });
    const path = join(mkdtempSync(join(tmpdir(), 'iotrace-viommu-')), 'q.iotrace');
    recordToFile(sc, {}, path, { chunkEvents: 16, checkpointEvery: 32 });
    const evs = [...run(sc, {})];
    const r = openReplayer(path);
    try {
      const last = evs.length - 1;
      expect(canonicalState(r.stateAt(last))).toEqual(canonicalState(stateOf(evs)));
      const cells = Object.keys(r.stateAt(last).s.eventq);
      expect(cells.length).toBe(5); // 6 page requests, one answered
      for (const key of cells) expect(r.lastWriter({ section: 'eventq', key }, last)).not.toBeNull();
    } finally {
      r.close();
    }
  });
});
