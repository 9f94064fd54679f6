/**
 * Health-aware routing through the stub: a replica that stops answering (SIGSTOP-like: the socket stays open, no
 * answer comes) collects requests in flight, and token-aware plans then try it last, so the other replicas take the
 * load instead of every request waiting out its timeout there.
 */
import { Cluster, Session } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { StubServer } from "../src/index.js"

const query = "SELECT v FROM ks.kv WHERE k = ?"

describe("health-aware routing", () => {
  it.scopedLive("a silent replica gets few requests: the others answer, and every idempotent request succeeds", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({
        firstAddress: "127.0.3.20",
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
})
