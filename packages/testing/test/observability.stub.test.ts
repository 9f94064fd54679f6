/**
 * Spans, metrics and request trackers through the real OpenTelemetry SDK (`@effect/opentelemetry` with the SDK's
 * in-memory span exporter and a metric reader), on the stub server, where retries and slow hosts can be scripted.
 * What the same looks like against Cassandra is in the integration test observability.test.ts.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { Cluster, CqlError, RequestTracker, Session, SpeculativeExecution } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import { AggregationTemporality, type DataPoint, type Histogram, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { StubServer } from "../src/index.js"
import { fixedOrder } from "./fixedOrder.js"

/** The SDK's in-memory exporter, but keeping its spans when the SDK layer shuts it down at the end of its scope. */
class KeptSpans extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

const query = "SELECT v FROM ks.t WHERE k = 1"

const unavailable: NonNullable<StubServer.Rule["error"]> = {
  kind: "Unavailable",
  message: "Cannot achieve consistency level QUORUM",
  consistency: "QUORUM",
  required: 2,
  alive: 1
}

const connect = (server: StubServer.StubServer, config: Partial<Session.SessionConfig> = {}) =>
  Layer.build(
    Session.layer({ contactPoints: [server.contactPoints[0]!], requestTimeout: "2 seconds", loadBalancing: fixedOrder(server.contactPoints), ...config })
  ).pipe(Effect.map((ctx) => ({ session: Context.get(ctx, Session.Session), cluster: Context.get(ctx, Cluster.Cluster) })))

/** The finished spans, by name, after the SDK flushed. */
const spansOf = (exporter: KeptSpans) => {
  const spans = exporter.getFinishedSpans()
  return { all: spans, named: (name: string) => spans.filter((s) => s.name === name) }
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId

describe("spans through the OpenTelemetry SDK", () => {
  it.scopedLive("a request retried on the next host: one cql.execute span, a cql.attempt child per attempt, the conventions' attributes", () =>
    Effect.gen(function* () {
      const exporter = new KeptSpans()
      const server = yield* StubServer.make({ firstAddress: "127.0.4.1", nodes: 2, port: 0, rules: [{ query, rows: [{ v: "ok" }] }] })
      yield* server.nodes[0]!.addRules({ query, error: unavailable, times: 1 })
      const { session } = yield* connect(server, { defaultConsistency: "QUORUM" })
      const rs = yield* session.execute(query, undefined, { idempotent: true }).pipe(
        Effect.provide(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) })))
      )
      expect(rs.rows).toEqual([{ v: "ok" }])
      const spans = spansOf(exporter)
      const [request] = spans.named("cql.execute")
      expect(spans.named("cql.execute")).toHaveLength(1)
      expect(request!.kind).toBe(2) // SpanKind.CLIENT
      expect(request!.attributes).toMatchObject({
        "db.system.name": "cassandra",
        "db.namespace": "ks",
        "db.collection.name": "t",
        "db.operation.name": "SELECT",
        "db.query.text": query,
        "db.cassandra.consistency_level": "QUORUM",
        "db.cassandra.idempotence": true,
        "db.cassandra.page_size": 5000,
        "db.cassandra.speculative_execution_count": 0,
        "server.address": "127.0.4.2",
        "server.port": server.nodes[1]!.port
      })
      expect(request!.attributes["db.cassandra.coordinator.id"]).toMatch(/^[0-9a-f-]{36}$/)
      expect(request!.attributes["db.cassandra.coordinator.dc"]).toBe("dc1")
      expect(request!.attributes["error.type"]).toBeUndefined()

      const attempts = spans.named("cql.attempt").sort((a, b) => Number(a.attributes["cql.retry_count"]) - Number(b.attributes["cql.retry_count"]))
      expect(attempts).toHaveLength(2)
      for (const a of attempts) {
        expect(parentOf(a)).toBe(request!.spanContext().spanId)
        expect(a.spanContext().traceId).toBe(request!.spanContext().traceId)
      }
      expect(attempts[0]!.attributes).toMatchObject({ "server.address": "127.0.4.1", "error.type": "Unavailable", "cql.retry_count": 0, "cql.execution": 0 })
      expect(attempts[0]!.status.code).toBe(2) // ERROR
      expect(attempts[1]!.attributes).toMatchObject({ "server.address": "127.0.4.2", "cql.retry_count": 1 })
      expect(attempts[1]!.attributes["error.type"]).toBeUndefined()
    }))

  it.scopedLive("a speculative execution: its own child span; the slow attempt's span ends cancelled; the count is on the request span", () =>
    Effect.gen(function* () {
      const exporter = new KeptSpans()
      const server = yield* StubServer.make({ firstAddress: "127.0.4.4", nodes: 2, port: 0, rules: [{ query, rows: [{ v: "fast" }] }] })
      yield* server.nodes[0]!.addRules({ query, delay: "600 millis", rows: [{ v: "slow" }] })
      const { session } = yield* connect(server, { speculativeExecution: SpeculativeExecution.constant({ delay: "50 millis", maxExecutions: 2 }) })
      const rs = yield* session.execute(query, undefined, { idempotent: true }).pipe(
        Effect.provide(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) })))
      )
      expect(rs.rows).toEqual([{ v: "fast" }])
      const spans = spansOf(exporter)
      const [request] = spans.named("cql.execute")
      expect(request!.attributes["db.cassandra.speculative_execution_count"]).toBe(1)
      expect(request!.attributes["server.address"]).toBe("127.0.4.5")
      const [first] = spans.named("cql.attempt")
      const [speculative] = spans.named("cql.speculative_execution")
      expect(first!.attributes).toMatchObject({ "server.address": "127.0.4.4", "cql.cancelled": true })
      expect(speculative!.attributes).toMatchObject({ "server.address": "127.0.4.5", "cql.execution": 1 })
      expect(parentOf(first!)).toBe(request!.spanContext().spanId)
      expect(parentOf(speculative!)).toBe(request!.spanContext().spanId)
    }))

  it.scopedLive("a failed request: error.type on the request span, status ERROR; queryText false leaves the text out", () =>
    Effect.gen(function* () {
      const exporter = new KeptSpans()
      const server = yield* StubServer.make({ firstAddress: "127.0.4.7", nodes: 1, port: 0, rules: [{ query, error: { kind: "Invalid", message: "no such thing" } }] })
      const { session } = yield* connect(server, { spans: { queryText: false } })
      const error = yield* Effect.flip(session.execute(query)).pipe(Effect.provide(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) }))))
      expect(error._tag).toBe("Invalid")
      const [request] = spansOf(exporter).named("cql.execute")
      expect(request!.attributes["error.type"]).toBe("Invalid")
      expect(request!.status.code).toBe(2)
      expect(request!.attributes["db.query.text"]).toBeUndefined()
      expect(request!.attributes["db.operation.name"]).toBe("SELECT")
    }))
})

