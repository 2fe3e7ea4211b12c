// The allocators' indexes (engine/indexes.ts) are caches of the state: after
// every event of every built-in scenario, variant and conformance case, and
// of a random mix of allocator steps, the index a run keeps equals one
// rebuilt from the state alone, and its answers equal the scans it replaced.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IdSet } from '../engine/idset.js';
import { allocIndex, cpuPasidsOfVm, freeObjectId, freeSetId, firstOpenEntry, indexDiff, presentUnder, rootsOfIoas, TAG, lastIdleObject, objectKeysUnder, pagesIn, outliving, overQuota, ownerLowest, WHOLE_SECTION_KEY, setCount, spaceFirstFree } from '../engine/indexes.js';
import { Ctx } from '../engine/ctx.js';
import { queueIndexDiff, queueView } from '../engine/iommufd/queue-index.js';
import { pasidCacheVictims } from '../engine/caches.js';
import { areaContaining, areaIntersects, areasIntersecting, areasUnder } from '../engine/areas.js';
import { objectsWith } from '../engine/iommufd/object.js';
import { outstanding } from '../engine/ioasid.js';
import { nextId } from '../engine/iommufd/object.js';
import { ptUnmap } from '../engine/memory.js';
import { RunSession } from '../engine/run.js';
import { combinations, type Scenario, type Step } from '../engine/scenario.js';
import { compareKeys, emptyState } from '../engine/state.js';
import type { IommufdCell, State } from '../engine/types.js';
import { WORKLOADS } from '../bench/scan-workloads.js';
import { validateScenario } from '../engine/validate.js';
import { caseFiles, CONFORMANCE_DIR } from '../conformance/runner.js';
import { listScenarios, parseScenario } from '../scenarios/index.js';

const INDEXED: ReadonlySet<string> = new Set(['ioasid', 'ioasid-set', 'iommufd', 'bind', 'pasid', 'deferred', 'cpu-pasid', 'pt', 'dirty', 'pt-root', 'eventq', 'pasid-cache', 'ioas-map']);

/** Run `sc` under `variant`, checking the index against a rebuild after every event; returns the events checked. */
function checkRun(sc: Scenario, variant: Record<string, string>, extra?: (state: State) => void): number {
  let n = 0;
  const problems: string[] = [];
  // An event that writes none of the indexed sections changes neither the index nor what a rebuild sees:
  // the check after it would compare the same two things again (stress's DMA and IOTLB events), so it is skipped.
  let wrote = true;
  const session: RunSession = new RunSession(sc, { variant }, {
    touch: (section) => { if (INDEXED.has(section)) wrote = true; },
    onEvent: (ev) => {
      n++;
      if (problems.length > 0 || !wrote) return;
      wrote = false;
      const diff = [...indexDiff(session.state as State), ...queueIndexDiff(session.state as State)];
      if (diff.length > 0) problems.push(`event ${ev.seq} (${ev.kind}, step ${ev.step}): ${diff.join('; ')}`);
      extra?.(session.state as State);
    },
  });
  try {
    while (session.next()) { /* every event is checked in onEvent */ }
  } catch (e) {
    // A scenario that ends in a ScenarioRunError still had every event up to it checked.
    if (!(e instanceof Error && e.name === 'ScenarioRunError')) throw e;
  }
  expect(problems, `${sc.name} ${JSON.stringify(variant)}`).toEqual([]);
  return n;
}

