/**
 * Bulk execution: many statements run by one fiber, at most `concurrency` in flight, each result reported
 * (Python's `execute_concurrent`, the Node driver's `executeConcurrent`).
 *
 * Why not `Effect.forEach(statements, session.execute, { concurrency })`: that forks a fiber per statement, and a
 * fiber's start, run loop and join cost more than the request itself. Here the whole run is one `Effect.async`:
 * statements are started through the Session's fiberless path (`executeCallback`), and each completion starts the
 * next, in plain TypeScript. Interrupting the run starts no more statements; those in
 * flight complete unobserved.
 *
 * Statements come from an Iterable (pulled lazily, one as each slot frees, so a generator of millions costs no
 * memory) or a Stream (pulled a chunk at a time). Results: `run` reports each to `onResult` as it comes and keeps
 * only the failures; `executeAll` returns every result in input order.
 */
import type { Rows } from "@effect-cql/protocol"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import type { RequestError } from "./CqlError.js"
import type { ResultSet } from "./ResultSet.js"
import { Session } from "./Session.js"
import type * as Statement from "./Statement.js"

export interface Options<A> {
  /** Statements in flight at once (at least 1). */
  readonly concurrency: number
  /** After the first failure, start no more statements (those in flight finish). Default false: run them all. */
  readonly stopOnFailure?: boolean
  /** Each statement's result as it completes, with its index in the input; called in completion order. */
  readonly onResult?: (index: number, result: Either.Either<ResultSet<A>, RequestError>) => void
}

export interface Failure<A> {
  readonly index: number
  readonly statement: Statement.Statement<A>
  readonly error: RequestError
}

export interface Summary<A> {
  /** Statements started (all of them unless the run stopped early). */
  readonly started: number
  readonly succeeded: number
  /** In completion order. */
  readonly failures: ReadonlyArray<Failure<A>>
}

/** Where statements come from: the next one, none for now (`undefined`: a chunk is on its way) or the end. */
interface Source<A> {
  next(): Statement.Statement<A> | undefined
  ended: boolean
  /** Asks for more when `next` ran dry and the source has not ended; `ready` is called once they are there. */
  refill?(ready: () => void): void
}

const fromIterable = <A>(statements: Iterable<Statement.Statement<A>>): Source<A> => {
  const it = statements[Symbol.iterator]()
  const source = {
    ended: false,
    next(): Statement.Statement<A> | undefined {
      const r = it.next()
      if (r.done === true) {
        source.ended = true
        return undefined
      }
      return r.value
    }
  }
  return source
}

/**
 * The engine: started inside one `Effect.async`; resumes with the summary when the source has ended (or the run
 * stopped) and nothing is in flight.
 */
const runSource = <A>(
  session: Session,
  source: Source<A>,
  options: Options<A>,
  resume: (summary: Summary<A>) => void,
  die: (cause: Cause.Cause<unknown>) => void
): (() => void) => {
  const concurrency = Math.max(1, Math.floor(options.concurrency))
  const onResult = options.onResult
  const failures: Array<Failure<A>> = []
  let started = 0
  let succeeded = 0
  let inFlight = 0
  let stopped = false
  let refilling = false
  let finished = false
  /**
   * What the caller's own code threw (the Iterable, `onResult`): the run starts nothing more, lets what is in
   * flight finish, then dies with it. Thrown from a request's callback, it would otherwise escape into the
   * connection's read loop.
   */
  let thrown: Cause.Cause<unknown> | undefined

  const finishIfDone = () => {
    if (!finished && inFlight === 0 && !refilling && (stopped || source.ended)) {
      finished = true
      if (thrown === undefined) resume({ started, succeeded, failures })
      else die(thrown)
    }
  }

  const callerThrew = (error: unknown) => {
    thrown ??= Cause.die(error)
    stopped = true
  }

  const report = (index: number, result: Either.Either<ResultSet<A>, RequestError>) => {
    if (onResult === undefined) return
    try {
      onResult(index, result)
    } catch (error) {
      callerThrew(error)
    }
  }

  /**
   * A request in flight: its index and statement, and its callback, made once per slot rather than once per
   * statement. At most `concurrency` slots exist; a finished request's slot takes the next statement.
   */
  interface Slot {
    index: number
    statement: Statement.Statement<A> | undefined
    readonly onExit: (exit: Exit.Exit<ResultSet<A>, RequestError>) => void
  }
  const freeSlots: Array<Slot> = []
  const newSlot = (): Slot => {
    const slot: Slot = { index: 0, statement: undefined, onExit: (exit) => completed(slot, exit) }
    return slot
  }

  const launch = (statement: Statement.Statement<A>) => {
    const slot = freeSlots.pop() ?? newSlot()
    slot.index = started++
    slot.statement = statement
    inFlight++
    // May complete at once (a statement that fails before it is sent): `completed` frees the slot.
    session.executeCallback(statement, slot.onExit)
  }

  const completed = (slot: Slot, exit: Exit.Exit<ResultSet<A>, RequestError>) => {
    const index = slot.index
    const statement = slot.statement!
    slot.statement = undefined
    freeSlots.push(slot)
    inFlight--
    if (Exit.isSuccess(exit)) {
      succeeded++
      report(index, Either.right(exit.value))
    } else {
      // A request fails with a RequestError; anything else is a defect of the driver, and ends the run.
      const error = Cause.failureOption(exit.cause)
      if (Option.isNone(error)) {
        stopped = finished = true
        return die(exit.cause)
      }
      failures.push({ index, statement, error: error.value })
      if (options.stopOnFailure === true) stopped = true
      report(index, Either.left(error.value))
    }
    pump()
  }

  let pumping = false
  const pump = (): void => {
    // A statement that fails before it is sent completes inside `launch`: the loop below goes on from there.
    if (pumping) return
    pumping = true
    while (!stopped && inFlight < concurrency) {
      let statement: Statement.Statement<A> | undefined
      try {
        statement = source.next()
      } catch (error) {
        callerThrew(error)
        break
      }
      if (statement === undefined) {
        if (source.ended || refilling || source.refill === undefined) break
        refilling = true
        source.refill(() => {
          refilling = false
          pump()
        })
        if (refilling) break // on its way: `ready` pumps again
        continue // it came at once
      }
      launch(statement)
    }
    pumping = false
    finishIfDone()
  }

  pump()
  return () => {
    stopped = true
  }
}

