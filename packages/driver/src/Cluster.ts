/**
 * The cluster's resources, composed: the control connection watches the cluster and keeps the MetadataService
 * current; HostEvents carries what changes; ConnectionPools keeps a pool per host sized by the load-balancing
 * policy's distance, in step with the metadata (hosts added, removed, up, down), and reports the hosts its own
 * sockets find down or up again. Beside them sit the registry, metrics, timestamp generator and executor that every
 * Session of the cluster shares.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as tls from "node:tls"
import * as ConnectionPools from "./ConnectionPools.js"
import * as ControlConnection from "./ControlConnection.js"
import * as Executor from "./Executor.js"
import * as HostEvents from "./HostEvents.js"
import type { ConnectionFailure, ConnectionOptions } from "./internal/connection/connection.js"
import * as LoadBalancingPolicy from "./LoadBalancingPolicy.js"
import type { Host } from "./Metadata.js"
import * as MetadataService from "./MetadataService.js"
import * as Metrics from "./Metrics.js"
import * as Registry from "./Registry.js"
import * as TimestampGenerator from "./TimestampGenerator.js"

export interface ClusterConfig {
  /** "host" or "host:port": where the control connection starts; the rest of the cluster is discovered. */
  readonly contactPoints: ReadonlyArray<string>
  /** Default 9042. */
  readonly port?: number
  /** The data centre whose nodes are local: the default load balancing keeps requests there. */
  readonly localDataCenter?: string
  /** The keyspace every connection starts in (`USE`). */
  readonly keyspace?: string
  readonly credentials?: { readonly username: string; readonly password: Redacted.Redacted<string> }
  /** TLS options (certificate and hostname are verified unless `rejectUnauthorized: false`); absent = plain TCP. */
  readonly tls?: tls.ConnectionOptions
  /** Pin the protocol version; by default v5 is tried, then v4. */
  readonly protocolVersion?: 4 | 5
  readonly compression?: "lz4" | "snappy" | "none"
  /** Connections per host by distance. Default 1 local, 1 remote (each carries many requests at once). */
  readonly connectionsPerHost?: number | { readonly local?: number; readonly remote?: number }
  /** Requests in flight per connection before it reports busy. Default 2048 (at most 32768). */
  readonly maxRequestsPerConnection?: number
  readonly connectTimeout?: Duration.DurationInput
  readonly requestTimeout?: Duration.DurationInput
  readonly heartbeatInterval?: Duration.DurationInput
  /** Delays between reconnection attempts to a host. Default exponential from 1 s, capped at 60 s, jittered. */
  readonly reconnectionSchedule?: Schedule.Schedule<unknown, ConnectionFailure>
  /** Load balancing: by default token-aware over DC-aware (with `localDataCenter`) or round robin. */
  readonly loadBalancing?: LoadBalancingPolicy.LoadBalancingPolicy
  /** How long closing waits for requests in flight. Default 5 s. */
  readonly shutdownGracePeriod?: Duration.DurationInput
  /** Debounce window of metadata refreshes after events. Default 1 s. */
  readonly refreshWindow?: Duration.DurationInput
}

export type ClusterServices =
  | ControlConnection.ControlConnectionService
  | MetadataService.MetadataService
  | HostEvents.HostEvents
  | ConnectionPools.ConnectionPools
  | Registry.RegistryService
  | Metrics.MetricsService
  | TimestampGenerator.TimestampGenerator
  | Executor.Executor

const millis = (d: Duration.DurationInput | undefined, fallback: number) => (d === undefined ? fallback : Duration.toMillis(d))

