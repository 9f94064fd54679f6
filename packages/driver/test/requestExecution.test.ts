import { describe, expect, it } from "@effect/vitest"
import type { Consistency } from "@effect-cql/protocol"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as CqlError from "../src/CqlError.js"
import { execute, type ExecuteOptions } from "../src/internal/request/requestExecution.js"
import type { Host } from "../src/Metadata.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import type { RequestError } from "../src/Session.js"
import * as SpeculativeExecution from "../src/SpeculativeExecution.js"

const host = (n: number): Host => ({
  endpoint: `10.0.0.${n}:9042`, address: `10.0.0.${n}`, port: 9042, broadcastAddress: undefined, hostId: undefined, datacenter: "dc1",
  rack: "r1", tokens: [], releaseVersion: undefined, schemaVersion: undefined, state: "up"
})
const hosts = [1, 2, 3, 4].map(host)
const num = (h: Host) => Number(h.address.slice("10.0.0.".length))

const base = (n: number) => ({ host: host(n).endpoint, message: `from ${n}` })
const unavailable = (n: number) => new CqlError.Unavailable({ ...base(n), consistency: "QUORUM", required: 2, alive: 1 })
const readTimeout = (n: number) => new CqlError.ReadTimeout({ ...base(n), consistency: "QUORUM", received: 2, blockFor: 2, dataPresent: false })
const connectionLost = (n: number) => new CqlError.ConnectionError({ host: host(n).endpoint, message: "socket closed" })
const overloaded = (n: number) => new CqlError.Overloaded(base(n))
const syntax = (n: number) => new CqlError.SyntaxError(base(n))
const busy = (n: number) => new CqlError.BusyConnection({ host: host(n).endpoint, inFlight: 2048 })

interface Call {
  readonly host: number
  readonly attempt: number
  readonly consistency: Consistency.Consistency | undefined
}

/** Fake attempts: `behave(host, nth attempt on that host)`; records the calls and the attempts interrupted. */
const fake = (behave: (host: number, nth: number) => Effect.Effect<string, RequestError>) => {
  const calls: Array<Call> = []
  const interrupted: Array<number> = []
  const attempt: ExecuteOptions<string>["attempt"] = (h, attemptNumber, consistency) =>
    Effect.suspend(() => {
      const n = num(h)
      calls.push({ host: n, attempt: attemptNumber, consistency })
      return behave(n, calls.filter((c) => c.host === n).length).pipe(
        Effect.onInterrupt(() => Effect.sync(() => interrupted.push(n)))
      )
    })
  return { calls, interrupted, attempt, hostsCalled: () => calls.map((c) => c.host) }
}

const ok = (n: number) => Effect.succeed(`answer from ${n}`)

const options = (
  attempt: ExecuteOptions<string>["attempt"],
  more?: Partial<ExecuteOptions<string>>
): ExecuteOptions<string> => ({
  plan: hosts,
  attempt,
  retry: RetryPolicy.defaultRetryPolicy,
  speculative: SpeculativeExecution.none,
  idempotent: false,
  ...more
})

/** An iterable that counts how many hosts were pulled from it. */
const counted = (list: ReadonlyArray<Host>) => {
  const state = { pulled: 0 }
  const plan: Iterable<Host> = {
    *[Symbol.iterator]() {
      for (const h of list) {
        state.pulled++
        yield h
      }
    }
  }
  return { state, plan }
}

