/**
 * A Session's requests, from a statement (or a batch, or a query to prepare) to a started request handler: the
 * statement's options over its execution profile, the registry lookup, binding (through the registered UDT
 * Schemas), the routing key and the query plan, in plain TypeScript, called from the Session's one `Effect.async`
 * register (or a Promise executor) with the `resume` that gets the outcome.
 *
 * A statement not prepared yet is prepared first (PREPARE over the plan, then in the background on every other
 * host); a `USE` goes to the Session (`use`), never to a connection.
 */
import type { Consistency, Request } from "@effect-cql/protocol"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Fiber from "effect/Fiber"
import * as CqlError from "../../CqlError.js"
import * as ExecutionProfile from "../../ExecutionProfile.js"
import type { Executor } from "../../Executor.js"
import type { ClusterView, HostLoad } from "../../LoadBalancingPolicy.js"
import type { Host, Metadata } from "../../Metadata.js"
import type { MetadataService } from "../../MetadataService.js"
import type * as Registry from "../../Registry.js"
import type { ResultSet } from "../../ResultSet.js"
import * as Statement from "../../Statement.js"
import * as TokenMap from "../../TokenMap.js"
import { bindByName, hasValues, isNamed } from "./messages.js"
import { BatchRequest, ExecuteRequest, PrepareRequest, QueryRequest, type RequestContext, type RequestHandler, type Resume } from "./requestHandler.js"
import { inRequestSpan, isTraced, type Operation, type RequestTrace, type SpanRequest, type SpanSettings } from "./spans.js"
import * as UdtMapping from "./udtMapping.js"
import * as WaitingRequests from "./waitingRequests.js"

type RuntimeFiber = Fiber.RuntimeFiber<unknown, unknown>

export interface SessionSettings {
  readonly ctx: RequestContext
  readonly metadata: MetadataService
  readonly executor: Executor
  readonly profiles: ExecutionProfile.Profiles
  /** `USE ks`: the Session's own keyspace change. */
  readonly use: (keyspace: string) => Effect.Effect<ResultSet<never>, CqlError.RequestError>
  readonly spans: SpanSettings
}

/** The children of a batch, bound, and its routing key. */
interface BoundBatch {
  readonly children: Array<Request.BatchStatement>
  readonly routingKey: Uint8Array | undefined
}

export class SessionRequests {
  private readonly ctx: RequestContext
  private readonly sessionProfile: ExecutionProfile.ExecutionProfile
  /** The hosts' load, from the Session's pools: token-aware plans try busy and silent replicas last. */
  private readonly load: HostLoad = {
    inFlight: (host) => this.ctx.pools.get(host.endpoint)?.inFlight() ?? 0,
    silentMs: (host) => this.ctx.pools.get(host.endpoint)?.silentMs(Date.now()) ?? 0
  }
  private viewOf: Metadata | undefined = undefined
  private cachedView: ClusterView | undefined = undefined

  /** The Session's keyspace now (`USE` changes it). */
  constructor(
    private readonly settings: SessionSettings,
    public keyspace: string | undefined
  ) {
    this.ctx = settings.ctx
    this.sessionProfile = settings.profiles.default
  }

  /** The policies' view: the Metadata snapshot now, with the load; one object per snapshot. */
  private view(): ClusterView {
    const md = this.settings.metadata.current()
    if (md !== this.viewOf || this.cachedView === undefined) {
      this.viewOf = md
      this.cachedView = { hosts: md.hosts, tokenMap: md.tokenMap, load: this.load }
    }
    return this.cachedView
  }

  /**
   * A request's profile: its statement's `profile`, else its fiber's (`ExecutionProfile.withProfile`), else the
   * Session's own.
   */
  profileFor(selector: string | undefined, fiber: RuntimeFiber | undefined): ExecutionProfile.ExecutionProfile | CqlError.UnknownProfile {
    const s = selector ?? (fiber === undefined ? undefined : Context.get(fiber.currentContext, ExecutionProfile.CurrentProfile))
    if (s === undefined) return this.sessionProfile
    const p = ExecutionProfile.select(this.settings.profiles, s)
    return Either.isLeft(p) ? p.left : p.right
  }

