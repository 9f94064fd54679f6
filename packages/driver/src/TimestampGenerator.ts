/**
 * Write timestamps. By default the client gives each request one: microseconds since the epoch, strictly increasing
 * across every Session of a cluster, so that two writes from this process are never given the same timestamp (and
 * so never tie) even when several land in the same microsecond or the wall clock steps back. `server` gives none,
 * and each coordinator uses its own clock (cheaper, but two writes of one client may then apply out of order).
 *
 * The Cluster uses the TimestampGenerator its layer is given, else the one its config's `timestamps` names:
 *
 *   Cluster.layer(config).pipe(Layer.provide(Layer.succeed(TimestampGenerator.TimestampGenerator, mine)))
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

export interface TimestampGenerator {
  /**
   * The next timestamp, in microseconds, or undefined to leave it to the server. Plain and synchronous: it is
   * called on the request path. A statement's own `timestamp` goes before it.
   */
  readonly next: () => bigint | undefined
}

export const TimestampGenerator = Context.GenericTag<TimestampGenerator>("@effect-cql/driver/TimestampGenerator")

/** Monotonic: the wall clock in microseconds, or the last value + 1 when the clock has not moved past it. */
export const makeMonotonic = (now: () => number = Date.now): TimestampGenerator => {
  // The last timestamp given, in microseconds: a double is exact below 2^53 (the year 2255), and held in a typed
  // array it is updated in place. Compared as numbers, it makes one BigInt per request, for the wire.
  const last = new Float64Array(1)
  // performance.now() adds sub-millisecond resolution between two Date.now() ticks.
  const origin = now() * 1000 - Math.floor(performance.now() * 1000)
  return {
    next: () => {
      const micros = origin + Math.floor(performance.now() * 1000)
      last[0] = micros > last[0]! ? micros : last[0]! + 1
      return BigInt(last[0]!)
    }
  }
}

/** No client timestamps: the coordinator assigns each write its own. */
export const server: TimestampGenerator = { next: () => undefined }

export const layerMonotonic: Layer.Layer<TimestampGenerator> = Layer.sync(TimestampGenerator, () => makeMonotonic())

/** The generator provided to the layer being built, else the one `mode` names (the Cluster's choice). */
export const layerProvidedOr = (mode: "client" | "server" | undefined): Layer.Layer<TimestampGenerator> =>
  Layer.effect(
    TimestampGenerator,
    Effect.map(Effect.serviceOption(TimestampGenerator), Option.getOrElse(() => (mode === "server" ? server : makeMonotonic())))
  )
