/**
 * The driver's retry, speculative-execution and reconnection policies, and interruption, exercised through the stub
 * server: real sockets, scripted node failures, and the nodes' request logs to see where each attempt went.
 *
 * Every test has its own stub on its own 127.0.1.x addresses (ephemeral ports) and a Session whose query plan is
 * a fixed order of the stub's nodes, so that "the first host" and "the next host" are known.
 */
import { Cluster, ExecutionProfile, type HostEvents, Metrics, RetryPolicy, Session, SpeculativeExecution } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
// The pools themselves (their connections' orphaned stream ids), which the Cluster's public facets do not show.
import { coreOf } from "../../driver/src/internal/clusterCore.js"
import type { Connection } from "../../driver/src/internal/connection/connection.js"
import { StubServer } from "../src/index.js"
import { fixedOrder } from "./fixedOrder.js"

/** A stub of `nodes` nodes on `firstAddress` and the next addresses, each on an ephemeral port. */
const stub = (firstAddress: string, nodes = 3, rules: ReadonlyArray<StubServer.Rule> = []) =>
  StubServer.make({ firstAddress, nodes, port: 0, rules })

/**
 * A Session over the whole stub (control connection on node 1), planning nodes 1, 2, 3 in that order unless
 * `order` says otherwise; also the Cluster's pools and host events.
 */
const connect = (server: StubServer.StubServer, config: Partial<Session.SessionConfig> = {}, order = server.contactPoints) =>
  Layer.build(
    Session.layer({
      contactPoints: [server.contactPoints[0]!],
      requestTimeout: "2 seconds",
      loadBalancing: fixedOrder(order),
      ...config
    })
  ).pipe(
    Effect.map((ctx) => {
      const cluster = Context.get(ctx, Cluster.Cluster)
      return { session: Context.get(ctx, Session.Session), pools: coreOf(cluster)!.pools, events: cluster.events }
    })
  )

/** How many QUERY / EXECUTE / BATCH requests for `query` each node received, node 1 first. */
const arrivals = (server: StubServer.StubServer, query: string) =>
  Effect.forEach(server.nodes, (n) =>
    Effect.map(n.requests, (log) => log.filter((r) => r.query === query && r.request._tag !== "Prepare").length)
  )

const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.timed(effect), ([d, a]) => [Duration.toMillis(d), a] as const)

/** Polls `read` every 10 ms until `done` holds; fails the test after `within`. */
const waitFor = <A, E>(read: Effect.Effect<A, E>, done: (a: A) => boolean, within: Duration.DurationInput = "3 seconds") =>
  read.pipe(
    Effect.repeat({ until: done, schedule: Schedule.spaced("10 millis") }),
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`condition not met within ${Duration.format(within)}`) })
  )

/** The next `tag` event of the host at `endpoint`, within 3 s. */
const nextHostEvent = (events: Queue.Dequeue<HostEvents.ClusterEvent>, tag: "Up" | "Down", endpoint: string) =>
  Queue.take(events).pipe(
    Effect.repeat({ until: (e) => e._tag === tag && e.host.endpoint === endpoint }),
    Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => new Error(`no ${tag} event for ${endpoint}`) })
  )

const readTimeout = (received: number, dataPresent: boolean): NonNullable<StubServer.Rule["error"]> => ({
  kind: "ReadTimeout",
  message: "Operation timed out - received only some responses",
  consistency: "QUORUM",
  received,
  blockFor: 2,
  dataPresent
})

