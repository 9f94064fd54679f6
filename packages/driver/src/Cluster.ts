/**
 * The Cluster: what persists between Sessions, as one scoped service. It holds the control connection (which
 * watches the cluster and keeps the Metadata current), the Metadata with its TokenMap, the host events, a pool of
 * connections per host, the registry of prepared statements and UDT Schemas, the metrics, one timestamp generator
 * and the executor. Sessions (Session.ts) are scoped views over it: any number of them, opened and closed while it
 * lives, share all of that; closing a Session never closes its Cluster, and closing the Cluster closes its open
 * Sessions first (each refuses new requests and lets its requests in flight finish within the grace period), then
 * the pools and the control connection.
 *
 * Its facets are read-only: what changes them (metadata refreshes, events, pool sizes) is the Cluster's own work,
 * and the Sessions' (internal/clusterCore.ts).
 *
 * Pools: one per host, sized by distance, kept in step with the Metadata (hosts added, removed, up); a host's
 * distance is the most local one that the cluster's policy or any open Session's (or profile's) policy gives it,
 * so a profile that routes to another data centre finds connections there. A host back UP gets every known
 * prepared statement again in the background (the Executor).
 *
 *   const ClusterLive = Cluster.layer({ contactPoints: ["127.0.0.1"], localDataCenter: "dc1" })
 *   const program = Effect.scoped(Effect.gen(function* () {
 *     const a = yield* Session.make({ keyspace: "app" })
 *     const b = yield* Session.make({ keyspace: "audit", defaultConsistency: "QUORUM" })
 *     ...
 *   })).pipe(Effect.provide(ClusterLive))
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as tls from "node:tls"
import type * as AddressTranslator from "./AddressTranslator.js"
import * as AuthProvider from "./AuthProvider.js"
import type * as ConnectionPools from "./ConnectionPools.js"
import type * as ControlConnection from "./ControlConnection.js"
import * as CqlError from "./CqlError.js"
import * as Executor from "./Executor.js"
import type * as HostEvents from "./HostEvents.js"
import * as HostEventHub from "./internal/control/hostEventHub.js"
import * as ClusterCore from "./internal/clusterCore.js"
import * as Control from "./internal/control/controlConnection.js"
import * as Pools from "./internal/pool/connectionPools.js"
import type { Connection, ConnectionFailure, ConnectionOptions } from "./internal/connection/connection.js"
import * as Defaults from "./internal/defaults.js"
import { fromStartFailure } from "./internal/request/failure.js"
import { Messages } from "./internal/request/messages.js"
import { PrepareHandler } from "./internal/request/prepareHandler.js"
import * as LoadBalancingPolicy from "./LoadBalancingPolicy.js"
import type { Host } from "./Metadata.js"
import * as MetadataStore from "./internal/metadata/metadataStore.js"
import type * as MetadataService from "./MetadataService.js"
import * as Metrics from "./Metrics.js"
import type * as Registry from "./Registry.js"
import * as RegistryStore from "./internal/request/registryStore.js"
import * as TimestampGenerator from "./TimestampGenerator.js"

export interface ClusterConfig {
  /** "host" or "host:port": where the control connection starts; the rest of the cluster is discovered. */
  readonly contactPoints: ReadonlyArray<string>
  /** Default 9042. */
  readonly port?: number
  /**
   * The data centre whose nodes are local: the default load balancing keeps requests there. A name no host has
   * fails the layer with `UnknownDataCenter`, which lists the data centres found.
   */
  readonly localDataCenter?: string
  /**
   * The keyspace of Sessions that name none, and the one the pooled connections start in (`USE`): on protocol v4,
   * which has no per-request keyspace, Sessions in another keyspace open connections of their own.
   */
  readonly keyspace?: string
  /** SASL PLAIN (PasswordAuthenticator): the same as `authProvider: AuthProvider.plain(credentials)`. */
  readonly credentials?: { readonly username: string; readonly password: Redacted.Redacted<string> }
  /**
   * Authentication by any mechanism (AuthProvider.ts): it answers the servers that ask for it. Takes precedence
   * over `credentials`.
   */
  readonly authProvider?: AuthProvider.AuthProvider
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
  /** The default timeout of one attempt, for every Session. Default 12 s. */
  readonly requestTimeout?: Duration.DurationInput
  /**
   * A connection that reads nothing for this long is closed (a half-open socket): a heartbeat goes out in time for
   * its answer to arrive within the interval. 0 disables. Default 30 s.
   */
  readonly heartbeatInterval?: Duration.DurationInput
  /**
   * A connection with requests in flight that reads nothing for this long takes no new requests and is probed; with
   * no answer within `probeTimeout` it is closed, and its idempotent requests go to the next host. 0 disables.
   * Default 1 s.
   */
  readonly stallTimeout?: Duration.DurationInput
  /** How long a probe (stall or heartbeat) waits for its answer. Default 1 s. */
  readonly probeTimeout?: Duration.DurationInput
  /**
   * The largest frame body, in bytes, sent or accepted: a larger request fails with EncodeError before it is sent,
   * and a larger response closes the connection. Default 256 MiB (the protocol's limit).
   */
  readonly maxFrameSize?: number
  /** Delays between reconnection attempts to a host. Default exponential from 1 s, capped at 60 s, jittered. */
  readonly reconnectionSchedule?: Schedule.Schedule<unknown, ConnectionFailure>
  /** The cluster's load balancing, and its Sessions' default: token-aware over DC-aware (with `localDataCenter`). */
  readonly loadBalancing?: LoadBalancingPolicy.LoadBalancingPolicy
  /** How long closing waits for requests in flight (Sessions, then pools). Default 5 s. */
  readonly shutdownGracePeriod?: Duration.DurationInput
  /** Debounce window of metadata refreshes after events. Default 1 s. */
  readonly refreshWindow?: Duration.DurationInput
  /** Management tasks the Executor runs at once. Default 4. */
  readonly executorSize?: number
  /**
   * Prepared statements the registry keeps (the least recently used go first, counted by
   * `cql_prepared_evictions_total`); a dropped one is prepared again when next run. Default 10,000.
   */
  readonly maxPreparedStatements?: number
  /**
   * Who gives writes their timestamps: "client" (default; a monotonic generator shared by every Session) or
   * "server" (none sent: each coordinator's clock). A TimestampGenerator provided to the layer goes before both.
   */
  readonly timestamps?: "client" | "server"
  /**
   * Maps the address every node advertises (system.local, system.peers_v2 / system.peers, topology and status
   * events) to the one to connect to, for NAT, cloud or Kubernetes networks (AddressTranslator.ts). Default: as
   * advertised. A host whose translation throws or gives an invalid address is skipped (a logged
   * `AddressTranslationError`).
   */
  readonly addressTranslator?: AddressTranslator.AddressTranslator
}