describe("metrics through the OpenTelemetry metric reader", () => {
  it.scopedLive("db.client.operation.duration per request; retries, speculative executions and timeouts counted by host", () =>
    Effect.gen(function* () {
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
      const server = yield* StubServer.make({ firstAddress: "127.0.4.10", nodes: 2, port: 0, rules: [{ query, rows: [{ v: "ok" }] }] })
      const timeoutQuery = "SELECT v FROM ks.t WHERE k = 2"
      yield* server.nodes[0]!.addRules({ query, error: unavailable, times: 1 }, { query: timeoutQuery, noResponse: true })
      const { session } = yield* connect(server, { requestTimeout: "200 millis" })
      yield* Layer.buildWithScope(NodeSdk.layer(() => ({ metricReader: reader })), yield* Effect.scope)
      yield* session.execute(query, undefined, { idempotent: true })
      yield* session.execute(query)
      const timedOut = yield* Effect.flip(session.execute(timeoutQuery))
      // Not idempotent: a client timeout is not retried.
      expect(timedOut).toBeInstanceOf(CqlError.RequestTimeout)

      yield* Effect.promise(() => reader.forceFlush())
      const metrics = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      const named = (name: string) => metrics.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as Array<DataPoint<unknown>>)
      const a = "127.0.4.10"
      const b = "127.0.4.11"

      const durations = named("db.client.operation.duration") as Array<DataPoint<Histogram>>
      // The first request was retried on b (node a's Unavailable was used up), the second answered by a.
      const ok = (host: string) => durations.filter((p) => p.attributes["server.address"] === host && p.attributes["error.type"] === undefined)
      expect([a, b].map((host) => ok(host).reduce((n, p) => n + p.value.count, 0))).toEqual([1, 1])
      expect(ok(b)[0]!.attributes).toMatchObject({ "db.system.name": "cassandra", "db.operation.name": "SELECT", "db.namespace": "ks", "server.port": String(server.nodes[1]!.port) })
      // The timed-out request is recorded with its error type, against the host it waited for.
      // (The metric registry is the process's: other tests' requests are there too, on other addresses.)
      const failed = durations.filter((p) => p.attributes["error.type"] !== undefined && [a, b].includes(String(p.attributes["server.address"])))
      expect(failed.map((p) => [p.attributes["error.type"], p.attributes["server.address"]])).toEqual([["RequestTimeout", a]])
      expect(failed[0]!.value.count).toBe(1)
      expect(failed[0]!.value.sum).toBeGreaterThanOrEqual(0.19)

      const counter = (name: string, labels: Record<string, string>) =>
        (named(name) as Array<DataPoint<number>>).filter((p) => Object.entries(labels).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + p.value, 0)
      expect(counter("cql_retries_total", { host: `${a}:${server.nodes[0]!.port}`, reason: "Unavailable" })).toBe(1)
      expect(counter("cql_timeouts_total", { host: `${a}:${server.nodes[0]!.port}`, kind: "RequestTimeout" })).toBe(1)
      expect(counter("cql_request_errors_total", { host: `${a}:${server.nodes[0]!.port}`, kind: "Unavailable" })).toBe(1)
    }))
})

