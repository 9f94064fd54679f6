/**
 * One request, as one object: it walks the query plan, sends each attempt on a pooled connection, applies the
 * retry policy's decisions, re-prepares a statement a node lost (UNPREPARED) and retries it there, and runs
 * speculative executions, all in plain TypeScript callbacks. The caller wraps it in ONE `Effect.async` (the
 * Session) or a Promise; its `resume` gets the outcome once, as an Effect that is an Exit in the common case.
 *
 * - A host whose pool has no open connection, or only full ones, is passed over unsent (NoConnection /
 *   BusyConnection), with no retry counted. When the plan runs out, the request fails with NoHostAvailable (each
 *   tried host's last error), or with the one host's own error when only one was tried.
 * - Speculative executions (idempotent requests only) start on a timer while no answer came; the first answer
 *   wins, the others are cancelled. They share the plan, so no host is tried twice by two executions.
 * - A fiber that stops waiting cancels the request through its slot (WaitingRequests): every attempt in flight is
 *   cancelled (its stream id orphaned until the late answer) and counted as "Interrupted".
 * - The Session counts its requests in flight here, so that closing it can wait for them.
 * - At its end a request records `db.client.operation.duration` and calls the Session's request tracker; a traced
 *   one gives each attempt a span under the request's (spans.ts). Untraced and untracked, that is two clock reads
 *   and one histogram update.
 *
 * Kinds: QueryRequest (QUERY), ExecuteRequest (EXECUTE of a prepared statement), BatchRequest, PrepareRequest.
 */
import type { Consistency, Request, Response as Res, Rows } from "@effect-cql/protocol"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import * as CqlError from "../../CqlError.js"
import type { ExecutionProfile } from "../../ExecutionProfile.js"
import type { Host } from "../../Metadata.js"
import type { HostMetrics, MetricsService } from "../../Metrics.js"
import type * as Registry from "../../Registry.js"
import type { ResultSet } from "../../ResultSet.js"
import type * as RequestTracker from "../../RequestTracker.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import type * as Statement from "../../Statement.js"
import type { Connection, ConnectionFailure, Receiver, SendOptions } from "../connection/connection.js"
import { fromConnectionFailure, notSent } from "./failure.js"
import type { Messages } from "./messages.js"
import type { PoolLookup, PrepareHandler } from "./prepareHandler.js"
import { emptyResultSet, type ResultShaping } from "./resultShaping.js"
import { operationName, queryFacts, type Operation, type RequestTrace, type TracedOutcome } from "./spans.js"
import type { Throttle } from "./throttle.js"
import * as WaitingRequests from "./waitingRequests.js"
import type * as RegistryStore from "./registryStore.js"

/** What a Session's requests count on it: closing refuses new ones and waits for these. */
export interface SessionState {
  closed: boolean
  inFlight: number
  /** Called when `inFlight` drops to 0 while closing. */
  onDrained: (() => void) | undefined
}

/** What every request of a Session shares. */
export interface RequestContext {
  /** The Session's pools now (a protocol v4 `USE` moves it to other ones). */
  pools: PoolLookup
  readonly metricsOf: (conn: Connection) => HostMetrics
  /** For the operation duration of requests no host could take. */
  readonly metrics: MetricsService
  /** The Session's request tracker, if it has one. */
  readonly tracker: RequestTracker.RequestTracker | undefined
  readonly messages: Messages
  readonly shaping: ResultShaping
  readonly prepares: PrepareHandler
  readonly registry: RegistryStore.RegistryStore
  readonly state: SessionState
  /** The Session's throttler, when it has one: every request of the Session went through it and releases it. */
  readonly throttle: Throttle | undefined
}

export type Resume<A> = (outcome: Effect.Effect<A, CqlError.RequestError>) => void

/**
 * One line of attempts: a speculative one, or (as the request handler itself, one object fewer per request) the
 * first.
 */
