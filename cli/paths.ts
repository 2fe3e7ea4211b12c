// Where the commands write when the user names no output: one name per
// scenario and variant (so two variants never overwrite each other), in the
// current folder for `record`, in a per-user cache folder for `start` and
// `replay <scenario>`.
import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Scenario, Variant } from '../engine/scenario.js';
import { RefusedError } from '../safe/files.js';
import { escapeText } from '../safe/escape.js';
import { slug } from '../safe/slug.js';

/**
 * A file name for a scenario under a variant: <scenario>--axis=value--axis=value.iotrace
 * (just <scenario>.iotrace without axes), axes sorted. Names and values come
 * from the scenario file, so each is made a safe component (safe/slug.ts): no
 * `/`, `..`, controls or leading `.`/`-`, whatever the file says. `record`
 * (without -o), `start`, `replay <scenario>` and `matrix -o` all use it.
 */
export function traceName(scenario: Scenario, variant: Variant): string {
  const parts = Object.keys(variant).sort().map((axis) => `${slug(axis, 40)}=${slug(String(variant[axis]), 40)}`);
  return `${[slug(scenario.name, 60), ...parts].join('--')}.iotrace`;
}

/**
 * The per-user cache folder: $XDG_CACHE_HOME/iotrace (when XDG_CACHE_HOME is
 * an absolute path, as the XDG spec asks) or ~/.cache/iotrace. Created with
 * mode 0700; refused (one line) when it is a symbolic link, not a folder,
 * owned by another user or writable by group or others, since a folder
 * another user controls could swap the trace under the debugger.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir(), '.cache');
  const dir = join(base, 'iotrace');
  try {
    mkdirSync(base, { recursive: true, mode: 0o700 });
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new RefusedError(`${escapeText(dir)}: cannot create the cache folder: ${(e as Error).message}`);
    }
  }
  const st = lstatSync(dir);
  const refuse = (why: string): never => { throw new RefusedError(`${escapeText(dir)}: ${why}; refusing to use it as the cache folder (set XDG_CACHE_HOME, or give -o)`); };
  if (st.isSymbolicLink()) refuse('is a symbolic link');
  if (!st.isDirectory()) refuse('is not a folder');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) refuse(`is owned by uid ${st.uid}, not by you (uid ${uid})`);
  if ((st.mode & 0o022) !== 0) refuse(`is writable by ${(st.mode & 0o002) !== 0 ? 'others' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`);
  return dir;
}

/** A path as a shell word: as it is when it holds only safe characters, else single-quoted; escaped for the terminal. */
export function shellWord(p: string): string {
  if (/^[A-Za-z0-9._=+,@/:%-]+$/.test(p)) return p;
  return escapeText(`'${p.replace(/'/g, `'\\''`)}'`);
}
