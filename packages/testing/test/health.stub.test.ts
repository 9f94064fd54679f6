/**
 * Health-aware routing through the stub: a replica that stops answering (SIGSTOP-like: the socket stays open, no
 * answer comes) collects requests in flight, and token-aware plans then try it last, so the other replicas take the
 * load instead of every request waiting out its timeout there. A node that stops answering everything has its
 * connection probed and closed, which moves the idempotent requests stuck there to the next replica.
 */
import { Cluster, Session } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { StubServer } from "../src/index.js"

const query = "SELECT v FROM ks.kv WHERE k = ?"

const threeReplicas = (firstAddress: string) =>
  StubServer.make({
    firstAddress,
    nodes: 3,
    port: 0,
    keyspaces: [
      {
        name: "ks",
        replication: { class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: "3" },
        tables: [{ name: "kv", columns: { k: DataType.native.int, v: DataType.native.int }, partitionKey: ["k"] }]
      }
    ],
    rules: [{ query, rows: [{ v: 1 }] }]
  })

const executesOn = (node: StubServer.Node) => Effect.map(node.requests, (log) => log.filter((r) => r.request._tag === "Execute" && r.query === query).length)

describe("health-aware routing", () => {
  it.scopedLive("a silent replica gets few requests: the others answer, and every idempotent request succeeds", () =>
    Effect.gen(function* () {
      const server = yield* threeReplicas("127.0.3.20")
      const cluster = yield* Layer.build(Cluster.layer({ contactPoints: [server.contactPoints[0]!], requestTimeout: "1 second" })).pipe(
        Effect.map(Context.get(Cluster.Cluster))
      )
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* session.prepare(query)
      yield* cluster.executor.awaitIdle
      // Node 1 stops answering this statement; its connection stays open.
      yield* server.nodes[0]!.addRules({ query, noResponse: true })
      const total = 300
      const started = Date.now()
      const answered = yield* Effect.forEach(Array.from({ length: total }, (_, k) => k), (k) => session.execute(query, [k], { idempotent: true }), {
        concurrency: 32
      })
      const elapsed = Date.now() - started
      expect(answered).toHaveLength(total)
      const arrivals = yield* Effect.forEach(server.nodes, (n) => Effect.map(n.requests, (log) => log.filter((r) => r.request._tag === "Execute" && r.query === query).length))
      // Without load-aware plans about a third (100) would go to node 1 first and wait out the timeout there.
      expect(arrivals[0]!).toBeLessThan(30)
      expect(arrivals[1]! + arrivals[2]!).toBeGreaterThanOrEqual(total)
      expect(elapsed).toBeLessThan(5000)
    }))

  it.scopedLive("a paused node: its connection is probed and closed, stuck idempotent requests finish elsewhere, and it is used again once it answers", () =>
    Effect.gen(function* () {
      const server = yield* threeReplicas("127.0.3.40")
      const cluster = yield* Layer.build(
        Cluster.layer({
          contactPoints: [server.contactPoints[1]!],
          requestTimeout: "10 seconds",
          stallTimeout: "200 millis",
          probeTimeout: "200 millis",
          reconnectionSchedule: Schedule.spaced("300 millis")
        })
      ).pipe(Effect.map(Context.get(Cluster.Cluster)))
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* session.prepare(query)
      yield* cluster.executor.awaitIdle
      const paused = server.nodes[0]!
      const changes: Array<string> = []
      yield* Effect.forkScoped(
        Stream.runForEach(cluster.pools.stateChanges, (c) => Effect.sync(() => c.endpoint === paused.contactPoint && changes.push(c.state)))
      )
      yield* Effect.sleep("50 millis")
      yield* paused.pause
      const started = Date.now()
      const answered = yield* Effect.forEach(Array.from({ length: 300 }, (_, k) => k), (k) => session.execute(query, [k], { idempotent: true }), {
        concurrency: 32
      })
      const elapsed = Date.now() - started
      expect(answered).toHaveLength(300)
      // Requests went to the paused node before it looked unhealthy (its only connection then closed: the pool went
      // down); none waited out the 10 s timeout.
      expect(changes).toEqual(["down"])
      expect(elapsed).toBeLessThan(3000)
      const pool = (yield* cluster.pools.snapshot).find((p) => p.endpoint === paused.contactPoint)!
      expect(pool.inFlight.reduce((a, b) => a + b, 0)).toBe(0)

      // SIGCONT: the reconnection that hung in its handshake completes, and the node takes requests again.
      yield* paused.resume
      yield* paused.clearRequests
      const back = Date.now()
      while ((yield* executesOn(paused)) === 0 && Date.now() - back < 5000) {
        yield* Effect.forEach(Array.from({ length: 30 }, (_, k) => k), (k) => session.execute(query, [k], { idempotent: true }), { concurrency: 8 })
      }
      expect(yield* executesOn(paused)).toBeGreaterThan(0)
      // The transition reaches the stream after the pool already serves requests.
      while (changes.length < 2 && Date.now() - back < 5000) yield* Effect.sleep("20 millis")
      expect(changes).toEqual(["down", "up"])
    }))

  it.scopedLive("without stall detection, the requests stuck on a paused node wait out the request timeout", () =>
    Effect.gen(function* () {
      const server = yield* threeReplicas("127.0.3.50")
      const cluster = yield* Layer.build(
        Cluster.layer({ contactPoints: [server.contactPoints[1]!], requestTimeout: "1500 millis", stallTimeout: 0 })
      ).pipe(Effect.map(Context.get(Cluster.Cluster)))
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* session.prepare(query)
      yield* cluster.executor.awaitIdle
      yield* server.nodes[0]!.pause
      const started = Date.now()
      yield* Effect.forEach(Array.from({ length: 300 }, (_, k) => k), (k) => session.execute(query, [k], { idempotent: true }), { concurrency: 32 })
      // The control: the same load takes at least one full timeout when nothing closes the silent connection.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500)
    }))
})
