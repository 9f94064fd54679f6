/**
 * Statements and their options. A statement is plain data: the query text, its parameters, per-request options,
 * and optionally the Effect Schemas of its parameters and rows. With Schemas, rows come out as the caller's
 * domain type and a mismatch is a typed `SchemaMismatch`.
 */
import type { Consistency, Rows } from "@effect-cql/protocol"
import type * as Duration from "effect/Duration"
import type * as Schema from "effect/Schema"

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
