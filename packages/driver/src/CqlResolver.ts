/**
 * Key lookups batched through Effect's request machinery (`Effect.request`, `RequestResolver`), in the manner of
 * @effect/sql's SqlResolver: lookups made together (`Effect.forEach(ids, lookup.execute, { batching: true })`, or
 * concurrent fibers with request batching on) reach the resolver as one batch, which deduplicates their keys and
 * runs one statement per key, or per partition, all at once from one fiber (BulkExecution).
 *
 * - `findById`: each key is a partition (a primary-key lookup): one statement per distinct key.
 * - `findByIdIn`: keys that share a partition are read by one `IN` statement (`WHERE p = ? AND c IN (...)`), which
 *   Cassandra serves from that partition alone; `partitionOf` groups the keys and `ResultId` matches rows back.
 *
 * `executeAll(ids)` runs the same batch for a list in hand without the request machinery, whose fiber and
 * Deferred per lookup cost far more CPU than the lookup's statement (bench/results/lookups.md).
 *
 * Keys are compared with `Equal` (primitives, `Uuid`, Schema classes and `Data` values by value). A lookup that
 * fails fails with the statement's error; one that finds nothing is `Option.none()`.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as MutableHashMap from "effect/MutableHashMap"
import * as Option from "effect/Option"
import * as Request from "effect/Request"
import * as RequestResolver from "effect/RequestResolver"
import * as Schema from "effect/Schema"
import * as BulkExecution from "./BulkExecution.js"
import * as CqlError from "./CqlError.js"
import { Session } from "./Session.js"
import type * as Statement from "./Statement.js"

/** One key's lookup, as Effect's request machinery carries it. */
export interface ById<I, A> extends Request.Request<Option.Option<A>, CqlError.RequestError> {
  readonly _tag: "CqlResolver/ById"
  readonly id: I
}

export interface Lookup<I, A> {
  /** The row of `id`, if any. Lookups made together are batched and deduplicated. */
  readonly execute: (id: I) => Effect.Effect<Option.Option<A>, CqlError.RequestError>
  /** The rows of `ids`, in their order, as one batch; fails with the first failed lookup's error. */
  readonly executeAll: (ids: Iterable<I>) => Effect.Effect<ReadonlyArray<Option.Option<A>>, CqlError.RequestError>
  readonly resolver: RequestResolver.RequestResolver<ById<I, A>>
}

export interface BatchOptions {
  /** Statements of one batch in flight at once. Default 256. */
  readonly concurrency?: number
}

type Outcome<A> = Exit.Exit<Option.Option<A>, CqlError.RequestError>
/** Each distinct key of a batch (by Equal) and, once resolved, its outcome. */
type Outcomes<I, A> = MutableHashMap.MutableHashMap<I, Outcome<A>>

/** The distinct keys that their Schema encodes; the others get their `SchemaMismatch` in `outcomes`. */
const encodeKeys = <I, II, A>(Id: Schema.Schema<I, II>, outcomes: Outcomes<I, A>): Array<readonly [I, II]> => {
  const encode = Schema.encodeEither(Id)
  const encoded: Array<readonly [I, II]> = []
  for (const [id] of outcomes) {
    const e = encode(id)
    if (Either.isRight(e)) encoded.push([id, e.right])
    else MutableHashMap.set(outcomes, id, Exit.fail(new CqlError.SchemaMismatch({ message: "a key does not match the Id Schema", cause: e.left })))
  }
  return encoded
}

/** Runs the statements together (one fiber); `settle` records each one's rows or error. */
const runStatements = <K, A>(
  session: Session,
  entries: ReadonlyArray<readonly [K, Statement.Statement<A>]>,
  concurrency: number,
  settle: (key: K, result: Either.Either<ReadonlyArray<A>, CqlError.RequestError>) => void
): Effect.Effect<void> =>
  BulkExecution.executeAll(entries.map(([, s]) => s), { concurrency }).pipe(
    Effect.provideService(Session, session),
    Effect.map((results) => results.forEach((r, i) => settle(entries[i]![0], Either.map(r, (rs) => rs.rows))))
  )

