/**
 * Building the messages of a request (QUERY, EXECUTE, BATCH, PREPARE) and the per-request send options from a
 * statement's options over the Session's defaults. Plain TypeScript on the request path: each message is built by
 * assignment, so optional fields are left out rather than set to undefined (exactOptionalPropertyTypes), and a
 * statement with no timeout, tracing or result columns shares one send-options object.
 *
 * The Session's keyspace travels in the message on protocol v5 (the keyspace flag of QUERY, BATCH and PREPARE), so
 * Sessions in different keyspaces share every connection. On v4 it is the connection's (`USE` when it opened).
 */
import type { Consistency, DataType, Request, Rows } from "@effect-cql/protocol"
import * as Duration from "effect/Duration"
import type * as Registry from "../../Registry.js"
import type * as Statement from "../../Statement.js"
import type { TimestampGenerator } from "../../TimestampGenerator.js"
import type { SendOptions } from "../connection/connection.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** QueryParameters with every field present (undefined where absent), for `Messages.queryParameters` to fill. */
type ParameterFields = { -readonly [K in keyof Request.QueryParameters]-?: Request.QueryParameters[K] | undefined }
const parameterFields = (): ParameterFields => ({
  consistency: undefined,
  skipMetadata: undefined,
  pageSize: undefined,
  timestamp: undefined,
  values: undefined,
  types: undefined,
  names: undefined,
  keyspace: undefined,
  pagingState: undefined,
  serialConsistency: undefined,
  nowInSeconds: undefined
})

export const isNamed = (p: Statement.Params): p is Readonly<Record<string, unknown>> => !Array.isArray(p)

/** Whether a statement's parameters are not empty (a statement with values is prepared by default). */
export const hasValues = (p: Statement.Params | undefined): boolean =>
  p !== undefined && (isNamed(p) ? Object.keys(p).length > 0 : p.length > 0)

/** Values by bind-marker name, in the prepared statement's order (absent names are unset). */
export const bindByName = (columns: ReadonlyArray<Rows.ColumnSpec>, params: Readonly<Record<string, unknown>>): Array<unknown> =>
  columns.map((c) => (Object.hasOwn(params, c.name) ? params[c.name] : undefined))

export interface MessageDefaults {
  readonly consistency: Consistency.Consistency
  readonly pageSize: number
  readonly requestTimeoutMs: number
  readonly timestamps: TimestampGenerator
  readonly protocolVersion: 4 | 5
}

/** The messages of one Session: its defaults, read once. */
export class Messages {
  private readonly plainSendOptions: SendOptions
  private readonly byColumns = new WeakMap<ReadonlyArray<Rows.ColumnSpec>, SendOptions>()
  constructor(readonly defaults: MessageDefaults) {
    this.plainSendOptions = { timeoutMs: defaults.requestTimeoutMs, tracing: false }
  }

  /** The keyspace a message names: the statement's own, else (v5) the Session's. */
  keyspaceOf(options: Statement.QueryOptions | undefined, sessionKeyspace: string | undefined): string | undefined {
    const own = options?.keyspace
    if (own !== undefined) return own
    return this.defaults.protocolVersion >= 5 ? sessionKeyspace : undefined
  }

  /**
   * A request's parameters, its options over the Session's defaults, written into `p`: every field is set, absent
   * ones to undefined, which the encoder leaves out (so a reused object keeps one shape).
   */
  private queryParameters(
    p: ParameterFields,
    options: Statement.QueryOptions | undefined,
    consistency: Consistency.Consistency | undefined,
    values: ReadonlyArray<unknown> | undefined,
    types: ReadonlyArray<DataType.DataType> | undefined,
    names: ReadonlyArray<string> | undefined,
    skipMetadata: boolean,
    keyspace: string | undefined
  ): Request.QueryParameters {
    p.consistency = consistency ?? options?.consistency ?? this.defaults.consistency
    p.skipMetadata = skipMetadata
    p.pageSize = options?.pageSize ?? this.defaults.pageSize
    p.timestamp = options?.timestamp ?? this.defaults.timestamps.next()
    p.values = values
    p.types = types
    p.names = names
    p.keyspace = keyspace
    p.pagingState = options?.pagingState
    p.serialConsistency = options?.serialConsistency
    p.nowInSeconds = options?.nowInSeconds
    return p as Request.QueryParameters
  }