/** The pools, as a Cluster shows them. */
export interface PoolsView {
  /** Each host's pool now: distance, size, state, requests in flight per connection. */
  readonly snapshot: Effect.Effect<ReadonlyArray<ConnectionPools.PoolSnapshot>>
  /** Each pool's UP / DOWN transitions from the moment the stream runs. */
  readonly stateChanges: Stream.Stream<ConnectionPools.HostStateChange>
  /** Each pooled connection's lifecycle (connected, closed with its cause, reconnect attempts, reconnected) from the moment the stream runs. */
  readonly connectionEvents: Stream.Stream<ConnectionPools.ConnectionEvent>
}

export interface ClusterService {
  readonly config: ClusterConfig
  /** The protocol version every connection of the cluster speaks (agreed by the control connection). */
  readonly protocolVersion: 4 | 5
  /** Hosts, schema and token map, as an immutable snapshot read without I/O. */
  readonly metadata: MetadataService.MetadataService
  /** Host Added / Removed / Up / Down and schema changes. */
  readonly events: HostEvents.HostEvents
  /** Prepared statements and UDT Schemas (`registerUdt`), shared by every Session. */
  readonly registry: Registry.RegistryService
  readonly metrics: Metrics.MetricsService
  /** Write timestamps, one sequence for every Session (or none: the server's). */
  readonly timestamps: TimestampGenerator.TimestampGenerator
  /** The bounded fiber pool for management work. */
  readonly executor: Executor.Executor
  /** The control connection: its host, refreshes, schema agreement. */
  readonly control: ControlConnection.ControlConnectionService
  readonly pools: PoolsView
}

