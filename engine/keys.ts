// Cell keys. One place builds them so decide and apply can never disagree.
import type { Rid } from './types.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const page = (addr: number): number => Math.floor(addr / PAGE_SIZE);

/** VT-d: directory index = pasid >> 6, table index = pasid & 0x3f. */
export const pasidDirIndex = (pasid: number): number => pasid >>> 6;

export const k = {
  pasid: (rid: Rid, pasid: number) => `${rid}/${pasid}`,
  pasidDir: (rid: Rid, dir: number) => `${rid}/${dir}`,
  iotlb: (iommu: string, did: number, pasid: number, pg: number) => `${iommu}/${did}/${pasid}/${pg}`,
  pasidCache: (iommu: string, rid: Rid, pasid: number) => `${iommu}/${rid}/${pasid}`,
  contextCache: (iommu: string, rid: Rid) => `${iommu}/${rid}`,
  atc: (rid: Rid, pasid: number, pg: number) => `${rid}/${pasid}/${pg}`,
  wq: (rid: Rid, wq: string) => `${rid}/${wq}`,
  vcpu: (vm: string, vcpu: number) => `${vm}/${vcpu}`,
  cpuPasid: (vm: string, gpasid: number) => `${vm}/${gpasid}`,
  ioasidSet: (host: string, set: string) => `${host}/${set}`,
  /** space is the host for the global PASID space, host/rid for a per-RID one. */
  ioasid: (space: string, pasid: number) => `${space}/${pasid}`,
  iommufd: (fd: string, id: number) => `${fd}/${id}`,
  ioasMap: (fd: string, ioas: number, iova: number) => `${fd}/${ioas}/${iova}`,
  pt: (root: number, pg: number) => `${root}/${pg}`,
  bind: (rid: Rid, pasid: number) => `${rid}/${pasid}`,
  mdevPasid: (rid: Rid, vpasid: number) => `${rid}/${vpasid}`,
  vpasid: (vm: string, rid: Rid, pasid: number) => `${vm}/${rid}/${pasid}`,
  vdev: (fd: string, viommu: number, virtId: number) => `${fd}/${viommu}/${virtId}`,
  eventq: (fd: string, queue: number, idx: number) => `${fd}/${queue}/${idx}`,
  deferred: (host: string, pasid: number, subscriber: string) => `${host}/${pasid}/${subscriber}`,
};

/** A RID "bb:dd.f" as its 16-bit source id (bus 15:8, device 7:3, function 2:0), or -1 when it is not one. */
export function sourceId(rid: Rid): number {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(rid);
  return m ? (parseInt(m[1] as string, 16) << 8) | (parseInt(m[2] as string, 16) << 3) | Number(m[3]) : -1;
}

/** Split a key into its '/'-separated parts (RIDs contain ':' and '.', never '/'). */
export const parts = (key: string): string[] => key.split('/');
