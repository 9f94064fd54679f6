/**
 * The `cql` template on a real Cassandra 5.0: values are bound (hostile strings come back as they went in and
 * the table survives), statements with values are prepared, identifiers are quoted, IN lists and fragments
 * compose, and a value the codec cannot encode names its marker. CqlQuery's helpers run such statements.
 */
import { describe, expect, it } from "@effect/vitest"
import { cql, Cluster, CqlQuery, CqlSchema, Session } from "@effect-cql/driver"
import { Effect, Option, Schema } from "effect"

const ks = "it_template"
const weird = `we"ird'; DROP TABLE ${ks}.notes; --`

const setup = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute(cql`CREATE KEYSPACE IF NOT EXISTS ${cql.id(ks)} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  yield* s.execute(cql`CREATE TABLE IF NOT EXISTS ${cql.id(ks, "notes")} (id int PRIMARY KEY, body text, ${cql.id(weird)} int)`)
  yield* s.execute(cql`CREATE TABLE IF NOT EXISTS ${cql.id(ks, "events")} (org int, seq int, at timestamp, PRIMARY KEY (org, seq))`)
})

class Event extends Schema.Class<Event>("Event")({ seq: CqlSchema.Int, at: CqlSchema.Timestamp }) {}
const eventsOf = { Request: Schema.Number, Result: Event, execute: (org: number) => cql`SELECT seq, at FROM it_template.events WHERE org = ${org}`.withOptions({ pageSize: 10 }) }

const hostile = [
  "'; DROP TABLE it_template.notes; --",
  `"quoted" and 'single' and \\backslash`,
  "ünïcödé ✓ 日本 🚀",
  "nul\u0000inside",
  "? ? ?",
  "$$ body $$"
]

describe("the cql template", () => {
  it.layer(Session.layer({ contactPoints: ["127.0.0.1"] }), { timeout: 60_000 })((it) => {
    it.effect("hostile strings are bound, come back unchanged, and the table survives", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        for (const [i, body] of hostile.entries()) yield* s.execute(cql`INSERT INTO it_template.notes (id, body) VALUES (${i}, ${body})`)
        const rows = (yield* s.execute(cql`SELECT id, body FROM it_template.notes WHERE id IN ${cql.in(hostile.keys())}`)).rows
        expect(new Map(rows.map((r) => [r["id"], r["body"]]))).toEqual(new Map(hostile.entries()))
        // A statement with values was prepared (once per text), as the Session does with parameters.
        const registry = (yield* Cluster.Cluster).registry
        expect(registry.getPrepared(s.keyspace(), "INSERT INTO it_template.notes (id, body) VALUES (?, ?)")).toBeDefined()
      }))

    it.effect("a quoted hostile identifier is one column name", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        const table = cql.id(ks, "notes")
        yield* s.execute(cql`INSERT INTO ${table} (id, ${cql.id(weird)}) VALUES (${100}, ${7})`)
        const rows = (yield* s.execute(cql`SELECT ${cql.join([cql.id("id"), cql.id(weird)])} FROM ${table} WHERE id = ${100}`)).rows
        expect(rows).toEqual([{ id: 100, [weird]: 7 }])
      }))

    it.effect("fragments compose into one prepared statement, and go into batches", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        yield* s.batch([
          cql`INSERT INTO it_template.notes (id, body) VALUES (${200}, ${"composed"})`,
          cql`INSERT INTO it_template.notes (id, body) VALUES (${201}, ${"batched"})`
        ])
        expect((yield* s.execute(cql`SELECT body FROM it_template.notes WHERE id = ${201}`)).rows).toEqual([{ body: "batched" }])
        const where = cql.join([cql`id = ${200}`, cql`body = ${"composed"}`], cql` AND `)
        const rows = (yield* s.execute(cql`SELECT body FROM it_template.notes WHERE ${where} ALLOW FILTERING`)).rows
        expect(rows).toEqual([{ body: "composed" }])
      }))

    it.effect("a value that cannot be encoded fails with an EncodeError naming its marker", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        const err = yield* Effect.flip(s.execute(cql`INSERT INTO it_template.notes (id, body) VALUES (${300}, ${{ not: "text" }})`))
        expect(err._tag).toBe("EncodeError")
        if (err._tag === "EncodeError") {
          expect(err.path).toBe("$2")
          expect(err.message).toContain("text")
        }
        const nested = yield* Effect.flip(s.execute(cql`SELECT body FROM it_template.notes WHERE id IN ${cql.in([1, 2, "three"])}`))
        expect(nested).toMatchObject({ _tag: "EncodeError", path: "$3" })
      }))

    it.effect("CqlQuery helpers read every page (findAll), the first row (findOne), or fail for none (single)", () =>
      Effect.gen(function* () {
        yield* setup
        const insert = CqlQuery.void({
          Request: Schema.Struct({ org: Schema.Number, seq: Schema.Number }),
          execute: (e) => cql`INSERT INTO it_template.events (org, seq, at) VALUES (${e.org}, ${e.seq}, ${new Date(e.seq * 1000)})`
        })
        for (let seq = 0; seq < 25; seq++) yield* insert({ org: 1, seq })
        const all = yield* CqlQuery.findAll(eventsOf)(1)
        expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i))
        expect(all[24]).toEqual(new Event({ seq: 24, at: new Date(24_000) }))
        expect(Option.map(yield* CqlQuery.findOne(eventsOf)(1), (e) => e.seq)).toEqual(Option.some(0))
        expect(yield* CqlQuery.findOne(eventsOf)(2)).toEqual(Option.none())
        const none = yield* Effect.flip(CqlQuery.single(eventsOf)(2))
        expect(none._tag).toBe("NoSuchElementException")
      }))
  })
})