describe("retry policy through the stub", () => {
  it.scopedLive("ReadTimeout with enough replicas and no data: retried once on the same host, which then answers", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.210", 3, [{ query: "SELECT v FROM ks.t", rows: [{ v: "ok" }] }])
      yield* server.nodes[0]!.addRules({ query: "SELECT v FROM ks.t", error: readTimeout(2, false), times: 1 })
      const { session } = yield* connect(server)
      const rs = yield* session.execute("SELECT v FROM ks.t")
      expect(rs.rows).toEqual([{ v: "ok" }])
      expect(rs.coordinator).toBe(server.contactPoints[0])
      expect(yield* arrivals(server, "SELECT v FROM ks.t")).toEqual([2, 0, 0])
    }))

  it.scopedLive("ReadTimeout with too few replicas, or with the data present: not retried unless idempotent, then on the next host", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.213", 3, [{ query: "SELECT v FROM ks.t", rows: [{ v: "ok" }] }])
      const { session } = yield* connect(server)
      for (const [received, dataPresent] of [[1, false], [2, true]] as const) {
        yield* server.nodes[0]!.addRules({ query: "SELECT v FROM ks.t", error: readTimeout(received, dataPresent), times: 1 })
        const err = yield* Effect.flip(session.execute("SELECT v FROM ks.t"))
        expect(err).toMatchObject({ _tag: "ReadTimeout", received, dataPresent, host: server.contactPoints[0] })
      }
      expect(yield* arrivals(server, "SELECT v FROM ks.t")).toEqual([2, 0, 0])
      yield* server.nodes[0]!.addRules({ query: "SELECT v FROM ks.t", error: readTimeout(1, false), times: 1 })
      const rs = yield* session.execute("SELECT v FROM ks.t", undefined, { idempotent: true })
      expect(rs.coordinator).toBe(server.contactPoints[1])
      expect(yield* arrivals(server, "SELECT v FROM ks.t")).toEqual([3, 1, 0])
    }))

  it.scopedLive("Unavailable: the next host answers, idempotent or not", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.216", 3, [{ query: "SELECT v FROM ks.t", rows: [{ v: "ok" }] }])
      yield* server.nodes[0]!.addRules({
        query: "SELECT v FROM ks.t",
        error: { kind: "Unavailable", message: "Cannot achieve consistency level QUORUM", consistency: "QUORUM", required: 2, alive: 1 }
      })
      const { session } = yield* connect(server)
      const rs = yield* session.execute("SELECT v FROM ks.t")
      expect(rs.rows).toEqual([{ v: "ok" }])
      expect(rs.coordinator).toBe(server.contactPoints[1])
      expect(yield* arrivals(server, "SELECT v FROM ks.t")).toEqual([1, 1, 0])
    }))

  it.scopedLive("Unavailable twice: one retry only, then NoHostAvailable with each host's error", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.219", 3, [{ query: "SELECT v FROM ks.t", rows: [{ v: "ok" }] }])
      const unavailable: StubServer.Rule = {
        query: "SELECT v FROM ks.t",
        error: { kind: "Unavailable", message: "Cannot achieve consistency level QUORUM", consistency: "QUORUM", required: 2, alive: 1 }
      }
      yield* server.nodes[0]!.addRules(unavailable)
      yield* server.nodes[1]!.addRules(unavailable)
      const { session } = yield* connect(server)
      const err = yield* Effect.flip(session.execute("SELECT v FROM ks.t"))
      // The second Unavailable is rethrown (retryCount 1): node 3 is never tried.
      expect(err._tag).toBe("Unavailable")
      expect(err).toMatchObject({ host: server.contactPoints[1] })
      expect(yield* arrivals(server, "SELECT v FROM ks.t")).toEqual([1, 1, 0])
    }))

  it.scopedLive("WriteTimeout: a SIMPLE write is retried on the next host only when idempotent; an idempotent BATCH_LOG one on the same host", () =>
    Effect.gen(function* () {
      const insert = "INSERT INTO ks.t (k, v) VALUES (1, 'x')"
      const server = yield* stub("127.0.1.222", 3, [{ query: insert }])
      const writeTimeout = (writeType: string): StubServer.Rule => ({
        query: insert,
        error: { kind: "WriteTimeout", message: "Operation timed out", consistency: "QUORUM", received: 1, blockFor: 2, writeType },
        times: 1
      })
      const { session } = yield* connect(server)
      yield* server.nodes[0]!.addRules(writeTimeout("SIMPLE"))
      const simple = yield* Effect.flip(session.execute(insert))
      expect(simple).toMatchObject({ _tag: "WriteTimeout", writeType: "SIMPLE", host: server.contactPoints[0] })
      expect(yield* arrivals(server, insert)).toEqual([1, 0, 0])

      yield* server.nodes[0]!.addRules(writeTimeout("SIMPLE"))
      const moved = yield* session.execute(insert, undefined, { idempotent: true })
      expect(moved.coordinator).toBe(server.contactPoints[1])
      expect(yield* arrivals(server, insert)).toEqual([2, 1, 0])

      yield* server.nodes[0]!.addRules(writeTimeout("BATCH_LOG"))
      const notIdempotent = yield* Effect.flip(session.execute(insert))
      expect(notIdempotent).toMatchObject({ _tag: "WriteTimeout", writeType: "BATCH_LOG" })
      expect(yield* arrivals(server, insert)).toEqual([3, 1, 0])

      yield* server.nodes[0]!.addRules(writeTimeout("BATCH_LOG"))
      const rs = yield* session.execute(insert, undefined, { idempotent: true })
      expect(rs.coordinator).toBe(server.contactPoints[0])
      expect(yield* arrivals(server, insert)).toEqual([5, 1, 0])
    }))

  for (const [failure, address, rule, surfaced] of [
    ["Overloaded", "127.0.1.225", { error: { kind: "Overloaded", message: "too many requests" } }, "Overloaded"],
    ["a server error", "127.0.1.228", { error: { kind: "ServerError", message: "boom" } }, "ServerError"],
    ["a dropped connection", "127.0.1.231", { drop: true }, "ConnectionError"]
  ] as const) {
    it.scopedLive(`${failure}: an idempotent statement goes to the next host; a non-idempotent one fails with ${surfaced}`, () =>
      Effect.gen(function* () {
        const update = "UPDATE ks.t SET v = 1 WHERE k = 1"
        const server = yield* stub(address, 3, [{ query: update }])
        const { session, pools } = yield* connect(server, { reconnectionSchedule: Schedule.spaced("50 millis") })
        const n1 = server.nodes[0]!
        yield* n1.addRules({ query: update, ...rule, times: 1 })
        const rs = yield* session.execute(update, undefined, { idempotent: true })
        expect(rs.coordinator).toBe(server.contactPoints[1])
        expect(yield* arrivals(server, update)).toEqual([1, 1, 0])

        // After a drop node 1 has lost its pool's only connection: the next request must reach it again.
        yield* waitFor(Effect.sync(() => pools.get(n1.contactPoint)?.connections.length), (n) => n === 1)
        yield* n1.addRules({ query: update, ...rule, times: 1 })
        const err = yield* Effect.flip(session.execute(update))
        expect(err).toMatchObject({ _tag: surfaced, host: server.contactPoints[0] })
        expect(yield* arrivals(server, update)).toEqual([2, 1, 0])
      }))
  }

  it.scopedLive("fallthroughRetryPolicy: nothing is retried, the first error surfaces", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.234", 3, [{ query: /^SELECT v FROM ks\./, rows: [{ v: "ok" }] }])
      const n1 = server.nodes[0]!
      yield* n1.addRules(
        { query: "SELECT v FROM ks.read", error: readTimeout(2, false) },
        { query: "SELECT v FROM ks.unavailable", error: { kind: "Unavailable", message: "no", consistency: "QUORUM", required: 2, alive: 1 } },
        { query: "SELECT v FROM ks.overloaded", error: { kind: "Overloaded", message: "busy" } },
        { query: "SELECT v FROM ks.bootstrapping", error: { kind: "IsBootstrapping", message: "not yet" } }
      )
      const { session } = yield* connect(server, { retryPolicy: RetryPolicy.fallthroughRetryPolicy })
      for (const [table, tag] of [["read", "ReadTimeout"], ["unavailable", "Unavailable"], ["overloaded", "Overloaded"], ["bootstrapping", "IsBootstrapping"]]) {
        const query = `SELECT v FROM ks.${table}`
        const err = yield* Effect.flip(session.execute(query, undefined, { idempotent: true }))
        expect(err).toMatchObject({ _tag: tag, host: server.contactPoints[0] })
        expect(yield* arrivals(server, query)).toEqual([1, 0, 0])
      }
    }))

  it.scopedLive("a custom policy: spread the default and retry Overloaded on the same host at a lower consistency", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.t"
      const server = yield* stub("127.0.1.237", 3, [{ query, rows: [{ v: "ok" }] }])
      yield* server.nodes[0]!.addRules({ query, error: { kind: "Overloaded", message: "busy" }, times: 1 })
      const retryPolicy: RetryPolicy.RetryPolicy = {
        ...RetryPolicy.defaultRetryPolicy,
        onRequestError: (e, c) => (e._tag === "Overloaded" && c.retryCount === 0 ? RetryPolicy.retrySameHost("ONE") : RetryPolicy.rethrow)
      }
      const { session } = yield* connect(server, { retryPolicy })
      const rs = yield* session.execute(query, undefined, { consistency: "QUORUM" })
      expect(rs.coordinator).toBe(server.contactPoints[0])
      const sent = (yield* server.nodes[0]!.requests).flatMap((r) => (r.request._tag === "Query" && r.query === query ? [r.request.params.consistency] : []))
      expect(sent).toEqual(["QUORUM", "ONE"])
    }))
})

