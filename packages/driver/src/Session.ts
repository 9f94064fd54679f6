/**
 * The Session: the public API, a scoped Layer composed from the cluster services (Cluster.ts: control connection,
 * metadata, host events, per-host pools, registry, metrics, timestamp generator, executor). Closing its scope is safe
 * shutdown: new requests fail with `SessionClosed`, requests in flight get a bounded grace period, then the sockets
 * close.
 *
 * A request is one `Effect.async` around plain TypeScript: the load-balancing policy gives a query plan from the
 * metadata snapshot (token-aware for prepared statements with a partition key), and the first attempt goes to a
 * connection of the first host's pool: encode into the connection's write queue, register a callback by stream id,
 * map the decoded response in that callback. A failure brings in the execution loop (RequestExecution), which walks
 * the rest of the plan with the retry policy; speculative executions and traced requests start there.
 */
import { Response as Res } from "@effect-cql/protocol"
import type { Consistency, DataType, Request, Rows } from "@effect-cql/protocol"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import * as Cluster from "./Cluster.js"
import * as ConnectionPools from "./ConnectionPools.js"
import * as ControlConnection from "./ControlConnection.js"
import * as CqlError from "./CqlError.js"
import * as ExecutionProfile from "./ExecutionProfile.js"
import * as Executor from "./Executor.js"
import type { Connection, ConnectionFailure } from "./internal/connection/connection.js"
import * as RequestExecution from "./internal/request/requestExecution.js"
import * as UdtMapping from "./internal/request/udtMapping.js"
import * as WaitingRequests from "./internal/request/waitingRequests.js"
import type * as LoadBalancingPolicy from "./LoadBalancingPolicy.js"
import type { Host } from "./Metadata.js"
import * as MetadataService from "./MetadataService.js"
import * as Metrics from "./Metrics.js"
import * as Registry from "./Registry.js"
import type { ResultSet } from "./ResultSet.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as SpeculativeExecution from "./SpeculativeExecution.js"
import * as Statement from "./Statement.js"
import * as TimestampGenerator from "./TimestampGenerator.js"
import * as TokenMap from "./TokenMap.js"

/** Every error a request can end with. */
export type RequestError =
  | CqlError.ResponseError
  | CqlError.ConnectionError
  | CqlError.RequestTimeout
  | CqlError.BusyConnection
  | CqlError.NoConnection
  | CqlError.NoHostAvailable
  | CqlError.SessionClosed
  | CqlError.SchemaMismatch
  | CqlError.EncodeError
  | CqlError.DecodeError
  | ExecutionProfile.UnknownProfile

export interface SessionConfig extends Cluster.ClusterConfig {
  /** Default LOCAL_ONE. */
  readonly defaultConsistency?: Consistency.Consistency
  /** Rows per page when a statement does not say. Default 5000. */
  readonly defaultPageSize?: number
  /** What to do after a failed attempt. Default `RetryPolicy.defaultRetryPolicy`. */
  readonly retryPolicy?: RetryPolicy.RetryPolicy
  /** Speculative executions for idempotent statements. Default none. */
  readonly speculativeExecution?: SpeculativeExecution.SpeculativeExecution
  /** How long a schema change waits for the nodes to agree on the schema. Default 10 s. */
  readonly schemaAgreementTimeout?: Duration.DurationInput
  /** Named execution profiles, each over the session's own settings; statements pick one with `profile`. */
  readonly profiles?: Readonly<Record<string, ExecutionProfile.Options>>
}

export interface Session {
  /** Runs one statement and returns its first (or only) page. */
  readonly execute: {
    <A>(statement: Statement.Statement<A>): Effect.Effect<ResultSet<A>, RequestError>
    (query: string, params?: Statement.Params, options?: Statement.QueryOptions): Effect.Effect<ResultSet, RequestError>
  }
  /** Prepares a query once per keyspace and text (cached in the RegistryService). */
  readonly prepare: (query: string, options?: { readonly keyspace?: string }) => Effect.Effect<Registry.PreparedStatement, RequestError>
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
  /** The protocol version the session's connections speak. */
  readonly protocolVersion: 4 | 5
  /** Endpoints (host:port) of the hosts with a pool when the session was built. */
  readonly hosts: ReadonlyArray<string>
}

export const Session = Context.GenericTag<Session>("@effect-cql/driver/Session")

const millis = (d: Duration.DurationInput | undefined, fallback: number) => (d === undefined ? fallback : Duration.toMillis(d))

const toConnectionError = (f: ConnectionFailure, host: string): RequestError => {
  switch (f._tag) {
    case "Timeout":
      return new CqlError.RequestTimeout({ host, timeoutMs: f.timeoutMs })
    case "Busy":
      return new CqlError.BusyConnection({ host, inFlight: f.inFlight })
    case "Decode":
    case "Encode":
      return f.error
    case "Auth":
      return new CqlError.AuthenticationError({ host, message: f.message })
    case "Server":
      return CqlError.fromWire(f.error, host)
    case "Closed":
    case "Protocol":
      return new CqlError.ConnectionError({ host, message: f.message, cause: "cause" in f ? f.cause : undefined })
  }
}

