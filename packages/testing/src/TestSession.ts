/**
 * A test Session: provides the driver's `Session` tag, and a test `Cluster` (`makeCluster`: in-memory registry,
 * metadata, events, metrics, timestamps, executor), without a server. It records every statement that reaches
 * it, answers by rules (rows, a typed error from `CqlError`, after an optional delay on the Effect clock, so
 * `TestClock` drives it), encodes typed statements' parameters and decodes their rows through their Schemas the
 * way the live Session does, handles `USE` as the live Session does, and pages `stream` over a rule's rows.
 *
 *   const layer = TestSession.layer({ rules: [{ query: "SELECT name FROM users WHERE id = ?", params: [1], rows: [{ name: "Ada" }] }] })
 *   it.layer(layer)((it) => it.effect("reads", () => Effect.gen(function* () {
 *     const session = yield* Session.Session
 *     const rs = yield* session.execute("SELECT name FROM users WHERE id = ?", [1])
 *     const calls = yield* (yield* TestSession.TestSession).recorded
 *   })))
 */
import { Codec } from "@effect-cql/protocol"
import type { Rows } from "@effect-cql/protocol"
import { Cluster, CqlError, Executor, Metadata, Metrics, QueryTrace, Session, Statement, TimestampGenerator } from "@effect-cql/driver"
import type { HostEvents, MetadataService, Registry } from "@effect-cql/driver"
import type { ResultSet } from "@effect-cql/driver"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import { inspect, isDeepStrictEqual } from "node:util"
import { describeMatcher, matchesQuery, RuleBook } from "./internal/match.js"
import type { QueryMatcher } from "./internal/match.js"
import { invalidPagingState, pageOf } from "./internal/paging.js"

export type { QueryMatcher } from "./internal/match.js"

/** Parameters as they reach the session: positional or by name, after a typed statement's Schema encoded them. */
export type Params = Statement.Params | undefined

/**
 * How to answer the statements that match. The newest matching rule answers; `times` uses a rule up after that
 * many answers (so a `times: 1` failure added after a success rule fails once, then the success rule answers).
 */
export interface Rule {
  readonly query: QueryMatcher
  /** Compared (deep equality) with the parameters after Schema encoding, or a predicate over them. Absent: any. */
  readonly params?: Statement.Params | ((params: Params) => boolean)
  /** The rows to answer with (paged by the statement's page size). Default: none. */
  readonly rows?: ReadonlyArray<Rows.Row>
  /** Column metadata of the result; inferred from the first row's values (`Codec.inferType`) when absent. */
  readonly columns?: ReadonlyArray<Rows.ColumnSpec>
  /** Fail with this error instead of answering with rows. */
  readonly error?: Session.RequestError
  /** Wait this long (on the Effect clock) before answering; longer than the request timeout gives `RequestTimeout`. */
  readonly delay?: Duration.DurationInput
  readonly warnings?: ReadonlyArray<string>
  /** The bind markers `prepare` reports. Default: none. */
  readonly bind?: ReadonlyArray<Rows.ColumnSpec>
  readonly times?: number
}

/** What reached the session, in order. A `stream` records one `Execute` per page it fetched. */
export type Call =
  | {
      readonly _tag: "Execute"
      readonly query: string
      readonly params: Params
      readonly options: Statement.QueryOptions | undefined
    }
  | { readonly _tag: "Prepare"; readonly query: string; readonly keyspace: string | undefined }
  | {
      readonly _tag: "Batch"
      readonly statements: ReadonlyArray<{ readonly query: string; readonly params: Params }>
      readonly options: Statement.BatchOptions | undefined
    }

export interface Options {
  readonly rules?: ReadonlyArray<Rule>
  /** Reported as `session.protocolVersion`. Default 5. */
  readonly protocolVersion?: 4 | 5
  /** The coordinator named in results and errors. Default "test-session". */
  readonly host?: string
  /** Rows per page when a statement does not say. Default 5000, as the live Session. */
  readonly defaultPageSize?: number
  /** Default 12 s, as the live Session. */
  readonly requestTimeout?: Duration.DurationInput
  /** The session's keyspace (`session.keyspace()`); `USE ks` changes it. Default none. */
  readonly keyspace?: string
  /**
   * What the test Cluster's `metadata` shows (build one with `Metadata.make`). Default empty. When it has keyspaces,
   * `USE` of another one fails with `UnknownKeyspace`, as on the live Session.
   */
  readonly metadata?: Metadata.Metadata
}

