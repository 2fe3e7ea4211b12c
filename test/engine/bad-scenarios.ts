// Malformed scenario documents and the message each must produce, shared by
// the validator's unit test and the CLI test (test/cli-bad-input.test.ts),
// which writes each one to bad.json and runs iotrace record on it.
import { VTD } from './helpers.js';

export const doc = (steps: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name: 'bad', description: 'd', variants: { pasid: { identity: 'a', translated: 'b' } }, platform: VTD, steps, ...extra });

export const BAD_SCENARIOS: [string, string, RegExp][] = [
  ['invalid JSON', '{"name": "x",\n  "steps": [}', /^bad\.json: \(document\): invalid JSON at line 2, column 13/],
  ['unknown op', doc([{ op: 'teleport' }]), /bad\.json: step 0: steps\[0\]\.op: unknown op "teleport"/],
  ['unknown ioctl', doc([{ op: 'ioctl', cmd: 'IOMMU_FROB' }]), /step 0: steps\[0\]\.cmd: expected one of .*IOMMU_DESTROY/],
  ['wrong type', doc([{ op: 'dma', rid: '00:02.0', addr: 'high' }]), /step 0: steps\[0\]\.addr: expected a non-negative integer up to 2\^53-1 \(a number, or a string of decimal or 0x-hex digits\) or "\$ref", got "high"/],
  ['missing field', doc([{ op: 'dma', rid: '00:02.0' }]), /step 0: steps\[0\]\.addr: missing/],
  ['dangling $ref', doc([{ op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$nope' } }]), /step 0: steps\[0\]\.args\.id: "\$nope" is not bound/],
  ['unknown variant axis', doc([{ op: 'run-deferred', when: { colour: 'red' } }]), /steps\[0\]\.when\.colour: unknown variant axis "colour"/],
  ['unknown variant value', doc([{ op: 'run-deferred', when: { pasid: 'weird' } }]), /steps\[0\]\.when\.pasid: unknown value "weird"/],
  ['unknown device', doc([{ op: 'dma', rid: '00:09.0', addr: 0 }]), /steps\[0\]\.rid: no device "00:09.0" in the platform/],
  ['unknown VM', doc([{ op: 'guest-msr', vm: 'vm7', pasid: 1 }]), /steps\[0\]\.vm: no vm "vm7"/],
  ['unknown field', doc([{ op: 'run-deferred', bogus: 1 }]), /steps\[0\]\.bogus: unknown field/],
  ['prototype key', '{"name":"x","description":"d","platform":{"iommus":[],"devices":[]},"steps":[{"op":"run-deferred","__proto__":{"x":1}}]}', /__proto__: reserved key/],
  ['missing name', JSON.stringify({ description: 'd', platform: VTD, steps: [] }), /bad\.json: name: expected a non-empty string/],
  ['ref before its step', doc([{ op: 'ioctl', cmd: 'IOMMU_DESTROY', args: { id: '$x' } }, { op: 'ioctl', cmd: 'IOMMU_IOAS_ALLOC', as: 'x' }]), /step 0: .*"\$x" is not bound/],
  ['reserved key at the top', '{"name":"x","description":"d","platform":{"iommus":[],"devices":[]},"steps":[],"__proto__":{"polluted":1}}', /^bad\.json: __proto__: reserved key/],
  ['wrong type in the platform', doc([], { platform: { iommus: 'dmar0', devices: [] } }), /^bad\.json: platform\.iommus: expected an array/],
  ['step references a device of no IOMMU', doc([], { platform: { iommus: [{ id: 'dmar0', kind: 'vtd' }], devices: [{ rid: '00:02.0', iommu: 'dmar9' }] } }), /platform\.devices\[0\]\.iommu: no iommu "dmar9"/],
  ['op named after an Object.prototype member', doc([{ op: 'toString' }]), /step 0: steps\[0\]\.op: unknown op "toString"/],
  ['ioctl named after an Object.prototype member', doc([{ op: 'ioctl', cmd: 'constructor' }]), /step 0: steps\[0\]\.cmd: expected one of .*got "constructor"/],
  ['field named after an Object.prototype member', doc([{ op: 'run-deferred', toString: 1 }]), /steps\[0\]\.toString: unknown field/],
  ['unknown builder', doc([], { generate: { builder: 'toString', params: {} } }), /^bad\.json: generate\.builder: unknown builder "toString" \(known: stress\)/],
  ['a platform too big to install', doc([], { platform: { ...VTD, vms: Array.from({ length: 17 }, (_, i) => ({ id: `vm${i}`, vcpus: 4096 })) } }), /^bad\.json: platform: describes \d+ cells .*more than 65536/],
  ['unknown field in a work queue', doc([], { platform: { ...VTD, devices: [{ rid: '00:02.0', iommu: 'dmar0', wqs: [{ id: 'wq0', mode: 'shared', depth: 8 }] }] } }), /^bad\.json: platform\.devices\[0\]\.wqs\[0\]\.depth: unknown field \(known: id, mode\)/],
  ['unknown field in a memory region', doc([], { platform: { ...VTD, memory: [{ owner: 'vm0', base: 0, size: 4096, numa: 1 }] } }), /^bad\.json: platform\.memory\[0\]\.numa: unknown field \(known: owner, base, size\)/],
  ['vCPU count out of range', doc([], { platform: { ...VTD, vms: [{ id: 'vm0', vcpus: 1e9 }] } }), /^bad\.json: platform\.vms\[0\]\.vcpus: expected an integer 1\.\.4096, got 1000000000/],
  ['unknown platform field', doc([], { platform: { ...VTD, devices: [{ rid: '00:02.0', iommu: 'dmar0', atc: true }] } }), /^bad\.json: platform\.devices\[0\]\.atc: unknown field/],
  ['PRI without ATS', doc([], { platform: { ...VTD, devices: [{ rid: '00:02.0', iommu: 'dmar0', pri: true }] } }), /^bad\.json: platform\.devices\[0\]\.pri: PRI needs ATS: set ats too/],
  ['PRI on a VF', doc([], { platform: { ...VTD, devices: [{ rid: '00:02.0', iommu: 'dmar0', ats: true }, { rid: '00:02.1', iommu: 'dmar0', type: 'vf', parent: '00:02.0', ats: true, pri: true }] } }), /^bad\.json: platform\.devices\[1\]\.pri: a VF shares its PF's PRI capability \(pci_pri_supported\(\)\): set pri on its parent/],
  ['PASID capability wider than 20 bits', doc([], { platform: { ...VTD, devices: [{ rid: '00:02.0', iommu: 'dmar0', pasidCap: { offset: 0x1b0, width: 64 } }] } }), /platform\.devices\[0\]\.pasidCap\.width: expected an integer 1\.\.20, got 64/],
  ['nested too deep', doc([], { generate: { builder: 'stress', params: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) as unknown } }), /bad\.json: generate\.params(\.a)+: nested deeper than 32 levels/],
];