const firstWord = (q: string) => /^\s*(\w+)/.exec(q)?.[1]?.toUpperCase() ?? "UNKNOWN"

const isRecord = (p: Statement.Params): p is Readonly<Record<string, unknown>> => !Array.isArray(p)

/** Builds the Session over already-provided cluster services. */
export const make = (config: SessionConfig) =>
  Effect.gen(function* () {
    const registry = yield* Registry.RegistryService
    const metrics = yield* Metrics.MetricsService
    const timestamps = yield* TimestampGenerator.TimestampGenerator
    const metadata = yield* MetadataService.MetadataService
    const pools = yield* ConnectionPools.ConnectionPools
    const control = yield* ControlConnection.ControlConnectionService
    const executor = yield* Executor.Executor

    const requestTimeoutMs = millis(config.requestTimeout, 12_000)
    const defaultConsistency = config.defaultConsistency ?? "LOCAL_ONE"
    const defaultPageSize = config.defaultPageSize ?? 5000
    const schemaAgreementTimeout = config.schemaAgreementTimeout ?? "10 seconds"
    const loadBalancing = Cluster.loadBalancingOf(config)
    const retryPolicy = config.retryPolicy ?? RetryPolicy.defaultRetryPolicy
    const speculative = config.speculativeExecution ?? SpeculativeExecution.none
    const sessionProfile: ExecutionProfile.ExecutionProfile = {
      consistency: defaultConsistency,
      serialConsistency: "SERIAL",
      requestTimeout: Duration.millis(requestTimeoutMs),
      pageSize: defaultPageSize,
      idempotent: false,
      loadBalancing,
      retry: retryPolicy,
      speculativeExecution: speculative
    }
    const profiles: ExecutionProfile.Profiles = {
      default: sessionProfile,
      named: new Map([["default", sessionProfile], ...Object.entries(config.profiles ?? {}).map(([name, o]) => [name, ExecutionProfile.make(sessionProfile, o)] as const)])
    }
    /**
     * A request's profile: its statement's `profile`, else its fiber's (`ExecutionProfile.withProfile`), else the
     * session's own.
     */
    const profileFor = (
      options: Statement.QueryOptions | undefined,
      fiber: Option.Option<Fiber.RuntimeFiber<unknown, unknown>>
    ): ExecutionProfile.ExecutionProfile | ExecutionProfile.UnknownProfile => {
      const selector = options?.profile ?? (Option.isSome(fiber) ? Context.get(fiber.value.currentContext, ExecutionProfile.CurrentProfile) : undefined)
      if (selector === undefined) return sessionProfile
      const p = ExecutionProfile.select(profiles, selector)
      return Either.isLeft(p) ? p.left : p.right
    }
    /** A statement's options over its profile's settings; the options as they are on the session's own profile. */
    const overProfile = <O extends Statement.QueryOptions>(options: O | undefined, p: ExecutionProfile.ExecutionProfile): O | undefined =>
      p === sessionProfile
        ? options
        : ({ consistency: p.consistency, serialConsistency: p.serialConsistency, timeout: p.requestTimeout, pageSize: p.pageSize, idempotent: p.idempotent, ...options } as O)

    // Requests stop here once the scope closes; the pools (closed after this, by the cluster layer) drain the rest.
    let closed = false
    yield* Effect.addFinalizer(() => Effect.sync(() => (closed = true)))

    const pooled = [...metadata.current().hosts.values()].flatMap((h) => {
      const conn = pools.get(h.endpoint)?.connections[0]
      return conn === undefined ? [] : [[h.endpoint, conn] as const]
    })
    if (pooled.length === 0) {
      return yield* Effect.fail(new CqlError.NoHostAvailable({ errors: new Map([["*", "no host has an open connection"]]) }))
    }
    const protocolVersion = pooled[0]![1].version

    const connMetrics = new WeakMap<Connection, Metrics.HostMetrics>()
    const metricsOf = (conn: Connection): Metrics.HostMetrics => {
      let m = connMetrics.get(conn)
      if (m === undefined) connMetrics.set(conn, (m = metrics.forHost(hostIdOf(conn))))
      return m
    }

    /**
     * One attempt on one connection, in plain callbacks: encode into the connection's write queue, register a
     * callback by stream id, map the decoded response there. `done` gets the error for the retry policy, or the
     * Effect to go on with: `onResponse`'s, or on UNPREPARED `onUnprepared`'s (re-prepare and retry) when given.
     * The fiber's slot (`WaitingRequests`) cancels the request if the fiber stops waiting for it.
     */
    const sendOn = <A>(
      conn: Connection,
      req: Request.Request,
      opts: SendOptions,
      onResponse: (res: Res.Response) => Effect.Effect<A, RequestError>,
      onUnprepared: (() => Effect.Effect<A, RequestError>) | undefined,
      done: RequestExecution.Done<A>
    ): void => {
      const m = metricsOf(conn)
      const started = performance.now()
      m.requestStarted()
      // Set once the request is out: a callback called from `send` itself (closed, busy) has nothing to settle.
      let waiting: WaitingRequests.Waiting | undefined
      const id = conn.send(req, opts, (failure, res) => {
        waiting?.settled()
        if (failure !== undefined) {
          const err = toConnectionError(failure, hostIdOf(conn))
          m.requestEnded(performance.now() - started, err._tag)
          done(err)
        } else if (res!._tag === "Error") {
          const err = CqlError.fromWire(res.error, hostIdOf(conn))
          m.requestEnded(performance.now() - started, err._tag)
          if (err._tag === "Unprepared" && onUnprepared !== undefined) done(undefined, onUnprepared())
          else done(err)
        } else {
          m.requestEnded(performance.now() - started, undefined)
          done(undefined, onResponse(res!))
        }
      })
      if (id >= 0) {
        waiting = WaitingRequests.current()
        waiting?.set(conn, id, m, started)
      }
    }

    /** `sendOn` as an Effect: one `Effect.async`, with no canceler (see WaitingRequests). */
    const send = <A>(
      conn: Connection,
      req: Request.Request,
      opts: SendOptions,
      onResponse: (res: Res.Response) => Effect.Effect<A, RequestError>,
      onUnprepared?: () => Effect.Effect<A, RequestError>
    ) => Effect.async<A, RequestError>((resume) => sendOn(conn, req, opts, onResponse, onUnprepared, doneWith(resume)))

    /** The span name and options of one connection, operation, keyspace and query: built once, then reused. */
    const spanOptionsOf = (operation: string, query: string, conn: Connection, namespace: string): CachedSpanOptions => {
      let byQuery = spanOptions.get(conn)
      if (byQuery === undefined) spanOptions.set(conn, (byQuery = new Map()))
      const cached = byQuery.get(query)
      if (cached !== undefined && cached.operation === operation && cached.namespace === namespace) return cached
      // Bounded: unprepared statements with literals would otherwise grow it without end.
      if (byQuery.size >= SPAN_OPTIONS_PER_CONNECTION) byQuery.clear()
      const made: CachedSpanOptions = {
        operation,
        namespace,
        name: `cql.${operation}`,
        options: {
          kind: "client",
          captureStackTrace: false,
          attributes: {
            "db.system.name": "cassandra",
            "db.namespace": namespace,
            "db.operation.name": firstWord(query),
            "db.query.text": query,
            "server.address": conn.host,
            "server.port": conn.port
          }
        }
      }
      byQuery.set(query, made)
      return made
    }

    /**
     * Runs `effect` in a client span with the OTel database attributes. `useSpan`, not `withSpan`: the request's
     * own steps start no child span, and providing the span as the parent would copy the fiber's context on every
     * request. Effect's built-in tracer exports nothing: with no tracer provided, a span would cost about a third of
     * the request (ids, attribute map, clock reads) for nothing anyone can read, so none is made. `traced` is read
     * once per request from its fiber (`isTraced`).
     */
    const inSpan = <A>(
      traced: boolean,
      operation: string,
      query: string,
      conn: Connection,
      keyspace: string | undefined,
      effect: Effect.Effect<A, RequestError>
    ): Effect.Effect<A, RequestError> => {
      if (!traced) return effect
      const { name, options } = spanOptionsOf(operation, query, conn, keyspace ?? config.keyspace ?? "")
      return Effect.useSpan(name, options, () => effect)
    }

    /** Why `host` could not take an attempt (no open connection, or every one busy): the plan moves on unsent. */
    const notSent = (host: Host, pick: undefined | "busy"): RequestError =>
      pick === undefined ? new CqlError.NoConnection({ host: host.endpoint }) : new CqlError.BusyConnection({ host: host.endpoint, inFlight: -1 })

    /** One attempt on `host`: a connection of its pool, or a failure that moves the plan on without sending. */
    const onHost = <A>(host: Host, f: (conn: Connection) => Effect.Effect<A, RequestError>): Effect.Effect<A, RequestError> => {
      const pick = pools.get(host.endpoint)?.pick()
      return pick === undefined || pick === "busy" ? Effect.fail(notSent(host, pick)) : f(pick)
    }

    /**
     * Runs a request whose attempts are Effects over the query plan, with the retry and speculative-execution
     * policies; `f` is one attempt on a connection. Not lazy: every caller calls it while its own Effect runs, so
     * the plan is taken per run.
     */
    const overPlan = <A>(
      routing: LoadBalancingPolicy.Routing,
      idempotent: boolean,
      f: (conn: Connection) => Effect.Effect<A, RequestError>
    ): Effect.Effect<A, RequestError> => {
      if (closed) return Effect.fail(new CqlError.SessionClosed({ message: "the session is closed" }))
      return RequestExecution.start({
        plan: sessionProfile.loadBalancing.newQueryPlan(metadata.current(), routing),
        attempt: (host) => onHost(host, f),
        retry: sessionProfile.retry,
        speculative: sessionProfile.speculativeExecution,
        idempotent
      })
    }

    /**
     * Runs a request whose attempts are plain callbacks (`Attempt`) over the query plan, from inside an
     * `Effect.async` register whose `resume` gets the outcome. Untraced, the first attempt is sent from here with
     * no Effect step (`RequestExecution.startPlain`); retries, speculative executions and traced attempts (each in
     * its span) run as Effects.
     */
    const request = <A>(
      resume: (outcome: Effect.Effect<A, RequestError>) => void,
      span: SpanTarget,
      routing: LoadBalancingPolicy.Routing,
      idempotent: boolean,
      profile: ExecutionProfile.ExecutionProfile,
      attempt: Attempt<A>
    ): void => {
      if (closed) return resume(Effect.fail(new CqlError.SessionClosed({ message: "the session is closed" })))
      const options: RequestExecution.ExecuteOptions<A> = {
        plan: profile.loadBalancing.newQueryPlan(metadata.current(), routing),
        attempt: (host, _attempt, consistency) =>
          onHost(host, (conn) =>
            inSpan(span.traced, span.operation, span.query, conn, span.keyspace, attemptEffect(attempt, conn, consistency))
          ),
        retry: profile.retry,
        speculative: profile.speculativeExecution,
        idempotent
      }
      if (span.traced) return resume(RequestExecution.start(options))
      RequestExecution.startPlain(
        options,
        (host, done) => {
          const pick = pools.get(host.endpoint)?.pick()
          if (pick === undefined || pick === "busy") done(notSent(host, pick))
          else attempt(pick, undefined, done)
        },
        resume
      )
    }

    const sendPrepare = (conn: Connection, query: string, keyspace: string | undefined) =>
      send(conn, { _tag: "Prepare", query, ...(keyspace === undefined || protocolVersion < 5 ? {} : { keyspace }) }, { timeoutMs: requestTimeoutMs }, (res) => {
        if (res._tag !== "Prepared") {
          return Effect.fail(new CqlError.ConnectionError({ host: hostIdOf(conn), message: `PREPARE answered with ${res._tag}` }))
        }
        const statement: Registry.PreparedStatement = {
          query,
          keyspace,
          id: res.id,
          resultMetadataId: res.resultMetadataId,
          bindColumns: res.metadata.columns,
          bindTypes: res.metadata.columns.map((c) => c.type),
          pkIndexes: res.metadata.pkIndexes,
          resultColumns: res.resultMetadata.columns ?? []
        }
        registry.putPrepared(statement)
        registry.markPreparedOn(hostIdOf(conn), keyspace, query)
        return Effect.succeed(statement)
      })

    // Concurrent first executions of one statement on one host share a single PREPARE (per host: a re-prepare after
    // UNPREPARED must reach that host, not join a PREPARE running elsewhere).
    const preparing = new Map<string, Deferred.Deferred<Registry.PreparedStatement, RequestError>>()
    const prepareOn = (conn: Connection, query: string, keyspace: string | undefined) =>
      Effect.suspend(() => {
        const key = `${hostIdOf(conn)}\u0000${keyspace ?? ""}\u0000${query}`
        const pending = preparing.get(key)
        if (pending !== undefined) return Deferred.await(pending)
        const deferred = Deferred.unsafeMake<Registry.PreparedStatement, RequestError>(FiberId.none)
        preparing.set(key, deferred)
        return sendPrepare(conn, query, keyspace).pipe(
          Effect.exit,
          Effect.flatMap((exit) => {
            preparing.delete(key)
            return Deferred.done(deferred, exit).pipe(Effect.zipRight(exit))
          })
        )
      })

    const prepare = (query: string, options?: { readonly keyspace?: string }): Effect.Effect<Registry.PreparedStatement, RequestError> =>
      Effect.withFiberRuntime((fiber) => {
        const keyspace = options?.keyspace ?? config.keyspace
        const cached = registry.getPrepared(keyspace, query)
        // PREPARE changes nothing on the server: safe to retry anywhere. Once one node has it, the executor prepares it
        // on the others in the background, so that their first EXECUTE does not come back UNPREPARED.
        return cached !== undefined
          ? Effect.succeed(cached)
          : overPlan({ keyspace }, true, (conn) => inSpan(isTraced(fiber), "prepare", query, conn, keyspace, prepareOn(conn, query, keyspace))).pipe(
              Effect.tap(() => executor.submit("prepare on all hosts", prepareEverywhere(query, keyspace)))
            )
      })

    const prepareEverywhere = (query: string, keyspace: string | undefined) =>
      Effect.forEach(
        metadata.current().hosts.values(),
        (host) => {
          const conn = pools.get(host.endpoint)?.pick()
          return conn === undefined || conn === "busy" || registry.isPreparedOn(hostIdOf(conn), keyspace, query)
            ? Effect.void
            : Effect.ignore(prepareOn(conn, query, keyspace))
        },
        { concurrency: 4, discard: true }
      )

    // A host back UP may have lost its prepared statements (a restart before Cassandra 4.0 forgets them; a replaced
    // node never had them): prepare every known statement there now, rather than on each one's first UNPREPARED.
    const prepareAllOn = (endpoint: string) =>
      Effect.forEach(
        registry.allPrepared(),
        (s) => {
          const conn = pools.get(endpoint)?.pick()
          return conn === undefined || conn === "busy" ? Effect.void : Effect.ignore(prepareOn(conn, s.query, s.keyspace))
        },
        { concurrency: 4, discard: true }
      )
    yield* pools.stateChanges.pipe(
      Stream.runForEach((change) =>
        change.state === "up" ? executor.submit("prepare on a host back up", prepareAllOn(change.endpoint)) : Effect.void
      ),
      Effect.forkScoped
    )

    const bindByName = (columns: ReadonlyArray<Rows.ColumnSpec>, params: Readonly<Record<string, unknown>>) =>
      columns.map((c) => (Object.hasOwn(params, c.name) ? params[c.name] : undefined))

    const queryParameters = (
      options: Statement.QueryOptions | undefined,
      values: ReadonlyArray<unknown> | undefined,
      types: ReadonlyArray<DataType.DataType> | undefined,
      names: ReadonlyArray<string> | undefined,
      skipMetadata: boolean
    ): Request.QueryParameters => {
      // Built by assignment: optional fields are left out rather than set to undefined (exactOptionalPropertyTypes).
      const p: Mutable<Request.QueryParameters> = {
        consistency: options?.consistency ?? defaultConsistency,
        skipMetadata,
        pageSize: options?.pageSize ?? defaultPageSize,
        timestamp: options?.timestamp ?? timestamps.next()
      }
      if (values !== undefined) p.values = values
      if (types !== undefined) p.types = types
      if (names !== undefined) p.names = names
      if (options !== undefined) {
        if (options.pagingState !== undefined) p.pagingState = options.pagingState
        if (options.serialConsistency !== undefined) p.serialConsistency = options.serialConsistency
        if (options.keyspace !== undefined) p.keyspace = options.keyspace
        if (options.nowInSeconds !== undefined) p.nowInSeconds = options.nowInSeconds
      }
      return p
    }

    const toResultSet = (res: Res.Response, conn: Connection): ResultSet<Rows.Row> => {
      const rows = res._tag === "Rows" ? res.rows : []
      const first = rows[0]
      const applied = first === undefined ? undefined : first["[applied]"]
      return {
        rows,
        columns: res._tag === "Rows" ? res.columns : [],
        pagingState: res._tag === "Rows" ? res.metadata.pagingState : undefined,
        applied: typeof applied === "boolean" ? applied : undefined,
        warnings: res.warnings ?? [],
        tracingId: res.tracingId === undefined ? undefined : formatUuid(res.tracingId),
        customPayload: res.customPayload,
        schemaInAgreement: undefined,
        coordinator: hostIdOf(conn)
      }
    }

    /**
     * Schema agreement after DDL on `coordinator`: its own schema version (read on the same connection, so it is the
     * version after the change) must be what every live node reports. Checking only that the nodes agree could
     * pass before the change has even reached the control node's view.
     */
    const awaitAgreement = (coordinator: Connection): Effect.Effect<boolean> => {
      const localVersion = send(
        coordinator,
        { _tag: "Query", query: "SELECT schema_version FROM system.local", params: { consistency: "ONE" } },
        { timeoutMs: requestTimeoutMs },
        (res) => Effect.succeed(res._tag === "Rows" ? String(res.rows[0]?.["schema_version"] ?? "") : "")
      )
      const deadline = Date.now() + Duration.toMillis(schemaAgreementTimeout)
      const check = (target: string): Effect.Effect<boolean> =>
        Effect.flatMap(control.awaitSchemaAgreement(Duration.millis(Math.max(0, deadline - Date.now()))), (a) => {
          const settled = a.agreed && [...a.versions.values()].every((v) => v === target)
          if (settled) return Effect.succeed(true)
          if (Date.now() >= deadline) return Effect.succeed(false)
          return Effect.zipRight(Effect.sleep("200 millis"), check(target))
        })
      return localVersion.pipe(
        Effect.flatMap((target) => (target === "" ? Effect.succeed(false) : check(target))),
        Effect.orElseSucceed(() => false)
      )
    }

    /** Rows through the registered UDT Schemas and the statement's row Schema; warnings logged. Plain TS unless warned. */
    const finish = <A>(
      statement: Statement.Statement<A>,
      raw: ResultSet<Rows.Row>,
      schemaChanged = false,
      conn?: Connection
    ): Effect.Effect<ResultSet<A>, RequestError> => {
      let rs = raw
      // The UDT walk and the row Schema only when there is something to do: no Either is made per request otherwise.
      if (raw.rows.length > 0 && registry.udtCount() > 0) {
        const mapped = UdtMapping.decodeRows(registry, raw.columns, raw.rows)
        if (Either.isLeft(mapped)) {
          return Effect.fail(new CqlError.SchemaMismatch({ message: `a UDT value of "${statement.query}" does not match its registered Schema`, cause: mapped.left }))
        }
        if (mapped.right !== raw.rows) rs = { ...raw, rows: mapped.right }
      }
      let out = rs as ResultSet<any> as ResultSet<A>
      if (statement.rowSchema !== undefined) {
        const decoded = Statement.decodeRows(statement, rs.rows)
        if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
        out = { ...rs, rows: decoded.right }
      }
      if (schemaChanged && conn !== undefined) {
        // DDL: wait until the nodes agree on the schema, so the next statement sees it wherever it lands.
        return Effect.map(awaitAgreement(conn), (agreed) => ({ ...out, schemaInAgreement: agreed }))
      }
      return out.warnings.length === 0
        ? Effect.succeed(out)
        : Effect.as(Effect.logWarning(`Cassandra warned about "${statement.query}": ${out.warnings.join("; ")}`), out)
    }

    /** A statement's options with a retry decision's consistency, when it changed one. */
    const atConsistency = (options: Statement.QueryOptions | undefined, consistency: Consistency.Consistency | undefined) =>
      consistency === undefined ? options : { ...options, consistency }

    const plainSendOptions: SendOptions = { timeoutMs: requestTimeoutMs, tracing: false }
    /** One object per request at most; none for a statement with no timeout, tracing or result columns. */
    const sendOptions = (options: Statement.QueryOptions | undefined, resultColumns?: ReadonlyArray<Rows.ColumnSpec>): SendOptions => {
      const timeout = options?.timeout
      const tracing = options?.tracing === true
      if (timeout === undefined && !tracing && resultColumns === undefined) return plainSendOptions
      const timeoutMs = timeout === undefined ? requestTimeoutMs : Duration.toMillis(timeout)
      return resultColumns === undefined ? { timeoutMs, tracing } : { timeoutMs, tracing, resultColumns }
    }

    /** An unprepared statement, as QUERY. */
    const queryAttempt =
      <A>(statement: Statement.Statement<A>, params: Statement.Params | undefined, options: Statement.QueryOptions | undefined): Attempt<ResultSet<A>> =>
      (conn, consistency, done) => {
        const opts = atConsistency(options, consistency)
        const named = params !== undefined && isRecord(params)
        const values = params === undefined ? undefined : named ? Object.values(params) : (params as ReadonlyArray<unknown>)
        const req: Mutable<Request.Query> = {
          _tag: "Query",
          query: statement.query,
          params: queryParameters(opts, values, undefined, named ? Object.keys(params) : undefined, false)
        }
        if (opts?.customPayload !== undefined) req.customPayload = opts.customPayload
        sendOn(conn, req, sendOptions(opts), (res) => finish(statement, toResultSet(res, conn), res._tag === "SchemaChange", conn), undefined, done)
      }

    /** A prepared statement, as EXECUTE; UNPREPARED re-prepares it on that connection and retries once. */
    const executeAttempt =
      <A>(
        statement: Statement.Statement<A>,
        prepared: Registry.PreparedStatement,
        values: ReadonlyArray<unknown>,
        options: Statement.QueryOptions | undefined,
        retryUnprepared: boolean
      ): Attempt<ResultSet<A>> =>
      (conn, consistency, done) => {
        const opts = atConsistency(options, consistency)
        const req: Mutable<Request.Execute> = {
          _tag: "Execute",
          id: prepared.id,
          params: queryParameters(opts, values, prepared.bindTypes, undefined, prepared.resultColumns.length > 0)
        }
        if (prepared.resultMetadataId !== undefined) req.resultMetadataId = prepared.resultMetadataId
        if (opts?.customPayload !== undefined) req.customPayload = opts.customPayload
        sendOn(
          conn,
          req,
          sendOptions(opts, prepared.resultColumns),
          (res) => {
            // v5 Metadata_changed: keep the new result metadata for the next executions.
            if (res._tag === "Rows" && res.metadata.newMetadataId !== undefined && res.metadata.columns !== undefined) {
              registry.updateResultMetadata(prepared, res.metadata.newMetadataId, res.metadata.columns)
            }
            return finish(statement, toResultSet(res, conn), res._tag === "SchemaChange", conn)
          },
          // The node lost the statement (restart, schema change): prepare it again there and retry, unseen by the caller.
          retryUnprepared
            ? () =>
                Effect.flatMap(prepareOn(conn, prepared.query, prepared.keyspace), (p) =>
                  attemptEffect(executeAttempt(statement, p, values, opts, false), conn, undefined)
                )
            : undefined,
          done
        )
      }

    const toStatement = <A>(q: string | Statement.Statement<A>, params?: Statement.Params, options?: Statement.QueryOptions): Statement.Statement<A> =>
      typeof q === "string" ? ({ query: q, params, options } as Statement.Statement<A>) : q

    /** The values to bind to a prepared statement: by position or name, through the registered UDT Schemas. */
    const bindValues = (prepared: Registry.PreparedStatement, params: Statement.Params | undefined): Either.Either<ReadonlyArray<unknown>, CqlError.SchemaMismatch> => {
      const encoded = UdtMapping.encodeValues(registry, prepared.bindTypes, params === undefined ? [] : isRecord(params) ? bindByName(prepared.bindColumns, params) : params)
      return Either.isRight(encoded)
        ? (encoded as Either.Either<ReadonlyArray<unknown>, never>)
        : Either.left(new CqlError.SchemaMismatch({ message: `a parameter of "${prepared.query}" does not match its UDT Schema`, cause: encoded.left }))
    }

    /**
     * A statement's request: one `Effect.async` whose register does the rest in plain TypeScript (options, the
     * registry lookup, binding, routing, the plan and the first attempt). Only a statement not prepared yet, a
     * retry, tracing or a speculative execution brings in further Effect steps.
     */
    const runStatement = <A>(statement: Statement.Statement<A>, extra?: Statement.QueryOptions): Effect.Effect<ResultSet<A>, RequestError> =>
      Effect.async<ResultSet<A>, RequestError>((resume) => {
        const params = Statement.encodeParams(statement)
        if (Either.isLeft(params)) return resume(Effect.fail(params.left))
        const own = extra === undefined ? statement.options : { ...statement.options, ...extra }
        const fiber = Fiber.getCurrentFiber()
        const profile = profileFor(own, fiber)
        if (profile instanceof ExecutionProfile.UnknownProfile) return resume(Effect.fail(profile))
        const options = overProfile(own, profile)
        const keyspace = options?.keyspace ?? config.keyspace
        const idempotent = options?.idempotent === true
        const consistency = options?.consistency ?? defaultConsistency
        const p = params.right
        const span: SpanTarget = { traced: Option.isSome(fiber) && isTraced(fiber.value), operation: "execute", query: statement.query, keyspace }
        const usePrepared = options?.prepare ?? (p !== undefined && (Array.isArray(p) ? p.length > 0 : Object.keys(p).length > 0))
        if (!usePrepared) return request(resume, span, { keyspace, consistency }, idempotent, profile, queryAttempt(statement, p, options))
        const run = (prepared: Registry.PreparedStatement, resume: (outcome: Effect.Effect<ResultSet<A>, RequestError>) => void): void => {
          const values = bindValues(prepared, p)
          if (Either.isLeft(values)) return resume(Effect.fail(values.left))
          const routing = { keyspace: prepared.bindColumns[0]?.keyspace ?? keyspace, routingKey: TokenMap.routingKeyOfValues(prepared.bindTypes, values.right, prepared.pkIndexes), consistency }
          request(resume, span, routing, idempotent, profile, executeAttempt(statement, prepared, values.right, options, true))
        }
        const cached = registry.getPrepared(keyspace, statement.query)
        if (cached !== undefined) return run(cached, resume)
        resume(
          Effect.flatMap(prepare(statement.query, keyspace === undefined ? undefined : { keyspace }), (prepared) =>
            Effect.async<ResultSet<A>, RequestError>((r) => run(prepared, r))
          )
        )
      })

    const execute = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, options?: Statement.QueryOptions) =>
      runStatement(toStatement(q, params, options))) as Session["execute"]

    const stream = (<A>(q: string | Statement.Statement<A>, params?: Statement.Params, options?: Statement.QueryOptions) => {
      const statement = toStatement(q, params, options)
      return Stream.paginateChunkEffect(statement.options?.pagingState, (pagingState) =>
        runStatement(statement, pagingState === undefined ? undefined : { pagingState }).pipe(
          Effect.map((rs) => [Chunk.unsafeFromArray(rs.rows as Array<A>), Option.fromNullable<Uint8Array | undefined>(rs.pagingState)] as const)
        )
      )
    }) as Session["stream"]

    /**
     * The children of a batch, bound, and its routing key; or the first error; or the query of a child with values
     * that is not prepared yet (the caller prepares it and builds the batch again: once per statement and session).
     */
    const batchChildren = (
      statements: ReadonlyArray<Statement.Statement<unknown> | string>,
      keyspace: string | undefined
    ): Either.Either<BoundBatch, RequestError> | string => {
      const children: Array<Request.BatchStatement> = []
      let routingKey: Uint8Array | undefined
      for (let i = 0; i < statements.length; i++) {
        const s = statements[i]!
        const st = typeof s === "string" ? { query: s } : s
        const params = Statement.encodeParams(st)
        if (Either.isLeft(params)) return Either.left(params.left)
        const p = params.right
        if (p === undefined || (Array.isArray(p) && p.length === 0)) {
          children.push({ query: st.query, values: [] })
          continue
        }
        const prepared = registry.getPrepared(keyspace, st.query)
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
      const run = (resume: (outcome: Effect.Effect<ResultSet, RequestError>) => void): void => {
        const fiber = Fiber.getCurrentFiber()
        const profile = profileFor(batchOptions, fiber)
        if (profile instanceof ExecutionProfile.UnknownProfile) return resume(Effect.fail(profile))
        const options = overProfile(batchOptions, profile)
        const keyspace = options?.keyspace ?? config.keyspace
        const built = batchChildren(statements, keyspace)
        if (typeof built === "string") {
          return resume(Effect.flatMap(prepare(built, keyspace === undefined ? undefined : { keyspace }), () => Effect.async(run)))
        }
        if (Either.isLeft(built)) return resume(Effect.fail(built.left))
        const { children, routingKey } = built.right
        const span: SpanTarget = { traced: Option.isSome(fiber) && isTraced(fiber.value), operation: "batch", query: "BATCH", keyspace }
        const consistency = options?.consistency ?? defaultConsistency
        request(resume, span, { keyspace, routingKey, consistency }, options?.idempotent === true, profile, (conn, cl, done) => {
          const req: Mutable<Request.Batch> = {
            _tag: "Batch",
            type: options?.type ?? "LOGGED",
            statements: children,
            consistency: cl ?? consistency,
            timestamp: options?.timestamp ?? timestamps.next()
          }
          if (options?.serialConsistency !== undefined) req.serialConsistency = options.serialConsistency
          if (options?.keyspace !== undefined) req.keyspace = options.keyspace
          if (options?.nowInSeconds !== undefined) req.nowInSeconds = options.nowInSeconds
          if (options?.customPayload !== undefined) req.customPayload = options.customPayload
          sendOn(conn, req, sendOptions(options), (res) => finish(batchStatement, toResultSet(res, conn)), undefined, done)
        })
      }
      return Effect.async<ResultSet, RequestError>(run)
    }

    const session: Session = {
      execute,
      prepare,
      batch,
      stream,
      protocolVersion,
      hosts: pooled.map(([endpoint]) => endpoint)
    }
    return session
  })