class Execution implements Receiver {
  host!: Host
  /** 0: the request's own execution; n: its n-th speculative one. */
  index = 0
  conn: Connection | undefined = undefined
  id = -1
  /** An attempt of this execution is on the wire. */
  pending = false
  started = 0
  metrics: HostMetrics | undefined = undefined
  retryCount = 0
  /** Set by a retry decision that changed the level; else the request's own applies. */
  consistency: Consistency.Consistency | undefined = undefined
  /** UNPREPARED is answered by one re-prepare per execution. */
  reprepared = false
  /** The request's attempt number of the attempt on the wire (1-based, over every execution). */
  attemptNumber = 0
  /** The attempt's span, when the request is traced. */
  span: Tracer.Span | undefined = undefined
  /** The request this execution belongs to (the handler itself for its own). */
  private readonly request: RequestHandler<unknown>
  /** `handler`: the request a speculative execution belongs to; none for the handler itself. */
  constructor(handler: RequestHandler<unknown> | undefined) {
    this.request = handler ?? (this as unknown as RequestHandler<unknown>)
  }
  /** The connection's answer to this execution's attempt (an Execution is its own Receiver: no closure per attempt). */
  receive(failure: ConnectionFailure | undefined, res: Res.Response | undefined): void {
    this.request.answered(this, failure, res)
  }
}

export abstract class RequestHandler<A> extends Execution implements WaitingRequests.Cancelable, TracedOutcome {
  private hosts!: Iterator<Host>
  private errors: Map<string, unknown> | undefined = undefined
  private running = 0
  private done = false
  private speculative: Array<Execution> | undefined = undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private waiting: WaitingRequests.Waiting | undefined = undefined
  private resume!: Resume<A>
  /** The connection of the answering (else the latest) attempt, and its host: the coordinator reported. */
  private coordinator: Connection | undefined = undefined
  coordinatorHost: Host | undefined = undefined
  /** What the request is, for its metrics, tracker and spans (set by the Session before `run`). */
  operation: Operation = "execute"
  queryText = ""
  namespace: string | undefined = undefined
  /** The spans of a traced request. */
  trace: RequestTrace | undefined = undefined
  /** When the first attempt went out, and when the answer came (0: not yet), for the request's latency. */
  protected startedAt = 0
  private answeredAt = 0
  /** Attempts sent so far, over every execution. */
  protected attempts = 0
  /** An exception a tracker's `onNodeError` threw, logged with the outcome. */
  private trackerThrew: unknown = undefined

  constructor(
    protected readonly ctx: RequestContext,
    protected readonly profile: ExecutionProfile,
    protected readonly idempotent: boolean
  ) {
    super(undefined)
  }

  /** One attempt of `exec` on `conn`: its outcome goes to `answered`, or to `failed` / `complete`. */
  protected abstract attempt(exec: Execution, conn: Connection): void
  /** An answer that is not an ERROR, as the outcome (for kinds that `send`). */
  protected onAnswer(res: Res.Response, conn: Connection): Effect.Effect<A, CqlError.RequestError> {
    return Effect.fail(new CqlError.ConnectionError({ host: conn.hostId, message: `unexpected ${res._tag} answer` }))
  }
  /** The outcome when the retry policy ignores `error`. */
  protected abstract ignored(conn: Connection | undefined, error: CqlError.RequestError): Effect.Effect<A, CqlError.RequestError>

