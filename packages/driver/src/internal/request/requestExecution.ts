/**
 * The execution loop of one request: walk the query plan, apply the retry policy's decisions, run speculative
 * executions, and fail with NoHostAvailable (every tried host's last error) when the plan runs out.
 *
 * The common path (one attempt, no speculative execution) adds one error handler around the attempt: no fork.
 * `startPlain` goes further for a caller inside an `Effect.async`: its first attempt is plain callbacks, and the
 * Effect loop comes in only after a failure.
 * Speculative executions are fibers the request interrupts when it ends, so the executions that lost are
 * interrupted (their attempts cancelled) before `execute` returns.
 */
import type { Consistency } from "@effect-cql/protocol"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as CqlError from "../../CqlError.js"
import type { Host } from "../../Metadata.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import type { RequestError } from "../../Session.js"
import type { SpeculativeExecution } from "../../SpeculativeExecution.js"

export interface ExecuteOptions<A> {
  /** The query plan, iterated lazily and at most once. */
  readonly plan: Iterable<Host>
  /**
   * One attempt on `host`. `attemptNumber` counts the request's attempts from 1 (speculative ones included);
   * `consistency` is set when a retry decision changed the level, else the statement's own applies.
   */
  readonly attempt: (
    host: Host,
    attemptNumber: number,
    consistency: Consistency.Consistency | undefined
  ) => Effect.Effect<A, RequestError>
  readonly retry: RetryPolicy.RetryPolicy
  readonly speculative: SpeculativeExecution
  /** Speculative executions, and retries after a possibly applied attempt, are for idempotent statements only. */
  readonly idempotent: boolean
  /** The result when the retry policy says Ignore; without it an ignored error is rethrown. */
  readonly onIgnore?: (error: RequestError, host: Host) => Effect.Effect<A, RequestError>
}

/** Runs one request: a new walk of `plan` each time the Effect runs. */
export const execute = <A>(options: ExecuteOptions<A>): Effect.Effect<A, RequestError> => Effect.suspend(() => start(options))

/**
 * The same, starting now: takes the plan's first host at once. For callers already inside a lazy Effect, where
 * `execute`'s own suspension would be one more step per request.
 */
export const start = <A>(options: ExecuteOptions<A>): Effect.Effect<A, RequestError> => {
  const run = new Run(options, options.plan[Symbol.iterator]())
  const first = run.hosts.next()
  if (first.done === true) return Effect.fail(run.noHostAvailable())
  const delay = options.idempotent ? options.speculative.nextExecution(1) : Option.none()
  return Option.isNone(delay) ? walk(run, first.value, 0, undefined, failNoHost) : speculate(run, first.value, delay.value)
}

/**
 * What a plain attempt reports, once: the error for the retry policy, or the Effect to go on with (a success, or
 * more work such as a re-prepare, whose failure goes to the retry policy too).
 */
export type Done<A> = (error: RequestError | undefined, next?: Effect.Effect<A, RequestError>) => void

/** One attempt on `host` in plain callbacks, at the statement's own consistency. */
export type PlainAttempt<A> = (host: Host, done: Done<A>) => void

/**
 * `start` for a caller inside an `Effect.async` register, whose `resume` gets the request's outcome once. Unless a
 * speculative execution applies, the first attempt is `first`, plain callbacks with no Effect step; only its
 * failure brings in the Effect loop (retries as `options.attempt`). The common request is then one async step.
 */
export const startPlain = <A>(options: ExecuteOptions<A>, first: PlainAttempt<A>, resume: (outcome: Effect.Effect<A, RequestError>) => void): void => {
  const run = new Run(options, options.plan[Symbol.iterator]())
  const n = run.hosts.next()
  if (n.done === true) return resume(Effect.fail(run.noHostAvailable()))
  const host = n.value
  if (options.idempotent) {
    const delay = options.speculative.nextExecution(1)
    if (Option.isSome(delay)) return resume(speculate(run, host, delay.value))
  }
  run.attempts++
  first(host, (error, next) => {
    if (error !== undefined) resume(recover(run, host, error, 0, undefined, failNoHost))
    else if (Exit.isExit(next) && Exit.isSuccess(next)) resume(next)
    else resume(Effect.catchAll(next!, (e) => recover(run, host, e, 0, undefined, failNoHost)))
  })
}

/** The end of a plain walk (no speculative execution): every host failed. */
const failNoHost = (run: Run<unknown>): Effect.Effect<never, RequestError> => Effect.fail(run.noHostAvailable())

/** What the executions of one request share: the plan's iterator, the attempt counter, each host's last error. */
class Run<A> {
  attempts = 0
  errors: Map<string, unknown> | undefined = undefined
  constructor(
    readonly options: ExecuteOptions<A>,
    readonly hosts: Iterator<Host>
  ) {}
  record(host: Host, error: RequestError) {
    ;(this.errors ??= new Map()).set(host.endpoint, error)
  }
  /**
   * The plan ran out. With a single host tried, its own error is the more useful answer (a one-node cluster's
   * Unavailable stays an Unavailable); with several, NoHostAvailable carries each host's last error.
   */
  noHostAvailable(): RequestError {
    const errors = this.errors ?? new Map<string, unknown>()
    if (errors.size === 1) {
      const only = errors.values().next().value
      if (only instanceof Error && "_tag" in only) return only as RequestError
    }
    return new CqlError.NoHostAvailable({ errors })
  }
}

