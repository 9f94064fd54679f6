/**
 * Executor: a bounded pool of fibers for management work (re-preparing, refreshes, reconnection), owned by the
 * cluster's scope. `submit` never blocks the caller; at most `size` tasks run at once, the rest wait for a
 * permit. Closing the scope interrupts every task still running or waiting.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"

export interface Executor {
  /** Runs `task` in the background on the pool; failures are logged, not propagated. */
  readonly submit: <E>(name: string, task: Effect.Effect<void, E>) => Effect.Effect<void>
  /** Waits until every submitted task has ended (for tests and orderly shutdown). */
  readonly awaitIdle: Effect.Effect<void>
}

export const Executor = Context.GenericTag<Executor>("@effect-cql/driver/Executor")

export const make = (size: number) =>
  Effect.gen(function* () {
    const permits = yield* Effect.makeSemaphore(size)
    const fibers = yield* FiberSet.make<void, never>()
    const executor: Executor = {
      submit: (name, task) =>
        FiberSet.run(
          fibers,
          // Interruptible whatever the caller's region (a finalizer, an acquire), so that closing the set ends it.
          Effect.interruptible(permits.withPermits(1)(task)).pipe(
            Effect.catchAllCause((cause) => Effect.logWarning(`effect-cql task "${name}" failed`, cause)),
            Effect.withSpan(`cql.task ${name}`, { captureStackTrace: false })
          )
        ).pipe(Effect.asVoid),
      awaitIdle: FiberSet.awaitEmpty(fibers)
    }
    return executor
  })

export const layer = (size = 4): Layer.Layer<Executor> => Layer.scoped(Executor, make(size))