describe("request trackers", () => {
  it.scopedLive("onSuccess, onError and onNodeError see each request and failed attempt; a tracker that throws changes nothing", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({ firstAddress: "127.0.4.13", nodes: 2, port: 0, rules: [{ query, rows: [{ v: "ok" }] }] })
      yield* server.nodes[0]!.addRules({ query, error: unavailable, times: 1 })
      const seen: Array<string> = []
      const tracker: RequestTracker.RequestTracker = {
        onSuccess: (i) => void seen.push(`ok ${i.operation} ${i.host} attempts=${i.attempts} ${i.latencyMs >= 0}`),
        onError: (i, e) => void seen.push(`error ${e._tag} ${i.query}`),
        onNodeError: (i, e) => {
          seen.push(`node ${e._tag} ${i.host} attempt=${i.attempt} execution=${i.execution}`)
          throw new Error("a broken tracker")
        }
      }
      const logged: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => void logged.push(`${logLevel.label} ${String(message)}`))
      const { session } = yield* connect(server, { requestTracker: tracker })
      const rs = yield* session.execute(query).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      expect(rs.rows).toEqual([{ v: "ok" }])
      yield* Effect.flip(session.execute("SELECT nothing FROM ks.none"))
      const [n0, n1] = server.contactPoints
      expect(seen).toEqual([
        `node Unavailable ${n0} attempt=1 execution=0`,
        `ok execute ${n1} attempts=2 true`,
        `node Invalid ${n0} attempt=1 execution=0`,
        "error Invalid SELECT nothing FROM ks.none"
      ])
      expect(logged.filter((l) => l.startsWith("ERROR"))).toEqual(["ERROR a request tracker's onNodeError threw (the request is not affected)"])
    }))

  it.scopedLive("slowQueryLogger: a request over the threshold is logged as a warning through the caller's Logger, a fast one is not", () =>
    Effect.gen(function* () {
      const slow = "SELECT v FROM ks.t WHERE k = 3"
      const server = yield* StubServer.make({
        firstAddress: "127.0.4.16",
        nodes: 1,
        port: 0,
        rules: [{ query, rows: [{ v: "ok" }] }, { query: slow, delay: "150 millis", rows: [{ v: "late" }] }]
      })
      const logged: Array<{ level: string; message: string; annotations: Record<string, unknown> }> = []
      const capture = Logger.make(({ annotations, logLevel, message }) =>
        void logged.push({ level: logLevel.label, message: String(message), annotations: Object.fromEntries(annotations) })
      )
      const { session } = yield* connect(server, { requestTracker: RequestTracker.slowQueryLogger({ threshold: "100 millis" }) })
      yield* Effect.all([session.execute(query), session.execute(slow)]).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      const warnings = logged.filter((l) => l.level === "WARN")
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.message).toMatch(/^slow CQL request: \d+\.\d ms \(threshold 100 ms\): SELECT v FROM ks\.t WHERE k = 3$/)
      expect(warnings[0]!.annotations).toMatchObject({ "db.query.text": slow, "server.address": server.contactPoints[0], attempts: 1 })
      expect(Number(warnings[0]!.annotations["latencyMs"])).toBeGreaterThanOrEqual(145)
    }))
})

describe("timestamps", () => {
  it.scopedLive("client timestamps by default (strictly increasing); timestamps: \"server\" sends none, in QUERY, EXECUTE and BATCH", () =>
    Effect.gen(function* () {
      const insert = "INSERT INTO ks.t (k, v) VALUES (?, ?)"
      const sent = (mode: "client" | "server", address: string) =>
        Effect.gen(function* () {
          const server = yield* StubServer.make({
            firstAddress: address,
            nodes: 1,
            port: 0,
            unmatched: "void",
            keyspaces: [
              {
                name: "ks",
                replication: { class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: "1" },
                tables: [{ name: "t", columns: { k: DataType.native.int, v: DataType.native.varchar }, partitionKey: ["k"] }]
              }
            ]
          })
          const { session } = yield* connect(server, { timestamps: mode })
          yield* session.execute("UPDATE ks.t SET v = 1 WHERE k = 1")
          yield* session.execute(insert, [1, "x"])
          yield* session.batch([{ query: insert, params: [2, "y"] }])
          const log = yield* server.requests
          return log.flatMap((r): Array<readonly [string, bigint | undefined]> => {
            const q = r.request
            if (q._tag === "Query" || q._tag === "Execute") return [[q._tag, q.params.timestamp] as const]
            if (q._tag === "Batch") return [[q._tag, q.timestamp] as const]
            return []
          })
        })
      const client = (yield* sent("client", "127.0.4.19")).filter(([tag]) => tag !== "Query" || true)
      const ours = client.slice(-3)
      expect(ours.map(([tag]) => tag)).toEqual(["Query", "Execute", "Batch"])
      const stamps = ours.map(([, t]) => t!)
      expect(stamps[0]! < stamps[1]! && stamps[1]! < stamps[2]!).toBe(true)
      expect(Number(stamps[0]! / 1000n)).toBeGreaterThan(Date.now() - 60_000)
      const server = (yield* sent("server", "127.0.4.20")).slice(-3)
      expect(server).toEqual([["Query", undefined], ["Execute", undefined], ["Batch", undefined]])
    }))
})
