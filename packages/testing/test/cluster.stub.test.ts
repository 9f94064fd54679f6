/**
 * One Cluster, many Sessions, through the stub server: what the Cluster keeps between Sessions (the control
 * connection, the pools, prepared statements, UDT Schemas, timestamps, listeners, metrics), each Session's keyspace
 * on protocol v5 (in the message) and v4 (connections of its own), `USE`, closing order, pools sized for the
 * policies of every Session and profile, and the typed errors of bad settings. The nodes' request logs show what
 * went on the wire.
 */
import { Cluster, CqlError, type LoadBalancingPolicy, Metrics, RetryPolicy, Session } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { StubServer, TestSession } from "../src/index.js"

const kv = { name: "kv", columns: { k: DataType.native.int, v: DataType.native.varchar }, partitionKey: ["k"] }
const keyspaces: ReadonlyArray<StubServer.KeyspaceSpec> = [
  { name: "ks_a", tables: [kv, { name: "only_a", columns: { k: DataType.native.int }, partitionKey: ["k"] }] },
  { name: "ks_b", tables: [kv, { name: "only_b", columns: { k: DataType.native.int }, partitionKey: ["k"] }] }
]

const stub = (firstAddress: string, options: Partial<StubServer.Options> = {}) =>
  StubServer.make({ firstAddress, nodes: 2, port: 0, keyspaces, rules: [{ query: /^INSERT INTO /, on: ["query", "execute"] }, { query: /^SELECT \* FROM only_/, rows: [{ k: 1 }], columns: { k: DataType.native.int } }], ...options })

/** A Cluster over the stub, built in the test's scope. */
const cluster = (server: StubServer.StubServer, config: Partial<Cluster.ClusterConfig> = {}) =>
  Layer.build(Cluster.layer({ contactPoints: [server.contactPoints[0]!], requestTimeout: "2 seconds", ...config })).pipe(
    Effect.map(Context.get(Cluster.Cluster))
  )

/** Runs `f` with a Session over `live`, in a scope of its own that closes when `f` ends. */
const withSession = <A, E>(live: Cluster.ClusterService, options: Session.SessionOptions, f: (s: Session.Session) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(Session.make(options), f)).pipe(Effect.provideService(Cluster.Cluster, live))

const count = (server: StubServer.StubServer, tag: string, query?: string) =>
  Effect.map(server.requests, (log) => log.filter((r) => r.request._tag === tag && (query === undefined || r.query === query)).length)

/** The keyspace each logged QUERY ran in: its own (v5 flag), else its connection's last `USE`. */
const keyspacesOf = (server: StubServer.StubServer, query: string) =>
  Effect.map(server.requests, (log) => {
    const used = new Map<string, string>()
    const out: Array<string | undefined> = []
    for (const r of log) {
      const conn = `${r.node}/${r.connection}`
      if (r.request._tag !== "Query") continue
      const use = /^USE "?([^"]+)"?$/.exec(r.request.query)
      if (use !== null) used.set(conn, use[1]!)
      else if (r.request.query === query) out.push(r.request.params.keyspace ?? used.get(conn))
    }
    return out
  })

