/**
 * Every way a request can fail, as tagged errors to match with `Effect.catchTag`: one per server error code
 * (carrying that code's fields, native_protocol_v5.spec section 8), plus the driver's own (connection lost, request
 * timeout, busy connection, no host available, authentication, session closed, row/parameter schema mismatch) and
 * the codec's `EncodeError` / `DecodeError`.
 *
 * A leaf module: every other module may import it, and it imports none of the driver's.
 */
import type { Consistency, ServerError as WireError } from "@effect-cql/protocol"
import { ProtocolError } from "@effect-cql/protocol"
import * as Data from "effect/Data"
import { type ParseError, TreeFormatter } from "effect/ParseResult"

export const { DecodeError, EncodeError } = ProtocolError
export type DecodeError = ProtocolError.DecodeError
export type EncodeError = ProtocolError.EncodeError

/** The coordinator that answered, on every server error. */
interface FromHost {
  readonly message: string
  readonly host: string
}

type Level = Consistency.Consistency

/** How many replicas answered of how many the consistency level needed. */
interface ReplicaCounts {
  readonly consistency: Level
  readonly received: number
  readonly blockFor: number
}

export class ServerError extends Data.TaggedError("ServerError")<FromHost> {}
export class ProtocolViolation extends Data.TaggedError("ProtocolViolation")<FromHost> {}
/** Refused credentials; `mechanism` names the AuthProvider's mechanism when the exchange was ours (e.g. "PLAIN"). */
export class AuthenticationError extends Data.TaggedError("AuthenticationError")<FromHost & { readonly mechanism?: string }> {}
export class Unavailable extends Data.TaggedError("Unavailable")<
  FromHost & { readonly consistency: Level; readonly required: number; readonly alive: number }
> {}
export class Overloaded extends Data.TaggedError("Overloaded")<FromHost> {}
export class IsBootstrapping extends Data.TaggedError("IsBootstrapping")<FromHost> {}
export class TruncateError extends Data.TaggedError("TruncateError")<FromHost> {}
export class WriteTimeout extends Data.TaggedError("WriteTimeout")<
  FromHost & ReplicaCounts & { readonly writeType: string; readonly contentions: number | undefined }
> {}
export class ReadTimeout extends Data.TaggedError("ReadTimeout")<FromHost & ReplicaCounts & { readonly dataPresent: boolean }> {}
/** The replicas that failed: a count in v4, a reason per replica in v5. */
interface ReplicaFailures {
  readonly numFailures: number
  readonly reasons: ReadonlyArray<WireError.FailureReason>
}

export class ReadFailure extends Data.TaggedError("ReadFailure")<
  FromHost & ReplicaCounts & ReplicaFailures & { readonly dataPresent: boolean }
> {}
export class FunctionFailure extends Data.TaggedError("FunctionFailure")<
  FromHost & { readonly keyspace: string; readonly function: string; readonly argTypes: ReadonlyArray<string> }
> {}
export class WriteFailure extends Data.TaggedError("WriteFailure")<
  FromHost & ReplicaCounts & ReplicaFailures & { readonly writeType: string }
> {}
export class CdcWriteFailure extends Data.TaggedError("CdcWriteFailure")<FromHost> {}
export class CasWriteUnknown extends Data.TaggedError("CasWriteUnknown")<FromHost & ReplicaCounts> {}
export class SyntaxError extends Data.TaggedError("SyntaxError")<FromHost> {}
export class Unauthorized extends Data.TaggedError("Unauthorized")<FromHost> {}
export class Invalid extends Data.TaggedError("Invalid")<FromHost> {}
/**
 * The server's Config_error (0x2300): the query is invalid because of some configuration issue. Not named
 * "ConfigError", which is the tag of Effect's own `ConfigError` (a layer read through `Config` can fail with both).
 */
export class InvalidConfiguration extends Data.TaggedError("InvalidConfiguration")<FromHost> {}
export class AlreadyExists extends Data.TaggedError("AlreadyExists")<
  FromHost & { readonly keyspace: string; readonly table: string }
