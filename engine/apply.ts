// The one place state changes: fold an event into the state. The recorder,
// the replayer and the engine's own decision logic all go through here.
import { atcVictims, contextCacheVictims, iotlbVictims, pasidCacheVictims } from './caches.js';
import { k } from './keys.js';
import { kvmHolders } from './kvm.js';
import { compareKeys } from './state.js';
import type { SectionName, Sections, State, TraceEvent } from './types.js';
import { platformCells } from './platform.js';

/** Called for every cell an event writes: the basis of provenance and of per-step diffs. */
export type Touch = (section: SectionName, key: string) => void;

function put<S extends SectionName>(state: State, section: S, key: string, value: Sections[S][string] | null, touch?: Touch): void {
  const sec = state.s[section] as Record<string, unknown>;
  if (value === null) delete sec[key];
  else sec[key] = value;
  touch?.(section, key);
}

function drop(state: State, section: SectionName, keys: string[], touch?: Touch): void {
  const sec = state.s[section] as Record<string, unknown>;
  for (const key of keys) { delete sec[key]; touch?.(section, key); }
}

function bumpUsers(state: State, fd: string, id: number, delta: number, touch?: Touch): void {
  const key = k.iommufd(fd, id);
  const cell = state.s.iommufd[key];
  if (cell) put(state, 'iommufd', key, { ...cell, users: cell.users + delta }, touch);
}

