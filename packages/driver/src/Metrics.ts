/**
 * MetricsService: the driver's metrics on Effect `Metric`, tagged by host, so any Effect metrics exporter
 * (OpenTelemetry through `@effect/opentelemetry`, Prometheus) picks them up. The instruments are module constants
 * (made once); the service only tags and updates them. Updates go straight to the registry hooks of each host
 * (resolved once): no Effect is run per request.
 *
 * Per request: `db.client.operation.duration` (seconds, the OpenTelemetry database convention's histogram, with
 * its `db.system.name`, `db.operation.name`, `db.namespace`, `server.address`, `server.port` and `error.type`
 * attributes). Per attempt, by host: requests, errors by kind, latency, retries by the error retried, speculative
 * executions, timeouts by kind (client `RequestTimeout`, server `ReadTimeout` / `WriteTimeout`). Gauges: requests
 * in flight and open connections per host, the throttler's queue.
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"

/** The OpenTelemetry convention's bucket boundaries for `db.client.operation.duration`, in seconds. */
const operationBoundaries = MetricBoundaries.fromIterable([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10])

const keys = {
  operationDuration: MetricKey.histogram("db.client.operation.duration", operationBoundaries, "duration of database client operations, in seconds"),
  retries: MetricKey.counter("cql_retries_total", { description: "attempts retried, by host and the error retried", incremental: true }),
  speculativeExecutions: MetricKey.counter("cql_speculative_executions_total", {
    description: "speculative executions started, by the host they went to",
    incremental: true
  }),
  timeouts: MetricKey.counter("cql_timeouts_total", {
    description: "attempts that timed out, by host and kind (RequestTimeout: the client's; ReadTimeout, WriteTimeout: the coordinator's)",
    incremental: true
  }),
  requests: MetricKey.counter("cql_requests_total", { description: "requests sent, by host", incremental: true }),
  errors: MetricKey.counter("cql_request_errors_total", { description: "failed requests, by host and error kind", incremental: true }),
  latency: MetricKey.histogram(
    "cql_request_latency_ms",
    MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 20 }),
    "request latency in milliseconds, by host"
  ),
  inFlight: MetricKey.gauge("cql_requests_in_flight", { description: "requests awaiting a response, by host" }),
  openConnections: MetricKey.gauge("cql_open_connections", { description: "open connections, by host" }),
  throttleQueued: MetricKey.gauge("cql_throttle_queued", { description: "requests waiting in a Session's throttler" }),
  throttleRejected: MetricKey.counter("cql_throttle_rejected_total", { description: "requests the throttler refused, by reason", incremental: true }),
  throttleWait: MetricKey.histogram(
    "cql_throttle_wait_ms",
    MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 20 }),
    "how long requests waited in the throttler, in milliseconds"
  ),
  preparedEvictions: MetricKey.counter("cql_prepared_evictions_total", {
    description: "prepared statements the registry dropped to stay within its size (prepared again when next used)",
    incremental: true
  })
}

export const operationDuration = Metric.fromMetricKey(keys.operationDuration)
export const retries = Metric.fromMetricKey(keys.retries)
export const speculativeExecutions = Metric.fromMetricKey(keys.speculativeExecutions)
export const timeouts = Metric.fromMetricKey(keys.timeouts)
export const requests = Metric.fromMetricKey(keys.requests)
export const errors = Metric.fromMetricKey(keys.errors)
export const latency = Metric.fromMetricKey(keys.latency)
export const inFlight = Metric.fromMetricKey(keys.inFlight)
export const openConnections = Metric.fromMetricKey(keys.openConnections)
export const throttleQueued = Metric.fromMetricKey(keys.throttleQueued)
export const throttleRejected = Metric.fromMetricKey(keys.throttleRejected)
export const throttleWait = Metric.fromMetricKey(keys.throttleWait)
export const preparedEvictions = Metric.fromMetricKey(keys.preparedEvictions)

/**
 * The registry's hook of `key` with these labels: the state `Metric.value` and exporters read. Resolved once per
 * host, so that an update on the request path is one call (a tagged Metric's update looks its hook up each time).
 */