// "host:port" of a connection, made once per connection rather than per request.
const hostIds = new WeakMap<Connection, string>()
const hostIdOf = (conn: Connection): string => {
  let id = hostIds.get(conn)
  if (id === undefined) {
    id = `${conn.host}:${conn.port}`
    hostIds.set(conn, id)
  }
  return id
}

interface CachedSpanOptions {
  readonly operation: string
  readonly name: string
  readonly namespace: string
  readonly options: Tracer.SpanOptions
}
const SPAN_OPTIONS_PER_CONNECTION = 1024
/** The tracer in effect when none is provided (Effect's own, which exports nothing). */
const builtInTracer = Effect.runSync(Effect.tracer)
/** Whether requests of this fiber make spans: a tracer other than the built-in one is provided. */
const isTraced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean => fiber.currentTracer !== builtInTracer
const spanOptions = new WeakMap<Connection, Map<string, CachedSpanOptions>>()

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

type SendOptions = Parameters<Connection["send"]>[1]

/** One attempt on a connection in plain callbacks, at the consistency a retry decision set (else the statement's). */
type Attempt<A> = (conn: Connection, consistency: Consistency.Consistency | undefined, done: RequestExecution.Done<A>) => void

interface BoundBatch {
  readonly children: Array<Request.BatchStatement>
  readonly routingKey: Uint8Array | undefined
}

