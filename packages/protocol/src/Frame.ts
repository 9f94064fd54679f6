/**
 * Envelopes: the v4 spec's "frame" and the v5 spec's "envelope" (native_protocol_v4.spec section 2,
 * native_protocol_v5.spec section 3). A 9-byte big-endian header `version flags stream opcode length` and a body.
 *
 * Encoding writes the header in place in a `ByteWriter`, so a message body is serialised once, right after it:
 *
 *   const start = Frame.beginEnvelope(w, 5, 0, streamId, Frame.Opcode.Query)
 *   ...write the QUERY body into w...
 *   Frame.endEnvelope(w, start)
 *
 * Decoding is incremental: `EnvelopeDecoder.push(chunk)` then `next()` until it returns undefined.
 */
import * as Either from "effect/Either"
import type { Compressor } from "./Compression.js"
import { ChunkQueue } from "./internal/chunks.js"
import { catchEncode, decodeFail, encodeFail, toDecodeError } from "./internal/fail.js"
import { ByteWriter } from "./internal/writer.js"
import type { DecodeError, EncodeError } from "./ProtocolError.js"

/** Header size in bytes (protocol v3 and later). */
export const HEADER_LENGTH = 9

/** The largest body the spec allows ("currently a frame is limited to 256MB", section 2.5). */
export const MAX_BODY_LENGTH = 256 * 1024 * 1024

/** The direction bit of the version byte: set on responses (section 2.1). */
export const RESPONSE_BIT = 0x80

/** Header flags (section 2.2). */
export const Flag = {
  /** v4 only: the body is compressed with the compressor negotiated in STARTUP. Ignored in v5 (segments). */
  Compression: 0x01,
  Tracing: 0x02,
  CustomPayload: 0x04,
  Warning: 0x08,
  UseBeta: 0x10
} as const

/** Opcodes (section 2.4). There is no 0x04. */
export const Opcode = {
  Error: 0x00,
  Startup: 0x01,
  Ready: 0x02,
  Authenticate: 0x03,
  Options: 0x05,
  Supported: 0x06,
  Query: 0x07,
  Result: 0x08,
  Prepare: 0x09,
  Execute: 0x0a,
  Register: 0x0b,
  Event: 0x0c,
  Batch: 0x0d,
  AuthChallenge: 0x0e,
  AuthResponse: 0x0f,
  AuthSuccess: 0x10
} as const
export type Opcode = (typeof Opcode)[keyof typeof Opcode]

const opcodeNames: ReadonlyArray<string | undefined> = [
  "ERROR", "STARTUP", "READY", "AUTHENTICATE", undefined, "OPTIONS", "SUPPORTED", "QUERY", "RESULT", "PREPARE",
  "EXECUTE", "REGISTER", "EVENT", "BATCH", "AUTH_CHALLENGE", "AUTH_RESPONSE", "AUTH_SUCCESS"
]

/** The spec's name of an opcode (e.g. "AUTH_CHALLENGE"), or `UNKNOWN(0x..)`. */
export const opcodeName = (opcode: number): string =>
  opcodeNames[opcode] ?? `UNKNOWN(0x${opcode.toString(16).padStart(2, "0")})`

/** The decoded 9-byte header. */
export interface Header {
  /** Protocol version, without the direction bit. */
  readonly version: number
  /** True when the direction bit is set (a server-to-client envelope). */
  readonly response: boolean
  readonly flags: number
  /** Signed: server-initiated envelopes (EVENT) use -1. */
  readonly stream: number
  readonly opcode: number
  /** Body length as it appears on the wire (compressed length when the Compression flag is set). */
  readonly length: number
}

/** A whole envelope. `body` is always uncompressed (see `EnvelopeDecoder`). */
export interface Envelope extends Header {
  readonly body: Buffer
}

/**
 * Writes a 9-byte header with a placeholder length at the writer's current position and returns that position.
 * Write the body next, then call `endEnvelope`. `version` may carry the direction bit (a server writes responses).
 */
export const beginEnvelope = (w: ByteWriter, version: number, flags: number, stream: number, opcode: number): number => {
  const start = w.offset
  w.ensure(HEADER_LENGTH)
  const b = w.buf
  b[start] = version
  b[start + 1] = flags
  b.writeInt16BE(stream, start + 2)
  b[start + 4] = opcode
  w.offset = start + HEADER_LENGTH
  return start
}

/**
 * Patches the body length of the envelope begun at `start`. Throws an `EncodeError` when the body exceeds 256 MB:
 * call it inside `catchEncode` (as every message encoder does).
 */
export const closeEnvelope = (w: ByteWriter, start: number): void => {
  const length = w.offset - start - HEADER_LENGTH
  if (length > MAX_BODY_LENGTH) encodeFail(`envelope body of ${length} bytes exceeds the ${MAX_BODY_LENGTH}-byte limit`)
  w.buf.writeInt32BE(length, start + 5)
}

/** `closeEnvelope`, then the whole envelope as a view of the writer's buffer (valid until it is written to or reset). */
export const endEnvelope = (w: ByteWriter, start: number): Buffer => {
  closeEnvelope(w, start)
  return w.buf.subarray(start, w.offset)
}

/** The fields a caller gives to `encodeEnvelope`. `version` may carry the direction bit. */
export interface EnvelopeInit {
  readonly version: number
  readonly flags: number
  readonly stream: number
  readonly opcode: number
  readonly body: Uint8Array
}

