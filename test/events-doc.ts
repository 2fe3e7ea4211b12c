// docs/events.md, generated from engine/types.ts (the EventBody union and
// the types its fields use) with the TypeScript compiler's parser, so the
// document lists exactly the kinds and fields the engine emits.
// test/events-doc.test.ts checks that the file is what this produces;
// `IOTRACE_WRITE_DOCS=1 npx vitest run test/events-doc.test.ts` rewrites it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { EVENT_KINDS, family } from '../engine/summary.js';
import type { EventKind } from '../engine/types.js';

/** One line per kind: what the event means. The field list comes from the types. */
export const KIND_DOC: Record<EventKind, string> = {
  platform: 'The platform the scenario declares (IOMMUs, devices, hosts, VMs): always event 0.',
  ioctl: 'A uAPI call (iommufd, VFIO, KVM, the 2021 /dev/ioasid proposal): command, arguments, errno (null: success) and outputs.',
  kcall: 'A kernel-internal call the model makes visible (ioasid_alloc(), guest_pasid_alloc(), ...): function, arguments, errno, outputs.',
  'pasid-write': 'A PASID-table entry of a RID changes: the entry before and after (null: not present).',
  'pasid-table-alloc': 'A leaf PASID table is allocated under a directory entry of a RID.',
  'pt-write': 'A page-table cell (one 4 KiB page of an I/O page table) changes.',
  'pt-root': 'A page table is created or dropped (owner VM or IOAS; dirty tracking).',
  dirty: 'The dirty bit of a page changes (IOMMU dirty tracking).',
  'kvm-pasid-map': "KVM's guest PASID -> host PASID translation (the VMCS PASID table ENQCMD uses) changes; hpasid null removes it.",
  'msr-write': "A vCPU's IA32_PASID MSR is written (null: cleared).",
  'wq-config': "A device work queue's configuration: its PASID register (dedicated queue) and whether it is enabled.",
  enqcmd: 'An ENQCMD to a shared work queue: the MSR value, the PASID the CPU translated it to, or #GP (gp).',
  dma: 'A device DMA: RID, PASID (null: none), address, the result and where the translation came from (IOTLB, ATC, a table walk).',
  'iotlb-fill': 'An IOTLB line is filled (IOMMU, domain id, PASID, page, physical address).',
  'iotlb-inval': 'An IOTLB invalidation: descriptor, granularity and how many lines it dropped.',
  'pasid-cache-fill': 'A PASID-cache line is filled from the PASID table.',
  'pasid-cache-inval': 'A PASID-cache invalidation: granularity and how many lines it dropped.',
  'context-cache-fill': 'A context-cache line seen filled (imported traces: QEMU\'s vtd_iotlb_cc_update, an SMMUv3 configuration-cache miss): the RID\'s context entry as cached.',
  'context-cache-inval': 'A context-cache invalidation (VT-d descriptor 0x1; an SMMUv3 CFGI of its configuration cache): global, domain- or device-selective (source id, function mask), and how many lines it dropped.',
  'atc-fill': "A device's ATC (ATS translation cache) line is filled.",
  'atc-inval': 'An ATC invalidation: granularity and how many entries it dropped.',
  fault: 'A fault: source (IOMMU, SMMU, CPU), reason code and its kernel name, RID, PASID, address, VM.',
  'ioasid-alloc': 'An IOASID (PASID) is allocated in a space and set for an owner.',
  'ioasid-free': 'An IOASID is freed.',
  'ioasid-set': 'An IOASID set is allocated, its quota changes, or it is freed.',
  'ioasid-mode': "A host's PASID space mode: global or per-RID hardware IDs, GLOBAL_MIN, the allocation policy.",
  notify: 'An IOASID notifier call (FREE, BIND, UNBIND) to one subscriber, in order.',
  deferred: 'A subscriber’s clean-up of a PASID is queued or runs (free with notifier clean-up).',
  bind: 'A PASID of a RID is bound to an owner (a VM, a process) or unbound (owner null).',
  'guest-pasid-write': "The guest's vIOMMU PASID table entry changes (FLPTR in guest physical space; null: cleared).",
  'guest-inval': 'A guest vIOMMU invalidation the VMM captures (PASID cache or IOTLB).',
  'mdev-pasid-map': "A mediated (SIOV) device's virtual PASID -> host PASID mapping changes.",
  'config-write': "A device's PCI config space field changes (the PASID capability, emulated or synthesised).",
  'config-read': "A read of a device's config space: what was looked for and what was found.",
  migrate: 'A live-migration phase of a VM: save on the source host, restore on the destination.',
  'vm-host': 'A VM now runs on a host.',
  'device-assign': 'A device is assigned to a VM (vm null: released to the host).',
  'device-table': "Who owns a RID's PASID table: the host, or the guest (at a GPA).",
  'iommufd-obj': 'An iommufd object (IOAS, HWPT, DEVICE, vIOMMU, vDEVICE, ...) is allocated, updated or destroyed: its references and attributes.',
  'ioas-map': 'An IOAS mapping is added (hpa set) or removed (hpa null).',
  'iommufd-ctx': "An iommufd file's context: how pinned pages are accounted (null: the fd is closed).",
  'vdev-map': "A vIOMMU's virt_id -> vDEVICE mapping changes (rid null: erased).",
  eventq: 'A record enters, changes in or leaves an iommufd event queue (fault or vEVENT queue).',
  'kvm-wbinvd': "KVM's WBINVD decision for a VM: a no-op or honoured, from its non-coherent devices.",
  'kvm-vfio': "The kvm-vfio device's file list of a VM changes.",
  expect: "A step's expectation was not met: what was expected and what happened.",
  sched: 'A scheduling decision of a threaded run: which thread runs next, from where, among which runnable ones.',
  violation: 'A broken invariant of the model: a stale IOTLB or ATC hit, a DMA into another address space, an entry outliving its IOASID, a quota overrun, ...',
} as Record<EventKind, string>;

