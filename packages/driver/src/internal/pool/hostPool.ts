/**
 * The connections to one host: `pick` is plain TypeScript for the request path; filling and reconnecting run as
 * one Effect per host (forked by ConnectionPools on its scope) that retries on the reconnection `Schedule`.
 *
 * A connection attempt is plain callbacks inside one `Effect.async`: a connection that opens is added to the
 * pool by the callback itself, so an interruption can never drop one on the floor, and an interruption aborts
 * the attempts still connecting.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import type * as Fiber from "effect/Fiber"
import type * as Schedule from "effect/Schedule"
import type { HostPool as HostPoolApi, Pick, PoolDistance, PoolSnapshot, PoolState } from "./poolTypes.js"
import type { Host, HostState } from "../../Metadata.js"
import type { HostMetrics } from "../../Metrics.js"
import type { ConnectionEvent } from "../../ConnectionPools.js"
import { type Connection, type ConnectionFailure, type ConnectionOptions, connect, isConnectionFailure } from "../connection/connection.js"

/** What every pool of a ConnectionPools shares. */
export interface PoolContext {
  readonly connection: Omit<ConnectionOptions, "host" | "port">
  readonly schedule: Schedule.Schedule<unknown, ConnectionFailure>
  readonly graceMs: number
  /** The host went up or down (called on transitions only). */
  readonly onState: (pool: HostPool, state: HostState, cause: ConnectionFailure | undefined) => void
  /** A connection closed that the pool did not close (server gone, stalled, protocol violation). */
  readonly onLost: (pool: HostPool, cause: ConnectionFailure) => void
  /** A connection's lifecycle event, as it happens (synchronously, from the socket's callbacks). */
  readonly onConnectionEvent: (event: ConnectionEvent) => void
  /** Forks `effect` on the ConnectionPools scope under `key`, interrupting the fiber already there. */
  readonly fork: (key: string, effect: Effect.Effect<void>) => Fiber.RuntimeFiber<void, never>
  readonly metrics: ((endpoint: string) => HostMetrics) | undefined
}

/** The attempts of one round, so that an abort or a close can wait for their sockets to be gone. */
interface Round {
  readonly abort: AbortController
  readonly done: Promise<void>
}

export class HostPool implements HostPoolApi {
  readonly endpoint: string
  state: PoolState = "opening"
  /** Open connections (a connection being closed leaves this array first). */
  readonly connections: Array<Connection> = []
  readonly initialized: Effect.Effect<void>

  private readonly options: ConnectionOptions
  private readonly metrics: HostMetrics | undefined
  private readonly firstRound = Deferred.unsafeMake<void>(FiberId.none)
  private round: Round | undefined
  /** A reconnection loop runs; `loopId` tells the current one from one that was replaced. */
  private looping = false
  private loopId = 0
  /** Why the last connection attempt failed or the last connection closed. */
  private lastFailure: ConnectionFailure | undefined
  /** Rounds since a loss or a failed round, until a connection comes back (ConnectionEvent's reconnect events). */
  private recovering = false
  private attempts = 0

  constructor(
    host: Host,
    public distance: PoolDistance,
    public size: number,
    private readonly ctx: PoolContext
  ) {
    this.endpoint = host.endpoint
    this.options = { ...ctx.connection, host: host.address, port: host.port }
    this.metrics = ctx.metrics?.(host.endpoint)
    this.initialized = Deferred.await(this.firstRound)
  }

