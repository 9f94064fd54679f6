import { Cluster, CqlError, Metadata, Session, Statement } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { TestSession } from "../src/index.js"

const users = [
  { id: 1, name: "Ada" },
  { id: 2, name: "Grace" }
]

const layer = TestSession.layer({
  rules: [
    { query: "SELECT * FROM users", rows: users },
    { query: /^SELECT name FROM users WHERE id = \?$/, params: [1], rows: [{ name: "Ada" }] },
    { query: /WHERE id = \?$/, params: (p) => Array.isArray(p) && p[0] === 2, rows: [{ name: "Grace" }] }
  ]
})

describe("TestSession", () => {
  it.layer(layer)("rules and recording", (it) => {
    it.effect("answers by exact text and by RegExp with params, and records each call", () =>
      Effect.gen(function* () {
        const session = yield* Session.Session
        const controls = yield* TestSession.TestSession
        const all = yield* session.execute("SELECT * FROM users")
        expect(all.rows).toEqual(users)
        expect(all.columns.map((c) => [c.name, c.type.kind])).toEqual([
          ["id", "double"],
          ["name", "varchar"]
        ])
        expect((yield* session.execute("SELECT name FROM users WHERE id = ?", [2])).rows).toEqual([{ name: "Grace" }])
        expect((yield* session.execute("SELECT name FROM users WHERE id = ?", [1], { consistency: "QUORUM" })).rows).toEqual([{ name: "Ada" }])
        const recorded = yield* controls.recorded
        expect(recorded).toEqual([
          { _tag: "Execute", query: "SELECT * FROM users", params: undefined, options: undefined },
          { _tag: "Execute", query: "SELECT name FROM users WHERE id = ?", params: [2], options: undefined },
          { _tag: "Execute", query: "SELECT name FROM users WHERE id = ?", params: [1], options: { consistency: "QUORUM" } }
        ])
        // The plain array is the same record, live.
        expect(controls.calls).toEqual(recorded)
      }))

    it.effect("fails an unmatched statement with a typed Invalid naming the query, params and rules", () =>
      Effect.gen(function* () {
        const session = yield* Session.Session
        const controls = yield* TestSession.TestSession
        yield* controls.reset
        yield* controls.addRules({ query: "SELECT 1" })
        const err = yield* Effect.flip(session.execute("SELECT name FROM users WHERE id = ?", [3]))
        expect(err._tag).toBe("Invalid")
        expect(err.message).toContain(`no rule matches "SELECT name FROM users WHERE id = ?" with params [ 3 ]`)
        expect(err.message).toContain(`1 rule(s): "SELECT 1"`)
        // Unmatched calls are recorded too: they reached the session.
        expect(controls.calls).toHaveLength(1)
      }))

    it.effect("newest rule first; `times` uses a rule up", () =>
      Effect.gen(function* () {
        const session = yield* Session.Session
        const controls = yield* TestSession.TestSession
        yield* controls.reset
        yield* controls.addRules(
          { query: "SELECT v FROM kv", rows: [{ v: "steady" }] },
          { query: "SELECT v FROM kv", error: new CqlError.Overloaded({ host: "n1", message: "busy" }), times: 2 }
        )
        const first = yield* Effect.either(session.execute("SELECT v FROM kv"))
        const second = yield* Effect.either(session.execute("SELECT v FROM kv"))
        const third = yield* session.execute("SELECT v FROM kv")
        expect(Either.isLeft(first) && first.left._tag).toBe("Overloaded")
        expect(Either.isLeft(second) && second.left._tag).toBe("Overloaded")
        expect(third.rows).toEqual([{ v: "steady" }])
      }))
  })

  it.effect("returns every CqlError a rule names, with its fields", () =>
    Effect.gen(function* () {
      const unavailable = new CqlError.Unavailable({ host: "h", message: "no", consistency: "QUORUM", required: 2, alive: 1 })
      const readTimeout = new CqlError.ReadTimeout({ host: "h", message: "slow", consistency: "ONE", received: 0, blockFor: 1, dataPresent: false })
      const { session } = yield* TestSession.make({
        rules: [
          { query: "read", error: readTimeout },
          { query: "write", error: unavailable }
        ]
      })
      const e1 = yield* Effect.flip(session.execute("write"))
      expect(e1).toBe(unavailable)
      const e2 = yield* session.execute("read").pipe(
        Effect.catchTag("ReadTimeout", (e) => Effect.succeed(`${e.consistency} ${e.received}/${e.blockFor}`))
      )
      expect(e2).toBe("ONE 0/1")
    }))

  it.effect("delays on the Effect clock: TestClock moves them, and a delay past the timeout is a RequestTimeout", () =>
    Effect.gen(function* () {
      const { session } = yield* TestSession.make({
        requestTimeout: "10 seconds",
        rules: [
          { query: "slow", delay: "2 seconds", rows: [{ ok: true }] },
          { query: "stuck", delay: "1 minute" }
        ]
      })
      const slow = yield* Effect.fork(session.execute("slow"))
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(slow))).toBe(true)
      yield* TestClock.adjust("1 milli")
      expect((yield* Fiber.join(slow)).rows).toEqual([{ ok: true }])

      const stuck = yield* Effect.fork(Effect.flip(session.execute("stuck", undefined, { timeout: "3 seconds" })))
      yield* TestClock.adjust("3 seconds")
      const err = yield* Fiber.join(stuck)
      expect(err._tag).toBe("RequestTimeout")
      expect(err._tag === "RequestTimeout" && err.timeoutMs).toBe(3000)

      const stuckDefault = yield* Effect.fork(Effect.flip(session.execute("stuck")))
      yield* TestClock.adjust("9 seconds")
      expect(Option.isNone(yield* Fiber.poll(stuckDefault))).toBe(true)
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(stuckDefault))._tag).toBe("RequestTimeout")
    }))

  describe("Schemas", () => {
    class User extends Schema.Class<User>("User")({ id: Schema.Number, name: Schema.String }) {}
    const byId = Statement.typed({
      query: "SELECT id, name FROM users WHERE id = ?",
      Params: Schema.Tuple(Schema.NumberFromString),
      Row: User
    })

    it.effect("encodes typed parameters before matching and decodes rows through the row Schema", () =>
      Effect.gen(function* () {
        const { controls, session } = yield* TestSession.make({
          rules: [{ query: "SELECT id, name FROM users WHERE id = ?", params: ["7"], rows: [{ id: 7, name: "Ada" }] }]
        })
        const rs = yield* session.execute(byId([7]))
        expect(rs.rows).toEqual([new User({ id: 7, name: "Ada" })])
        expect(rs.rows[0]).toBeInstanceOf(User)
        expect(controls.calls[0]).toMatchObject({ params: ["7"] })
      }))

    it.effect("parameters that do not fit their Schema are a SchemaMismatch and never reach the rules", () =>
      Effect.gen(function* () {
        const { controls, session } = yield* TestSession.make({ rules: [{ query: /users/, rows: [] }] })
        const bad = Statement.typed({ query: "SELECT * FROM users WHERE id = ?", Params: Schema.Tuple(Schema.Int), Row: User })
        const err = yield* Effect.flip(session.execute(bad([1.5])))
        expect(err._tag).toBe("SchemaMismatch")
        expect(err.message).toContain("parameters of")
        expect(controls.calls).toHaveLength(0)
      }))

    it.effect("rows that do not fit the row Schema are a SchemaMismatch", () =>
      Effect.gen(function* () {
        const { session } = yield* TestSession.make({ rules: [{ query: /users/, rows: [{ id: "x", name: 1 }] }] })
        const err = yield* Effect.flip(session.execute(byId([1])))
        expect(err._tag).toBe("SchemaMismatch")
        expect(err.message).toContain("rows of")
      }))
  })

  it.effect("streams a rule's rows page by page, recording one call per page, and decodes each page", () =>
    Effect.gen(function* () {
      const rows = Array.from({ length: 25 }, (_, i) => ({ n: i }))
      const { controls, session } = yield* TestSession.make({ rules: [{ query: "SELECT n FROM t", rows }] })
      const chunks = yield* session.stream("SELECT n FROM t", undefined, { pageSize: 10 }).pipe(Stream.chunks, Stream.runCollect)
      expect(Chunk.toReadonlyArray(chunks).map(Chunk.size)).toEqual([10, 10, 5])
      expect(Chunk.toReadonlyArray(chunks).flatMap((c) => Chunk.toReadonlyArray(c))).toEqual(rows)
      expect(controls.calls).toHaveLength(3)
      expect(controls.calls.map((c) => (c._tag === "Execute" ? c.options?.pagingState !== undefined : undefined))).toEqual([false, true, true])

      // Manual paging with execute gives the same pages.
      const first = yield* session.execute("SELECT n FROM t", undefined, { pageSize: 20 })
      expect(first.rows).toHaveLength(20)
      const second = yield* session.execute("SELECT n FROM t", undefined, { pageSize: 20, pagingState: first.pagingState! })
      expect(second.rows).toEqual(rows.slice(20))
      expect(second.pagingState).toBeUndefined()

      const typed = Statement.typed({ query: "SELECT n FROM t", Params: Schema.Tuple(), Row: Schema.Struct({ n: Schema.Number }) })
      const total = yield* session.stream(typed([])).pipe(Stream.runFold(0, (acc, r) => acc + r.n))
      expect(total).toBe(300)

      const bad = yield* Effect.flip(session.execute("SELECT n FROM t", undefined, { pagingState: Buffer.from("nope") }))
      expect(bad._tag).toBe("ProtocolViolation")
    }))

  it.effect("prepare needs a rule for the query text and reports its bind markers; batch answers by any statement's rule", () =>
    Effect.gen(function* () {
      const bind = [{ keyspace: "ks", table: "kv", name: "k", type: DataType.native.int }]
      const { controls, session } = yield* TestSession.make({
        rules: [
          { query: "INSERT INTO kv (k, v) VALUES (?, ?)", bind },
          { query: "UPDATE kv SET v = ? WHERE k = ? IF v = ?", rows: [{ "[applied]": false }] }
        ]
      })
      const p = yield* session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
      expect(p.bindColumns).toEqual(bind)
      expect(p.id).toHaveLength(16)
      expect(p.resultMetadataId).toBeDefined()
      expect((yield* Effect.flip(session.prepare("DELETE FROM kv"))).message).toContain(`PREPARE "DELETE FROM kv"`)

      const rs = yield* session.batch(["INSERT INTO kv (k, v) VALUES (1, 'a')", { query: "UPDATE kv SET v = ? WHERE k = ? IF v = ?", params: ["b", 1, "a"] }], {
        type: "UNLOGGED"
      })
      expect(rs.applied).toBe(false)
      expect(controls.calls.at(-1)).toEqual({
        _tag: "Batch",
        statements: [
          { query: "INSERT INTO kv (k, v) VALUES (1, 'a')", params: undefined },
          { query: "UPDATE kv SET v = ? WHERE k = ? IF v = ?", params: ["b", 1, "a"] }
        ],
        options: { type: "UNLOGGED" }
      })
      const err = yield* Effect.flip(session.batch(["TRUNCATE kv"]))
      expect(err.message).toContain(`BATCH of "TRUNCATE kv"`)
    }))

  it.effect("each layer build is fresh", () =>
    Effect.gen(function* () {
      const l = TestSession.layer({ rules: [{ query: "x" }] })
      const run = Effect.gen(function* () {
        yield* (yield* Session.Session).execute("x")
        return (yield* TestSession.TestSession).calls.length
      })
      expect(yield* Effect.provide(run, l)).toBe(1)
      expect(yield* Effect.provide(run, l)).toBe(1)
    }))
})

