/**
 * Query helpers over the Session in context, in the manner of @effect/sql's SqlSchema: each takes a `Request`
 * Schema (what the caller passes), a `Result` Schema (one row) and `execute`, which builds the statement from the
 * encoded request (typically with the `cql` template), and returns a function from request to result.
 *
 *   const userById = CqlQuery.findOne({
 *     Request: CqlSchema.UuidAsString,
 *     Result: User,
 *     execute: (id) => cql`SELECT id, name FROM app.users WHERE id = ${id}`
 *   })
 *   const user = yield* userById("6f1a7c2e-...") // Option<User>
 *
 * Rows are decoded by the Session as the statement's row Schema, so a row that does not fit is a
 * `SchemaMismatch` naming its column; a request that does not fit its Schema is a `SchemaMismatch` too. The
 * helpers read further pages while they need rows: `findAll` every page, `findOne` and `single` until a row
 * comes (a page may be empty and still have more after it).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as CqlError from "./CqlError.js"
import { Session } from "./Session.js"
import type * as Statement from "./Statement.js"

export interface Options<IA, II, IR, A, AI> {
  readonly Request: Schema.Schema<IA, II, IR>
  /** One row; its decoding runs synchronously in the Session, so it needs no services. */
  readonly Result: Schema.Schema<A, AI>
  readonly execute: (request: II) => Statement.Statement<unknown>
}

const encodeRequest = <IA, II, IR>(Request: Schema.Schema<IA, II, IR>, request: IA): Effect.Effect<II, CqlError.SchemaMismatch, IR> =>
  Effect.mapError(
    Schema.encode(Request)(request),
    (cause) => new CqlError.SchemaMismatch({ message: "the request does not match the Request Schema", cause })
  )

/** The request, encoded, as the statement with `Result` as its row Schema. */
const statementOf = <IA, II, IR, A, AI>(
  options: Options<IA, II, IR, A, AI>,
  request: IA
): Effect.Effect<Statement.Statement<A>, CqlError.SchemaMismatch, IR> =>
  Effect.map(encodeRequest(options.Request, request), (encoded): Statement.Statement<A> => ({ ...options.execute(encoded), rowSchema: options.Result }))

/** Rows of `statement` over as many pages as it takes to have `wanted` (all of them for Infinity). */
const rowsOf = <A>(session: Session, statement: Statement.Statement<A>, wanted: number): Effect.Effect<ReadonlyArray<A>, CqlError.RequestError> =>
  Effect.flatMap(session.execute(statement), (first) => {
    if (first.pagingState === undefined || first.rows.length >= wanted) return Effect.succeed(first.rows)
    const rows = Array.from(first.rows)
    const next = (pagingState: Uint8Array): Effect.Effect<ReadonlyArray<A>, CqlError.RequestError> =>
      Effect.flatMap(session.execute({ ...statement, options: { ...statement.options, pagingState } }), (page) => {
        for (const row of page.rows) rows.push(row)
        return page.pagingState === undefined || rows.length >= wanted ? Effect.succeed(rows) : next(page.pagingState)
      })
    return next(first.pagingState)
  })

const run = <IA, II, IR, A, AI, B, E>(
  options: Options<IA, II, IR, A, AI>,
  wanted: number,
  shape: (rows: ReadonlyArray<A>) => Effect.Effect<B, E>
) =>
(request: IA): Effect.Effect<B, E | CqlError.RequestError, Session | IR> =>
  Effect.flatMap(statementOf(options, request), (statement) =>
    Effect.flatMap(Session, (session) => Effect.flatMap(rowsOf(session, statement, wanted), shape))
  )

/** Every row, every page. */
export const findAll = <IA, II, IR, A, AI>(
  options: Options<IA, II, IR, A, AI>
): (request: IA) => Effect.Effect<ReadonlyArray<A>, CqlError.RequestError, Session | IR> => run(options, Infinity, Effect.succeed)

/** The first row, if there is one. */
export const findOne = <IA, II, IR, A, AI>(
  options: Options<IA, II, IR, A, AI>
): (request: IA) => Effect.Effect<Option.Option<A>, CqlError.RequestError, Session | IR> =>
  run(options, 1, (rows) => Effect.succeed(Option.fromNullable(rows[0])))

/** The first row; none is a `NoSuchElementException` (as `Effect.head` and SqlSchema.single have it). */
export const single = <IA, II, IR, A, AI>(
  options: Options<IA, II, IR, A, AI>
): (request: IA) => Effect.Effect<A, CqlError.RequestError | Cause.NoSuchElementException, Session | IR> =>
  run(options, 1, (rows) => (rows.length > 0 ? Effect.succeed(rows[0]!) : Effect.fail(new Cause.NoSuchElementException("the query returned no row"))))

/** Runs the statement for its effect (a write); rows, if any, are not read past the first page. */
const void_ = <IA, II, IR>(options: {
  readonly Request: Schema.Schema<IA, II, IR>
  readonly execute: (request: II) => Statement.Statement<unknown>
}): (request: IA) => Effect.Effect<void, CqlError.RequestError, Session | IR> =>
(request) =>
  encodeRequest(options.Request, request).pipe(
    Effect.flatMap((encoded) => Effect.flatMap(Session, (session) => session.execute(options.execute(encoded)))),
    Effect.asVoid
  )
export { void_ as void }
