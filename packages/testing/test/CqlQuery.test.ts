import { cql, CqlQuery, CqlSchema } from "@effect-cql/driver"
import { CqlDate, Uuid } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { TestSession } from "../src/index.js"

class Event extends Schema.Class<Event>("Event")({ id: CqlSchema.UuidAsString, day: CqlSchema.CqlDateAsString, n: Schema.Number }) {}

const ids = ["6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"]
const rowOf = (i: number) => ({ id: Uuid.unsafeFromString(ids[i % 3]!), day: new CqlDate.CqlDate(19782 + i), n: i })
const org = Uuid.unsafeFromString(ids[0]!)

const byOrg = "SELECT id, day, n FROM app.events WHERE org = ?"
const layer = TestSession.layer({
  // The newest matching rule answers: any other org has no events.
  rules: [
    { query: byOrg, rows: [] },
    { query: byOrg, params: [org], rows: [0, 1, 2, 3, 4].map(rowOf) }
  ]
})

const spec = {
  Request: CqlSchema.UuidAsString,
  Result: Event,
  // Two rows a page, so that five rows are three pages.
  execute: (orgId: Uuid.Uuid) => cql`SELECT id, day, n FROM app.events WHERE org = ${orgId}`.withOptions({ pageSize: 2 })
}

const executes = Effect.map(TestSession.TestSession, (t) => t.calls.filter((c) => c._tag === "Execute"))

// Each test builds the layer afresh: its own TestSession and record of calls.
describe("CqlQuery", () => {
  it.effect("findAll reads every page and decodes each row", () =>
    Effect.gen(function* () {
      const events = yield* CqlQuery.findAll(spec)(ids[0]!)
      expect(events.map((e) => e.n)).toEqual([0, 1, 2, 3, 4])
      expect(events[0]).toEqual(new Event({ id: ids[0]!, day: "2024-02-29", n: 0 }))
      const calls = yield* executes
      expect(calls).toHaveLength(3)
      expect(calls[0]).toMatchObject({ query: byOrg, params: [org] })
    }).pipe(Effect.provide(layer)))

  it.effect("findOne reads the first page only, and is None when nothing matches", () =>
    Effect.gen(function* () {
      const first = yield* CqlQuery.findOne(spec)(ids[0]!)
      expect(Option.map(first, (e) => e.n)).toEqual(Option.some(0))
      expect(yield* executes).toHaveLength(1)
      expect(yield* CqlQuery.findOne(spec)(ids[1]!)).toEqual(Option.none())
    }).pipe(Effect.provide(layer)))

  it.effect("single fails with NoSuchElementException when nothing matches", () =>
    Effect.gen(function* () {
      expect((yield* CqlQuery.single(spec)(ids[0]!)).n).toBe(0)
      const none = yield* CqlQuery.single(spec)(ids[1]!).pipe(
        Effect.catchTag("NoSuchElementException", () => Effect.succeed("none"))
      )
      expect(none).toBe("none")
    }).pipe(Effect.provide(layer)))

  it.effect("void runs the statement with the encoded request", () =>
    Effect.gen(function* () {
      const insert = CqlQuery.void({
        Request: Schema.Struct({ id: CqlSchema.UuidAsString, n: Schema.Number }),
        execute: (e) => cql`INSERT INTO app.events (id, n) VALUES (${e.id}, ${e.n})`
      })
      yield* (yield* TestSession.TestSession).addRules({ query: /^INSERT/ })
      yield* insert({ id: ids[2]!, n: 7 })
      expect(yield* executes).toEqual([
        { _tag: "Execute", query: "INSERT INTO app.events (id, n) VALUES (?, ?)", params: [Uuid.unsafeFromString(ids[2]!), 7], options: undefined }
      ])
    }).pipe(Effect.provide(layer)))

  it.effect("a request that does not fit is a SchemaMismatch, and nothing is sent", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(CqlQuery.findAll(spec)("not a uuid"))
      expect(err._tag).toBe("SchemaMismatch")
      expect(err.message).toMatch(/^the request does not match the Request Schema:\n/)
      expect(yield* executes).toHaveLength(0)
    }).pipe(Effect.provide(layer)))

  it.effect("a row that does not fit is a SchemaMismatch naming the column", () =>
    Effect.gen(function* () {
      const wrong = CqlQuery.findAll({ ...spec, Result: Schema.Struct({ id: Schema.UUID }) })
      const err = yield* Effect.flip(wrong(ids[0]!))
      expect(err).toMatchObject({ _tag: "SchemaMismatch", column: "id" })
    }).pipe(Effect.provide(layer)))
})
