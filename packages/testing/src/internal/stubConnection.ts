/**
 * One client socket of a stub node, server side: envelopes in (v4, and v5 until READY/AUTHENTICATE) then v5
 * segments (spec v5 2.3), the handshake (OPTIONS, STARTUP with compression, SASL PLAIN, REGISTER), and the output
 * path: responses are encoded into one writer and sent with one socket write per batch of input, so that a
 * pipelining client is answered with few syscalls. Statements are answered by the node (`ConnectionHost`).
 */
import { Compression, Frame, Request, Response, Segment } from "@effect-cql/protocol"
import type { Event, ServerError } from "@effect-cql/protocol"
import * as Either from "effect/Either"
import { randomBytes } from "node:crypto"
import type * as net from "node:net"
import { ByteWriter } from "@effect-cql/protocol/internal"

/** Ways to send bytes a client must reject. `badCrc` and `badHeaderCrc` need v5 framing; in v4 they send garbage. */
/** `truncated`: half of a valid answer, then the socket closes (a server dying mid-frame). */
export type Malformed = "badCrc" | "badHeaderCrc" | "badLength" | "garbage" | "truncated"

/** How the node answers one request. */
export type Outcome =
  | { readonly _tag: "Respond"; readonly response: Response.Response; readonly delayMs: number }
  | { readonly _tag: "Drop"; readonly delayMs: number }
  | { readonly _tag: "NoResponse" }
  | { readonly _tag: "Malformed"; readonly malformed: Malformed; readonly delayMs: number }

export interface Credentials {
  readonly username: string
  readonly password: string
}

/** A node's answer to one AUTH_RESPONSE of a custom mechanism. */
export type AuthAnswer =
  | { readonly _tag: "Challenge"; readonly token: Uint8Array | null }
  | { readonly _tag: "Success"; readonly token: Uint8Array | null }
  | { readonly _tag: "Refuse"; readonly message: string }

/**
 * A custom SASL mechanism: the authenticator class AUTHENTICATE announces, and for each connection a fresh
 * exchange (`start`) that answers every AUTH_RESPONSE token (so a challenge can depend on what came before).
 */
export interface Authenticator {
  readonly className: string
  readonly start: () => (token: Buffer | null) => AuthAnswer
}

/** What the connection needs from its node. */
export interface ConnectionHost {
  readonly protocolVersions: ReadonlyArray<4 | 5>
  readonly compression: ReadonlyArray<Compression.Name>
  readonly credentials: Credentials | undefined
  /** A custom mechanism instead of PLAIN (takes precedence over `credentials`). */
  readonly authenticator: Authenticator | undefined
  /** Logging is on: `log` wants every decoded request. */
  readonly logging: boolean
  log(conn: StubConnection, env: Frame.Envelope, req: Request.Request<Request.RawValue>): void
  /** A precomputed response (stream id 0) to this EXECUTE, or undefined to take the general path. */
  cannedExecute(conn: StubConnection, env: Frame.Envelope): Buffer | undefined
  answer(conn: StubConnection, req: Request.Request<Request.RawValue>, env: Frame.Envelope): Outcome
  closed(conn: StubConnection): void
}

const PASSWORD_AUTHENTICATOR = "org.apache.cassandra.auth.PasswordAuthenticator"
const GARBAGE = Buffer.from("deadbeef".repeat(16), "hex")

const protocolError = (message: string): ServerError.ServerError => ({ kind: "ProtocolError", message })

type Phase = "startup" | "authenticating" | "ready"

