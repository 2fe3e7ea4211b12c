// A minimal terminal emulator: enough of xterm to rebuild the screen the
// debugger draws through a pseudo-terminal (cursor moves, erases, DEC line
// drawing; colours and modes are ignored). Used when tmux is not installed.

const DEC: Record<string, string> = {
  j: '┘', k: '┐', l: '┌', m: '└', n: '┼', q: '─', t: '├', u: '┤', v: '┴', w: '┬', x: '│', a: '▒', '`': '◆', '~': '·',
};

export class Vt {
  private grid: string[][];
  private x = 0;
  private y = 0;
  private saved = { x: 0, y: 0 };
  private acs = false;
  private pending = '';

  constructor(readonly cols: number, readonly rows: number) {
    this.grid = Array.from({ length: rows }, () => new Array<string>(cols).fill(' '));
  }

  lines(): string[] { return this.grid.map((r) => r.join('').trimEnd()); }
  text(): string { return this.lines().join('\n'); }

  write(data: string): void {
    const s = this.pending + data;
    this.pending = '';
    let i = 0;
    while (i < s.length) {
      const c = s[i] as string;
      if (c === '\x1b') {
        const rest = s.slice(i);
        const csi = /^\x1b\[([?>]?)([\d;]*)([@-~])/.exec(rest);
        const osc = /^\x1b\][^\x07]*(\x07|\x1b\\)/.exec(rest);
        const two = /^\x1b([()][0-9A-Za-z]|[=>78DEMHc])/.exec(rest);
        if (csi) { this.csi(csi[1] as string, csi[2] as string, csi[3] as string); i += csi[0].length; continue; }
        if (osc) { i += osc[0].length; continue; }
        if (two) { this.esc(two[1] as string); i += two[0].length; continue; }
        if (/^\x1b(\[[?>]?[\d;]*|\][^\x07]*|[()])?$/.test(rest)) { this.pending = rest; return; } // cut mid-sequence
        i++;
        continue;
      }
      i++;
      if (c === '\r') this.x = 0;
      else if (c === '\n') this.y = Math.min(this.rows - 1, this.y + 1);
      else if (c === '\b') this.x = Math.max(0, this.x - 1);
      else if (c >= ' ') this.put(this.acs ? DEC[c] ?? c : c);
    }
  }

  private put(ch: string): void {
    if (this.x >= this.cols) { this.x = 0; this.y = Math.min(this.rows - 1, this.y + 1); }
    const row = this.grid[this.y];
    if (row) row[this.x] = ch;
    this.x++;
  }

  private esc(code: string): void {
    if (code === '7') this.saved = { x: this.x, y: this.y };
    else if (code === '8') ({ x: this.x, y: this.y } = this.saved);
    else if (code === '(0') this.acs = true;
    else if (code === '(B') this.acs = false;
    else if (code === 'c') this.erase(0, 0, this.rows - 1, this.cols);
  }

  private erase(y0: number, x0: number, y1: number, x1: number): void {
    for (let y = y0; y <= y1; y++) {
      const row = this.grid[y];
      if (!row) continue;
      for (let x = y === y0 ? x0 : 0; x < (y === y1 ? x1 : this.cols); x++) row[x] = ' ';
    }
  }

  private csi(priv: string, params: string, final: string): void {
    if (priv) return; // modes
    const p = params.split(';').map((v) => (v === '' ? NaN : Number(v)));
    const n = (i: number, d = 1): number => (Number.isNaN(p[i] ?? NaN) ? d : (p[i] as number));
    const clampX = (v: number): number => Math.max(0, Math.min(this.cols - 1, v));
    const clampY = (v: number): number => Math.max(0, Math.min(this.rows - 1, v));
    switch (final) {
      case 'H': case 'f': this.y = clampY(n(0) - 1); this.x = clampX(n(1) - 1); break;
      case 'A': this.y = clampY(this.y - n(0)); break;
      case 'B': this.y = clampY(this.y + n(0)); break;
      case 'C': this.x = clampX(this.x + n(0)); break;
      case 'D': this.x = clampX(this.x - n(0)); break;
      case 'G': case '`': this.x = clampX(n(0) - 1); break;
      case 'd': this.y = clampY(n(0) - 1); break;
      case 'J': {
        const m = n(0, 0);
        if (m === 0) this.erase(this.y, this.x, this.rows - 1, this.cols);
        else if (m === 1) this.erase(0, 0, this.y, this.x + 1);
        else this.erase(0, 0, this.rows - 1, this.cols);
        break;
      }
      case 'K': {
        const m = n(0, 0);
        if (m === 0) this.erase(this.y, this.x, this.y, this.cols);
        else if (m === 1) this.erase(this.y, 0, this.y, this.x + 1);
        else this.erase(this.y, 0, this.y, this.cols);
        break;
      }
      case 'X': this.erase(this.y, this.x, this.y, Math.min(this.cols, this.x + n(0))); break;
      case 'r': this.x = 0; this.y = 0; break;
      default: break; // m (colours), t, l/h and the rest change nothing we read
    }
  }
}