interface Field { name: string; type: string; optional: boolean; doc: string }

/** Meanings of the common fields that engine/types.ts leaves undocumented. */
const BASE_DOC: Record<string, string> = {
  seq: "The event's sequence number: its position in the trace, from 0 (a step number in every command).",
  tick: 'The logical time: one tick per scenario step (several events share a tick).',
};
interface Kind { kind: string; doc: string; fields: Field[] }

const clean = (s: string): string => s.replace(/\s+/g, ' ').trim();

function jsDoc(node: ts.Node, text: string): string {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  return ranges.map((r) => text.slice(r.pos, r.end)).filter((c) => c.startsWith('/**'))
    .map((c) => clean(c.replace(/^\/\*\*|\*\/$/g, '').replace(/^\s*\* ?/gm, ''))).join(' ');
}

function fieldsOf(lit: ts.TypeLiteralNode, text: string): Field[] {
  const out: Field[] = [];
  for (const m of lit.members) {
    if (!ts.isPropertySignature(m) || !m.type) continue;
    out.push({ name: m.name.getText(), type: clean(m.type.getText()), optional: m.questionToken !== undefined, doc: jsDoc(m, text) });
  }
  return out;
}

/** The event kinds, their fields and the types the fields name, as parsed from engine/types.ts. */
export function parseEventTypes(root = process.cwd()): { base: Field[]; kinds: Kind[]; types: Map<string, string> } {
  const file = join(root, 'engine', 'types.ts');
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const decls = new Map<string, ts.Node>();
  let base: Field[] = [];
  const kinds: Kind[] = [];
  sf.forEachChild((n) => {
    if ((ts.isTypeAliasDeclaration(n) || ts.isInterfaceDeclaration(n)) && n.name) decls.set(n.name.text, n);
    if (ts.isInterfaceDeclaration(n) && n.name.text === 'EventBase') {
      base = n.members.filter(ts.isPropertySignature).map((m) => ({ name: m.name.getText(), type: clean(m.type?.getText() ?? ''), optional: m.questionToken !== undefined, doc: jsDoc(m, text) }));
    }
    if (ts.isTypeAliasDeclaration(n) && n.name.text === 'EventBody' && ts.isUnionTypeNode(n.type)) {
      for (const member of n.type.types) {
        if (!ts.isTypeLiteralNode(member)) continue;
        const fields = fieldsOf(member, text);
        const kindField = fields.find((f) => f.name === 'kind');
        const kind = kindField?.type.replace(/^'|'$/g, '') ?? '?';
        kinds.push({ kind, doc: jsDoc(member, text), fields: fields.filter((f) => f.name !== 'kind') });
      }
    }
  });
  // The named types the fields use (PasidEntry, Rid, ...), transitively, with their source text.
  const types = new Map<string, string>();
  const visit = (typeText: string): void => {
    for (const m of typeText.matchAll(/\b[A-Z][A-Za-z]+\b/g)) {
      const name = m[0];
      const d = decls.get(name);
      if (!d || types.has(name) || name === 'TraceEvent' || name === 'EventBody') continue;
      const src = d.getText();
      types.set(name, src);
      visit(src.replace(/^[^=]*?(=|\{)/, ''));
    }
  };
  for (const k of kinds) for (const f of k.fields) visit(f.type);
  if (types.has('Errno')) {
    const errnos = /export const ERRNOS = \[[^\]]*\][^;]*;/.exec(text);
    if (errnos) types.set('Errno', `${errnos[0]}\n${types.get('Errno') ?? ''}`);
  }
  return { base, kinds, types };
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** The whole of docs/events.md. */
export function eventsDoc(root = process.cwd()): string {
  const { base, kinds, types } = parseEventTypes(root);
  const out: string[] = [
    '# Event kinds',
    '',
    '<!-- Generated from engine/types.ts by test/events-doc.ts; test/events-doc.test.ts checks it.',
    '     Rewrite with: IOTRACE_WRITE_DOCS=1 npx vitest run test/events-doc.test.ts -->',
    '',
    'Every event of a trace is one JSON object in `iotrace events --json`,',
    '`iotrace run --json` and `iotrace export --format jsonl`: the fields every',
    'event has, then `kind` and that kind\'s fields. Numbers are JSON numbers',
    '(addresses too); `null` means absent or none. Each kind belongs to a family;',
    '`iotrace events --kind` and the debugger\'s `/` search and `t` filter take a',
    'kind or a family name.',
    '',
    '```sh',
    'iotrace events t.iotrace --kind fault --json | jq -r \'[.seq, .rid, .pasid, .reason] | @tsv\'',
    'iotrace events t.iotrace --kind table --pasid 5',
    '```',
    '',
    '## Fields of every event',
    '',
    '| field | type | meaning |',
    '|---|---|---|',
    ...base.map((f) => `| \`${f.name}\`${f.optional ? ' (optional)' : ''} | \`${cell(f.type)}\` | ${cell(f.doc || (BASE_DOC[f.name] ?? ''))} |`),
    '| `kind` | string | one of the kinds below |',
    '',
    '## Families',
    '',
    '| family | kinds |',
    '|---|---|',
  ];
  const families = new Map<string, string[]>();
  for (const k of EVENT_KINDS) families.set(family(k), [...(families.get(family(k)) ?? []), k]);
  for (const [f, ks] of families) out.push(`| \`${f}\` | ${ks.map((k) => `[\`${k}\`](#${k})`).join(', ')} |`);
  out.push('', '## Kinds', '');
  for (const k of kinds) {
    const doc = KIND_DOC[k.kind as EventKind] ?? '';
    out.push(`### ${k.kind}`, '', `${doc}${k.doc ? ` ${k.doc}` : ''} Family: \`${family(k.kind as EventKind)}\`.`, '');
    out.push('| field | type |', '|---|---|');
    for (const f of k.fields) out.push(`| \`${f.name}\`${f.optional ? ' (optional)' : ''} | \`${cell(f.type)}\`${f.doc ? ` ${cell(f.doc)}` : ''} |`);
    out.push('');
  }
  out.push('## Types the fields use', '', 'As declared in `engine/types.ts`.', '');
  for (const name of [...types.keys()].sort()) out.push(`### ${name}`, '', '```ts', types.get(name) ?? '', '```', '');
  return `${out.join('\n').trimEnd()}\n`;
}