/**
 * Runs every statement with at most `concurrency` in flight; see the module doc. Never fails: failures are
 * reported. It dies with what the Iterable or `onResult` throws, once the requests in flight have finished.
 */
export const run = <A = Rows.Row>(
  statements: Iterable<Statement.Statement<A>>,
  options: Options<A>
): Effect.Effect<Summary<A>, never, Session> =>
  Effect.flatMap(Session, (session) =>
    Effect.async<Summary<A>>((resume) => {
      const stop = runSource(session, fromIterable(statements), options, (summary) => resume(Effect.succeed(summary)), (cause) =>
        resume(Effect.die(Cause.squash(cause)))
      )
      return Effect.sync(stop)
    })
  )

/** Like `run`, over a Stream of statements, pulled a chunk at a time as slots free; a failing Stream fails the run. */
export const runStream = <E, R, A = Rows.Row>(
  statements: Stream.Stream<Statement.Statement<A>, E, R>,
  options: Options<A>
): Effect.Effect<Summary<A>, E, Session | R> =>
  Effect.scoped(
    Effect.gen(function* () {
      const session = yield* Session
      const pull = yield* Stream.toPull(statements)
      const runtime = yield* Effect.runtime<R>()
      return yield* Effect.async<Summary<A>, E>((resume) => {
        let chunk: Array<Statement.Statement<A>> = []
        let at = 0
        let failure: Cause.Cause<E> | undefined
        const source: Source<A> = {
          ended: false,
          next: () => (at < chunk.length ? chunk[at++] : undefined),
          refill: (ready) =>
            Runtime.runCallback(runtime)(pull, {
              onExit: (exit) => {
                if (Exit.isSuccess(exit)) {
                  chunk = Array.from(exit.value)
                  at = 0
                } else {
                  // Option.none: the Stream ended; Some(e): it failed.
                  const error = Cause.flipCauseOption(exit.cause)
                  if (Option.isSome(error)) failure = error.value
                  source.ended = true
                }
                ready()
              }
            })
        }
        const stop = runSource(
          session,
          source,
          options,
          (summary) => resume(failure === undefined ? Effect.succeed(summary) : Effect.failCause(failure)),
          (cause) => resume(Effect.die(Cause.squash(cause)))
        )
        return Effect.sync(stop)
      })
    })
  )

/** Every statement's result, in input order: the ResultSet or the error. */
export const executeAll = <A = Rows.Row>(
  statements: Iterable<Statement.Statement<A>>,
  options: Omit<Options<A>, "onResult" | "stopOnFailure">
): Effect.Effect<ReadonlyArray<Either.Either<ResultSet<A>, RequestError>>, never, Session> =>
  Effect.suspend(() => {
    const results: Array<Either.Either<ResultSet<A>, RequestError>> = []
    return Effect.as(
      run(statements, { concurrency: options.concurrency, onResult: (index, result) => void (results[index] = result) }),
      results
    )
  })