/** The pool connection of `endpoint` (each test's pools keep one per host unless it says otherwise). */
const connectionOf = (pools: { readonly get: (endpoint: string) => { readonly connections: ReadonlyArray<Connection> } | undefined }, endpoint: string) => {
  const conn = pools.get(endpoint)?.connections[0]
  if (conn === undefined) throw new Error(`no open connection to ${endpoint}`)
  return conn
}

describe("speculative execution through the stub", () => {
  it.scopedLive("a slow first host: an idempotent statement is answered by the next one after the delay; the slow attempt is cancelled", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.t"
      const server = yield* stub("127.0.1.240", 2, [{ query, rows: [{ v: "fast" }] }])
      const [n1, n2] = [server.nodes[0]!, server.nodes[1]!]
      yield* n1.addRules({ query, delay: "800 millis", rows: [{ v: "slow" }] })
      const { session, pools } = yield* connect(server, {
        speculativeExecution: SpeculativeExecution.constant({ delay: "50 millis", maxExecutions: 2 })
      })
      const [ms, rs] = yield* elapsed(session.execute(query, undefined, { idempotent: true }))
      expect(rs.rows).toEqual([{ v: "fast" }])
      expect(rs.coordinator).toBe(n2.contactPoint)
      expect(ms).toBeGreaterThanOrEqual(45)
      expect(ms).toBeLessThan(400)
      expect(yield* arrivals(server, query)).toEqual([1, 1])
      // The losing attempt was interrupted: its callback is gone, its stream id held until the late answer comes.
      const conn1 = connectionOf(pools, n1.contactPoint)
      expect(conn1.orphaned).toBe(1)

      // A request on node 1 while the orphaned answer is still due: it must not get that answer (a reused id would).
      yield* n1.addRules({ query: "SELECT w FROM ks.later", delay: "1200 millis", rows: [{ w: "mine" }] })
      const later = yield* session.execute("SELECT w FROM ks.later")
      expect(later.rows).toEqual([{ w: "mine" }])
      expect(later.coordinator).toBe(n1.contactPoint)
      expect(conn1.orphaned).toBe(0)
      const streams = (yield* n1.requests).filter((r) => r.request._tag === "Query" && /ks\.(t|later)$/.test(r.query ?? ""))
      expect(new Set(streams.map((r) => `${r.connection}:${r.stream}`)).size).toBe(2)
      expect(new Set(streams.map((r) => r.connection)).size).toBe(1)
    }))

  it.scopedLive("a non-idempotent statement never runs speculatively: it waits for the slow host", () =>
    Effect.gen(function* () {
      const query = "UPDATE ks.t SET v = v + 1 WHERE k = 1"
      const server = yield* stub("127.0.1.243", 2, [{ query, rows: [{ v: "fast" }] }])
      const n1 = server.nodes[0]!
      yield* n1.addRules({ query, delay: "500 millis", rows: [{ v: "slow" }] })
      const { session } = yield* connect(server, {
        speculativeExecution: SpeculativeExecution.constant({ delay: "50 millis", maxExecutions: 2 })
      })
      const [ms, rs] = yield* elapsed(session.execute(query))
      expect(rs.rows).toEqual([{ v: "slow" }])
      expect(rs.coordinator).toBe(n1.contactPoint)
      expect(ms).toBeGreaterThanOrEqual(490)
      expect(yield* arrivals(server, query)).toEqual([1, 0])
    }))

  it.scopedLive("maxExecutions 3 over two slow hosts: the third answers; both slow attempts are cancelled", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.t"
      const server = yield* stub("127.0.1.246", 3, [{ query, rows: [{ v: "fast" }] }])
      for (const n of server.nodes.slice(0, 2)) yield* n.addRules({ query, delay: "1 second", rows: [{ v: "slow" }] })
      const { session, pools } = yield* connect(server, {
        speculativeExecution: SpeculativeExecution.constant({ delay: "50 millis", maxExecutions: 3 })
      })
      const [ms, rs] = yield* elapsed(session.execute(query, undefined, { idempotent: true }))
      expect(rs.coordinator).toBe(server.contactPoints[2])
      expect(ms).toBeGreaterThanOrEqual(95)
      expect(ms).toBeLessThan(500)
      expect(yield* arrivals(server, query)).toEqual([1, 1, 1])
      expect(server.contactPoints.map((e) => connectionOf(pools, e).orphaned)).toEqual([1, 1, 0])
    }))
})

