/**
 * Statements and their options. A statement is plain data: the query text, its parameters, per-request options,
 * and optionally the Effect Schemas of its parameters and rows. With Schemas, rows come out as the caller's
 * domain type and a mismatch is a typed `SchemaMismatch`.
 */
import type { Consistency, Rows } from "@effect-cql/protocol"
import type * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { ArrayFormatter, type ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { SchemaMismatch } from "./CqlError.js"

export interface QueryOptions {
  readonly consistency?: Consistency.Consistency
  /** SERIAL or LOCAL_SERIAL, for lightweight transactions. */
  readonly serialConsistency?: Consistency.Consistency
  /** Rows per page; the server's default page when absent. */
  readonly pageSize?: number
  /** Resume from the page after this one (manual paging). */
  readonly pagingState?: Uint8Array
  /** Write timestamp in microseconds; the cluster's TimestampGenerator gives one when absent. */
  readonly timestamp?: bigint
  /** Safe to retry or run speculatively: applying it twice has the same effect as once. Default false. */
  readonly idempotent?: boolean
  /** Protocol v5: run in this keyspace instead of the session's. */
  readonly keyspace?: string
  /** Protocol v5: the server's notion of "now", in seconds (for TTL tests). */
  readonly nowInSeconds?: number
  /** Ask the server to trace the request; the result carries the tracing id. */
  readonly tracing?: boolean
  readonly customPayload?: Readonly<Record<string, Uint8Array | null>>
  /** Client-side timeout for one attempt; the session's `requestTimeout` when absent. */
  readonly timeout?: Duration.DurationInput
  /** Prepare the query once (cached in the RegistryService) and execute it; default true when there are params. */
  readonly prepare?: boolean
  /**
   * A named execution profile of the session (`SessionConfig.profiles`): its consistency, timeout, page size,
   * idempotence and policies apply where this statement sets none of its own.
   */
  readonly profile?: string
}

/** Positional values, or values by bind-marker name. */
export type Params = ReadonlyArray<unknown> | Readonly<Record<string, unknown>>

export interface Statement<A = Rows.Row> {
  readonly query: string
  readonly params?: Params | undefined
  readonly options?: QueryOptions | undefined
  /** Decodes each row (an object keyed by column name) into `A`. */
  readonly rowSchema?: Schema.Schema<A, any> | undefined
}

export const make = (query: string, params?: Params, options?: QueryOptions): Statement =>
  ({ query, params, options })

/**
 * A typed statement: `Params` encodes the caller's parameters to CQL values, `Row` decodes each row.
 *
 *   const byId = Statement.typed({ query: "SELECT * FROM users WHERE id = ?", Params: Schema.Tuple(Schema.String), Row: User })
 *   session.execute(byId(["42"]))
 */
export const typed =
  <P, PI extends Params, A, AI>(spec: {
    readonly query: string
    readonly Params: Schema.Schema<P, PI>
    readonly Row: Schema.Schema<A, AI>
    readonly options?: QueryOptions
  }) =>
  (params: P): TypedStatement<A, P, PI> => ({
    query: spec.query,
    rowSchema: spec.Row,
    paramsSchema: spec.Params,
    rawParams: params,
    options: spec.options
  })

/** A statement whose parameters are encoded by a Schema before they are bound. */
export interface TypedStatement<A, P, PI extends Params> extends Statement<A> {
  readonly paramsSchema: Schema.Schema<P, PI>
  readonly rawParams: P
}

export const isTyped = <A>(s: Statement<A>): s is TypedStatement<A, unknown, Params> => "paramsSchema" in s

export type BatchType = "LOGGED" | "UNLOGGED" | "COUNTER"

export interface BatchOptions extends Omit<QueryOptions, "pageSize" | "pagingState" | "prepare"> {
  /** Default LOGGED. */
  readonly type?: BatchType
}

// Schema codecs are built once per Schema: building them per request would dominate the row path.
const rowDecoders = new WeakMap<Schema.Schema<any, any>, (rows: unknown) => Either.Either<ReadonlyArray<any>, ParseError>>()
const paramEncoders = new WeakMap<Schema.Schema<any, any>, (params: unknown) => Either.Either<any, ParseError>>()

/** The parameters to bind: a typed statement's, encoded by its Schema; otherwise the statement's own. */
export const encodeParams = <A>(statement: Statement<A>): Either.Either<Params | undefined, SchemaMismatch> => {
  if (!isTyped(statement)) return Either.right(statement.params)
  let encode = paramEncoders.get(statement.paramsSchema)
  if (encode === undefined) {
    encode = Schema.encodeUnknownEither(statement.paramsSchema)
    paramEncoders.set(statement.paramsSchema, encode)
  }
  return Either.mapLeft(
    encode(statement.rawParams),
    (cause) => new SchemaMismatch({ message: `parameters of "${statement.query}" do not match their Schema`, cause, column: keyAt(cause, 0) })
  )
}

/** Rows as the statement's row Schema decodes them (unchanged without one). */
export const decodeRows = <A>(statement: Statement<A>, rows: ReadonlyArray<Rows.Row>): Either.Either<ReadonlyArray<A>, SchemaMismatch> => {
  const schema = statement.rowSchema
  if (schema === undefined) return Either.right(rows as ReadonlyArray<unknown> as ReadonlyArray<A>)
  let decode = rowDecoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownEither(Schema.Array(schema))
    rowDecoders.set(schema, decode)
  }
  return Either.mapLeft(
    decode(rows),
    (cause) => new SchemaMismatch({ message: `rows of "${statement.query}" do not match the row Schema`, cause, column: keyAt(cause, 1) })
  )
}

/**
 * The property name at `depth` in the path of the first issue (rows: `[row, column, ...]`; named parameters:
 * `[name, ...]`), or undefined when the path is not that deep or holds an index there.
 */
const keyAt = (cause: ParseError, depth: number): string | undefined => {
  const key = ArrayFormatter.formatErrorSync(cause)[0]?.path[depth]
  return typeof key === "string" ? key : undefined
}

/**
 * The keyspace a `USE` statement names (`USE name`, `USE "Name"`, optionally ended by `;`), else undefined. Quoted
 * names are case-sensitive; unquoted ones are folded to lower case, as CQL does. A Session handles `USE` itself.
 */
export const keyspaceOfUse = (query: string): string | undefined => {
  const m = /^\s*use\s+(?:"((?:[^"]|"")+)"|([A-Za-z][A-Za-z0-9_]*))\s*;?\s*$/i.exec(query)
  if (m === null) return undefined
  return m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!.toLowerCase()
}
