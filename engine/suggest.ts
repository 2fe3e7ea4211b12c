// "Did you mean …?" for a word that is not one of the known ones: a
// command, an option, an event kind, a finding (cli/), an op, an ioctl, a
// field or a platform name (engine/validate.ts). Pure, so the engine can
// use it.

/** Edit distance (insert, delete, substitute, swap two neighbours), stopping early past `max`. */
export function distance(a: string, b: string, max = 4): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) { row.push(j); continue; }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/** The known words closest to `word` (at most 3), close enough to be a typo of it; or a word that starts with it. */
export function closest(word: string, known: Iterable<string>): string[] {
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.min(3, Math.floor(w.length / 3)));
  const scored: [number, string][] = [];
  for (const k of known) {
    const d = distance(w, k.toLowerCase(), limit);
    if (d <= limit) scored.push([d, k]);
    else if (w.length >= 3 && k.toLowerCase().startsWith(w)) scored.push([limit, k]);
  }
  scored.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  return scored.slice(0, 3).map(([, k]) => k);
}

/** " (did you mean X?)" / " (did you mean X or Y?)", or "" when nothing is close. */
export function didYouMean(word: string, known: Iterable<string>): string {
  const c = closest(word, known);
  if (c.length === 0) return '';
  return ` (did you mean ${c.length === 1 ? c[0] : `${c.slice(0, -1).join(', ')} or ${c[c.length - 1]}`}?)`;
}