describe("reconnection through the stub", () => {
  it.scopedLive("a node that drops its connections and refuses new ones goes Down; accepting again, it comes Up on the schedule and gets requests", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.t"
      const server = yield* stub("127.0.1.249", 3, [{ query, rows: [{ v: "ok" }] }])
      const [n1, , n3] = [server.nodes[0]!, server.nodes[1]!, server.nodes[2]!]
      // Node 3 first in every plan; the control connection stays on node 1.
      const { session, pools, events } = yield* connect(
        server,
        { reconnectionSchedule: Schedule.spaced("100 millis"), connectionsPerHost: 2 },
        [n3.contactPoint, n1.contactPoint, server.nodes[1]!.contactPoint]
      )
      const hostEvents = yield* events.subscribe
      const next = (tag: "Up" | "Down") => nextHostEvent(hostEvents, tag, n3.contactPoint)
      expect((yield* session.execute(query)).coordinator).toBe(n3.contactPoint)
      expect(yield* n3.connections).toBe(2)

      yield* n3.stopAccepting
      yield* n3.dropConnections
      yield* next("Down")
      for (let i = 0; i < 3; i++) expect((yield* session.execute(query)).coordinator).toBe(n1.contactPoint)
      expect(yield* arrivals(server, query)).toEqual([3, 0, 1])
      // Still down after a few refused attempts; the loop keeps trying.
      yield* Effect.sleep("300 millis")
      const down = pools.get(n3.contactPoint)!
      expect([down.state, down.connections.length, down.reconnecting]).toEqual(["down", 0, true])

      yield* n3.startAccepting
      const [ms] = yield* elapsed(next("Up"))
      // The schedule's 100 ms, not the default's first delay (0.8 to 1 s).
      expect(ms).toBeLessThan(700)
      yield* waitFor(Effect.sync(() => pools.get(n3.contactPoint)!.connections.length), (n) => n === 2)
      expect(yield* n3.connections).toBe(2)
      expect((yield* session.execute(query)).coordinator).toBe(n3.contactPoint)
      expect(yield* arrivals(server, query)).toEqual([3, 0, 2])
    }))
})