/** The answers of the scans the index replaced, from the state alone. */
function bruteChecks(state: State): void {
  const ix = allocIndex(state);
  if (!ix) throw new Error('no index');
  const s = state.s;
  // outstanding(): IOASIDs of a set under a host prefix
  const hosts = new Set(Object.keys(s.host));
  const setNames = new Set(Object.values(s.ioasid).map((c) => c.set));
  for (const h of hosts) for (const set of setNames) {
    const n = Object.keys(s.ioasid).filter((key) => key.startsWith(`${h}/`) && s.ioasid[key]?.set === set).length;
    expect(setCount(ix, `${h}/`, set)).toBe(n);
  }
  // findFree(): the lowest free PASID of a space at or after some probes
  for (const h of hosts) for (const from of [0, 1, 3, 17, 40, 63]) {
    let p = from;
    while (s.ioasid[`${h}/${p}`]) p++;
    expect(spaceFirstFree(ix, h, from, 1 << 20)).toBe(p);
    expect(spaceFirstFree(ix, h, from, p - 1)).toBe(null);
  }
  // freeSid(): lowest set ID not in use
  for (const h of hosts) {
    const used = new Set(Object.keys(s['ioasid-set']).filter((key) => key.split('/')[0] === h).map((key) => s['ioasid-set'][key]?.sid));
    let sid = 0;
    while (used.has(sid)) sid++;
    expect(freeSetId(ix, h, 1 << 20)).toBe(sid);
  }
  // the quota invariant's sets over quota
  const over = Object.keys(s['ioasid-set']).sort(compareKeys).filter((key) => {
    const [h, name] = key.split('/');
    const quota = s['ioasid-set'][key]?.quota ?? 0;
    return Object.keys(s.ioasid).filter((x) => x.startsWith(`${h}/`) && s.ioasid[x]?.set === name).length > quota;
  });
  expect(overQuota(ix)).toEqual(over);
  // mmPasid(): the owner's lowest PASID in a host's global space
  for (const h of hosts) for (const owner of ['p0', 'p1', 'p2']) {
    const first = Object.keys(s.ioasid).sort(compareKeys).find((key) => key.split('/').length === 2 && key.split('/')[0] === h && s.ioasid[key]?.owner === owner);
    expect(ownerLowest(ix, h, owner)).toBe(first === undefined ? null : Number(first.split('/')[1]));
  }
  // entriesOutliveIoasid(): the stale bindings
  const stale = Object.keys(s.bind).sort(compareKeys).filter((key) => {
    const b = s.bind[key];
    if (!b?.space || !s.pasid[key]?.p) return false;
    const pasid = Number(key.split('/')[1]);
    const alloc = s.ioasid[`${b.space}/${pasid}`];
    const pending = Object.keys(s.deferred).some((d) => d.startsWith(`${b.space?.split('/')[0]}/${pasid}/`));
    return (!alloc && !pending) || (alloc !== undefined && alloc.owner !== b.owner);
  });
  expect(outliving(ix)).toEqual(stale);
  // noncoherentWithoutWbinvd(): a device's first entry present without PGSNP
  for (const rid of Object.keys(s.device)) {
    const first = Object.keys(s.pasid).sort(compareKeys).find((key) => key.startsWith(`${rid}/`) && s.pasid[key]?.p && !s.pasid[key]?.pgsnp);
    expect(firstOpenEntry(ix, `${rid}/`)).toBe(first);
  }
  // ptUnmap() and dirtyPages(): a table's pages, ascending
  for (const section of ['pt', 'dirty'] as const) {
    for (const root of new Set(Object.keys(s[section]).map((key) => key.split('/')[0]))) {
      const pages = Object.keys(s[section]).filter((key) => key.startsWith(`${root}/`)).map((key) => Number(key.split('/')[1])).sort((a, b) => a - b);
      expect(pagesIn(ix, section, `${root}/`, 0, Infinity)).toEqual(pages);
      expect(pagesIn(ix, section, `${root}/`, 3, 40)).toEqual(pages.filter((pg) => pg >= 3 && pg < 40));
    }
  }
  // nextId(): lowest free iommufd id from 1
  for (const fd of ['fd0', 'fd1', 'iommufd']) {
    const used = new Set(Object.keys(s.iommufd).filter((key) => key.startsWith(`${fd}/`)).map((key) => s.iommufd[key]?.id));
    let id = 1;
    while (used.has(id)) id++;
    expect(freeObjectId(ix, `${fd}/`)).toBe(id);
    // objects(): the fd's keys in key order; iommufd_fops_release()'s next leaf: the last with no users
    const keys = Object.keys(s.iommufd).filter((key) => key.startsWith(`${fd}/`)).sort(compareKeys);
    expect(objectKeysUnder(ix, `${fd}/`)).toEqual(keys);
    expect(lastIdleObject(ix, `${fd}/`)).toBe([...keys].reverse().find((key) => s.iommufd[key]?.users === 0) ?? null);
  }
}

