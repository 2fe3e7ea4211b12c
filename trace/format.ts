// Trace-file constants, the error type every reader failure becomes, and the
// block framing (type, length, crc32) shared by the recorder and the replayer.
// docs/trace-format.md is the normative description of all of this.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { MAX_MSGPACK_ELEMENTS } from './msgpack-guard.js';

/** Opening magic: "IOTRACE" then 0x00. */
export const MAGIC = Buffer.from('IOTRACE\0', 'latin1');
/** Closing magic, the last 8 bytes of a whole trace. */
export const END_MAGIC = Buffer.from('IOTEND\0\0', 'latin1');
/**
 * 2: SHA-256 digests of every block in the footer and a chain over the chunk
 * digests; the header declares the writer's chunk size and K. 1 is still
 * read (its identity claims rest on CRC-32 only, and readers say so).
 */
export const FORMAT_VERSION = 2;
export const READABLE_VERSIONS: readonly number[] = [1, 2];
/** SHA-256 digest length. */
export const DIGEST_BYTES = 32;
/** Magic + u32 format version. */
export const PREAMBLE_BYTES = 12;
/** u8 type, 3 reserved bytes, u32 payload length, u32 crc32 of the payload. */
export const BLOCK_HEAD = 12;
/** u32 footer block length + closing magic. */
export const TAIL_BYTES = 12;

export const BLOCK = { header: 0x48, events: 0x45, state: 0x53, footer: 0x46 } as const;
export type BlockType = (typeof BLOCK)[keyof typeof BLOCK];

/**
 * Bounds a reader applies before allocating anything a file asks for. A
 * recorder never writes past them, so a file that exceeds one is corrupt.
 */
export const LIMITS = {
  /** Largest block payload (header, chunk, checkpoint or footer). */
  blockBytes: 64 * 1024 * 1024,
  /** Events in one chunk. */
  chunkEvents: 65_536,
  /** Distinct layouts (kind + field list) in one chunk. */
  schemas: 1024,
  /** Fields of one event. */
  fields: 64,
  /** Chunks in one trace (a 4096-event chunk gives 4 G events). */
  chunks: 1 << 20,
  /** Decoded checkpoint cells. */
  cells: 1 << 22,
  /** Longest string anywhere. */
  str: 1 << 20,
  /**
   * Decoded msgpack values in one block (after inflating a checkpoint): a
   * 119 KB checkpoint could otherwise inflate to tens of millions of tiny
   * objects. A 65 536-event chunk of 64 fields stays well below.
   */
  elements: MAX_MSGPACK_ELEMENTS,
  /**
   * Events per payload byte of a chunk: constant columns cost nothing per
   * event, so a 60-byte chunk could announce 65 536 events; the recorder's
   * chunks hold 0.1-0.2 events per byte.
   */
  eventsPerByte: 4,
  /** Inflated checkpoint bytes. */
  checkpointBytes: 64 * 1024 * 1024,
} as const;


/**
 * State cells the events of an imported log may hold at once (the platform's
 * aside): 65 536, as MAX_PT_ENTRIES bounds a scenario's page tables. A real
 * log stays far below (QEMU's IOTLBs hold 1024 and 256 lines, its context
 * caches a line per device); without a bound, a log of ever new lines made
 * every checkpoint bigger, a trace quadratic in the log. The importer refuses
 * a log past it, naming the line (importers/ctx.ts).
 */
export const MAX_IMPORT_CELLS = 1 << 16;

/** Decode limits handed to @msgpack/msgpack for every block but a checkpoint. */
export const MSGPACK_LIMITS = {
  maxStrLength: LIMITS.str,
  maxBinLength: LIMITS.blockBytes,
  maxArrayLength: LIMITS.chunkEvents * 4,
  maxMapLength: LIMITS.chunkEvents,
  maxExtLength: 0,
} as const;

