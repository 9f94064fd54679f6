/**
 * The Session against the real Cassandra 5.0 node of the integration project (127.0.0.1), on protocol v5 and v4,
 * with and without compression.
 */
import { describe, expect, it } from "@effect/vitest"
import { CqlError, Session, Statement } from "@effect-cql/driver"
import { Chunk, Context, Effect, Either, Layer, Schema, Stream } from "effect"

const variants = [
  { name: "v5", protocolVersion: 5, compression: "none" },
  { name: "v5 lz4", protocolVersion: 5, compression: "lz4" },
  { name: "v4", protocolVersion: 4, compression: "none" },
  { name: "v4 lz4", protocolVersion: 4, compression: "lz4" },
  { name: "v4 snappy", protocolVersion: 4, compression: "snappy" }
] as const

const ks = "it_session"

const setup = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.kv (k int PRIMARY KEY, v text, n bigint)`)
  yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.paged (p int, c int, v text, PRIMARY KEY (p, c))`)
  yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.counters (k int PRIMARY KEY, hits counter)`)
})

for (const variant of variants) {
  const SessionLive = Session.layer({
    contactPoints: ["127.0.0.1"],
    localDataCenter: "dc1",
    protocolVersion: variant.protocolVersion,
    compression: variant.compression
  })
  describe(`Session on ${variant.name}`, () => {
    it.layer(SessionLive, { timeout: 60_000 })((it) => {
      it.effect("negotiates the asked version and reads system.local", () =>
        Effect.gen(function* () {
          const s = yield* Session.Session
          expect(s.protocolVersion).toBe(variant.protocolVersion)
          const rs = yield* s.execute("SELECT release_version, cluster_name FROM system.local")
          expect(rs.rows).toHaveLength(1)
          expect(String(rs.rows[0]!["release_version"])).toMatch(/^5\.0\./)
          expect(rs.columns.map((c) => c.name)).toEqual(["release_version", "cluster_name"])
          expect(rs.coordinator).toBe("127.0.0.1:9042")
        }))

      it.effect("prepares, executes and reads back, by position and by name", () =>
        Effect.gen(function* () {
          yield* setup
          const s = yield* Session.Session
          const k = variant.protocolVersion * 100 + variant.name.length
          yield* s.execute(`INSERT INTO ${ks}.kv (k, v, n) VALUES (?, ?, ?)`, [k, `hello ${variant.name}`, 2n ** 40n])
          const byPos = yield* s.execute(`SELECT k, v, n FROM ${ks}.kv WHERE k = ?`, [k])
          expect(byPos.rows).toEqual([{ k, v: `hello ${variant.name}`, n: 2n ** 40n }])
          const byName = yield* s.execute(`SELECT v FROM ${ks}.kv WHERE k = :k`, { k })
          expect(byName.rows).toEqual([{ v: `hello ${variant.name}` }])
          const prepared = yield* s.prepare(`SELECT v FROM ${ks}.kv WHERE k = ?`)
          expect(prepared.pkIndexes).toEqual([0])
          expect(prepared.bindColumns.map((c) => c.name)).toEqual(["k"])
        }))

      it.effect("decodes rows through a Schema, and a mismatch is a typed error", () =>
        Effect.gen(function* () {
          yield* setup
          const s = yield* Session.Session
          yield* s.execute(`INSERT INTO ${ks}.kv (k, v, n) VALUES (?, ?, ?)`, [7, "seven", 7n])
          const Row = Schema.Struct({ k: Schema.Number, v: Schema.String })
          const byKey = Statement.typed({ query: `SELECT k, v FROM ${ks}.kv WHERE k = ?`, Params: Schema.Tuple(Schema.Number), Row })
          const rs = yield* s.execute(byKey([7]))
          expect(rs.rows).toEqual([{ k: 7, v: "seven" }])
          const Wrong = Schema.Struct({ k: Schema.String })
          const bad = yield* Effect.either(s.execute({ query: `SELECT k FROM ${ks}.kv WHERE k = 7`, rowSchema: Wrong }))
          expect(Either.isLeft(bad) && bad.left._tag).toBe("SchemaMismatch")
        }))

      it.effect("server errors are tagged errors with their fields", () =>
        Effect.gen(function* () {
          const s = yield* Session.Session
          const syntax = yield* Effect.flip(s.execute("SELEKT nothing"))
          expect(syntax._tag).toBe("SyntaxError")
          const invalid = yield* Effect.flip(s.execute("SELECT * FROM no_such_keyspace.t"))
          expect(invalid._tag).toBe("Invalid")
          yield* setup
          const exists = yield* Effect.flip(s.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY)`))
          expect(exists).toBeInstanceOf(CqlError.AlreadyExists)
          if (exists instanceof CqlError.AlreadyExists) {
            expect(exists.keyspace).toBe(ks)
            expect(exists.table).toBe("kv")
          }
          const recovered = yield* s.execute("SELEKT 1").pipe(Effect.catchTag("SyntaxError", (e) => Effect.succeed(e.host)))
          expect(recovered).toBe("127.0.0.1:9042")
        }))

      it.effect("streams 10,000 rows page by page", () =>
        Effect.gen(function* () {
          yield* setup
          const s = yield* Session.Session
          const p = variant.protocolVersion * 10 + variant.name.length
          yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (b) =>
              s.batch(
                Array.from({ length: 100 }, (_, j) => ({
                  query: `INSERT INTO ${ks}.paged (p, c, v) VALUES (?, ?, ?)`,
                  params: [p, b * 100 + j, `row ${b * 100 + j}`]
                })),
                { type: "UNLOGGED" }
              ),
            { concurrency: 8, discard: true }
          )
          const chunks = yield* s
            .stream(`SELECT c FROM ${ks}.paged WHERE p = ?`, [p], { pageSize: 1000 })
            .pipe(Stream.chunks, Stream.map(Chunk.size), Stream.runCollect)
          // Each page is one chunk; the server may end with an empty page after a full one (has_more_pages was set).
          expect(Chunk.toReadonlyArray(chunks).filter((n) => n > 0)).toEqual(Array.from({ length: 10 }, () => 1000))
          const page = yield* s.execute(`SELECT c FROM ${ks}.paged WHERE p = ?`, [p], { pageSize: 3 })
          expect(page.rows.map((r) => r["c"])).toEqual([0, 1, 2])
          expect(page.pagingState).toBeDefined()
          const next = yield* s.execute(`SELECT c FROM ${ks}.paged WHERE p = ?`, [p], { pageSize: 3, pagingState: page.pagingState! })
          expect(next.rows.map((r) => r["c"])).toEqual([3, 4, 5])
        }))

      it.effect("batches: counter and lightweight transactions report [applied]", () =>
        Effect.gen(function* () {
          yield* setup
          const s = yield* Session.Session
          const k = 1000 + variant.protocolVersion * 10 + variant.name.length
          yield* s.execute(`DELETE FROM ${ks}.kv WHERE k = ?`, [k])
          yield* s.batch(
            [
              { query: `UPDATE ${ks}.counters SET hits = hits + ? WHERE k = ?`, params: [2n, k] },
              { query: `UPDATE ${ks}.counters SET hits = hits + ? WHERE k = ?`, params: [3n, k] }
            ],
            { type: "COUNTER" }
          )
          const hits = yield* s.execute(`SELECT hits FROM ${ks}.counters WHERE k = ?`, [k])
          expect(hits.rows[0]!["hits"]).toBeGreaterThanOrEqual(5n)
          const first = yield* s.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?) IF NOT EXISTS`, [k, "a"])
          expect(first.applied).toBe(true)
          const second = yield* s.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?) IF NOT EXISTS`, [k, "b"])
          expect(second.applied).toBe(false)
          expect(second.rows[0]!["v"]).toBe("a")
        }))
    })
  })
}

describe("Session lifecycle", () => {
  it.live("a closed session refuses new requests with SessionClosed", () =>
    Effect.gen(function* () {
      const s = yield* Effect.scoped(Layer.build(Session.layer({ contactPoints: ["127.0.0.1"] })).pipe(Effect.map(Context.get(Session.Session))))
      const err = yield* Effect.flip(s.execute("SELECT now() FROM system.local"))
      expect(err._tag).toBe("SessionClosed")
    }))

  it.live("no contact point answers: NoHostAvailable with the cause per host", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(Effect.scoped(Layer.build(Session.layer({ contactPoints: ["127.0.0.250:9999"], connectTimeout: "1 second" }))))
      expect(err._tag).toBe("NoHostAvailable")
      if (err._tag === "NoHostAvailable") expect([...err.errors.keys()]).toEqual(["127.0.0.250:9999"])
    }))
})
