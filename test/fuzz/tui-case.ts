// The debugger on a mutated trace, through the fake terminal of
// test/tui-helpers.ts: keys pressed as a user would (j, G, g, f, n, :N, /,
// t, Tab, w, ?, p, Esc), each handled by the real Debugger. A damaged chunk
// must show in the status line, never end the debugger (an exception out of
// a key handler would reach the terminal's event loop); once its background
// check has run, f lands on the first fault the events hold and the status
// line says INDEX FALSE when the file's claims are false.
import type { Widgets } from 'blessed';
import { TraceError } from '../../trace/format.js';
import { KEY, openUi, type Ui } from '../tui-helpers.js';
import type { Outcome, Pick } from './exercise.js';
import type { State } from '../../engine/types.js';
import { ApplyFails, expectThat, sameClaims, sameState, truthState, type Truth } from './oracle.js';

interface Internals {
  onKey(ch: string | undefined, key: Widgets.Events.IKeyEventArg): void;
  claims: { label(): string };
}

const tick = (): Promise<void> => new Promise((res) => setImmediate(res));

export async function tuiCase(path: string, t: Truth, pick: Pick, out: Outcome): Promise<void> {
  out.readers.push('tui');
  let ui: Ui;
  try { ui = await openUi(path, undefined, 100, 30); } catch (e) {
    if (e instanceof TraceError) { expectThat(t.openError !== null, 'the debugger opens what the replayer opens', () => e.message); return; }
    throw e;
  }
  const errors: unknown[] = [];
  const d = ui.d as unknown as Internals;
  const onKey = d.onKey.bind(ui.d);
  // What a key handler throws would be an uncaught exception in a terminal; here it is recorded.
  d.onKey = (ch, key) => { try { onKey(ch, key); } catch (e) { errors.push(e); } };
  try {
    // The background check (claims, checkpoints): done before the first frame for small traces, in idle slices for large ones.
    for (let i = 0; i < 20_000 && d.claims.label() === 'index unchecked'; i++) await tick();
    const count = ui.r.count;
    const cursor = (): number => ui.d.cursor;
    const check = (ok: boolean, rule: string, detail: () => string): void => { if (errors.length === 0) expectThat(ok, rule, detail); };
    await ui.press('G');
    check(count === 0 || cursor() === count - 1, 'tui: G goes to the last step', () => `${cursor()} of ${count}`);
    await ui.press('g');
    check(cursor() === 0, 'tui: g goes to the first step', () => String(cursor()));
    await ui.press('j');
    check(cursor() === Math.min(1, Math.max(0, count - 1)), 'tui: j steps forward', () => String(cursor()));
    await ui.press('f');
    const first = t.events.faults[0];
    // Past the first unreadable chunk the check knows nothing: f may know only the faults before it.
    if (t.stop === null && first !== undefined) check(cursor() === first, 'tui: f lands on the first fault event in the file', () => `${cursor()}, the first fault is ${first}`);
    await ui.press('n', 'S-n', 'N');
    await ui.press(':', ...String(pick(Math.max(1, count) + 2)), KEY.enter);
    if (pick(2) === 0) { await ui.press('/', ...'fault', KEY.enter); await ui.d.idle(); await ui.press('n'); await ui.d.idle(); }
    if (pick(3) === 0) await ui.press('t', ...'dma', KEY.enter, KEY.esc, KEY.esc);
    await ui.press(KEY.tab, 'j', 'j', 'w', KEY.enter, 'w');
    await ui.press(KEY.tab, KEY.tab, KEY.tab);
    if (pick(3) === 0) await ui.press('?', 'j', 'q');
    if (pick(4) === 0) { await ui.press('p'); await tick(); await ui.press('x'); }
    await ui.press('k', KEY.pgdn, KEY.pgup, ']', '[');
    if (errors.length > 0) throw errors[0];
    const label = d.claims.label();
    // Once the background check is adopted, the state pane shows the state the events build, never a false checkpoint's.
    const view = (ui.d as unknown as { view: { n: number; state: State } | null }).view;
    if (label !== 'index unchecked' && view && view.n < t.count) {
      let truth: State | null = null;
      try { truth = truthState(t, view.n); } catch (e) { if (!(e instanceof ApplyFails)) throw e; }
      if (truth) expectThat(sameState(view.state, truth), 'tui: the state pane shows the state the events build', () => `step ${view.n}, lcp ${t.lcp}`);
    }
    if (label !== 'index unchecked' && t.stop === null && (!sameClaims(t.claimed, t.events) || !t.chainOk)) {
      expectThat(/INDEX FALSE/.test(label), 'tui: the status line says INDEX FALSE when the footer lies', () => `label "${label}"`);
    }
  } finally {
    ui.close();
  }
}
