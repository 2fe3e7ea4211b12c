// IOMMU_IOAS_MAP_FILE of an fd that is an open event-queue file: the model
// has no file-backed areas, so the run stops and says so (ScenarioRunError),
// whichever iommufd opened the queue (fd numbers are the process's). A live
// run answers from its index (engine/indexes.ts anyTagged), a bare state by a
// scan; test/index-equivalence.test.ts runs both ways.
import { describe, expect, it } from 'vitest';
import { ScenarioRunError } from '../../engine/limits.js';
import type { Step } from '../../engine/scenario.js';
import { events, scenario } from './helpers.js';

const QUEUES: Step[] = [
  { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'ioas' },
  // Another iommufd's queue: its fd is the process's, as MAP_FILE's fget() sees it.
  { op: 'ioctl', fd: 'iommufd2', cmd: 'IOMMU_FAULT_QUEUE_ALLOC' },
] as Step[];
const mapFile = (fd: number): Step => ({ op: 'ioctl-nr', nr: 143, args: { flags: 6, ioas_id: '$ioas', fd, length: 4096 } } as Step);

describe('IOMMU_IOAS_MAP_FILE of an open event-queue fd', () => {
  it("stops the run for a queue of another iommufd; any other fd is EBADF", () => {
    const evs = events(QUEUES);
    const fault = evs.find((e) => e.kind === 'ioctl' && e.cmd === 'IOMMU_FAULT_QUEUE_ALLOC');
    const qfd = (fault as unknown as { out: { out_fault_fd: number } }).out.out_fault_fd;
    expect(() => events(scenario([...QUEUES, mapFile(qfd)]))).toThrow(ScenarioRunError);
    expect(() => events(scenario([...QUEUES, mapFile(qfd)]))).toThrow(/IOMMU_IOAS_MAP_FILE of fd \d+, an open event-queue file, is not modelled/);
    const other = events(scenario([...QUEUES, mapFile(qfd + 1)]));
    expect(other.at(-1)).toMatchObject({ kind: 'ioctl', errno: 'EBADF' });
  });
});
