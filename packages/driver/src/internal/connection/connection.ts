/**
 * One socket to one Cassandra host: handshake, stream ids, coalesced writes, one timer for request deadlines,
 * heartbeats, events. Plain TypeScript with callbacks on the request path; the Effect wrappers (`open`,
 * `request`) sit at the bottom and cost one `Effect.async` per request.
 */
import { Frame, ProtocolError, Request, Response, Segment } from "@effect-cql/protocol"
import type { Compression, Event } from "@effect-cql/protocol"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import * as tls from "node:tls"
import * as Defaults from "../defaults.js"
import { Deadlines } from "./deadlines.js"
import { handshake } from "./handshake.js"
import { checkCapacity, StreamIds } from "./streamIds.js"
import { WriteQueue } from "./writeQueue.js"

import type { HostMetrics } from "../../Metrics.js"
import { type AnswerTo, type ConnectionFailure, type ConnectionOptions, deliver, type HandshakeTarget, type SendOptions } from "./connectionTypes.js"

export type { Callback, ConnectionFailure, ConnectionOptions, Receiver, SendOptions } from "./connectionTypes.js"
export { describeFailure } from "./connectionTypes.js"

const DEFAULTS = {
  connectTimeoutMs: Defaults.CONNECT_TIMEOUT_MS,
  requestTimeoutMs: Defaults.REQUEST_TIMEOUT_MS,
  heartbeatIntervalMs: Defaults.HEARTBEAT_INTERVAL_MS,
  stallTimeoutMs: Defaults.STALL_TIMEOUT_MS,
  probeTimeoutMs: Defaults.PROBE_TIMEOUT_MS,
  maxFrameBytes: Frame.MAX_BODY_LENGTH,
  maxInFlight: Defaults.MAX_REQUESTS_PER_CONNECTION,
  maxOrphans: 256
} as const

/** Per stream id. */
const FREE = 0
const LIVE = 1
const ORPHAN = 2

const noSendOptions: SendOptions = {}

type Phase = "handshake" | "open" | "closing" | "closed"

export class Connection implements HandshakeTarget {
  readonly host: string
  readonly port: number
  /** "host:port", as errors and results name the coordinator: made once, not per request. */
  readonly hostId: string
  /** The Cluster's instruments for this connection's host (`Cluster`'s `metricsOf` looks them up once). */
  hostMetrics: HostMetrics | undefined = undefined
  /** The server's SUPPORTED options (COMPRESSION, PROTOCOL_VERSIONS, CQL_VERSION, ...), set by the handshake. */
  supported: Readonly<Record<string, ReadonlyArray<string>>> = {}
  /** The compression the handshake agreed on (none when the server did not offer the one asked for). */
  compression: Compression.Name | undefined = undefined

  private phase: Phase = "handshake"
  private readonly ids: StreamIds
  private readonly state: Uint8Array
  private readonly callbacks: Array<AnswerTo | undefined>
  /** Each request's send options, which are also what decoding its answer needs (the prepared result columns). */
  private readonly decodeContexts: Array<SendOptions | undefined>
  private readonly timeouts: Float64Array
  private readonly deadlines: Deadlines
  private readonly out: WriteQueue
  private readonly inbound: Segment.Inbound
  /** v5 until READY / AUTHENTICATE: framing is about to start, in this format. */
  private segmentsPending: Segment.Format | undefined
  private readonly requestTimeoutMs: number
  private readonly heartbeatIntervalMs: number
  private readonly stallTimeoutMs: number
  /** How long a probe (stall or heartbeat) waits for its answer before the connection is closed. */
  private readonly probeTimeoutMs: number
  private readonly maxFrameBytes: number
  private readonly maxOrphans: number
  private live = 0
  private orphans = 0
  /** Reused for every envelope: only `stream` and `tracing` change. */
  private readonly envelope: { version: 4 | 5; stream: number; tracing: boolean }