/** The options every connection of the cluster shares (the control connection's and the pools'). */
export const connectionOptions = (config: ClusterConfig): Omit<ConnectionOptions, "host" | "port"> => {
  const o: { -readonly [K in keyof Omit<ConnectionOptions, "host" | "port">]: Omit<ConnectionOptions, "host" | "port">[K] } = {
    connectTimeoutMs: millis(config.connectTimeout, 5_000),
    requestTimeoutMs: millis(config.requestTimeout, 12_000),
    heartbeatIntervalMs: millis(config.heartbeatInterval, 30_000),
    driverName: "effect-cql",
    driverVersion: "0.1.0"
  }
  if (config.protocolVersion !== undefined) o.protocolVersion = config.protocolVersion
  if (config.compression !== undefined) o.compression = config.compression
  if (config.credentials !== undefined) o.credentials = { username: config.credentials.username, password: Redacted.value(config.credentials.password) }
  if (config.tls !== undefined) o.tls = config.tls
  if (config.maxRequestsPerConnection !== undefined) o.maxInFlight = config.maxRequestsPerConnection
  return o
}

export const loadBalancingOf = (config: ClusterConfig): LoadBalancingPolicy.LoadBalancingPolicy =>
  config.loadBalancing ?? LoadBalancingPolicy.defaultPolicy({ localDc: config.localDataCenter })

/** Keeps a pool per host, sized by distance, in step with the metadata and its events. */
const syncPools = (policy: LoadBalancingPolicy.LoadBalancingPolicy) =>
  Effect.gen(function* () {
    const metadata = yield* MetadataService.MetadataService
    const pools = yield* ConnectionPools.ConnectionPools
    const events = yield* HostEvents.HostEvents
    const ensure = (host: Host) => pools.ensure(host, policy.distance(host, metadata.current()))
    // Subscribe before the first pass, so that no host added in between is missed.
    const queue = yield* events.subscribe
    const initial = yield* Effect.forEach(metadata.current().hosts.values(), ensure)
    // The Session's first requests should find connections: wait for the first round of each pool.
    yield* Effect.forEach(initial, (pool) => (pool === undefined ? Effect.void : pool.initialized), { concurrency: "unbounded", discard: true })
    yield* Queue.take(queue).pipe(
      Effect.flatMap((event) => {
        switch (event._tag) {
          case "Added":
            return ensure(event.host)
          case "Up":
            // A node the cluster says is back: size its pool and probe it now rather than on the schedule.
            return Effect.zipRight(ensure(event.host), pools.markUp(event.host.endpoint))
          case "Removed":
            return pools.remove(event.host.endpoint)
          default:
            // Down from gossip does not close healthy sockets: the pools trust their own connections.
            return Effect.void
        }
      }),
      Effect.forever,
      Effect.forkScoped
    )
  })

/** The cluster's services, built and kept in sync for the life of the layer. */
export const layer = (config: ClusterConfig): Layer.Layer<ClusterServices, ControlConnection.ControlConnectionError | import("./CqlError.js").NoHostAvailable> => {
  const connection = connectionOptions(config)
  const control = ControlConnection.layerWithMetadata({
    contactPoints: config.contactPoints,
    ...(config.port === undefined ? {} : { port: config.port }),
    connection,
    ...(config.refreshWindow === undefined ? {} : { refreshWindow: config.refreshWindow })
  })
  const perHost = config.connectionsPerHost
  const pools = Layer.scoped(
    ConnectionPools.ConnectionPools,
    Effect.flatMap(Effect.all([MetadataService.MetadataService, ControlConnection.ControlConnectionService]), ([metadata, control]) =>
      ConnectionPools.make({
        connection: {
          ...connection,
          protocolVersion: control.protocolVersion,
          ...(config.keyspace === undefined ? {} : { keyspace: config.keyspace })
        },
        ...(perHost === undefined ? {} : { connectionsPerHost: typeof perHost === "number" ? { local: perHost, remote: perHost } : perHost }),
        ...(config.reconnectionSchedule === undefined ? {} : { reconnectionSchedule: config.reconnectionSchedule }),
        closeGrace: millis(config.shutdownGracePeriod, 5_000),
        onHostState: (change) => metadata.markHost(change.endpoint, change.state)
      })
    )
  )
  const topology = Layer.scopedDiscard(syncPools(loadBalancingOf(config))).pipe(Layer.provideMerge(pools), Layer.provideMerge(control))
  return Layer.mergeAll(topology, Registry.layer, Metrics.layer, TimestampGenerator.layerMonotonic, Executor.layer())
}
