/**
 * The Session: the public API for running statements, a scoped view over a Cluster (Cluster.ts). A Session has
 * its own keyspace, defaults (consistency, serial consistency, page size, timeout), policies (load balancing,
 * retry, speculative execution) and named execution profiles; everything else (connections, metadata, prepared
 * statements, UDT Schemas, timestamps, metrics) is the Cluster's and outlives it. Closing a Session's scope refuses
 * new requests (`SessionClosed`) and waits for its requests in flight within the grace period; it never closes the
 * Cluster.
 *
 * Keyspaces. Every request of a Session runs in the Session's keyspace, whatever other Sessions use:
 * - on protocol v5 the keyspace travels in each QUERY, BATCH and PREPARE (their keyspace flag), so Sessions in
 *   different keyspaces share every connection;
 * - on v4 a connection's keyspace is its own (`USE`), so a v4 Session in another keyspace than the Cluster's opens
 *   pools of its own, whose connections start in its keyspace (as each Session of the Python and Java drivers does).
 * Prepared statements are registered by keyspace and query text, so an unqualified statement prepared in one
 * keyspace is never executed in another. `USE ks` is the Session's: it is not sent (a `USE` on a shared connection
 * would move every Session using it); the keyspace is checked against the Metadata (re-read once when missing),
 * then later requests run in it, on every connection. A keyspace that does not exist is `UnknownKeyspace`, and the
 * Session's keyspace stays as it was.
 *
 * The request path (internal/request/): a request is one `Effect.async` whose register does the rest in plain
 * TypeScript: options over the profile, the registry lookup, binding, routing key, query plan, then a request
 * handler that sends, retries and completes it (requestHandler.ts). Traced requests (a tracer provided) run that
 * `Effect.async` in a span, with a child span per attempt (spans.ts); a paging stream is one span.
 */
import type { Consistency, Rows } from "@effect-cql/protocol"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Stream from "effect/Stream"
import * as Cluster from "./Cluster.js"
import * as CqlError from "./CqlError.js"
import * as ExecutionProfile from "./ExecutionProfile.js"
import { coreOf } from "./internal/clusterCore.js"
import * as Defaults from "./internal/defaults.js"
import { Messages } from "./internal/request/messages.js"
import type { PoolLookup } from "./internal/request/prepareHandler.js"
import type { RequestContext, SessionState } from "./internal/request/requestHandler.js"
import { emptyResultSet, ResultShaping } from "./internal/request/resultShaping.js"
import { SessionRequests } from "./internal/request/sessionRequests.js"
import { type RequestTrace, streamSpan } from "./internal/request/spans.js"
import { Throttle } from "./internal/request/throttle.js"
import type * as LoadBalancingPolicy from "./LoadBalancingPolicy.js"
import * as QueryTrace from "./QueryTrace.js"
import type * as Registry from "./Registry.js"
import type * as RequestTracker from "./RequestTracker.js"
import type { ResultSet } from "./ResultSet.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as SpeculativeExecution from "./SpeculativeExecution.js"
import * as Statement from "./Statement.js"
import * as Throttler from "./Throttler.js"

export type RequestError = CqlError.RequestError