> {}
/** Seen by callers only when re-preparing did not help; the Session normally re-prepares and retries unseen. */
export class Unprepared extends Data.TaggedError("Unprepared")<FromHost & { readonly id: Buffer }> {}
/** An error code this driver does not know. */
export class UnknownServerError extends Data.TaggedError("UnknownServerError")<FromHost & { readonly code: number }> {}

export type ResponseError =
  | ServerError
  | ProtocolViolation
  | AuthenticationError
  | Unavailable
  | Overloaded
  | IsBootstrapping
  | TruncateError
  | WriteTimeout
  | ReadTimeout
  | ReadFailure
  | FunctionFailure
  | WriteFailure
  | CdcWriteFailure
  | CasWriteUnknown
  | SyntaxError
  | Unauthorized
  | Invalid
  | InvalidConfiguration
  | AlreadyExists
  | Unprepared
  | UnknownServerError

/** Maps an ERROR body to its tagged error. */
export const fromWire = (e: WireError.ServerError, host: string): ResponseError => {
  const base = { message: e.message, host }
  switch (e.kind) {
    case "ServerError":
      return new ServerError(base)
    case "ProtocolError":
      return new ProtocolViolation(base)
    case "AuthenticationError":
      return new AuthenticationError(base)
    case "Overloaded":
      return new Overloaded(base)
    case "IsBootstrapping":
      return new IsBootstrapping(base)
    case "TruncateError":
      return new TruncateError(base)
    case "CdcWriteFailure":
      return new CdcWriteFailure(base)
    case "SyntaxError":
      return new SyntaxError(base)
    case "Unauthorized":
      return new Unauthorized(base)
    case "Invalid":
      return new Invalid(base)
    case "ConfigError":
      return new InvalidConfiguration(base)
    case "Unavailable":
      return new Unavailable({ ...base, consistency: e.consistency, required: e.required, alive: e.alive })
    case "WriteTimeout":
      return new WriteTimeout({
        ...base,
        consistency: e.consistency,
        received: e.received,
        blockFor: e.blockFor,
        writeType: e.writeType,
        contentions: e.contentions
      })
    case "ReadTimeout":
      return new ReadTimeout({ ...base, consistency: e.consistency, received: e.received, blockFor: e.blockFor, dataPresent: e.dataPresent })
    case "ReadFailure":
      return new ReadFailure({
        ...base,
        consistency: e.consistency,
        received: e.received,
        blockFor: e.blockFor,
        numFailures: e.numFailures,
        reasons: e.reasons,
        dataPresent: e.dataPresent
      })
    case "WriteFailure":
      return new WriteFailure({
        ...base,
        consistency: e.consistency,
        received: e.received,
        blockFor: e.blockFor,
        numFailures: e.numFailures,
        reasons: e.reasons,
        writeType: e.writeType
      })
    case "FunctionFailure":
      return new FunctionFailure({ ...base, keyspace: e.keyspace, function: e.function, argTypes: e.argTypes })
    case "CasWriteUnknown":
      return new CasWriteUnknown({ ...base, consistency: e.consistency, received: e.received, blockFor: e.blockFor })
    case "AlreadyExists":
      return new AlreadyExists({ ...base, keyspace: e.keyspace, table: e.table })
    case "Unprepared":
      return new Unprepared({ ...base, id: e.id })
    case "Unknown":
      return new UnknownServerError({ ...base, code: e.code })
  }
}

/** The socket to a host died, could not be opened, or the handshake failed; requests on it fail with this. */
export class ConnectionError extends Data.TaggedError("ConnectionError")<{
  readonly message: string
  readonly host: string
  readonly cause?: unknown
}> {}

/** No response within the request's timeout. The statement may or may not have been applied. */
export class RequestTimeout extends Data.TaggedError("RequestTimeout")<{
  readonly host: string
  readonly timeoutMs: number
}> {
  override get message() {
    return `no response from ${this.host} within ${this.timeoutMs} ms`
  }
}

/** The connection already has its maximum of requests in flight: back off instead of queueing without bound. */
export class BusyConnection extends Data.TaggedError("BusyConnection")<{
  readonly host: string
  readonly inFlight: number
}> {
  override get message() {
    return `${this.host} has ${this.inFlight} requests in flight, its limit`
  }
}

/** The host's pool has no open connection right now (it is reconnecting): the request was not sent there. */
export class NoConnection extends Data.TaggedError("NoConnection")<{
  readonly host: string
}> {
  override get message() {
    return `no open connection to ${this.host}`
  }
}