  /**
   * Synchronous: the open connection with the fewest requests in flight, "busy" when every one is full. A connection
   * probed for a stall is passed over, so a host whose only connection stalled looks unconnected until it answers.
   */
  pick(): Pick {
    const cs = this.connections
    let best: Connection | undefined
    let bestLoad = Infinity
    let full = false
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!
      if (!c.accepting) continue
      if (c.available === 0) {
        full = true
        continue
      }
      const load = c.inFlight
      if (load < bestLoad) {
        best = c
        bestLoad = load
      }
    }
    return best ?? (full ? "busy" : undefined)
  }

  inFlight(): number {
    let n = 0
    for (const c of this.connections) if (c.isOpen) n += c.inFlight
    return n
  }

  silentMs(now: number): number {
    let last = 0
    let flying = 0
    for (const c of this.connections) {
      if (!c.isOpen) continue
      flying += c.inFlight
      if (c.lastReadAt > last) last = c.lastReadAt
    }
    return flying === 0 || last === 0 ? 0 : now - last
  }

  get reconnecting(): boolean {
    return this.looping
  }

  private get missing(): number {
    return this.size - this.connections.length
  }

  snapshot(): PoolSnapshot {
    return {
      endpoint: this.endpoint,
      distance: this.distance,
      size: this.size,
      state: this.state,
      inFlight: this.connections.map((c) => c.inFlight),
      reconnecting: this.reconnecting
    }
  }

  /**
   * Fills the pool in the background. `delayFirst`: wait the schedule's first delay before the first attempt
   * (after a loss, so that a node restarting is not hammered); `replace`: restart a loop that is already waiting
   * (its schedule starts over).
   */
  start(delayFirst: boolean, replace: boolean): void {
    if (this.state === "closed" || this.missing <= 0 || (this.looping && !replace)) return
    const id = ++this.loopId
    this.looping = true
    // Forking under the endpoint interrupts the loop it replaces.
    this.ctx.fork(this.endpoint, this.reconnect(id, delayFirst)).addObserver(() => this.loopEnded(id))
  }

  private loopEnded(id: number): void {
    if (this.loopId === id) this.looping = false
  }

  /** "Probe now" (an UP event from the control connection): an attempt at once, unless one is under way. */
  probe(): void {
    if (this.round === undefined) this.start(false, true)
  }

  /** A new distance: closes the surplus connections (gracefully) or starts opening the missing ones. */
  resize(distance: PoolDistance, size: number): void {
    this.distance = distance
    this.size = size
    if (this.connections.length > size) {
      for (const c of this.connections.splice(size)) void c.close(this.ctx.graceMs)
    } else {
      this.start(false, false)
    }
  }

  /** Stops every attempt and closes every connection within the grace period; resolves once all sockets are gone. */
  async close(): Promise<void> {
    if (this.state === "closed") return
    this.state = "closed"
    Deferred.unsafeDone(this.firstRound, Effect.void)
    const round = this.round
    round?.abort.abort()
    const open = this.connections.splice(0)
    await Promise.all([round?.done, ...open.map((c) => c.close(this.ctx.graceMs))])
  }

  // -------------------------------------------------------------------------------------------------------------

  private reconnect(id: number, delayFirst: boolean): Effect.Effect<void> {
    let skip = delayFirst
    const fill = Effect.suspend(() => {
      if (!skip) return this.openMissing
      skip = false
      return Effect.fail(this.lastFailure ?? lostConnection(this.endpoint))
    }).pipe(Effect.retry(this.ctx.schedule))
    // Full: the loop ends, in the same step as the check, so that a loss or a resize right after starts a new one.
    const loop: Effect.Effect<void, ConnectionFailure> = Effect.zipRight(
      fill,
      Effect.suspend(() => {
        if (this.state !== "closed" && this.missing > 0) return loop
        this.loopEnded(id)
        return Effect.void
      })
    )
    return Effect.catchAll(loop, (failure) => {
      this.loopEnded(id)
      return Effect.logWarning(`effect-cql: reconnection to ${this.endpoint} stopped: its schedule ended`, failure)
    })
  }

  /** One round: opens the missing connections at once; fails unless the pool is full afterwards. */
  private readonly openMissing: Effect.Effect<void, ConnectionFailure> = Effect.async((resume) => {
    const missing = this.missing
    if (this.state === "closed" || missing <= 0) return resume(Effect.void)
    if (this.recovering) this.ctx.onConnectionEvent({ _tag: "ReconnectAttempt", endpoint: this.endpoint, attempt: ++this.attempts })
    const abort = new AbortController()
    let pending = missing
    let failure: ConnectionFailure | undefined
    let finish!: () => void
    const round: Round = { abort, done: new Promise((resolve) => (finish = resolve)) }
    this.round = round
    const settle = () => {
      if (--pending > 0) return
      if (this.round === round) this.round = undefined
      finish()
      // Aborted: the pool is closing (or the fiber was interrupted, and then `resume` does nothing).
      resume(abort.signal.aborted ? Effect.void : this.endOfRound(failure))
    }
    for (let i = 0; i < missing; i++) {
      connect(this.options, abort.signal).then(
        (conn) => {
          if (abort.signal.aborted || !this.add(conn)) void conn.close(0).then(settle)
          else settle()
        },
        (e: unknown) => {
          failure = isConnectionFailure(e) ? e : { _tag: "Closed", message: String(e), cause: e }
          settle()
        }
      )
    }
    return Effect.sync(() => abort.abort())
  })

  private endOfRound(failure: ConnectionFailure | undefined): Effect.Effect<void, ConnectionFailure> {
    Deferred.unsafeDone(this.firstRound, Effect.void)
    if (failure !== undefined) {
      this.lastFailure = failure
      this.recovering = true
      if (this.connections.length === 0 && this.state === "opening") this.setState("down", failure)
      return Effect.fail(failure)
    }
    // Connections that closed right after opening: wait for the schedule rather than spin.
    return this.missing > 0 ? Effect.fail(this.lastFailure ?? lostConnection(this.endpoint)) : Effect.void
  }

  /** Takes an opened connection; false when the pool wants no more (closed, or shrunk meanwhile). */
  private add(conn: Connection): boolean {
    if (this.state === "closed" || this.missing <= 0) return false
    this.connections.push(conn)
    const m = this.metrics
    m?.connectionOpened()
    conn.onClose((cause) => {
      m?.connectionClosed()
      const lost = this.lost(conn, cause)
      this.ctx.onConnectionEvent({ _tag: "Closed", endpoint: this.endpoint, open: this.connections.length, lost, cause })
    })
    this.ctx.onConnectionEvent({ _tag: "Connected", endpoint: this.endpoint, open: this.connections.length })
    if (this.recovering) {
      this.ctx.onConnectionEvent({ _tag: "Reconnected", endpoint: this.endpoint, attempts: this.attempts })
      this.recovering = false
      this.attempts = 0
    }
    if (this.state !== "up") this.setState("up", undefined)
    return true
  }

  /** A connection closed: true when the pool lost it, false when it had let it go (shrink, close). */
  private lost(conn: Connection, cause: ConnectionFailure): boolean {
    const i = this.connections.indexOf(conn)
    // Not ours any more: removed on purpose (shrink, close).
    if (i < 0) return false
    this.connections.splice(i, 1)
    this.lastFailure = cause
    this.recovering = true
    this.ctx.onLost(this, cause)
    if (this.connections.length === 0) this.setState("down", cause)
    this.start(true, false)
    return true
  }

  private setState(state: "up" | "down", cause: ConnectionFailure | undefined): void {
    this.state = state
    this.ctx.onState(this, state, cause)
  }
}

const lostConnection = (endpoint: string): ConnectionFailure => ({ _tag: "Closed", message: `connections to ${endpoint} closed` })
