import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../scenarios/index.js';
import { ScenarioError } from '../../engine/validate.js';
import { BAD_SCENARIOS, doc } from './bad-scenarios.js';

function problem(text: string): string {
  try {
    parseScenario(text, 'bad.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('scenario was accepted');
}

describe('scenario validation names the file, the step and the field', () => {
  const cases = BAD_SCENARIOS;
  for (const [what, text, re] of cases) {
    it(what, () => expect(problem(text)).toMatch(re));
  }

  it('reports every problem at once, on one line', () => {
    const msg = problem(doc([{ op: 'teleport' }, { op: 'dma', rid: '00:02.0' }]));
    // Each problem ends with the line and column of its value (the step object, for a missing field).
    expect(msg).toBe(`bad.json: step 0: steps[0].op: unknown op "teleport" (known: ${msg.split('(known: ')[1]?.split(')')[0]}) ${/\(line 1, column \d+\)/.exec(msg)?.[0]}; step 1: steps[1].addr: missing ${/\(line 1, column \d+\)$/.exec(msg)?.[0]}`);
    expect(msg).toMatch(/^bad\.json: step 0: steps\[0\]\.op: unknown op "teleport" \(known: [^)]*\) \(line 1, column \d+\); step 1: steps\[1\]\.addr: missing \(line 1, column \d+\)$/);
    expect(msg).not.toContain('\n');
  });
});