export class Cluster extends Context.Tag("@effect-cql/driver/Cluster")<Cluster, ClusterService>() {}

/** The options every connection of the cluster shares (the control connection's and the pools'). */
const connectionOptions = (config: ClusterConfig): Omit<ConnectionOptions, "host" | "port"> => {
  const o: { -readonly [K in keyof Omit<ConnectionOptions, "host" | "port">]: Omit<ConnectionOptions, "host" | "port">[K] } = {
    connectTimeoutMs: Defaults.millisOr(config.connectTimeout, Defaults.CONNECT_TIMEOUT_MS),
    requestTimeoutMs: Defaults.millisOr(config.requestTimeout, Defaults.REQUEST_TIMEOUT_MS),
    heartbeatIntervalMs: Defaults.millisOr(config.heartbeatInterval, Defaults.HEARTBEAT_INTERVAL_MS),
    stallTimeoutMs: Defaults.millisOr(config.stallTimeout, Defaults.STALL_TIMEOUT_MS),
    probeTimeoutMs: Defaults.millisOr(config.probeTimeout, Defaults.PROBE_TIMEOUT_MS),
    driverName: Defaults.DRIVER_NAME,
    driverVersion: Defaults.DRIVER_VERSION
  }
  if (config.protocolVersion !== undefined) o.protocolVersion = config.protocolVersion
  if (config.compression !== undefined) o.compression = config.compression
  const authProvider = config.authProvider ?? (config.credentials === undefined ? undefined : AuthProvider.plain(config.credentials))
  if (authProvider !== undefined) o.authProvider = authProvider
  if (config.tls !== undefined) o.tls = config.tls
  if (config.maxRequestsPerConnection !== undefined) o.maxInFlight = config.maxRequestsPerConnection
  if (config.maxFrameSize !== undefined) o.maxFrameBytes = config.maxFrameSize
  return o
}

/** The options of a pool set whose connections start in `keyspace`. */
const poolOptions = (config: ClusterConfig, protocolVersion: 4 | 5, keyspace: string | undefined): Pools.Options => {
  const perHost = config.connectionsPerHost
  return {
    connection: { ...connectionOptions(config), protocolVersion, ...(keyspace === undefined ? {} : { keyspace }) },
    ...(perHost === undefined ? {} : { connectionsPerHost: typeof perHost === "number" ? { local: perHost, remote: perHost } : perHost }),
    ...(config.reconnectionSchedule === undefined ? {} : { reconnectionSchedule: config.reconnectionSchedule }),
    closeGrace: Defaults.millisOr(config.shutdownGracePeriod, Defaults.SHUTDOWN_GRACE_MS)
  }
}

const rank = { local: 0, remote: 1, ignored: 2 } as const

/** `localDataCenter` must name a data centre some host is in: a typo would otherwise route nowhere. */
const checkDataCenter = (config: ClusterConfig, metadata: MetadataStore.MetadataStore) =>
  Effect.suspend(() => {
    const dc = config.localDataCenter
    if (dc === undefined) return Effect.void
    const found = new Set<string>()
    for (const h of metadata.current().hosts.values()) if (h.datacenter !== undefined) found.add(h.datacenter)
    return found.has(dc) ? Effect.void : Effect.fail(new CqlError.UnknownDataCenter({ dataCenter: dc, found: [...found].sort() }))
  })

// Built interruptibly: inside an uninterruptible region (a layer built in an `acquire`) its background fibers
// would inherit that region, and closing the scope would wait on them forever.
const make = (config: ClusterConfig): Effect.Effect<
  ClusterService,
  CqlError.UnknownDataCenter | CqlError.UnknownKeyspace,
  | Scope.Scope
  | MetadataStore.MetadataStore
  | HostEventHub.HostEventHub
  | Control.ControlConnection
  | Pools.ConnectionPools
  | RegistryStore.RegistryStore
  | Metrics.MetricsService
  | TimestampGenerator.TimestampGenerator
  | Executor.Executor