  /**
   * Starts the request over `plan` (iterated lazily, at most once); `resume` gets the outcome once. `waiting` is the
   * slot of the fiber that waits for it (none for a Promise caller): a fiber that stops waiting cancels it.
   */
  run(plan: Iterable<Host>, resume: Resume<A>, waiting: WaitingRequests.Waiting | undefined): void {
    this.resume = resume
    const state = this.ctx.state
    if (state.closed) {
      this.ctx.throttle?.release()
      return resume(Effect.fail(new CqlError.SessionClosed({ message: "the session is closed" })))
    }
    state.inFlight++
    this.hosts = plan[Symbol.iterator]()
    const n = this.hosts.next()
    if (n.done === true) return this.complete(Effect.fail(this.noHostAvailable()))
    this.waiting = waiting
    waiting?.set(this)
    this.running = 1
    if (this.idempotent) {
      const delay = this.profile.speculativeExecution.nextExecution(1)
      if (Option.isSome(delay)) this.schedule(1, delay.value)
    }
    this.sendTo(this, n.value)
  }

  private sendTo(exec: Execution, host: Host): void {
    exec.host = host
    const pick = this.ctx.pools.get(host.endpoint)?.pick()
    if (pick === undefined || pick === "busy") return this.failed(exec, notSent(host.endpoint, pick))
    exec.conn = pick
    this.coordinator = pick
    this.coordinatorHost = host
    this.attempt(exec, pick)
  }

  /** Sends `message` for `exec` on `conn`; the answer comes to `answered`. */
  protected send(exec: Execution, conn: Connection, message: Request.Request, options: SendOptions): void {
    const m = this.ctx.metricsOf(conn)
    exec.metrics = m
    exec.started = performance.now()
    m.requestStarted()
    // The request's start is its first attempt's (one clock read fewer per request).
    if ((exec.attemptNumber = ++this.attempts) === 1) this.startedAt = exec.started
    if (this.trace !== undefined) exec.span = this.trace.attemptStarted(exec.host, exec.index, exec.retryCount)
    exec.pending = true
    exec.id = conn.send(message, options, exec)
  }

  /** The answer (or failure) of `exec`'s attempt. */
  answered(exec: Execution, failure: ConnectionFailure | undefined, res: Res.Response | undefined): void {
    exec.pending = false
    const conn = exec.conn!
    const m = exec.metrics!
    const now = performance.now()
    const latency = now - exec.started
    if (failure !== undefined) {
      const error = fromConnectionFailure(failure, conn.hostId)
      m.requestEnded(latency, error._tag)
      if (exec.span !== undefined) this.trace!.attemptEnded(exec.span, error)
      return this.failed(exec, error)
    }
    if (res!._tag === "Error") {
      const error = CqlError.fromWire(res.error, conn.hostId)
      m.requestEnded(latency, error._tag)
      if (exec.span !== undefined) this.trace!.attemptEnded(exec.span, error)
      if (error._tag === "Unprepared" && !exec.reprepared && this.reprepare(exec, conn)) return
      return this.failed(exec, error)
    }
    m.requestEnded(latency, undefined)
    if (exec.span !== undefined) this.trace!.attemptEnded(exec.span, undefined)
    this.coordinator = conn
    this.coordinatorHost = exec.host
    this.answeredAt = now
    this.complete(this.onAnswer(res!, conn))
  }

  /** UNPREPARED: prepare the statement again on `conn` and retry there; false when this kind has nothing to prepare. */
  protected reprepare(_exec: Execution, _conn: Connection): boolean {
    return false
  }

  /** After `exec`'s attempt failed with `error`: the retry policy's decision, and the next step. */
  protected failed(exec: Execution, error: CqlError.RequestError): void {
    if (this.done) return
    ;(this.errors ??= new Map()).set(exec.host.endpoint, error)
    if (this.ctx.tracker?.onNodeError !== undefined) this.nodeError(this.ctx.tracker.onNodeError, exec, error)
    // Never sent: no decision to make and no retry to count.
    if (error._tag === "BusyConnection" || error._tag === "NoConnection") return this.nextHost(exec)
    const decision = RetryPolicy.decide(this.profile.retry, error, { retryCount: exec.retryCount, idempotent: this.idempotent })
    switch (decision._tag) {
      case "RetrySameHost":
      case "RetryNextHost":
        exec.metrics?.retried(error._tag)
        exec.retryCount++
        if (decision.consistency !== undefined) exec.consistency = decision.consistency
        return decision._tag === "RetrySameHost" ? this.sendTo(exec, exec.host) : this.nextHost(exec)
      case "Rethrow":
        return this.fail(error)
      case "Ignore":
        return this.complete(this.ignored(exec.conn, error))
    }
  }

