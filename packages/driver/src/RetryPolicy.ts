/**
 * Retry policies: what to do when an attempt fails. A policy is a plain value with one hook per kind of failure;
 * build a custom one by spreading a policy and replacing hooks: `{ ...defaultRetryPolicy, onUnavailable: ... }`.
 *
 * Only failures that may go differently on a second try reach a policy (`decide` routes them). Errors that would
 * be the same on every host (syntax, invalid, unauthorized, already exists, function failure, protocol, schema
 * mismatch, codec errors, a closed session) are rethrown. `BusyConnection` never reaches it either: the request
 * was not sent, so the execution moves to the next host without counting a retry.
 */
import type { Consistency } from "@effect-cql/protocol"
import type * as CqlError from "./CqlError.js"

export type RetryDecision =
  | { readonly _tag: "RetrySameHost"; readonly consistency: Consistency.Consistency | undefined }
  | { readonly _tag: "RetryNextHost"; readonly consistency: Consistency.Consistency | undefined }
  | { readonly _tag: "Rethrow" }
  /** Succeed as if the statement returned nothing (the caller decides what "nothing" is). */
  | { readonly _tag: "Ignore" }

const sameHost: RetryDecision = { _tag: "RetrySameHost", consistency: undefined }
const nextHost: RetryDecision = { _tag: "RetryNextHost", consistency: undefined }

/** Try again on the host that failed, at `consistency` when given (else at the same level as before). */
export const retrySameHost = (consistency?: Consistency.Consistency): RetryDecision =>
  consistency === undefined ? sameHost : { _tag: "RetrySameHost", consistency }

/** Try the next host of the query plan, at `consistency` when given. */
export const retryNextHost = (consistency?: Consistency.Consistency): RetryDecision =>
  consistency === undefined ? nextHost : { _tag: "RetryNextHost", consistency }

export const rethrow: RetryDecision = { _tag: "Rethrow" }
export const ignore: RetryDecision = { _tag: "Ignore" }

export interface RetryContext {
  /** Retries this execution already made (0 at its first failure). */
  readonly retryCount: number
  /** The statement may be applied twice without harm. */
  readonly idempotent: boolean
}

/** Failures of the request rather than of the consistency level: the connection, the client timeout, the coordinator. */
export type RequestFailure =
  | CqlError.ConnectionError
  | CqlError.RequestTimeout
  | CqlError.Overloaded
  | CqlError.IsBootstrapping
  | CqlError.ServerError
  | CqlError.TruncateError
  | CqlError.ReadFailure
  | CqlError.WriteFailure
  | CqlError.CdcWriteFailure
  | CqlError.CasWriteUnknown
  | CqlError.UnknownServerError

export interface RetryPolicy {
  readonly onReadTimeout: (error: CqlError.ReadTimeout, context: RetryContext) => RetryDecision
  readonly onWriteTimeout: (error: CqlError.WriteTimeout, context: RetryContext) => RetryDecision
  readonly onUnavailable: (error: CqlError.Unavailable, context: RetryContext) => RetryDecision
  readonly onRequestError: (error: RequestFailure, context: RetryContext) => RetryDecision
}

/** The decision `policy` makes for `error`; errors no policy can help with are rethrown. */
export const decide = (policy: RetryPolicy, error: CqlError.RequestError, context: RetryContext): RetryDecision => {
  switch (error._tag) {
    case "ReadTimeout":
      return policy.onReadTimeout(error, context)
    case "WriteTimeout":
      return policy.onWriteTimeout(error, context)
    case "Unavailable":
      return policy.onUnavailable(error, context)
    case "ConnectionError":
    case "RequestTimeout":
    case "Overloaded":
    case "IsBootstrapping":
    case "ServerError":
    case "TruncateError":
    case "ReadFailure":
    case "WriteFailure":
    case "CdcWriteFailure":
    case "CasWriteUnknown":
    case "UnknownServerError":
      return policy.onRequestError(error, context)
    default:
      return rethrow
  }
}

/**
 * The usual semantics (those of the Java and Node.js drivers), plus one retry elsewhere for idempotent statements:
 * - read timeout: retry once on the same host when enough replicas answered but the one asked for data did not
 *   (`received >= blockFor && !dataPresent`): a second read will most likely find it; otherwise, for an idempotent
 *   statement, once on the next host (a replica that just died times out every coordinator until gossip marks it
 *   down; another coordinator may already know);
 * - write timeout: retry once on the same host for an idempotent statement whose timeout hit the batch log write
 *   (`BATCH_LOG`); any other idempotent write (not CAS: its outcome is its answer) once on the next host; a write
 *   that is not idempotent may have been applied, and is rethrown;
 * - unavailable: try the next host once (its view of the live replicas may differ; nothing was applied);
 * - the coordinator is bootstrapping: the next host, idempotent or not (native_protocol_v5.spec section 8: it
 *   answers so to a read it cannot serve yet, so nothing was applied);
 * - connection lost, client timeout, overloaded, server error, truncate error: the next host, when idempotent
 *   (the statement may already have been applied); a read or write failure and everything else rethrow.
 */
export const defaultRetryPolicy: RetryPolicy = {
  onReadTimeout: (e, c) => {
    if (c.retryCount > 0) return rethrow
    if (e.received >= e.blockFor && !e.dataPresent) return sameHost
    return c.idempotent ? nextHost : rethrow
  },
  onWriteTimeout: (e, c) => {
    if (c.retryCount > 0 || !c.idempotent || e.writeType === "CAS") return rethrow
    return e.writeType === "BATCH_LOG" ? sameHost : nextHost
  },
  onUnavailable: (_, c) => (c.retryCount === 0 ? nextHost : rethrow),
  onRequestError: (e, c) => {
    switch (e._tag) {
      case "IsBootstrapping":
        return nextHost
      case "ConnectionError":
      case "RequestTimeout":
      case "Overloaded":
      case "ServerError":
      case "TruncateError":
        return c.idempotent ? nextHost : rethrow
      default:
        return rethrow
    }
  }
}

/** Never retries: every failure goes to the caller. */
export const fallthroughRetryPolicy: RetryPolicy = {
  onReadTimeout: () => rethrow,
  onWriteTimeout: () => rethrow,
  onUnavailable: () => rethrow,
  onRequestError: () => rethrow
}
