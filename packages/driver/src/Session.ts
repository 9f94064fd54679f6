/**
 * The Session: the public API, a scoped Layer composed from the cluster services (RegistryService,
 * MetricsService, TimestampGenerator, Executor). Closing its scope is safe shutdown: new requests fail with
 * `SessionClosed`, requests in flight get a bounded grace period, then the sockets close.
 *
 * The request path is one `Effect.async` around plain TypeScript: encode into the connection's write queue,
 * register a callback by stream id, and map the decoded response in that callback.
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
import * as FiberId from "effect/FiberId"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type * as tls from "node:tls"
import * as CqlError from "./CqlError.js"
import * as Executor from "./Executor.js"
import { type Connection, type ConnectionFailure, connect } from "./internal/connection.js"
import * as UdtMapping from "./internal/udtMapping.js"
import * as Metrics from "./Metrics.js"
import * as Registry from "./Registry.js"
import type { ResultSet } from "./ResultSet.js"
import * as Statement from "./Statement.js"
import * as TimestampGenerator from "./TimestampGenerator.js"

/** Every error a request can end with. */
export type RequestError =
  | CqlError.ResponseError
  | CqlError.ConnectionError
  | CqlError.RequestTimeout
  | CqlError.BusyConnection
  | CqlError.NoHostAvailable
  | CqlError.SessionClosed
  | CqlError.SchemaMismatch
  | CqlError.EncodeError
  | CqlError.DecodeError

export interface SessionConfig {
  /** "host" or "host:port". */
  readonly contactPoints: ReadonlyArray<string>
  /** Default 9042. */
  readonly port?: number
  /** The data centre whose nodes are local (used by load balancing; recorded for now). */
  readonly localDataCenter?: string
  readonly keyspace?: string
  readonly credentials?: { readonly username: string; readonly password: Redacted.Redacted<string> }
  /** TLS options (certificate and hostname are verified unless `rejectUnauthorized: false`); absent = plain TCP. */
  readonly tls?: tls.ConnectionOptions
  /** Pin the protocol version; by default v5 is tried, then v4. */
  readonly protocolVersion?: 4 | 5
  readonly compression?: "lz4" | "snappy" | "none"
  /** Connections per host. Default 1 (each carries up to `maxRequestsPerConnection` requests at once). */
  readonly connectionsPerHost?: number
  readonly maxRequestsPerConnection?: number
  readonly connectTimeout?: Duration.DurationInput
  readonly requestTimeout?: Duration.DurationInput
  readonly heartbeatInterval?: Duration.DurationInput
  /** How long shutdown waits for requests in flight before interrupting them. Default 5 s. */
  readonly shutdownGracePeriod?: Duration.DurationInput
  readonly defaultConsistency?: Consistency.Consistency
  /** Rows per page when a statement does not say. Default 5000. */
  readonly defaultPageSize?: number
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
  /** The protocol version every connection of this session speaks. */
  readonly protocolVersion: 4 | 5
  readonly hosts: ReadonlyArray<string>
}

export const Session = Context.GenericTag<Session>("@effect-cql/driver/Session")

const millis = (d: Duration.DurationInput | undefined, fallback: number) => (d === undefined ? fallback : Duration.toMillis(d))

