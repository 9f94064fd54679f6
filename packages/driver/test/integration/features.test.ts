/**
 * Session features against the real node: UDT Schemas from the registry, warnings, tracing, UNPREPARED recovery,
 * metrics, spans, configuration from the environment, and shutdown with many requests in flight.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cluster, Metrics, RetryPolicy, Session } from "@effect-cql/driver"
import { Cause, Config, ConfigProvider, Context, Effect, Exit, Fiber, Layer, Metric, MetricLabel, Option, Redacted, Schema, Scope, Tracer } from "effect"

const ks = "it_features"

const setup = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  yield* s.execute(`CREATE TYPE IF NOT EXISTS ${ks}.point (x int, y int)`)
  yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.shapes (id int PRIMARY KEY, origin frozen<point>, path list<frozen<point>>)`)
  yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.kv (k int PRIMARY KEY, v text)`)
})

class Point extends Schema.Class<Point>("Point")({ x: Schema.Number, y: Schema.Number }) {
  get norm1() {
    return Math.abs(this.x) + Math.abs(this.y)
  }
}

describe("Session features", () => {
  it.layer(Session.layer({ contactPoints: ["127.0.0.1"] }), { timeout: 60_000 })((it) => {
    it.effect("a registered UDT Schema decodes rows and encodes parameters, nested in collections too", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        const registry = (yield* Cluster.Cluster).registry
        registry.registerUdt(ks, "point", Point)
        yield* s.execute(`INSERT INTO ${ks}.shapes (id, origin, path) VALUES (?, ?, ?)`, [1, new Point({ x: 1, y: -2 }), [new Point({ x: 3, y: 4 })]])
        const row = (yield* s.execute(`SELECT origin, path FROM ${ks}.shapes WHERE id = ?`, [1])).rows[0]!
        expect(row["origin"]).toBeInstanceOf(Point)
        expect((row["origin"] as Point).norm1).toBe(3)
        expect((row["path"] as Array<Point>)[0]).toBeInstanceOf(Point)
        const bad = yield* Effect.flip(s.execute(`INSERT INTO ${ks}.shapes (id, origin) VALUES (?, ?)`, [2, { x: "nope", y: 1 }]))
        expect(bad._tag).toBe("SchemaMismatch")
      }))

    it.effect("server warnings are returned (and logged); tracing gives a tracing id", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        // An unlogged batch over more than 10 partitions makes Cassandra warn (unlogged_batch_across_partitions_warn_threshold).
        const rs = yield* s.batch(
          Array.from({ length: 12 }, (_, i) => ({ query: `INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, params: [100 + i, "w"] })),
          { type: "UNLOGGED" }
        )
        expect(rs.warnings.join(" ")).toMatch(/Unlogged batch covering 12 partitions/)
        const traced = yield* s.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [100], { tracing: true })
        expect(traced.tracingId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        const plain = yield* s.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [100])
        expect(plain.tracingId).toBeUndefined()
      }))

    it.effect("UNPREPARED after the table is re-created: re-prepared and retried without the caller seeing it", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.reprep (k int PRIMARY KEY, v text)`)
        yield* s.execute(`INSERT INTO ${ks}.reprep (k, v) VALUES (?, ?)`, [1, "before"])
        const before = yield* s.prepare(`SELECT v FROM ${ks}.reprep WHERE k = ?`)
        yield* s.execute(`SELECT v FROM ${ks}.reprep WHERE k = ?`, [1])
        // Dropping the table evicts its prepared statements on the server.
        yield* s.execute(`DROP TABLE ${ks}.reprep`)
        yield* s.execute(`CREATE TABLE ${ks}.reprep (k int PRIMARY KEY, v text)`)
        yield* s.execute(`INSERT INTO ${ks}.reprep (k, v) VALUES (?, ?)`, [1, "after"])
        const rs = yield* s.execute(`SELECT v FROM ${ks}.reprep WHERE k = ?`, [1])
        expect(rs.rows).toEqual([{ v: "after" }])
        const after = yield* s.prepare(`SELECT v FROM ${ks}.reprep WHERE k = ?`)
        expect(after).not.toBe(before)
      }))

    it.effect("v5 Metadata_changed: after ALTER TABLE, a prepared SELECT * returns the new column and the registry keeps the new metadata", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        const registry = (yield* Cluster.Cluster).registry
        expect(s.protocolVersion).toBe(5)
        yield* s.execute(`DROP TABLE IF EXISTS ${ks}.evolving`)
        yield* s.execute(`CREATE TABLE ${ks}.evolving (k int PRIMARY KEY, a text)`)
        yield* s.execute(`INSERT INTO ${ks}.evolving (k, a) VALUES (?, ?)`, [1, "x"])
        const query = `SELECT * FROM ${ks}.evolving WHERE k = ?`
        expect((yield* s.execute(query, [1])).rows).toEqual([{ k: 1, a: "x" }])
        const before = registry.getPrepared(undefined, query)!
        yield* s.execute(`ALTER TABLE ${ks}.evolving ADD b int`)
        yield* s.execute(`UPDATE ${ks}.evolving SET b = ? WHERE k = ?`, [7, 1])
        expect((yield* s.execute(query, [1])).rows).toEqual([{ k: 1, a: "x", b: 7 }])
        const after = registry.getPrepared(undefined, query)!
        expect(after.resultColumns.map((c) => c.name)).toEqual(["k", "a", "b"])
        expect(after.resultMetadataId).not.toEqual(before.resultMetadataId)
      }))

    it.effect("metrics count requests and errors by host", () =>
      Effect.gen(function* () {
        const s = yield* Session.Session
        const host = MetricLabel.make("host", "127.0.0.1:9042")
        const requestsOf = Metric.value(Metric.taggedWithLabels(Metrics.requests, [host]))
        const before = (yield* requestsOf).count
        yield* s.execute("SELECT now() FROM system.local")
        yield* Effect.ignore(s.execute("SELEKT"))
        expect((yield* requestsOf).count - before).toBe(2)
        const syntaxErrors = yield* Metric.value(Metric.taggedWithLabels(Metrics.errors, [host, MetricLabel.make("kind", "SyntaxError")]))
        expect(syntaxErrors.count).toBeGreaterThanOrEqual(1)
        const latency = yield* Metric.value(Metric.taggedWithLabels(Metrics.latency, [host]))
        expect(latency.count).toBeGreaterThanOrEqual(2)
      }))
  })

  it.live("each request runs in a span with OpenTelemetry database attributes", () =>
    Effect.gen(function* () {
      const spans: Array<Tracer.Span> = []
      const base = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (...args) => {
          const span = base.span(...args)
          spans.push(span)
          return span
        },
        context: base.context
      })
      yield* Effect.gen(function* () {
        const s = yield* Session.Session
        yield* s.execute("SELECT release_version FROM system.local")
      }).pipe(Effect.provide(Session.layer({ contactPoints: ["127.0.0.1"] })), Effect.withTracer(tracer))
      const span = spans.find((x) => x.name === "cql.execute")!
      expect(span.kind).toBe("client")
      expect(Object.fromEntries(span.attributes)).toMatchObject({
        "db.system.name": "cassandra",
        "db.operation.name": "SELECT",
        "db.query.text": "SELECT release_version FROM system.local",
        "server.address": "127.0.0.1",
        "server.port": 9042
      })
    }))

  it.live("execution profiles: a statement's named profile sets its consistency; an unknown name is a typed error", () =>
    Effect.gen(function* () {
      const s = yield* Session.Session
      yield* setup.pipe(Effect.provideService(Session.Session, s))
      // One node: THREE cannot be met, so the profile's consistency is visible as the server's Unavailable.
      const strict = yield* Effect.flip(s.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [1], { profile: "strict" }))
      expect(strict).toMatchObject({ _tag: "Unavailable", consistency: "THREE", required: 3, alive: 1 })
      // The statement's own consistency wins over its profile's.
      const own = yield* s.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [1], { profile: "strict", consistency: "ONE" })
      expect(own.rows.length).toBeLessThanOrEqual(1)
      const unknown = yield* Effect.flip(s.execute("SELECT now() FROM system.local", undefined, { profile: "nope" }))
      expect(unknown).toMatchObject({ _tag: "UnknownProfile", name: "nope" })
    }).pipe(Effect.provide(Session.layer({ contactPoints: ["127.0.0.1"], profiles: { strict: { consistency: "THREE", retry: RetryPolicy.fallthroughRetryPolicy } } }))))

  it.live("layerConfig reads the settings through Effect Config", () =>
    Effect.gen(function* () {
      const layer = Session.layerConfig({
        contactPoints: Config.array(Config.string(), "CQL_CONTACT_POINTS"),
        protocolVersion: Config.literal(4, 5)("CQL_PROTOCOL_VERSION"),
        credentials: Config.all({ username: Config.string("CQL_USER"), password: Config.redacted("CQL_PASSWORD") })
      })
      const provider = ConfigProvider.fromMap(
        new Map([
          ["CQL_CONTACT_POINTS", "127.0.0.1"],
          ["CQL_PROTOCOL_VERSION", "4"],
          ["CQL_USER", "ignored-by-AllowAllAuthenticator"],
          ["CQL_PASSWORD", "secret"]
        ])
      )
      const version = yield* Effect.map(Session.Session, (s) => s.protocolVersion).pipe(Effect.provide(layer), Effect.withConfigProvider(provider))
      expect(version).toBe(4)
      expect(String(Redacted.make("secret"))).not.toContain("secret")
    }))

  it.live("shutdown with 1,000 requests in flight: every request ends, nothing is left open", () =>
    Effect.gen(function* () {
      const handles = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "Timeout").length
      const before = handles()
      const unhandled: Array<unknown> = []
      const onUnhandled = (e: unknown) => unhandled.push(e)
      process.on("unhandledRejection", onUnhandled)
      const scope = yield* Scope.make()
      const ctx = yield* Layer.buildWithScope(Session.layer({ contactPoints: ["127.0.0.1"], shutdownGracePeriod: "2 seconds" }), scope)
      const s = Context.get(ctx, Session.Session)
      yield* setup.pipe(Effect.provideService(Session.Session, s))
      yield* s.prepare(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`)
      const fibers = yield* Effect.forEach(Array.from({ length: 1200 }, (_, i) => i), (i) =>
        Effect.fork(s.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [10_000 + i, "x"]))
      )
      yield* Effect.sleep("5 millis")
      yield* Scope.close(scope, Exit.void)
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      const ok = exits.filter(Exit.isSuccess).length
      // Requests still unsent at close are refused; none may fail any other way.
      const failedTags = new Set(exits.flatMap((e) => (Exit.isFailure(e) ? [Option.match(Cause.failureOption(e.cause), { onNone: () => "defect", onSome: (err) => err._tag })] : [])))
      expect(ok + exits.filter(Exit.isFailure).length).toBe(1200)
      expect(ok).toBeGreaterThan(0)
      const late = yield* Effect.flip(s.execute("SELECT now() FROM system.local"))
      expect(late._tag).toBe("SessionClosed")
      yield* Effect.sleep("200 millis")
      process.off("unhandledRejection", onUnhandled)
      expect(unhandled).toEqual([])
      expect(handles()).toBeLessThanOrEqual(before)
      expect([...failedTags].filter((t) => t !== "SessionClosed" && t !== "ConnectionError")).toEqual([])
    }))
})
