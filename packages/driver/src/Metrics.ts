/**
 * MetricsService: the driver's metrics on Effect `Metric`, tagged by host, so any Effect metrics exporter
 * (OpenTelemetry, Prometheus) picks them up. The instruments are module constants (made once); the service only
 * tags and updates them. Updates go straight to the registry hooks of each host (resolved once): no Effect is run
 * per request.
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"

const keys = {
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
}

/** The throttler's instruments (Throttler.ts): queue length, refusals by reason, waits. */
export interface ThrottleMetrics {
  readonly queued: (length: number) => void
  readonly rejected: (reason: string) => void
  readonly waited: (ms: number) => void
}

export interface MetricsService {
  readonly forHost: (host: string) => HostMetrics
  readonly throttle: ThrottleMetrics
  /** The prepared-statement registry dropped its least recently used statement. */
  readonly preparedEvicted: () => void
}

export const MetricsService = Context.GenericTag<MetricsService>("@effect-cql/driver/MetricsService")

export const make = (): MetricsService => {
  const hosts = new Map<string, HostMetrics>()
  const queued = hookOf(keys.throttleQueued, [])
  const waited = hookOf(keys.throttleWait, [])
  const evictions = hookOf(keys.preparedEvictions, [])
  return {
    forHost: (host) => {
      const existing = hosts.get(host)
      if (existing !== undefined) return existing
      const hostLabel = [MetricLabel.make("host", host)]
      const req = hookOf(keys.requests, hostLabel)
      const lat = hookOf(keys.latency, hostLabel)
      const fly = hookOf(keys.inFlight, hostLabel)
      const conns = hookOf(keys.openConnections, hostLabel)
      const errorsByKind = new Map<string, MetricHook.MetricHook<number, unknown>>()
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
            let c = errorsByKind.get(errorKind)
            if (c === undefined) {
              c = hookOf(keys.errors, [...hostLabel, MetricLabel.make("kind", errorKind)])
              errorsByKind.set(errorKind, c)
            }
            c.update(1)
          }
        },
        connectionOpened: () => conns.update(++open),
        connectionClosed: () => conns.update(--open)
      }
      hosts.set(host, metrics)
      return metrics
    },
    throttle: {
      queued: (length) => queued.update(length),
      rejected: (reason) => hookOf(keys.throttleRejected, [MetricLabel.make("reason", reason)]).update(1),
      waited: (ms) => waited.update(ms)
    },
    preparedEvicted: () => evictions.update(1)
  }
}

export const layer: Layer.Layer<MetricsService> = Layer.sync(MetricsService, make)