/** Code under test that needs the Cluster's facets as well as the Session (here: a UDT Schema and the metadata). */
const Point = Schema.Struct({ x: Schema.Number, y: Schema.Number })
const appKeyspaces = Effect.gen(function* () {
  const cluster = yield* Cluster.Cluster
  cluster.registry.registerUdt("app", "point", Point)
  return [...cluster.metadata.current().keyspaces.keys()]
})

const keyspace = (name: string): Metadata.KeyspaceMetadata => ({
  name,
  virtual: false,
  durableWrites: true,
  replication: { strategyClass: "org.apache.cassandra.locator.SimpleStrategy", options: new Map([["replication_factor", "1"]]) },
  tables: new Map(),
  views: new Map(),
  userTypes: new Map(),
  functions: new Map(),
  aggregates: new Map()
})

describe("TestSession's Cluster", () => {
  const withCluster = TestSession.layer({
    keyspace: "app",
    metadata: Metadata.make({ hosts: [], keyspaces: [keyspace("app"), keyspace("audit")] }),
    rules: [{ query: "SELECT * FROM users", rows: users }]
  })

  it.layer(withCluster)("facets", (it) => {
    it.effect("code that reads the Cluster's registry and metadata runs against the TestSession", () =>
      Effect.gen(function* () {
        expect(yield* appKeyspaces).toEqual(["app", "audit"])
        const cluster = yield* Cluster.Cluster
        expect(cluster.registry.udtSchema("app", "point")).toBe(Point)
        expect(cluster.registry.udtSchema("app", "other")).toBeUndefined()
      }))

    it.effect("timestamps are monotonic and host listeners register and unregister", () =>
      Effect.gen(function* () {
        const cluster = yield* Cluster.Cluster
        const stamps = Array.from({ length: 100 }, () => cluster.timestamps.next())
        expect(stamps.every((t, i) => i === 0 || t! > stamps[i - 1]!)).toBe(true)
        const unregister = yield* cluster.events.onHostEvent(() => {})
        yield* unregister
        expect((yield* cluster.control.awaitSchemaAgreement()).agreed).toBe(true)
        expect(yield* cluster.pools.snapshot).toEqual([])
      }))

    it.effect("USE switches the session's keyspace like the live Session; a keyspace the metadata lacks is UnknownKeyspace", () =>
      Effect.gen(function* () {
        const session = yield* Session.Session
        expect(session.keyspace()).toBe("app")
        yield* session.execute("USE audit")
        expect(session.keyspace()).toBe("audit")
        const missing = yield* Effect.flip(session.execute('USE "Nope"'))
        expect(missing).toEqual(new CqlError.UnknownKeyspace({ keyspace: "Nope" }))
        expect(session.keyspace()).toBe("audit")
      }))

    it.effect("executePromise resolves with the rule's rows and rejects with the tagged error", () =>
      Effect.gen(function* () {
        const session = yield* Session.Session
        const rs = yield* Effect.promise(() => session.executePromise("SELECT * FROM users"))
        expect(rs.rows).toEqual(users)
        const rejected = yield* Effect.promise(() => session.executePromise("SELECT nothing").then(() => undefined, (e: unknown) => e))
        expect(rejected).toBeInstanceOf(CqlError.Invalid)
      }))
  })

  it.effect("by default: no keyspace, an empty metadata snapshot, and any USE is taken (through executePromise too)", () =>
    Effect.gen(function* () {
      const session = yield* Session.Session
      const cluster = yield* Cluster.Cluster
      expect(session.keyspace()).toBeUndefined()
      expect(cluster.metadata.current()).toBe(Metadata.empty)
      yield* Effect.promise(() => session.executePromise("USE app"))
      expect(session.keyspace()).toBe("app")
    }).pipe(Effect.provide(TestSession.layer())))
})