/** A Lookup over `resolve`, which fills in the outcome of every key of the map it is given. */
const make = <I, A>(resolve: (outcomes: Outcomes<I, A>) => Effect.Effect<void>): Lookup<I, A> => {
  const batchOf = (ids: Iterable<I>): Effect.Effect<Outcomes<I, A>> =>
    Effect.suspend(() => {
      const outcomes = MutableHashMap.empty<I, Outcome<A>>()
      // A placeholder until resolved; every key gets its outcome.
      for (const id of ids) MutableHashMap.set(outcomes, id, Exit.succeed(Option.none()))
      return Effect.as(resolve(outcomes), outcomes)
    })
  const outcomeOf = (outcomes: Outcomes<I, A>, id: I): Outcome<A> => Option.getOrElse(MutableHashMap.get(outcomes, id), () => Exit.succeed(Option.none()))

  const ById = Request.tagged<ById<I, A>>("CqlResolver/ById")
  const resolver = RequestResolver.makeBatched((requests: ReadonlyArray<ById<I, A>>) =>
    Effect.flatMap(batchOf(requests.map((r) => r.id)), (outcomes) =>
      Effect.forEach(requests, (r) => Request.complete(r, outcomeOf(outcomes, r.id)), { discard: true })
    )
  )
  const executeAll = (ids: Iterable<I>): Effect.Effect<ReadonlyArray<Option.Option<A>>, CqlError.RequestError> =>
    Effect.suspend(() => {
      const list = Array.from(ids)
      return Effect.flatMap(batchOf(list), (outcomes): Effect.Effect<ReadonlyArray<Option.Option<A>>, CqlError.RequestError> => {
        const rows = new Array<Option.Option<A>>(list.length)
        for (let i = 0; i < list.length; i++) {
          const outcome = outcomeOf(outcomes, list[i]!)
          if (Exit.isFailure(outcome)) return Effect.failCause(outcome.cause)
          rows[i] = outcome.value
        }
        return Effect.succeed(rows)
      })
    })
  return { execute: (id) => Effect.request(ById({ id }), resolver), executeAll, resolver }
}

/**
 * Lookups by primary key: one statement per distinct key of a batch, e.g.
 * `execute: (id) => cql\`SELECT * FROM app.users WHERE id = ${id}\``.
 */
export const findById = <I, II, A, AI>(
  options: {
    readonly Id: Schema.Schema<I, II>
    readonly Result: Schema.Schema<A, AI>
    readonly execute: (id: II) => Statement.Statement<unknown>
  } & BatchOptions
): Effect.Effect<Lookup<I, A>, never, Session> =>
  Effect.map(Session, (session) =>
    make<I, A>((outcomes) => {
      const entries = encodeKeys(options.Id, outcomes).map(([id, e]) => [id, { ...options.execute(e), rowSchema: options.Result }] as const)
      return runStatements(session, entries, options.concurrency ?? 256, (id, result) =>
        MutableHashMap.set(outcomes, id, Either.match(result, { onLeft: Exit.fail, onRight: (rows) => Exit.succeed(Option.fromNullable(rows[0])) }))
      )
    })
  )

/**
 * Lookups of keys that share partitions: the distinct keys of a batch grouped by `partitionOf`, one statement per
 * partition over all its keys (an `IN` on the clustering key), e.g.
 * `execute: (ids) => cql\`SELECT * FROM app.events WHERE org = ${ids[0].org} AND seq IN ${cql.in(ids.map((i) => i.seq))}\``;
 * `ResultId` gives a row's key, to match rows back to lookups.
 */
export const findByIdIn = <I, II, A, AI, P>(
  options: {
    readonly Id: Schema.Schema<I, II>
    readonly Result: Schema.Schema<A, AI>
    readonly ResultId: (row: A) => I
    readonly partitionOf: (id: I) => P
    readonly execute: (ids: readonly [II, ...Array<II>]) => Statement.Statement<unknown>
  } & BatchOptions
): Effect.Effect<Lookup<I, A>, never, Session> =>
  Effect.map(Session, (session) =>
    make<I, A>((outcomes) => {
      const partitions = MutableHashMap.empty<P, Array<readonly [I, II]>>()
      for (const entry of encodeKeys(options.Id, outcomes)) {
        const p = options.partitionOf(entry[0])
        const group = MutableHashMap.get(partitions, p)
        if (Option.isSome(group)) group.value.push(entry)
        else MutableHashMap.set(partitions, p, [entry])
      }
      const entries: Array<readonly [ReadonlyArray<I>, Statement.Statement<A>]> = []
      for (const [, group] of partitions) {
        const ids = group.map(([, e]) => e) as unknown as readonly [II, ...Array<II>] // a group is never empty
        entries.push([group.map(([id]) => id), { ...options.execute(ids), rowSchema: options.Result }])
      }
      return runStatements(session, entries, options.concurrency ?? 256, (ids, result) => {
        // Keys whose row did not come back keep their placeholder: none.
        if (Either.isLeft(result)) for (const id of ids) MutableHashMap.set(outcomes, id, Exit.fail(result.left))
        else for (const row of result.right) MutableHashMap.set(outcomes, options.ResultId(row), Exit.succeed(Option.some(row)))
      })
    })
  )
