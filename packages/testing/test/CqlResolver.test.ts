import { cql, CqlError, CqlResolver, CqlSchema } from "@effect-cql/driver"
import { Uuid } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Schema } from "effect"
import { TestSession } from "../src/index.js"

const byKey = "SELECT k, name FROM app.users WHERE k = ?"
const User = Schema.Struct({ k: Schema.Number, name: Schema.String })

// Keys 1..20 have a user; 13 fails; others have none.
const layer = TestSession.layer({
  rules: [
    { query: byKey, rows: [] },
    ...Array.from({ length: 20 }, (_, i) => ({ query: byKey, params: [i + 1], rows: [{ k: i + 1, name: `user ${i + 1}` }] })),
    { query: byKey, params: [13], error: new CqlError.Overloaded({ host: "test-session", message: "busy" }) }
  ]
})

const executes = Effect.map(TestSession.TestSession, (t) => t.calls.filter((c) => c._tag === "Execute"))

describe("CqlResolver.findById", () => {
  it.effect("lookups made together are deduplicated into one statement per distinct key, and each gets its row", () =>
    Effect.gen(function* () {
      const users = yield* CqlResolver.findById({ Id: Schema.Number, Result: User, execute: (k) => cql`SELECT k, name FROM app.users WHERE k = ${k}` })
      const ids = Array.from({ length: 100 }, (_, i) => (i % 10) + 1) // 10 distinct keys, 10 times each
      const found = yield* Effect.forEach(ids, users.execute, { batching: true, concurrency: "unbounded" })
      expect(found.map((u) => Option.map(u, (x) => x.k))).toEqual(ids.map(Option.some))
      const calls = yield* executes
      expect(calls).toHaveLength(10)
      expect(calls.map((c) => c._tag === "Execute" && c.params).sort()).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1]).sort())
    }).pipe(Effect.provide(layer)))

  it.effect("a key with no row is None; a failing key fails its own lookups only", () =>
    Effect.gen(function* () {
      const users = yield* CqlResolver.findById({ Id: Schema.Number, Result: User, execute: (k) => cql`SELECT k, name FROM app.users WHERE k = ${k}` })
      const out = yield* Effect.forEach([1, 999, 13, 13, 2], (k) => Effect.either(users.execute(k)), { batching: true, concurrency: "unbounded" })
      expect(out.map((r) => (Either.isRight(r) ? Option.getOrNull(Option.map(r.right, (u) => u.name)) : r.left._tag))).toEqual([
        "user 1",
        null,
        "Overloaded",
        "Overloaded",
        "user 2"
      ])
      expect(yield* executes).toHaveLength(4)
    }).pipe(Effect.provide(layer)))

  it.effect("executeAll: a list in hand as one batch, rows in its order; the first failure fails it", () =>
    Effect.gen(function* () {
      const users = yield* CqlResolver.findById({ Id: Schema.Number, Result: User, execute: (k) => cql`SELECT k, name FROM app.users WHERE k = ${k}` })
      const found = yield* users.executeAll([3, 1, 999, 3, 2])
      expect(found.map((u) => Option.getOrNull(Option.map(u, (x) => x.name)))).toEqual(["user 3", "user 1", null, "user 3", "user 2"])
      expect(yield* executes).toHaveLength(4)
      const failed = yield* Effect.flip(users.executeAll([1, 13, 2]))
      expect(failed._tag).toBe("Overloaded")
    }).pipe(Effect.provide(layer)))

  it.effect("Uuid keys deduplicate by value, and encode through the Id Schema", () =>
    Effect.gen(function* () {
      const text = "6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
      const byId = "SELECT name FROM app.people WHERE id = ?"
      yield* (yield* TestSession.TestSession).addRules({ query: byId, params: [Uuid.unsafeFromString(text)], rows: [{ name: "Ada" }] })
      const people = yield* CqlResolver.findById({
        Id: CqlSchema.UuidAsString,
        Result: Schema.Struct({ name: Schema.String }),
        execute: (id) => cql`SELECT name FROM app.people WHERE id = ${id}`
      })
      const out = yield* Effect.all([people.execute(text), people.execute(text.toUpperCase()), people.execute("nope")].map(Effect.either), {
        batching: true,
        concurrency: "unbounded"
      })
      expect(out[0]).toEqual(Either.right(Option.some({ name: "Ada" })))
      // Upper case is another string, but encodes to the same Uuid: a second statement with the same value.
      expect(out[1]).toEqual(Either.right(Option.some({ name: "Ada" })))
      expect(Either.isLeft(out[2]!) && out[2].left._tag).toBe("SchemaMismatch")
      expect(yield* executes).toHaveLength(2)
    }).pipe(Effect.provide(layer)))
})

describe("CqlResolver.findByIdIn", () => {
  class EventId extends Schema.Class<EventId>("EventId")({ org: Schema.Number, seq: Schema.Number }) {}
  const Event = Schema.Struct({ org: Schema.Number, seq: Schema.Number, what: Schema.String })
  const inQuery = (n: number) => `SELECT org, seq, what FROM app.events WHERE org = ? AND seq IN (${Array.from({ length: n }, () => "?").join(", ")})`

  it.effect("keys of one partition are read by one IN statement; rows are matched back by ResultId", () =>
    Effect.gen(function* () {
      yield* (yield* TestSession.TestSession).addRules(
        { query: inQuery(3), params: [1, 1, 2, 3], rows: [{ org: 1, seq: 3, what: "c" }, { org: 1, seq: 1, what: "a" }] },
        { query: inQuery(1), params: [2, 1], rows: [{ org: 2, seq: 1, what: "z" }] }
      )
      const events = yield* CqlResolver.findByIdIn({
        Id: EventId,
        Result: Event,
        ResultId: (e) => new EventId({ org: e.org, seq: e.seq }),
        partitionOf: (id) => id.org,
        execute: (ids) => cql`SELECT org, seq, what FROM app.events WHERE org = ${ids[0].org} AND seq IN ${cql.in(ids.map((i) => i.seq))}`
      })
      // Class instances are Equal by value: the second (1, 1) is the same key.
      const keys = [[1, 1], [1, 2], [2, 1], [1, 3], [1, 1]].map(([org, seq]) => new EventId({ org: org!, seq: seq! }))
      const out = yield* Effect.forEach(keys, events.execute, { batching: true, concurrency: "unbounded" })
      expect(out.map((o) => Option.getOrNull(Option.map(o, (e) => e.what)))).toEqual(["a", null, "z", "c", "a"])
      expect((yield* executes).map((c) => c._tag === "Execute" && c.query).sort()).toEqual([inQuery(1), inQuery(3)])
    }).pipe(Effect.provide(layer)))
})
