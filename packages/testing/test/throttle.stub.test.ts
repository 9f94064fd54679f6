/**
 * A Session's throttler through the stub: at most N requests in flight with the rest queued in order, a full queue
 * and a too-long wait as typed `Throttled` errors with nothing sent, interruption removing a queued request, and
 * the rate limit.
 */
import { Cluster, CqlError, Metrics, Session } from "@effect-cql/driver"
import type { Throttler } from "@effect-cql/driver"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import { StubServer } from "../src/index.js"

const slow = "SELECT v FROM ks.slow"
const fast = "SELECT v FROM ks.fast"

const setup = (firstAddress: string, throttler: Throttler.Options) =>
  Effect.gen(function* () {
    const server = yield* StubServer.make({
      firstAddress,
      port: 0,
      rules: [
        { query: slow, rows: [{ v: 1 }], delay: "150 millis" },
        { query: fast, rows: [{ v: 1 }] }
      ]
    })
    const cluster = yield* Layer.build(Cluster.layer({ contactPoints: server.contactPoints })).pipe(Effect.map(Context.get(Cluster.Cluster)))
    const session = yield* Session.make({ throttler }).pipe(Effect.provideService(Cluster.Cluster, cluster))
    const arrivals = (query: string) => Effect.map(server.requests, (log) => log.filter((r) => r.query === query).map((r) => r.at))
    return { session, arrivals }
  })

const rejected = (reason: string) => Effect.map(Metric.value(Metric.taggedWithLabels(Metrics.throttleRejected, [MetricLabel.make("reason", reason)])), (c) => c.count)

describe("the Session's throttler", () => {
  it.scopedLive("at most maxConcurrent in flight, the rest queued in order; past maxQueueSize, Throttled and nothing sent", () =>
    Effect.gen(function* () {
      const { session, arrivals } = yield* setup("127.0.3.1", { maxConcurrent: 2, maxQueueSize: 3 })
      const before = yield* rejected("queue full")
      const started = Date.now()
      const results = yield* Effect.forEach(Array.from({ length: 8 }), () => Effect.either(session.execute(slow)), { concurrency: "unbounded" })
      const failures = results.flatMap((r) => (Either.isLeft(r) ? [r.left] : []))
      expect(results.filter(Either.isRight)).toHaveLength(5)
      expect(failures.map((e) => e._tag)).toEqual(["Throttled", "Throttled", "Throttled"])
      expect(failures[0]).toMatchObject({ reason: "queue full", inFlight: 2, queued: 3, waitedMs: 0 })
      expect((yield* rejected("queue full")) - before).toBe(3)
      // Five arrived, in waves of at most two: the last wave began two delays after the first.
      const at = yield* arrivals(slow)
      expect(at).toHaveLength(5)
      const first = Math.min(...at)
      const waves = at.map((t) => Math.round((t - first) / 150))
      for (const w of new Set(waves)) expect(waves.filter((x) => x === w).length).toBeLessThanOrEqual(2)
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 150 - 20)
    }))

  it.scopedLive("a request that waits longer than maxQueueWait fails with Throttled (wait exceeded), unsent", () =>
    Effect.gen(function* () {
      const { session, arrivals } = yield* setup("127.0.3.4", { maxConcurrent: 1, maxQueueWait: "50 millis" })
      const results = yield* Effect.forEach(Array.from({ length: 3 }), () => Effect.either(session.execute(slow)), { concurrency: "unbounded" })
      expect(results.filter(Either.isRight)).toHaveLength(1)
      const waited = results.flatMap((r) => (Either.isLeft(r) && r.left._tag === "Throttled" ? [r.left] : []))
      expect(waited.map((e) => e.reason)).toEqual(["wait exceeded", "wait exceeded"])
      for (const e of waited) expect(e.waitedMs).toBeGreaterThanOrEqual(45)
      expect(yield* arrivals(slow)).toHaveLength(1)
    }))

  it.scopedLive("interrupting a queued request takes it out of the queue: it is never sent", () =>
    Effect.gen(function* () {
      const { session, arrivals } = yield* setup("127.0.3.7", { maxConcurrent: 1 })
      const first = yield* Effect.fork(session.execute(slow))
      yield* Effect.sleep("20 millis")
      const queued = yield* Effect.fork(session.execute(fast))
      yield* Effect.sleep("20 millis")
      expect((yield* Metric.value(Metrics.throttleQueued)).value).toBe(1)
      yield* Fiber.interrupt(queued)
      expect((yield* Metric.value(Metrics.throttleQueued)).value).toBe(0)
      expect((yield* Fiber.join(first)).rows).toEqual([{ v: 1 }])
      // The slot it would have taken goes to the next request.
      expect((yield* session.execute(fast)).rows).toEqual([{ v: 1 }])
      expect(yield* arrivals(fast)).toHaveLength(1)
    }))

  it.scopedLive("maxPerSecond: a second's worth of requests start at once, the rest at that rate", () =>
    Effect.gen(function* () {
      const { session, arrivals } = yield* setup("127.0.3.10", { maxConcurrent: 100, maxPerSecond: 20 })
      const started = Date.now()
      yield* Effect.forEach(Array.from({ length: 30 }), () => session.execute(fast), { concurrency: "unbounded", discard: true })
      const elapsed = Date.now() - started
      // 20 tokens at the start, then one every 50 ms: the last of the 10 others starts about 500 ms in.
      expect(elapsed).toBeGreaterThanOrEqual(450)
      expect(elapsed).toBeLessThan(3000)
      const at = (yield* arrivals(fast)).sort((a, b) => a - b)
      expect(at).toHaveLength(30)
      expect(at[19]! - at[0]!).toBeLessThan(200)
    }))

  it.scopedLive("bad limits are refused when the Session is made, as a defect that names the setting", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(setup("127.0.3.13", { maxConcurrent: 0 }))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) ? String(Cause.squash(exit.cause)) : String(exit)).toContain(
        "throttler.maxConcurrent must be a positive integer, not 0"
      )
      expect(new CqlError.Throttled({ reason: "queue full", inFlight: 1, queued: 2, waitedMs: 0 }).message).toBe("throttled (queue full): 1 in flight, 2 queued, waited 0 ms")
    }))
})