  private timer: NodeJS.Timeout | undefined
  private timerAt = Infinity
  private heartbeat: NodeJS.Timeout | undefined
  private stallCheck: NodeJS.Timeout | undefined
  /** A probe (OPTIONS) waits for its answer: a stalled connection takes no new requests meanwhile. */
  private probing: "heartbeat" | "stall" | undefined
  /** When the socket last delivered bytes (`Date.now()`): how long a busy connection has been silent. */
  lastReadAt = Date.now()
  /** When `live` last went from 0 to 1: a connection busy and silent since long enough is probed. */
  private busySince = 0
  private socketError: Error | undefined
  private closeCause: ConnectionFailure | undefined
  private graceTimer: NodeJS.Timeout | undefined
  private readonly eventListeners: Array<(event: Event.Event) => void> = []
  private readonly closeListeners: Array<(cause: ConnectionFailure) => void> = []
  private readonly closed: Promise<void>
  private resolveClosed!: () => void

  /** Use `connect`: this wraps a socket that is already connected and runs no handshake. */
  constructor(
    private readonly socket: net.Socket,
    readonly version: 4 | 5,
    options: ConnectionOptions
  ) {
    this.host = options.host
    this.port = options.port
    this.hostId = `${options.host}:${options.port}`
    const capacity = options.maxInFlight ?? DEFAULTS.maxInFlight
    this.ids = new StreamIds(capacity)
    this.state = new Uint8Array(capacity)
    this.callbacks = new Array<AnswerTo | undefined>(capacity).fill(undefined)
    this.decodeContexts = new Array<SendOptions | undefined>(capacity).fill(undefined)
    this.timeouts = new Float64Array(capacity)
    this.deadlines = new Deadlines(capacity)
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs
    // A heartbeat's probe fits in the interval: a connection silent for the whole interval is closed by its end.
    this.probeTimeoutMs = Math.min(options.probeTimeoutMs ?? DEFAULTS.probeTimeoutMs, this.heartbeatIntervalMs > 0 ? this.heartbeatIntervalMs / 2 : Infinity)
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULTS.maxFrameBytes
    this.inbound = new Segment.Inbound({ maxBodyLength: this.maxFrameBytes })
    this.maxOrphans = options.maxOrphans ?? DEFAULTS.maxOrphans
    this.envelope = { version, stream: 0, tracing: false }
    this.out = new WriteQueue(socket)
    if (version === 5) this.segmentsPending = "uncompressed"
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve
    })
    socket.setNoDelay(true)
    socket.on("data", this.onData)
    socket.on("error", (e: Error) => {
      this.socketError ??= e
    })
    socket.on("close", () => {
      const e = this.socketError
      this.destroy(
        e === undefined
          ? { _tag: "Closed", message: `connection to ${this.hostId} closed by the server` }
          : { _tag: "Closed", message: `connection to ${this.hostId} failed: ${e.message}`, cause: e }
      )
      this.resolveClosed()
    })
  }

  /** Requests waiting for their response (orphans not included). */
  get inFlight(): number {
    return this.live
  }

  /** Stream ids held by requests that timed out or were cancelled, until their late response arrives. */
  get orphaned(): number {
    return this.orphans
  }

  get isOpen(): boolean {
    return this.phase === "open"
  }

  /** Open and not under suspicion: a connection probed for a stall takes no new requests until it answers. */
  get accepting(): boolean {
    return this.phase === "open" && this.probing !== "stall"
  }

  /** Stream ids free for new requests; at 0 `send` fails with Busy (orphans hold ids too). */
  get available(): number {
    return this.ids.capacity - this.ids.used
  }

  /**
   * Sends `req` and gives `cb` the response or a failure, once. Returns the stream id, or -1 when `cb` already
   * had its answer (closed, busy, or the request could not be encoded). `cb` must not throw. `req` is encoded
   * before `send` returns and not kept, so a caller may reuse it (messages.ts does).
   */
  send(req: Request.Request, opts: SendOptions, cb: AnswerTo): number {
    if (this.phase !== "open" && this.phase !== "handshake") {
      deliver(cb, this.closeCause ?? { _tag: "Closed", message: `connection to ${this.hostId} is closing` }, undefined)
      return -1
    }
    const id = this.ids.acquire()
    if (id < 0) {
      deliver(cb, { _tag: "Busy", inFlight: this.ids.used }, undefined)
      return -1
    }
    const env = this.envelope
    env.stream = id
    env.tracing = opts.tracing === true
    const w = this.out.writer
    const start = w.offset
    const error =
      Request.writeRequestEnvelope(w, opts.customPayload === undefined ? req : { ...req, customPayload: opts.customPayload }, env) ??
      this.oversized(w.offset - start - Frame.HEADER_LENGTH)
    if (error !== undefined) {
      w.offset = start
      this.ids.release(id)
      deliver(cb, { _tag: "Encode", error }, undefined)
      return -1
    }
    this.out.commit(start)
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs
    this.state[id] = LIVE
    this.callbacks[id] = cb
    this.decodeContexts[id] = opts
    this.timeouts[id] = timeoutMs
    const now = Date.now()
    if (this.live++ === 0) this.busySince = now
    const deadline = now + timeoutMs
    this.deadlines.add(id, deadline)
    if (deadline < this.timerAt) this.armTimer(deadline)
    return id
  }

  /** Interruption: the callback is dropped now; the id stays reserved (orphaned) until its response arrives. */
  cancel(streamId: number): void {
    if (streamId < 0 || streamId >= this.state.length || this.state[streamId] !== LIVE) return
    this.orphan(streamId)
  }

  onEvent(listener: (event: Event.Event) => void): void {
    this.eventListeners.push(listener)
  }

  onClose(listener: (cause: ConnectionFailure) => void): void {
    if (this.phase === "closed") listener(this.closeCause!)
    else this.closeListeners.push(listener)
  }

  /**
   * Stops accepting requests, waits up to `graceMs` for those in flight, then fails what is left and destroys
   * the socket. Resolves once the socket is closed.
   */
  close(graceMs: number): Promise<void> {
    if (this.phase === "open" || this.phase === "handshake") {
      this.phase = "closing"
      this.closeCause = { _tag: "Closed", message: `connection to ${this.hostId} closed by the client` }
      if (this.live === 0) this.destroy(this.closeCause)
      else {
        this.graceTimer = setTimeout(() => this.destroy(this.closeCause!), graceMs)
        this.graceTimer.unref()
      }
    }
    return this.closed
  }

  // -------------------------------------------------------------------------------------------------------------
  // Used by the handshake

  /** v4: compress bodies from now on, both ways (after STARTUP was sent with COMPRESSION; v4 spec 5). */
  useCompression(c: Compression.Compressor): void {
    this.out.useCompression(c)
    this.inbound.useCompression(c)
  }

  /** v5: the segment format to switch to when READY or AUTHENTICATE arrives (set before STARTUP goes out). */
  useSegmentFormat(format: Segment.Format): void {
    if (this.segmentsPending !== undefined) this.segmentsPending = format
  }

  /** The handshake succeeded. */
  markOpen(): void {
    if (this.phase !== "handshake") return
    this.phase = "open"
    this.scheduleHeartbeat(this.heartbeatDelayMs)
    if (this.stallTimeoutMs > 0) {
      this.stallCheck = setInterval(this.onStallCheck, Math.max(10, this.stallTimeoutMs / 2))
      this.stallCheck.unref()
    }
  }

  /** Fails everything in flight with `cause` and destroys the socket. Idempotent. */
  destroy(cause: ConnectionFailure): void {
    if (this.phase === "closed") return
    this.phase = "closed"
    this.closeCause ??= cause
    const failure = this.closeCause
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.heartbeat !== undefined) clearTimeout(this.heartbeat)
    if (this.stallCheck !== undefined) clearInterval(this.stallCheck)
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer)
    this.timerAt = -Infinity // nothing is armed again
    this.out.close()
    this.socket.destroy()
    // Collect first, so that a callback that sends again sees a closed connection, not half-cleared tables.
    const pending: Array<AnswerTo> = []
    for (let id = 0; id < this.state.length; id++) {
      if (this.state[id] === LIVE) pending.push(this.callbacks[id]!)
      this.state[id] = FREE
      this.callbacks[id] = undefined
      this.decodeContexts[id] = undefined
    }
    this.live = 0
    this.orphans = 0
    for (const cb of pending) deliver(cb, failure, undefined)
    for (const l of this.closeListeners) l(failure)
    this.closeListeners.length = 0
  }

  // -------------------------------------------------------------------------------------------------------------
  // Inbound

  private readonly onData = (chunk: Buffer): void => {
    this.lastReadAt = Date.now()
    const inbound = this.inbound
    inbound.push(chunk)
    for (;;) {
      const next = inbound.next()
      if (next === undefined) return
      if (Either.isLeft(next)) {
        this.destroy({ _tag: "Closed", message: `undecodable bytes from ${this.hostId}: ${next.left.message}`, cause: next.left })
        return
      }
      this.dispatch(next.right)
      if (this.phase === "closed") return
    }
  }

  private dispatch(env: Frame.Envelope): void {
    // Spec v5 2.3: framing starts right after READY or AUTHENTICATE, in both directions.
    if (this.segmentsPending !== undefined && (env.opcode === Frame.Opcode.Ready || env.opcode === Frame.Opcode.Authenticate)) {
      this.inbound.useSegments(this.segmentsPending)
      this.out.useSegments(this.segmentsPending)
      this.segmentsPending = undefined
    }
    const id = env.stream
    if (id < 0) {
      if (env.opcode === Frame.Opcode.Event) this.emitEvent(env)
      return
    }
    // A response to a stream no request of ours used: the server and this connection disagree on its state.
    if (id >= this.state.length || this.state[id] === FREE) {
      this.destroy({ _tag: "Protocol", message: `${this.hostId} answered stream ${id}, which no request used; connection closed` })
      return
    }
    if (this.state[id] === ORPHAN) {
      this.state[id] = FREE
      this.orphans--
      this.ids.release(id)
      return
    }
    const cb = this.callbacks[id]!
    const decodeContext = this.decodeContexts[id]
    this.callbacks[id] = undefined
    this.decodeContexts[id] = undefined
    this.state[id] = FREE
    this.deadlines.remove(id)
    this.ids.release(id)
    this.live--
    const res = Response.decodeResponseEnvelope(env, decodeContext)
    if (Either.isRight(res)) deliver(cb, undefined, res.right)
    else deliver(cb, { _tag: "Decode", error: res.left }, undefined)
    if (this.live === 0 && this.phase === "closing") this.destroy(this.closeCause!)
  }

  private emitEvent(env: Frame.Envelope): void {
    const res = Response.decodeResponseEnvelope(env)
    // An event this codec cannot read (e.g. a type added by a later server) is dropped, not fatal.
    if (Either.isLeft(res) || res.right._tag !== "Event") return
    const event = res.right.event
    for (const l of this.eventListeners) l(event)
  }

  // -------------------------------------------------------------------------------------------------------------
  // Timers

  private armTimer(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(this.onTimer, Math.max(0, at - Date.now()))
    this.timer.unref()
  }

  private readonly onTimer = (): void => {
    this.timer = undefined
    this.timerAt = Infinity
    const now = Date.now()
    const d = this.deadlines
    while (d.size > 0 && d.earliest <= now && this.phase !== "closed") {
      const id = d.first
      const timeoutMs = this.timeouts[id]!
      const cb = this.callbacks[id]!
      this.orphan(id)
      deliver(cb, { _tag: "Timeout", timeoutMs }, undefined)
    }
    if (d.size > 0 && this.phase !== "closed") this.armTimer(d.earliest)
  }

  /** The request on `id` no longer wants its response; the id waits for it, unless too many already do. */
  private orphan(id: number): void {
    this.state[id] = ORPHAN
    this.callbacks[id] = undefined
    this.decodeContexts[id] = undefined
    this.deadlines.remove(id)
    this.live--
    this.orphans++
    if (this.orphans > this.maxOrphans) {
      queueMicrotask(() =>
        this.destroy({
          _tag: "Closed",
          message: `connection to ${this.hostId} closed: more than ${this.maxOrphans} requests got no response`
        })
      )
    } else if (this.live === 0 && this.phase === "closing") {
      queueMicrotask(() => this.destroy(this.closeCause!))
    }
  }

  /** Read-idle time after which a heartbeat goes out: its probe then ends within the heartbeat interval. */
  private get heartbeatDelayMs(): number {
    return this.heartbeatIntervalMs - this.probeTimeoutMs
  }

  private scheduleHeartbeat(delayMs: number): void {
    if (this.heartbeatIntervalMs <= 0 || this.phase !== "open") return
    this.heartbeat = setTimeout(this.onHeartbeat, delayMs)
    this.heartbeat.unref()
  }

  private readonly onHeartbeat = (): void => {
    if (this.phase !== "open") return
    const idle = Date.now() - this.lastReadAt
    const due = this.heartbeatDelayMs
    if (idle < due || this.probing !== undefined) {
      this.scheduleHeartbeat(this.probing !== undefined ? due : due - idle)
      return
    }
    this.probe("heartbeat")
    this.scheduleHeartbeat(due)
  }

  /**
   * Busy and silent for `stallTimeoutMs` (a paused process, a dead network path: the socket stays open and nothing
   * comes back): stop sending here and probe. The answer clears it; no answer closes the connection, which fails
   * its requests at once, so that idempotent ones move to the next host instead of waiting out their timeout.
   */
  private readonly onStallCheck = (): void => {
    if (this.phase !== "open" || this.live === 0 || this.probing !== undefined) return
    // Timers run before the event loop reads sockets: after this process was busy (a burst of fibers, a long
    // synchronous task), answers may be waiting unread. Judge after the next read phase.
    setImmediate(this.checkStall)
  }

  private readonly checkStall = (): void => {
    if (this.phase !== "open" || this.live === 0 || this.probing !== undefined) return
    const now = Date.now()
    const limit = this.stallTimeoutMs
    if (now - this.lastReadAt >= limit && now - this.busySince >= limit) this.probe("stall")
  }

  private probe(kind: "heartbeat" | "stall"): void {
    this.probing = kind
    const timeoutMs = this.probeTimeoutMs
    const sentAt = Date.now()
    this.send(probeRequest, { timeoutMs }, (failure) => {
      // Busy (every stream id taken) is no verdict: the next check probes again.
      if (failure === undefined || failure._tag === "Busy") {
        this.probing = undefined
        return
      }
      // As for the check: read what is waiting first. Anything read since the probe went out means a slow server,
      // not a silent one (the probe's own answer may sit behind many others).
      setImmediate(() => {
        this.probing = undefined
        if (this.phase !== "open" || this.lastReadAt >= sentAt) return
        const why = kind === "stall" ? "requests in flight and" : "idle, and"
        const what = kind === "stall" ? "probe" : "heartbeat"
        this.destroy({
          _tag: "Closed",
          message: `connection to ${this.hostId} closed: ${why} nothing read for ${Date.now() - this.lastReadAt} ms, and no answer to a ${what} within ${timeoutMs} ms`,
          cause: failure
        })
      })
    })
  }

  /** An envelope body over `maxFrameBytes` is refused before it leaves (the server would close the connection). */
  private oversized(bodyBytes: number): ProtocolError.EncodeError | undefined {
    if (bodyBytes <= this.maxFrameBytes) return undefined
    return new ProtocolError.EncodeError({ message: `request of ${bodyBytes} bytes exceeds maxFrameSize (${this.maxFrameBytes} bytes)`, path: "" })
  }
}