/** What a request's span says, when it has one. */
interface SpanTarget {
  readonly traced: boolean
  readonly operation: string
  readonly query: string
  readonly keyspace: string | undefined
}

/** A `Done` that resumes an `Effect.async`. */
const doneWith =
  <A>(resume: (outcome: Effect.Effect<A, RequestError>) => void): RequestExecution.Done<A> =>
  (error, next) =>
    resume(error === undefined ? next! : Effect.fail(error))

/** An attempt as an Effect: one `Effect.async`, no canceler (see WaitingRequests). */
const attemptEffect = <A>(attempt: Attempt<A>, conn: Connection, consistency: Consistency.Consistency | undefined) =>
  Effect.async<A, RequestError>((resume) => attempt(conn, consistency, doneWith(resume)))

/** The statement `finish` reports a batch as (for warnings). */
const batchStatement: Statement.Statement<Rows.Row> = { query: "BATCH" }

const formatUuid = (b: Buffer) => {
  const h = b.toString("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export type ClusterServices = Cluster.ClusterServices

/**
 * A scoped Session over its own cluster (Cluster.layer), whose services are provided too: e.g. to register UDT
 * Schemas, read metrics, watch host events or read the metadata. The control connection's failure to reach any
 * contact point is a NoHostAvailable, or an AuthenticationError when every host refused the credentials.
 */
export const layer = (config: SessionConfig): Layer.Layer<Session | ClusterServices, RequestError> =>
  Layer.scoped(Session, make(config)).pipe(
    Layer.provideMerge(Cluster.layer(config)),
    Layer.mapError((e): RequestError => {
      if (e._tag !== "NoHostAvailable") return new CqlError.ConnectionError({ host: e.host ?? "", message: e.message, cause: e.cause })
      // The control connection wraps each host's failure; an authentication refusal is the caller's to fix.
      for (const [host, cause] of e.errors) {
        const inner = cause instanceof ControlConnection.ControlConnectionError ? cause.cause : cause
        if (inner instanceof CqlError.AuthenticationError) return inner
        if (isFailure(inner) && inner._tag === "Auth") return toConnectionError(inner, host)
      }
      return e
    })
  )

const isFailure = (u: unknown): u is ConnectionFailure => typeof u === "object" && u !== null && "_tag" in u && !(u instanceof Error)

/** The same, with settings read through Effect Config (e.g. from the environment). */
export const layerConfig = (
  config: Config.Config.Wrap<SessionConfig>
): Layer.Layer<Session | ClusterServices, RequestError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
