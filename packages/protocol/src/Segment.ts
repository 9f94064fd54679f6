/**
 * Protocol v5 framing (native_protocol_v5.spec section 2): after STARTUP is answered with READY or AUTHENTICATE,
 * every envelope travels inside segments ("frames" in the spec):
 *
 *   uncompressed: header 3 bytes LE (17-bit payload length, bit 17 self-contained) + CRC24 (3 bytes LE)
 *   lz4:          header 5 bytes LE (17-bit compressed length, 17-bit uncompressed length, bit 34 self-contained)
 *                 + CRC24; an uncompressed length of 0 means the payload is stored uncompressed
 *   then the payload (at most 128 KiB - 1) and its CRC32 (4 bytes LE).
 *
 * A self-contained segment holds one or more whole envelopes; a larger envelope is cut over several segments
 * that are not self-contained.
 *
 * `Inbound` and `Outbound` are what a connection holds: they speak plain envelopes (with optional v4 body
 * compression) until `useSegments` is called, and segments after it.
 */
import * as Either from "effect/Either"
import * as Compression from "./Compression.js"
import * as Frame from "./Frame.js"
import { ChunkQueue } from "./internal/chunks.js"
import { crc24, crc32, SEGMENT_CRC32_SEED } from "./internal/crc.js"
import { catchEncode, decodeFail, encodeFail, toDecodeError } from "./internal/fail.js"
import type { DecodeError, EncodeError } from "./ProtocolError.js"

/** The largest payload one segment carries (a 17-bit length). */
export const MAX_PAYLOAD_LENGTH = 128 * 1024 - 1

const CRC24_LENGTH = 3
const CRC32_LENGTH = 4
const UNCOMPRESSED_HEADER = 3
const LZ4_HEADER = 5

/** The header layout in use, as STARTUP's COMPRESSION option chose: none, or "lz4" (v5 allows no other). */
export type Format = "uncompressed" | "lz4"

/** One decoded segment. `payload` is uncompressed. */
export interface Segment {
  readonly payload: Buffer
  readonly selfContained: boolean
}

const writeHeader = (out: Buffer, at: number, format: Format, length: number, uncompressed: number, selfContained: boolean): number => {
  if (format === "uncompressed") {
    const v = length | (selfContained ? 1 << 17 : 0)
    out[at] = v & 0xff
    out[at + 1] = (v >>> 8) & 0xff
    out[at + 2] = v >>> 16
  } else {
    // 40 bits: length in bits 0-16, uncompressed length in bits 17-33, self-contained in bit 34.
    const low = (length | (uncompressed << 17)) >>> 0
    out.writeUInt32LE(low, at)
    out[at + 4] = (uncompressed >>> 15) | (selfContained ? 1 << 2 : 0)
  }
  const size = format === "uncompressed" ? UNCOMPRESSED_HEADER : LZ4_HEADER
  const crc = crc24(out, at, at + size)
  out[at + size] = crc & 0xff
  out[at + size + 1] = (crc >>> 8) & 0xff
  out[at + size + 2] = crc >>> 16
  return at + size + CRC24_LENGTH
}

/**
 * Encodes one segment from payload pieces (their total at most `MAX_PAYLOAD_LENGTH`, which the callers here
 * guarantee). With "lz4" the payload is compressed, or sent as is when compressing does not make it smaller.
 */
const encodeOne = (pieces: ReadonlyArray<Uint8Array>, total: number, format: Format, selfContained: boolean): Buffer => {
  let body: ReadonlyArray<Uint8Array> = pieces
  let length = total
  let uncompressed = 0
  if (format === "lz4" && total > 0) {
    const joined = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total)
    const packed = Compression.lz4Block.compress(joined)
    if (packed.length < total) {
      body = [packed]
      length = packed.length
      uncompressed = total
    } else {
      body = [joined]
    }
  }
  const headerSize = (format === "uncompressed" ? UNCOMPRESSED_HEADER : LZ4_HEADER) + CRC24_LENGTH
  const out = Buffer.allocUnsafe(headerSize + length + CRC32_LENGTH)
  let at = writeHeader(out, 0, format, length, uncompressed, selfContained)
  const payloadStart = at
  for (const p of body) {
    out.set(p, at)
    at += p.length
  }
  out.writeUInt32LE(crc32(out.subarray(payloadStart, at), SEGMENT_CRC32_SEED), at)
  return out
}

/** One segment holding `payload` (at most `MAX_PAYLOAD_LENGTH` bytes, else an error). For tests and tools. */
export const encodeSegment = (payload: Uint8Array, format: Format, selfContained: boolean): Either.Either<Buffer, EncodeError> =>
  catchEncode(() => {
    if (payload.length > MAX_PAYLOAD_LENGTH) encodeFail(`segment payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_LENGTH}`)
    return encodeOne([payload], payload.length, format, selfContained)
  })

