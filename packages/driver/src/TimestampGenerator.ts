/**
 * Client-side write timestamps: microseconds since the epoch, strictly increasing across every Session of a
 * cluster, so that two writes from this process are never given the same timestamp (and so never tie) even when
 * several land in the same microsecond or the wall clock steps back.
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

export interface TimestampGenerator {
  /** The next timestamp, in microseconds. Plain and synchronous: it is called on the request path. */
  readonly next: () => bigint
}

export const TimestampGenerator = Context.GenericTag<TimestampGenerator>("@effect-cql/driver/TimestampGenerator")

/** Monotonic: the wall clock in microseconds, or the last value + 1 when the clock has not moved past it. */
export const makeMonotonic = (now: () => number = Date.now): TimestampGenerator => {
  let last = 0n
  // performance.now() adds sub-millisecond resolution between two Date.now() ticks.
  const origin = now() * 1000 - Math.floor(performance.now() * 1000)
  return {
    next: () => {
      const micros = BigInt(origin + Math.floor(performance.now() * 1000))
      last = micros > last ? micros : last + 1n
      return last
    }
  }
}

export const layerMonotonic: Layer.Layer<TimestampGenerator> = Layer.sync(TimestampGenerator, () => makeMonotonic())