/** A Session's own settings, over its Cluster's. */
export interface SessionOptions {
  /**
   * Where unqualified statements run. Default: the Cluster's `keyspace`. One that does not exist fails
   * `Session.make` with `UnknownKeyspace`.
   */
  readonly keyspace?: string
  /** Default LOCAL_ONE. */
  readonly defaultConsistency?: Consistency.Consistency
  /** For lightweight transactions; default SERIAL. */
  readonly defaultSerialConsistency?: Consistency.Consistency
  /** Rows per page when a statement does not say. Default 5000. */
  readonly defaultPageSize?: number
  /** One attempt's timeout. Default: the Cluster's `requestTimeout` (12 s). */
  readonly requestTimeout?: Duration.DurationInput
  /** Default: the Cluster's load balancing. Its distances size the pools too, while the Session is open. */
  readonly loadBalancing?: LoadBalancingPolicy.LoadBalancingPolicy
  /** What to do after a failed attempt. Default `RetryPolicy.defaultRetryPolicy`. */
  readonly retryPolicy?: RetryPolicy.RetryPolicy
  /** Speculative executions for idempotent statements. Default none. */
  readonly speculativeExecution?: SpeculativeExecution.SpeculativeExecution
  /** How long a schema change waits for the nodes to agree on the schema. Default 10 s. */
  readonly schemaAgreementTimeout?: Duration.DurationInput
  /** Named execution profiles, each over the Session's own settings; statements pick one with `profile`. */
  readonly profiles?: Readonly<Record<string, ExecutionProfile.Options>>
  /** How long closing waits for the Session's requests in flight. Default: the Cluster's (5 s). */
  readonly shutdownGracePeriod?: Duration.DurationInput
  /**
   * Request throttling: at most N in flight, a queue with a maximum size and wait, a rate limit; `Throttled` when a
   * request cannot wait (Throttler.ts). Default `Throttler.defaults` (1,024 in flight, an unbounded queue);
   * `"none"` sends every request at once (a burst past the connections' stream ids fails with BusyConnection).
   */
  readonly throttler?: Throttler.Options | "none"
  /**
   * Callbacks on each request and each failed attempt (RequestTracker.ts), e.g.
   * `RequestTracker.slowQueryLogger({ threshold: "500 millis" })`. Default none.
   */
  readonly requestTracker?: RequestTracker.RequestTracker
  /**
   * Spans (made when a tracer is provided): `queryText: false` leaves `db.query.text` out, for statements whose
   * text carries what must not leave the process. Default true.
   */
  readonly spans?: { readonly queryText?: boolean }
}

/** A Cluster and one Session over it, in one config (`Session.layer`). */
export interface SessionConfig extends Cluster.ClusterConfig, SessionOptions {}

export interface Session {
  /** Runs one statement and returns its first (or only) page. */
  readonly execute: {
    <A = Rows.Row>(statement: Statement.Statement<A>): Effect.Effect<ResultSet<A>, RequestError>
    (query: string, params?: Statement.Params, options?: Statement.QueryOptions): Effect.Effect<ResultSet, RequestError>
  }
  /**
   * `execute` for Promise callers: no fiber per request. A statement's own `profile` applies (there is no fiber to
   * carry one); the Promise rejects with the same tagged errors. It cannot be cancelled.
   */
  readonly executePromise: {
    <A = Rows.Row>(statement: Statement.Statement<A>): Promise<ResultSet<A>>
    (query: string, params?: Statement.Params, options?: Statement.QueryOptions): Promise<ResultSet>
  }
  /**
   * The same fiberless request path for callback code (BulkExecution runs on it): `onExit` gets the outcome, once,
   * possibly before `executeCallback` returns (a statement that fails before it is sent). No Promise, no fiber.
   */
  readonly executeCallback: <A = Rows.Row>(
    statement: Statement.Statement<A>,
    onExit: (exit: Exit.Exit<ResultSet<A>, RequestError>) => void
  ) => void
  /** Prepares a query once per keyspace and text (cached in the Cluster's registry). */
  readonly prepare: (
    query: string,
    options?: { readonly keyspace?: string; readonly profile?: string }
  ) => Effect.Effect<Registry.PreparedStatement, RequestError>
  /** A batch of writes: logged (default), unlogged or counter. */
  readonly batch: (
    statements: ReadonlyArray<Statement.Statement<unknown> | string>,
    options?: Statement.BatchOptions
  ) => Effect.Effect<ResultSet, RequestError>
  /** Every row of a query, fetched page by page as the stream is pulled; each page is one chunk. */
  readonly stream: {
    <A = Rows.Row>(statement: Statement.Statement<A>): Stream.Stream<A, RequestError>
    (query: string, params?: Statement.Params, options?: Statement.QueryOptions): Stream.Stream<Rows.Row, RequestError>
  }
  /**
   * The server's trace of a traced request (`{ tracing: true }`), from its result or its tracing id, read from
   * `system_traces` once complete (QueryTrace.ts).
   */
  readonly queryTrace: (
    traced: ResultSet<unknown> | string,
    options?: QueryTrace.Options
  ) => Effect.Effect<QueryTrace.QueryTrace, QueryTrace.QueryTraceError | RequestError>
  /** The Session's keyspace now (`USE` changes it). */
  readonly keyspace: () => string | undefined
  /** The protocol version the session's connections speak. */
  readonly protocolVersion: 4 | 5
  /** Endpoints (host:port) of the hosts with a pool when the session was built. */
  readonly hosts: ReadonlyArray<string>
}

