/**
 * Debounces a burst of items into one batch: after the first item, the batch waits until a whole `window` passes
 * with nothing new, or until `maxWait` after the first item, whichever comes first, then runs once. Items that
 * arrive while a batch runs start the next batch. The loop is one fiber on the caller's scope; its sleeps follow
 * the Clock (TestClock in tests).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

export interface Debouncer<A> {
  /** Adds an item; plain TypeScript, safe to call from socket callbacks. */
  readonly offer: (item: A) => void
}

export interface DebounceOptions<A> {
  readonly window: Duration.DurationInput
  readonly maxWait: Duration.DurationInput
  /** Runs one batch (failures are the caller's to handle: the loop goes on whatever happens). */
  readonly run: (batch: ReadonlyArray<A>) => Effect.Effect<void>
}

export const make = <A>(options: DebounceOptions<A>): Effect.Effect<Debouncer<A>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const windowMs = Duration.toMillis(options.window)
    const maxWaitMs = Math.max(windowMs, Duration.toMillis(options.maxWait))
    const queue = yield* Effect.acquireRelease(Queue.unbounded<A>(), Queue.shutdown)
    const batchOnce = Effect.gen(function* () {
      const batch = [yield* Queue.take(queue)]
      let waited = 0
      while (waited < maxWaitMs) {
        const pause = Math.min(windowMs, maxWaitMs - waited)
        yield* Effect.sleep(pause)
        waited += pause
        const more = yield* Queue.takeAll(queue)
        if (more.length === 0) break
        for (const item of more) batch.push(item)
      }
      yield* options.run(batch)
    })
    yield* Effect.forkScoped(Effect.forever(batchOnce))
    return { offer: (item) => void queue.unsafeOffer(item) }
  })
