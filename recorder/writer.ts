// TraceWriter: events in, a trace file out. Memory stays flat: one chunk of
// events, the mirror state the checkpoints and hashes come from, and the
// index. The file is written under a temporary name and renamed when whole,
// so a crash never leaves a trace that looks complete (safe/files.ts: an
// unpredictable temp created O_EXCL|O_NOFOLLOW, renamed only onto a regular
// file or a new name, removed on failure; on SIGINT/SIGTERM inside
// withSignalCleanup the partial is kept as `<path>.partial`).
import { writeSync } from 'node:fs';
import { apply, type Touch } from '../engine/apply.js';
import { indexedTouch } from '../engine/caches.js';
import { emptyState } from '../engine/state.js';
import type { State, TraceEvent } from '../engine/types.js';
import { escapeText } from '../safe/escape.js';
import { AtomicFile } from '../safe/files.js';
import type { TraceHeader } from '../replayer/api.js';
import { encodeChunk } from '../trace/chunk.js';
import { BLOCK, chainStep, digest, DIGEST_BYTES, frameBlock, LIMITS, preamble, RecordLimitError, tail } from '../trace/format.js';
import { encodeFooter, type Index } from '../trace/footer.js';
import { encodeHeader, headerProblem } from '../trace/header.js';
import { encodeCheckpoint, StateHasher } from '../trace/state-codec.js';

/** Chosen from measurements in docs/trace-format.md. */
export const DEFAULT_CHUNK_EVENTS = 1024;
export const DEFAULT_CHECKPOINT_EVERY = 1024;
const FLUSH_BYTES = 1 << 20;

export interface WriterOptions { chunkEvents?: number; checkpointEvery?: number }

// Defined beside the limits it enforces (trace/format.ts); the writer's API names it.
export { RecordLimitError };

export interface WriteSummary {
  path: string;
  events: number;
  faults: number;
  firstFault: number | null;
  violations: number;
  /** Failed expectations (`expect` events). */
  expectFailed: number;
  kinds: Record<string, number>;
  bytes: number;
  bytesPerEvent: number;
}

export class TraceWriter {
  readonly path: string;
  private readonly file: AtomicFile;
  private fd: number;
  private offset = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private chunk: TraceEvent[] = [];
  /** The state after the last event: the writer's own mirror, or the engine's live state (attach). */
  private state: State = emptyState();
  private attached = false;
  private readonly hasher = new StateHasher();
  private readonly chunkEvents: number;
  private readonly checkpointEvery: number;
  private readonly index: Index;
  private readonly hashes: Uint8Array[] = [];
  private readonly digests: Uint8Array[] = [];
  private readonly checkpointDigests: Uint8Array[] = [];
  private chain: Uint8Array = new Uint8Array(DIGEST_BYTES);
  private next = 0;