  private nextHost(exec: Execution): void {
    const n = this.hosts.next()
    if (n.done !== true) return this.sendTo(exec, n.value)
    // The plan is shared: once empty, no execution can start again; the last one running fails the request.
    if (--this.running === 0) this.fail(this.noHostAvailable())
  }

  /** The tracker's `onNodeError`, which must not break the request: what it throws is logged at the end. */
  private nodeError(onNodeError: NonNullable<RequestTracker.RequestTracker["onNodeError"]>, exec: Execution, error: CqlError.RequestError): void {
    // NoConnection / BusyConnection: the host could not take it, so nothing was sent.
    const sent = error._tag !== "NoConnection" && error._tag !== "BusyConnection"
    try {
      onNodeError(
        {
          operation: this.operation,
          query: this.queryText,
          keyspace: this.namespace,
          host: exec.host.endpoint,
          latencyMs: sent ? performance.now() - exec.started : 0,
          attempt: sent ? exec.attemptNumber : this.attempts + 1,
          execution: exec.index
        },
        error
      )
    } catch (thrown) {
      this.trackerThrew = thrown
    }
  }

  /** A speculative execution after `delay`, then the next one the policy gives, while no answer came. */
  private schedule(started: number, delay: Duration.Duration): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (this.done) return
      const n = this.hosts.next()
      if (n.done === true) return
      const exec = new Execution(this as RequestHandler<unknown>)
      exec.index = started
      ;(this.speculative ??= []).push(exec)
      this.running++
      const following = this.profile.speculativeExecution.nextExecution(started + 1)
      if (Option.isSome(following)) this.schedule(started + 1, following.value)
      this.sendTo(exec, n.value)
      exec.metrics?.speculativeStarted()
    }, Duration.toMillis(delay))
  }

  /**
   * The plan ran out. With a single host tried, its own error is the more useful answer (a one-node cluster's
   * Unavailable stays an Unavailable); with several, NoHostAvailable carries each host's last error.
   */
  private noHostAvailable(): CqlError.RequestError {
    const errors = this.errors ?? new Map<string, unknown>()
    if (errors.size === 1) {
      const only = errors.values().next().value
      if (only instanceof Error && "_tag" in only) return only as CqlError.RequestError
    }
    return new CqlError.NoHostAvailable({ errors })
  }

  protected get isDone(): boolean {
    return this.done
  }

  get speculativeCount(): number {
    return this.speculative?.length ?? 0
  }

  protected fail(error: CqlError.RequestError): void {
    this.complete(Effect.fail(error), error)
  }

  /** The request's outcome, once: `error` when it failed (an outcome that fails later, in shaping, is a success here). */
  protected complete(outcome: Effect.Effect<A, CqlError.RequestError>, error?: CqlError.RequestError): void {
    if (this.done) return
    this.end()
    this.waiting?.settled(this)
    const ctx = this.ctx
    // A request no host could take never started: 0.
    const latencyMs = this.startedAt === 0 ? 0 : (this.answeredAt === 0 ? performance.now() : this.answeredAt) - this.startedAt
    const facts = queryFacts(this.queryText)
    const operation = operationName(this.operation, facts)
    const namespace = facts.keyspace ?? this.namespace
    const errorType = error?._tag
    const conn = this.coordinator
    if (conn === undefined) ctx.metrics.unroutedOperationEnded(operation, namespace, latencyMs / 1000, errorType)
    else ctx.metricsOf(conn).operationEnded(operation, namespace, latencyMs / 1000, errorType)
    if (this.trace !== undefined) this.trace.requestEnded(this, error)
    const tracker = ctx.tracker
    this.resume(tracker === undefined && this.trackerThrew === undefined ? outcome : this.tracked(tracker, latencyMs, namespace, error, outcome))
  }

  /** The outcome after the tracker's `onSuccess` / `onError` (and its Effect, run first in the caller's fiber). */
  private tracked(
    tracker: RequestTracker.RequestTracker | undefined,
    latencyMs: number,
    keyspace: string | undefined,
    error: CqlError.RequestError | undefined,
    outcome: Effect.Effect<A, CqlError.RequestError>
  ): Effect.Effect<A, CqlError.RequestError> {
    const info: RequestTracker.RequestInfo = {
      operation: this.operation,
      query: this.queryText,
      keyspace,
      host: this.coordinatorHost?.endpoint,
      latencyMs,
      attempts: this.attempts
    }
    const before: Array<Effect.Effect<void>> = []
    if (this.trackerThrew !== undefined) before.push(Effect.logError("a request tracker's onNodeError threw (the request is not affected)", Cause.die(this.trackerThrew)))
    try {
      const r = error === undefined ? tracker?.onSuccess?.(info) : tracker?.onError?.(info, error)
      if (Effect.isEffect(r)) before.push(Effect.catchAllCause(r, (cause) => Effect.logError("a request tracker's Effect failed (the request is not affected)", cause)))
    } catch (thrown) {
      before.push(Effect.logError("a request tracker threw (the request is not affected)", Cause.die(thrown)))
    }
    return before.length === 0 ? outcome : Effect.zipRight(Effect.all(before, { discard: true }), outcome)
  }

  /** The fiber stopped waiting (its slot calls this): every attempt in flight is cancelled. */
  cancel(): void {
    if (!this.done) this.end()
  }

  private end(): void {
    this.done = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    // Attempts still on the wire lost (to another execution) or were given up on.
    this.abandon(this)
    if (this.speculative !== undefined) for (const exec of this.speculative) this.abandon(exec)
    this.ctx.throttle?.release()
    const state = this.ctx.state
    if (--state.inFlight === 0 && state.onDrained !== undefined) state.onDrained()
  }

  private abandon(exec: Execution): void {
    if (!exec.pending) return
    exec.pending = false
    exec.conn!.cancel(exec.id)
    exec.metrics!.requestEnded(performance.now() - exec.started, "Interrupted")
    if (exec.span !== undefined) this.trace!.attemptEnded(exec.span, "cancelled")
  }
}

