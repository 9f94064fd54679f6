/**
 * The harness's nodes keep their schema across a crash: a table created just before `kill -9` is still known after
 * the restart, with its acknowledged rows. (Started with `-Dcassandra.test.flush_local_schema_changes=false`, a
 * node replayed the table's mutations before knowing the table, skipped them, and then said it did not exist;
 * scripts/cassandra.sh now flushes schema changes unless CASSANDRA_FAST_DDL=1.) Its own node, on 127.0.0.41.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cluster, Session } from "@effect-cql/driver"
import { Context, Effect, Layer } from "effect"
import { type Cluster as Nodes, startCluster } from "../../../../scripts/harness.js"

describe("a node of the harness, crashed and restarted", () => {
  let nodes: Nodes
  beforeAll(async () => {
    nodes = await startCluster({ ipBase: 40, nodes: 1 })
  }, 300_000)
  afterAll(() => nodes?.stop(), 120_000)

  const session = Effect.gen(function* () {
    const ctx = yield* Layer.build(Session.layer({ contactPoints: [nodes.addresses[0]!], requestTimeout: "10 seconds" }))
    return { session: Context.get(ctx, Session.Session), cluster: Context.get(ctx, Cluster.Cluster) }
  })

  it.live(
    "a table created just before kill -9 is known after the restart, with every acknowledged row",
    () =>
      Effect.gen(function* () {
        const before = yield* Effect.scoped(
          Effect.gen(function* () {
            const { session: s } = yield* session
            yield* s.execute("CREATE KEYSPACE IF NOT EXISTS durable WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
            const table = `t${Date.now().toString(36)}`
            yield* s.execute(`CREATE TABLE durable.${table} (k int PRIMARY KEY, v text)`)
            yield* Effect.forEach(Array.from({ length: 50 }, (_, k) => k), (k) => s.execute(`INSERT INTO durable.${table} (k, v) VALUES (?, ?)`, [k, `v${k}`]), {
              concurrency: 10,
              discard: true
            })
            return table
          })
        )
        // The harness's nodes sync the commit log every 10 s (Cassandra's default, periodic): a write acknowledged
        // less than that before a kill -9 may be lost on a single node, by design. Past the sync, the rows live only in
        // the commit log, and the restart replays them, which needs the table to be known.
        yield* Effect.sleep("11 seconds")
        yield* Effect.promise(() => nodes.cassandra("kill", "1"))
        yield* Effect.promise(() => nodes.cassandra("start-node", "1"))
        const rows = yield* Effect.scoped(
          Effect.gen(function* () {
            const { session: s, cluster } = yield* session
            expect(cluster.metadata.current().keyspaces.get("durable")?.tables.has(before)).toBe(true)
            return (yield* s.execute(`SELECT k FROM durable.${before}`, undefined, { consistency: "ONE", pageSize: 1000 })).rows
          })
        )
        expect(rows.map((r) => r["k"] as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, k) => k))
      }),
    240_000
  )
})