> =>
  Effect.gen(function* () {
    const metadata = yield* MetadataStore.MetadataStore
    const events = yield* HostEventHub.HostEventHub
    const control = yield* Control.ControlConnection
    const pools = yield* Pools.ConnectionPools
    const registry = yield* RegistryStore.RegistryStore
    const metrics = yield* Metrics.MetricsService
    const timestamps = yield* TimestampGenerator.TimestampGenerator
    const executor = yield* Executor.Executor
    yield* checkDataCenter(config, metadata)
    // The pools' connections start in `keyspace` (USE): one that does not exist would keep them from ever opening.
    if (config.keyspace !== undefined && !metadata.current().keyspaces.has(config.keyspace)) {
      return yield* Effect.fail(new CqlError.UnknownKeyspace({ keyspace: config.keyspace }))
    }

    const loadBalancing = config.loadBalancing ?? LoadBalancingPolicy.defaultPolicy({ localDc: config.localDataCenter })
    const requestTimeoutMs = Defaults.millisOr(config.requestTimeout, Defaults.REQUEST_TIMEOUT_MS)
    const shutdownGraceMs = Defaults.millisOr(config.shutdownGracePeriod, Defaults.SHUTDOWN_GRACE_MS)

    // The policies that size the pools: the cluster's, then each open Session's and profile's (a multiset).
    const policies: Array<LoadBalancingPolicy.LoadBalancingPolicy> = [loadBalancing]
    const distance = (host: Host): LoadBalancingPolicy.Distance => {
      const md = metadata.current()
      let best: LoadBalancingPolicy.Distance = "ignored"
      for (const p of policies) {
        const d = p.distance(host, md)
        if (rank[d] < rank[best]) best = d
        if (best === "local") break
      }
      return best
    }
    // Every pool set in step with the topology: the shared one and the Sessions' keyspace pools.
    const synced = new Set<Pools.ConnectionPools>()
    // Sized, then the first round of each pool's connections: requests right after should find them.
    const ensureAll = (set: Pools.ConnectionPools) =>
      Effect.forEach(metadata.current().hosts.values(), (host) => set.ensure(host, distance(host))).pipe(
        Effect.flatMap((all) => Effect.forEach(all, (pool) => (pool === undefined ? Effect.void : pool.initialized), { concurrency: "unbounded", discard: true }))
      )
    const resize = Effect.suspend(() => Effect.forEach(synced, ensureAll, { discard: true }))

    /** Keeps `set` sized and in step with the metadata's events for the caller's scope. */
    const sync = (set: Pools.ConnectionPools) =>
      Effect.gen(function* () {
        // Subscribe before the first pass, so that no host added in between is missed.
        const queue = yield* events.subscribe
        yield* ensureAll(set)
        synced.add(set)
        yield* Effect.addFinalizer(() => Effect.sync(() => synced.delete(set)))
        yield* Queue.take(queue).pipe(
          Effect.flatMap((event) => {
            switch (event._tag) {
              case "Added":
                return set.ensure(event.host, distance(event.host))
              case "Up":
                // A node the cluster says is back: size its pool and probe it now rather than on the schedule.
                return Effect.zipRight(set.ensure(event.host, distance(event.host)), set.markUp(event.host.endpoint))
              case "Removed":
                return set.remove(event.host.endpoint)
              default:
                // Down from gossip does not close healthy sockets: the pools trust their own connections.
                return Effect.void
            }
          }),
          Effect.forever,
          Effect.forkScoped
        )
      })

    yield* sync(pools)

    const metricsOf = (conn: Connection): Metrics.HostMetrics => (conn.hostMetrics ??= metrics.forHost(conn.hostId))
    const prepares = new PrepareHandler(
      registry,
      new Messages({ consistency: Defaults.CONSISTENCY, pageSize: Defaults.PAGE_SIZE, requestTimeoutMs, timestamps, protocolVersion: control.protocolVersion }),
      metricsOf
    )

    // A host back UP may have lost its prepared statements: prepare them there now. On v4 a statement depends on
    // the connection's keyspace, so the shared pools re-prepare only those of their own keyspace; the others are
    // re-prepared on their first UNPREPARED.
    yield* pools.stateChanges.pipe(
      Stream.runForEach((change) => {
        if (change.state !== "up") return Effect.void
        const all = registry.allPrepared()
        const statements = control.protocolVersion >= 5 ? all : all.filter((s) => s.keyspace === config.keyspace)
        return executor.submit("prepare on a host back up", prepares.allOn(pools, change.endpoint, statements))
      }),
      Effect.forkScoped
    )

    // Sessions close before the pools and the control connection (this finalizer runs before the services').
    const sessions = new Set<Effect.Effect<void>>()
    yield* Effect.addFinalizer(() => Effect.forEach([...sessions], (close) => close, { concurrency: "unbounded", discard: true }))

    const core: ClusterCore.ClusterCore = {
      metadata,
      events,
      control,
      pools,
      registry,
      metrics,
      timestamps,
      executor,
      protocolVersion: control.protocolVersion,
      poolKeyspace: config.keyspace,
      requestTimeoutMs,
      shutdownGraceMs,
      loadBalancing,
      metricsOf,
      prepares,
      usePolicies: (added) =>
        Effect.acquireRelease(
          Effect.zipRight(
            Effect.sync(() => void policies.push(...added)),
            resize
          ),
          () =>
            Effect.zipRight(
              Effect.sync(() => {
                for (const p of added) policies.splice(policies.indexOf(p), 1)
              }),
              resize
            )
        ),
      keyspacePools: (keyspace) =>
        Effect.gen(function* () {
          const set = yield* Pools.make({ ...poolOptions(config, control.protocolVersion, keyspace), connectionEventHub: pools.connectionEventHub }).pipe(
            Effect.provideService(Metrics.MetricsService, metrics)
          )
          yield* sync(set)
          return set
        }),
      addSession: (close) =>
        Effect.acquireRelease(
          Effect.sync(() => void sessions.add(close)),
          () => Effect.sync(() => void sessions.delete(close))
        )
    }
    const cluster: ClusterService = {
      config,
      protocolVersion: control.protocolVersion,
      metadata,
      events,
      registry,
      metrics,
      timestamps,
      executor,
      control,
      pools: { snapshot: pools.snapshot, stateChanges: pools.stateChanges, connectionEvents: pools.connectionEvents }
    }
    ClusterCore.register(cluster, core)
    return cluster
  }).pipe(Effect.interruptible)