describe("execute: sequential", () => {
  it.effect("runs one attempt on the first host and pulls nothing more from the plan", () =>
    Effect.gen(function* () {
      const f = fake(ok)
      const { state, plan } = counted(hosts)
      expect(yield* execute(options(f.attempt, { plan }))).toBe("answer from 1")
      expect(f.calls).toEqual([{ host: 1, attempt: 1, consistency: undefined }])
      expect(state.pulled).toBe(1)
    })
  )

  it.effect("fails with an empty NoHostAvailable when the plan is empty", () =>
    Effect.gen(function* () {
      const f = fake(ok)
      const error = yield* Effect.flip(execute(options(f.attempt, { plan: [] })))
      expect(error._tag).toBe("NoHostAvailable")
      expect(error._tag === "NoHostAvailable" && error.errors.size).toBe(0)
      expect(f.calls).toEqual([])
    })
  )

  it.effect("tries the next host after Unavailable, and the same host after a read timeout", () =>
    Effect.gen(function* () {
      const f = fake((n) => (n === 1 ? Effect.fail(unavailable(1)) : ok(n)))
      expect(yield* execute(options(f.attempt))).toBe("answer from 2")
      expect(f.calls).toEqual([{ host: 1, attempt: 1, consistency: undefined }, { host: 2, attempt: 2, consistency: undefined }])

      const g = fake((n, nth) => (nth === 1 ? Effect.fail(readTimeout(n)) : ok(n)))
      expect(yield* execute(options(g.attempt))).toBe("answer from 1")
      expect(g.hostsCalled()).toEqual([1, 1])
    })
  )

  it.effect("passes a decision's consistency to the next attempts", () =>
    Effect.gen(function* () {
      const retry: RetryPolicy.RetryPolicy = {
        ...RetryPolicy.defaultRetryPolicy,
        onUnavailable: (_, c) => (c.retryCount === 0 ? RetryPolicy.retryNextHost("ONE") : RetryPolicy.rethrow),
        onReadTimeout: (_, c) => (c.retryCount < 2 ? RetryPolicy.retrySameHost() : RetryPolicy.rethrow)
      }
      const f = fake((n, nth) => (n === 1 ? Effect.fail(unavailable(1)) : nth === 1 ? Effect.fail(readTimeout(n)) : ok(n)))
      expect(yield* execute(options(f.attempt, { retry }))).toBe("answer from 2")
      expect(f.calls).toEqual([
        { host: 1, attempt: 1, consistency: undefined },
        { host: 2, attempt: 2, consistency: "ONE" },
        { host: 2, attempt: 3, consistency: "ONE" }
      ])
    })
  )

  it.effect("fails with NoHostAvailable carrying every host's cause when each fails", () =>
    Effect.gen(function* () {
      const causes = new Map(hosts.map((h) => [h.endpoint, connectionLost(num(h))]))
      const f = fake((n) => Effect.fail(causes.get(host(n).endpoint)!))
      const error = yield* Effect.flip(execute(options(f.attempt, { idempotent: true })))
      expect(f.hostsCalled()).toEqual([1, 2, 3, 4])
      if (error._tag !== "NoHostAvailable") return expect.fail(`expected NoHostAvailable, got ${error._tag}`)
      expect([...error.errors.keys()]).toEqual(hosts.map((h) => h.endpoint))
      for (const [endpoint, cause] of error.errors) expect(cause).toBe(causes.get(endpoint))
      expect(error.message).toContain("10.0.0.4:9042: socket closed")
    })
  )

  it.effect("does not retry a statement that is not idempotent once it may have been applied", () =>
    Effect.gen(function* () {
      const f = fake((n) => Effect.fail(connectionLost(n)))
      expect(yield* Effect.flip(execute(options(f.attempt)))).toEqual(connectionLost(1))
      expect(f.hostsCalled()).toEqual([1])
      const g = fake((n) => Effect.fail(new CqlError.RequestTimeout({ host: host(n).endpoint, timeoutMs: 10 })))
      expect((yield* Effect.flip(execute(options(g.attempt))))._tag).toBe("RequestTimeout")
      expect(g.hostsCalled()).toEqual([1])
    })
  )

  it.effect("rethrows an error that would be the same everywhere, without trying other hosts", () =>
    Effect.gen(function* () {
      const f = fake((n) => Effect.fail(syntax(n)))
      expect(yield* Effect.flip(execute(options(f.attempt, { idempotent: true })))).toEqual(syntax(1))
      expect(f.hostsCalled()).toEqual([1])
    })
  )

  it.effect("moves past a busy connection without counting a retry, idempotent or not", () =>
    Effect.gen(function* () {
      const f = fake((n) => (n === 1 ? Effect.fail(busy(1)) : n === 2 ? Effect.fail(unavailable(2)) : ok(n)))
      // Unavailable is retried only at retryCount 0: it still is after the busy host.
      expect(yield* execute(options(f.attempt))).toBe("answer from 3")
      expect(f.hostsCalled()).toEqual([1, 2, 3])
      const g = fake((n) => Effect.fail(busy(n)))
      const error = yield* Effect.flip(execute(options(g.attempt)))
      expect(error._tag === "NoHostAvailable" && [...error.errors.values()]).toEqual(hosts.map((h) => busy(num(h))))
    })
  )

  it.effect("turns an Ignore decision into onIgnore's result, or rethrows without onIgnore", () =>
    Effect.gen(function* () {
      const retry = { ...RetryPolicy.defaultRetryPolicy, onRequestError: () => RetryPolicy.ignore }
      const f = fake((n) => Effect.fail(overloaded(n)))
      const onIgnore = (e: RequestError, h: Host) => Effect.succeed(`ignored ${e._tag} from ${num(h)}`)
      expect(yield* execute(options(f.attempt, { retry, onIgnore }))).toBe("ignored Overloaded from 1")
      expect(yield* Effect.flip(execute(options(f.attempt, { retry })))).toEqual(overloaded(1))
      expect(f.hostsCalled()).toEqual([1, 1])
    })
  )

  it.effect("walks the plan afresh each time the Effect runs", () =>
    Effect.gen(function* () {
      const f = fake((n) => (n === 1 ? Effect.fail(unavailable(1)) : ok(n)))
      const request = execute(options(f.attempt))
      expect(yield* request).toBe("answer from 2")
      expect(yield* request).toBe("answer from 2")
      expect(f.hostsCalled()).toEqual([1, 2, 1, 2])
    })
  )

  it.effect("does not catch defects", () =>
    Effect.gen(function* () {
      const f = fake(() => Effect.die("bug"))
      const exit = yield* Effect.exit(execute(options(f.attempt, { idempotent: true })))
      expect(Exit.isFailure(exit) && exit.cause._tag).toBe("Die")
      expect(f.hostsCalled()).toEqual([1])
    })
  )
})