  constructor(path: string, header: TraceHeader, opts: WriterOptions = {}) {
    this.chunkEvents = opts.chunkEvents ?? DEFAULT_CHUNK_EVENTS;
    this.checkpointEvery = opts.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
    if (!(this.chunkEvents >= 1 && this.chunkEvents <= LIMITS.chunkEvents)) throw new RangeError(`chunkEvents must be 1..${LIMITS.chunkEvents}`);
    if (!(this.checkpointEvery >= this.chunkEvents && this.checkpointEvery % this.chunkEvents === 0)) throw new RangeError('checkpointEvery must be a multiple of chunkEvents');
    // The reader's bounds, checked before a byte is written (trace/header.ts).
    const full: TraceHeader = { ...header, chunkEvents: this.chunkEvents, checkpointEvery: this.checkpointEvery };
    const problem = headerProblem(full);
    if (problem) throw new RecordLimitError(`cannot record: ${problem} (a trace reader refuses it)`);
    this.path = path;
    this.index = {
      events: 0, chunkEvents: this.chunkEvents, checkpointEvery: this.checkpointEvery, chunkOffsets: [], chunkFirsts: [],
      hashes: new Uint8Array(0), checkpointSeqs: [], checkpointOffsets: [], faults: [], violations: [], kinds: {},
      digests: new Uint8Array(0), checkpointDigests: new Uint8Array(0), chain: new Uint8Array(DIGEST_BYTES),
    };
    this.file = new AtomicFile(path, { onInterrupt: (f, sig) => this.keepPartial(f, sig) });
    this.fd = this.file.fd;
    try {
      this.write(preamble());
      this.write(frameBlock(BLOCK.header, encodeHeader(full)));
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** Where an interrupted recording's partial trace is kept (SIGINT/SIGTERM inside withSignalCleanup). */
  get partialPath(): string { return `${this.path}.partial`; }

  /** Interrupted: write the whole blocks still buffered and keep the partial (a trace without a footer that readers recover). */
  private keepPartial(f: AtomicFile, sig: NodeJS.Signals): void {
    if (this.fd < 0) return;
    this.flush();
    this.fd = -1;
    const kept = f.keepAs(this.partialPath);
    process.stderr.write(kept
      ? `iotrace: ${sig}: recording stopped after ${this.offset} bytes; the partial trace (no footer; every reader recovers its whole chunks) is ${escapeText(this.partialPath)}\n`
      : `iotrace: ${sig}: recording stopped; ${escapeText(this.partialPath)} is not a regular file, so the partial trace was removed\n`);
  }

  /**
   * Use the engine's live state instead of a mirror (engine/run.ts RunSession):
   * the session must report every touched cell to `touch` and hand each event
   * to `pushApplied` right after applying it. Call before the first event.
   */
  attach(state: Readonly<State>): void {
    if (this.next !== 0) throw new Error('recorder: attach before the first event');
    this.state = state as State;
    this.attached = true;
  }

  /** For attach: the touch hook the engine calls for every cell it writes. */
  get touch(): Touch { return this.hasher.touch; }

  /** The mirror's touch: the hasher's, with its cache lines indexed (engine/caches.ts) so an invalidation costs what it drops. */
  private mirrorTouch: Touch | null = null;

  /** An event, folded into the writer's own mirror state. */
  push(ev: TraceEvent): void {
    if (this.attached) throw new Error('recorder: push on an attached writer; use pushApplied');
    this.mirrorTouch ??= indexedTouch(this.state, this.hasher.touch);
    apply(this.state, ev, this.mirrorTouch);
    this.pushApplied(ev);
  }

  /** An event the attached live state already holds (its cells reported to `touch`). */
  pushApplied(ev: TraceEvent): void {
    if (ev.seq !== this.next) throw new Error(`recorder: event seq ${ev.seq}, expected ${this.next}`);
    this.next++;
    const ix = this.index;
    ix.kinds[ev.kind] = (ix.kinds[ev.kind] ?? 0) + 1;
    if (ev.kind === 'fault') ix.faults.push(ev.seq);
    else if (ev.kind === 'violation') ix.violations.push(ev.seq);
    this.chunk.push(ev);
    if (this.chunk.length >= this.chunkEvents) this.flushChunk();
  }

  /** Write what is left, the footer and the tail; rename into place. */
  finish(): WriteSummary {
    this.flushChunk();
    const ix = this.index;
    ix.events = this.next;
    ix.hashes = Buffer.concat(this.hashes);
    ix.digests = Buffer.concat(this.digests);
    ix.checkpointDigests = Buffer.concat(this.checkpointDigests);
    ix.chain = this.chain;
    const footer = frameBlock(BLOCK.footer, encodeFooter(ix));
    this.write(footer);
    this.write(tail(footer.length));
    this.flush();
    this.fd = -1;
    this.file.commit();
    const faults = ix.faults.length;
    return {
      path: this.path, events: ix.events, faults, firstFault: ix.faults[0] ?? null, violations: ix.violations.length,
      expectFailed: ix.kinds.expect ?? 0, kinds: { ...ix.kinds }, bytes: this.offset, bytesPerEvent: ix.events ? this.offset / ix.events : 0,
    };
  }

  /** Give up: close and remove the temporary file. */
  abort(): void {
    this.fd = -1;
    this.file.abort();
  }

  /** Where the bytes written so far end (for progress). */
  get events(): number { return this.next; }

  private flushChunk(): void {
    if (this.chunk.length === 0) return;
    if (this.index.chunkOffsets.length >= LIMITS.chunks) {
      throw new RecordLimitError(`cannot record more than ${LIMITS.chunks} chunks (${LIMITS.chunks * this.chunkEvents} events at ${this.chunkEvents} per chunk): a trace reader refuses a longer index`);
    }
    const first = this.chunk[0]?.seq ?? 0;
    const hash = this.hasher.seal(this.state);
    this.hashes.push(hash);
    this.index.chunkOffsets.push(this.offset);
    this.index.chunkFirsts.push(first);
    const payload = encodeChunk(this.chunk, hash);
    if (this.chunk.length > LIMITS.eventsPerByte * payload.length) throw new RecordLimitError(`a chunk of ${this.chunk.length} events in ${payload.length} bytes: a trace reader refuses more than ${LIMITS.eventsPerByte} events per byte`);
    const d = digest(payload);
    this.digests.push(d);
    this.chain = chainStep(this.chain, d);
    this.write(frameBlock(BLOCK.events, payload));
    this.chunk = [];
    if (this.next % this.checkpointEvery === 0) {
      this.index.checkpointSeqs.push(this.state.seq);
      this.index.checkpointOffsets.push(this.offset);
      const cp = encodeCheckpoint(this.state);
      this.checkpointDigests.push(digest(cp));
      this.write(frameBlock(BLOCK.state, cp));
    }
  }

  private write(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
    this.offset += b.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    const all = Buffer.concat(this.pending, this.pendingBytes);
    let done = 0;
    while (done < all.length) done += writeSync(this.fd, all, done, all.length - done);
    this.pending = [];
    this.pendingBytes = 0;
  }
}