/**
 * A checkpoint's: a section's keys and its values are one array each, as
 * long as the section has cells, so its arrays (and any map in a cell) are
 * bounded by LIMITS.cells, not by a chunk's shape. What bounds a checkpoint
 * is LIMITS.cells, LIMITS.elements (decoded values), LIMITS.checkpointBytes
 * (inflated) and LIMITS.blockBytes; encodeCheckpoint refuses a state past any.
 */
export const CHECKPOINT_MSGPACK_LIMITS = { ...MSGPACK_LIMITS, maxArrayLength: LIMITS.cells, maxMapLength: LIMITS.cells } as const;

/** The limits of a block's msgpack: MSGPACK_LIMITS or CHECKPOINT_MSGPACK_LIMITS. */
export type MsgpackLimits = typeof MSGPACK_LIMITS | typeof CHECKPOINT_MSGPACK_LIMITS;

/** A recording the reader could not read back: refused before it is written, one line for the user. */
export class RecordLimitError extends Error {
  constructor(message: string) { super(message); this.name = 'RecordLimitError'; }
}

/**
 * A decoded value for an error message. Never String(): a msgpack map with a
 * "toString" or "valueOf" key makes String() throw a TypeError.
 */
export function showValue(v: unknown): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v);
  if (v instanceof Uint8Array) return `bin(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  return typeof v;
}

/** Anything wrong with a trace file: names the byte offset where it went wrong. */
export class TraceError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'TraceError';
    this.offset = offset;
  }
}

export function frameBlock(type: BlockType, payload: Uint8Array): Buffer {
  if (payload.length > LIMITS.blockBytes) throw new Error(`block of ${payload.length} bytes exceeds the ${LIMITS.blockBytes}-byte limit`);
  const head = Buffer.alloc(BLOCK_HEAD);
  head[0] = type;
  head.writeUInt32LE(payload.length, 4);
  head.writeUInt32LE(crc32(payload), 8);
  return Buffer.concat([head, payload]);
}

export interface BlockHead { type: number; length: number; crc: number }

/** Parse and bound a block head; `offset` is where it sits in the file. */
export function parseBlockHead(head: Uint8Array, offset: number): BlockHead {
  if (head.length < BLOCK_HEAD) throw new TraceError('truncated block head', offset);
  const view = Buffer.from(head.buffer, head.byteOffset, head.length);
  const type = view[0] ?? 0;
  if (type !== BLOCK.header && type !== BLOCK.events && type !== BLOCK.state && type !== BLOCK.footer) {
    throw new TraceError(`unknown block type 0x${type.toString(16)}`, offset);
  }
  if (view[1] !== 0 || view[2] !== 0 || view[3] !== 0) throw new TraceError('reserved block bytes are not zero', offset);
  const length = view.readUInt32LE(4);
  if (length > LIMITS.blockBytes) throw new TraceError(`block length ${length} exceeds the ${LIMITS.blockBytes}-byte limit`, offset);
  return { type, length, crc: view.readUInt32LE(8) };
}

export function checkCrc(head: BlockHead, payload: Uint8Array, offset: number): void {
  if (crc32(payload) !== head.crc) throw new TraceError('block checksum mismatch', offset);
}

/** SHA-256 of a block payload: what identity claims (verify, diff, info) rest on. */
export function digest(payload: Uint8Array): Buffer {
  return createHash('sha256').update(payload).digest();
}

/** One link of the chunk chain: SHA-256(previous link || chunk digest); the chain starts at 32 zero bytes. */
export function chainStep(prev: Uint8Array, chunkDigest: Uint8Array): Buffer {
  return createHash('sha256').update(prev).update(chunkDigest).digest();
}

export function preamble(version = FORMAT_VERSION): Buffer {
  const b = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(version, 8);
  return b;
}

export function tail(footerBlockLength: number): Buffer {
  const b = Buffer.alloc(TAIL_BYTES);
  b.writeUInt32LE(footerBlockLength, 0);
  END_MAGIC.copy(b, 4);
  return b;
}
