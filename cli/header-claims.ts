// What a trace's header claims about how its events were made, checked
// against the header's own scenario (no re-run needed): info, verify and
// verify of an imported trace report each as a FALSE CLAIM (exit 1).
import { variantProblem } from '../engine/scenario.js';
import type { TraceHeader } from '../trace/header.js';
import { variantText } from './common.js';

export function headerClaims(h: TraceHeader): string[] {
  const p = variantProblem(h.scenario, h.variant);
  return p === null ? [] : [`header's variant ${variantText(h.variant)} is not a variant of its scenario: ${p}`];
}
