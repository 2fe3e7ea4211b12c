// Opening a trace: the preamble and header, then the footer index; when the
// footer is missing or damaged, a forward scan that keeps every whole chunk
// and says where and why it stopped. Nothing here trusts a length from the
// file before checking it against LIMITS and the file size.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { TraceEvent } from '../engine/types.js';
import { chunkMeta, chunkSpan, decodeChunk } from '../trace/chunk.js';
import {
  BLOCK, BLOCK_HEAD, chainStep, checkCrc, digest, DIGEST_BYTES, END_MAGIC, FORMAT_VERSION, MAGIC, parseBlockHead, PREAMBLE_BYTES,
  READABLE_VERSIONS, TAIL_BYTES, TraceError,
} from '../trace/format.js';
import { decodeFooter, type Index } from '../trace/footer.js';
import { decodeHeader } from '../trace/header.js';
import type { TraceHeader, Truncation } from './api.js';

export interface OpenedTrace {
  fd: number;
  bytes: number;
  header: TraceHeader;
  index: Index;
  truncated: Truncation | null;
  /** Why there is no header (then the header is a stand-in: no scenario, engine or seed from the file), or null. */
  headerLost: string | null;
}

/** The stand-in when even the header is unreadable: no events, no scenario; format is the preamble's, 0 when there is none. */
function lostHeader(format: number): TraceHeader {
  return { format, engine: '', variant: {}, seed: 0, scenario: { name: '(header lost)', description: '', platform: { iommus: [], devices: [] }, steps: [] } };
}

/** A file of fewer bytes than the preamble, each one the magic's: nothing says it is a trace, or which format. */
export const NO_HEADER = `no header: not a trace, or a trace cut inside its first ${PREAMBLE_BYTES} bytes`;

function emptyIndex(): Index {
  return {
    events: 0, chunkEvents: 1, checkpointEvery: 1, chunkOffsets: [], chunkFirsts: [], hashes: new Uint8Array(0),
    checkpointSeqs: [], checkpointOffsets: [], faults: [], violations: [], kinds: Object.create(null) as Record<string, number>,
    digests: new Uint8Array(0), checkpointDigests: new Uint8Array(0), chain: new Uint8Array(0),
  };
}

export function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Read one block whose head is at `offset`; throws TraceError when it is cut or damaged. */
export function readBlock(fd: number, bytes: number, offset: number, want?: number): { type: number; payload: Buffer; end: number } {
  if (offset + BLOCK_HEAD > bytes) throw new TraceError('file ends inside a block head', offset);
  const head = parseBlockHead(readAt(fd, offset, BLOCK_HEAD), offset);
  if (want !== undefined && head.type !== want) throw new TraceError(`expected block type 0x${want.toString(16)}, found 0x${head.type.toString(16)}`, offset);
  const end = offset + BLOCK_HEAD + head.length;
  if (end > bytes) throw new TraceError(`file ends inside a block (${head.length} bytes announced)`, offset);
  const payload = readAt(fd, offset + BLOCK_HEAD, head.length);
  checkCrc(head, payload, offset);
  return { type: head.type, payload, end };
}

