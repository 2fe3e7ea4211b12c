// Lookups by a name that came from a file, a trace or the command line: only
// the table's own entries count, so "toString" or "constructor" never finds
// a member of Object.prototype.
export const own = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined =>
  (Object.hasOwn(table, key) ? table[key] : undefined);
