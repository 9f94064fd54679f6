/** Reading a query trace: the retries until the trace is complete, and the errors, over a TestSession's rules. */
import { QueryTrace, Uuid } from "@effect-cql/driver"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, TestClock } from "effect"
import { TestSession } from "../src/index.js"

const tracingId = "6f1a2b3c-0000-4000-8000-00000000abcd"
const sessions = /FROM system_traces\.sessions/
const events = /FROM system_traces\.events/
const eventId = Uuid.fromTime(new Date("2026-12-04T08:00:00.001Z"))
const complete = {
  coordinator: "127.0.0.1",
  client: "127.0.0.9",
  duration: 1250,
  started_at: new Date("2026-12-04T08:00:00.000Z"),
  request: "Execute CQL3 query",
  parameters: new Map([["query", "SELECT * FROM t"]])
}
const event = { event_id: eventId, activity: "Parsing SELECT * FROM t", source: "127.0.0.1", source_elapsed: 310, thread: "Native-Transport-Requests-1" }

const sessionReads = (calls: ReadonlyArray<TestSession.Call>) => calls.filter((c) => c._tag === "Execute" && sessions.test(c.query)).length

describe("QueryTrace", () => {
  it.effect("reads the session row again, after a doubling delay, until it has its duration, then the events", () =>
    Effect.gen(function* () {
      const { session, controls } = yield* TestSession.make({
        rules: [
          { query: events, rows: [event] },
          { query: sessions, rows: [complete] },
          // Newer rules answer first: twice without a duration (the request still running), then complete.
          { query: sessions, rows: [{ ...complete, duration: null }], times: 2 }
        ]
      })
      const fiber = yield* Effect.fork(session.queryTrace(tracingId, { delay: "10 millis" }))
      yield* TestClock.adjust("9 millis")
      expect(sessionReads(controls.calls)).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(sessionReads(controls.calls)).toBe(2)
      // The second wait is twice the first.
      yield* TestClock.adjust("19 millis")
      expect(sessionReads(controls.calls)).toBe(2)
      yield* TestClock.adjust("1 millis")
      const trace = yield* Fiber.join(fiber)
      expect(sessionReads(controls.calls)).toBe(3)
      expect(trace).toEqual({
        tracingId,
        coordinator: "127.0.0.1",
        client: "127.0.0.9",
        duration: Duration.micros(1250n),
        startedAt: complete.started_at,
        request: "Execute CQL3 query",
        parameters: new Map([["query", "SELECT * FROM t"]]),
        events: [
          {
            id: eventId,
            time: new Date("2026-12-04T08:00:00.001Z"),
            activity: "Parsing SELECT * FROM t",
            source: "127.0.0.1",
            sourceElapsed: Duration.micros(310n),
            thread: "Native-Transport-Requests-1"
          }
        ]
      })
      // The reads bind the id as a UUID, at consistency ONE.
      const first = controls.calls[0]!
      expect(first._tag === "Execute" && first.params).toEqual([Uuid.unsafeFromString(tracingId)])
      expect(first._tag === "Execute" && first.options?.consistency).toBe("ONE")
    }))

  it.effect("a trace that stays incomplete fails with TraceIncomplete after maxAttempts reads", () =>
    Effect.gen(function* () {
      const { session, controls } = yield* TestSession.make({ rules: [{ query: sessions, rows: [{ ...complete, duration: null }] }] })
      const fiber = yield* Effect.fork(Effect.flip(session.queryTrace(tracingId, { maxAttempts: 4, delay: "1 millis" })))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toEqual(new QueryTrace.TraceIncomplete({ tracingId, attempts: 4, found: true }))
      expect(error.message).toBe(`the trace ${tracingId} was still incomplete after 4 reads`)
      expect(sessionReads(controls.calls)).toBe(4)
    }))

  it.effect("rows that are not what system_traces holds fail with SchemaMismatch naming the column", () =>
    Effect.gen(function* () {
      const { session } = yield* TestSession.make({ rules: [{ query: sessions, rows: [{ ...complete, coordinator: "not an address" }] }] })
      const error = yield* Effect.flip(session.queryTrace(tracingId))
      expect(error._tag).toBe("SchemaMismatch")
      expect(error._tag === "SchemaMismatch" && error.column).toBe("coordinator")
    }))
})
