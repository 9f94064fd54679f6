import { CqlError, Migrator } from "@effect-cql/driver"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { TestSession } from "../src/index.js"

const applied = [{ "[applied]": true }]
const isLock = (verb: string) => (query: string) => query.startsWith(verb) && query.includes("schema_migrations_lock")
const deletes = (calls: ReadonlyArray<TestSession.Call>) => calls.filter((c) => c._tag === "Execute" && isLock("DELETE")(c.query)).length

const rules = (deleteError?: CqlError.WriteTimeout): ReadonlyArray<TestSession.Rule> => [
  { query: /^CREATE /, rows: [] },
  // Reading what was applied takes a moment, long enough for the renewal to go out.
  { query: /^SELECT id, checksum FROM /, rows: [], delay: "100 millis" },
  { query: isLock("INSERT"), rows: applied },
  // The renewal is slow: still in flight when the run, with nothing to apply, is over.
  { query: isLock("UPDATE"), rows: applied, delay: "2 seconds" },
  { query: isLock("DELETE"), rows: applied },
  ...(deleteError === undefined ? [] : [{ query: isLock("DELETE"), error: deleteError, times: 2 }])
]

const casTimeout = new CqlError.WriteTimeout({
  host: "test-session",
  message: "CAS operation timed out",
  consistency: "SERIAL",
  received: 0,
  blockFor: 2,
  writeType: "CAS",
  contentions: 1
})

describe("Migrator's lock", () => {
  it.effect("is deleted only once the renewal in flight has its answer, never beside it", () =>
    Effect.gen(function* () {
      const controls = yield* TestSession.TestSession
      const run = yield* Effect.fork(Migrator.run([], { keyspace: "app" }))
      yield* TestClock.adjust("1 second")
      // The run has nothing to apply and is over; the renewal sent when the lock was taken has not been answered.
      expect(controls.calls.some((c) => c._tag === "Execute" && isLock("UPDATE")(c.query))).toBe(true)
      expect(deletes(controls.calls)).toBe(0)
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(run)).toEqual([])
      expect(deletes(controls.calls)).toBe(1)
    }).pipe(Effect.provide(TestSession.layer({ rules: rules() }))))

  it.effect("a delete that fails is tried again", () =>
    Effect.gen(function* () {
      const controls = yield* TestSession.TestSession
      const run = yield* Effect.fork(Migrator.run([], { keyspace: "app" }))
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(run)).toEqual([])
      // Two CAS timeouts, then the delete applies.
      expect(deletes(controls.calls)).toBe(3)
    }).pipe(Effect.provide(TestSession.layer({ rules: rules(casTimeout) }))))
})