describe("prepared statements on a host back up", () => {
  it.scopedLive("a node that went down and came back gets every prepared statement again before any request needs it", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.t WHERE k = ?"
      const bind = { k: DataType.native.int }
      const server = yield* stub("127.0.1.213", 2, [{ query, params: [1], bind, rows: [{ v: "ok" }] }])
      const n2 = server.nodes[1]!
      const { session, events } = yield* connect(server, { reconnectionSchedule: Schedule.spaced("100 millis") })
      yield* session.prepare(query)
      const prepares = Effect.map(n2.requests, (log) => log.filter((r) => r.request._tag === "Prepare" && r.query === query))
      // Prepared on node 2 in the background once node 1 had it.
      yield* waitFor(prepares, (p) => p.length === 1)

      const hostEvents = yield* events.subscribe
      const next = (tag: "Up" | "Down") => nextHostEvent(hostEvents, tag, n2.contactPoint)
      yield* n2.stopAccepting
      yield* n2.dropConnections
      yield* next("Down")
      yield* n2.startAccepting
      yield* next("Up")
      yield* waitFor(prepares, (p) => p.length === 2)
      const again = yield* prepares
      // On the new connection, and no EXECUTE was needed to bring it about.
      expect(new Set(again.map((r) => r.connection)).size).toBe(2)
      expect((yield* n2.requests).filter((r) => r.request._tag === "Execute")).toEqual([])
    }))
})