/** Header + body in a new Buffer (for tests and one-off messages; message encoders use begin/endEnvelope). */
export const encodeEnvelope = (init: EnvelopeInit): Either.Either<Buffer, EncodeError> =>
  catchEncode(() => {
    const w = new ByteWriter(HEADER_LENGTH + init.body.length)
    const start = beginEnvelope(w, init.version, init.flags, init.stream, init.opcode)
    w.raw(init.body)
    return endEnvelope(w, start)
  })

/**
 * Parses a 9-byte header from `b` at `at` (caller checks 9 bytes are there); rejects a length the spec does not
 * allow before any body is read. Throws a `DecodeError`: call inside `catchDecode`.
 */
export const readHeader = (b: Uint8Array, at: number, maxBodyLength = MAX_BODY_LENGTH): Header => {
  const { body: _, ...header } = parseHeader(b, at, maxBodyLength, at)
  return header
}

/** An envelope whose body is still to come: the decoder fills `body` in, so an envelope costs one object. */
type PendingEnvelope = { -readonly [K in keyof Envelope]: Envelope[K] }
const noBody = Buffer.alloc(0)

/** `errorOffset` is where the header starts in the caller's stream, for the error message. */
const parseHeader = (b: Uint8Array, at: number, maxBodyLength: number, errorOffset: number): PendingEnvelope => {
  const v = b[at]!
  const length = ((b[at + 5]! << 24) | (b[at + 6]! << 16) | (b[at + 7]! << 8) | b[at + 8]!) | 0
  if (length < 0 || length > maxBodyLength) {
    decodeFail(`envelope body length ${length} is outside 0..${maxBodyLength}`, errorOffset + 5)
  }
  const stream = ((b[at + 2]! << 8) | b[at + 3]!) << 16 >> 16
  return { version: v & 0x7f, response: (v & RESPONSE_BIT) !== 0, flags: b[at + 1]!, stream, opcode: b[at + 4]!, length, body: noBody }
}

/** Options of an `EnvelopeDecoder`. */
export interface DecoderOptions {
  /** Bodies longer than this are rejected from their header alone. Default and ceiling: `MAX_BODY_LENGTH`. */
  readonly maxBodyLength?: number
  /** v4 body compression, once negotiated (can also be set later with `setCompressor`). */
  readonly compressor?: Compressor | undefined
}

/**
 * Turns a byte stream into envelopes. `push` TCP chunks in any sizes, then call `next()` until it returns
 * `undefined` (more bytes needed). Chunks are kept in a list and concatenated at most once per envelope; a body
 * that lies inside one chunk is a zero-copy view of it. A `Left` means the stream is unusable (a bad length, a
 * body that does not decompress): the decoder keeps returning that error, and the connection must be closed.
 */
export class EnvelopeDecoder {
  private readonly queue = new ChunkQueue()
  private readonly scratch = Buffer.allocUnsafe(HEADER_LENGTH)
  private readonly maxBodyLength: number
  private compressor: Compressor | undefined
  private pending: PendingEnvelope | undefined
  private failure: DecodeError | undefined
  /** Stream offset of the next unread byte, for error messages. */
  private position = 0

  constructor(options: DecoderOptions = {}) {
    this.maxBodyLength = Math.min(options.maxBodyLength ?? MAX_BODY_LENGTH, MAX_BODY_LENGTH)
    this.compressor = options.compressor
  }

  /** Enables (or disables) v4 body decompression, e.g. after the server answered STARTUP with COMPRESSION. */
  setCompressor(compressor: Compressor | undefined): void {
    this.compressor = compressor
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk)
  }

  /** Unread bytes held, including those of an incomplete envelope. */
  get buffered(): number {
    return this.queue.length
  }

  /** The next complete envelope, `undefined` when more bytes are needed, or the error that ended the stream. */
  next(): Either.Either<Envelope, DecodeError> | undefined {
    if (this.failure !== undefined) return Either.left(this.failure)
    try {
      const envelope = this.step()
      return envelope === undefined ? undefined : Either.right(envelope)
    } catch (e) {
      this.failure = toDecodeError(e)
      return Either.left(this.failure)
    }
  }

  /** Removes and returns the unread bytes (after a switch to v5 segments, they belong to the segment decoder). */
  drain(): Array<Buffer> {
    this.pending = undefined
    return this.queue.drain()
  }

  private step(): Envelope | undefined {
    const q = this.queue
    let h = this.pending
    if (h === undefined) {
      if (q.length < HEADER_LENGTH) return undefined
      const b = q.peek(HEADER_LENGTH, this.scratch)
      h = parseHeader(b, q.peekOffset, this.maxBodyLength, this.position)
      q.skip(HEADER_LENGTH)
      this.position += HEADER_LENGTH
      this.pending = h
    }
    if (q.length < h.length) return undefined
    this.pending = undefined
    const body = q.take(h.length)
    const at = this.position
    this.position += h.length
    // v5 moved compression to segments, so the flag means nothing there; an empty body has nothing to inflate.
    if ((h.flags & Flag.Compression) !== 0 && h.version < 5 && h.length > 0) {
      const c = this.compressor
      if (c === undefined) return decodeFail("compressed envelope but no compression was negotiated", at)
      const out = c.decompress(body, this.maxBodyLength)
      if (Either.isLeft(out)) return decodeFail(`envelope body (${opcodeName(h.opcode)}): ${out.left.message}`, at)
      h.body = out.right
      h.flags &= ~Flag.Compression
      return h
    }
    h.body = body
    return h
  }
}