  /** A statement's options over its profile's settings; the options as they are on the Session's own profile. */
  private overProfile<O extends Statement.QueryOptions>(o: O | undefined, p: ExecutionProfile.ExecutionProfile): O | undefined {
    return p === this.sessionProfile
      ? o
      : ({ consistency: p.consistency, serialConsistency: p.serialConsistency, timeout: p.requestTimeout, pageSize: p.pageSize, idempotent: p.idempotent, ...o } as O)
  }

  /**
   * Runs `handler` over `plan`: through the Session's throttler when it has one (a request that has to wait is started
   * again, `throttled` false, once it has a slot); then in a span when the fiber is traced (a second `Effect.async`
   * inside it), or under its paging stream's span (`streamTrace`), else directly, with the fiber's slot so that a
   * fiber that stops waiting cancels it. `options` are the request's, over its profile (for its span).
   */
  private start<A>(
    handler: RequestHandler<A>,
    plan: Iterable<Host>,
    fiber: RuntimeFiber | undefined,
    options: Statement.QueryOptions | Statement.BatchOptions | undefined,
    streamTrace: RequestTrace | undefined,
    resume: Resume<A>,
    throttled = true
  ): void {
    const throttle = this.ctx.throttle
    // A free slot costs a counter check; only a request that has to wait allocates its restart.
    if (throttled && throttle !== undefined && !throttle.tryStart()) {
      return throttle.enqueue(
        () => this.start(handler, plan, fiber, options, streamTrace, resume, false),
        (error) => resume(Effect.fail(error)),
        fiber === undefined ? undefined : WaitingRequests.of(fiber)
      )
    }
    if (fiber === undefined) return handler.run(plan, resume, undefined)
    const waiting = WaitingRequests.of(fiber)
    if (streamTrace !== undefined) handler.trace = streamTrace
    else if (isTraced(fiber)) {
      return resume(
        inRequestSpan(this.spanRequest(handler, options), this.settings.spans, (trace) =>
          Effect.async<A, CqlError.RequestError>((r) => {
            handler.trace = trace
            handler.run(plan, r, waiting)
          })
        )
      )
    }
    handler.run(plan, resume, waiting)
  }

  /** What a request's span says of it. */
  spanRequest(
    handler: { readonly operation: Operation; readonly queryText: string; readonly namespace: string | undefined },
    options: Statement.QueryOptions | Statement.BatchOptions | undefined
  ): SpanRequest {
    const profile = this.sessionProfile
    const operation = handler.operation
    return {
      operation,
      query: handler.queryText,
      namespace: handler.namespace,
      consistency: operation === "prepare" ? undefined : (options?.consistency ?? profile.consistency),
      pageSize: operation === "execute" ? ((options as Statement.QueryOptions | undefined)?.pageSize ?? profile.pageSize) : undefined,
      idempotent: operation === "prepare" || options?.idempotent === true
    }
  }

  /** Labels `handler` for its metrics, tracker and spans. */
  private label<H extends { operation: Operation; queryText: string; namespace: string | undefined }>(handler: H, operation: Operation, query: string, keyspace: string | undefined): H {
    handler.operation = operation
    handler.queryText = query
    handler.namespace = keyspace
    return handler
  }

  /**
   * The values to bind to a prepared statement: by position or name, through the registered UDT Schemas. A union
   * rather than an Either: with no UDT Schema registered, positional values pass through with no allocation.
   */
  private bindValues(prepared: Registry.PreparedStatement, params: Statement.Params | undefined): ReadonlyArray<unknown> | CqlError.SchemaMismatch {
    const values = params === undefined ? [] : isNamed(params) ? bindByName(prepared.bindColumns, params) : params
    if (this.ctx.registry.udtCount() === 0) return values
    const encoded = UdtMapping.encodeValues(this.ctx.registry, prepared.bindTypes, values)
    return Either.isRight(encoded)
      ? encoded.right
      : new CqlError.SchemaMismatch({ message: `a parameter of "${prepared.query}" does not match its UDT Schema`, cause: encoded.left })
  }