/** The new queries' answers against the same calls on the state without its indexes (a bare copy: every caller's scan). */
function answerChecks(state: State): void {
  const ix = allocIndex(state);
  if (!ix) throw new Error('no index');
  const bare = { s: state.s, seq: state.seq, tick: state.tick } as State;
  const s = state.s;
  const cells = Object.values(s.iommufd);
  for (const fd of new Set(cells.map((o) => o.fd))) {
    const preds: [string | null, (o: IommufdCell) => boolean][] = [[TAG.type('DEVICE'), (o) => o.type === 'DEVICE'], [TAG.openQueue, (o) => (o.type === 'FAULT' || o.type === 'VEVENTQ') && o.attrs.open === true]];
    for (const o of cells) {
      preds.push([TAG.ioas(o.id), (x) => x.type === 'HWPT_PAGING' && x.attrs.ioas === o.id], [TAG.parent(o.id), (x) => x.type === 'HWPT_NESTED' && x.attrs.parent === o.id],
        [TAG.nestedOn(o.id), (x) => x.type === 'HWPT_NESTED' && x.attrs.viommu === o.id], [TAG.attached(o.id), (x) => x.type === 'DEVICE' && Object.entries(x.attrs).some(([name, v]) => name.startsWith('pasid/') && v === o.id)],
        [TAG.vdevOf(o.id), (x) => x.type === 'VDEVICE' && x.attrs.leaked !== true && x.attrs.dev === o.id], [TAG.veventqOn(o.id), (x) => x.type === 'VEVENTQ' && x.attrs.viommu === o.id],
        [TAG.rid(o.attrs.rid), (x) => x.type === 'DEVICE' && x.attrs.rid === o.attrs.rid], [TAG.efd(o.attrs.efd), (x) => (x.type === 'FAULT' || x.type === 'VEVENTQ') && x.attrs.open === true && x.attrs.efd === o.attrs.efd]);
      for (const iommu of Object.keys(s.iommu)) for (const stage of ['first', 'second']) preds.push([TAG.domainOn(o.id, iommu, stage), (x) => x.type === 'HWPT_PAGING' && x.attrs.ioas === o.id && x.attrs.iommu === iommu && x.attrs.stage === stage]);
    }
    for (const [tag, keep] of preds) expect(objectsWith(state, fd, tag, keep), `${fd} ${tag}`).toEqual(objectsWith(bare, fd, tag, keep));
  }
  for (const rid of Object.keys(s.device)) expect(presentUnder(ix, `${rid}/`)).toBe(Object.keys(s.pasid).filter((key) => key.startsWith(`${rid}/`) && s.pasid[key]?.p === true).length);
  for (const r of Object.values(s['pt-root'])) if (r.ioas) expect([...rootsOfIoas(ix, r.ioas)].sort()).toEqual(Object.keys(s['pt-root']).filter((x) => s['pt-root'][x]?.ioas === r.ioas).sort());
  for (const vm of Object.keys(s.vm)) expect(cpuPasidsOfVm(ix, vm)).toEqual(Object.keys(s['cpu-pasid']).sort(compareKeys).filter((key) => key.split('/')[0] === vm));
  for (const key of Object.keys(s.eventq)) {
    const [fd, q] = key.split('/') as [string, string];
    const live = queueView(state, fd, Number(q));
    const scan = queueView(bare, fd, Number(q));
    expect([live.first(), live.last(), live.all(), live.vevents(), live.pendingCount(), live.firstPending(), live.freeCookie()]).toEqual([scan.first(), scan.last(), scan.all(), scan.vevents(), scan.pendingCount(), scan.firstPending(), scan.freeCookie()]);
    for (const r of scan.all()) {
      const d = r.cell.data;
      if (typeof d.cookie === 'number' && d.cookie > 0) expect(live.withCookie(d.cookie)).toEqual(scan.withCookie(d.cookie));
      if (typeof d.hwpt === 'number' && typeof d.dev_id === 'number' && typeof d.attach_pasid === 'number') expect(live.ofHandle(d.hwpt, d.dev_id, d.attach_pasid)).toEqual(scan.ofHandle(d.hwpt, d.dev_id, d.attach_pasid));
    }
  }
  for (const key of Object.keys(s['ioas-map'])) {
    const prefix = key.slice(0, key.lastIndexOf('/') + 1);
    expect(areasUnder(state, prefix)).toEqual(areasUnder(bare, prefix));
    for (const a of areasUnder(bare, prefix)) {
      for (const addr of [0, a.iova - 1, a.iova, a.iova + a.cell.length - 1, a.iova + a.cell.length]) expect(areaContaining(state, prefix, addr)).toEqual(areaContaining(bare, prefix, addr));
      for (const [lo, hi] of [[0n, BigInt(a.iova)], [0n, 2n ** 64n - 1n], [BigInt(a.iova) + 1n, BigInt(a.iova) + 1n], [BigInt(a.iova + a.cell.length), 2n ** 64n - 1n], [BigInt(a.iova) - 1n, BigInt(a.iova) - 1n], [BigInt(a.iova + a.cell.length), BigInt(a.iova + a.cell.length)]] as const) {
        if (lo < 0n || hi < lo) continue;
        const brute = areasUnder(bare, prefix).some((x) => BigInt(x.iova) <= hi && lo <= BigInt(x.iova) + BigInt(x.cell.length) - 1n);
        expect(areaIntersects(state, prefix, lo, hi)).toBe(brute);
        expect(areasIntersecting(state, prefix, lo, hi)).toEqual(areasUnder(bare, prefix).filter((x) => BigInt(x.iova) <= hi && lo <= BigInt(x.iova) + BigInt(x.cell.length) - 1n));
      }
    }
  }
  const pc = Object.entries(s['pasid-cache']);
  for (const iommu of Object.keys(s.iommu)) for (const granularity of ['global', 'domain', 'pasid'] as const) {
    const pasidOf = (key: string): number => Number(key.split('/').pop());
    const pairs: [number | null, number | null][] = [[null, null], ...pc.flatMap(([key, c]): [number | null, number | null][] => [[c.did, null], [null, pasidOf(key)], [c.did, pasidOf(key)]])];
    for (const [did, pasid] of pairs) {
      const q = { iommu, granularity, did, pasid };
      expect(pasidCacheVictims(state, q).sort()).toEqual(pasidCacheVictims(bare, q).sort());
    }
  }
}

