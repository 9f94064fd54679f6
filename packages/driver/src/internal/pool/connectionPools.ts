/**
 * ConnectionPools (the Cluster's; ConnectionPools.ts is what it shows): a pool of connections per host, sized by the host's distance, kept full in the background.
 *
 * - `get(endpoint)?.pick()` is synchronous (the request path): the open connection with the fewest requests in
 *   flight, `"busy"` when every open connection has used all its stream ids (`maxInFlight`: no queue behind
 *   it, the caller moves on to the next host), `undefined` when the host has no open connection.
 * - When the last connection of a host closes (socket death, heartbeat failure) the host is reported DOWN and
 *   reconnection starts after the schedule's first delay; the first connection back reports it UP and the pool
 *   refills to its size. `markUp` (an UP event from the control connection) makes an attempt at once. A DOWN
 *   event from the control connection has no entry point on purpose: the driver trusts its own sockets.
 * - Reconnection of each host is one fiber owned by this service's scope (a FiberMap keyed by endpoint), not the
 *   Executor's: those loops live as long as a host is down (minutes of sleeping), and a bounded pool of permits
 *   would let a few dead hosts hold up the others. Closing the scope interrupts them, aborts the attempts under
 *   way and closes every connection within `closeGrace`.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { CLOSE_GRACE_MS, type ConnectionFailure, type ConnectionOptions, describeFailure } from "../connection/connection.js"
import { HostPool as Pool, type PoolContext } from "./hostPool.js"
import { checkCapacity } from "../connection/streamIds.js"
import { type ConnectionEvent, type HostStateChange, reconnectionSchedule } from "../../ConnectionPools.js"
import type { Host } from "../../Metadata.js"
import * as Metrics from "../../Metrics.js"

import type { HostPool, PoolDistance, PoolSnapshot } from "./poolTypes.js"

export interface Options {
  /** Options of every connection (pin `protocolVersion` to the version the control connection agreed on). */
  readonly connection?: Omit<ConnectionOptions, "host" | "port">
  /** Connections per host by distance. Default 1 and 1; 0 gives the distance no pool. */
  readonly connectionsPerHost?: { readonly local?: number; readonly remote?: number }
  /** The delays between reconnection attempts. Default `reconnectionSchedule()`. */
  readonly reconnectionSchedule?: Schedule.Schedule<unknown, ConnectionFailure>
  /** How long closing a pool waits for requests in flight. Default 2 s. */
  readonly closeGrace?: Duration.DurationInput
  /**
   * Runs for each UP / DOWN transition, one at a time and in order, on a fiber of the service's scope (e.g.
   * `(c) => metadata.markHost(c.endpoint, c.state)`, or `(c) => PubSub.publish(hub, c)`). A failure is logged.
   */
  readonly onHostState?: (change: HostStateChange) => Effect.Effect<unknown>
  /** Publish connection events to this hub (another pool set's, so that one stream shows both); default a hub of its own. */
  readonly connectionEventHub?: PubSub.PubSub<ConnectionEvent>
}

export interface ConnectionPools {
  /** Creates the host's pool (connections open in the background), or resizes it; "ignored" removes it. */
  readonly ensure: (host: Host, distance: PoolDistance | "ignored") => Effect.Effect<HostPool | undefined>
  /** Closes the host's pool (within the grace period) and stops its reconnection. */
  readonly remove: (endpoint: string) => Effect.Effect<void>
  /** Synchronous, for the request path. */
  readonly get: (endpoint: string) => HostPool | undefined
  /** Probe now: an immediate attempt for a host that is missing connections (its schedule starts over). */
  readonly markUp: (endpoint: string) => Effect.Effect<void>
  readonly snapshot: Effect.Effect<ReadonlyArray<PoolSnapshot>>
  /**
   * Each pool's UP / DOWN transitions from the moment the stream runs, after `onHostState` ran for them: an UP
   * means the pool has an open connection. (The Session re-prepares its statements on a host back UP.)
   */
  readonly stateChanges: Stream.Stream<HostStateChange>
  /** Every connection's lifecycle events (ConnectionPools.ts `ConnectionEvent`) from the moment the stream runs. */
  readonly connectionEvents: Stream.Stream<ConnectionEvent>
  /** The hub behind `connectionEvents`, for other pool sets of the same Cluster to publish to. */
  readonly connectionEventHub: PubSub.PubSub<ConnectionEvent>
}

export const ConnectionPools = Context.GenericTag<ConnectionPools>("@effect-cql/driver/ConnectionPools")

const defaultSchedule = reconnectionSchedule()

const poolSize = (n: number | undefined, distance: PoolDistance): number => {
  const size = n ?? 1
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`connectionsPerHost.${distance} must be a non-negative integer, not ${size}`)
  return size
}

