/**
 * Bytes from the socket -> envelopes. Plain envelopes at first (v4, and v5 until READY / AUTHENTICATE), then, in
 * v5, segments (spec v5 2.3) whose payloads carry the envelopes.
 */
import { Frame } from "@effect-cql/protocol"
import type { Compression, ProtocolError } from "@effect-cql/protocol"
import type * as Either from "effect/Either"
import type { Framer } from "./writeQueue.js"

export class Inbound {
  private readonly envelopes = new Frame.EnvelopeDecoder()
  /** True once v5 segment framing is on. */
  framed = false
  /** v5: whether the segments will be LZ4-compressed (set before STARTUP goes out). */
  segmentCompression = false

  push(chunk: Buffer): void {
    this.envelopes.push(chunk)
  }

  next(): Either.Either<Frame.Envelope, ProtocolError.DecodeError> | undefined {
    return this.envelopes.next()
  }

  setCompressor(c: Compression.Compressor): void {
    this.envelopes.setCompressor(c)
  }

  /** Switches to v5 segments; bytes already received after the switching envelope are segments too. */
  switchToSegments(): Framer {
    throw new Error("v5 segments: waiting for packages/protocol Segment.ts")
  }
}
