/**
 * Coalesced socket writes. Requests are encoded straight into one growable buffer; the buffer goes to the socket
 * in ONE `write` per flush, on `setImmediate` (so every request issued in the same turn of the event loop shares
 * it) or at once when it passes `threshold` bytes. When the socket asks us to wait (`write` returned false),
 * envelopes keep accumulating until 'drain'. The number of envelopes is bounded by the stream ids, so this buffer
 * is bounded too.
 *
 * Plain envelopes leave without a copy. With v4 body compression or v5 segments the protocol's `Segment.Outbound`
 * builds the bytes to write from views of the buffer.
 */
import { Segment } from "@effect-cql/protocol"
import type { Compression } from "@effect-cql/protocol"
import type { Socket } from "node:net"
import { ByteWriter } from "@effect-cql/protocol/internal"

const INITIAL_SIZE = 16 * 1024
export const FLUSH_THRESHOLD = 64 * 1024

export class WriteQueue {
  /** Encode the next envelope at `writer.offset`, then call `commit(start)`. */
  readonly writer = new ByteWriter(INITIAL_SIZE)
  private readonly outbound = new Segment.Outbound()
  /** True once the outbound needs the envelopes (compression or segments), not just their bytes. */
  private split = false
  private segments = false
  /** Where each pending envelope starts, when `split`. */
  private readonly starts: Array<number> = []
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

  /** v4: compress the bodies of envelopes committed from now on (STARTUP itself never is; v4 spec 5). */
  useCompression(c: Compression.Compressor): void {
    this.flush()
    this.outbound.useCompression(c)
    this.split = true
  }

  /** v5: wrap envelopes in segments from now on (spec v5 2.3: right after READY / AUTHENTICATE). */
  useSegments(format: Segment.Format): void {
    this.flush()
    this.outbound.useSegments(format)
    this.split = true
    this.segments = true
  }

  /** Call after an envelope was written at `start`; schedules the flush. */
  commit(start: number): void {
    if (this.split) this.starts.push(start)
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
    this.starts.length = 0
  }

  private flush(): void {
    this.scheduled = false
    const w = this.writer
    if (this.closed || this.blocked || w.offset === 0) return
    let ok: boolean
    if (this.split) {
      // The outbound copies into a new buffer, so the writer's is free again at once.
      const out = this.outbound.encode(this.segments ? this.runs() : this.envelopes())
      w.offset = 0
      this.starts.length = 0
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

  /** One view per pending envelope (v4 compression works per envelope). */
  private envelopes(): Array<Buffer> {
    const { buf, offset } = this.writer
    const s = this.starts
    const out = new Array<Buffer>(s.length)
    for (let i = 0; i < s.length; i++) out[i] = buf.subarray(s[i]!, i + 1 < s.length ? s[i + 1]! : offset)
    return out
  }

  /**
   * v5: the pending envelopes cut into runs of whole envelopes that fit one self-contained segment; an envelope
   * too large for one segment is a run of its own, which the outbound spreads over several (spec v5 2.2).
   */
  private runs(): Array<Buffer> {
    const { buf, offset } = this.writer
    const s = this.starts
    const out: Array<Buffer> = []
    let runStart = s[0] ?? 0
    for (let i = 0; i < s.length; i++) {
      const start = s[i]!
      const end = i + 1 < s.length ? s[i + 1]! : offset
      if (end - runStart > Segment.MAX_PAYLOAD_LENGTH && start > runStart) {
        out.push(buf.subarray(runStart, start))
        runStart = start
      }
    }
    out.push(buf.subarray(runStart, offset))
    return out
  }
}
