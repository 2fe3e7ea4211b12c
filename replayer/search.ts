// Matching an event against a search query (kind, RID, PASID, ioctl or kernel
// call name, free text over the one-line summary).
import { summarize } from '../engine/summary.js';
import type { TraceEvent } from '../engine/types.js';
import type { SearchQuery } from './api.js';

export function matches(ev: TraceEvent, q: SearchQuery): boolean {
  if (q.kinds && q.kinds.length > 0 && !q.kinds.includes(ev.kind)) return false;
  const f = ev as unknown as Record<string, unknown>;
  if (q.rid !== undefined && f.rid !== q.rid) return false;
  if (q.pasid !== undefined && f.pasid !== q.pasid && f.gpasid !== q.pasid && f.hpasid !== q.pasid && f.vpasid !== q.pasid) return false;
  if (q.cmd !== undefined && f.cmd !== q.cmd && f.fn !== q.cmd) return false;
  if (q.text !== undefined && !summarize(ev).toLowerCase().includes(q.text.toLowerCase())) return false;
  return true;
}