describe("execute: speculative", () => {
  const every100 = (maxExecutions: number) => SpeculativeExecution.constant({ delay: "100 millis", maxExecutions })
  const after = (ms: number, e: Effect.Effect<string, RequestError>) => Effect.zipRight(Effect.sleep(ms), e)
  const poll = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isSome)

  it.effect("starts the next host after the delay; the first answer wins and the loser is interrupted", () =>
    Effect.gen(function* () {
      const f = fake((n) => (n === 1 ? Effect.never : after(50, ok(n))))
      const fiber = yield* Effect.fork(execute(options(f.attempt, { idempotent: true, speculative: every100(3) })))
      yield* TestClock.adjust("99 millis")
      expect(f.hostsCalled()).toEqual([1])
      yield* TestClock.adjust("1 millis")
      expect(f.calls).toEqual([{ host: 1, attempt: 1, consistency: undefined }, { host: 2, attempt: 2, consistency: undefined }])
      yield* TestClock.adjust("50 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer from 2")
      expect(f.interrupted).toEqual([1])
      // The schedule ended with the request: no third execution.
      yield* TestClock.adjust("1 second")
      expect(f.hostsCalled()).toEqual([1, 2])
    })
  )

  it.effect("runs no speculative execution for a statement that is not idempotent", () =>
    Effect.gen(function* () {
      const f = fake((n) => after(500, ok(n)))
      const fiber = yield* Effect.fork(execute(options(f.attempt, { speculative: every100(3) })))
      yield* TestClock.adjust("499 millis")
      expect(yield* poll(fiber)).toBe(false)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer from 1")
      expect(f.hostsCalled()).toEqual([1])
    })
  )

  it.effect("shares the plan: a retry takes the next host, and a speculative execution the one after", () =>
    Effect.gen(function* () {
      const f = fake((n) => (n === 1 ? Effect.fail(unavailable(1)) : n === 2 ? Effect.never : ok(n)))
      const fiber = yield* Effect.fork(execute(options(f.attempt, { idempotent: true, speculative: every100(2) })))
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer from 3")
      expect(f.hostsCalled()).toEqual([1, 2, 3])
      expect(f.interrupted).toEqual([2])
    })
  )

  it.effect("fails with every host's cause once the last running execution runs out of hosts", () =>
    Effect.gen(function* () {
      const f = fake((n) => after(n === 1 ? 150 : 100, Effect.fail(overloaded(n))))
      const fiber = yield* Effect.fork(
        execute(options(f.attempt, { plan: hosts.slice(0, 2), idempotent: true, speculative: every100(3) }))
      )
      yield* TestClock.adjust("150 millis")
      // The first execution found the plan empty, the second still runs.
      expect(yield* poll(fiber)).toBe(false)
      yield* TestClock.adjust("50 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      if (error._tag !== "NoHostAvailable") return expect.fail(`expected NoHostAvailable, got ${error._tag}`)
      expect([...error.errors]).toEqual([[host(1).endpoint, overloaded(1)], [host(2).endpoint, overloaded(2)]])
      expect(f.hostsCalled()).toEqual([1, 2])
    })
  )

  it.effect("fails the request at once when an execution rethrows, interrupting the others", () =>
    Effect.gen(function* () {
      const f = fake((n) => (n === 1 ? Effect.never : Effect.fail(syntax(n))))
      const fiber = yield* Effect.fork(execute(options(f.attempt, { idempotent: true, speculative: every100(3) })))
      yield* TestClock.adjust("100 millis")
      expect(yield* Effect.flip(Fiber.join(fiber))).toEqual(syntax(2))
      expect(f.interrupted).toEqual([1])
      expect(f.hostsCalled()).toEqual([1, 2])
    })
  )

  it.effect("starts up to maxExecutions, one per delay, numbering the attempts", () =>
    Effect.gen(function* () {
      const f = fake((n) => (n === 3 ? ok(3) : Effect.never))
      const fiber = yield* Effect.fork(execute(options(f.attempt, { idempotent: true, speculative: every100(3) })))
      yield* TestClock.adjust("100 millis")
      expect(yield* poll(fiber)).toBe(false)
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer from 3")
      expect(f.calls.map((c) => [c.host, c.attempt])).toEqual([[1, 1], [2, 2], [3, 3]])
      expect([...f.interrupted].sort()).toEqual([1, 2])
    })
  )

  it.effect("stops at maxExecutions and waits for the running ones", () =>
    Effect.gen(function* () {
      const f = fake((n) => after(1000, ok(n)))
      const fiber = yield* Effect.fork(execute(options(f.attempt, { idempotent: true, speculative: every100(2) })))
      yield* TestClock.adjust("900 millis")
      expect(f.hostsCalled()).toEqual([1, 2])
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer from 1")
      expect(f.interrupted).toEqual([2])
    })
  )

  it.effect("leaves no execution running when an answer and the next start fall on the same instant", () =>
    Effect.gen(function* () {
      const f = fake((n) => (n === 1 ? after(100, ok(1)) : Effect.never))
      const fiber = yield* Effect.fork(execute(options(f.attempt, { idempotent: true, speculative: every100(3) })))
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer from 1")
      yield* TestClock.adjust("1 second")
      // Whatever started after the first host was interrupted with the request.
      expect(f.hostsCalled().slice(1)).toEqual(f.interrupted)
    })
  )

  it.effect("interrupting the request interrupts every execution", () =>
    Effect.gen(function* () {
      const f = fake(() => Effect.never)
      const fiber = yield* Effect.fork(execute(options(f.attempt, { idempotent: true, speculative: every100(4) })))
      yield* TestClock.adjust("250 millis")
      expect(f.hostsCalled()).toEqual([1, 2, 3])
      yield* Fiber.interrupt(fiber)
      expect([...f.interrupted].sort()).toEqual([1, 2, 3])
      yield* TestClock.adjust("1 second")
      expect(f.hostsCalled()).toEqual([1, 2, 3])
    })
  )
})
