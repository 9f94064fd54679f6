/**
 * An @effect/sql `SqlClient` over an effect-cql Session, so that code written against @effect/sql (SqlSchema,
 * SqlResolver, Model repositories, `sql` templates) runs on Cassandra.
 *
 * Statements compile to CQL (CqlCompiler.ts) and run through the Session: with values they are prepared once and
 * executed, `.unprepared` sends them as plain queries, `.stream` pages through the result, and a plain run reads
 * every page. Rows keep the driver's values (`Uuid`, `CqlDate`, `bigint`, `Map`, ...), so row Schemas use
 * CqlSchema's (`CqlSchema.UuidAsString` and the like). Failures are `SqlError`s, as @effect/sql's types require,
 * whose `cause` is the driver's tagged error (`Invalid`, `Unavailable`, ...) or `CqlUnsupported`.
 *
 * There is one "connection": the Session, which routes each statement to a replica itself, so `reserve` gives
 * that. `withTransaction` fails with `CqlUnsupported` before running anything: CQL has no transactions (a logged
 * batch is atomic but not isolated, and a lightweight transaction covers one partition).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as SqlStatement from "@effect/sql/Statement"
import { Session, type Statement } from "@effect-cql/driver"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as CqlCompiler from "./CqlCompiler.js"
import { CqlUnsupported } from "./CqlUnsupported.js"

export const TypeId: unique symbol = Symbol.for("@effect-cql/sql/CqlClient")
export type TypeId = typeof TypeId

/** A SqlClient for CQL, with the Session it runs on. */
export interface CqlClient extends SqlClient.SqlClient {
  readonly [TypeId]: TypeId
  readonly session: Session.Session
}

export const CqlClient = Context.GenericTag<CqlClient>("@effect-cql/sql/CqlClient")

export interface CqlClientConfig extends CqlCompiler.Options {
  /** Applied to the column names of result rows, e.g. snake_case to camelCase. */
  readonly transformResultNames?: ((name: string) => string) | undefined
  /** Options for every statement the client runs (consistency, idempotence, page size, profile, ...). */
  readonly queryOptions?: Statement.QueryOptions | undefined
  /** Extra attributes of the `sql.execute` spans. */
  readonly spanAttributes?: Readonly<Record<string, unknown>> | undefined
}

type TransformRows = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

const toSqlError = (cause: Session.RequestError | CqlUnsupported): SqlError => new SqlError({ cause, message: cause.message })

const transactionsRefused = (): CqlUnsupported =>
  new CqlUnsupported({
    feature: "transactions (withTransaction)",
    reason: "a logged batch (session.batch) applies several writes atomically, without isolation; a lightweight transaction (IF ...) makes one partition's write conditional"
  })

/** The Session as @effect/sql's Connection: each statement's text and values go through `session.execute`. */
const connectionOver = (session: Session.Session, queryOptions: Statement.QueryOptions | undefined): SqlConnection.Connection => {
  const unprepared: Statement.QueryOptions = { ...queryOptions, prepare: false }

  /** Runs `run` unless the compiler refused the statement (its values array says so), when nothing is sent. */
  const unlessRefused = <A>(params: ReadonlyArray<unknown>, run: () => Effect.Effect<A, Session.RequestError>): Effect.Effect<A, SqlError> => {
    const refusal = CqlCompiler.refusalOf(params)
    return refusal !== undefined ? Effect.fail(toSqlError(refusal)) : Effect.mapError(run(), toSqlError)
  }

  /** One compiled statement's result with the rows of every page. */
  const allPages = (sql: string, params: ReadonlyArray<unknown>, options: Statement.QueryOptions | undefined) =>
    unlessRefused(params, () =>
      Effect.flatMap(session.execute(sql, params, options), (first) =>
        first.pagingState === undefined
          ? Effect.succeed(first)
          : Effect.map(Stream.runCollect(session.stream(sql, params, { ...options, pagingState: first.pagingState })), (rest) => ({
              ...first,
              rows: first.rows.concat(Chunk.toReadonlyArray(rest))
            }))
      )
    )
  const rowsOf = (sql: string, params: ReadonlyArray<unknown>, options: Statement.QueryOptions | undefined, transformRows: TransformRows) =>
    Effect.map(allPages(sql, params, options), (rs) => (transformRows === undefined ? rs.rows : transformRows(rs.rows)))

  return {
    execute: (sql, params, transformRows) => rowsOf(sql, params, queryOptions, transformRows),
    executeUnprepared: (sql, params, transformRows) => rowsOf(sql, params, unprepared, transformRows),
    // The driver's own result: the first page with its column metadata, paging state and warnings.
    executeRaw: (sql, params) => unlessRefused(params, () => session.execute(sql, params, queryOptions)),
    executeValues: (sql, params) =>
      Effect.map(allPages(sql, params, queryOptions), ({ columns, rows }) => rows.map((row) => columns.map((c) => row[c.name]))),
    // Page by page as the stream is pulled; each page is one chunk.
    executeStream: (sql, params, transformRows) => {
      const refusal = CqlCompiler.refusalOf(params)
      if (refusal !== undefined) return Stream.fail(toSqlError(refusal))
      const rows = Stream.mapError(session.stream(sql, params, queryOptions), toSqlError)
      return transformRows === undefined ? rows : Stream.mapChunks(rows, (page) => Chunk.unsafeFromArray(transformRows(Chunk.toReadonlyArray(page))))
    }
  }
}

/** A CqlClient over the Session in context. */
export const make = (config: CqlClientConfig = {}): Effect.Effect<CqlClient, never, Session.Session | Reactivity.Reactivity> =>
  Effect.gen(function* () {
    const session = yield* Session.Session
    const compiler = CqlCompiler.make(config)
    const transformRows: TransformRows =
      config.transformResultNames === undefined ? undefined : SqlStatement.defaultTransforms(config.transformResultNames).array
    const connection = connectionOver(session, config.queryOptions)
    const keyspace = session.keyspace()
    const client = yield* SqlClient.make({
      acquirer: Effect.succeed(connection),
      compiler,
      transformRows,
      spanAttributes: [
        ["db.system.name", "cassandra"],
        ...(keyspace === undefined ? [] : [["db.namespace", keyspace] as const]),
        ...Object.entries(config.spanAttributes ?? {})
      ]
    })
    return Object.assign(client, {
      [TypeId]: TypeId,
      session,
      withTransaction: <R, E, A>(_: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> => Effect.failSync(() => toSqlError(transactionsRefused()))
    }) as CqlClient
  })

/** The CqlClient, also as the SqlClient, over the Session in context. */
export const layer = (config: CqlClientConfig = {}): Layer.Layer<CqlClient | SqlClient.SqlClient, never, Session.Session> =>
  Layer.effectContext(
    Effect.map(make(config), (client) => Context.make(CqlClient, client).pipe(Context.add(SqlClient.SqlClient, client)))
  ).pipe(Layer.provide(Reactivity.layer))
