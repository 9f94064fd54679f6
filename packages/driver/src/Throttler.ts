/**
 * Request throttling for a Session (`SessionOptions.throttler`): at most `maxConcurrent` requests in flight, a
 * FIFO queue behind them (bounded by `maxQueueSize` and `maxQueueWait` when given), and optionally at most
 * `maxPerSecond` requests started per second (a token bucket of one second's worth). A request that cannot wait
 * fails with `CqlError.Throttled`, having sent nothing; interrupting a queued request removes it from the queue.
 * Every Session has one: `defaults` unless it names its own, or `"none"`.
 *
 * Why: Effect makes unbounded concurrency easy (`Effect.forEach` with `concurrency: "unbounded"`), and without a
 * bound a burst ends in BusyConnection once every connection has used its stream ids. The throttler queues the
 * burst in the client instead, where it can wait and be cancelled. Its cost on the request path is a counter check;
 * only a request that has to wait allocates an entry (and a timer, with `maxQueueWait`). The fibers of such a burst
 * exist whatever the driver does; the queue adds one small entry per waiting request.
 */
import type * as Duration from "effect/Duration"

export interface Options {
  /** Requests of the Session in flight at once. */
  readonly maxConcurrent: number
  /** Requests waiting behind them; past it, `Throttled` ("queue full"). Default: no bound. */
  readonly maxQueueSize?: number
  /** How long a request may wait; past it, `Throttled` ("wait exceeded"). Default: as long as it takes. */
  readonly maxQueueWait?: Duration.DurationInput
  /** Requests started per second, at most (a bucket of one second's worth of starts). Default: no rate limit. */
  readonly maxPerSecond?: number
}

/**
 * The throttler of a Session that names none: 1,024 requests in flight (half the stream ids of one connection, so
 * one Session cannot make a one-node cluster's connection busy), any number waiting.
 */
export const defaults: Options = { maxConcurrent: 1024 }