export const make = (options: Options = {}): Effect.Effect<ConnectionPools, never, Scope.Scope> =>
  Effect.gen(function* () {
    const connection = options.connection ?? {}
    // Bad sizes are programming errors: a defect now rather than a reconnection loop failing forever.
    const sizes = yield* Effect.sync(() => {
      if (connection.maxInFlight !== undefined) checkCapacity(connection.maxInFlight)
      return { local: poolSize(options.connectionsPerHost?.local, "local"), remote: poolSize(options.connectionsPerHost?.remote, "remote") }
    })
    const graceMs = Duration.toMillis(options.closeGrace ?? CLOSE_GRACE_MS)
    const metrics = yield* Effect.serviceOption(Metrics.MetricsService)
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const fibers = yield* FiberMap.make<string, void, never>()
    const fork = yield* FiberMap.runtime(fibers)<never>()
    const pools = new Map<string, Pool>()
    let closed = false

    // The pools report transitions from socket callbacks; a queue keeps them in order for the Effect hook, then
    // the subscribers of `stateChanges`.
    const onHostState = options.onHostState
    const changes = yield* Queue.unbounded<HostStateChange>()
    const published = yield* PubSub.unbounded<HostStateChange>()
    yield* Queue.take(changes).pipe(
      Effect.flatMap((change) =>
        (onHostState === undefined
          ? Effect.void
          : onHostState(change).pipe(Effect.catchAllCause((cause) => Effect.logWarning("effect-cql: onHostState failed", cause)))
        ).pipe(Effect.zipRight(PubSub.publish(published, change)))
      ),
      Effect.forever,
      Effect.forkScoped
    )
    // Offered from socket callbacks, in order; a subscriber that falls behind loses the oldest (sliding).
    const connectionEvents = options.connectionEventHub ?? (yield* Effect.acquireRelease(PubSub.sliding<ConnectionEvent>(1024), PubSub.shutdown))
    const ctx: PoolContext = {
      connection,
      schedule: options.reconnectionSchedule ?? defaultSchedule,
      graceMs,
      fork: (key, effect) => fork(key, effect),
      metrics: Option.isSome(metrics) ? metrics.value.forHost : undefined,
      onState: (pool, state, cause) => {
        runFork(
          state === "up"
            ? Effect.logDebug(`effect-cql: host ${pool.endpoint} is up`)
            : Effect.logDebug(`effect-cql: host ${pool.endpoint} is down`, cause)
        )
        changes.unsafeOffer({ endpoint: pool.endpoint, state, cause })
      },
      onLost: (pool, cause) => runFork(Effect.logWarning(`effect-cql: a connection to ${pool.endpoint} was lost: ${describeFailure(cause)}`)),
      onConnectionEvent: (event) => void connectionEvents.unsafeOffer(event)
    }

    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        const closing = Promise.all([...pools.values()].map((p) => p.close()))
        pools.clear()
        return FiberMap.clear(fibers).pipe(
          // Each close is bounded by the grace period already; this only guards against a socket that never closes
          // (interruptible: a finalizer is not, and an uninterruptible wait cannot be timed out).
          Effect.zipRight(Effect.promise(() => closing).pipe(Effect.interruptible, Effect.timeoutOption(graceMs + 1000)))
        )
      })
    )

    const remove = (endpoint: string) =>
      Effect.suspend(() => {
        const pool = pools.get(endpoint)
        if (pool === undefined) return Effect.void
        pools.delete(endpoint)
        const closing = pool.close()
        return FiberMap.remove(fibers, endpoint).pipe(Effect.zipRight(Effect.promise(() => closing)))
      })

    const service: ConnectionPools = {
      ensure: (host, distance) =>
        Effect.suspend(() => {
          const size = distance === "ignored" ? 0 : sizes[distance]
          if (closed) return Effect.succeed(undefined)
          if (distance === "ignored" || size === 0) return Effect.as(remove(host.endpoint), undefined)
          let pool = pools.get(host.endpoint)
          if (pool !== undefined) pool.resize(distance, size)
          else {
            pool = new Pool(host, distance, size, ctx)
            pools.set(host.endpoint, pool)
            pool.start(false, false)
          }
          return Effect.succeed(pool)
        }),
      remove,
      get: (endpoint) => pools.get(endpoint),
      markUp: (endpoint) => Effect.sync(() => pools.get(endpoint)?.probe()),
      snapshot: Effect.sync(() => Array.from(pools.values(), (p) => p.snapshot())),
      stateChanges: Stream.fromPubSub(published),
      connectionEvents: Stream.fromPubSub(connectionEvents),
      connectionEventHub: connectionEvents
    }
    return service
  })

/** The service for the lifetime of the layer (uses the MetricsService when one is provided). */
export const layer = (options?: Options): Layer.Layer<ConnectionPools> => Layer.scoped(ConnectionPools, make(options))
