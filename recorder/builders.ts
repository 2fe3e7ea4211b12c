// Registers the stress builder with the engine until engine/builders/index.ts
// does it itself (idempotent; delete this file then).
import { BUILDERS } from '../engine/builders/index.js';
import { stress } from '../engine/builders/stress.js';

BUILDERS.stress ??= stress;
