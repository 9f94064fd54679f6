/** @effect/sql code (SqlSchema, SqlResolver, a Model repository) through CqlClient on a real Cassandra 5.0. */
import { Model, SqlClient, SqlResolver, SqlSchema } from "@effect/sql"
import { CqlDate, CqlSchema, Session, Uuid } from "@effect-cql/driver"
import { CqlClient } from "@effect-cql/sql"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Schema } from "effect"

const SqlLive = CqlClient.layer().pipe(Layer.provideMerge(Session.layer({ contactPoints: ["127.0.0.1"] })))

// Each run writes rows under fresh ids, so runs on the shared node never see each other's rows.
const setup = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE KEYSPACE IF NOT EXISTS sql_it WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`
  yield* sql`CREATE TABLE IF NOT EXISTS sql_it.people (id uuid PRIMARY KEY, name text, age int, born date, nickname text)`
  yield* sql`CREATE TABLE IF NOT EXISTS sql_it.posts (author uuid, seq int, title text, PRIMARY KEY (author, seq))`
})

class Person extends Schema.Class<Person>("Person")({
  id: CqlSchema.UuidAsString,
  name: Schema.String,
  age: Schema.Number,
  born: CqlSchema.CqlDateAsString
}) {}

const newId = () => Uuid.random().toString()

describe("CqlClient on Cassandra", () => {
  it.layer(SqlLive, { timeout: 60_000 })((it) => {
    it.effect("SqlSchema.void / findOne / findAll / single over a real table; rows carry the driver's values", () =>
      Effect.gen(function* () {
        yield* setup
        const sql = yield* SqlClient.SqlClient
        const insert = SqlSchema.void({ Request: Person, execute: (p) => sql`INSERT INTO sql_it.people ${sql.insert(p)}` })
        const byId = SqlSchema.findOne({ Request: CqlSchema.UuidAsString, Result: Person, execute: (id) => sql`SELECT * FROM sql_it.people WHERE id = ${id}` })
        const some = SqlSchema.findAll({
          Request: Schema.Array(CqlSchema.UuidAsString),
          Result: Person,
          execute: (ids) => sql`SELECT * FROM sql_it.people WHERE id IN ${sql.in(ids)}`
        })
        const exactlyOne = SqlSchema.single({ Request: CqlSchema.UuidAsString, Result: Person, execute: (id) => sql`SELECT * FROM sql_it.people WHERE id = ${id}` })

        const ada = new Person({ id: newId(), name: "Ada", age: 36, born: "1815-12-10" })
        const grace = new Person({ id: newId(), name: "Grace", age: 85, born: "1906-12-09" })
        yield* insert(ada)
        yield* insert(grace)
        expect(yield* byId(ada.id)).toEqual(Option.some(ada))
        expect(yield* byId(newId())).toEqual(Option.none())
        expect([...(yield* some([ada.id, grace.id]))].sort((a, b) => a.age - b.age)).toEqual([ada, grace])
        expect(yield* exactlyOne(grace.id)).toEqual(grace)
        expect((yield* Effect.flip(exactlyOne(newId())))._tag).toBe("NoSuchElementException")

        // Without a Schema, rows are what the driver decodes: Uuid and CqlDate values, not strings.
        const [row] = yield* sql<{ id: unknown; born: unknown }>`SELECT id, born FROM sql_it.people WHERE id = ${Uuid.unsafeFromString(ada.id)}`
        expect(row!.id).toBeInstanceOf(Uuid.Uuid)
        expect(row!.born).toBeInstanceOf(CqlDate.CqlDate)

        // An INSERT of an existing key is an upsert: still one row, with the new values.
        yield* insert(new Person({ ...ada, age: 37 }))
        expect(yield* some([ada.id])).toEqual([new Person({ ...ada, age: 37 })])
      }))

    it.effect("SqlResolver.findById, grouped and void batch their requests into one IN statement per batch", () =>
      Effect.gen(function* () {
        yield* setup
        const sql = yield* SqlClient.SqlClient
        const [a, b] = [newId(), newId()]
        for (const [author, seq, title] of [[a, 1, "a1"], [a, 2, "a2"], [b, 1, "b1"]] as const) {
          yield* sql`INSERT INTO sql_it.posts ${sql.insert({ author: Uuid.unsafeFromString(author), seq, title })}`
        }
        const people = [new Person({ id: a, name: "A", age: 1, born: "2000-01-01" }), new Person({ id: b, name: "B", age: 2, born: "2000-01-02" })]
        for (const p of people) yield* sql`INSERT INTO sql_it.people ${sql.insert(Schema.encodeSync(Person)(p))}`

        let statements = 0
        const PersonById = yield* SqlResolver.findById("PersonById", {
          Id: CqlSchema.UuidAsString,
          Result: Person,
          ResultId: (p) => p.id,
          execute: (ids) => Effect.zipLeft(sql`SELECT * FROM sql_it.people WHERE id IN ${sql.in(ids)}`, Effect.sync(() => statements++))
        })
        const Post = Schema.Struct({ author: CqlSchema.UuidAsString, seq: Schema.Number, title: Schema.String })
        const PostsByAuthor = yield* SqlResolver.grouped("PostsByAuthor", {
          Request: CqlSchema.UuidAsString,
          RequestGroupKey: (id) => id,
          Result: Post,
          ResultGroupKey: (post) => post.author,
          execute: (authors) => Effect.zipLeft(sql`SELECT * FROM sql_it.posts WHERE author IN ${sql.in(authors)}`, Effect.sync(() => statements++))
        })

        const missing = newId()
        // Distinct ids: @effect/sql's findById completes one request per id in a batch (request caching dedupes).
        const found = yield* Effect.forEach([a, missing, b], PersonById.execute, { batching: true })
        expect(found).toEqual([Option.some(people[0]), Option.none(), Option.some(people[1])])
        const posts = yield* Effect.forEach([b, a], PostsByAuthor.execute, { batching: true })
        expect(posts.map((ps) => ps.map((p) => p.title))).toEqual([["b1"], ["a1", "a2"]])
        expect(statements).toBe(2)

        // SqlResolver.void: deletes batched into one DELETE ... IN.
        const DeletePerson = yield* SqlResolver.void("DeletePerson", {
          Request: CqlSchema.UuidAsString,
          execute: (ids) => Effect.zipLeft(sql`DELETE FROM sql_it.people WHERE id IN ${sql.in(ids)}`, Effect.sync(() => statements++))
        })
        yield* Effect.forEach([a, b], DeletePerson.execute, { batching: true })
        expect(statements).toBe(3)
        expect(yield* Effect.forEach([a, b], PersonById.execute, { batching: true })).toEqual([Option.none(), Option.none()])
      }))

    it.effect("a Model repository: insertVoid, findById, updateVoid, delete; insert and update need RETURNING and die with CqlUnsupported", () =>
      Effect.gen(function* () {
        yield* setup
        class Member extends Model.Class<Member>("Member")({
          id: Model.GeneratedByApp(CqlSchema.UuidAsString),
          name: Schema.String,
          age: Schema.Number,
          born: CqlSchema.CqlDateAsString,
          nickname: Model.FieldOption(Schema.String)
        }) {}
        const members = yield* Model.makeRepository(Member, { tableName: "sql_it.people", spanPrefix: "Members", idColumn: "id" })

        const id = newId()
        yield* members.insertVoid(Member.insert.make({ id, name: "Edsger", age: 72, born: "1930-05-11", nickname: Option.none() }))
        expect(yield* members.findById(id)).toEqual(Option.some(Member.make({ id, name: "Edsger", age: 72, born: "1930-05-11", nickname: Option.none() })))
        yield* members.updateVoid(Member.update.make({ id, name: "Edsger W.", age: 72, born: "1930-05-11", nickname: Option.some("EWD") }))
        expect(Option.map(yield* members.findById(id), (m) => [m.name, m.nickname])).toEqual(Option.some(["Edsger W.", Option.some("EWD")]))
        yield* members.delete(id)
        expect(yield* members.findById(id)).toEqual(Option.none())

        const exit = yield* Effect.exit(members.insert(Member.insert.make({ id: newId(), name: "X", age: 1, born: "2000-01-01", nickname: Option.none() })))
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "SqlError", cause: { _tag: "CqlUnsupported", feature: "RETURNING" } })
      }))

    it.effect("sql.and chains and hostile strings reach the server as CQL; withTransaction is refused", () =>
      Effect.gen(function* () {
        yield* setup
        const sql = yield* SqlClient.SqlClient
        const author = Uuid.random()
        const hostile = `x'); DROP KEYSPACE sql_it; --`
        yield* sql`INSERT INTO sql_it.posts ${sql.insert({ author, seq: 7, title: hostile })}`
        const where = sql.and([sql`author = ${author}`, sql`seq >= ${1}`, sql`seq <= ${9}`])
        expect(yield* sql`SELECT title FROM sql_it.posts WHERE ${where}`).toEqual([{ title: hostile }])
        const error = yield* Effect.flip(sql.withTransaction(sql`DELETE FROM sql_it.posts WHERE author = ${author}`))
        expect(error.cause).toMatchObject({ _tag: "CqlUnsupported" })
        expect(yield* sql`SELECT count(*) AS n FROM sql_it.posts WHERE author = ${author}`).toEqual([{ n: 1n }])
      }))
  })
})
