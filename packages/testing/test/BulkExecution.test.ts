import { BulkExecution, CqlError, Statement } from "@effect-cql/driver"
import type { ResultSet } from "@effect-cql/driver"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Either, Exit, Fiber, Schema, Stream } from "effect"
import { TestSession } from "../src/index.js"

const insert = (k: number): Statement.Statement => ({ query: "INSERT INTO kv (k) VALUES (?)", params: [k] })
const busy = new CqlError.Overloaded({ host: "test-session", message: "busy" })

// Real (short) delays: the test session answers bulk requests outside the test clock, as the live one does.
const layer = TestSession.layer({
  rules: [
    { query: "INSERT INTO kv (k) VALUES (?)", delay: "5 millis" },
    // Multiples of 7 fail.
    { query: "INSERT INTO kv (k) VALUES (?)", params: (p) => Array.isArray(p) && (p[0] as number) % 7 === 0, delay: "5 millis", error: busy }
  ]
})

const started = Effect.map(TestSession.TestSession, (t) => t.calls)

describe("BulkExecution", () => {
  it.live("runs every statement with at most `concurrency` in flight and reports each result", () =>
    Effect.gen(function* () {
      const calls = yield* started
      let completed = 0
      let most = 0
      const seen: Array<number> = []
      const summary = yield* BulkExecution.run(Array.from({ length: 40 }, (_, k) => insert(k + 1)), {
        concurrency: 5,
        onResult: (index, result) => {
          most = Math.max(most, calls.length - completed)
          completed++
          seen.push(index)
          expect(Either.isLeft(result)).toBe((index + 1) % 7 === 0)
        }
      })
      expect(most).toBe(5)
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i))
      expect(summary.started).toBe(40)
      expect(summary.succeeded).toBe(35)
      expect(summary.failures.map((f) => f.index).sort((a, b) => a - b)).toEqual([6, 13, 20, 27, 34])
      expect(summary.failures[0]).toMatchObject({ error: { _tag: "Overloaded" }, statement: { params: [(summary.failures[0]!.index + 1)] } })
    }).pipe(Effect.provide(layer)))

  it.live("pulls statements lazily: a generator is read only as slots free", () =>
    Effect.gen(function* () {
      let pulled = 0
      let pulledAtFirstResult = -1
      function* statements() {
        for (let k = 1; k <= 30; k++) {
          pulled++
          yield insert(k)
        }
      }
      yield* BulkExecution.run(statements(), { concurrency: 4, onResult: () => void (pulledAtFirstResult < 0 && (pulledAtFirstResult = pulled)) })
      expect(pulledAtFirstResult).toBe(4)
      expect(pulled).toBe(30)
    }).pipe(Effect.provide(layer)))

  it.live("an Iterable or onResult that throws ends the run as a defect, after what is in flight finished; nothing escapes", () =>
    Effect.gen(function* () {
      function* statements() {
        for (let k = 1; k <= 50; k++) yield insert(k * 10 + 1)
        throw new Error("the generator broke")
      }
      let reported = 0
      const exit = yield* Effect.exit(BulkExecution.run(statements(), { concurrency: 8, onResult: () => void reported++ })).pipe(Effect.timeout("5 seconds"))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) && Cause.squash(exit.cause)).toEqual(new Error("the generator broke"))
      expect(reported).toBe(50)
      const again = yield* Effect.exit(
        BulkExecution.run(Array.from({ length: 20 }, (_, k) => insert(k * 10 + 1)), {
          concurrency: 4,
          onResult: (index) => {
            if (index === 5) throw new Error("onResult broke")
          }
        })
      ).pipe(Effect.timeout("5 seconds"))
      expect(Exit.isFailure(again) && Cause.squash(again.cause)).toEqual(new Error("onResult broke"))
    }).pipe(Effect.provide(layer)))

  it.live("stopOnFailure starts nothing after the first failure; those in flight finish", () =>
    Effect.gen(function* () {
      const summary = yield* BulkExecution.run(Array.from({ length: 40 }, (_, k) => insert(k + 1)), { concurrency: 2, stopOnFailure: true })
      // The 7th fails; at most one more was started beside it.
      expect(summary.failures.map((f) => f.index)).toEqual([6])
      expect(summary.started).toBeLessThanOrEqual(8)
      expect(summary.succeeded).toBe(summary.started - 1)
    }).pipe(Effect.provide(layer)))

  it.live("executeAll: every result, in input order", () =>
    Effect.gen(function* () {
      const results = yield* BulkExecution.executeAll(Array.from({ length: 15 }, (_, k) => insert(k + 1)), { concurrency: 6 })
      expect(results.map((r) => r._tag)).toEqual(Array.from({ length: 15 }, (_, k) => ((k + 1) % 7 === 0 ? "Left" : "Right")))
      expect((results[0] as Either.Right<CqlError.RequestError, ResultSet.ResultSet>).right.coordinator).toBe("test-session")
    }).pipe(Effect.provide(layer)))

  it.live("statements that fail before they are sent (a parameter Schema) are reported too, and the run ends", () =>
    Effect.gen(function* () {
      const typed = Statement.typed({ query: "INSERT INTO kv (k) VALUES (?)", Params: Schema.Tuple(Schema.Int), Row: Schema.Struct({}) })
      const summary = yield* BulkExecution.run(Array.from({ length: 1000 }, (_, k) => typed([k + 0.5])), { concurrency: 3 })
      expect(summary.failures).toHaveLength(1000)
      expect(summary.failures[999]).toMatchObject({ index: 999, error: { _tag: "SchemaMismatch" } })
    }).pipe(Effect.provide(layer)))

  it.live("runStream: a Stream's statements, chunk by chunk; a failing Stream fails the run after those in flight", () =>
    Effect.gen(function* () {
      const calls = yield* started
      const ok = yield* BulkExecution.runStream(Stream.range(1, 20).pipe(Stream.rechunk(3), Stream.map(insert)), { concurrency: 4 })
      expect(ok).toMatchObject({ started: 20, succeeded: 18 })
      expect(calls).toHaveLength(20)
      const failing = Stream.concat(Stream.fromChunk(Chunk.make(insert(100), insert(101))), Stream.fail("no more input" as const))
      const err = yield* Effect.flip(BulkExecution.runStream(failing, { concurrency: 4 }))
      expect(err).toBe("no more input")
      expect(calls).toHaveLength(22)
    }).pipe(Effect.provide(layer)))

  it.live("interrupting the run starts nothing more", () =>
    Effect.gen(function* () {
      const calls = yield* started
      function* forever() {
        for (let k = 1; ; k++) yield insert(k)
      }
      const fiber = yield* Effect.fork(BulkExecution.run(forever(), { concurrency: 3 }))
      yield* Effect.sleep("30 millis")
      yield* Fiber.interrupt(fiber)
      const atInterrupt = calls.length
      expect(atInterrupt).toBeGreaterThan(3)
      yield* Effect.sleep("30 millis")
      expect(calls.length).toBe(atInterrupt)
    }).pipe(Effect.provide(layer)))
})
