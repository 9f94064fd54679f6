/**
 * The "stub" target: packages/testing's StubServer as a null server for the benchmark's statements, in a process
 * of its own (bench/run.ts starts it and stops it with SIGTERM). Keyspace `bench` is emulated in system_schema, so
 * every driver's metadata refresh works; SELECT by key answers one row, the writes answer Void (both encoded once
 * and replayed: the stub's null-server path), and the range scan pages through `rows` rows (at most 100,000)
 * whatever the range. The figures it gives measure the clients, not a database.
 *
 * argv: host port rows
 */
import { DataType } from "@effect-cql/protocol"
import { StubServer } from "@effect-cql/testing"
import * as Effect from "effect/Effect"
import { cql, nameOf, nOf, scoreOf } from "./lib/spec.js"

const [host = "127.0.1.1", port = "9042", rows = "1000000"] = process.argv.slice(2)
const { int, bigint, varchar, double } = DataType.native
const columns = { k: int, name: varchar, n: bigint, score: double }
const row = (k: number) => ({ k, name: nameOf(k), n: nOf(k), score: scoreOf(k) })
const scanRows = Array.from({ length: Math.min(Number(rows), 100_000) }, (_, k) => row(k))

const program = Effect.gen(function* () {
  yield* StubServer.make({
    firstAddress: host,
    port: Number(port),
    log: false,
    keyspaces: [
      {
        name: "bench",
        tables: [
          { name: "rows", columns, partitionKey: ["k"] },
          { name: "writes", columns, partitionKey: ["k"] },
          { name: "batches", columns: { p: int, c: int, name: varchar, n: bigint, score: double }, partitionKey: ["p"], clustering: ["c"] }
        ]
      }
    ],
    rules: [
      { query: cql.select, rows: [row(1)] },
      { query: cql.insert },
      { query: cql.batchInsert },
      // Both markers are `partition key token` (bigint) in Cassandra; the stub needs distinct names.
      { query: cql.scan, rows: scanRows, columns, bind: { lo: bigint, hi: bigint } }
    ]
  })
  process.stderr.write(`[stub] listening on ${host}:${port}\n`)
  yield* Effect.never
})

process.on("SIGTERM", () => process.exit(0))
Effect.runFork(Effect.scoped(program))
