/**
 * The one mapping from what a connection reports (`ConnectionFailure`, an ERROR body) to the tagged errors callers
 * match (`CqlError`). The request path, the prepare path and the Cluster's start-up all go through it, so a
 * failure reads the same wherever it happened.
 */
import * as CqlError from "../../CqlError.js"
import type { ConnectionFailure } from "../connection/connection.js"

const authenticationError = (host: string, f: Extract<ConnectionFailure, { _tag: "Auth" }>) =>
  new CqlError.AuthenticationError(f.mechanism === undefined ? { host, message: f.message } : { host, message: f.message, mechanism: f.mechanism })

/** What a failed attempt on `host` (host:port) ends with. */
export const fromConnectionFailure = (f: ConnectionFailure, host: string): CqlError.RequestError | CqlError.AuthenticationError => {
  switch (f._tag) {
    case "Timeout":
      return new CqlError.RequestTimeout({ host, timeoutMs: f.timeoutMs })
    case "Busy":
      return new CqlError.BusyConnection({ host, inFlight: f.inFlight })
    case "Decode":
    case "Encode":
      return f.error
    case "Auth":
      return authenticationError(host, f)
    case "Server":
      return CqlError.fromWire(f.error, host)
    case "Closed":
    case "Protocol":
      return new CqlError.ConnectionError({ host, message: f.message, cause: "cause" in f ? f.cause : undefined })
  }
}

/** Why `host` could not take an attempt (no open connection, or every one busy): the plan moves on unsent. */
export const notSent = (host: string, pick: undefined | "busy"): CqlError.NoConnection | CqlError.BusyConnection =>
  pick === undefined ? new CqlError.NoConnection({ host }) : new CqlError.BusyConnection({ host, inFlight: -1 })

const isFailure = (u: unknown): u is ConnectionFailure => typeof u === "object" && u !== null && "_tag" in u && !(u instanceof Error)

/**
 * The control connection could not start: when some host refused the credentials, that is the caller's to fix and
 * says more than NoHostAvailable; else NoHostAvailable with each contact point's cause.
 */
export const fromStartFailure = (e: CqlError.NoHostAvailable): CqlError.NoHostAvailable | CqlError.AuthenticationError => {
  for (const [host, cause] of e.errors) {
    const inner = typeof cause === "object" && cause !== null && "cause" in cause ? (cause as { readonly cause: unknown }).cause : cause
    if (inner instanceof CqlError.AuthenticationError) return inner
    if (isFailure(inner) && inner._tag === "Auth") return authenticationError(host, inner)
  }
  return e
}
