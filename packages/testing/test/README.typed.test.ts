/** The README's "Typed data" examples, run as they are written there (imports aside), on a TestSession. */
import { BulkExecution, Cluster, cql, CqlQuery, CqlResolver, CqlSchema, Metadata, Migrator, Session, Statement } from "@effect-cql/driver"
import { CqlDate, Uuid } from "@effect-cql/protocol"
import { CqlClient } from "@effect-cql/sql"
import { Model, SqlClient, SqlSchema } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TestSession } from "../src/index.js"

const id = "6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"

describe("README: Typed data", () => {
  it.effect("CqlSchema: a row of driver values decodes to the application's forms", () =>
    Effect.gen(function* () {
      class Visit extends Schema.Class<Visit>("Visit")({
        id: CqlSchema.UuidAsString, // uuid column, as its string
        day: CqlSchema.CqlDateAsString, // date column, as YYYY-MM-DD
        hits: CqlSchema.BigIntAsNumber, // bigint column, as a number
        embedding: CqlSchema.Float32Vector(3) // vector<float, 3>
      }) {}

      const visitById = Statement.typed({
        query: "SELECT id, day, hits, embedding FROM app.visits WHERE id = ?",
        Params: Schema.Tuple(CqlSchema.UuidAsString),
        Row: Visit
      })

      const visit = Effect.flatMap(Session.Session, (s) => s.execute(visitById(["6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"])))

      const embedding = new Float32Array([0.5, 1, -2])
      const rows = yield* visit.pipe(
        Effect.map((rs) => rs.rows),
        Effect.provide(TestSession.layer({
          rules: [{
            query: "SELECT id, day, hits, embedding FROM app.visits WHERE id = ?",
            params: [Uuid.unsafeFromString(id)],
            rows: [{ id: Uuid.unsafeFromString(id), day: new CqlDate.CqlDate(19782), hits: 12n, embedding }]
          }]
        }))
      )
      expect(rows).toEqual([new Visit({ id, day: "2024-02-29", hits: 12, embedding })])
    }))

  it.effect("cql: values bound, identifiers quoted, IN lists", () =>
    Effect.gen(function* () {
      const recent = (region: string, tiers: ReadonlyArray<string>) =>
        Effect.flatMap(Session.Session, (s) =>
          s.execute(cql`SELECT name FROM ${cql.id("app", "users")} WHERE region = ${region} AND tier IN ${cql.in(tiers)}`)
        )
      // SELECT name FROM "app"."users" WHERE region = ? AND tier IN (?, ?)   with ["eu", "gold", "silver"]

      const rs = yield* recent("eu", ["gold", "silver"]).pipe(
        Effect.provide(TestSession.layer({
          rules: [{ query: `SELECT name FROM "app"."users" WHERE region = ? AND tier IN (?, ?)`, params: ["eu", "gold", "silver"], rows: [{ name: "Ada" }] }]
        }))
      )
      expect(rs.rows).toEqual([{ name: "Ada" }])
    }))

  it.effect("CqlQuery.findOne: Request and Result Schemas around a cql statement", () =>
    Effect.gen(function* () {
      class User extends Schema.Class<User>("User")({ id: CqlSchema.UuidAsString, name: Schema.String }) {}

      const userById = CqlQuery.findOne({
        Request: CqlSchema.UuidAsString,
        Result: User,
        execute: (id) => cql`SELECT id, name FROM app.users WHERE id = ${id}`
      })
      const ada = userById("6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b") // Effect<Option<User>, RequestError, Session>

      const found = yield* ada.pipe(
        Effect.provide(TestSession.layer({
          rules: [{ query: "SELECT id, name FROM app.users WHERE id = ?", params: [Uuid.unsafeFromString(id)], rows: [{ id: Uuid.unsafeFromString(id), name: "Ada" }] }]
        }))
      )
      expect(found).toEqual(Option.some(new User({ id, name: "Ada" })))
    }))

  it.effect("CqlSchema.fromTable: a row Schema from the Cluster's Metadata", () =>
    Effect.gen(function* () {
      const everyUser = Effect.gen(function* () {
        const { metadata } = yield* Cluster.Cluster
        const Row = yield* CqlSchema.fromTable(metadata.current(), "app", "users") // or fails with UnknownTable
        const session = yield* Session.Session
        return (yield* session.execute({ query: "SELECT * FROM app.users", rowSchema: Row })).rows
      })

      const app = Metadata.parseSchema({
        keyspaces: [{ keyspace_name: "app", durable_writes: true, replication: new Map([["class", "org.apache.cassandra.locator.SimpleStrategy"], ["replication_factor", "1"]]) }],
        tables: [{ keyspace_name: "app", table_name: "users", flags: ["compound"] }],
        columns: [
          { keyspace_name: "app", table_name: "users", column_name: "id", kind: "partition_key", type: "uuid", position: 0, clustering_order: "none" },
          { keyspace_name: "app", table_name: "users", column_name: "name", kind: "regular", type: "text", position: -1, clustering_order: "none" }
        ]
      }).value
      const rows = [{ id: Uuid.unsafeFromString(id), name: null }]
      const read = yield* everyUser.pipe(
        Effect.provide(TestSession.layer({ metadata: Metadata.make({ hosts: [], keyspaces: app.values() }), rules: [{ query: "SELECT * FROM app.users", rows }] }))
      )
      expect(read).toEqual(rows)
      const wrong = yield* Effect.flip(
        everyUser.pipe(Effect.provide(TestSession.layer({ metadata: Metadata.make({ hosts: [], keyspaces: app.values() }), rules: [{ query: "SELECT * FROM app.users", rows: [{ id: null, name: "x" }] }] })))
      )
      expect(wrong).toMatchObject({ _tag: "SchemaMismatch", column: "id" })
    }))

  it.live("BulkExecution.run: a generator of statements, 256 in flight, every result reported", () =>
    Effect.gen(function* () {
      const total = 2_000 // the README's example writes a million
      function* inserts() {
        for (let k = 0; k < total; k++) yield cql`INSERT INTO app.kv (k, v) VALUES (${k}, ${`v${k}`})`
      }
      let reported = 0
      // Effect<{ started, succeeded, failures: [{ index, statement, error }] }, never, Session>
      const load = BulkExecution.run(inserts(), { concurrency: 256, onResult: () => void reported++ })

      const summary = yield* load.pipe(Effect.provide(TestSession.layer({ rules: [{ query: "INSERT INTO app.kv (k, v) VALUES (?, ?)" }] })))
      expect(summary).toEqual({ started: total, succeeded: total, failures: [] })
      expect(reported).toBe(total)
    }))

  it.effect("CqlResolver.findById: lookups batched and deduplicated", () =>
    Effect.gen(function* () {
      const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

      const names = (ids: ReadonlyArray<number>) =>
        Effect.gen(function* () {
          const users = yield* CqlResolver.findById({
            Id: Schema.Number,
            Result: User,
            execute: (id) => cql`SELECT id, name FROM app.users WHERE id = ${id}`
          })
          // One statement per distinct id, all in one batch: Option<User> for each id, in order.
          const viaRequests = yield* Effect.forEach(ids, users.execute, { batching: true })
          const inHand = yield* users.executeAll(ids)
          return [viaRequests, inHand]
        })

      const query = "SELECT id, name FROM app.users WHERE id = ?"
      const test = TestSession.layer({ rules: [{ query, rows: [] }, { query, params: [1], rows: [{ id: 1, name: "Ada" }] }] })
      const [[viaRequests, inHand], calls] = yield* Effect.zip(names([1, 2, 1]), Effect.flatMap(TestSession.TestSession, (t) => t.recorded)).pipe(
        Effect.provide(test)
      )
      const expected = [Option.some({ id: 1, name: "Ada" }), Option.none(), Option.some({ id: 1, name: "Ada" })]
      expect(viaRequests).toEqual(expected)
      expect(inHand).toEqual(expected)
      // Two distinct ids, two statements, each way.
      expect(calls.filter((c) => c._tag === "Execute")).toHaveLength(4)
    }))

  it.effect("Migrator: migrations from a directory, applied under the lock and recorded", () =>
    Effect.gen(function* () {
      const migrate = (dir: string) =>
        Effect.gen(function* () {
          const migrations = yield* Migrator.fromDirectory(dir) // 0001_create_users.cql, 0002_add_email.cql, ...
          const applied = yield* Migrator.run(migrations, { keyspace: "app" }) // needs Session and Cluster
          yield* Effect.log(`applied: ${applied.map((m) => m.name).join(", ") || "nothing"}`)
        })

      const dir = mkdtempSync(join(tmpdir(), "readme-migrations-"))
      writeFileSync(join(dir, "0001_create_users.cql"), "CREATE TABLE IF NOT EXISTS app.users (id int PRIMARY KEY, name text);")
      writeFileSync(join(dir, "0002_add_email.cql"), "ALTER TABLE app.users ADD email text;")
      // The test session answers the lock's lightweight transactions; the real node is in migrator.test.ts.
      const test = TestSession.layer({
        rules: [
          { query: /./ },
          { query: /^SELECT id, checksum FROM "app"\.schema_migrations/, rows: [] },
          { query: /IF NOT EXISTS USING TTL|IF owner = \?/, rows: [{ "[applied]": true }] }
        ]
      })
      const calls = yield* Effect.zipRight(migrate(dir), Effect.flatMap(TestSession.TestSession, (t) => t.recorded)).pipe(Effect.provide(test))
      const queries = calls.flatMap((c) => (c._tag === "Execute" ? [c.query] : []))
      expect(queries.indexOf("CREATE TABLE IF NOT EXISTS app.users (id int PRIMARY KEY, name text)")).toBeLessThan(queries.indexOf("ALTER TABLE app.users ADD email text"))
      expect(queries.filter((q) => q.startsWith(`INSERT INTO "app".schema_migrations (`))).toHaveLength(2)
      expect(queries.at(-1)).toMatch(/^DELETE FROM "app".schema_migrations_lock/)
    }))

  it.effect("@effect-cql/sql: a Model repository and SqlSchema through CqlClient", () =>
    Effect.gen(function* () {
      class Member extends Model.Class<Member>("Member")({
        id: Model.GeneratedByApp(CqlSchema.UuidAsString), // the application makes the ids
        name: Schema.String,
        nickname: Model.FieldOption(Schema.String)
      }) {}

      const program = Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const members = yield* Model.makeRepository(Member, { tableName: "app.members", spanPrefix: "Members", idColumn: "id" })
        const id = "6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
        yield* members.insertVoid(Member.insert.make({ id, name: "Ada", nickname: Option.none() }))
        const named = SqlSchema.findAll({
          Request: Schema.Array(CqlSchema.UuidAsString),
          Result: Member,
          execute: (ids) => sql`SELECT * FROM ${sql("app.members")} WHERE id IN ${sql.in(ids)}`
        })
        return yield* named([id]) // ReadonlyArray<Member>
      })

      // The README provides CqlClient.layer() over Session.layer(...); here over a test Session.
      const uuid = Uuid.unsafeFromString(id)
      const test = TestSession.layer({
        rules: [
          { query: `insert into "app"."members" ("id", "name", "nickname") VALUES (?,?,?)`, params: [uuid, "Ada", null] },
          { query: `SELECT * FROM "app"."members" WHERE id IN (?)`, params: [uuid], rows: [{ id: uuid, name: "Ada", nickname: null }] }
        ]
      })
      const [found, calls] = yield* Effect.zip(program, Effect.flatMap(TestSession.TestSession, (t) => t.recorded)).pipe(
        Effect.provide(CqlClient.layer().pipe(Layer.provideMerge(test)))
      )
      expect(found).toEqual([Member.make({ id, name: "Ada", nickname: Option.none() })])
      expect(calls.map((c) => c._tag === "Execute" && c.query)).toEqual([
        `insert into "app"."members" ("id", "name", "nickname") VALUES (?,?,?)`,
        `SELECT * FROM "app"."members" WHERE id IN (?)`
      ])
    }))
})
