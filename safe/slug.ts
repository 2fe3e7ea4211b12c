// File names from names. A scenario or variant name comes from a file, so it
// never chooses where a file is written: slug() turns it into one readable
// path component, and insideDir() checks that a name joined to a folder
// stays directly in that folder.
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { RefusedError } from './files.js';

/** The longest slug, in characters (ASCII only, so bytes): leaves room for a suffix and a temp name under NAME_MAX 255. */
export const SLUG_MAX = 120;

/** Kept as they are; anything else (/, \, controls, spaces, non-ASCII, quotes, …) becomes `_`. */
const KEEP = /[^A-Za-z0-9._=+,@-]/g;

/**
 * One safe, readable path component for a name: only ASCII letters, digits
 * and `. _ = + , @ -`; no `..`, no leading `.` or `-`, at most SLUG_MAX
 * characters. A name that is already such a component comes back unchanged;
 * any other gets a short hash of the original appended (`x_notes-3f2a9c1b`),
 * so two names that clean to the same text still make two files.
 */
export function slug(name: string, max = SLUG_MAX): string {
  let s = name.replace(KEEP, '_').replace(/\.{2,}/g, '.').replace(/^[.-]+/, '').replace(/_{2,}/g, '_');
  if (s === name && s.length > 0 && s.length <= max) return s;
  const tag = createHash('sha256').update(name).digest('hex').slice(0, 8);
  s = s.slice(0, Math.max(0, max - tag.length - 1)).replace(/[.-]+$/, '');
  return s.length > 0 ? `${s}-${tag}` : `unnamed-${tag}`;
}

/**
 * `dir` joined with `name`, checked to land directly inside `dir` (no
 * separator, no `..`, not the folder itself); a RefusedError otherwise. Use
 * on every name built from a file before writing.
 */
export function insideDir(dir: string, name: string): string {
  const root = resolve(dir);
  const p = resolve(root, name);
  if (dirname(p) !== root || basename(p) !== name || name === '.' || name === '..') {
    throw new RefusedError(`refusing to write ${JSON.stringify(name)}: it would land outside ${root}`);
  }
  return join(dir, name);
}