/** One execution from `host` on, as the retry decisions lead it; `exhausted` when the plan has no host left. */
const walk = <A, E>(
  run: Run<A>,
  host: Host,
  retryCount: number,
  consistency: Consistency.Consistency | undefined,
  exhausted: (run: Run<A>) => Effect.Effect<A, E>
): Effect.Effect<A, RequestError | E> =>
  Effect.catchAll(run.options.attempt(host, ++run.attempts, consistency), (error) => recover(run, host, error, retryCount, consistency, exhausted))

/** After `host` failed with `error`: the retry policy's decision, and the execution's next step. */
const recover = <A, E>(
  run: Run<A>,
  host: Host,
  error: RequestError,
  retryCount: number,
  consistency: Consistency.Consistency | undefined,
  exhausted: (run: Run<A>) => Effect.Effect<A, E>
): Effect.Effect<A, RequestError | E> => {
  run.record(host, error)
  // Never sent: no decision to make and no retry to count.
  if (error._tag === "BusyConnection" || error._tag === "NoConnection") return next(run, retryCount, consistency, exhausted)
  const decision = RetryPolicy.decide(run.options.retry, error, { retryCount, idempotent: run.options.idempotent })
  switch (decision._tag) {
    case "RetrySameHost":
      return walk(run, host, retryCount + 1, decision.consistency ?? consistency, exhausted)
    case "RetryNextHost":
      return next(run, retryCount + 1, decision.consistency ?? consistency, exhausted)
    case "Rethrow":
      return Effect.fail(error)
    case "Ignore":
      return run.options.onIgnore === undefined ? Effect.fail(error) : run.options.onIgnore(error, host)
  }
}

const next = <A, E>(
  run: Run<A>,
  retryCount: number,
  consistency: Consistency.Consistency | undefined,
  exhausted: (run: Run<A>) => Effect.Effect<A, E>
): Effect.Effect<A, RequestError | E> => {
  const n = run.hosts.next()
  return n.done === true ? exhausted(run) : walk(run, n.value, retryCount, consistency, exhausted)
}

/** An execution that ran out of hosts: the request fails only when no other execution is still running. */
class Exhausted {}
const exhausted = new Exhausted()
const failExhausted = () => Effect.fail(exhausted)

/**
 * Executions forked as daemons, a new one every delay the policy gives while no answer came and the plan has
 * hosts; the first to succeed or to rethrow completes the request. When the request ends (or is interrupted),
 * every fiber it started is interrupted and awaited. (A Scope with `forkIn` would do the same at a higher cost.)
 */
const speculate = <A>(run: Run<A>, first: Host, firstDelay: Duration.Duration): Effect.Effect<A, RequestError> =>
  Effect.suspend(() => {
    const done = Deferred.unsafeMake<A, RequestError>(FiberId.none)
    const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    let running = 0
    // Forked and recorded in one uninterruptible step, so that no fiber escapes the final interruption.
    const fork = (effect: Effect.Effect<unknown>) =>
      Effect.uninterruptibleMask((restore) => Effect.map(Effect.forkDaemon(restore(effect)), (f) => void fibers.push(f)))
    const start = (host: Host) => {
      running++
      return fork(
        Effect.matchCauseEffect(walk(run, host, 0, undefined, failExhausted), {
          onSuccess: (a) => Deferred.succeed(done, a),
          onFailure: (cause) => {
            running--
            const failure = Cause.failureOption(cause)
            if (Option.isSome(failure) && failure.value === exhausted) {
              // The plan is shared: once empty, no execution can start again.
              return running === 0 ? Deferred.fail(done, run.noHostAvailable()) : Effect.void
            }
            return Deferred.failCause(done, cause as Cause.Cause<RequestError>)
          }
        })
      )
    }
    const schedule = (started: number, delay: Duration.Duration): Effect.Effect<void> =>
      Effect.flatMap(Effect.sleep(delay), () => {
        const n = run.hosts.next()
        if (n.done === true) return Effect.void
        return Effect.flatMap(start(n.value), () => {
          const following = run.options.speculative.nextExecution(started + 1)
          return Option.isNone(following) ? Effect.void : schedule(started + 1, following.value)
        })
      })
    return start(first).pipe(
      Effect.zipRight(fork(schedule(1, firstDelay))),
      Effect.zipRight(Deferred.await(done)),
      // The schedule is one of these fibers: interrupted, it starts nothing more.
      Effect.ensuring(Effect.suspend(() => Fiber.interruptAll(fibers)))
    )
  })