/** The controls of a test session, next to the `Session` it provides. */
export interface TestSession {
  /** Adds rules; they take precedence over the rules added before them. */
  readonly addRules: (...rules: ReadonlyArray<Rule>) => Effect.Effect<void>
  /** A copy of the calls so far. */
  readonly recorded: Effect.Effect<ReadonlyArray<Call>>
  /** The calls so far, as a live array (it grows as calls arrive; `reset` empties it). */
  readonly calls: ReadonlyArray<Call>
  /** Forgets every rule and call. */
  readonly reset: Effect.Effect<void>
}

export const TestSession = Context.GenericTag<TestSession>("@effect-cql/testing/TestSession")

const paramsMatch = (rule: Rule, params: Params): boolean => {
  const m = rule.params
  if (m === undefined) return true
  return typeof m === "function" ? m(params) : isDeepStrictEqual(m, params)
}

const show = (v: unknown): string => inspect(v, { depth: 4, breakLength: Infinity })

/** Column metadata from the first row's values, as a server would describe the rows it returns. */
const inferColumns = (rows: ReadonlyArray<Rows.Row>): ReadonlyArray<Rows.ColumnSpec> => {
  const first = rows[0]
  if (first === undefined) return []
  return Object.keys(first).map((name) => ({ keyspace: "", table: "", name, type: Codec.inferType(first[name]) }))
}

const md5 = (s: string): Buffer => createHash("md5").update(s).digest()