describe("one Cluster, many Sessions", () => {
  it.scopedLive("Session B reuses what Session A left: no new control connection, connection or PREPARE; metadata, UDT Schemas, timestamps, listeners and metrics carry over", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.2.1")
      const live = yield* cluster(server)
      const hostEvents: Array<string> = []
      yield* live.events.onHostEvent((e) => hostEvents.push(`${e._tag} ${e.host.endpoint}`))
      const insert = "INSERT INTO ks_a.kv (k, v) VALUES (?, ?)"
      const Point = Schema.Struct({ x: Schema.Number })

      const a = yield* withSession(live, {}, (s) =>
        Effect.gen(function* () {
          yield* s.execute(insert, [1, "a"])
          live.registry.registerUdt("ks_a", "point", Point)
          return { metadata: live.metadata.current() }
        })
      )
      const before = {
        register: yield* count(server, "Register"),
        startup: yield* count(server, "Startup"),
        prepare: yield* count(server, "Prepare", insert)
      }
      expect(before.register).toBe(1)
      expect(before.prepare).toBeGreaterThanOrEqual(1)

      yield* withSession(live, {}, (s) => s.execute(insert, [2, "b"]))
      expect(yield* count(server, "Register")).toBe(before.register)
      expect(yield* count(server, "Startup")).toBe(before.startup)
      expect(yield* count(server, "Prepare", insert)).toBe(before.prepare)
      expect(yield* count(server, "Execute", insert)).toBe(2)
      // The same snapshot (nothing changed in between), the UDT Schema, the listener, the metrics.
      expect(live.metadata.current()).toBe(a.metadata)
      expect(live.registry.udtSchema("ks_a", "point")).toBe(Point)
      yield* server.pushEvent({ type: "STATUS_CHANGE", change: "DOWN", address: server.nodes[1]!.address, port: server.nodes[1]!.port })
      yield* Effect.iterate(0, { while: (n) => n < 50 && hostEvents.length === 0, body: (n) => Effect.as(Effect.sleep("100 millis"), n + 1) })
      expect(hostEvents).toContain(`Down ${server.contactPoints[1]}`)
      // Timestamps: one generator, so B's write is later than A's.
      const stamps = yield* Effect.map(server.requests, (log) =>
        log.flatMap((r) => (r.request._tag === "Execute" && r.query === insert ? [r.request.params.timestamp!] : []))
      )
      expect(stamps).toHaveLength(2)
      expect(stamps[1]! > stamps[0]!).toBe(true)
      const executes = yield* Effect.forEach(server.contactPoints, (host) =>
        Effect.map(Metric.value(Metric.taggedWithLabels(Metrics.requests, [MetricLabel.make("host", host)])), (c) => c.count)
      )
      expect(executes.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(2)
    }))

  it.scopedLive("closing a Session leaves the Cluster open; closing the Cluster closes its open Sessions first", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.2.5")
      const scope = yield* Scope.make()
      const live = yield* Layer.buildWithScope(Cluster.layer({ contactPoints: [server.contactPoints[0]!] }), scope).pipe(Effect.map(Context.get(Cluster.Cluster)))
      yield* withSession(live, {}, (s) => s.execute("SELECT release_version FROM system.local"))
      const open = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, live), Scope.extend(scope))
      expect((yield* open.execute("SELECT release_version FROM system.local")).rows).toHaveLength(1)
      yield* server.addRules({ query: "SELECT slow FROM ks_a.kv", rows: [{ slow: 1 }], columns: { slow: DataType.native.int }, delay: "300 millis" })
      const slow = yield* Effect.fork(open.execute("SELECT slow FROM ks_a.kv"))
      yield* Effect.sleep("50 millis")
      yield* Scope.close(scope, Exit.void)
      // The request in flight finished within the grace period; the Session refuses new ones.
      expect((yield* Fiber.join(slow)).rows).toEqual([{ slow: 1 }])
      const after = yield* Effect.flip(open.execute("SELECT release_version FROM system.local"))
      expect(after._tag).toBe("SessionClosed")
    }))

  it.scopedLive("a Session layer built in an acquire (an uninterruptible region) still closes: its background fibers stay interruptible", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.2.8")
      const closed = yield* Effect.acquireUseRelease(
        Effect.flatMap(Scope.make(), (scope) =>
          Layer.buildWithScope(Session.layer({ contactPoints: [server.contactPoints[0]!] }), scope).pipe(Effect.as(scope))
        ),
        (scope) => Effect.succeed(scope),
        (scope) => Scope.close(scope, Exit.void)
      ).pipe(Effect.timeout("5 seconds"), Effect.exit)
      // Before, the close waited forever on the control connection's and the pools' fibers.
      expect(Exit.isSuccess(closed)).toBe(true)
    }))
})

describe("Session.make's requirements", () => {
  it.effect("it needs a Cluster (a type error without one), and a live one: over a test Cluster it dies saying so", () =>
    Effect.gen(function* () {
      expectTypeOf<Effect.Effect.Context<ReturnType<typeof Session.make>>>().toEqualTypeOf<Cluster.Cluster | Scope.Scope>()
      const exit = yield* Effect.exit(Effect.scoped(Session.make()).pipe(Effect.provide(TestSession.layer())))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) ? String(Cause.squash(exit.cause)) : String(exit)).toContain("needs a live Cluster")
    }))
})