const probeRequest: Request.Request = { _tag: "Options" }

// ---------------------------------------------------------------------------------------------------------------
// Connecting

/** Opens a TCP or TLS socket; `event` is the one that says it is usable (TLS: the server was verified). */
const openSocket = (o: ConnectionOptions): { readonly socket: net.Socket; readonly event: string } => {
  if (o.tls === undefined) return { socket: net.connect({ host: o.host, port: o.port }), event: "connect" }
  // Node verifies the certificate chain (rejectUnauthorized defaults to true) and the name: `servername` for a DNS
  // name (also sent as SNI), the IP SANs for an IP host. Only an explicit `rejectUnauthorized: false` opts out.
  const socket = tls.connect({
    ...(net.isIP(o.host) === 0 ? { servername: o.host } : {}),
    ...o.tls,
    host: o.host,
    port: o.port
  })
  return { socket, event: "secureConnect" }
}

const aborted = (o: ConnectionOptions): ConnectionFailure => ({ _tag: "Closed", message: `connection attempt to ${o.host}:${o.port} aborted` })

/** One attempt with one protocol version: socket, handshake, keyspace, all within `connectTimeoutMs`. */
const attempt = async (o: ConnectionOptions, version: 4 | 5, signal: AbortSignal | undefined): Promise<Connection> => {
  if (signal?.aborted === true) throw aborted(o)
  const timeoutMs = o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs
  const { socket, event } = openSocket(o)
  // The connection owns the socket's error and close events from the start; whatever ends the attempt (a socket
  // error, the timeout, an abort, a failed step) destroys it, which fails the step being awaited.
  const conn = new Connection(socket, version, o)
  const timer = setTimeout(() => conn.destroy({ _tag: "Timeout", timeoutMs }), timeoutMs)
  const abort = () => conn.destroy(aborted(o))
  signal?.addEventListener("abort", abort)
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once(event, resolve)
      conn.onClose(reject)
    })
    await handshake(conn, o, timeoutMs)
    conn.markOpen()
    return conn
  } catch (e) {
    conn.destroy(e as ConnectionFailure)
    // Rejects once the socket is really gone: a failed attempt leaves nothing behind.
    await conn.close(0)
    throw e
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener("abort", abort)
  }
}

