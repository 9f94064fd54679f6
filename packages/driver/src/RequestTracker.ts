/**
 * Request trackers: callbacks on every request a Session runs (the Java driver's RequestTracker, the Node.js
 * driver's RequestLogger). `onSuccess` and `onError` see each whole request once, with its latency from the first
 * attempt to the outcome; `onNodeError` sees each failed attempt, retried or not.
 *
 * The callbacks are plain functions called on the request path, so they should be quick. `onSuccess` and `onError`
 * may return an Effect: it runs in the fiber that made the request, before the fiber gets the outcome, so it sees
 * that fiber's Logger, annotations and spans (that is how `slowQueryLogger` logs). A tracker never changes a
 * request's outcome: what a callback throws, and how its Effect fails, is logged as an error and dropped. Promise
 * callers (`executePromise`, `executeCallback`) run that Effect on the Session's runtime.
 *
 *   Session.layer({ contactPoints: ["127.0.0.1"], requestTracker: RequestTracker.slowQueryLogger({ threshold: "200 millis" }) })
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as CqlError from "./CqlError.js"

/** One whole request, as a tracker sees it. */
export interface RequestInfo {
  /** "execute" (QUERY or EXECUTE), "batch" or "prepare". */
  readonly operation: "execute" | "batch" | "prepare"
  /** The statement's text (a batch's: its statements' texts joined by "; "). Never its values: they may be secrets. */
  readonly query: string
  /** The keyspace the text names (`ks.table`), else the Session's. */
  readonly keyspace: string | undefined
  /** host:port of the coordinator of the last attempt; undefined when no host could take the request. */
  readonly host: string | undefined
  /** From the request's start to its outcome, in milliseconds (retries and speculative executions included). */
  readonly latencyMs: number
  /** Attempts sent, over every execution (retries and speculative executions included). */
  readonly attempts: number
}

/** One failed attempt. */
export interface AttemptInfo {
  readonly operation: RequestInfo["operation"]
  readonly query: string
  readonly keyspace: string | undefined
  /** host:port the attempt went to (or could not go to: NoConnection, BusyConnection). */
  readonly host: string
  /** From the attempt's start to its failure, in milliseconds (0 when it was never sent). */
  readonly latencyMs: number
  /** 1 for the first attempt of the request, counting every attempt of every execution. */
  readonly attempt: number
  /** 0 for the request's own execution, n for its n-th speculative execution. */
  readonly execution: number
}

export interface RequestTracker {
  readonly onSuccess?: (info: RequestInfo) => void | Effect.Effect<void>
  readonly onError?: (info: RequestInfo, error: CqlError.RequestError) => void | Effect.Effect<void>
  readonly onNodeError?: (info: AttemptInfo, error: CqlError.RequestError) => void
}

/** Every tracker, in order. */
export const combine = (...trackers: ReadonlyArray<RequestTracker>): RequestTracker => {
  const effects = (results: ReadonlyArray<void | Effect.Effect<void>>): void | Effect.Effect<void> => {
    const all = results.filter((r): r is Effect.Effect<void> => Effect.isEffect(r))
    return all.length === 0 ? undefined : Effect.all(all, { discard: true })
  }
  return {
    onSuccess: (info) => effects(trackers.map((t) => t.onSuccess?.(info))),
    onError: (info, error) => effects(trackers.map((t) => t.onError?.(info, error))),
    onNodeError: (info, error) => trackers.forEach((t) => t.onNodeError?.(info, error))
  }
}

export interface SlowQueryOptions {
  /** Requests that take at least this long are logged. */
  readonly threshold: Duration.DurationInput
  /** Longer texts are cut to this many characters in the message. Default 500. */
  readonly maxQueryLength?: number
  /** Also log failed requests that took that long. Default true. */
  readonly includeErrors?: boolean
}

/**
 * Logs each request slower than `threshold` as a warning through the requesting fiber's Logger, with the query
 * (cut to `maxQueryLength`), the latency, the coordinator and the attempts as log annotations. Off unless given.
 */
export const slowQueryLogger = (options: SlowQueryOptions): RequestTracker => {
  const thresholdMs = Duration.toMillis(Duration.decode(options.threshold))
  const maxLength = options.maxQueryLength ?? 500
  const log = (info: RequestInfo, error: CqlError.RequestError | undefined): Effect.Effect<void> => {
    const query = info.query.length > maxLength ? `${info.query.slice(0, maxLength)}...` : info.query
    const outcome = error === undefined ? "" : ` and failed with ${error._tag}`
    return Effect.logWarning(`slow CQL request: ${info.latencyMs.toFixed(1)} ms${outcome} (threshold ${thresholdMs} ms): ${query}`).pipe(
      Effect.annotateLogs({
        "db.operation": info.operation,
        "db.query.text": query,
        ...(info.keyspace === undefined ? {} : { "db.namespace": info.keyspace }),
        ...(info.host === undefined ? {} : { "server.address": info.host }),
        latencyMs: Math.round(info.latencyMs * 10) / 10,
        attempts: info.attempts
      })
    )
  }
  return {
    onSuccess: (info) => (info.latencyMs >= thresholdMs ? log(info, undefined) : undefined),
    onError: (info, error) => (options.includeErrors !== false && info.latencyMs >= thresholdMs ? log(info, error) : undefined)
  }
}