export class StubConnection {
  /** The protocol version of the first envelope; the connection keeps it. */
  version: 4 | 5 | undefined
  /** Set by `USE`. */
  keyspace: string | undefined
  private phase: Phase = "startup"
  /** The custom mechanism's exchange on this connection, once AUTHENTICATE was sent. */
  private exchange: ((token: Buffer | null) => AuthAnswer) | undefined
  private readonly events = new Set<Event.EventType>()
  private readonly inbound = new Segment.Inbound()
  private readonly outbound = new Segment.Outbound()
  private readonly out = new ByteWriter(16 * 1024)
  /** Where each envelope in `out` starts (v5 segments keep envelopes whole). */
  private readonly starts: Array<number> = []
  private readonly timers = new Set<NodeJS.Timeout>()
  private closing = false
  /** Paused (a SIGSTOPped process, as the client sees it): nothing is read, and what it would write is held. */
  private paused = false
  private held: Array<Buffer> = []

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly host: ConnectionHost
  ) {
    socket.setNoDelay(true)
    socket.on("data", this.onData)
    socket.on("error", () => undefined)
    socket.on("close", () => {
      this.closing = true
      for (const t of this.timers) clearTimeout(t)
      this.timers.clear()
      host.closed(this)
    })
  }

  get isOpen(): boolean {
    return !this.closing
  }

  /** Destroys the socket now, without answering what is pending (a crash, as the client sees it). */
  destroy(): void {
    this.closing = true
    this.socket.destroy()
  }

  /** Stops reading and holds every answer, as a stopped process would; the socket stays open. */
  pause(): void {
    this.paused = true
    this.socket.pause()
  }

  /** Writes what was held, in order, and reads again. */
  resume(): void {
    if (!this.paused) return
    this.paused = false
    for (const bytes of this.held.splice(0)) if (!this.closing) this.socket.write(bytes)
    this.socket.resume()
  }

  /** Sends `event` if this connection registered for its type; returns whether it did. */
  pushEvent(event: Event.Event): boolean {
    if (this.closing || this.phase !== "ready" || !this.events.has(event.type)) return false
    this.respond({ _tag: "Event", event }, -1)
    this.flush()
    return true
  }

  /** Writes malformed bytes now (after whatever is pending), e.g. to test a client's decoder outside a request. */
  sendMalformed(malformed: Malformed): void {
    this.flush()
    this.writeMalformed(malformed, 0)
  }

  private readonly onData = (chunk: Buffer): void => {
    this.inbound.push(chunk)
    while (!this.closing) {
      const next = this.inbound.next()
      if (next === undefined) break
      if (Either.isLeft(next)) {
        // The stream cannot be resynchronised: say why, then close, as Cassandra does.
        this.respond({ _tag: "Error", error: protocolError(next.left.message) }, 0)
        this.flush()
        this.closing = true
        this.socket.end()
        return
      }
      this.onEnvelope(next.right)
    }
    this.flush()
  }

  private onEnvelope(env: Frame.Envelope): void {
    if (this.version === undefined) {
      const v = env.version
      if ((v !== 4 && v !== 5) || !this.host.protocolVersions.includes(v)) return this.refuseVersion(env)
      this.version = v
    } else if (env.version !== this.version) {
      return this.respond({ _tag: "Error", error: protocolError(`envelope of version ${env.version} on a v${this.version} connection`) }, env.stream)
    }
    if (this.phase === "ready" && env.opcode === Frame.Opcode.Execute && (env.flags & (Frame.Flag.CustomPayload | Frame.Flag.Tracing)) === 0) {
      const canned = this.host.cannedExecute(this, env)
      if (canned !== undefined) {
        if (this.host.logging) {
          const req = Request.decodeRequestEnvelope(env)
          if (Either.isRight(req)) this.host.log(this, env, req.right)
        }
        return this.writeCanned(canned, env.stream)
      }
    }
    const decoded = Request.decodeRequestEnvelope(env)
    if (Either.isLeft(decoded)) return this.respond({ _tag: "Error", error: protocolError(decoded.left.message) }, env.stream)
    const req = decoded.right
    if (this.host.logging) this.host.log(this, env, req)
    switch (req._tag) {
      case "Options":
        return this.respond({ _tag: "Supported", options: this.supported() }, env.stream)
      case "Startup":
        return this.startup(req, env.stream)
      case "AuthResponse":
        return this.authenticate(req, env.stream)
      case "Register":
        if (this.phase !== "ready") return this.unexpected(req, env.stream)
        for (const e of req.events) this.events.add(e)
        return this.respond({ _tag: "Ready" }, env.stream)
      default: {
        if (this.phase !== "ready") return this.unexpected(req, env.stream)
        const outcome = this.host.answer(this, req, env)
        const traced = (env.flags & Frame.Flag.Tracing) !== 0 && req._tag !== "Batch" && outcome._tag === "Respond"
        return this.apply(traced ? { ...outcome, response: { ...outcome.response, tracingId: randomBytes(16) } } : outcome, env.stream)
      }
    }
  }

  private supported(): Record<string, ReadonlyArray<string>> {
    return {
      CQL_VERSION: ["3.4.7"],
      COMPRESSION: this.host.compression,
      PROTOCOL_VERSIONS: this.host.protocolVersions.map((v) => `${v}/v${v}`)
    }
  }

  /** A version this node does not speak: a protocol error in the newest version it does, then close (spec 2.1). */
  private refuseVersion(env: Frame.Envelope): void {
    const versions = this.host.protocolVersions
    const newest = Math.max(...versions) as 4 | 5
    this.version = newest
    this.respond(
      {
        _tag: "Error",
        error: protocolError(
          `Invalid or unsupported protocol version (${env.version}); supported versions are (${versions.map((v) => `${v}/v${v}`).join(", ")})`
        )
      },
      env.stream
    )
    this.flush()
    this.closing = true
    this.socket.end()
  }

  private unexpected(req: Request.Request<Request.RawValue>, stream: number): void {
    const expecting = this.phase === "startup" ? "STARTUP or OPTIONS" : this.phase === "authenticating" ? "AUTH_RESPONSE" : "a request"
    const name = Frame.opcodeName(Request.opcodeOf(req))
    this.respond({ _tag: "Error", error: protocolError(`Unexpected message ${name}, expecting ${expecting}`) }, stream)
  }

  private startup(req: Request.Startup, stream: number): void {
    if (this.phase !== "startup") return this.unexpected(req, stream)
    if (req.options["CQL_VERSION"] === undefined) {
      return this.respond({ _tag: "Error", error: protocolError("CQL_VERSION is mandatory") }, stream)
    }
    const name = req.options["COMPRESSION"]?.toLowerCase()
    const compressor = name === undefined || name === "" ? undefined : Compression.byName(name)
    if (name !== undefined && name !== "") {
      // v5 compresses segments, and only with lz4 (spec v5 section 2).
      const offered = (this.host.compression as ReadonlyArray<string>).includes(name) && (this.version === 4 || name === "lz4")
      if (compressor === undefined || !offered) {
        return this.respond({ _tag: "Error", error: protocolError(`Unknown compression algorithm: ${name}`) }, stream)
      }
    }
    const custom = this.host.authenticator
    const auth = custom !== undefined || this.host.credentials !== undefined
    this.exchange = custom?.start()
    this.respond(auth ? { _tag: "Authenticate", authenticator: custom?.className ?? PASSWORD_AUTHENTICATOR } : { _tag: "Ready" }, stream)
    // The answer to STARTUP goes out as negotiated before it: unframed, uncompressed. Then both directions switch.
    this.flush()
    if (this.version === 5) {
      const format: Segment.Format = compressor === undefined ? "uncompressed" : "lz4"
      this.inbound.useSegments(format)
      this.outbound.useSegments(format)
    } else if (compressor !== undefined) {
      this.inbound.useCompression(compressor)
      this.outbound.useCompression(compressor)
    }
    this.phase = auth ? "authenticating" : "ready"
  }

  /** SASL PLAIN (RFC 4616): [authzid] NUL authcid NUL password. */
  private authenticate(req: Request.AuthResponse, stream: number): void {
    if (this.phase === "authenticating" && this.exchange !== undefined) return this.answerCustom(req, stream, this.exchange)
    const expected = this.host.credentials
    if (this.phase !== "authenticating" || expected === undefined) return this.unexpected(req, stream)
    const parts = req.token === null ? [] : Buffer.from(req.token).toString("utf8").split("\u0000")
    const username = parts[1] ?? ""
    if (parts.length === 3 && username === expected.username && parts[2] === expected.password) {
      this.phase = "ready"
      return this.respond({ _tag: "AuthSuccess", token: null }, stream)
    }
    this.respond(
      { _tag: "Error", error: { kind: "AuthenticationError", message: `Provided username ${username} and/or password are incorrect` } },
      stream
    )
  }

  /** A custom mechanism's step: a challenge, success, or a refusal (an AuthenticationError, as Cassandra sends). */
  private answerCustom(req: Request.AuthResponse, stream: number, exchange: (token: Buffer | null) => AuthAnswer): void {
    const answer = exchange(req.token === null ? null : Buffer.from(req.token))
    switch (answer._tag) {
      case "Challenge":
        return this.respond({ _tag: "AuthChallenge", token: answer.token === null ? null : Buffer.from(answer.token) }, stream)
      case "Success":
        this.phase = "ready"
        return this.respond({ _tag: "AuthSuccess", token: answer.token === null ? null : Buffer.from(answer.token) }, stream)
      case "Refuse":
        return this.respond({ _tag: "Error", error: { kind: "AuthenticationError", message: answer.message } }, stream)
    }
  }

  private apply(outcome: Outcome, stream: number): void {
    if (outcome._tag === "NoResponse") return
    if (outcome.delayMs <= 0) return this.applyNow(outcome, stream)
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (this.closing) return
      this.applyNow(outcome, stream)
      this.flush()
    }, outcome.delayMs)
    this.timers.add(timer)
  }

  private applyNow(outcome: Outcome, stream: number): void {
    switch (outcome._tag) {
      case "Respond":
        return this.respond(outcome.response, stream)
      case "Drop":
        // Whatever was answered before this request still goes out; then the socket dies.
        this.flush()
        return this.destroy()
      case "Malformed":
        this.flush()
        return this.writeMalformed(outcome.malformed, stream)
      case "NoResponse":
        return
    }
  }

  /** Encodes a response into the pending output; one that cannot be encoded becomes a Server_error. */
  private respond(res: Response.Response, stream: number): void {
    const w = this.out
    const start = w.offset
    const version = this.version ?? 4
    const encoded = Response.encodeResponseEnvelope(w, res, { version, stream })
    if (Either.isLeft(encoded)) {
      const error: ServerError.ServerError = { kind: "ServerError", message: `stub could not encode its ${res._tag} answer: ${encoded.left.message}` }
      Either.getOrThrow(Response.encodeResponseEnvelope(w, { _tag: "Error", error }, { version, stream }))
    }
    this.starts.push(start)
  }

  /** A precomputed envelope with only the stream id patched. */
  private writeCanned(bytes: Buffer, stream: number): void {
    const w = this.out
    const start = w.offset
    w.raw(bytes)
    w.buf.writeInt16BE(stream, start + 2)
    this.starts.push(start)
  }

  /** Sends everything pending in one socket write. */
  flush(): void {
    const w = this.out
    if (w.offset === 0 || this.closing) {
      w.reset()
      this.starts.length = 0
      return
    }
    const envelopes = this.starts.map((s, i) => w.buf.subarray(s, this.starts[i + 1] ?? w.offset))
    // A new buffer (the writer is reused at once): plain, v4-compressed or v5 segments, as negotiated.
    const bytes = this.outbound.encode(envelopes)
    w.reset()
    this.starts.length = 0
    if (this.paused) {
      this.held.push(bytes)
      return
    }
    if (!this.socket.write(bytes)) {
      // The client is not reading: stop reading its requests until it catches up.
      this.socket.pause()
      this.socket.once("drain", () => this.socket.resume())
    }
  }

  private writeMalformed(malformed: Malformed, stream: number): void {
    if (this.closing) return
    const v = this.version ?? 4
    const framed = this.outbound.framing !== "envelopes"
    if (malformed === "truncated") {
      this.flush()
      const w = new ByteWriter(64)
      const env = Either.getOrThrow(Response.encodeResponseEnvelope(w, { _tag: "SetKeyspace", keyspace: "cut_in_half" }, { version: v, stream }))
      const bytes = Buffer.from(framed ? this.outbound.encode([env]) : env)
      this.closing = true
      this.socket.end(bytes.subarray(0, bytes.length >> 1))
      return
    }
    if (malformed === "garbage" || (!framed && malformed !== "badLength")) {
      this.socket.write(GARBAGE)
      return
    }
    if (malformed === "badLength") {
      // A RESULT header claiming 2 GiB - 1: past the 256 MB limit (spec 2.5). In v5 it sits in a valid segment.
      const header = Buffer.alloc(Frame.HEADER_LENGTH)
      header[0] = v | Frame.RESPONSE_BIT
      header.writeInt16BE(stream, 2)
      header[4] = Frame.Opcode.Result
      header.writeInt32BE(0x7fffffff, 5)
      this.socket.write(framed ? this.outbound.encode([header]) : header)
      return
    }
    const w = new ByteWriter(64)
    const env = Either.getOrThrow(Response.encodeResponseEnvelope(w, { _tag: "Void" }, { version: v, stream }))
    const segment = Buffer.from(this.outbound.encode([env]))
    // badCrc: the payload's CRC32 trailer; badHeaderCrc: the header's CRC24 (the byte right after the header).
    const at = malformed === "badCrc" ? segment.length - 1 : this.outbound.framing === "lz4" ? 5 : 3
    segment[at] = segment[at]! ^ 0xff
    this.socket.write(segment)
  }
}