const hookOf = <In, Out>(key: MetricKey.MetricKey<MetricKeyType.MetricKeyType<In, Out>>, labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
  Metric.globalMetricRegistry.get(MetricKey.taggedWithLabels(key, labels)) as MetricHook.MetricHook<In, Out>

/** The instruments of one host, tagged once and reused for every request to it. */
export interface HostMetrics {
  readonly requestStarted: () => void
  /** `errorKind` is the failure's tag, or undefined on success. */
  readonly requestEnded: (latencyMs: number, errorKind: string | undefined) => void
  readonly connectionOpened: () => void
  readonly connectionClosed: () => void
  /** An attempt that failed with `reason` (an error tag) is tried again. */
  readonly retried: (reason: string) => void
  /** A speculative execution went to this host. */
  readonly speculativeStarted: () => void
  /** A whole request coordinated (last) by this host ended; `errorType` is its failure's tag. */
  readonly operationEnded: (operation: string, namespace: string | undefined, seconds: number, errorType: string | undefined) => void
}

/** The throttler's instruments (Throttler.ts): queue length, refusals by reason, waits. */
export interface ThrottleMetrics {
  readonly queued: (length: number) => void
  readonly rejected: (reason: string) => void
  readonly waited: (ms: number) => void
}

export interface MetricsService {
  /** The instruments of `host` ("address:port"); "" for requests that reached no host (no `server.*` labels). */
  readonly forHost: (host: string) => HostMetrics
  readonly throttle: ThrottleMetrics
  /** The prepared-statement registry dropped its least recently used statement. */
  readonly preparedEvicted: () => void
  /** `HostMetrics.operationEnded` of a request that no host could take. */
  readonly unroutedOperationEnded: HostMetrics["operationEnded"]
}

export const MetricsService = Context.GenericTag<MetricsService>("@effect-cql/driver/MetricsService")

const timeoutKinds = new Set(["RequestTimeout", "ReadTimeout", "WriteTimeout"])

/** A hook per label value, made on first use. */
const byLabel = <H>(make: (value: string) => H) => {
  const made = new Map<string, H>()
  return (value: string): H => {
    let h = made.get(value)
    if (h === undefined) made.set(value, (h = make(value)))
    return h
  }
}

/**
 * `db.client.operation.duration` of one host, by operation, namespace and error type (nested: nothing built per
 * request). The last labels' hook is remembered: a stream of like requests skips the three lookups.
 */
const operationsOf = (serverLabels: ReadonlyArray<MetricLabel.MetricLabel>) => {
  const system = MetricLabel.make("db.system.name", "cassandra")
  const byLabels = byLabel((operation) =>
    byLabel((namespace) =>
      byLabel((errorType) =>
        hookOf(keys.operationDuration, [
          system,
          MetricLabel.make("db.operation.name", operation),
          ...(namespace === "" ? [] : [MetricLabel.make("db.namespace", namespace)]),
          ...serverLabels,
          ...(errorType === "" ? [] : [MetricLabel.make("error.type", errorType)])
        ])
      )
    )
  )
  let lastOperation: string | undefined
  let lastNamespace: string | undefined
  let lastErrorType: string | undefined
  let last: MetricHook.MetricHook<number, unknown> | undefined
  return (operation: string, namespace: string, errorType: string) => {
    if (last === undefined || operation !== lastOperation || namespace !== lastNamespace || errorType !== lastErrorType) {
      last = byLabels(operation)(namespace)(errorType)
      lastOperation = operation
      lastNamespace = namespace
      lastErrorType = errorType
    }
    return last
  }
}

/** `server.address` and `server.port` of "address:port" (an IPv6 address keeps its colons). */
const serverLabelsOf = (host: string): ReadonlyArray<MetricLabel.MetricLabel> => {
  const i = host.lastIndexOf(":")
  return i < 0 ? [] : [MetricLabel.make("server.address", host.slice(0, i)), MetricLabel.make("server.port", host.slice(i + 1))]
}

export const make = (): MetricsService => {
  const hosts = new Map<string, HostMetrics>()
  const queued = hookOf(keys.throttleQueued, [])
  const waited = hookOf(keys.throttleWait, [])
  const evictions = hookOf(keys.preparedEvictions, [])
  const unrouted = operationsOf([])
  return {
    forHost: (host) => {
      const existing = hosts.get(host)
      if (existing !== undefined) return existing
      const hostLabel = [MetricLabel.make("host", host)]
      const req = hookOf(keys.requests, hostLabel)
      const lat = hookOf(keys.latency, hostLabel)
      const fly = hookOf(keys.inFlight, hostLabel)
      const conns = hookOf(keys.openConnections, hostLabel)
      const errorsByKind = byLabel((kind) => hookOf(keys.errors, [...hostLabel, MetricLabel.make("kind", kind)]))
      const retriesByReason = byLabel((reason) => hookOf(keys.retries, [...hostLabel, MetricLabel.make("reason", reason)]))
      const timeoutsByKind = byLabel((kind) => hookOf(keys.timeouts, [...hostLabel, MetricLabel.make("kind", kind)]))
      const speculative = hookOf(keys.speculativeExecutions, hostLabel)
      const operations = operationsOf(serverLabelsOf(host))
      let flying = 0
      let open = 0
      const metrics: HostMetrics = {
        requestStarted: () => {
          req.update(1)
          fly.update(++flying)
        },
        requestEnded: (ms, errorKind) => {
          fly.update(--flying)
          lat.update(ms)
          if (errorKind !== undefined) {
            errorsByKind(errorKind).update(1)
            if (timeoutKinds.has(errorKind)) timeoutsByKind(errorKind).update(1)
          }
        },
        connectionOpened: () => conns.update(++open),
        connectionClosed: () => conns.update(--open),
        retried: (reason) => retriesByReason(reason).update(1),
        speculativeStarted: () => speculative.update(1),
        operationEnded: (operation, namespace, seconds, errorType) => operations(operation, namespace ?? "", errorType ?? "").update(seconds)
      }
      hosts.set(host, metrics)
      return metrics
    },
    throttle: {
      queued: (length) => queued.update(length),
      rejected: (reason) => hookOf(keys.throttleRejected, [MetricLabel.make("reason", reason)]).update(1),
      waited: (ms) => waited.update(ms)
    },
    preparedEvicted: () => evictions.update(1),
    unroutedOperationEnded: (operation, namespace, seconds, errorType) => unrouted(operation, namespace ?? "", errorType ?? "").update(seconds)
  }
}

export const layer: Layer.Layer<MetricsService> = Layer.sync(MetricsService, make)