describe("execution profiles through the stub", () => {
  it.scopedLive("a fiber's profile (ExecutionProfile.withProfile) applies to its statements; a statement's own profile wins", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.t"
      const insert = "INSERT INTO ks.t (v) VALUES ('x')"
      const server = yield* stub("127.0.1.210", 1, [{ query, rows: [{ v: "ok" }] }, { query: insert }])
      const { session } = yield* connect(server, { profiles: { strict: { consistency: "QUORUM" }, relaxed: { consistency: "ONE" } } })
      yield* session.execute(query)
      yield* session.execute(query).pipe(ExecutionProfile.withProfile("strict"))
      yield* session.execute(query, undefined, { profile: "relaxed" }).pipe(ExecutionProfile.withProfile("strict"))
      yield* session.batch([insert]).pipe(ExecutionProfile.withProfile("strict"))
      const err = yield* Effect.flip(session.execute(query).pipe(ExecutionProfile.withProfile("nope")))
      expect(err).toMatchObject({ _tag: "UnknownProfile", name: "nope" })
      const sent = (yield* server.nodes[0]!.requests).flatMap((r) =>
        r.request._tag === "Query" && r.query === query ? [r.request.params.consistency] : r.request._tag === "Batch" ? [r.request.consistency] : []
      )
      expect(sent).toEqual(["LOCAL_ONE", "QUORUM", "ONE", "QUORUM"])
    }))
})

describe("interruption is cancellation", () => {
  it.scopedLive("a request to a node that never answers, interrupted: returns at once, nothing is retried, the connection stays usable", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.252", 2, [
        { query: "SELECT v FROM ks.hang", noResponse: true },
        { query: "SELECT v FROM ks.t", rows: [{ v: "ok" }] }
      ])
      const n1 = server.nodes[0]!
      const { session, pools } = yield* connect(server, { requestTimeout: "10 seconds" })
      const fiber = yield* Effect.fork(session.execute("SELECT v FROM ks.hang", undefined, { idempotent: true }))
      yield* waitFor(arrivals(server, "SELECT v FROM ks.hang"), (a) => a[0] === 1)
      const [ms, exit] = yield* elapsed(Fiber.interrupt(fiber))
      expect(ms).toBeLessThan(50)
      expect(Exit.isInterrupted(exit) ? "interrupted" : String(exit)).toBe("interrupted")
      const conn = connectionOf(pools, n1.contactPoint)
      expect(conn.orphaned).toBe(1)
      // Counted as ended: the in-flight gauge is back to 0 and the request is an "Interrupted" error of its host.
      expect((yield* Metric.value(Metric.tagged(Metrics.inFlight, "host", n1.contactPoint))).value).toBe(0)
      expect((yield* Metric.value(Metric.taggedWithLabels(Metrics.errors, [MetricLabel.make("host", n1.contactPoint), MetricLabel.make("kind", "Interrupted")]))).count).toBe(1)

      const rs = yield* session.execute("SELECT v FROM ks.t")
      expect(rs.rows).toEqual([{ v: "ok" }])
      expect(rs.coordinator).toBe(n1.contactPoint)
      // Same socket, another stream id; the interrupted request was not sent anywhere else.
      const log = (yield* n1.requests).filter((r) => r.request._tag === "Query" && r.query?.startsWith("SELECT v FROM ks."))
      expect(log.map((r) => r.connection)).toEqual([log[0]!.connection, log[0]!.connection])
      expect(log[1]!.stream).not.toBe(log[0]!.stream)
      expect(connectionOf(pools, n1.contactPoint)).toBe(conn)
      expect(yield* arrivals(server, "SELECT v FROM ks.hang")).toEqual([1, 0])
    }))
})