export function openTrace(path: string): OpenedTrace {
  // O_NONBLOCK: a FIFO planted under a trace's name must not block the open (it is refused below).
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new TraceError('not a regular file (a FIFO, socket or device is no trace)', 0);
    return openFd(fd);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function openFd(fd: number): OpenedTrace {
  const bytes = fstatSync(fd).size;
  const pre = readAt(fd, 0, PREAMBLE_BYTES);
  const magicSeen = pre.subarray(0, Math.min(pre.length, MAGIC.length));
  if (!magicSeen.equals(MAGIC.subarray(0, magicSeen.length))) throw new TraceError('not an iotrace file (bad magic)', 0);
  if (pre.length < PREAMBLE_BYTES) {
    return { fd, bytes, header: lostHeader(0), index: emptyIndex(), truncated: { offset: pre.length, reason: `${NO_HEADER}; 0 events recovered` }, headerLost: NO_HEADER };
  }
  const version = pre.readUInt32LE(8);
  if (!READABLE_VERSIONS.includes(version)) {
    throw new TraceError(version > FORMAT_VERSION
      ? `trace format version ${version} is newer than this iotrace reads (${READABLE_VERSIONS.join(', ')}); upgrade iotrace`
      : `unknown trace format version ${version} (this reader knows ${READABLE_VERSIONS.join(', ')})`, 8);
  }
  let header: TraceHeader;
  let headerEnd: number;
  try {
    const block = readBlock(fd, bytes, PREAMBLE_BYTES, BLOCK.header);
    header = decodeHeader(block.payload, PREAMBLE_BYTES);
    if (header.format !== version) throw new TraceError(`header says format ${header.format}, the preamble ${version}`, PREAMBLE_BYTES);
    headerEnd = block.end;
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    const lost = `header unreadable: ${e.message}`;
    return { fd, bytes, header: lostHeader(version), index: emptyIndex(), truncated: { offset: e.offset, reason: `${lost}; 0 events recovered` }, headerLost: lost };
  }
  let footerProblem: TraceError;
  try {
    return { fd, bytes, header, index: readFooter(fd, bytes, headerEnd, header), truncated: null, headerLost: null };
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    footerProblem = e;
  }
  const { index, stop } = scan(fd, bytes, headerEnd, header);
  return { fd, bytes, header, index, truncated: { offset: stop.offset, reason: `${stop.message}; footer unusable (${footerProblem.message}); ${index.events} events in ${index.chunkOffsets.length} whole chunk(s) recovered` }, headerLost: null };
}

function readFooter(fd: number, bytes: number, headerEnd: number, header: TraceHeader): Index {
  if (bytes < headerEnd + BLOCK_HEAD + TAIL_BYTES) throw new TraceError('no room for a footer', bytes);
  const t = readAt(fd, bytes - TAIL_BYTES, TAIL_BYTES);
  if (!t.subarray(4).equals(END_MAGIC)) throw new TraceError('closing magic missing', bytes - 8);
  const len = t.readUInt32LE(0);
  const start = bytes - TAIL_BYTES - len;
  if (len < BLOCK_HEAD || start < headerEnd) throw new TraceError(`footer length ${len} out of bounds`, bytes - TAIL_BYTES);
  const block = readBlock(fd, bytes, start, BLOCK.footer);
  if (block.end !== bytes - TAIL_BYTES) throw new TraceError('footer length disagrees with its block', start);
  const ix = decodeFooter(block.payload, start, start, header.format);
  if (header.chunkEvents !== undefined && (ix.chunkEvents !== header.chunkEvents || ix.checkpointEvery !== header.checkpointEvery)) {
    throw new TraceError(`footer's chunk size / K (${ix.chunkEvents} / ${ix.checkpointEvery}) disagree with the header's (${header.chunkEvents} / ${header.checkpointEvery})`, start);
  }
  checkLayout(fd, headerEnd, start, ix, header.checkpointEvery);
  // Format 1 declares no K in its header and its layout was not held to one: the bound a reader states (and replays
  // to) is the largest run of events without a checkpoint, whatever the footer says.
  if (header.checkpointEvery === undefined) {
    let every = 1;
    let prev = -1;
    for (let i = 0; i < ix.checkpointSeqs.length; i++) { every = Math.max(every, (ix.checkpointSeqs[i] as number) - prev); prev = ix.checkpointSeqs[i] as number; }
    ix.checkpointEvery = Math.max(every, ix.events - 1 - prev);
  }
  return ix;
}

/**
 * The footer is a cache of where the blocks are: walk the block heads from
 * the header to the footer (one 12-byte read per block) and require exactly
 * the chunks and checkpoints it lists, in order, with nothing between,
 * overlapping or missing. An index whose chunks overlap, skip a block or
 * point into another is refused, so the footer never reads differently
 * from a forward scan.
 */
function checkLayout(fd: number, headerEnd: number, footerStart: number, ix: Index, every: number | undefined): void {
  let offset = headerEnd;
  let cp = 0;
  for (let c = 0; c < ix.chunkOffsets.length; c++) {
    if (ix.chunkOffsets[c] !== offset) throw new TraceError(`index puts chunk ${c} at byte ${ix.chunkOffsets[c]}, the blocks have it at ${offset}`, footerStart);
    const span: { first: number; count: number }[] = [];
    offset = blockEnd(fd, offset, footerStart, BLOCK.events, span);
    const last = (ix.chunkFirsts[c + 1] ?? ix.events) - 1;
    // The chunk's own first and count (the payload's first bytes) against the index: a footer whose chunkFirsts
    // are off would otherwise make every chunk read as damage, though a forward scan reads them all.
    const own = span[0];
    if (own && (own.first !== ix.chunkFirsts[c] || own.first + own.count !== last + 1)) {
      throw new TraceError(`index says chunk ${c} holds events ${ix.chunkFirsts[c]}..${last}, the chunk ${own.first}..${own.first + own.count - 1}`, footerStart);
    }
    // Format 2 declares K: a checkpoint follows every chunk that ends at a multiple of it, so a state is never more than K applies away.
    if (every !== undefined && (last + 1) % every === 0 && ix.checkpointSeqs[cp] !== last) throw new TraceError(`index lists no checkpoint after event ${last} (K = ${every})`, footerStart);
    if (ix.checkpointSeqs[cp] === last) {
      if (ix.checkpointOffsets[cp] !== offset) throw new TraceError(`index puts the checkpoint after event ${last} at byte ${ix.checkpointOffsets[cp]}, the blocks have it at ${offset}`, footerStart);
      offset = blockEnd(fd, offset, footerStart, BLOCK.state);
      cp++;
    }
  }
  if (cp !== ix.checkpointSeqs.length) throw new TraceError(`index lists ${ix.checkpointSeqs.length} checkpoints, ${cp} sit after their chunks`, footerStart);
  if (offset !== footerStart) throw new TraceError(`${footerStart - offset} byte(s) between the last indexed block and the footer`, offset);
}

function blockEnd(fd: number, offset: number, limit: number, want: number, span?: { first: number; count: number }[]): number {
  if (offset + BLOCK_HEAD > limit) throw new TraceError('indexed block runs into the footer', offset);
  // An events block: its payload's first bytes come in the same read (first and count, for the caller).
  const bytes = readAt(fd, offset, span ? Math.min(BLOCK_HEAD + 24, limit - offset) : BLOCK_HEAD);
  const head = parseBlockHead(bytes.subarray(0, BLOCK_HEAD), offset);
  if (head.type !== want) throw new TraceError(`expected block type 0x${want.toString(16)}, found 0x${head.type.toString(16)}`, offset);
  const end = offset + BLOCK_HEAD + head.length;
  if (end > limit) throw new TraceError('indexed block runs into the footer', offset);
  if (span) { const own = chunkSpan(bytes.subarray(BLOCK_HEAD, Math.min(bytes.length, BLOCK_HEAD + head.length))); if (own) span.push(own); }
  return end;
}

/** Forward scan for recovery: every whole, checksummed, consecutive chunk. */
function scan(fd: number, bytes: number, headerEnd: number, header: TraceHeader): { index: Index; stop: TraceError } {
  const ix = emptyIndex();
  const hashes: Uint8Array[] = [];
  const digests: Uint8Array[] = [];
  const cpDigests: Uint8Array[] = [];
  let chain: Uint8Array = new Uint8Array(DIGEST_BYTES);
  const maxCount = header.chunkEvents;
  let offset = headerEnd;
  let next = 0;
  let stop: TraceError;
  for (;;) {
    if (offset === bytes) { stop = new TraceError('file ends after the last whole block', offset); break; }
    try {
      const block = readBlock(fd, bytes, offset);
      if (block.type === BLOCK.events) {
        const meta = chunkMeta(block.payload, offset);
        if (meta.first !== next) throw new TraceError(`chunk starts at event ${meta.first}, expected ${next}`, offset);
        if (maxCount !== undefined && meta.count > maxCount) throw new TraceError(`chunk of ${meta.count} events, the header's chunk size is ${maxCount}`, offset);
        // Decode fully: a chunk only counts as recovered if its events read back.
        const { events } = decodeChunk(block.payload, offset);
        count(ix, events);
        ix.chunkOffsets.push(offset);
        ix.chunkFirsts.push(meta.first);
        hashes.push(meta.hash);
        const d = digest(block.payload);
        digests.push(d);
        chain = chainStep(chain, d);
        ix.chunkEvents = Math.max(ix.chunkEvents, meta.count);
        next += meta.count;
      } else if (block.type === BLOCK.state) {
        // A checkpoint holds the state after the chunk just before it.
        if (next > 0 && ix.checkpointSeqs[ix.checkpointSeqs.length - 1] !== next - 1) {
          ix.checkpointSeqs.push(next - 1);
          ix.checkpointOffsets.push(offset);
          cpDigests.push(digest(block.payload));
        }
      } else if (block.type === BLOCK.footer) {
        // Whole footer and tail: it was refused for what it says (the caller adds why), not for damage.
        throw new TraceError(tailWhole(fd, bytes, offset, block.end) ? 'every block up to the footer reads, and the footer block and the tail are whole'
          : 'footer block present but the tail is damaged', offset);
      } else {
        throw new TraceError('second header block', offset);
      }
      offset = block.end;
    } catch (e) {
      if (!(e instanceof TraceError)) throw e;
      stop = e;
      break;
    }
  }
  ix.events = next;
  ix.hashes = Buffer.concat(hashes);
  ix.digests = Buffer.concat(digests);
  ix.checkpointDigests = Buffer.concat(cpDigests);
  ix.chain = chain;
  // A loop, not Math.max(...spread): a recovered trace may hold 10^5+ checkpoints.
  let every = header.checkpointEvery ?? ix.chunkEvents;
  for (let i = 0; i < ix.checkpointSeqs.length; i++) every = Math.max(every, (ix.checkpointSeqs[i] as number) - (ix.checkpointSeqs[i - 1] ?? -1));
  ix.checkpointEvery = every;
  if (header.chunkEvents !== undefined) ix.chunkEvents = header.chunkEvents;
  return { index: ix, stop };
}

/** Whether the footer block at start..end is followed by exactly the tail that names it (its length and the closing magic). */
function tailWhole(fd: number, bytes: number, start: number, end: number): boolean {
  if (end !== bytes - TAIL_BYTES) return false;
  const t = readAt(fd, end, TAIL_BYTES);
  return t.length === TAIL_BYTES && t.readUInt32LE(0) === end - start && t.subarray(4).equals(END_MAGIC);
}

function count(ix: Index, events: readonly TraceEvent[]): void {
  for (const ev of events) {
    ix.kinds[ev.kind] = (ix.kinds[ev.kind] ?? 0) + 1;
    if (ev.kind === 'fault') ix.faults.push(ev.seq);
    else if (ev.kind === 'violation') ix.violations.push(ev.seq);
  }
}