describe("Session keyspaces", () => {
  for (const protocolVersion of [5, 4] as const) {
    it.scopedLive(`v${protocolVersion}: two Sessions in different keyspaces, used at the same time, each run unqualified statements in their own`, () =>
      Effect.gen(function* () {
        const server = yield* stub(protocolVersion === 5 ? "127.0.2.10" : "127.0.2.13")
        const live = yield* cluster(server, { protocolVersion })
        const queryA = "SELECT * FROM only_a"
        const queryB = "SELECT * FROM only_b"
        const run = (keyspace: string, query: string) =>
          withSession(live, { keyspace }, (s) =>
            Effect.gen(function* () {
              expect(s.keyspace()).toBe(keyspace)
              const results = yield* Effect.forEach(Array.from({ length: 20 }), () => s.execute(query), { concurrency: 10 })
              return results.length
            })
          )
        const [a, b] = yield* Effect.all([run("ks_a", queryA), run("ks_b", queryB)], { concurrency: 2 })
        expect([a, b]).toEqual([20, 20])
        expect(new Set(yield* keyspacesOf(server, queryA))).toEqual(new Set(["ks_a"]))
        expect(new Set(yield* keyspacesOf(server, queryB))).toEqual(new Set(["ks_b"]))
      }))

    it.scopedLive(`v${protocolVersion}: USE through a Session moves every later request of that Session, on every connection (4 per host)`, () =>
      Effect.gen(function* () {
        const server = yield* stub(protocolVersion === 5 ? "127.0.2.16" : "127.0.2.19")
        const live = yield* cluster(server, { protocolVersion, connectionsPerHost: 4 })
        const other = yield* Session.make({ keyspace: "ks_a" }).pipe(Effect.provideService(Cluster.Cluster, live))
        yield* withSession(live, { keyspace: "ks_a" }, (s) =>
          Effect.gen(function* () {
            yield* s.execute("USE ks_b")
            expect(s.keyspace()).toBe("ks_b")
            yield* Effect.forEach(Array.from({ length: 40 }), () => s.execute("SELECT * FROM only_b"), { concurrency: 40 })
            // A missing keyspace fails that request and leaves the Session where it was.
            const missing = yield* Effect.flip(s.execute('USE "Nope"'))
            expect(missing).toEqual(new CqlError.UnknownKeyspace({ keyspace: "Nope" }))
            expect(s.keyspace()).toBe("ks_b")
          })
        )
        // Another Session over the same connections is unmoved.
        yield* other.execute("SELECT * FROM only_a")
        expect(new Set(yield* keyspacesOf(server, "SELECT * FROM only_b"))).toEqual(new Set(["ks_b"]))
        expect(new Set(yield* keyspacesOf(server, "SELECT * FROM only_a"))).toEqual(new Set(["ks_a"]))
        // The USE itself never went to a shared connection.
        const sent = yield* Effect.map(server.requests, (log) => log.filter((r) => r.request._tag === "Query" && r.request.query === "USE ks_b").length)
        expect(sent).toBe(0)
      }))
  }

  it.scopedLive("a Session keyspace that does not exist fails Session.make with UnknownKeyspace naming it", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.2.22")
      const live = yield* cluster(server)
      const error = yield* Effect.flip(Effect.scoped(Session.make({ keyspace: "missing_ks" })).pipe(Effect.provideService(Cluster.Cluster, live)))
      expect(error).toEqual(new CqlError.UnknownKeyspace({ keyspace: "missing_ks" }))
      expect(error.message).toContain("missing_ks")
      // The Cluster's own keyspace (its pools' connections start there) is checked when it starts.
      const fromLayer = yield* Effect.flip(Effect.scoped(Layer.build(Session.layer({ contactPoints: [server.contactPoints[0]!], keyspace: "missing_ks" }))))
      expect(fromLayer).toEqual(new CqlError.UnknownKeyspace({ keyspace: "missing_ks" }))
    }))
})