/** Builds a test Session and its controls. */
export const make = (options: Options = {}): Effect.Effect<{ readonly session: Session.Session; readonly controls: TestSession }> =>
  Effect.sync(() => {
    const host = options.host ?? "test-session"
    const protocolVersion = options.protocolVersion ?? 5
    const defaultPageSize = options.defaultPageSize ?? 5000
    const requestTimeoutMs = Duration.toMillis(options.requestTimeout ?? Duration.seconds(12))
    const book = new RuleBook<Rule>()
    for (const r of options.rules ?? []) book.add(r)
    const calls: Array<Call> = []

    const unmatched = (what: string): CqlError.Invalid => {
      const rules = book.rules.map((r) => describeMatcher(r.query))
      return new CqlError.Invalid({
        host,
        message: `TestSession: no rule matches ${what}; ${rules.length} rule(s): ${rules.length === 0 ? "none" : rules.join(", ")}`
      })
    }

    // The live Session's own steps: the same Schema encoding of parameters and decoding of rows.
    const encodeParams = <A>(statement: Statement.Statement<A>): Effect.Effect<Params, CqlError.SchemaMismatch> =>
      Statement.encodeParams(statement)

    const decodeRows = <A>(statement: Statement.Statement<A>, rs: ResultSet.ResultSet): Effect.Effect<ResultSet.ResultSet<A>, CqlError.SchemaMismatch> =>
      Effect.map(Statement.decodeRows(statement, rs.rows), (rows): ResultSet.ResultSet<A> => ({ ...rs, rows }))

    const resultSet = (rule: Rule, rows: ReadonlyArray<Rows.Row>, pagingState: Buffer | undefined): ResultSet.ResultSet => {
      const applied = rows[0]?.["[applied]"]
      return {
        rows,
        columns: rule.columns ?? inferColumns(rule.rows ?? []),
        pagingState,
        applied: typeof applied === "boolean" ? applied : undefined,
        warnings: rule.warnings ?? [],
        tracingId: undefined,
        customPayload: undefined,
        schemaInAgreement: undefined,
        coordinator: host
      }
    }

    /** The rule's delay (bounded by the request timeout), then its error or `answer`. */
    const respond = <A>(
      rule: Rule,
      timeout: Duration.DurationInput | undefined,
      answer: () => Effect.Effect<A, Session.RequestError>
    ): Effect.Effect<A, Session.RequestError> => {
      const then = rule.error === undefined ? Effect.suspend(answer) : Effect.fail(rule.error)
      if (rule.delay === undefined) return then
      const delayMs = Duration.toMillis(rule.delay)
      const timeoutMs = timeout === undefined ? requestTimeoutMs : Duration.toMillis(timeout)
      return delayMs > timeoutMs
        ? Effect.sleep(Duration.millis(timeoutMs)).pipe(Effect.zipRight(Effect.fail(new CqlError.RequestTimeout({ host, timeoutMs }))))
        : Effect.sleep(Duration.millis(delayMs)).pipe(Effect.zipRight(then))
    }

    let keyspace = options.keyspace
    const known = options.metadata?.keyspaces
    /** `USE ks`, as the live Session does it: the session's own keyspace, never a rule's answer. */
    const use = (name: string): Effect.Effect<ResultSet.ResultSet<any>, Session.RequestError> =>
      Effect.suspend(() => {
        if (known !== undefined && known.size > 0 && !known.has(name)) return Effect.fail(new CqlError.UnknownKeyspace({ keyspace: name }))
        keyspace = name
        return Effect.succeed(resultSet({ query: "" }, [], undefined))
      })

    const runStatement = <A>(
      statement: Statement.Statement<A>,
      extra?: Statement.QueryOptions
    ): Effect.Effect<ResultSet.ResultSet<A>, Session.RequestError> =>
      Effect.flatMap(encodeParams(statement), (params) => {
        const options = extra === undefined ? statement.options : { ...statement.options, ...extra }
        calls.push({ _tag: "Execute", query: statement.query, params, options })
        const target = Statement.keyspaceOfUse(statement.query)
        if (target !== undefined && params === undefined) return use(target)
        const rule = book.find((r) => matchesQuery(r.query, statement.query) && paramsMatch(r, params))
        if (rule === undefined) return Effect.fail(unmatched(`${JSON.stringify(statement.query)} with params ${show(params)}`))
        return respond(rule, options?.timeout, () => {
          const page = pageOf(rule.rows ?? [], options?.pageSize ?? defaultPageSize, options?.pagingState)
          return page === undefined
            ? Effect.fail(new CqlError.ProtocolViolation({ host, message: invalidPagingState }))
            : Effect.succeed(resultSet(rule, page.rows, page.pagingState))
        }).pipe(Effect.flatMap((rs) => decodeRows(statement, rs)))
      })

    const toStatement = <A>(q: string | Statement.Statement<A>, params?: Statement.Params, options?: Statement.QueryOptions) =>
      (typeof q === "string" ? { query: q, params, options } : q) as Statement.Statement<A>

    const execute = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, options?: Statement.QueryOptions) =>
      runStatement(toStatement(q, params, options))) as Session.Session["execute"]

    const stream = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, options?: Statement.QueryOptions) => {
      const statement = toStatement(q, params, options)
      return Stream.paginateChunkEffect(statement.options?.pagingState, (pagingState) =>
        runStatement(statement, pagingState === undefined ? undefined : { pagingState }).pipe(
          Effect.map((rs) => [Chunk.unsafeFromArray(rs.rows as Array<A>), Option.fromNullable<Uint8Array | undefined>(rs.pagingState)] as const)
        )
      )
    }) as Session.Session["stream"]

    const prepare = (query: string, prepareOptions?: { readonly keyspace?: string }) =>
      Effect.suspend((): Effect.Effect<Registry.PreparedStatement, Session.RequestError> => {
        calls.push({ _tag: "Prepare", query, keyspace: prepareOptions?.keyspace })
        // Errors in rules are for executions: PREPARE only needs a rule that knows the query.
        const rule = book.peek((r) => matchesQuery(r.query, query))
        if (rule === undefined) return Effect.fail(unmatched(`PREPARE ${JSON.stringify(query)}`))
        const bind = rule.bind ?? []
        const resultColumns = rule.columns ?? inferColumns(rule.rows ?? [])
        const id = md5(query)
        return Effect.succeed({
          query,
          keyspace: prepareOptions?.keyspace,
          id,
          resultMetadataId: protocolVersion === 5 ? md5(show(resultColumns)) : undefined,
          bindColumns: bind,
          bindTypes: bind.map((c) => c.type),
          pkIndexes: [],
          resultColumns
        })
      })

    const batch = (statements: ReadonlyArray<Statement.Statement<unknown> | string>, options?: Statement.BatchOptions) =>
      Effect.forEach(statements, (s) => {
        const st = typeof s === "string" ? { query: s } : s
        return Effect.map(encodeParams(st), (params) => ({ query: st.query, params }))
      }).pipe(
        Effect.flatMap((children) => {
          calls.push({ _tag: "Batch", statements: children, options })
          // A batch is answered by the newest rule that matches any of its statements.
          const rule = book.find((r) => children.some((c) => matchesQuery(r.query, c.query) && paramsMatch(r, c.params)))
          if (rule === undefined) return Effect.fail(unmatched(`BATCH of ${children.map((c) => JSON.stringify(c.query)).join(", ")}`))
          return respond(rule, options?.timeout, () => Effect.succeed(resultSet(rule, rule.rows ?? [], undefined)))
        })
      )

    // The same outcome as `execute`, as a Promise that rejects with the tagged error.
    const executePromise = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, options?: Statement.QueryOptions) =>
      Effect.runPromiseExit(runStatement(toStatement(q, params, options))).then((exit) =>
        Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause))
      )) as Session.Session["executePromise"]

    const executeCallback: Session.Session["executeCallback"] = (statement, onExit) =>
      void Effect.runCallback(runStatement(statement), { onExit })

    const session: Session.Session = {
      execute,
      executePromise,
      executeCallback,
      prepare,
      batch,
      stream,
      // Read through the rules, as the live Session reads system_traces.
      queryTrace: (traced, o) => QueryTrace.fetch(runStatement, traced, o),
      keyspace: () => keyspace,
      protocolVersion,
      hosts: [host]
    }
    const controls: TestSession = {
      addRules: (...rules) =>
        Effect.sync(() => {
          for (const r of rules) book.add(r)
        }),
      recorded: Effect.sync(() => calls.slice()),
      calls,
      reset: Effect.sync(() => {
        book.clear()
        calls.length = 0
      })
    }
    return { session, controls }
  })