/** Every host in the query plan failed; `errors` holds the cause for each host tried. */
export class NoHostAvailable extends Data.TaggedError("NoHostAvailable")<{
  readonly errors: ReadonlyMap<string, unknown>
}> {
  override get message() {
    const parts = [...this.errors].map(([host, e]) => `${host}: ${e instanceof Error ? e.message : String(e)}`)
    return parts.length === 0 ? "no host to try" : `all hosts failed (${parts.join("; ")})`
  }
}

/** The Session's scope is closing or closed: it takes no new requests. */
export class SessionClosed extends Data.TaggedError("SessionClosed")<{ readonly message: string }> {}

/**
 * Rows or parameters that do not match the Schema a statement declares. The `message` is the caller's context
 * (which statement, rows or parameters), then the column, then ParseError's own tree of what failed and where.
 */
export class SchemaMismatch extends Data.TaggedError("SchemaMismatch")<{
  readonly message: string
  readonly cause: ParseError
  /** The column (or named parameter) whose value failed, when the failure is inside one. */
  readonly column: string | undefined
}> {
  constructor(args: { readonly message: string; readonly cause: ParseError; readonly column?: string | undefined }) {
    const where = args.column === undefined ? "" : ` (column ${JSON.stringify(args.column)})`
    super({ message: `${args.message}${where}:\n${TreeFormatter.formatErrorSync(args.cause)}`, cause: args.cause, column: args.column })
  }
}

/** A statement or fiber named an execution profile the session does not have. */
export class UnknownProfile extends Data.TaggedError("UnknownProfile")<{
  readonly name: string
  readonly known: ReadonlyArray<string>
}> {
  override get message() {
    return `no execution profile named "${this.name}" (known: ${this.known.join(", ")})`
  }
}

/** A Session's keyspace, or the keyspace of a `USE`, does not exist in the cluster's schema. */
export class UnknownKeyspace extends Data.TaggedError("UnknownKeyspace")<{
  readonly keyspace: string
}> {
  override get message() {
    return `keyspace "${this.keyspace}" does not exist`
  }
}

/** A table that the Metadata snapshot does not have (in a keyspace it has, or not). */
export class UnknownTable extends Data.TaggedError("UnknownTable")<{
  readonly keyspace: string
  readonly table: string
}> {
  override get message() {
    return `table "${this.keyspace}"."${this.table}" is not in the cluster's schema`
  }
}

/** `localDataCenter` names a data centre that no host of the cluster is in. */
export class UnknownDataCenter extends Data.TaggedError("UnknownDataCenter")<{
  readonly dataCenter: string
  /** The data centres the cluster's hosts are in. */
  readonly found: ReadonlyArray<string>
}> {
  override get message() {
    return `no host is in data centre "${this.dataCenter}" (found: ${this.found.join(", ")})`
  }
}

/**
 * The Session's throttler refused the request: its queue was full, or the request waited in it longer than
 * `maxQueueWait`. Nothing was sent.
 */
export class Throttled extends Data.TaggedError("Throttled")<{
  readonly reason: "queue full" | "wait exceeded"
  /** Requests in flight and waiting when it was refused. */
  readonly inFlight: number
  readonly queued: number
  /** How long it waited, in milliseconds (0 when the queue was full). */
  readonly waitedMs: number
}> {
  override get message() {
    return `throttled (${this.reason}): ${this.inFlight} in flight, ${this.queued} queued, waited ${Math.round(this.waitedMs)} ms`
  }
}

/** Every error a request can end with. */
export type RequestError =
  | ResponseError
  | ConnectionError
  | RequestTimeout
  | BusyConnection
  | NoConnection
  | NoHostAvailable
  | SessionClosed
  | SchemaMismatch
  | EncodeError
  | DecodeError
  | UnknownProfile
  | UnknownKeyspace
  | Throttled

/**
 * Why a Cluster could not start: no contact point answered (each one's cause inside), every host refused the
 * credentials, or `localDataCenter` is in no host's data centre.
 */
export type ConnectError = NoHostAvailable | AuthenticationError | ConnectionError | UnknownDataCenter