describe("pools, profiles and policies", () => {
  const inDc = (dc: string): LoadBalancingPolicy.LoadBalancingPolicy => ({
    distance: (host) => (host.datacenter === dc ? "local" : "ignored"),
    newQueryPlan: (view) => [...view.hosts.values()].filter((h) => h.datacenter === dc && h.state === "up")
  })

  it.scopedLive("a profile whose policy routes to dc2 reaches its hosts: pools are sized by the most local distance any Session or profile gives", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.2.25", { nodes: [{ dataCenter: "dc1" }, { dataCenter: "dc2" }] })
      const live = yield* cluster(server, { loadBalancing: inDc("dc1") })
      const pooled = Effect.map(live.pools.snapshot, (all) => all.map((p) => p.endpoint).sort())
      expect(yield* pooled).toEqual([server.contactPoints[0]])
      const rs = yield* withSession(live, { profiles: { far: { loadBalancing: inDc("dc2") } } }, (s) =>
        Effect.gen(function* () {
          expect(yield* pooled).toEqual([...server.contactPoints].sort())
          return yield* s.execute("SELECT release_version FROM system.local", undefined, { profile: "far" })
        })
      )
      expect(rs.coordinator).toBe(server.contactPoints[1])
      // Closed, the Session's policies no longer size the pools.
      expect(yield* pooled).toEqual([server.contactPoints[0]])
    }))

  it.scopedLive("prepare follows the statement's profile (its load balancing picks the node)", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.2.28", { nodes: [{ dataCenter: "dc1" }, { dataCenter: "dc2" }] })
      const live = yield* cluster(server, { loadBalancing: inDc("dc1") })
      const query = "INSERT INTO ks_a.kv (k, v) VALUES (?, ?)"
      yield* withSession(live, { profiles: { far: { loadBalancing: inDc("dc2") } } }, (s) => s.prepare(query, { profile: "far" }))
      const prepares = yield* Effect.forEach(server.nodes, (n) => Effect.map(n.requests, (log) => log.filter((r) => r.request._tag === "Prepare").length))
      // Node 2 (dc2) prepared it first; node 1 may have it too, from the background task that prepares everywhere.
      expect(prepares[1]).toBeGreaterThanOrEqual(1)
      const first = yield* Effect.map(server.requests, (log) => log.find((r) => r.request._tag === "Prepare" && r.query === query))
      expect(first?.node).toBe(2)
    }))

  it.scopedLive("a retry policy's Ignore decision gives an empty result instead of the error", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.2.31", { nodes: 1 })
      yield* server.addRules({ query: "SELECT v FROM ks_a.kv", error: { kind: "Overloaded", message: "busy" } })
      const live = yield* cluster(server)
      const ignoring: RetryPolicy.RetryPolicy = { ...RetryPolicy.defaultRetryPolicy, onRequestError: () => RetryPolicy.ignore }
      const rs = yield* withSession(live, { retryPolicy: ignoring }, (s) => s.execute("SELECT v FROM ks_a.kv"))
      expect(rs.rows).toEqual([])
      const rethrown = yield* Effect.flip(withSession(live, {}, (s) => s.execute("SELECT v FROM ks_a.kv")))
      expect(rethrown._tag).toBe("Overloaded")
    }))

  it.scopedLive("a localDataCenter that no host has fails the Cluster layer with UnknownDataCenter listing the data centres found", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.2.34", { nodes: [{ dataCenter: "dc1" }, { dataCenter: "east" }] })
      const error = yield* Effect.flip(Effect.scoped(cluster(server, { localDataCenter: "dc9" })))
      expect(error).toEqual(new CqlError.UnknownDataCenter({ dataCenter: "dc9", found: ["dc1", "east"] }))
    }))
})

describe("the prepared-statement registry", () => {
  it.scopedLive("holds at most maxPreparedStatements; a statement it dropped is prepared again when next run, and the drop is counted", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.2.120", { nodes: 1 })
      const live = yield* cluster(server, { maxPreparedStatements: 2 })
      const evictionsBefore = (yield* Metric.value(Metrics.preparedEvictions)).count
      const queries = [1, 2, 3].map((n) => `INSERT INTO ks_a.kv (k, v) VALUES (${n}, ?)`)
      yield* withSession(live, {}, (s) =>
        Effect.forEach([...queries, ...queries], (q) => s.execute(q, ["x"], { prepare: true }), { discard: true })
      )
      expect(live.registry.preparedCount()).toBe(2)
      // Each of the three was dropped before its second run (the least recently used goes): six PREPAREs in all.
      expect(yield* count(server, "Prepare")).toBe(6)
      expect(yield* count(server, "Execute")).toBe(6)
      expect((yield* Metric.value(Metrics.preparedEvictions)).count - evictionsBefore).toBe(4)
    }))
})
