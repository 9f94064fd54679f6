/**
 * A minimal CQL client built from the protocol package, for testing the stub server byte for byte: no driver,
 * no policies; promises per request; keeps what it received (events, decode errors, raw byte counts).
 */
import { Compression, Frame, Request, Response, Segment } from "@effect-cql/protocol"
import type { Event, ProtocolError, Rows } from "@effect-cql/protocol"
import * as Either from "effect/Either"
import * as net from "node:net"
import { ByteWriter } from "@effect-cql/protocol/internal"

export interface HandshakeOptions {
  readonly compression?: "lz4" | "snappy"
  readonly credentials?: { readonly username: string; readonly password: string }
}

type Pending = {
  readonly resolve: (r: Response.Response) => void
  readonly reject: (e: unknown) => void
  readonly columns: ReadonlyArray<Rows.ColumnSpec> | undefined
}

export class RawClient {
  readonly inbound = new Segment.Inbound()
  readonly outbound = new Segment.Outbound()
  readonly events: Array<Event.Event> = []
  /** The first undecodable input, if any. */
  decodeError: ProtocolError.DecodeError | undefined
  bytesReceived = 0
  private readonly pending = new Map<number, Pending>()
  private readonly waiters: Array<() => void> = []
  private nextStream = 1
  private framing: Segment.Format | undefined
  readonly closed: Promise<void>

  private constructor(
    private readonly socket: net.Socket,
    readonly version: 4 | 5
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("error", () => undefined)
    this.closed = new Promise((resolve) => socket.on("close", () => {
      for (const p of this.pending.values()) p.reject(new Error("connection closed"))
      this.pending.clear()
      this.wake()
      resolve()
    }))
  }

  static connect(address: string, port: number, version: 4 | 5): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: address, port })
      socket.once("error", reject)
      socket.once("connect", () => {
        socket.off("error", reject)
        resolve(new RawClient(socket, version))
      })
    })
  }

  /** OPTIONS, STARTUP (with compression), and SASL PLAIN when the server asks; resolves with the last answer. */
  async handshake(options: HandshakeOptions = {}): Promise<Response.Response> {
    const supported = await this.request({ _tag: "Options" })
    if (supported._tag !== "Supported") return supported
    const startup: Record<string, string> = { CQL_VERSION: "3.0.0" }
    if (options.compression !== undefined) startup["COMPRESSION"] = options.compression
    this.framing = options.compression === "lz4" ? "lz4" : "uncompressed"
    const answer = this.request({ _tag: "Startup", options: startup })
    if (this.version === 4 && options.compression !== undefined) {
      const c = Compression.byName(options.compression)!
      this.inbound.useCompression(c)
      this.outbound.useCompression(c)
    }
    const res = await answer
    if (res._tag !== "Authenticate" || options.credentials === undefined) return res
    const { password, username } = options.credentials
    return this.request({ _tag: "AuthResponse", token: Buffer.from(`\u0000${username}\u0000${password}`) })
  }

  /** Sends a request; resolves with its response. `columns` decodes Rows sent without metadata. */
  request(
    req: Request.Request,
    options: { readonly tracing?: boolean; readonly columns?: ReadonlyArray<Rows.ColumnSpec> } = {}
  ): Promise<Response.Response> {
    const stream = this.nextStream++
    return new Promise((resolve, reject) => {
      this.pending.set(stream, { resolve, reject, columns: options.columns })
      this.write(this.encode(req, stream, options.tracing === true))
    })
  }

  /** Encodes a request envelope (unframed). */
  encode(req: Request.Request, stream: number, tracing = false): Buffer {
    const w = new ByteWriter(256)
    return Buffer.from(Either.getOrThrow(Request.encodeRequestEnvelope(w, req, { version: this.version, stream, tracing })))
  }

  /** Frames whole envelopes as negotiated and writes them in one write. */
  write(...envelopes: ReadonlyArray<Buffer>): void {
    this.socket.write(this.outbound.encode(envelopes))
  }

  /** Resolves once `predicate` holds (checked on every input and on close), or rejects after `ms`. */
  until(predicate: () => boolean, ms = 2000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("condition not met in time")), ms)
      const check = () => {
        if (predicate()) {
          clearTimeout(timer)
          resolve()
        } else {
          this.waiters.push(check)
        }
      }
      check()
    })
  }

  get isClosed(): boolean {
    return this.socket.destroyed
  }

  close(): void {
    this.socket.destroy()
  }

  private wake(): void {
    const ws = this.waiters.splice(0)
    for (const w of ws) w()
  }

  private onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length
    this.inbound.push(chunk)
    for (;;) {
      const next = this.inbound.next()
      if (next === undefined) break
      if (Either.isLeft(next)) {
        this.decodeError ??= next.left
        for (const p of this.pending.values()) p.reject(next.left)
        this.pending.clear()
        break
      }
      const env = next.right
      // Spec v5 2.3: segments start right after READY or AUTHENTICATE, both ways.
      if (this.version === 5 && this.inbound.framing === "envelopes" && (env.opcode === Frame.Opcode.Ready || env.opcode === Frame.Opcode.Authenticate)) {
        this.inbound.useSegments(this.framing ?? "uncompressed")
        this.outbound.useSegments(this.framing ?? "uncompressed")
      }
      if (env.stream === -1) {
        const ev = Response.decodeResponseEnvelope(env)
        if (Either.isRight(ev) && ev.right._tag === "Event") this.events.push(ev.right.event)
        continue
      }
      const p = this.pending.get(env.stream)
      if (p === undefined) continue
      this.pending.delete(env.stream)
      const res = Response.decodeResponseEnvelope(env, { columns: p.columns })
      if (Either.isRight(res)) p.resolve(res.right)
      else p.reject(res.left)
    }
    this.wake()
  }
}

/** Connects and runs the handshake; fails unless it ends with READY or AUTH_SUCCESS. */
export const connected = async (address: string, port: number, version: 4 | 5, options: HandshakeOptions = {}): Promise<RawClient> => {
  const c = await RawClient.connect(address, port, version)
  const res = await c.handshake(options)
  if (res._tag !== "Ready" && res._tag !== "AuthSuccess") {
    c.close()
    throw new Error(`handshake ended with ${res._tag === "Error" ? `${res.error.kind}: ${res.error.message}` : res._tag}`)
  }
  return c
}
