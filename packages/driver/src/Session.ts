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
 * `Effect.async` in a span (spans.ts).
 */
import type { Consistency, Request, Rows } from "@effect-cql/protocol"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
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
import { bindByName, hasValues, isNamed, Messages } from "./internal/request/messages.js"
import type { PoolLookup } from "./internal/request/prepareHandler.js"
import {
  BatchRequest,
  ExecuteRequest,
  PrepareRequest,
  QueryRequest,
  type RequestContext,
  type RequestHandler,
  type Resume,
  type SessionState
} from "./internal/request/requestHandler.js"
import { emptyResultSet, ResultShaping } from "./internal/request/resultShaping.js"
import { inSpan, isTraced, type Operation } from "./internal/request/spans.js"
import * as UdtMapping from "./internal/request/udtMapping.js"
import * as WaitingRequests from "./internal/request/waitingRequests.js"
import type * as LoadBalancingPolicy from "./LoadBalancingPolicy.js"
import type * as Registry from "./Registry.js"
import type { ResultSet } from "./ResultSet.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as SpeculativeExecution from "./SpeculativeExecution.js"
import * as Statement from "./Statement.js"
import * as TokenMap from "./TokenMap.js"

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
}

/** A Cluster and one Session over it, in one config (`Session.layer`). */
export interface SessionConfig extends Cluster.ClusterConfig, SessionOptions {}

export interface Session {
  /** Runs one statement and returns its first (or only) page. */
  readonly execute: {
    <A>(statement: Statement.Statement<A>): Effect.Effect<ResultSet<A>, RequestError>
    (query: string, params?: Statement.Params, options?: Statement.QueryOptions): Effect.Effect<ResultSet, RequestError>
  }
  /**
   * `execute` for Promise callers: no fiber per request. A statement's own `profile` applies (there is no fiber to
   * carry one); the Promise rejects with the same tagged errors. It cannot be cancelled.
   */
  readonly executePromise: {
    <A>(statement: Statement.Statement<A>): Promise<ResultSet<A>>
    (query: string, params?: Statement.Params, options?: Statement.QueryOptions): Promise<ResultSet>
  }
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
    <A>(statement: Statement.Statement<A>): Stream.Stream<A, RequestError>
    (query: string, params?: Statement.Params, options?: Statement.QueryOptions): Stream.Stream<Rows.Row, RequestError>
  }
  /** The Session's keyspace now (`USE` changes it). */
  readonly keyspace: () => string | undefined
  /** The protocol version the session's connections speak. */
  readonly protocolVersion: 4 | 5
  /** Endpoints (host:port) of the hosts with a pool when the session was built. */
  readonly hosts: ReadonlyArray<string>
}

export const Session = Context.GenericTag<Session>("@effect-cql/driver/Session")

const millis = (d: Duration.DurationInput | undefined, fallback: number) => (d === undefined ? fallback : Duration.toMillis(d))

/** `USE name` / `USE "Name"` (a statement of its own, optionally ended by `;`): the keyspace it names. */
const useTarget = (query: string): string | undefined => {
  const m = /^\s*use\s+(?:"((?:[^"]|"")+)"|([A-Za-z][A-Za-z0-9_]*))\s*;?\s*$/i.exec(query)
  if (m === null) return undefined
  // Quoted names are case-sensitive; unquoted ones are folded to lower case, as CQL does.
  return m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!.toLowerCase()
}