/** An unprepared statement, as QUERY. */
export class QueryRequest<A> extends RequestHandler<ResultSet<A>> {
  constructor(
    ctx: RequestContext,
    profile: ExecutionProfile,
    idempotent: boolean,
    private readonly statement: Statement.Statement<A>,
    private readonly params: Statement.Params | undefined,
    private readonly options: Statement.QueryOptions | undefined,
    private readonly keyspace: string | undefined
  ) {
    super(ctx, profile, idempotent)
  }
  protected attempt(exec: Execution, conn: Connection): void {
    const messages = this.ctx.messages
    this.send(exec, conn, messages.query(this.statement.query, this.params, this.options, exec.consistency, this.keyspace), messages.sendOptions(this.options))
  }
  protected override onAnswer(res: Res.Response, conn: Connection) {
    return this.ctx.shaping.finish(this.statement, res, conn)
  }
  protected ignored(conn: Connection | undefined) {
    return Effect.succeed(emptyResultSet(conn === undefined ? "" : conn.hostId) as ResultSet<A>)
  }
}

/** A prepared statement, as EXECUTE; UNPREPARED re-prepares it on that connection and sends it again, once. */
export class ExecuteRequest<A> extends RequestHandler<ResultSet<A>> {
  constructor(
    ctx: RequestContext,
    profile: ExecutionProfile,
    idempotent: boolean,
    private readonly statement: Statement.Statement<A>,
    private prepared: Registry.PreparedStatement,
    private readonly values: ReadonlyArray<unknown>,
    private readonly options: Statement.QueryOptions | undefined
  ) {
    super(ctx, profile, idempotent)
  }
  protected attempt(exec: Execution, conn: Connection): void {
    const messages = this.ctx.messages
    const prepared = this.prepared
    this.send(exec, conn, messages.execute(prepared, this.values, this.options, exec.consistency), messages.sendOptions(this.options, prepared.resultColumns))
  }
  protected override onAnswer(res: Res.Response, conn: Connection) {
    // v5 Metadata_changed: keep the new result metadata for the next executions.
    if (res._tag === "Rows" && res.metadata.newMetadataId !== undefined && res.metadata.columns !== undefined) {
      this.prepared = this.ctx.registry.updateResultMetadata(this.prepared, res.metadata.newMetadataId, res.metadata.columns)
    }
    return this.ctx.shaping.finish(this.statement, res, conn)
  }
  protected ignored(conn: Connection | undefined) {
    return Effect.succeed(emptyResultSet(conn === undefined ? "" : conn.hostId) as ResultSet<A>)
  }
  // The node lost the statement (restart, schema change): prepare it again there and retry, unseen by the caller.
  protected override reprepare(exec: Execution, conn: Connection): boolean {
    exec.reprepared = true
    this.ctx.prepares.prepareOn(conn, this.prepared.query, this.prepared.keyspace, (error, prepared) => {
      if (this.isDone) return
      if (error !== undefined) return this.failed(exec, error)
      this.prepared = prepared!
      this.attempt(exec, conn)
    })
    return true
  }
}

