/**
 * What a Session needs of its Cluster beyond the public, read-only facets: the services with their mutators, the
 * pools, the cluster's prepare handler, and the hooks a Session registers itself with (its load-balancing policies,
 * which size the pools; its close, which the Cluster runs before its own). Kept out of the public `Cluster`
 * interface: it is found by the Cluster value (`coreOf`), so a test Cluster (packages/testing) provides the facets
 * without any of this, and `Session.make` over it says plainly that it needs a live one.
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Pools from "./pool/connectionPools.js"
import type * as Executor from "../Executor.js"
import type * as HostEventHub from "./control/hostEventHub.js"
import type * as LoadBalancingPolicy from "../LoadBalancingPolicy.js"
import type * as Metrics from "../Metrics.js"
import type * as TimestampGenerator from "../TimestampGenerator.js"
import type { Connection } from "./connection/connection.js"
import type { ControlConnection } from "./control/controlConnection.js"
import type * as MetadataStore from "./metadata/metadataStore.js"
import type { PrepareHandler } from "./request/prepareHandler.js"
import type * as RegistryStore from "./request/registryStore.js"

export interface ClusterCore {
  readonly metadata: MetadataStore.MetadataStore
  readonly events: HostEventHub.HostEventHub
  readonly control: ControlConnection
  /** The pools every Session shares. */
  readonly pools: Pools.ConnectionPools
  readonly registry: RegistryStore.RegistryStore
  readonly metrics: Metrics.MetricsService
  readonly timestamps: TimestampGenerator.TimestampGenerator
  readonly executor: Executor.Executor
  readonly protocolVersion: 4 | 5
  /** The keyspace the shared pools' connections start in (`USE` at open). */
  readonly poolKeyspace: string | undefined
  readonly requestTimeoutMs: number
  readonly shutdownGraceMs: number
  /** The cluster's own policy: the default of its Sessions. */
  readonly loadBalancing: LoadBalancingPolicy.LoadBalancingPolicy
  /** The metrics of a connection's host, looked up once per connection. */
  readonly metricsOf: (conn: Connection) => Metrics.HostMetrics
  readonly prepares: PrepareHandler
  /**
   * Adds policies whose distances size the pools, for the caller's scope: each host's pool is sized by the most
   * local distance any registered policy gives it (the pools are resized now, and again when the scope closes).
   */
  readonly usePolicies: (policies: ReadonlyArray<LoadBalancingPolicy.LoadBalancingPolicy>) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Pools whose connections start in `keyspace`, kept in step with the topology for the caller's scope: protocol v4
   * has no per-request keyspace, so a v4 Session in another keyspace than the shared pools' needs its own.
   */
  readonly keyspacePools: (keyspace: string) => Effect.Effect<Pools.ConnectionPools, never, Scope.Scope>
  /** Registers a Session's close, which the Cluster runs (for every Session still open) before closing itself. */
  readonly addSession: (close: Effect.Effect<void>) => Effect.Effect<void, never, Scope.Scope>
}

const cores = new WeakMap<object, ClusterCore>()

export const register = (cluster: object, core: ClusterCore): void => void cores.set(cluster, core)

/** The core of a Cluster built by `Cluster.layer`; undefined for any other (a test Cluster). */
export const coreOf = (cluster: object): ClusterCore | undefined => cores.get(cluster)
