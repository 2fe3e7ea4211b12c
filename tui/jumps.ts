// The jump list (Ctrl-O back, Ctrl-N forward), as a browser's history: every
// jump (f, n/N, v/V, w, :, g/G with a count, c/C, marks, search matches)
// records where it left; going back records where it was for forward.

const MAX = 100;

export class JumpList {
  private back: number[] = [];
  private fwd: number[] = [];

  /** A jump from `from` to `to` happened. */
  record(from: number, to: number): void {
    if (from === to) return;
    if (this.back[this.back.length - 1] !== from) this.back.push(from);
    if (this.back.length > MAX) this.back.shift();
    this.fwd = [];
  }

  /** Where Ctrl-O goes from `at`, or null; the position is moved to the forward list. */
  older(at: number): number | null { return this.shift(this.back, this.fwd, at); }

  /** Where Ctrl-N goes from `at`, or null. */
  newer(at: number): number | null { return this.shift(this.fwd, this.back, at); }

  get sizes(): { back: number; forward: number } { return { back: this.back.length, forward: this.fwd.length }; }

  private shift(from: number[], to: number[], at: number): number | null {
    let n = from.pop();
    while (n === at) n = from.pop(); // a position equal to where we are is no jump
    if (n === undefined) return null;
    to.push(at);
    return n;
  }
}