/**
 * A Cluster for tests: the live in-memory registry, metrics, timestamp generator and executor, a fixed metadata
 * snapshot, and host events that never fire, without a control connection or pools, so that code reading the
 * Cluster's facets (register a UDT Schema, read the metadata, listen to host events) runs against the TestSession
 * unchanged. `Session.make` over
 * it dies with a clear message: the TestSession provides the Session itself.
 */
export const makeCluster = (options: Options = {}): Effect.Effect<Cluster.ClusterService, never, Scope.Scope> =>
  Effect.gen(function* () {
    const host = options.host ?? "test-session"
    // Nothing happens to a test Cluster: subscriptions and callbacks are accepted and never called.
    const quiet = yield* PubSub.unbounded<HostEvents.ClusterEvent>()
    const events: HostEvents.HostEvents = {
      subscribe: PubSub.subscribe(quiet),
      events: Stream.fromPubSub(quiet),
      onHostEvent: () => Effect.succeed(Effect.void),
      onSchemaChange: () => Effect.succeed(Effect.void)
    }
    // A fixed snapshot: nothing refreshes a test Cluster's metadata.
    const snapshot = options.metadata ?? Metadata.empty
    const metadata: MetadataService.MetadataService = { current: () => snapshot, get: Effect.succeed(snapshot), changes: Stream.make(snapshot) }
    // UDT Schemas as the live registry keeps them; the test Session prepares nothing.
    const udts = new Map<string, Schema.Schema<unknown, unknown>>()
    const registry: Registry.RegistryService = {
      getPrepared: () => undefined,
      findPreparedById: () => undefined,
      allPrepared: () => [],
      preparedCount: () => 0,
      isPreparedOn: () => false,
      registerUdt: (keyspace, name, schema) => void udts.set(`${keyspace}.${name}`, schema as unknown as Schema.Schema<unknown, unknown>),
      udtSchema: (keyspace, name) => udts.get(`${keyspace}.${name}`),
      udtCount: () => udts.size
    }
    const protocolVersion = options.protocolVersion ?? 5
    const cluster: Cluster.ClusterService = {
      config: { contactPoints: [host], ...(options.keyspace === undefined ? {} : { keyspace: options.keyspace }) },
      protocolVersion,
      metadata,
      events,
      registry,
      metrics: Metrics.make(),
      timestamps: TimestampGenerator.makeMonotonic(),
      executor: yield* Executor.make(4),
      control: {
        host: Effect.succeed(Option.some(host)),
        protocolVersion,
        refreshNow: Effect.void,
        awaitSchemaAgreement: () => Effect.succeed({ agreed: true, versions: new Map() })
      },
      pools: { snapshot: Effect.succeed([]), stateChanges: Stream.empty, connectionEvents: Stream.empty }
    }
    return cluster
  })

/**
 * Provides the driver's `Session`, a test `Cluster` (`makeCluster`) and this module's `TestSession` controls, one
 * set per layer build.
 */
export const layer = (options: Options = {}): Layer.Layer<Session.Session | Cluster.Cluster | TestSession> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const { controls, session } = yield* make(options)
      const cluster = yield* makeCluster(options)
      return Context.make(Session.Session, session).pipe(Context.add(TestSession, controls), Context.add(Cluster.Cluster, cluster))
    })
  )