  /** A statement's parameters, through its Schema when it is typed (no Either made for the others). */
  private paramsOf<A>(statement: Statement.Statement<A>): Statement.Params | undefined | CqlError.SchemaMismatch {
    if (!Statement.isTyped(statement)) return statement.params
    const encoded = Statement.encodeParams(statement)
    return Either.isRight(encoded) ? encoded.right : encoded.left
  }

  /**
   * A statement's request; `extra` options go over the statement's own (a page's paging state). A page of a traced
   * paging stream runs under the stream's span (`streamTrace`).
   */
  statement<A>(
    statement: Statement.Statement<A>,
    extra: Statement.QueryOptions | undefined,
    fiber: RuntimeFiber | undefined,
    resume: Resume<ResultSet<A>>,
    streamTrace?: RequestTrace
  ): void {
    const params = this.paramsOf(statement)
    if (params instanceof CqlError.SchemaMismatch) return resume(Effect.fail(params))
    const own = extra === undefined ? statement.options : { ...statement.options, ...extra }
    const profile = this.profileFor(own?.profile, fiber)
    if (profile instanceof CqlError.UnknownProfile) return resume(Effect.fail(profile))
    const o = this.overProfile(own, profile)
    const ks = o?.keyspace ?? this.keyspace
    if (!(o?.prepare ?? hasValues(params))) {
      const target = Statement.keyspaceOfUse(statement.query)
      if (target !== undefined) return resume(this.settings.use(target))
      const handler = new QueryRequest(this.ctx, profile, o?.idempotent === true, statement, params, o, this.ctx.messages.keyspaceOf(o, this.keyspace))
      const plan = profile.loadBalancing.newQueryPlan(this.view(), { keyspace: ks, consistency: o?.consistency ?? profile.consistency })
      return this.start(this.label(handler, "execute", statement.query, ks), plan, fiber, o, streamTrace, resume)
    }
    const cached = this.ctx.registry.getPrepared(ks, statement.query)
    if (cached !== undefined) return this.execute(statement, cached, params, o, profile, ks, fiber, streamTrace, resume)
    this.prepare(statement.query, ks, profile, fiber, (outcome) =>
      resume(
        Effect.flatMap(outcome, (prepared) =>
          Effect.async<ResultSet<A>, CqlError.RequestError>((r) => this.execute(statement, prepared, params, o, profile, ks, fiber, streamTrace, r))
        )
      )
    )
  }

  /** EXECUTE of a prepared statement, routed by its partition key. */
  private execute<A>(
    statement: Statement.Statement<A>,
    prepared: Registry.PreparedStatement,
    params: Statement.Params | undefined,
    o: Statement.QueryOptions | undefined,
    profile: ExecutionProfile.ExecutionProfile,
    ks: string | undefined,
    fiber: RuntimeFiber | undefined,
    streamTrace: RequestTrace | undefined,
    resume: Resume<ResultSet<A>>
  ): void {
    const values = this.bindValues(prepared, params)
    if (values instanceof CqlError.SchemaMismatch) return resume(Effect.fail(values))
    const plan = profile.loadBalancing.newQueryPlan(this.view(), {
      keyspace: prepared.bindColumns[0]?.keyspace ?? ks,
      routingKey: TokenMap.routingKeyOfValues(prepared.bindTypes, values, prepared.pkIndexes),
      consistency: o?.consistency ?? profile.consistency
    })
    const handler = new ExecuteRequest(this.ctx, profile, o?.idempotent === true, statement, prepared, values, o)
    this.start(this.label(handler, "execute", statement.query, ks), plan, fiber, o, streamTrace, resume)
  }