export function apply(state: State, ev: TraceEvent, touch?: Touch): State {
  state.seq = ev.seq;
  state.tick = ev.tick;
  switch (ev.kind) {
    // Observations first (the commonest kinds): they record what happened and change no state.
    case 'dma': case 'enqcmd': case 'ioctl': case 'kcall': case 'fault': case 'notify': case 'config-read':
    case 'migrate': case 'expect': case 'violation': case 'guest-inval': case 'sched':
      break;
    case 'platform':
      for (const [section, key, value] of platformCells(ev.platform)) put(state, section, key, value as never, touch);
      break;
    case 'pasid-write':
      put(state, 'pasid', k.pasid(ev.rid, ev.pasid), ev.after, touch);
      break;
    case 'pasid-table-alloc':
      put(state, 'pasid-dir', k.pasidDir(ev.rid, ev.dir), { table: ev.table }, touch);
      break;
    case 'pt-write':
      put(state, 'pt', k.pt(ev.root, ev.page), ev.after, touch);
      break;
    case 'pt-root':
      put(state, 'pt-root', String(ev.root), ev.owner === null ? null : { owner: ev.owner, ioas: ev.ioas, ...(ev.dirty ? { dirty: true } : {}) }, touch);
      break;
    case 'dirty':
      put(state, 'dirty', k.pt(ev.root, ev.page), ev.dirty ? { rid: ev.rid ?? '' } : null, touch);
      break;
    case 'kvm-pasid-map':
      put(state, 'cpu-pasid', k.cpuPasid(ev.vm, ev.gpasid), ev.hpasid === null ? null : { hpasid: ev.hpasid }, touch);
      break;
    case 'msr-write':
      put(state, 'vcpu', k.vcpu(ev.vm, ev.vcpu), { pasid: ev.pasid }, touch);
      break;
    case 'wq-config': {
      const key = k.wq(ev.rid, ev.wq);
      const cur = state.s.wq[key];
      if (cur) put(state, 'wq', key, { ...cur, pasid: ev.pasid, enabled: ev.enabled }, touch);
      break;
    }
    case 'iotlb-fill':
      put(state, 'iotlb', k.iotlb(ev.iommu, ev.did, ev.pasid, ev.page), { pa: ev.pa, write: ev.write }, touch);
      break;
    case 'iotlb-inval':
      drop(state, 'iotlb', iotlbVictims(state, ev), touch);
      break;
    case 'pasid-cache-fill':
      put(state, 'pasid-cache', k.pasidCache(ev.iommu, ev.rid, ev.pasid), ev.entry, touch);
      break;
    case 'pasid-cache-inval':
      drop(state, 'pasid-cache', pasidCacheVictims(state, ev), touch);
      break;
    case 'context-cache-fill':
      put(state, 'context-cache', k.contextCache(ev.iommu, ev.rid), ev.entry, touch);
      break;
    case 'context-cache-inval':
      drop(state, 'context-cache', contextCacheVictims(state, ev), touch);
      break;
    case 'atc-fill':
      put(state, 'atc', k.atc(ev.rid, ev.pasid, ev.page), { pa: ev.pa, write: ev.write }, touch);
      break;
    case 'atc-inval':
      drop(state, 'atc', atcVictims(state, ev), touch);
      break;
    case 'ioasid-alloc':
      put(state, 'ioasid', k.ioasid(ev.space, ev.pasid), { set: ev.set, owner: ev.owner }, touch);
      if (ev.space === ev.host) {
        const host = state.s.host[ev.host];
        if (host) put(state, 'host', ev.host, { ...host, last: ev.pasid }, touch);
      }
      break;
    case 'ioasid-free':
      put(state, 'ioasid', k.ioasid(ev.space, ev.pasid), null, touch);
      break;
    case 'ioasid-set':
      put(state, 'ioasid-set', k.ioasidSet(ev.host, ev.set), ev.op === 'free' ? null
        : { quota: ev.quota, token: ev.token, ...(ev.sid !== undefined ? { sid: ev.sid } : {}), ...(ev.type !== undefined ? { type: ev.type } : {}) }, touch);
      break;
    case 'ioasid-mode': {
      const host = state.s.host[ev.host];
      if (host) put(state, 'host', ev.host, { ...host, hwidMode: ev.hwidMode, globalMin: ev.globalMin, policy: ev.policy, ...(ev.revision !== undefined ? { revision: ev.revision } : {}) }, touch);
      break;
    }
    case 'deferred':
      put(state, 'deferred', k.deferred(ev.host, ev.pasid, ev.subscriber), ev.op === 'queue' ? { subscriber: ev.subscriber, pasid: ev.pasid, rid: ev.rid } : null, touch);
      break;
    case 'bind':
      put(state, 'bind', k.bind(ev.rid, ev.pasid), ev.owner === null ? null : ev.users === undefined ? { owner: ev.owner, via: ev.via, space: ev.space } : { owner: ev.owner, via: ev.via, space: ev.space, users: ev.users }, touch);
      break;
    case 'config-write': {
      const dev = state.s.device[ev.rid];
      if (ev.what === 'pasid-cap') {
        if (dev) put(state, 'device', ev.rid, { ...dev, pasidCap: ev.value === null ? null : { offset: ev.value, width: dev.pasidCap?.width ?? 20, enabled: false } }, touch);
      } else if (ev.what === 'pasid-ctl') {
        // PASID Control written at `offset`: it takes effect only if the capability is really there.
        if (dev?.pasidCap && dev.pasidCap.offset === ev.offset) put(state, 'device', ev.rid, { ...dev, pasidCap: { ...dev.pasidCap, enabled: ev.value === 1 } }, touch);
      }
      break;
    }
    case 'vm-host': {
      const vm = state.s.vm[ev.vm];
      if (vm) put(state, 'vm', ev.vm, { ...vm, host: ev.host }, touch);
      break;
    }
    case 'device-assign': {
      const dev = state.s.device[ev.rid];
      if (dev) put(state, 'device', ev.rid, { ...dev, vm: ev.vm, host: ev.host }, touch);
      break;
    }
    case 'device-table': {
      const dev = state.s.device[ev.rid];
      if (dev) put(state, 'device', ev.rid, { ...dev, guestTable: ev.guestTable }, touch);
      break;
    }
    case 'iommufd-obj': {
      const key = k.iommufd(ev.fd, ev.id);
      const cur = state.s.iommufd[key];
      // A reference is held on each parent for as long as the child points at it.
      const held = ev.op === 'alloc' ? [] : cur?.refs ?? [];
      const holds = ev.op === 'destroy' ? [] : ev.refs;
      for (const parent of held) bumpUsers(state, ev.fd, parent, -1, touch);
      for (const parent of holds) bumpUsers(state, ev.fd, parent, 1, touch);
      put(state, 'iommufd', key, ev.op === 'destroy' ? null : { fd: ev.fd, id: ev.id, type: ev.type, refs: ev.refs, users: state.s.iommufd[key]?.users ?? 0, attrs: ev.attrs }, touch);
      break;
    }
    case 'ioas-map':
      put(state, 'ioas-map', k.ioasMap(ev.fd, ev.ioas, ev.iova), ev.hpa === null ? null : { length: ev.length, hpa: ev.hpa, write: ev.write, ...(ev.writable !== undefined && ev.writable !== ev.write ? { writable: ev.writable } : {}) }, touch);
      break;
    case 'iommufd-ctx':
      put(state, 'iommufd-ctx', ev.fd, ev.accountMode === null ? null : { accountMode: ev.accountMode }, touch);
      break;
    case 'vdev-map':
      put(state, 'vdev', k.vdev(ev.fd, ev.viommu, ev.virtId), ev.rid === null ? null : { rid: ev.rid, vdevice: ev.vdevice }, touch);
      break;
    case 'eventq':
      put(state, 'eventq', k.eventq(ev.fd, ev.queue, ev.idx), ev.record, touch);
      break;
    case 'guest-pasid-write':
      put(state, 'vpasid', k.vpasid(ev.vm, ev.rid, ev.pasid), ev.flptr === null ? null : { flptr: ev.flptr }, touch);
      break;
    case 'mdev-pasid-map':
      put(state, 'mdev-pasid', k.mdevPasid(ev.rid, ev.vpasid), ev.pasid === null ? null : { pasid: ev.pasid }, touch);
      break;
    case 'kvm-wbinvd': {
      const vm = state.s.vm[ev.vm];
      if (vm) put(state, 'vm', ev.vm, { ...vm, wbinvd: ev.wbinvd }, touch);
      break;
    }
    case 'kvm-vfio': {
      const dev = state.s.device[ev.rid];
      if (dev) {
        const others = kvmHolders(dev).filter((vm) => vm !== ev.vm);
        const kvm = ev.op === 'add' ? [...others, ev.vm].sort(compareKeys) : others;
        const next = { ...dev };
        delete next.kvm;
        put(state, 'device', ev.rid, kvm.length > 0 ? { ...next, kvm } : next, touch);
      }
      break;
    }
    default: {
      const never: never = ev;
      throw new Error(`apply: unknown event kind ${(never as { kind: string }).kind}`);
    }
  }
  return state;
}

