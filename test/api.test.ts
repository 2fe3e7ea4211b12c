// The library (issue 14 §5): the package imported by its name, as a user's
// project would (a temporary folder whose node_modules/iotrace is this
// repository), its declarations type-checked, and every example of
// docs/api.md run with its printed lines checked against the comments
// under them.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const project = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'iotrace-api-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'iotrace'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', type: 'module', private: true }));
  return dir;
};
const node = (cwd: string, file: string) => spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', timeout: 60_000 });

/** The ```js blocks of docs/api.md, each with the lines its comments say it prints. */
function examples(): { code: string; expected: string[] }[] {
  const text = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
  return [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => {
    const code = m[1] ?? '';
    const expected = code.split('\n').filter((l) => /^\s*\/\/ /.test(l)).map((l) => l.replace(/^\s*\/\/ /, '').replace(/\s{3,}\(.*\)$/, '')).filter((l) => l !== '...');
    return { code, expected };
  });
}

describe('the iotrace package', () => {
  it('package.json names the entry point and its declarations', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }>; types: string };
    expect(pkg.exports['.']).toEqual({ types: './dist/lib/index.d.ts', default: './dist/lib/index.js' });
    expect(readFileSync(join(ROOT, pkg.types), 'utf8')).toContain('TraceReplayer');
  });

  it('imports by its name from another project; a deep import is refused (exports)', () => {
    const dir = project();
    writeFileSync(join(dir, 'a.mjs'), `import * as io from 'iotrace';
const s = io.loadScenario('dwq-gpasid');
const evs = [...io.run(s, { variant: { pasid: 'translated' } })];
console.log(typeof io.TraceReplayer.open, typeof io.diffTraces, evs.length, evs.filter((e) => e.kind === 'fault').length);
try { await import('iotrace/dist/engine/run.js'); console.log('deep import allowed'); } catch (e) { console.log(e.code); }
`);
    const r = node(dir, 'a.mjs');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('function function 41 1\nERR_PACKAGE_PATH_NOT_EXPORTED\n');
  });

  it('its declarations type-check a TypeScript user (NodeNext resolution, strict)', () => {
    const dir = project();
    writeFileSync(join(dir, 'u.ts'), `import { loadScenario, run, TraceReplayer, diffTraces, MemorySide, type TraceEvent, type Scenario, type TraceDiff } from 'iotrace';
const s: Scenario = loadScenario('dwq-gpasid');
const evs: TraceEvent[] = [...run(s, { variant: { pasid: 'identity' } })];
const d: TraceDiff = diffTraces(new MemorySide(evs), new MemorySide(evs));
const faults: number = evs.filter((e) => e.kind === 'fault').length;
const open: (p: string) => TraceReplayer = TraceReplayer.open;
export { d, faults, open };
`);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] }, files: ['u.ts'] }));
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: 120_000 });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('every example of docs/api.md runs and prints what its comments say', () => {
    const list = examples();
    expect(list.length).toBeGreaterThanOrEqual(6);
    const dir = project();
    list.forEach(({ code, expected }, i) => {
      writeFileSync(join(dir, `ex${i}.mjs`), code);
      const r = node(dir, `ex${i}.mjs`);
      expect(r.stderr, `example ${i}`).toBe('');
      expect(r.status, `example ${i}`).toBe(0);
      const lines = r.stdout.split('\n');
      for (const want of expected) expect(lines, `example ${i}: ${want}`).toContain(want);
    });
  });
});