  /** An unprepared statement, as QUERY (values by position or by name). */
  query(
    query: string,
    params: Statement.Params | undefined,
    options: Statement.QueryOptions | undefined,
    consistency: Consistency.Consistency | undefined,
    keyspace: string | undefined
  ): Request.Query {
    const named = params !== undefined && isNamed(params)
    const values = params === undefined ? undefined : named ? Object.values(params) : (params as ReadonlyArray<unknown>)
    const req: Mutable<Request.Query> = {
      _tag: "Query",
      query,
      params: this.queryParameters(parameterFields(), options, consistency, values, undefined, named ? Object.keys(params) : undefined, false, keyspace)
    }
    if (options?.customPayload !== undefined) req.customPayload = options.customPayload
    return req
  }

  /**
   * The EXECUTE being sent, one object for every request of the Session: a connection encodes a message before
   * `send` returns and keeps nothing of it (`Connection.send`), and EXECUTE is the message of nearly every request.
   * Every field is always present, so that its shape never changes.
   */
  private readonly executeParams = parameterFields()
  private readonly executeMessage = {
    _tag: "Execute" as const,
    id: new Uint8Array(0) as Uint8Array,
    resultMetadataId: undefined as Uint8Array | undefined,
    customPayload: undefined as Readonly<Record<string, Uint8Array | null>> | undefined,
    params: this.executeParams as Request.QueryParameters
  }

  /**
   * A prepared statement, as EXECUTE; rows come without metadata when the prepared result columns are known. The
   * message is valid until the next call (see `executeMessage`).
   */
  execute(
    prepared: Registry.PreparedStatement,
    values: ReadonlyArray<unknown>,
    options: Statement.QueryOptions | undefined,
    consistency: Consistency.Consistency | undefined
  ): Request.Execute {
    this.queryParameters(this.executeParams, options, consistency, values, prepared.bindTypes, undefined, prepared.resultColumns.length > 0, undefined)
    const req = this.executeMessage
    req.id = prepared.id
    req.resultMetadataId = prepared.resultMetadataId
    req.customPayload = options?.customPayload
    // Absent fields are undefined here, which the encoder treats as absent.
    return req as Request.Execute
  }

  batch(
    children: ReadonlyArray<Request.BatchStatement>,
    options: Statement.BatchOptions | undefined,
    consistency: Consistency.Consistency | undefined,
    keyspace: string | undefined
  ): Request.Batch {
    const req: Mutable<Request.Batch> = {
      _tag: "Batch",
      type: options?.type ?? "LOGGED",
      statements: children,
      consistency: consistency ?? options?.consistency ?? this.defaults.consistency
    }
    const timestamp = options?.timestamp ?? this.defaults.timestamps.next()
    if (timestamp !== undefined) req.timestamp = timestamp
    if (options?.serialConsistency !== undefined) req.serialConsistency = options.serialConsistency
    if (keyspace !== undefined) req.keyspace = keyspace
    if (options?.nowInSeconds !== undefined) req.nowInSeconds = options.nowInSeconds
    if (options?.customPayload !== undefined) req.customPayload = options.customPayload
    return req
  }

  prepare(query: string, keyspace: string | undefined): Request.Prepare {
    return keyspace === undefined || this.defaults.protocolVersion < 5 ? { _tag: "Prepare", query } : { _tag: "Prepare", query, keyspace }
  }

  /**
   * None made for a statement with no timeout or tracing of its own: the plain options, or those of its prepared
   * result columns (one object per prepared statement); else one per attempt.
   */
  sendOptions(options: Statement.QueryOptions | undefined, resultColumns?: ReadonlyArray<Rows.ColumnSpec>): SendOptions {
    const timeout = options?.timeout
    const tracing = options?.tracing === true
    if (timeout === undefined && !tracing) {
      if (resultColumns === undefined) return this.plainSendOptions
      let cached = this.byColumns.get(resultColumns)
      if (cached === undefined) this.byColumns.set(resultColumns, (cached = { timeoutMs: this.defaults.requestTimeoutMs, tracing: false, columns: resultColumns }))
      return cached
    }
    const timeoutMs = timeout === undefined ? this.defaults.requestTimeoutMs : Duration.toMillis(timeout)
    return resultColumns === undefined ? { timeoutMs, tracing } : { timeoutMs, tracing, columns: resultColumns }
  }
}
