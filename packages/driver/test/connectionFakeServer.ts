/**
 * An in-process CQL server on 127.0.0.1 (ephemeral port) for the Connection's unit tests. It speaks the handshake
 * itself (OPTIONS, STARTUP, SASL PLAIN, USE) with the protocol package's server-side codecs and hands every other
 * request to the test's `onRequest`, which answers when and how it likes (out of order, late, never).
 */
import { Compression, Frame, Request, Response, Segment } from "@effect-cql/protocol"
import * as Either from "effect/Either"
import * as net from "node:net"
import { ByteWriter } from "@effect-cql/protocol/internal"
import type { ConnectionFailure } from "../src/internal/connection/connection.js"

export interface FakeServerOptions {
  /** Versions accepted; an envelope of another version gets a protocol error (in the highest one) and a close. */
  readonly versions?: ReadonlyArray<4 | 5>
  /** Offered in SUPPORTED. */
  readonly compression?: ReadonlyArray<string>
  /** Require SASL PLAIN with these credentials. */
  readonly credentials?: { readonly username: string; readonly password: string }
  /** Answer nothing at all, not even OPTIONS. */
  readonly silent?: boolean
  /** Every request after the handshake. Default: answer Void at once. */
  readonly onRequest?: (req: Request.Request<Request.RawValue>, stream: number, conn: ServerConnection) => void
  /** How response bytes are cut before they reach the socket (each piece is one `write`). Default: whole. */
  readonly split?: (bytes: Buffer) => ReadonlyArray<Buffer>
}

export class ServerConnection {
  version: 4 | 5 = 4
  compressor: Compression.Compressor | undefined
  /** Requests received on this connection (handshake included), in order. */
  readonly received: Array<Request.Request<Request.RawValue>> = []
  /** Every byte string handed to the socket, in order. */
  readonly written: Array<Buffer> = []
  private readonly inbound = new Segment.Inbound()
  private readonly outbound = new Segment.Outbound()
  private readonly w = new ByteWriter(1024)
  private corked: Array<Buffer> | undefined

  constructor(
    readonly socket: net.Socket,
    private readonly server: FakeServer
  ) {
    socket.setNoDelay(true)
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("error", () => undefined)
  }

  /** "envelopes" until v5 segments are on, then their format. */
  get framing(): "envelopes" | Segment.Format {
    return this.inbound.framing
  }

  /** Sends `res` on `stream`, framed as negotiated (v4 body compression, v5 segments). */
  reply(stream: number, res: Response.Response, version: 4 | 5 = this.version): void {
    if (this.socket.destroyed) return
    this.w.reset()
    const out = Response.encodeResponseEnvelope(this.w, res, { version, stream })
    if (Either.isLeft(out)) throw out.left
    if (this.corked !== undefined) this.corked.push(Buffer.from(out.right))
    else this.write(this.outbound.encode([out.right]))
  }

  /** Collects the replies made inside `f` and writes them with one `write` (several envelopes per TCP chunk). */
  batch(f: () => void): void {
    this.corked = []
    try {
      f()
    } finally {
      const all = this.corked
      this.corked = undefined
      this.write(this.outbound.encode(all))
    }
  }

  /** Writes a hand-made envelope, framed as negotiated. */
  writeEnvelope(envelope: Buffer): void {
    this.write(this.outbound.encode([envelope]))
  }

  /** Writes raw bytes (e.g. garbage) to the client. */
  write(bytes: Buffer): void {
    this.written.push(bytes)
    const split = this.server.options.split
    for (const piece of split === undefined ? [bytes] : split(bytes)) this.socket.write(piece)
  }

  private onData(chunk: Buffer): void {
    this.inbound.push(chunk)
    for (;;) {
      const next = this.inbound.next()
      if (next === undefined) return
      if (Either.isLeft(next)) {
        this.socket.destroy()
        return
      }
      this.onEnvelope(next.right)
    }
  }