/**
 * The Cluster for the layer's scope. It fails when no contact point answers (`NoHostAvailable`, with each one's
 * cause), when every host refused the credentials (`AuthenticationError`), when `localDataCenter` names a data
 * centre no host is in (`UnknownDataCenter`), or when `keyspace` does not exist (`UnknownKeyspace`).
 */
export const layer = (config: ClusterConfig): Layer.Layer<Cluster, CqlError.ConnectError | CqlError.UnknownKeyspace> => {
  const connection = connectionOptions(config)
  const control = Control.layerWithMetadata({
    contactPoints: config.contactPoints,
    ...(config.port === undefined ? {} : { port: config.port }),
    connection,
    ...(config.refreshWindow === undefined ? {} : { refreshWindow: config.refreshWindow }),
    ...(config.addressTranslator === undefined ? {} : { addressTranslator: config.addressTranslator })
  })
  const pools = Layer.scoped(
    Pools.ConnectionPools,
    Effect.flatMap(Effect.all([MetadataStore.MetadataStore, Control.ControlConnection]), ([metadata, control]) =>
      Pools.make({
        ...poolOptions(config, control.protocolVersion, config.keyspace),
        onHostState: (change) => metadata.markHost(change.endpoint, change.state)
      })
    )
  )
  const services = pools.pipe(
    Layer.provideMerge(control),
    Layer.provideMerge(
      Layer.mergeAll(
        RegistryStore.layer(config.maxPreparedStatements),
        TimestampGenerator.layerProvidedOr(config.timestamps),
        Executor.layer(config.executorSize ?? Defaults.EXECUTOR_SIZE)
      ).pipe(Layer.provideMerge(Metrics.layer))
    )
  )
  return Layer.scoped(Cluster, make(config)).pipe(
    Layer.provide(services),
    Layer.mapError((e) => (e._tag === "NoHostAvailable" ? fromStartFailure(e) : e))
  )
}

/** The same, with settings read through Effect Config (e.g. from the environment). */
export const layerConfig = (
  config: Config.Config.Wrap<ClusterConfig>
): Layer.Layer<Cluster, CqlError.ConnectError | CqlError.UnknownKeyspace | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