describe("policies combined", () => {
  it.scopedLive("a client timeout: an idempotent statement goes to the next host; a non-idempotent one fails with RequestTimeout", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.t"
      const server = yield* stub("127.0.1.200", 2, [{ query, rows: [{ v: "ok" }] }])
      yield* server.nodes[0]!.addRules({ query, noResponse: true })
      const { session } = yield* connect(server)
      const [ms, rs] = yield* elapsed(session.execute(query, undefined, { idempotent: true, timeout: "150 millis" }))
      expect(rs.coordinator).toBe(server.contactPoints[1])
      expect(ms).toBeGreaterThanOrEqual(145)
      const err = yield* Effect.flip(session.execute(query, undefined, { timeout: "150 millis" }))
      expect(err).toMatchObject({ _tag: "RequestTimeout", timeoutMs: 150, host: server.contactPoints[0] })
      expect(yield* arrivals(server, query)).toEqual([2, 1])
    }))

  it.scopedLive("IsBootstrapping: the next host, even for a non-idempotent statement (nothing was applied)", () =>
    Effect.gen(function* () {
      const query = "UPDATE ks.t SET v = 1 WHERE k = 1"
      const server = yield* stub("127.0.1.202", 2, [{ query }])
      yield* server.nodes[0]!.addRules({ query, error: { kind: "IsBootstrapping", message: "not yet" } })
      const { session } = yield* connect(server)
      expect((yield* session.execute(query)).coordinator).toBe(server.contactPoints[1])
      expect(yield* arrivals(server, query)).toEqual([1, 1])
    }))

  it.scopedLive("a prepared statement retried on the next host: executed there with the statement prepared on it", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.t WHERE k = ?"
      const bind = { k: DataType.native.int }
      const server = yield* stub("127.0.1.204", 2, [{ query, params: [1], bind, rows: [{ v: "ok" }] }])
      const [n1, n2] = [server.nodes[0]!, server.nodes[1]!]
      // Node 1's own rule is checked first, PREPARE included: it says how the marker is bound too.
      yield* n1.addRules({ query, bind, error: { kind: "Unavailable", message: "no", consistency: "QUORUM", required: 2, alive: 1 }, times: 1 })
      const { session } = yield* connect(server)
      const rs = yield* session.execute(query, [1])
      expect(rs.rows).toEqual([{ v: "ok" }])
      expect(rs.coordinator).toBe(n2.contactPoint)
      const seen = (log: ReadonlyArray<StubServer.LoggedRequest>) =>
        log.filter((r) => r.request._tag === "Prepare" || r.request._tag === "Execute").map((r) => `${r.request._tag} ${r.query ?? "(unknown id)"}`)
      expect(seen(yield* n1.requests)).toEqual([`Prepare ${query}`, `Execute ${query}`])
      // Node 2 answers the retried EXECUTE once it has the statement: either it was prepared there already (in the
      // background) or the unknown id got Unprepared and the Session re-prepared it there first.
      const onN2 = seen(yield* n2.requests)
      expect(onN2.at(-1)).toBe(`Execute ${query}`)
      expect(onN2.slice(0, -1)).toContain(`Prepare ${query}`)
      expect(onN2.filter((r) => r === `Execute ${query}`)).toHaveLength(1)
    }))

  it.scopedLive("interrupting a request with a speculative execution in flight cancels both attempts at once", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.hang"
      const server = yield* stub("127.0.1.206", 2, [{ query, noResponse: true }])
      const { session, pools } = yield* connect(server, {
        requestTimeout: "10 seconds",
        speculativeExecution: SpeculativeExecution.constant({ delay: "20 millis", maxExecutions: 2 })
      })
      const fiber = yield* Effect.fork(session.execute(query, undefined, { idempotent: true }))
      yield* waitFor(arrivals(server, query), (a) => a[0] === 1 && a[1] === 1)
      const [ms, exit] = yield* elapsed(Fiber.interrupt(fiber))
      expect(ms).toBeLessThan(50)
      expect(Exit.isInterrupted(exit) ? "interrupted" : String(exit)).toBe("interrupted")
      expect(server.contactPoints.map((e) => connectionOf(pools, e).orphaned)).toEqual([1, 1])
      expect(server.contactPoints.map((e) => connectionOf(pools, e).inFlight)).toEqual([0, 0])
    }))

  it.scopedLive("every node down: NoHostAvailable at once, not a hang; back up, requests succeed again", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.t"
      const server = yield* stub("127.0.1.208", 2, [{ query, rows: [{ v: "ok" }] }])
      const { session, pools } = yield* connect(server, { reconnectionSchedule: Schedule.spaced("100 millis") })
      for (const n of server.nodes) {
        yield* n.stopAccepting
        yield* n.dropConnections
      }
      yield* waitFor(Effect.sync(() => server.contactPoints.map((e) => pools.get(e)?.state)), (s) => s.every((x) => x === "down"))
      const [ms, err] = yield* elapsed(Effect.flip(session.execute(query)))
      expect(err._tag).toBe("NoHostAvailable")
      expect(ms).toBeLessThan(100)
      for (const n of server.nodes) yield* n.startAccepting
      yield* waitFor(Effect.sync(() => server.contactPoints.map((e) => pools.get(e)?.state)), (s) => s.every((x) => x === "up"))
      expect((yield* session.execute(query)).rows).toEqual([{ v: "ok" }])
    }))
})
