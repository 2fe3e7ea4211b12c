// Marks: m + a letter remembers the event under the cursor, ' + the letter
// goes back to it (a jump). Shown as the letter in the event list's mark
// column.

export class Marks {
  private byLetter = new Map<string, number>();

  static valid(ch: string | undefined): ch is string { return ch !== undefined && /^[a-zA-Z]$/.test(ch); }

  set(letter: string, n: number): void { this.byLetter.set(letter, n); }

  get(letter: string): number | null { return this.byLetter.get(letter) ?? null; }

  /** The letter of the first mark on event n (alphabetical), or null. */
  at(n: number): string | null {
    let best: string | null = null;
    for (const [l, m] of this.byLetter) if (m === n && (best === null || l < best)) best = l;
    return best;
  }

  /** Every mark, "a #40  b #12", alphabetical. */
  text(): string {
    return [...this.byLetter].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([l, n]) => `${l} #${n}`).join('  ');
  }
}
