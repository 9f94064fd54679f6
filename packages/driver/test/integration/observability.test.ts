/**
 * Observability and timestamps against the real node: spans exported through the OpenTelemetry SDK (a request, a
 * prepare, a batch and a paging stream), the operation-duration histogram through the SDK's metric reader, a
 * TimestampGenerator provided to the layer, and server-side timestamps.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { Cluster, Session, TimestampGenerator } from "@effect-cql/driver"
import { describe, expect, it } from "@effect/vitest"
import { AggregationTemporality, type DataPoint, type Histogram, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Layer, Stream } from "effect"

/** The SDK's in-memory exporter, but keeping its spans when the SDK layer shuts it down at the end of its scope. */
class KeptSpans extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

const ks = "it_observability"

const setup = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.events (p int, c int, v text, PRIMARY KEY (p, c))`)
})

const traced = (exporter: KeptSpans) => NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) }))

describe("observability against Cassandra", () => {
  it.layer(Session.layer({ contactPoints: ["127.0.0.1"] }), { timeout: 60_000 })((it) => {
    it.effect("spans: a prepared INSERT, a SELECT, a batch and a paging stream, each one span with its attempts under it", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        const exporter = new KeptSpans()
        const insert = `INSERT INTO ${ks}.events (p, c, v) VALUES (?, ?, ?)`
        yield* Effect.gen(function* () {
          yield* s.execute(insert, [1, 0, "a"], { consistency: "ONE", idempotent: true })
          yield* s.batch(Array.from({ length: 24 }, (_, i) => ({ query: insert, params: [1, i + 1, "b"] })), { type: "UNLOGGED" })
          const rows = yield* Stream.runCollect(s.stream(`SELECT c FROM ${ks}.events WHERE p = ?`, [1], { pageSize: 10 }))
          expect(rows.length).toBe(25)
        }).pipe(Effect.provide(traced(exporter)))

        const spans = exporter.getFinishedSpans()
        const byName = (name: string) => spans.filter((sp) => sp.name === name)
        const children = (id: string) => spans.filter((sp) => sp.parentSpanContext?.spanId === id)

        const [prepare] = byName("cql.prepare")
        expect(prepare!.attributes).toMatchObject({ "db.operation.name": "PREPARE", "db.query.text": insert, "db.namespace": ks })
        const executes = byName("cql.execute")
        const write = executes.find((sp) => sp.attributes["db.query.text"] === insert)!
        expect(write.attributes).toMatchObject({
          "db.system.name": "cassandra",
          "db.namespace": ks,
          "db.collection.name": "events",
          "db.operation.name": "INSERT",
          "db.cassandra.consistency_level": "ONE",
          "db.cassandra.idempotence": true,
          "server.address": "127.0.0.1",
          "server.port": 9042,
          "db.cassandra.coordinator.dc": "dc1",
          "db.cassandra.speculative_execution_count": 0
        })
        expect(write.attributes["db.cassandra.coordinator.id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/)
        expect(children(write.spanContext().spanId).map((c) => c.name)).toEqual(["cql.attempt"])

        const [batch] = byName("cql.batch")
        expect(batch!.attributes["db.operation.name"]).toBe("BATCH")
        expect(batch!.attributes["db.collection.name"]).toBeUndefined()
        expect(children(batch!.spanContext().spanId)).toHaveLength(1)

        // The stream: one span, three pages as events, an attempt per page under it.
        const stream = executes.find((sp) => String(sp.attributes["db.query.text"]).startsWith(`SELECT c FROM ${ks}.events`))!
        expect(executes.filter((sp) => sp.attributes["db.query.text"] === stream.attributes["db.query.text"])).toHaveLength(1)
        expect(stream.attributes["db.cassandra.page_size"]).toBe(10)
        expect(stream.events.map((e) => [e.name, e.attributes?.["cql.page.rows"], e.attributes?.["cql.page.has_more"]])).toEqual([
          ["cql.page", 10, true],
          ["cql.page", 10, true],
          ["cql.page", 5, false]
        ])
        expect(children(stream.spanContext().spanId).filter((c) => c.name === "cql.attempt")).toHaveLength(3)
      }))

    it.effect("db.client.operation.duration through the OpenTelemetry metric reader", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
        const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
        const select = `SELECT v FROM ${ks}.events WHERE p = ? AND c = ?`
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* Layer.buildWithScope(NodeSdk.layer(() => ({ metricReader: reader })), yield* Effect.scope)
            for (let i = 0; i < 5; i++) yield* s.execute(select, [1, i])
            yield* Effect.flip(s.execute(`SELECT nope FROM ${ks}.events`))
            yield* Effect.promise(() => reader.forceFlush())
          })
        )
        // Read after the flush; the exporter keeps what it got when the SDK shuts down.
        const points = exporter
          .getMetrics()
          .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
          .filter((m) => m.descriptor.name === "db.client.operation.duration")
          .flatMap((m) => m.dataPoints as Array<DataPoint<Histogram>>)
        const selects = points.filter((p) => p.attributes["db.namespace"] === ks && p.attributes["db.operation.name"] === "SELECT" && p.attributes["error.type"] === undefined)
        expect(selects.reduce((n, p) => n + p.value.count, 0)).toBeGreaterThanOrEqual(5)
        expect(selects[0]!.attributes).toMatchObject({ "db.system.name": "cassandra", "server.address": "127.0.0.1", "server.port": "9042" })
        const invalid = points.filter((p) => p.attributes["error.type"] === "Invalid")
        expect(invalid.reduce((n, p) => n + p.value.count, 0)).toBeGreaterThanOrEqual(1)
      }))
  })

  it.effect("a TimestampGenerator provided to the layer stamps the writes; timestamps: \"server\" lets the node stamp them", () =>
    Effect.gen(function* () {
      const fixed: TimestampGenerator.TimestampGenerator = { next: () => 1_000_000n }
      const writeTime = (config: Partial<Cluster.ClusterConfig>, generator: TimestampGenerator.TimestampGenerator | undefined, c: number) =>
        Effect.scoped(
          Effect.gen(function* () {
            const layer = Session.layer({ contactPoints: ["127.0.0.1"], ...config })
            const ctx = yield* Layer.build(generator === undefined ? layer : layer.pipe(Layer.provide(Layer.succeed(TimestampGenerator.TimestampGenerator, generator))))
            const s = Context.get(ctx, Session.Session)
            yield* Effect.provideService(setup, Session.Session, s)
            yield* s.execute(`INSERT INTO ${ks}.events (p, c, v) VALUES (?, ?, ?)`, [2, c, "t"])
            const rs = yield* s.execute(`SELECT WRITETIME(v) AS w FROM ${ks}.events WHERE p = ? AND c = ?`, [2, c])
            return rs.rows[0]!["w"] as bigint
          })
        )
      expect(yield* writeTime({}, fixed, 1)).toBe(1_000_000n)
      const before = BigInt(Date.now()) * 1000n
      const server = yield* writeTime({ timestamps: "server" }, undefined, 2)
      const after = BigInt(Date.now()) * 1000n
      // The node's clock is this machine's: its stamp falls within the request, give or take a second.
      expect(server).toBeGreaterThan(before - 1_000_000n)
      expect(server).toBeLessThan(after + 1_000_000n)
      // A provided generator goes before the config's mode.
      expect(yield* writeTime({ timestamps: "server" }, fixed, 3)).toBe(1_000_000n)
    }))
})