/**
 * Frames whole envelopes as segments, in order, ready for one socket write: consecutive envelopes share
 * self-contained segments up to `MAX_PAYLOAD_LENGTH`; an envelope larger than that is cut over non-self-contained
 * segments of its own. An input may hold several whole envelopes back to back if it fits one segment. Cannot fail.
 */
export const encodeEnvelopes = (envelopes: ReadonlyArray<Uint8Array>, format: Format): Buffer => {
  const segments: Array<Buffer> = []
  let batch: Array<Uint8Array> = []
  let batchLength = 0
  const flush = () => {
    if (batch.length === 0) return
    segments.push(encodeOne(batch, batchLength, format, true))
    batch = []
    batchLength = 0
  }
  for (const e of envelopes) {
    if (e.length > MAX_PAYLOAD_LENGTH) {
      flush()
      for (let at = 0; at < e.length; at += MAX_PAYLOAD_LENGTH) {
        const part = e.subarray(at, Math.min(at + MAX_PAYLOAD_LENGTH, e.length))
        segments.push(encodeOne([part], part.length, format, false))
      }
      continue
    }
    if (batchLength + e.length > MAX_PAYLOAD_LENGTH) flush()
    batch.push(e)
    batchLength += e.length
  }
  flush()
  return segments.length === 1 ? segments[0]! : Buffer.concat(segments)
}

interface SegmentHeader {
  readonly headerSize: number
  readonly length: number
  readonly uncompressed: number
  readonly selfContained: boolean
}

/**
 * Turns a byte stream of segments into envelopes. `push` chunks, then `next()` until it returns `undefined`.
 * Checks both CRCs, decompresses lz4 payloads (never beyond the 17-bit length the header allows), and feeds the
 * payloads to an `EnvelopeDecoder`, so an envelope inside one segment comes out as a view of it. A `Left` ends
 * the stream: the decoder keeps returning it.
 */
export class SegmentDecoder {
  private readonly queue = new ChunkQueue()
  private readonly scratch = Buffer.allocUnsafe(LZ4_HEADER + CRC24_LENGTH)
  private readonly envelopes: Frame.EnvelopeDecoder
  private pending: SegmentHeader | undefined
  private lastSelfContained = false
  private failure: DecodeError | undefined
  /** Stream offset of the next unread byte, for error messages. */
  private position = 0

  constructor(
    readonly format: Format,
    options: { readonly maxBodyLength?: number } = {}
  ) {
    this.envelopes = new Frame.EnvelopeDecoder(options)
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk)
  }

  next(): Either.Either<Frame.Envelope, DecodeError> | undefined {
    if (this.failure !== undefined) return Either.left(this.failure)
    try {
      for (;;) {
        const r = this.envelopes.next()
        if (r !== undefined) {
          if (Either.isRight(r)) return r
          return decodeFail(`in segment payload: ${r.left.message}`, this.position)
        }
        if (this.lastSelfContained && this.envelopes.buffered > 0) {
          decodeFail("a self-contained segment ended inside an envelope", this.position)
        }
        const segment = this.readSegment()
        if (segment === undefined) return undefined
        if (segment.selfContained && this.envelopes.buffered > 0) {
          decodeFail("a self-contained segment arrived while an envelope was incomplete", this.position)
        }
        this.lastSelfContained = segment.selfContained
        this.envelopes.push(segment.payload)
      }
    } catch (e) {
      this.failure = toDecodeError(e)
      return Either.left(this.failure)
    }
  }

  /** The next whole segment, or undefined when more bytes are needed. */
  private readSegment(): Segment | undefined {
    const q = this.queue
    let h = this.pending
    if (h === undefined) {
      const size = (this.format === "uncompressed" ? UNCOMPRESSED_HEADER : LZ4_HEADER) + CRC24_LENGTH
      if (q.length < size) return undefined
      h = this.parseHeader(q.peek(size, this.scratch), q.peekOffset)
      this.pending = h
    }
    const total = h.headerSize + h.length + CRC32_LENGTH
    if (q.length < total) return undefined
    this.pending = undefined
    const start = this.position
    q.skip(h.headerSize)
    let payload = q.take(h.length)
    const expected = q.peek(CRC32_LENGTH, this.scratch).readUInt32LE(q.peekOffset)
    q.skip(CRC32_LENGTH)
    this.position += total
    const actual = crc32(payload, SEGMENT_CRC32_SEED)
    if (actual !== expected) {
      decodeFail(`segment payload CRC32 mismatch: received ${hex(expected)}, computed ${hex(actual)}`, start + h.headerSize)
    }
    if (h.uncompressed > 0) {
      const out = Compression.lz4Block.decompress(payload, h.uncompressed)
      if (Either.isLeft(out)) decodeFail(`segment payload: ${out.left.message}`, start + h.headerSize)
      else payload = out.right
    }
    return { payload, selfContained: h.selfContained }
  }

  /** Parses and checks the header (with its CRC24) that starts at `b[at]`. */
  private parseHeader(b: Buffer, at: number): SegmentHeader {
    const size = this.format === "uncompressed" ? UNCOMPRESSED_HEADER : LZ4_HEADER
    const expected = b[at + size]! | (b[at + size + 1]! << 8) | (b[at + size + 2]! << 16)
    const actual = crc24(b, at, at + size)
    if (actual !== expected) {
      decodeFail(`segment header CRC24 mismatch: received ${hex(expected)}, computed ${hex(actual)}`, this.position)
    }
    const low = b.readUInt32LE(at) >>> 0
    if (size === UNCOMPRESSED_HEADER) {
      const v = low & 0xffffff
      return { headerSize: size + CRC24_LENGTH, length: v & MAX_PAYLOAD_LENGTH, uncompressed: 0, selfContained: (v & (1 << 17)) !== 0 }
    }
    const high = b[at + 4]!
    return {
      headerSize: size + CRC24_LENGTH,
      length: low & MAX_PAYLOAD_LENGTH,
      uncompressed: (low >>> 17) | ((high & 3) << 15),
      selfContained: (high & 4) !== 0
    }
  }
}

