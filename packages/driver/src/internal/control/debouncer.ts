/**
 * Debounces a burst of items into one batch: a batch runs once `window` has passed since the last item, or
 * `maxWait` after its first item, whichever comes first. Items that arrive while a batch runs go into the next one.
 * The loop is one fiber on the caller's scope; its waits follow the Clock (TestClock in tests).
 *
 * Items go into a plain array; the loop is woken through a one-slot queue of signals. A signal lost to a timeout
 * loses nothing: whatever is in the array when the batch is cut goes into it.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
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
    const items: Array<A> = []
    const signal = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    const batchOnce = Effect.gen(function* () {
      yield* Queue.take(signal)
      const start = yield* Clock.currentTimeMillis
      let last = start
      for (;;) {
        const remaining = Math.min(last + windowMs, start + maxWaitMs) - (yield* Clock.currentTimeMillis)
        if (remaining <= 0) break
        const woken = yield* Effect.timeoutOption(Queue.take(signal), remaining)
        if (Option.isNone(woken)) break
        last = yield* Clock.currentTimeMillis
      }
      // Empty when the signal was left over from items an earlier batch already took.
      const batch = items.splice(0)
      if (batch.length > 0) yield* options.run(batch)
    })
    yield* Effect.forkScoped(Effect.forever(batchOnce))
    return {
      offer: (item) => {
        items.push(item)
        signal.unsafeOffer(undefined)
      }
    }
  })