describe('IdSet', () => {
  it('agrees with a plain Set on random adds, deletes and lowest-free queries (small and 2^53-sized ids)', () => {
    let seed = 12345;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (const range of [70, 2000, 40_000]) {
      const ids = new IdSet();
      const plain = new Set<number>();
      const big = (x: number): number => (range === 40_000 && x % 7 === 0 ? Number.MAX_SAFE_INTEGER - x : x);
      for (let i = 0; i < 20_000; i++) {
        const x = big(rnd(range));
        if (rnd(3) === 0) { ids.delete(x); plain.delete(x); } else { ids.add(x); plain.add(x); }
        if (i % 7 === 0) {
          const from = rnd(range);
          let p = from;
          while (plain.has(p)) p++;
          expect(ids.firstFree(from)).toBe(p);
        }
        expect(ids.size).toBe(plain.size);
      }
      expect([...ids.values()]).toEqual([...plain].sort((a, b) => a - b));
      expect(ids.min()).toBe(plain.size === 0 ? null : Math.min(...plain));
      expect(ids.max()).toBe(plain.size === 0 ? null : Math.max(...plain));
      for (const x of [0, 1, 31, 32, 33, 1023, 1024, Number.MAX_SAFE_INTEGER]) expect(ids.has(x)).toBe(plain.has(x));
    }
  });

  it('finds the id past a full run that spans trie levels', () => {
    const ids = new IdSet();
    for (let i = 0; i < 33 * 1024 + 5; i++) ids.add(i);
    expect(ids.firstFree(0)).toBe(33 * 1024 + 5);
    ids.delete(32 * 1024);
    expect(ids.firstFree(7)).toBe(32 * 1024);
    expect(ids.firstFree(32 * 1024 + 1)).toBe(33 * 1024 + 5);
    ids.add(2 ** 40);
    expect(ids.firstFree(2 ** 40)).toBe(2 ** 40 + 1);
    expect(ids.firstFree(2 ** 40 - 1)).toBe(2 ** 40 - 1);
  });
});