/** The statement a batch's result reports (for warnings). */
const batchStatement: Statement.Statement<Rows.Row> = { query: "BATCH" }

export class BatchRequest extends RequestHandler<ResultSet> {
  constructor(
    ctx: RequestContext,
    profile: ExecutionProfile,
    idempotent: boolean,
    private readonly children: ReadonlyArray<Request.BatchStatement>,
    private readonly options: Statement.BatchOptions | undefined,
    private readonly keyspace: string | undefined
  ) {
    super(ctx, profile, idempotent)
  }
  protected attempt(exec: Execution, conn: Connection): void {
    const messages = this.ctx.messages
    this.send(exec, conn, messages.batch(this.children, this.options, exec.consistency, this.keyspace), messages.sendOptions(this.options))
  }
  protected override onAnswer(res: Res.Response, conn: Connection) {
    return this.ctx.shaping.finish(batchStatement, res, conn)
  }
  protected ignored(conn: Connection | undefined) {
    return Effect.succeed(emptyResultSet(conn === undefined ? "" : conn.hostId))
  }
}

/** PREPARE over the plan: safe to retry anywhere (it changes nothing on the server). */
export class PrepareRequest extends RequestHandler<Registry.PreparedStatement> {
  constructor(
    ctx: RequestContext,
    profile: ExecutionProfile,
    private readonly query: string,
    private readonly keyspace: string | undefined
  ) {
    super(ctx, profile, true)
  }
  // Through the prepare handler: concurrent PREPAREs of one statement on one host share one request.
  protected attempt(exec: Execution, conn: Connection): void {
    if ((exec.attemptNumber = ++this.attempts) === 1) this.startedAt = performance.now()
    const span = this.trace?.attemptStarted(exec.host, exec.index, exec.retryCount)
    this.ctx.prepares.prepareOn(conn, this.query, this.keyspace, (error, prepared) => {
      if (span !== undefined) this.trace!.attemptEnded(span, error)
      if (error !== undefined) return this.failed(exec, error)
      this.complete(Effect.succeed(prepared!))
    })
  }
  protected ignored(_conn: Connection | undefined, error: CqlError.RequestError) {
    return Effect.fail(error)
  }
}