export const Session = Context.GenericTag<Session>("@effect-cql/driver/Session")

/**
 * A scoped Session over the Cluster in context. Fails with `UnknownKeyspace` when its keyspace does not exist.
 * The Cluster must be a live one (`Cluster.layer`).
 */
export const make = (options: SessionOptions = {}): Effect.Effect<Session, CqlError.UnknownKeyspace, Cluster.Cluster | Scope.Scope> =>
  Effect.gen(function* () {
    const cluster = yield* Cluster.Cluster
    const core = coreOf(cluster)
    if (core === undefined) return yield* Effect.dieMessage("Session.make needs a live Cluster (Cluster.layer), not a test one")
    const { metadata, registry, control } = core
    const scope = yield* Effect.scope
    const runtime: Runtime.Runtime<never> = yield* Effect.runtime<never>()

    /** The keyspace exists: in the Metadata, or once re-read (it may be newer than the last refresh). */
    const checkKeyspace = (name: string): Effect.Effect<void, CqlError.UnknownKeyspace> =>
      metadata.current().keyspaces.has(name)
        ? Effect.void
        : control.refreshKeyspace(name).pipe(
            Effect.ignore,
            Effect.flatMap(() => (metadata.current().keyspaces.has(name) ? Effect.void : Effect.fail(new CqlError.UnknownKeyspace({ keyspace: name }))))
          )

    const keyspace = options.keyspace ?? cluster.config.keyspace
    if (keyspace !== undefined) yield* checkKeyspace(keyspace)

    const requestTimeoutMs = Defaults.millisOr(options.requestTimeout, core.requestTimeoutMs)
    const defaultConsistency = options.defaultConsistency ?? Defaults.CONSISTENCY
    const sessionProfile: ExecutionProfile.ExecutionProfile = {
      consistency: defaultConsistency,
      serialConsistency: options.defaultSerialConsistency ?? Defaults.SERIAL_CONSISTENCY,
      requestTimeout: Duration.millis(requestTimeoutMs),
      pageSize: options.defaultPageSize ?? Defaults.PAGE_SIZE,
      idempotent: false,
      loadBalancing: options.loadBalancing ?? core.loadBalancing,
      retry: options.retryPolicy ?? RetryPolicy.defaultRetryPolicy,
      speculativeExecution: options.speculativeExecution ?? SpeculativeExecution.none
    }
    const profiles = ExecutionProfile.over(sessionProfile, options.profiles)
    // Every policy this Session may route with sizes the pools while it is open.
    yield* core.usePolicies([...new Set([...profiles.named.values()].map((p) => p.loadBalancing))])

    // Protocol v4: a keyspace other than the shared pools' needs pools of its own (a child scope per keyspace,
    // closed when a `USE` moves on, and after the Session's requests drained when it closes).
    const lanes = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    let lane: Scope.CloseableScope | undefined
    const poolsFor = (ks: string | undefined): Effect.Effect<PoolLookup> =>
      Effect.gen(function* () {
        const previous = lane
        lane = undefined
        if (previous !== undefined) yield* Effect.forkDaemon(Scope.close(previous, Exit.void))
        if (core.protocolVersion >= 5 || ks === core.poolKeyspace || ks === undefined) return core.pools
        const next = yield* Scope.fork(lanes, ExecutionStrategy.sequential)
        lane = next
        return yield* Scope.extend(core.keyspacePools(ks), next)
      })

    const state: SessionState = { closed: false, inFlight: 0, onDrained: undefined }
    const messages = new Messages({
      consistency: defaultConsistency,
      pageSize: sessionProfile.pageSize,
      requestTimeoutMs,
      timestamps: core.timestamps,
      protocolVersion: core.protocolVersion
    })
    const ctx: RequestContext = {
      pools: yield* poolsFor(keyspace),
      metricsOf: core.metricsOf,
      metrics: core.metrics,
      tracker: options.requestTracker,
      messages,
      shaping: new ResultShaping({
        registry,
        control,
        requestTimeoutMs,
        schemaAgreementTimeoutMs: Defaults.millisOr(options.schemaAgreementTimeout, Defaults.SCHEMA_AGREEMENT_TIMEOUT_MS)
      }),
      prepares: core.prepares,
      registry,
      state,
      throttle: options.throttler === "none" ? undefined : new Throttle(options.throttler ?? Throttler.defaults, core.metrics.throttle)
    }

    // Closing: new requests fail with SessionClosed; those in flight get the grace period.
    const graceMs = Defaults.millisOr(options.shutdownGracePeriod, core.shutdownGraceMs)
    const close = Effect.suspend(() => {
      state.closed = true
      if (state.inFlight === 0) return Effect.void
      return Effect.async<void>((resume) => {
        state.onDrained = () => resume(Effect.void)
      }).pipe(Effect.timeoutOption(graceMs), Effect.asVoid)
    })
    yield* core.addSession(close)
    yield* Effect.addFinalizer(() => close)

    const hosts = [...metadata.current().hosts.values()].filter((h) => ctx.pools.get(h.endpoint)?.pick() !== undefined).map((h) => h.endpoint)

    /** `USE ks`: the Session's keyspace, for every later request (see the module doc). */
    const use = (name: string): Effect.Effect<ResultSet<never>, RequestError> =>
      Effect.gen(function* () {
        yield* checkKeyspace(name)
        if (name !== requests.keyspace) {
          ctx.pools = yield* poolsFor(name)
          requests.keyspace = name
        }
        return emptyResultSet("")
      })
    const spans = { queryText: options.spans?.queryText ?? true }
    const requests = new SessionRequests({ ctx, metadata, executor: core.executor, profiles, use, spans }, keyspace)

    const currentFiber = (): Fiber.RuntimeFiber<unknown, unknown> | undefined => {
      const f = Fiber.getCurrentFiber()
      return Option.isSome(f) ? f.value : undefined
    }

    const toStatement = <A>(q: string | Statement.Statement<A>, params?: Statement.Params, o?: Statement.QueryOptions): Statement.Statement<A> =>
      typeof q === "string" ? ({ query: q, params, options: o } as Statement.Statement<A>) : q

    const runStatement = <A>(statement: Statement.Statement<A>, extra?: Statement.QueryOptions): Effect.Effect<ResultSet<A>, RequestError> =>
      Effect.async<ResultSet<A>, RequestError>((resume) => requests.statement(statement, extra, currentFiber(), resume))

    /** One page of a paging stream, under the stream's span when it has one (an event per page on it). */
    const runPage = <A>(statement: Statement.Statement<A>, pagingState: Uint8Array | undefined, trace: RequestTrace | undefined) => {
      const extra = pagingState === undefined ? undefined : { pagingState }
      if (trace === undefined) return runStatement(statement, extra)
      return Effect.tap(
        Effect.async<ResultSet<A>, RequestError>((resume) => requests.statement(statement, extra, currentFiber(), resume, trace)),
        (rs) => trace.page(rs.rows.length, rs.pagingState !== undefined)
      )
    }

    const execute = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, o?: Statement.QueryOptions) =>
      runStatement(toStatement(q, params, o))) as Session["execute"]

    const executeCallback = <A>(statement: Statement.Statement<A>, onExit: (exit: Exit.Exit<ResultSet<A>, RequestError>) => void): void =>
      requests.statement(statement, undefined, undefined, (outcome) => {
        // The common outcome is already an Exit; warnings and schema changes need the runtime.
        if (Exit.isExit(outcome)) onExit(outcome as Exit.Exit<ResultSet<A>, RequestError>)
        else Effect.runCallback(Effect.provide(outcome, runtime.context), { onExit })
      })

    const executePromise = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, o?: Statement.QueryOptions) =>
      new Promise<ResultSet<A>>((resolve, reject) =>
        executeCallback(toStatement(q, params, o), (exit) => (Exit.isSuccess(exit) ? resolve(exit.value) : reject(Cause.squash(exit.cause))))
      )) as Session["executePromise"]

    const stream = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, o?: Statement.QueryOptions) => {
      const statement = toStatement(q, params, o)
      const own = statement.options
      const span = {
        operation: "execute",
        queryText: statement.query,
        namespace: own?.keyspace ?? requests.keyspace
      } as const
      return Stream.unwrapScoped(
        Effect.map(streamSpan(requests.spanRequest(span, own), spans), (trace) =>
          Stream.paginateChunkEffect(own?.pagingState, (pagingState) =>
            runPage(statement, pagingState, trace).pipe(
              Effect.map((rs) => [Chunk.unsafeFromArray(rs.rows as Array<A>), Option.fromNullable<Uint8Array | undefined>(rs.pagingState)] as const)
            )
          )
        )
      )
    }) as Session["stream"]

    const prepare = (query: string, o?: { readonly keyspace?: string; readonly profile?: string }) =>
      Effect.async<Registry.PreparedStatement, RequestError>((resume) => {
        const ks = o?.keyspace ?? requests.keyspace
        const cached = registry.getPrepared(ks, query)
        if (cached !== undefined) return resume(Effect.succeed(cached))
        const fiber = currentFiber()
        const profile = requests.profileFor(o?.profile, fiber)
        if (profile instanceof CqlError.UnknownProfile) return resume(Effect.fail(profile))
        requests.prepare(query, ks, profile, fiber, resume)
      })

    const batch = (statements: ReadonlyArray<Statement.Statement<unknown> | string>, batchOptions?: Statement.BatchOptions) =>
      Effect.async<ResultSet, RequestError>((resume) => requests.batch(statements, batchOptions, currentFiber(), resume))

    const session: Session = {
      execute,
      executePromise,
      executeCallback,
      prepare,
      batch,
      stream,
      queryTrace: (traced, o) => QueryTrace.fetch(runStatement, traced, o),
      keyspace: () => requests.keyspace,
      protocolVersion: core.protocolVersion,
      hosts
    }
    return session
  })

/** A Session over the Cluster in context, for the layer's scope. */
export const layerFromCluster = (options?: SessionOptions): Layer.Layer<Session, CqlError.UnknownKeyspace, Cluster.Cluster> =>
  Layer.scoped(Session, make(options))

/**
 * A Cluster and one Session over it, both provided: the one-liner for a service with one Session. Other Sessions
 * can be opened over the same Cluster with `Session.make`.
 */
export const layer = (config: SessionConfig): Layer.Layer<Session | Cluster.Cluster, CqlError.ConnectError | CqlError.UnknownKeyspace> =>
  layerFromCluster(config).pipe(Layer.provideMerge(Cluster.layer(config)))

/** The same, with settings read through Effect Config (e.g. from the environment). */
export const layerConfig = (
  config: Config.Config.Wrap<SessionConfig>
): Layer.Layer<Session | Cluster.Cluster, CqlError.ConnectError | CqlError.UnknownKeyspace | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
