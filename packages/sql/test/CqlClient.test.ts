/** The SqlClient over a Session, on a TestSession: what reaches the Session, paging, errors, transactions refused. */
import { SqlClient } from "@effect/sql"
import { CqlError, Uuid } from "@effect-cql/driver"
import { CqlClient, CqlUnsupported } from "@effect-cql/sql"
import { TestSession } from "@effect-cql/testing"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"

const id = Uuid.unsafeFromString("6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
const people = [1, 2, 3, 4, 5].map((n) => ({ person_id: n, full_name: `p${n}` }))

const testLayer = (config?: CqlClient.CqlClientConfig) =>
  CqlClient.layer(config).pipe(
    Layer.provideMerge(
      TestSession.layer({
        rules: [
          { query: /./ },
          { query: "SELECT * FROM app.users WHERE id = ?", params: [id], rows: [{ id, name: "Ada" }] },
          { query: `SELECT * FROM "app"."people"`, rows: people },
          { query: "SELECT * FROM app.nope", error: new CqlError.Invalid({ message: "unconfigured table nope", host: "test-session" }) }
        ]
      })
    )
  )

const calls = Effect.flatMap(TestSession.TestSession, (t) => t.recorded)

describe("CqlClient", () => {
  it.layer(testLayer())((it) => {
    it.effect("runs a statement's text and values through the Session; rows keep the driver's values", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql`SELECT * FROM app.users WHERE id = ${id}`
        expect(rows).toEqual([{ id, name: "Ada" }])
        expect(rows[0]!.id).toBeInstanceOf(Uuid.Uuid)
        expect((yield* calls).at(-1)).toMatchObject({ _tag: "Execute", query: "SELECT * FROM app.users WHERE id = ?", params: [id] })
      }))

    it.effect("a refused statement fails with SqlError caused by CqlUnsupported, and nothing is sent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const before = (yield* calls).length
        const error = yield* Effect.flip(sql`INSERT INTO app.users ${sql.insert({ id, name: "Ada" }).returning("*")}`)
        expect(error._tag).toBe("SqlError")
        expect(error.cause).toBeInstanceOf(CqlUnsupported)
        expect(error.cause).toMatchObject({ feature: "RETURNING" })
        expect(error.message).toMatch(/^CQL has no RETURNING/)
        const stream = yield* Effect.flip(Stream.runCollect(sql`SELECT * FROM t WHERE ${sql.or(["a = 1", "b = 2"])}`.stream))
        expect(stream.cause).toMatchObject({ _tag: "CqlUnsupported", feature: "OR (sql.or)" })
        expect((yield* calls).length).toBe(before)
      }))

    it.effect("withTransaction fails with CqlUnsupported and never runs the effect", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        let ran = false
        const error = yield* Effect.flip(sql.withTransaction(Effect.sync(() => (ran = true))))
        expect(error.cause).toMatchObject({ _tag: "CqlUnsupported", feature: "transactions (withTransaction)" })
        expect(error.message).toContain("session.batch")
        expect(ran).toBe(false)
      }))

    it.effect("a server error is a SqlError whose cause is the driver's tagged error", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const error = yield* Effect.flip(sql`SELECT * FROM app.nope`)
        expect(error.cause).toBeInstanceOf(CqlError.Invalid)
        expect(error.message).toBe("unconfigured table nope")
      }))

    it.effect("values, raw and unprepared: rows as arrays in column order, the driver's ResultSet, prepare: false", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT * FROM app.users WHERE id = ${id}`.values).toEqual([[id, "Ada"]])
        expect(yield* sql`SELECT * FROM app.users WHERE id = ${id}`.raw).toMatchObject({ rows: [{ id, name: "Ada" }], coordinator: "test-session" })
        yield* sql`SELECT * FROM app.users WHERE id = ${id}`.unprepared
        expect((yield* calls).at(-1)).toMatchObject({ query: "SELECT * FROM app.users WHERE id = ?", options: { prepare: false } })
      }))

    it.effect("the CqlClient tag gives the same client, with its Session", () =>
      Effect.gen(function* () {
        const client = yield* CqlClient.CqlClient
        expect(client).toBe(yield* SqlClient.SqlClient)
        expect(client.session.protocolVersion).toBe(5)
      }))
  })

  it.layer(testLayer({ queryOptions: { pageSize: 2 }, transformResultNames: (n) => n.replace(/_(.)/g, (_, c: string) => c.toUpperCase()) }))((it) => {
    it.effect("a plain run and .values read every page; the stream gives a chunk per page; result names transformed", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const expected = people.map((p) => ({ personId: p.person_id, fullName: p.full_name }))
        expect(yield* sql`SELECT * FROM ${sql("app.people")}`).toEqual(expected)
        expect((yield* calls).filter((c) => c._tag === "Execute")).toHaveLength(3)
        const chunks = yield* Stream.runCollect(Stream.mapChunks(sql`SELECT * FROM ${sql("app.people")}`.stream, (page) => Chunk.of(Chunk.toArray(page))))
        expect(Chunk.toArray(chunks)).toEqual([expected.slice(0, 2), expected.slice(2, 4), expected.slice(4)])
        expect(yield* sql`SELECT * FROM ${sql("app.people")}`.withoutTransform).toEqual(people)
        expect(yield* sql`SELECT * FROM ${sql("app.people")}`.values).toEqual(people.map((p) => [p.person_id, p.full_name]))
      }))
  })
})