  /** PREPARE over the plan; once one node has it, the Executor prepares it on the others in the background. */
  prepare(
    query: string,
    ks: string | undefined,
    profile: ExecutionProfile.ExecutionProfile,
    fiber: RuntimeFiber | undefined,
    resume: Resume<Registry.PreparedStatement>
  ): void {
    const { ctx, metadata, executor } = this.settings
    const pools = ctx.pools
    const plan = profile.loadBalancing.newQueryPlan(this.view(), { keyspace: ks })
    this.start(this.label(new PrepareRequest(ctx, profile, query, ks), "prepare", query, ks), plan, fiber, undefined, undefined, (outcome) =>
      resume(Effect.tap(outcome, () => executor.submit("prepare on all hosts", ctx.prepares.everywhere(pools, metadata.current().hosts.keys(), query, ks))))
    )
  }

  /**
   * The children of a batch, bound, and its routing key; or the first error; or the query of a child with values
   * that is not prepared yet (the caller prepares it and builds the batch again: once per statement).
   */
  private batchChildren(statements: ReadonlyArray<Statement.Statement<unknown> | string>, ks: string | undefined): Either.Either<BoundBatch, CqlError.RequestError> | string {
    const children: Array<Request.BatchStatement> = []
    let routingKey: Uint8Array | undefined
    for (let i = 0; i < statements.length; i++) {
      const s = statements[i]!
      const st = typeof s === "string" ? { query: s } : s
      const p = this.paramsOf(st)
      if (p instanceof CqlError.SchemaMismatch) return Either.left(p)
      if (p === undefined || (Array.isArray(p) && p.length === 0)) {
        children.push({ query: st.query, values: [] })
        continue
      }
      const prepared = this.ctx.registry.getPrepared(ks, st.query)
      if (prepared === undefined) return st.query
      const values = this.bindValues(prepared, p)
      if (values instanceof CqlError.SchemaMismatch) return Either.left(values)
      // Route the batch by its first statement's partition key (a single-partition batch lands on a replica).
      routingKey ??= TokenMap.routingKeyOfValues(prepared.bindTypes, values, prepared.pkIndexes)
      children.push({ id: prepared.id, values, types: prepared.bindTypes })
    }
    return Either.right({ children, routingKey })
  }

  /** A batch: like a statement, once its children are prepared. */
  batch(
    statements: ReadonlyArray<Statement.Statement<unknown> | string>,
    options: Statement.BatchOptions | undefined,
    fiber: RuntimeFiber | undefined,
    resume: Resume<ResultSet>
  ): void {
    const profile = this.profileFor(options?.profile, fiber)
    if (profile instanceof CqlError.UnknownProfile) return resume(Effect.fail(profile))
    const o = this.overProfile(options, profile)
    const ks = o?.keyspace ?? this.keyspace
    const built = this.batchChildren(statements, ks)
    if (typeof built === "string") {
      return this.prepare(built, ks, profile, fiber, (outcome) =>
        resume(Effect.flatMap(outcome, () => Effect.async<ResultSet, CqlError.RequestError>((r) => this.batch(statements, options, fiber, r))))
      )
    }
    if (Either.isLeft(built)) return resume(Effect.fail(built.left))
    const { children, routingKey } = built.right
    const consistency: Consistency.Consistency = o?.consistency ?? profile.consistency
    const handler = new BatchRequest(this.ctx, profile, o?.idempotent === true, children, o, this.ctx.messages.keyspaceOf(o, this.keyspace))
    const plan = profile.loadBalancing.newQueryPlan(this.view(), { keyspace: ks, routingKey, consistency })
    const text = statements.map((st) => (typeof st === "string" ? st : st.query)).join("; ")
    this.start(this.label(handler, "batch", text, ks), plan, fiber, o, undefined, resume)
  }
}