const hex = (n: number): string => `0x${n.toString(16).padStart(6, "0")}`

/**
 * The receiving half of a connection's framing. Starts with plain envelopes; `useCompression` turns on v4 body
 * decompression, `useSegments` switches to v5 segments (call it right after taking the READY or AUTHENTICATE
 * envelope: bytes already received after it are re-read as segments).
 */
export class Inbound {
  private readonly plain: Frame.EnvelopeDecoder
  private segments: SegmentDecoder | undefined

  constructor(private readonly options: { readonly maxBodyLength?: number } = {}) {
    this.plain = new Frame.EnvelopeDecoder(options)
  }

  /** v4: decompress bodies flagged as compressed with `compressor` (negotiated in STARTUP). */
  useCompression(compressor: Compression.Compressor | undefined): void {
    this.plain.setCompressor(compressor)
  }

  /** v5: from now on the stream is segments in `format`. */
  useSegments(format: Format): void {
    const rest = this.plain.drain()
    const s = new SegmentDecoder(format, this.options)
    for (const chunk of rest) s.push(chunk)
    this.segments = s
  }

  get framing(): "envelopes" | Format {
    return this.segments === undefined ? "envelopes" : this.segments.format
  }

  push(chunk: Buffer): void {
    if (this.segments === undefined) this.plain.push(chunk)
    else this.segments.push(chunk)
  }

  /** The next envelope, `undefined` when more bytes are needed, or the error that ended the stream. */
  next(): Either.Either<Frame.Envelope, DecodeError> | undefined {
    return this.segments === undefined ? this.plain.next() : this.segments.next()
  }
}

/**
 * The sending half: `encode` turns whole envelopes (from `Frame.beginEnvelope`/`endEnvelope`) into the bytes
 * of one socket write, always in a new Buffer (the inputs may be views of a reused writer). With segments, an
 * input may also be several whole envelopes back to back (a run from a coalescing write buffer); with v4 body
 * compression each input must be exactly one envelope.
 */
export class Outbound {
  private compressor: Compression.Compressor | undefined
  private format: Format | undefined

  /** v4 only: compress bodies from now on (v5 compresses whole segments instead: `useSegments("lz4")`). */
  useCompression(compressor: Compression.Compressor | undefined): void {
    this.compressor = compressor
  }

  /** v5: wrap envelopes in segments from now on. */
  useSegments(format: Format): void {
    this.format = format
  }

  get framing(): "envelopes" | Format {
    return this.format ?? "envelopes"
  }

  encode(envelopes: ReadonlyArray<Uint8Array>): Buffer {
    if (this.format !== undefined) return encodeEnvelopes(envelopes, this.format)
    const c = this.compressor
    if (c === undefined) return Buffer.concat(envelopes)
    return Buffer.concat(envelopes.map((e) => compressEnvelope(e, c)))
  }
}

/**
 * v4 body compression of one encoded envelope. Leaves it as is (flag unset) when the body is empty, the message
 * is STARTUP or OPTIONS (sent before compression is agreed), or compressing does not make it smaller: the flag
 * is per envelope, so the server decompresses only flagged ones.
 */
const compressEnvelope = (e: Uint8Array, c: Compression.Compressor): Uint8Array => {
  const opcode = e[4]!
  const body = e.subarray(Frame.HEADER_LENGTH)
  if (body.length === 0 || opcode === Frame.Opcode.Startup || opcode === Frame.Opcode.Options) return e
  const packed = c.compress(body)
  if (packed.length >= body.length) return e
  const out = Buffer.allocUnsafe(Frame.HEADER_LENGTH + packed.length)
  out.set(e.subarray(0, Frame.HEADER_LENGTH), 0)
  out[1] = e[1]! | Frame.Flag.Compression
  out.writeInt32BE(packed.length, 5)
  out.set(packed, Frame.HEADER_LENGTH)
  return out
}