describe('the index equals a rebuild from the state after every event', () => {
  it('every built-in scenario, every variant', () => {
    let events = 0;
    for (const sc of listScenarios()) for (const v of combinations(sc)) events += checkRun(sc, v);
    expect(events).toBeGreaterThan(1000);
  }, 120_000);

  it('every conformance case, every variant', () => {
    let events = 0;
    for (const file of caseFiles(CONFORMANCE_DIR)) {
      let sc: Scenario;
      try { sc = parseScenario(readFileSync(file, 'utf8'), file); } catch { continue; }
      for (const v of combinations(sc)) events += checkRun(sc, v, answerChecks);
    }
    expect(events).toBeGreaterThan(1000);
  }, 120_000);

  it('every scan workload (bench/scan-workloads.ts) at N = 24; the answers are the scans\'', () => {
    let events = 0;
    for (const [name, w] of Object.entries(WORKLOADS)) events += checkRun(validateScenario({ name, description: name, platform: w.platform, steps: w.steps(24) }, name), {}, answerChecks);
    expect(events).toBeGreaterThan(500);
  }, 120_000);

  it('a random mix of sets, quotas, allocations (lowest-free, cyclic, min/max, uncharged), frees, set frees, exits, SVA binds and unbinds, deferred clean-up, iommufd objects and closes, page-table maps and unmaps; the answers are the scans\'', () => {
    const platform = {
      hosts: [{ id: 'h', capacity: 64, systemQuota: 20, minPasid: 1 }, { id: 'h2', capacity: 40 }],
      iommus: [{ id: 'dmar0', kind: 'vtd', host: 'h' }], devices: [{ rid: '00:02.0', iommu: 'dmar0' }],
      memory: [{ owner: 'p0', base: 0x100000, size: 0x10000 }],
    };
    let violations = 0;
    for (let seed = 1; seed <= 8; seed++) {
      let x = seed;
      const rnd = (n: number): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
      const sets = ['system', 's0', 's1', 's2'];
      const steps: Step[] = [];
      for (let i = 0; i < 300; i++) {
        const host = rnd(4) === 0 ? 'h2' : 'h';
        const set = sets[rnd(sets.length)] as string;
        switch (rnd(18)) {
          case 16: steps.push({ op: 'pt-map', root: 0x1000 + rnd(2), owner: 'p0', addr: rnd(64) * 4096, pa: 0x100000, size: (1 + rnd(40)) * 4096 }); break;
          case 17: steps.push({ op: 'pt-unmap', root: 0x1000 + rnd(2), addr: rnd(64) * 4096, size: (1 + rnd(1200)) * 4096 }); break;
          case 15: steps.push({ op: 'close', fd: `fd${rnd(2)}` }); break;
          case 14: steps.push({ op: 'run-deferred' }); break;
          case 12: steps.push({ op: 'sva-bind', rid: '00:02.0', owner: `p${rnd(3)}`, root: 0x1000 }); break;
          case 13: steps.push({ op: 'sva-unbind', rid: '00:02.0', pasid: rnd(20) }); break;
          case 0: steps.push({ op: 'ioasid-set-alloc', host, set, quota: rnd(12), ...(rnd(3) ? { token: `t${rnd(3)}` } : {}), ...(rnd(3) === 0 ? { type: rnd(2) ? 'mm' : 'null' } : {}) }); break;
          case 1: steps.push({ op: 'ioasid-set-free', host, set, destroy: rnd(2) === 0 }); break;
          case 2: steps.push({ op: 'ioasid-config', host, ...(rnd(2) ? { policy: rnd(2) ? 'cyclic' : 'lowest' } : {}), ...(rnd(2) ? { revision: rnd(2) ? 'v2' : 'v1' } : {}) }); break;
          case 3: steps.push({ op: 'ioasid-set-quota', host, set, quota: rnd(15) }); break;
          case 4: case 5: steps.push({ op: 'ioasid-free', host, pasid: rnd(70), ...(rnd(3) === 0 ? { set } : {}) }); break;
          case 6: steps.push({ op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', fd: `fd${rnd(2)}` }); break;
          case 7: steps.push({ op: 'ioctl', cmd: 'IOMMU_DESTROY', fd: `fd${rnd(2)}`, args: { id: 1 + rnd(10) } }); break;
          case 8: steps.push({ op: 'process-exit', host, owner: `p${rnd(3)}` }); break;
          default: steps.push({ op: 'ioasid-alloc', host, set, owner: `p${rnd(3)}`, ...(rnd(3) === 0 ? { min: rnd(30) } : {}), ...(rnd(3) === 0 ? { max: rnd(70) } : {}), ...(rnd(6) === 0 ? { uncharged: true } : {}) });
        }
      }
      const sc = validateScenario({ name: `mix-${seed}`, description: 'd', platform, steps }, 'mix');
      checkRun(sc, {}, bruteChecks);
      const session = new RunSession(sc);
      while (session.next()) violations += session.out.filter((e) => e.kind === 'violation').length;
    }
    // The mix reaches the quota invariant (uncharged allocations past a quota), not only the allocators.
    expect(violations).toBeGreaterThan(0);
  }, 120_000);
});

describe('an answer from the index reads what the scan read (explore/ records footprints through Proxies)', () => {
  it('outstanding(), nextId(), a wide unmap: each reads its whole section (key WHOLE_SECTION_KEY), as the scan\'s ownKeys did', () => {
    const state = emptyState();
    const reads: string[] = [];
    for (const name of ['ioasid', 'iommufd', 'pt'] as const) {
      const sec = state.s[name] as Record<string, unknown>;
      (state.s as unknown as Record<string, unknown>)[name] = new Proxy(sec, { get: (o, p) => { if (p === WHOLE_SECTION_KEY) reads.push(name); return o[p as string]; } });
    }
    const ctx = new Ctx(state, {});
    expect(outstanding(ctx.state, 'host0', 'system')).toBe(0);
    expect(nextId(ctx.state, 'iommufd')).toBe(1);
    ctx.beginStep(0);
    expect(ptUnmap(ctx, 0x1000, 0, 1024 * 4096)).toBe(0);
    expect(reads).toEqual(['ioasid', 'iommufd', 'pt']);
  });

  it('the iommufd, PASID-entry, table, KVM, event-queue, PASID-cache and IOAS-area answers read their whole section too', () => {
    const state = emptyState();
    const reads: string[] = [];
    for (const name of ['iommufd', 'pasid', 'pt-root', 'cpu-pasid', 'eventq', 'pasid-cache', 'ioas-map'] as const) {
      const sec = state.s[name] as Record<string, unknown>;
      (state.s as unknown as Record<string, unknown>)[name] = new Proxy(sec, { get: (o, p) => { if (p === WHOLE_SECTION_KEY) reads.push(name); return o[p as string]; } });
    }
    const ctx = new Ctx(state, {});
    const ix = allocIndex(ctx.state);
    if (!ix) throw new Error('no index');
    expect(objectsWith(ctx.state, 'iommufd', TAG.type('DEVICE'), (o) => o.type === 'DEVICE')).toEqual([]);
    expect(presentUnder(ix, '00:02.0/')).toBe(0);
    expect([...rootsOfIoas(ix, 'iommufd/1')]).toEqual([]);
    expect(cpuPasidsOfVm(ix, 'vm0')).toEqual([]);
    expect(queueView(ctx.state, 'iommufd', 1).last()).toBeUndefined();
    expect(pasidCacheVictims(ctx.state, { iommu: 'dmar0', granularity: 'global', did: null, pasid: null })).toEqual([]);
    expect(areaContaining(ctx.state, 'iommufd/1/', 0)).toBeUndefined();
    expect(reads).toEqual(['iommufd', 'pasid', 'pt-root', 'cpu-pasid', 'eventq', 'pasid-cache', 'ioas-map']);
  });
});
