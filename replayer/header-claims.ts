// What a trace's header claims about how its events were made, checked
// against the header's own scenario (no re-run needed) and, for an imported
// trace, against the sections its events write. info and verify
// report each as a FALSE CLAIM (exit 1); every view that names the variant
// (diff, the debugger's status line, export's metadata) marks it, and a
// what-if refuses to re-run under it: a run of a variant the scenario does
// not have would put the header's label on what another variant makes.
import { variantProblem, variantText } from '../engine/scenario.js';
import type { TraceHeader } from '../trace/header.js';
import { tracedClaim, type Traced } from './traced.js';

/**
 * The header's false claims, one line each. `traced`: the sections an
 * imported trace's events write (checkTrace's, replayer/traced.ts), when a
 * pass has found them; the header's `imported.traced` is compared with it.
 */
export function headerClaims(h: TraceHeader, traced: Traced | null = null): string[] {
  const p = variantProblem(h.scenario, h.variant);
  const t = h.imported && traced ? tracedClaim(h.imported.traced, traced) : null;
  return [...(p === null ? [] : [`header's variant ${variantText(h.variant)} is not a variant of its scenario: ${p}`]), ...(t === null ? [] : [t])];
}

/** The header's variant as a view names it: marked when its scenario has no such variant. */
export function variantShown(h: TraceHeader): string {
  const text = variantText(h.variant);
  return variantProblem(h.scenario, h.variant) === null ? text : `${text} FALSE: not a variant of its scenario`;
}