/** The children of a batch, bound, and its routing key. */
interface BoundBatch {
  readonly children: Array<Request.BatchStatement>
  readonly routingKey: Uint8Array | undefined
}

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

    let keyspace = options.keyspace ?? cluster.config.keyspace
    if (keyspace !== undefined) yield* checkKeyspace(keyspace)

    const requestTimeoutMs = millis(options.requestTimeout, core.requestTimeoutMs)
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
      messages,
      shaping: new ResultShaping({
        registry,
        control,
        requestTimeoutMs,
        schemaAgreementTimeoutMs: millis(options.schemaAgreementTimeout, Defaults.SCHEMA_AGREEMENT_TIMEOUT_MS)
      }),
      prepares: core.prepares,
      registry,
      state
    }

    // Closing: new requests fail with SessionClosed; those in flight get the grace period.
    const graceMs = millis(options.shutdownGracePeriod, core.shutdownGraceMs)
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

    /**
     * A request's profile: its statement's `profile`, else its fiber's (`ExecutionProfile.withProfile`), else the
     * session's own.
     */
    const profileFor = (
      selector: string | undefined,
      fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
    ): ExecutionProfile.ExecutionProfile | CqlError.UnknownProfile => {
      const s = selector ?? (fiber === undefined ? undefined : Context.get(fiber.currentContext, ExecutionProfile.CurrentProfile))
      if (s === undefined) return sessionProfile
      const p = ExecutionProfile.select(profiles, s)
      return Either.isLeft(p) ? p.left : p.right
    }
    /** A statement's options over its profile's settings; the options as they are on the session's own profile. */
    const overProfile = <O extends Statement.QueryOptions>(o: O | undefined, p: ExecutionProfile.ExecutionProfile): O | undefined =>
      p === sessionProfile
        ? o
        : ({ consistency: p.consistency, serialConsistency: p.serialConsistency, timeout: p.requestTimeout, pageSize: p.pageSize, idempotent: p.idempotent, ...o } as O)

    /**
     * Runs `handler` over its plan, `resume` getting the outcome: in a span when the fiber is traced (a second
     * `Effect.async` inside it), else directly.
     */
    const start = <A>(
      handler: RequestHandler<A>,
      plan: Iterable<import("./Metadata.js").Host>,
      fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined,
      span: { readonly operation: Operation; readonly query: string; readonly keyspace: string | undefined },
      resume: Resume<A>
    ): void => {
      if (fiber !== undefined && isTraced(fiber)) {
        const waiting = WaitingRequests.of(fiber)
        return resume(inSpan(span.operation, span.query, span.keyspace, handler, Effect.async<A, RequestError>((r) => handler.run(plan, r, waiting))))
      }
      handler.run(plan, resume, fiber === undefined ? undefined : WaitingRequests.of(fiber))
    }

    /** The values to bind to a prepared statement: by position or name, through the registered UDT Schemas. */
    const bindValues = (prepared: Registry.PreparedStatement, params: Statement.Params | undefined): Either.Either<ReadonlyArray<unknown>, CqlError.SchemaMismatch> => {
      const encoded = UdtMapping.encodeValues(registry, prepared.bindTypes, params === undefined ? [] : isNamed(params) ? bindByName(prepared.bindColumns, params) : params)
      return Either.isRight(encoded)
        ? (encoded as Either.Either<ReadonlyArray<unknown>, never>)
        : Either.left(new CqlError.SchemaMismatch({ message: `a parameter of "${prepared.query}" does not match its UDT Schema`, cause: encoded.left }))
    }

    /** PREPARE over the plan; once one node has it, the Executor prepares it on the others in the background. */
    const startPrepare = (
      query: string,
      ks: string | undefined,
      profile: ExecutionProfile.ExecutionProfile,
      fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined,
      resume: Resume<Registry.PreparedStatement>
    ): void => {
      const pools = ctx.pools
      start(new PrepareRequest(ctx, profile, query, ks), profile.loadBalancing.newQueryPlan(metadata.current(), { keyspace: ks }), fiber, { operation: "prepare", query, keyspace: ks }, (outcome) => {
        const everywhere = core.executor.submit("prepare on all hosts", core.prepares.everywhere(pools, metadata.current().hosts.keys(), query, ks))
        resume(Effect.tap(outcome, () => everywhere))
      })
    }

    /** `USE ks`: the Session's keyspace, for every later request (see the module doc). */
    const use = (name: string): Effect.Effect<ResultSet<any>, RequestError> =>
      Effect.gen(function* () {
        yield* checkKeyspace(name)
        if (name !== keyspace) {
          ctx.pools = yield* poolsFor(name)
          keyspace = name
        }
        return emptyResultSet("")
      })

    /**
     * A statement's request: its options over its profile, then (prepared) the registry lookup, binding, routing
     * key and plan, all in plain TypeScript; `resume` gets the outcome.
     */
    const startStatement = <A>(
      statement: Statement.Statement<A>,
      extra: Statement.QueryOptions | undefined,
      fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined,
      resume: Resume<ResultSet<A>>
    ): void => {
      const encoded = Statement.encodeParams(statement)
      if (Either.isLeft(encoded)) return resume(Effect.fail(encoded.left))
      const own = extra === undefined ? statement.options : { ...statement.options, ...extra }
      const profile = profileFor(own?.profile, fiber)
      if (profile instanceof CqlError.UnknownProfile) return resume(Effect.fail(profile))
      const o = overProfile(own, profile)
      const ks = o?.keyspace ?? keyspace
      const idempotent = o?.idempotent === true
      const consistency = o?.consistency ?? defaultConsistency
      const params = encoded.right
      const span = { operation: "execute" as const, query: statement.query, keyspace: ks }
      if (!(o?.prepare ?? hasValues(params))) {
        const target = useTarget(statement.query)
        if (target !== undefined) return resume(use(target) as Effect.Effect<ResultSet<A>, RequestError>)
        const handler = new QueryRequest(ctx, profile, idempotent, statement, params, o, messages.keyspaceOf(o, keyspace))
        return start(handler, profile.loadBalancing.newQueryPlan(metadata.current(), { keyspace: ks, consistency }), fiber, span, resume)
      }
      const run = (prepared: Registry.PreparedStatement, resume: Resume<ResultSet<A>>): void => {
        const values = bindValues(prepared, params)
        if (Either.isLeft(values)) return resume(Effect.fail(values.left))
        const routing = {
          keyspace: prepared.bindColumns[0]?.keyspace ?? ks,
          routingKey: TokenMap.routingKeyOfValues(prepared.bindTypes, values.right, prepared.pkIndexes),
          consistency
        }
        start(new ExecuteRequest(ctx, profile, idempotent, statement, prepared, values.right, o), profile.loadBalancing.newQueryPlan(metadata.current(), routing), fiber, span, resume)
      }
      const cached = registry.getPrepared(ks, statement.query)
      if (cached !== undefined) return run(cached, resume)
      startPrepare(statement.query, ks, profile, fiber, (outcome) =>
        resume(Effect.flatMap(outcome, (prepared) => Effect.async<ResultSet<A>, RequestError>((r) => run(prepared, r))))
      )
    }

    const currentFiber = (): Fiber.RuntimeFiber<unknown, unknown> | undefined => {
      const f = Fiber.getCurrentFiber()
      return Option.isSome(f) ? f.value : undefined
    }

    const toStatement = <A>(q: string | Statement.Statement<A>, params?: Statement.Params, o?: Statement.QueryOptions): Statement.Statement<A> =>
      typeof q === "string" ? ({ query: q, params, options: o } as Statement.Statement<A>) : q

    const runStatement = <A>(statement: Statement.Statement<A>, extra?: Statement.QueryOptions): Effect.Effect<ResultSet<A>, RequestError> =>
      Effect.async<ResultSet<A>, RequestError>((resume) => startStatement(statement, extra, currentFiber(), resume))

    const execute = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, o?: Statement.QueryOptions) =>
      runStatement(toStatement(q, params, o))) as Session["execute"]

    const executePromise = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, o?: Statement.QueryOptions) =>
      new Promise<ResultSet<A>>((resolve, reject) =>
        startStatement(toStatement(q, params, o), undefined, undefined, (outcome) => {
          const settle = (exit: Exit.Exit<ResultSet<A>, RequestError>) =>
            Exit.isSuccess(exit) ? resolve(exit.value) : reject(Cause.squash(exit.cause))
          // The common outcome is already an Exit; warnings and schema changes need the runtime.
          if (Exit.isExit(outcome)) settle(outcome as Exit.Exit<ResultSet<A>, RequestError>)
          else Effect.runPromiseExit(Effect.provide(outcome, runtime.context)).then(settle)
        })
      )) as Session["executePromise"]

    const stream = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, o?: Statement.QueryOptions) => {
      const statement = toStatement(q, params, o)
      return Stream.paginateChunkEffect(statement.options?.pagingState, (pagingState) =>
        runStatement(statement, pagingState === undefined ? undefined : { pagingState }).pipe(
          Effect.map((rs) => [Chunk.unsafeFromArray(rs.rows as Array<A>), Option.fromNullable<Uint8Array | undefined>(rs.pagingState)] as const)
        )
      )
    }) as Session["stream"]

    const prepare = (query: string, o?: { readonly keyspace?: string; readonly profile?: string }) =>
      Effect.async<Registry.PreparedStatement, RequestError>((resume) => {
        const ks = o?.keyspace ?? keyspace
        const cached = registry.getPrepared(ks, query)
        if (cached !== undefined) return resume(Effect.succeed(cached))
        const fiber = currentFiber()
        const profile = profileFor(o?.profile, fiber)
        if (profile instanceof CqlError.UnknownProfile) return resume(Effect.fail(profile))
        startPrepare(query, ks, profile, fiber, resume)
      })

    /**
     * The children of a batch, bound, and its routing key; or the first error; or the query of a child with values
     * that is not prepared yet (the caller prepares it and builds the batch again: once per statement).
     */
    const batchChildren = (
      statements: ReadonlyArray<Statement.Statement<unknown> | string>,
      ks: string | undefined
    ): Either.Either<BoundBatch, RequestError> | string => {
      const children: Array<Request.BatchStatement> = []
      let routingKey: Uint8Array | undefined
      for (let i = 0; i < statements.length; i++) {
        const s = statements[i]!
        const st = typeof s === "string" ? { query: s } : s
        const encoded = Statement.encodeParams(st)
        if (Either.isLeft(encoded)) return Either.left(encoded.left)
        const p = encoded.right
        if (p === undefined || (Array.isArray(p) && p.length === 0)) {
          children.push({ query: st.query, values: [] })
          continue
        }
        const prepared = registry.getPrepared(ks, st.query)
        if (prepared === undefined) return st.query
        const values = bindValues(prepared, p)
        if (Either.isLeft(values)) return Either.left(values.left)
        // Route the batch by its first statement's partition key (a single-partition batch lands on a replica).
        routingKey ??= TokenMap.routingKeyOfValues(prepared.bindTypes, values.right, prepared.pkIndexes)
        children.push({ id: prepared.id, values: values.right, types: prepared.bindTypes })
      }
      return Either.right({ children, routingKey })
    }

    /** A batch: like a statement, one `Effect.async` once its children are prepared. */
    const batch = (statements: ReadonlyArray<Statement.Statement<unknown> | string>, batchOptions?: Statement.BatchOptions) => {
      const run = (resume: Resume<ResultSet>): void => {
        const fiber = currentFiber()
        const profile = profileFor(batchOptions?.profile, fiber)
        if (profile instanceof CqlError.UnknownProfile) return resume(Effect.fail(profile))
        const o = overProfile(batchOptions, profile)
        const ks = o?.keyspace ?? keyspace
        const built = batchChildren(statements, ks)
        if (typeof built === "string") {
          return startPrepare(built, ks, profile, fiber, (outcome) => resume(Effect.flatMap(outcome, () => Effect.async(run))))
        }
        if (Either.isLeft(built)) return resume(Effect.fail(built.left))
        const { children, routingKey } = built.right
        const consistency = o?.consistency ?? defaultConsistency
        const handler = new BatchRequest(ctx, profile, o?.idempotent === true, children, o, messages.keyspaceOf(o, keyspace))
        start(handler, profile.loadBalancing.newQueryPlan(metadata.current(), { keyspace: ks, routingKey, consistency }), fiber, { operation: "batch", query: "BATCH", keyspace: ks }, resume)
      }
      return Effect.async<ResultSet, RequestError>(run)
    }

    const session: Session = {
      execute,
      executePromise,
      prepare,
      batch,
      stream,
      keyspace: () => keyspace,
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