const parseContactPoint = (s: string, defaultPort: number) => {
  const m = /^\[(.+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s)
  return m ? { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort } : { host: s, port: defaultPort }
}

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

const isConnectionFailure = (u: unknown): u is ConnectionFailure =>
  typeof u === "object" && u !== null && "_tag" in u && !(u instanceof Error)

const firstWord = (q: string) => /^\s*(\w+)/.exec(q)?.[1]?.toUpperCase() ?? "UNKNOWN"

const isRecord = (p: Statement.Params): p is Readonly<Record<string, unknown>> => !Array.isArray(p)

/** Builds the Session over already-provided cluster services. */
export const make = (config: SessionConfig) =>
  Effect.gen(function* () {
    const registry = yield* Registry.RegistryService
    const metrics = yield* Metrics.MetricsService
    const timestamps = yield* TimestampGenerator.TimestampGenerator
    yield* Executor.Executor

    const port = config.port ?? 9042
    const requestTimeoutMs = millis(config.requestTimeout, 12_000)
    const graceMs = millis(config.shutdownGracePeriod, 5_000)
    const defaultConsistency = config.defaultConsistency ?? "LOCAL_ONE"
    const defaultPageSize = config.defaultPageSize ?? 5000
    const perHost = Math.max(1, config.connectionsPerHost ?? 1)

    const connections: Array<Connection> = []
    let closed = false

    yield* Effect.addFinalizer(() =>
      Effect.promise(() => {
        closed = true
        return Promise.allSettled(connections.map((c) => c.close(graceMs)))
      }).pipe(Effect.timeoutOption(graceMs + 2_000))
    )

    const failures = new Map<string, unknown>()
    const opened = yield* Effect.forEach(
      config.contactPoints.flatMap((cp) => Array.from({ length: perHost }, () => parseContactPoint(cp, port))),
      ({ host, port }) =>
        Effect.tryPromise({
          try: () =>
            connect({
              host,
              port,
              ...(config.protocolVersion === undefined ? {} : { protocolVersion: config.protocolVersion }),
              ...(config.compression === undefined ? {} : { compression: config.compression }),
              ...(config.credentials === undefined
                ? {}
                : { credentials: { username: config.credentials.username, password: Redacted.value(config.credentials.password) } }),
              ...(config.tls === undefined ? {} : { tls: config.tls }),
              ...(config.keyspace === undefined ? {} : { keyspace: config.keyspace }),
              connectTimeoutMs: millis(config.connectTimeout, 5_000),
              requestTimeoutMs,
              heartbeatIntervalMs: millis(config.heartbeatInterval, 30_000),
              ...(config.maxRequestsPerConnection === undefined ? {} : { maxInFlight: config.maxRequestsPerConnection }),
              driverName: "effect-cql",
              driverVersion: "0.1.0"
            }),
          catch: (e) => e
        }).pipe(
          Effect.tap((c) =>
            Effect.sync(() => {
              connections.push(c)
              const m = metrics.forHost(`${host}:${port}`)
              m.connectionOpened()
              c.onClose(() => m.connectionClosed())
            })
          ),
          Effect.tapError((e) =>
            Effect.sync(() => {
              const id = `${host}:${port}`
              failures.set(id, isConnectionFailure(e) ? toConnectionError(e, id) : e)
            })
          ),
          Effect.option
        ),
      { concurrency: "unbounded" }
    )
    if (opened.every(Option.isNone)) {
      const auth = [...failures.values()].find((f) => f instanceof CqlError.AuthenticationError)
      if (auth !== undefined) return yield* Effect.fail(auth)
      return yield* Effect.fail(new CqlError.NoHostAvailable({ errors: failures }))
    }
    const protocolVersion = connections[0]!.version

    // Round robin over open connections; a closed one is skipped (topology-aware plans come with the cluster layer).
    let next = 0
    const pick = (): Connection | undefined => {
      for (let i = 0; i < connections.length; i++) {
        const c = connections[next++ % connections.length]!
        if (c.isOpen) return c
      }
      return undefined
    }

    /**
     * One attempt on one connection: the only Effect.async of the request path. `onResponse` maps the decoded
     * response in plain TypeScript and returns the Effect to resume with; `onUnprepared`, when given, is what to
     * resume with if the node answers UNPREPARED (re-prepare and retry).
     */
    const send = <A>(
      conn: Connection,
      req: Request.Request,
      opts: SendOptions,
      onResponse: (res: Res.Response) => Effect.Effect<A, RequestError>,
      onUnprepared?: () => Effect.Effect<A, RequestError>
    ) =>
      Effect.async<A, RequestError>((resume) => {
        const m = metrics.forHost(hostIdOf(conn))
        const started = performance.now()
        m.requestStarted()
        const id = conn.send(req, opts, (failure, res) => {
          if (failure !== undefined) {
            const err = toConnectionError(failure, hostIdOf(conn))
            m.requestEnded(performance.now() - started, err._tag)
            resume(Effect.fail(err))
          } else if (res!._tag === "Error") {
            const err = CqlError.fromWire(res.error, hostIdOf(conn))
            m.requestEnded(performance.now() - started, err._tag)
            resume(err._tag === "Unprepared" && onUnprepared !== undefined ? onUnprepared() : Effect.fail(err))
          } else {
            m.requestEnded(performance.now() - started, undefined)
            resume(onResponse(res!))
          }
        })
        return id < 0 ? undefined : Effect.sync(() => conn.cancel(id))
      })

    const span = (operation: string, query: string, conn: Connection, keyspace: string | undefined) =>
      Effect.withSpan(`cql.${operation}`, {
        kind: "client",
        captureStackTrace: false,
        attributes: {
          "db.system.name": "cassandra",
          "db.namespace": keyspace ?? config.keyspace ?? "",
          "db.operation.name": firstWord(query),
          "db.query.text": query,
          "server.address": conn.host,
          "server.port": conn.port
        }
      })

    /** Runs `f` on the next connection of the plan, or fails at once when the session is closed or no host is up. */
    const withConnection = <A>(f: (conn: Connection) => Effect.Effect<A, RequestError>): Effect.Effect<A, RequestError> =>
      Effect.suspend(() => {
        if (closed) return Effect.fail(new CqlError.SessionClosed({ message: "the session is closed" }))
        const conn = pick()
        if (conn === undefined) return Effect.fail(new CqlError.NoHostAvailable({ errors: new Map([["*", "every connection is closed"]]) }))
        return f(conn)
      })

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
        return Effect.succeed(statement)
      })

    // Concurrent first executions of one statement share a single PREPARE.
    const preparing = new Map<string, Deferred.Deferred<Registry.PreparedStatement, RequestError>>()
    const prepareOn = (conn: Connection, query: string, keyspace: string | undefined) =>
      Effect.suspend(() => {
        const key = `${keyspace ?? ""}\u0000${query}`
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

    const prepare = (query: string, options?: { readonly keyspace?: string }) =>
      withConnection((conn) => {
        const keyspace = options?.keyspace ?? config.keyspace
        const cached = registry.getPrepared(keyspace, query)
        return cached !== undefined ? Effect.succeed(cached) : prepareOn(conn, query, keyspace).pipe(span("prepare", query, conn, keyspace))
      })

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
        coordinator: hostIdOf(conn)
      }
    }

    /** Rows through the registered UDT Schemas and the statement's row Schema; warnings logged. Plain TS unless warned. */
    const finish = <A>(statement: Statement.Statement<A>, raw: ResultSet<Rows.Row>): Effect.Effect<ResultSet<A>, RequestError> => {
      let rs = raw
      if (raw.rows.length > 0) {
        const mapped = UdtMapping.decodeRows(registry, raw.columns, raw.rows)
        if (Either.isLeft(mapped)) {
          return Effect.fail(new CqlError.SchemaMismatch({ message: `a UDT value of "${statement.query}" does not match its registered Schema`, cause: mapped.left }))
        }
        if (mapped.right !== raw.rows) rs = { ...raw, rows: mapped.right }
      }
      const decoded = Statement.decodeRows(statement, rs.rows)
      if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
      const out: ResultSet<A> = decoded.right === (rs.rows as ReadonlyArray<unknown>) ? (rs as ResultSet<any>) : { ...rs, rows: decoded.right }
      return out.warnings.length === 0
        ? Effect.succeed(out)
        : Effect.as(Effect.logWarning(`Cassandra warned about "${statement.query}": ${out.warnings.join("; ")}`), out)
    }

    const runOnce = <A>(
      conn: Connection,
      statement: Statement.Statement<A>,
      params: Statement.Params | undefined,
      options: Statement.QueryOptions | undefined
    ): Effect.Effect<ResultSet<A>, RequestError> => {
      const query = statement.query
      const opts: SendOptions = {
        timeoutMs: options?.timeout === undefined ? requestTimeoutMs : Duration.toMillis(options.timeout),
        tracing: options?.tracing === true
      }
      const keyspace = options?.keyspace ?? config.keyspace
      const usePrepared = options?.prepare ?? (params !== undefined && (Array.isArray(params) ? params.length > 0 : Object.keys(params).length > 0))
      if (!usePrepared) {
        const named = params !== undefined && isRecord(params)
        const values = params === undefined ? undefined : named ? Object.values(params) : (params as ReadonlyArray<unknown>)
        const req: Mutable<Request.Query> = { _tag: "Query", query, params: queryParameters(options, values, undefined, named ? Object.keys(params) : undefined, false) }
        if (options?.customPayload !== undefined) req.customPayload = options.customPayload
        return send(conn, req, opts, (res) => finish(statement, toResultSet(res, conn)))
      }
      const execute = (prepared: Registry.PreparedStatement, retryUnprepared: boolean): Effect.Effect<ResultSet<A>, RequestError> => {
        const bound = params === undefined ? [] : isRecord(params) ? bindByName(prepared.bindColumns, params) : params
        const encoded = UdtMapping.encodeValues(registry, prepared.bindTypes, bound)
        if (Either.isLeft(encoded)) {
          return Effect.fail(new CqlError.SchemaMismatch({ message: `a parameter of "${query}" does not match its UDT Schema`, cause: encoded.left }))
        }
        const req: Mutable<Request.Execute> = {
          _tag: "Execute",
          id: prepared.id,
          params: queryParameters(options, encoded.right, prepared.bindTypes, undefined, prepared.resultColumns.length > 0)
        }
        if (prepared.resultMetadataId !== undefined) req.resultMetadataId = prepared.resultMetadataId
        if (options?.customPayload !== undefined) req.customPayload = options.customPayload
        return send(
          conn,
          req,
          { ...opts, resultColumns: prepared.resultColumns },
          (res) => {
            // v5 Metadata_changed: keep the new result metadata for the next executions.
            if (res._tag === "Rows" && res.metadata.newMetadataId !== undefined && res.metadata.columns !== undefined) {
              registry.updateResultMetadata(prepared, res.metadata.newMetadataId, res.metadata.columns)
            }
            return finish(statement, toResultSet(res, conn))
          },
          // The node lost the statement (restart, schema change): prepare it again there and retry, unseen by the caller.
          retryUnprepared ? () => Effect.flatMap(prepareOn(conn, query, keyspace), (p) => execute(p, false)) : undefined
        )
      }
      const cached = registry.getPrepared(keyspace, query)
      return cached !== undefined ? execute(cached, true) : Effect.flatMap(prepareOn(conn, query, keyspace), (p) => execute(p, true))
    }

    const toStatement = <A>(q: string | Statement.Statement<A>, params?: Statement.Params, options?: Statement.QueryOptions): Statement.Statement<A> =>
      typeof q === "string" ? ({ query: q, params, options } as Statement.Statement<A>) : q

    const runStatement = <A>(statement: Statement.Statement<A>, extra?: Statement.QueryOptions): Effect.Effect<ResultSet<A>, RequestError> =>
      withConnection((conn) => {
        const params = Statement.encodeParams(statement)
        if (Either.isLeft(params)) return Effect.fail(params.left)
        const options = extra === undefined ? statement.options : { ...statement.options, ...extra }
        return runOnce(conn, statement, params.right, options).pipe(span("execute", statement.query, conn, options?.keyspace))
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

    const batch = (statements: ReadonlyArray<Statement.Statement<unknown> | string>, options?: Statement.BatchOptions) =>
      withConnection((conn) =>
        Effect.gen(function* () {
          const keyspace = options?.keyspace ?? config.keyspace
          const children: Array<Request.BatchStatement> = []
          for (const s of statements) {
            const st = typeof s === "string" ? { query: s } : s
            const params = Statement.encodeParams(st)
            if (Either.isLeft(params)) return yield* params.left
            const values = params.right === undefined ? [] : params.right
            if (Array.isArray(values) && values.length === 0) {
              children.push({ query: st.query, values: [] })
            } else {
              const prepared = registry.getPrepared(keyspace, st.query) ?? (yield* prepareOn(conn, st.query, keyspace))
              const bound = UdtMapping.encodeValues(registry, prepared.bindTypes, isRecord(values) ? bindByName(prepared.bindColumns, values) : values)
              if (Either.isLeft(bound)) {
                return yield* new CqlError.SchemaMismatch({ message: `a parameter of "${st.query}" does not match its UDT Schema`, cause: bound.left })
              }
              children.push({ id: prepared.id, values: bound.right, types: prepared.bindTypes })
            }
          }
          return yield* send(
            conn,
            {
              _tag: "Batch",
              type: options?.type ?? "LOGGED",
              statements: children,
              consistency: options?.consistency ?? defaultConsistency,
              ...(options?.serialConsistency === undefined ? {} : { serialConsistency: options.serialConsistency }),
              timestamp: options?.timestamp ?? timestamps.next(),
              ...(options?.keyspace === undefined ? {} : { keyspace: options.keyspace }),
              ...(options?.nowInSeconds === undefined ? {} : { nowInSeconds: options.nowInSeconds }),
              ...(options?.customPayload === undefined ? {} : { customPayload: options.customPayload })
            },
            { timeoutMs: options?.timeout === undefined ? requestTimeoutMs : Duration.toMillis(options.timeout), tracing: options?.tracing ?? false },
            (res) => finish(batchStatement, toResultSet(res, conn))
          )
        }).pipe(span("batch", "BATCH", conn, options?.keyspace))
      )

    const session: Session = {
      execute,
      prepare,
      batch,
      stream,
      protocolVersion,
      hosts: [...new Set(connections.map((c) => `${c.host}:${c.port}`))]
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

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

type SendOptions = Parameters<Connection["send"]>[1]

/** The statement `finish` reports a batch as (for warnings). */
const batchStatement: Statement.Statement<Rows.Row> = { query: "BATCH" }

const formatUuid = (b: Buffer) => {
  const h = b.toString("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** The cluster services a Session is built on; each is its own Layer, swappable in tests. */
export const clusterServices = Layer.mergeAll(
  Registry.layer,
  Metrics.layer,
  TimestampGenerator.layerMonotonic,
  Executor.layer()
)

export type ClusterServices = Layer.Layer.Success<typeof clusterServices>

/** A scoped Session, with its own cluster services (also provided, e.g. to register UDT Schemas or read metrics). */
export const layer = (config: SessionConfig): Layer.Layer<Session | ClusterServices, RequestError> =>
  Layer.scoped(Session, make(config)).pipe(Layer.provideMerge(clusterServices))

/** The same, with settings read through Effect Config (e.g. from the environment). */
export const layerConfig = (
  config: Config.Config.Wrap<SessionConfig>
): Layer.Layer<Session | ClusterServices, RequestError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
