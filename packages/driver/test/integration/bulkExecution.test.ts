/** BulkExecution on a real Cassandra 5.0: thousands of prepared INSERTs from one fiber, then reads of them. */
import { describe, expect, it } from "@effect/vitest"
import { BulkExecution, cql, Session } from "@effect-cql/driver"
import { Effect, Stream } from "effect"

const ks = "it_bulk"

const setup = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.kv (p int, k int, v text, PRIMARY KEY (p, k))`)
})

describe("BulkExecution", () => {
  it.layer(Session.layer({ contactPoints: ["127.0.0.1"] }), { timeout: 120_000 })((it) => {
    it.effect("5,000 INSERTs from a generator at 128 in flight all land; executeAll reads them back in order", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        function* inserts() {
          for (let k = 0; k < 5000; k++) yield cql`INSERT INTO it_bulk.kv (p, k, v) VALUES (${k % 10}, ${k}, ${`v${k}`})`
        }
        const summary = yield* BulkExecution.run(inserts(), { concurrency: 128 })
        expect(summary).toEqual({ started: 5000, succeeded: 5000, failures: [] })
        const counts = yield* BulkExecution.executeAll(
          Array.from({ length: 10 }, (_, p) => cql`SELECT count(*) AS n FROM it_bulk.kv WHERE p = ${p}`),
          { concurrency: 10 }
        )
        expect(counts.map((r) => (r._tag === "Right" ? r.right.rows[0]!["n"] : r.left))).toEqual(Array.from({ length: 10 }, () => 500n))
        const some = yield* BulkExecution.executeAll([7, 4999, 123].map((k) => cql`SELECT v FROM it_bulk.kv WHERE p = ${k % 10} AND k = ${k}`), { concurrency: 3 })
        expect(some.map((r) => (r._tag === "Right" ? r.right.rows : r.left))).toEqual([[{ v: "v7" }], [{ v: "v4999" }], [{ v: "v123" }]])
        const s2 = (yield* s.execute(cql`SELECT v FROM it_bulk.kv WHERE p = ${1} AND k = ${1}`)).rows
        expect(s2).toEqual([{ v: "v1" }])
      }))

    it.effect("a failing statement is reported with its index, and the others still run", () =>
      Effect.gen(function* () {
        yield* setup
        const statements = [1, 2, 3].map((k) => cql`INSERT INTO it_bulk.kv (p, k, v) VALUES (${100}, ${k}, ${"x"})`)
        const bad = cql`INSERT INTO it_bulk.nope (p) VALUES (${1})`
        const summary = yield* BulkExecution.runStream(Stream.fromIterable([statements[0]!, bad, statements[1]!, statements[2]!]), { concurrency: 2 })
        expect(summary.succeeded).toBe(3)
        expect(summary.failures.map((f) => [f.index, f.error._tag])).toEqual([[1, "Invalid"]])
      }))
  })
})
