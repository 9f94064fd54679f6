/**
 * MetricsService: the driver's metrics on Effect `Metric`, tagged by host, so any Effect metrics exporter
 * (OpenTelemetry, Prometheus) picks them up. The instruments are module constants (made once); the service only
 * tags and updates them. Updates are `unsafe*` calls on the request path: no Effect is run per request.
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"

export const requests = Metric.counter("cql_requests_total", { description: "requests sent, by host", incremental: true })
export const errors = Metric.counter("cql_request_errors_total", { description: "failed requests, by host and error kind", incremental: true })
export const latency = Metric.histogram(
  "cql_request_latency_ms",
  MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 20 }),
  "request latency in milliseconds, by host"
)
export const inFlight = Metric.gauge("cql_requests_in_flight", { description: "requests awaiting a response, by host" })
export const openConnections = Metric.gauge("cql_open_connections", { description: "open connections, by host" })

/** The instruments of one host, tagged once and reused for every request to it. */
export interface HostMetrics {
  readonly requestStarted: () => void
  /** `errorKind` is the failure's tag, or undefined on success. */
  readonly requestEnded: (latencyMs: number, errorKind: string | undefined) => void
  readonly connectionOpened: () => void
  readonly connectionClosed: () => void
}

export interface MetricsService {
  readonly forHost: (host: string) => HostMetrics
}

export const MetricsService = Context.GenericTag<MetricsService>("@effect-cql/driver/MetricsService")

const noTags: ReadonlyArray<never> = []

export const make = (): MetricsService => {
  const hosts = new Map<string, HostMetrics>()
  return {
    forHost: (host) => {
      const existing = hosts.get(host)
      if (existing !== undefined) return existing
      const req = Metric.tagged(requests, "host", host)
      const lat = Metric.tagged(latency, "host", host)
      const fly = Metric.tagged(inFlight, "host", host)
      const conns = Metric.tagged(openConnections, "host", host)
      const errorsByKind = new Map<string, typeof errors>()
      let flying = 0
      let open = 0
      const metrics: HostMetrics = {
        requestStarted: () => {
          req.unsafeUpdate(1, noTags)
          fly.unsafeUpdate(++flying, noTags)
        },
        requestEnded: (ms, errorKind) => {
          fly.unsafeUpdate(--flying, noTags)
          lat.unsafeUpdate(ms, noTags)
          if (errorKind !== undefined) {
            let c = errorsByKind.get(errorKind)
            if (c === undefined) {
              c = Metric.taggedWithLabels(errors, [MetricLabel.make("host", host), MetricLabel.make("kind", errorKind)])
              errorsByKind.set(errorKind, c)
            }
            c.unsafeUpdate(1, noTags)
          }
        },
        connectionOpened: () => conns.unsafeUpdate(++open, noTags),
        connectionClosed: () => conns.unsafeUpdate(--open, noTags)
      }
      hosts.set(host, metrics)
      return metrics
    }
  }
}

export const layer: Layer.Layer<MetricsService> = Layer.sync(MetricsService, make)