const failureTags: ReadonlySet<unknown> = new Set<ConnectionFailure["_tag"]>(["Closed", "Timeout", "Busy", "Decode", "Encode", "Auth", "Protocol", "Server"])

export const isConnectionFailure = (u: unknown): u is ConnectionFailure =>
  typeof u === "object" && u !== null && failureTags.has((u as { _tag?: unknown })._tag)

/** A v5 attempt the server refused for its version: worth retrying in v4 on a new socket. */
const versionRefused = (f: ConnectionFailure): boolean => f._tag === "Protocol"

/**
 * Connects and runs the handshake. Without a pinned version it tries v5 and falls back to v4 when the server
 * refuses v5 (on a new socket: the server may close the first one). Rejects with a `ConnectionFailure` (or a
 * RangeError for a `maxInFlight` outside 1..32768). `signal` aborts the attempt: its socket is destroyed and the
 * promise rejects with a Closed failure; once resolved, the connection is the caller's and `signal` is ignored.
 */
export const connect = async (o: ConnectionOptions, signal?: AbortSignal): Promise<Connection> => {
  // Before any socket is opened, so that a bad option leaks nothing.
  checkCapacity(o.maxInFlight ?? DEFAULTS.maxInFlight)
  if (o.protocolVersion !== undefined) return attempt(o, o.protocolVersion, signal)
  // Snappy exists only in v4 (spec v5 section 2): asking for it asks for v4.
  if (o.compression === "snappy") return attempt(o, 4, signal)
  try {
    return await attempt(o, 5, signal)
  } catch (e) {
    if (versionRefused(e as ConnectionFailure)) return attempt(o, 4, signal)
    throw e
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Effect wrappers

/** How long `open`'s release waits for requests in flight before failing them. */
export const CLOSE_GRACE_MS = 2000

/** A connection for the lifetime of the scope; closing the scope closes it within `graceMs`. */
export const open = (
  options: ConnectionOptions,
  graceMs: number = CLOSE_GRACE_MS
): Effect.Effect<Connection, ConnectionFailure, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise(() => connect(options)).pipe(
      Effect.catchAll((e) => (isConnectionFailure(e.error) ? Effect.fail(e.error) : Effect.die(e.error)))
    ),
    (conn) => Effect.promise(() => conn.close(graceMs))
  )

/** One request: exactly one `Effect.async`; interruption cancels it (its stream id stays orphaned). */
export const request = (
  conn: Connection,
  req: Request.Request,
  opts: SendOptions = noSendOptions
): Effect.Effect<Response.Response, ConnectionFailure> =>
  Effect.async<Response.Response, ConnectionFailure>((resume) => {
    const id = conn.send(req, opts, (failure, res) => resume(failure === undefined ? Effect.succeed(res!) : Effect.fail(failure)))
    if (id >= 0) return Effect.sync(() => conn.cancel(id))
  })
