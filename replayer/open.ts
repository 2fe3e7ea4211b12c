// Opening a trace: the preamble and header, then the footer index; when the
// footer is missing or damaged, a forward scan that keeps every whole chunk
// and says where and why it stopped. Nothing here trusts a length from the
// file before checking it against LIMITS and the file size.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { TraceEvent } from '../engine/types.js';
import { chunkMeta, decodeChunk } from '../trace/chunk.js';
import {
  BLOCK, BLOCK_HEAD, checkCrc, END_MAGIC, FORMAT_VERSION, MAGIC, parseBlockHead, PREAMBLE_BYTES, TAIL_BYTES, TraceError,
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
}

/** What a reader shows when even the header is unreadable: no events, no scenario. */
function lostHeader(): TraceHeader {
  return { format: FORMAT_VERSION, engine: '', variant: {}, seed: 0, scenario: { name: '(header lost)', description: '', platform: { iommus: [], devices: [] }, steps: [] } };
}

function emptyIndex(): Index {
  return {
    events: 0, chunkEvents: 1, checkpointEvery: 1, chunkOffsets: [], chunkFirsts: [], hashes: new Uint8Array(0),
    checkpointSeqs: [], checkpointOffsets: [], faults: [], violations: [], kinds: Object.create(null) as Record<string, number>,
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
  const fd = openSync(path, 'r');
  try {
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
    return { fd, bytes, header: lostHeader(), index: emptyIndex(), truncated: { offset: pre.length, reason: 'file ends inside the preamble; 0 events recovered' } };
  }
  const version = pre.readUInt32LE(8);
  if (version !== FORMAT_VERSION) {
    throw new TraceError(version > FORMAT_VERSION
      ? `trace format version ${version} is newer than this iotrace reads (${FORMAT_VERSION}); upgrade iotrace`
      : `unknown trace format version ${version} (this reader knows ${FORMAT_VERSION})`, 8);
  }
  let header: TraceHeader;
  let headerEnd: number;
  try {
    const block = readBlock(fd, bytes, PREAMBLE_BYTES, BLOCK.header);
    header = decodeHeader(block.payload, PREAMBLE_BYTES);
    headerEnd = block.end;
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    return { fd, bytes, header: lostHeader(), index: emptyIndex(), truncated: { offset: e.offset, reason: `header unreadable: ${e.message}; 0 events recovered` } };
  }
  let footerProblem: TraceError;
  try {
    return { fd, bytes, header, index: readFooter(fd, bytes, headerEnd), truncated: null };
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    footerProblem = e;
  }
  const { index, stop } = scan(fd, bytes, headerEnd);
  return { fd, bytes, header, index, truncated: { offset: stop.offset, reason: `${stop.message}; footer unusable (${footerProblem.message}); ${index.events} events in ${index.chunkOffsets.length} whole chunk(s) recovered` } };
}

function readFooter(fd: number, bytes: number, headerEnd: number): Index {
  if (bytes < headerEnd + BLOCK_HEAD + TAIL_BYTES) throw new TraceError('no room for a footer', bytes);
  const t = readAt(fd, bytes - TAIL_BYTES, TAIL_BYTES);
  if (!t.subarray(4).equals(END_MAGIC)) throw new TraceError('closing magic missing', bytes - 8);
  const len = t.readUInt32LE(0);
  const start = bytes - TAIL_BYTES - len;
  if (len < BLOCK_HEAD || start < headerEnd) throw new TraceError(`footer length ${len} out of bounds`, bytes - TAIL_BYTES);
  const block = readBlock(fd, bytes, start, BLOCK.footer);
  if (block.end !== bytes - TAIL_BYTES) throw new TraceError('footer length disagrees with its block', start);
  const ix = decodeFooter(block.payload, start, start);
  for (const off of ix.chunkOffsets) if (off < headerEnd) throw new TraceError('chunk offset inside the header', start);
  for (const off of ix.checkpointOffsets) if (off < headerEnd) throw new TraceError('checkpoint offset inside the header', start);
  return ix;
}

/** Forward scan for recovery: every whole, checksummed, consecutive chunk. */
function scan(fd: number, bytes: number, headerEnd: number): { index: Index; stop: TraceError } {
  const ix = emptyIndex();
  const hashes: Uint8Array[] = [];
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
        // Decode fully: a chunk only counts as recovered if its events read back.
        const { events } = decodeChunk(block.payload, offset);
        count(ix, events);
        ix.chunkOffsets.push(offset);
        ix.chunkFirsts.push(meta.first);
        hashes.push(meta.hash);
        ix.chunkEvents = Math.max(ix.chunkEvents, meta.count);
        next += meta.count;
      } else if (block.type === BLOCK.state) {
        // A checkpoint holds the state after the chunk just before it.
        if (next > 0 && ix.checkpointSeqs[ix.checkpointSeqs.length - 1] !== next - 1) {
          ix.checkpointSeqs.push(next - 1);
          ix.checkpointOffsets.push(offset);
        }
      } else if (block.type === BLOCK.footer) {
        throw new TraceError('footer block present but the tail is damaged', offset);
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
  ix.checkpointEvery = Math.max(ix.chunkEvents, ...ix.checkpointSeqs.map((s, i) => s - (ix.checkpointSeqs[i - 1] ?? -1)));
  return { index: ix, stop };
}

function count(ix: Index, events: readonly TraceEvent[]): void {
  for (const ev of events) {
    ix.kinds[ev.kind] = (ix.kinds[ev.kind] ?? 0) + 1;
    if (ev.kind === 'fault') ix.faults.push(ev.seq);
    else if (ev.kind === 'violation') ix.violations.push(ev.seq);
  }
}

