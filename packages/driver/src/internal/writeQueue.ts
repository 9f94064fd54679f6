/**
 * Coalesced socket writes. Requests are encoded straight into one growable buffer; the buffer goes to the socket
 * in ONE `write` per flush, on `setImmediate` (so every request issued in the same turn of the event loop shares
 * it) or at once when it passes `threshold` bytes. When the socket asks us to wait (`write` returned false),
 * envelopes keep accumulating until 'drain'. The number of envelopes is bounded by the stream ids, so this buffer
 * is bounded too.
 */
import { Frame } from "@effect-cql/protocol"
import type { Compression } from "@effect-cql/protocol"
import type { Socket } from "node:net"
import { ByteWriter } from "./byteWriter.js"

/** Wraps a batch of whole envelopes for the wire (v5 segments) and returns the bytes to write; may copy. */
export type Framer = (envelopes: Buffer) => Buffer

const INITIAL_SIZE = 16 * 1024
export const FLUSH_THRESHOLD = 64 * 1024

export class WriteQueue {
  /** Encode the next envelope at `writer.offset`, then call `commit(start)`. */
  readonly writer = new ByteWriter(INITIAL_SIZE)
  private compressor: Compression.Compressor | undefined
  private framer: Framer | undefined
  private scheduled = false
  private blocked = false
  private closed = false
  /** A buffer the socket is done with, to continue in after the next hand-off. */
  private spare: Buffer | undefined
  private readonly flushNow = (): void => this.flush()
  private readonly onDrain = (): void => {
    this.blocked = false
    this.flush()
  }

  constructor(
    private readonly socket: Socket,
    private readonly threshold = FLUSH_THRESHOLD
  ) {}

  /** v4 body compression for every envelope committed from now on (STARTUP itself is never compressed). */
  setCompressor(c: Compression.Compressor | undefined): void {
    this.compressor = c
  }

  /** v5: from now on flushed bytes are wrapped by `framer` (spec v5 2.3: right after READY / AUTHENTICATE). */
  setFramer(f: Framer | undefined): void {
    this.framer = f
  }

  /** Call after an envelope was written at `start`; schedules the flush. */
  commit(start: number): void {
    if (this.compressor !== undefined) this.compressBody(start, this.compressor)
    if (this.writer.offset >= this.threshold && !this.blocked) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flushNow)
    }
  }

  /** Drops whatever is pending; later commits are discarded (the socket is gone). */
  close(): void {
    this.closed = true
    this.writer.offset = 0
  }

  private flush(): void {
    this.scheduled = false
    const w = this.writer
    if (this.closed || this.blocked || w.offset === 0) return
    let ok: boolean
    if (this.framer !== undefined) {
      // The framer copies into segments, so the writer's buffer is free again at once.
      const out = this.framer(w.buf.subarray(0, w.offset))
      w.offset = 0
      ok = this.socket.write(out)
    } else {
      // The socket may hold the buffer until it is written: hand it over and continue in another one.
      const handed = w.buf
      const out = handed.subarray(0, w.offset)
      w.buf = this.spare ?? Buffer.allocUnsafe(handed.length)
      w.offset = 0
      this.spare = undefined
      ok = this.socket.write(out, () => {
        this.spare = handed
      })
    }
    if (!ok) {
      this.blocked = true
      this.socket.once("drain", this.onDrain)
    }
  }

  /** Rewrites the envelope at `start` with its body compressed and the Compression flag set (v4 spec 5). */
  private compressBody(start: number, c: Compression.Compressor): void {
    const w = this.writer
    const bodyStart = start + Frame.HEADER_LENGTH
    const compressed = c.compress(w.buf.subarray(bodyStart, w.offset))
    w.offset = bodyStart
    w.raw(compressed)
    w.buf[start + 1] = w.buf[start + 1]! | Frame.Flag.Compression
    w.buf.writeInt32BE(compressed.length, start + 5)
  }
}
