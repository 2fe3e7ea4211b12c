// docs/events.md is generated from engine/types.ts (test/events-doc.ts):
// every kind the engine emits is listed with its fields, and the file is
// exactly what the generator produces.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_KINDS } from '../engine/summary.js';
import { eventsDoc, KIND_DOC, parseEventTypes } from './events-doc.js';

const DOC = join(process.cwd(), 'docs', 'events.md');

describe('docs/events.md', () => {
  it('lists every event kind of engine/types.ts, each with a description and its fields', () => {
    const { kinds } = parseEventTypes();
    expect(kinds.map((k) => k.kind).sort()).toEqual([...EVENT_KINDS].sort());
    for (const k of EVENT_KINDS) expect(KIND_DOC[k], k).toBeTruthy();
    expect(kinds.find((k) => k.kind === 'dma')?.fields.map((f) => f.name)).toEqual(['rid', 'pasid', 'addr', 'write', 'via', 'pa', 'ok']);
  });

  it('is what the generator produces (IOTRACE_WRITE_DOCS=1 rewrites it)', () => {
    const want = eventsDoc();
    if (process.env.IOTRACE_WRITE_DOCS) writeFileSync(DOC, want);
    expect(readFileSync(DOC, 'utf8')).toBe(want);
  });
});