  private onEnvelope(env: Frame.Envelope): void {
    const versions = this.server.options.versions ?? [4, 5]
    if (env.version !== 4 && env.version !== 5 || !versions.includes(env.version)) {
      // What Cassandra does: a protocol error in its own (highest) version, then it closes the connection.
      const highest = Math.max(...versions) as 4 | 5
      this.reply(env.stream, error("ProtocolError", `Invalid or unsupported protocol version (${env.version})`), highest)
      this.socket.end()
      return
    }
    this.version = env.version
    const req = Request.decodeRequestEnvelope(env)
    if (Either.isLeft(req)) throw req.left
    this.received.push(req.right)
    this.server.received++
    if (this.server.options.silent === true || this.server.paused) return
    this.handle(req.right, env.stream)
  }

  private handle(req: Request.Request<Request.RawValue>, stream: number): void {
    const o = this.server.options
    switch (req._tag) {
      case "Options":
        return this.reply(stream, {
          _tag: "Supported",
          options: {
            COMPRESSION: [...(o.compression ?? [])],
            CQL_VERSION: ["3.4.7"],
            PROTOCOL_VERSIONS: (o.versions ?? [4, 5]).map((v) => `${v}/v${v}`)
          }
        })
      case "Startup": {
        const name = req.options["COMPRESSION"]
        if (o.credentials !== undefined) this.reply(stream, { _tag: "Authenticate", authenticator: "org.apache.cassandra.auth.PasswordAuthenticator" })
        else this.reply(stream, { _tag: "Ready" })
        if (this.version === 5) {
          // Spec v5 2.3: segments from the envelope after READY / AUTHENTICATE on, both ways.
          const format = name === "lz4" ? "lz4" : "uncompressed"
          this.inbound.useSegments(format)
          this.outbound.useSegments(format)
        } else if (name !== undefined) {
          this.compressor = Compression.byName(name)
          this.inbound.useCompression(this.compressor)
          this.outbound.useCompression(this.compressor)
        }
        return
      }
      case "AuthResponse": {
        const c = o.credentials
        const expected = c === undefined ? "" : `\0${c.username}\0${c.password}`
        if (req.token !== null && Buffer.from(req.token).toString("utf8") === expected) return this.reply(stream, { _tag: "AuthSuccess", token: null })
        return this.reply(stream, error("AuthenticationError", "Provided username and/or password are incorrect"))
      }
      default:
        if (req._tag === "Query" && req.query.startsWith("USE ")) {
          const ks = req.query.slice(4).replace(/^"|"$/g, "").replaceAll('""', '"')
          if (ks === "missing") return this.reply(stream, error("Invalid", `Keyspace '${ks}' does not exist`))
          return this.reply(stream, { _tag: "SetKeyspace", keyspace: ks })
        }
        if (o.onRequest === undefined) return this.reply(stream, { _tag: "Void" })
        o.onRequest(req, stream, this)
    }
  }
}

export const error = (kind: "ProtocolError" | "AuthenticationError" | "Invalid" | "ServerError", message: string): Response.Response => ({
  _tag: "Error",
  error: { kind, message }
})

export class FakeServer {
  port = 0
  /** Requests received over all connections. */
  received = 0
  /** Connections accepted, refused ones included. */
  accepted = 0
  /** While true, every new connection is closed as soon as it is accepted (a node that is going down). */
  refuse = false
  /** While true, requests are read and never answered, on every connection (a node under SIGSTOP). */
  paused = false
  readonly connections: Array<ServerConnection> = []
  private readonly server: net.Server

  private constructor(readonly options: FakeServerOptions) {
    this.server = net.createServer((socket) => {
      this.accepted++
      if (this.refuse) socket.destroy()
      else this.connections.push(new ServerConnection(socket, this))
    })
  }

  static async start(options: FakeServerOptions = {}): Promise<FakeServer> {
    const s = new FakeServer(options)
    await new Promise<void>((resolve) => s.server.listen(0, "127.0.0.1", resolve))
    s.port = (s.server.address() as net.AddressInfo).port
    return s
  }

  /** The connection that completed the handshake last. */
  get last(): ServerConnection {
    const c = this.connections.at(-1)
    if (c === undefined) throw new Error("no connection yet")
    return c
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** The rejection of `p`, which must reject (with a ConnectionFailure, in these tests). */
export const failed = async (p: Promise<unknown>): Promise<ConnectionFailure> => {
  try {
    await p
  } catch (e) {
    return e as ConnectionFailure
  }
  throw new Error("expected a failure")
}
