/**
 * The request handler (internal/request/requestHandler.ts) over fake connections: where each attempt goes as the
 * retry policy decides, the plan walked lazily, hosts passed over unsent, the Ignore decision, re-preparing after
 * UNPREPARED, speculative executions, cancellation by the waiting fiber, and the Session's in-flight count. The
 * fakes answer asynchronously, as a socket would; the real policies and message builders are used.
 */
import type { Consistency, Request, Response, Rows, ServerError } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as CqlError from "../src/CqlError.js"
import * as ExecutionProfile from "../src/ExecutionProfile.js"
import type { Connection, ConnectionFailure } from "../src/internal/connection/connection.js"
import { type AnswerTo, deliver as deliverAnswer } from "../src/internal/connection/connectionTypes.js"
import { Messages } from "../src/internal/request/messages.js"
import { PrepareHandler } from "../src/internal/request/prepareHandler.js"
import * as RegistryStore from "../src/internal/request/registryStore.js"
import {
  ExecuteRequest,
  PrepareRequest,
  QueryRequest,
  type RequestContext,
  type RequestHandler
} from "../src/internal/request/requestHandler.js"
import { ResultShaping } from "../src/internal/request/resultShaping.js"
import * as WaitingRequests from "../src/internal/request/waitingRequests.js"
import type { Host } from "../src/Metadata.js"
import { type HostMetrics, make as makeMetrics } from "../src/Metrics.js"
import type { PreparedStatement } from "../src/Registry.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as SpeculativeExecution from "../src/SpeculativeExecution.js"
import * as TimestampGenerator from "../src/TimestampGenerator.js"

const host = (n: number): Host => ({
  endpoint: `10.0.0.${n}:9042`, address: `10.0.0.${n}`, port: 9042, broadcastAddress: undefined, hostId: undefined, datacenter: "dc1",
  rack: "r1", tokens: [], releaseVersion: undefined, schemaVersion: undefined, state: "up"
})
const hosts = [1, 2, 3].map(host)

/** What a fake connection does with a request: answer rows, an ERROR, a connection failure, or nothing. */
type Answer =
  | { readonly rows: ReadonlyArray<Rows.Row> }
  | { readonly error: ServerError.ServerError }
  | { readonly failure: ConnectionFailure }
  | "hang"
  | { readonly after: number; readonly rows: ReadonlyArray<Rows.Row> }

const rowsOf = (rows: ReadonlyArray<Rows.Row>): Response.Response =>
  ({ _tag: "Rows", rows, columns: [], metadata: { flags: 0, columnCount: 0, columns: undefined, pagingState: undefined, newMetadataId: undefined } }) as Response.Response

const preparedAnswer = (id: number): Response.Response =>
  ({
    _tag: "Prepared",
    id: Buffer.from([id]),
    metadata: { flags: 0, columns: [], pkIndexes: [] },
    resultMetadata: { flags: 0, columnCount: 0, columns: [], pagingState: undefined, newMetadataId: undefined }
  }) as unknown as Response.Response

/** A connection that answers by `script(request, nth request on it)`, asynchronously; PREPARE is always answered. */
class FakeConnection {
  readonly port = 9042
  get hostId(): string {
    return `${this.host}:${this.port}`
  }
  readonly sent: Array<Request.Request> = []
  readonly cancelled: Array<number> = []
  private nextId = 0
  private prepares = 0
  constructor(
    readonly host: string,
    private readonly script: (req: Request.Request, nth: number) => Answer
  ) {}
  send(req: Request.Request, _opts: unknown, to: AnswerTo): number {
    const cb = (f: ConnectionFailure | undefined, r: Response.Response | undefined) => deliverAnswer(to, f, r)
    const id = this.nextId++
    // A connection keeps nothing of a message (the Session reuses its EXECUTE object): this one keeps a copy.
    this.sent.push("params" in req ? ({ ...req, params: { ...req.params } } as Request.Request) : req)
    if (req._tag === "Prepare") {
      const n = ++this.prepares
      setImmediate(() => cb(undefined, preparedAnswer(100 + n)))
      return id
    }
    const answer = this.script(req, this.sent.filter((r) => r._tag !== "Prepare").length)
    if (answer === "hang") return id
    const deliver = () => {
      if (this.cancelled.includes(id)) return
      if ("failure" in answer) cb(answer.failure, undefined)
      else if ("error" in answer) cb(undefined, { _tag: "Error", error: answer.error } as Response.Response)
      else cb(undefined, rowsOf(answer.rows))
    }
    if ("after" in answer) setTimeout(deliver, answer.after)
    else setImmediate(deliver)
    return id
  }
  cancel(id: number): void {
    this.cancelled.push(id)
  }
  /** The consistency of each QUERY / EXECUTE it received, in order. */
  consistencies(): Array<Consistency.Consistency> {
    return this.sent.flatMap((r) => (r._tag === "Query" || r._tag === "Execute" ? [r.params.consistency] : []))
  }
}

const unavailable: ServerError.ServerError = { kind: "Unavailable", message: "not enough replicas", consistency: "QUORUM", required: 2, alive: 1 }
const readTimeout: ServerError.ServerError = { kind: "ReadTimeout", message: "timed out", consistency: "QUORUM", received: 2, blockFor: 2, dataPresent: false }
const unprepared: ServerError.ServerError = { kind: "Unprepared", message: "unknown id", id: Buffer.from([1]) }
const overloaded: ServerError.ServerError = { kind: "Overloaded", message: "busy" }
const closed: ConnectionFailure = { _tag: "Closed", message: "socket closed" }
const ok = (n: number): Answer => ({ rows: [{ from: n }] })

interface Recorded {
  readonly started: Array<string>
  readonly ended: Array<string>
}

/** A Session's request context over fake connections by host number ("busy", or absent for no connection). */
const context = (connections: Record<number, FakeConnection | "busy">) => {
  const recorded: Recorded = { started: [], ended: [] }
  const metricsOf = (conn: Connection): HostMetrics => ({
    requestStarted: () => void recorded.started.push(conn.host),
    requestEnded: (_ms, kind) => void recorded.ended.push(`${conn.host} ${kind ?? "ok"}`),
    connectionOpened: () => {},
    connectionClosed: () => {},
    retried: () => {},
    speculativeStarted: () => {},
    operationEnded: () => {}
  })
  const registry = RegistryStore.make()
  const messages = new Messages({ consistency: "LOCAL_ONE", pageSize: 100, requestTimeoutMs: 1000, timestamps: TimestampGenerator.makeMonotonic(), protocolVersion: 5 })
  const ctx: RequestContext = {
    pools: {
      get: (endpoint) => {
        const n = Number(endpoint.slice("10.0.0.".length, endpoint.indexOf(":")))
        const c = connections[n]
        return { pick: () => (c as unknown as Connection | "busy" | undefined), inFlight: () => 0, silentMs: () => 0 }
      }
    },
    metricsOf,
    metrics: makeMetrics(),
    tracker: undefined,
    messages,
    shaping: new ResultShaping({
      registry,
      control: { awaitSchemaAgreement: () => Effect.succeed({ agreed: true, versions: new Map() }), refreshKeyspace: () => Effect.void },
      requestTimeoutMs: 1000,
      schemaAgreementTimeoutMs: 1000
    }),
    prepares: new PrepareHandler(registry, messages, metricsOf),
    registry,
    state: { closed: false, inFlight: 0, onDrained: undefined },
    throttle: undefined
  }
  return { ctx, recorded }
}

const profile = (options: ExecutionProfile.Options = {}) => ExecutionProfile.make(ExecutionProfile.defaults(), options)

const query = (
  ctx: RequestContext,
  options: { readonly idempotent?: boolean; readonly profile?: ExecutionProfile.ExecutionProfile; readonly consistency?: Consistency.Consistency } = {}
) =>
  new QueryRequest(
    ctx,
    options.profile ?? profile(),
    options.idempotent === true,
    { query: "SELECT x FROM t" },
    undefined,
    options.consistency === undefined ? undefined : { consistency: options.consistency },
    undefined
  )

/** The handler's request as an Effect, on the waiting fiber's slot (so that interrupting it cancels). */
const run = <A>(handler: RequestHandler<A>, plan: Iterable<Host> = hosts) =>
  Effect.async<A, CqlError.RequestError>((resume) => {
    const fiber = Fiber.getCurrentFiber()
    handler.run(plan, resume, Option.isSome(fiber) ? WaitingRequests.of(fiber.value) : undefined)
  })

const fromHost = (rs: { readonly rows: ReadonlyArray<unknown> }) => (rs.rows[0] as Rows.Row | undefined)?.["from"]

describe("the request handler: one walk of the plan", () => {
  it.live("answers from the first host and pulls nothing more from the plan", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", () => ok(1))
      const { ctx, recorded } = context({ 1: c1 })
      let pulled = 0
      const plan: Iterable<Host> = { *[Symbol.iterator]() { for (const h of hosts) { pulled++; yield h } } }
      const rs = yield* run(query(ctx), plan)
      expect(fromHost(rs)).toBe(1)
      expect(rs.coordinator).toBe("10.0.0.1:9042")
      expect(pulled).toBe(1)
      expect(recorded).toEqual({ started: ["10.0.0.1"], ended: ["10.0.0.1 ok"] })
      expect(ctx.state.inFlight).toBe(0)
    }))

  it.live("Unavailable goes to the next host; a read timeout with the data missing, to the same host; one retry in all", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", () => ({ error: unavailable }))
      const c2 = new FakeConnection("10.0.0.2", () => ok(2))
      expect(fromHost(yield* run(query(context({ 1: c1, 2: c2 }).ctx)))).toBe(2)
      const c3 = new FakeConnection("10.0.0.1", (_r, nth) => (nth === 1 ? { error: readTimeout } : ok(1)))
      const c4 = new FakeConnection("10.0.0.2", () => ok(2))
      expect(fromHost(yield* run(query(context({ 1: c3, 2: c4 }).ctx)))).toBe(1)
      expect([c3.sent.length, c4.sent.length]).toEqual([2, 0])
      // After the one retry the default policy allows, the next error surfaces.
      const c5 = new FakeConnection("10.0.0.1", (_r, nth) => (nth === 1 ? { error: readTimeout } : { error: unavailable }))
      const error = yield* Effect.flip(run(query(context({ 1: c5, 2: c4 }).ctx)))
      expect(error._tag).toBe("Unavailable")
    }))

  it.live("a decision's consistency applies to the next attempts", () =>
    Effect.gen(function* () {
      const downgrade: RetryPolicy.RetryPolicy = { ...RetryPolicy.defaultRetryPolicy, onUnavailable: (_e, c) => (c.retryCount < 1 ? RetryPolicy.retryNextHost("ONE") : RetryPolicy.rethrow) }
      const c1 = new FakeConnection("10.0.0.1", () => ({ error: unavailable }))
      const c2 = new FakeConnection("10.0.0.2", () => ok(2))
      const { ctx } = context({ 1: c1, 2: c2 })
      yield* run(query(ctx, { profile: profile({ retry: downgrade }), consistency: "QUORUM" }))
      expect([c1.consistencies(), c2.consistencies()]).toEqual([["QUORUM"], ["ONE"]])
    }))

  it.live("every host failing gives NoHostAvailable with each host's error; one host tried gives its own error", () =>
    Effect.gen(function* () {
      const failing = (n: number) => new FakeConnection(`10.0.0.${n}`, () => ({ failure: closed }))
      const { ctx } = context({ 1: failing(1), 2: failing(2), 3: failing(3) })
      const all = yield* Effect.flip(run(query(ctx, { idempotent: true })))
      expect(all._tag).toBe("NoHostAvailable")
      expect([...(all as CqlError.NoHostAvailable).errors.keys()]).toEqual(hosts.map((h) => h.endpoint))
      const one = yield* Effect.flip(run(query(context({ 1: failing(1) }).ctx, { idempotent: true }), [hosts[0]!]))
      expect(one._tag).toBe("ConnectionError")
    }))

  it.live("a statement that is not idempotent is not retried once it may have been applied", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", () => ({ failure: closed }))
      const c2 = new FakeConnection("10.0.0.2", () => ok(2))
      const { ctx } = context({ 1: c1, 2: c2 })
      const error = yield* Effect.flip(run(query(ctx)))
      expect(error._tag).toBe("ConnectionError")
      expect(c2.sent).toHaveLength(0)
      expect(fromHost(yield* run(query(ctx, { idempotent: true })))).toBe(2)
    }))

  it.live("hosts with only busy connections or none are passed over unsent, without counting a retry", () =>
    Effect.gen(function* () {
      const c3 = new FakeConnection("10.0.0.3", () => ok(3))
      const { ctx, recorded } = context({ 1: "busy", 3: c3 })
      const rs = yield* run(query(ctx, { profile: profile({ retry: RetryPolicy.fallthroughRetryPolicy }) }))
      expect(fromHost(rs)).toBe(3)
      expect(recorded.started).toEqual(["10.0.0.3"])
    }))

  it.live("an Ignore decision ends the request with an empty result, not the error", () =>
    Effect.gen(function* () {
      const ignoring: RetryPolicy.RetryPolicy = { ...RetryPolicy.defaultRetryPolicy, onRequestError: () => RetryPolicy.ignore }
      const c1 = new FakeConnection("10.0.0.1", () => ({ error: overloaded }))
      const { ctx } = context({ 1: c1 })
      const rs = yield* run(query(ctx, { profile: profile({ retry: ignoring }) }))
      expect(rs.rows).toEqual([])
      expect(rs.coordinator).toBe("10.0.0.1:9042")
    }))
})

describe("the request handler: prepared statements", () => {
  const statement: PreparedStatement = {
    query: "SELECT x FROM t WHERE k = ?",
    keyspace: "ks",
    id: Buffer.from([1]),
    resultMetadataId: undefined,
    bindColumns: [],
    bindTypes: [],
    pkIndexes: [],
    resultColumns: []
  }
  const execute = (ctx: RequestContext, prepared = statement) =>
    new ExecuteRequest(ctx, profile({ retry: RetryPolicy.fallthroughRetryPolicy }), false, { query: prepared.query }, prepared, [], undefined)

  it.live("UNPREPARED: prepared again on the same connection, then executed there once more with the new id", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", (_r, nth) => (nth === 1 ? { error: unprepared } : ok(1)))
      const { ctx } = context({ 1: c1 })
      expect(fromHost(yield* run(execute(ctx)))).toBe(1)
      expect(c1.sent.map((r) => r._tag)).toEqual(["Execute", "Prepare", "Execute"])
      const ids = c1.sent.flatMap((r) => (r._tag === "Execute" ? [r.id[0]] : []))
      expect(ids).toEqual([1, 101])
      expect(ctx.registry.getPrepared("ks", statement.query)?.id[0]).toBe(101)
    }))

  it.live("a second UNPREPARED after re-preparing goes to the retry policy", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", () => ({ error: unprepared }))
      const { ctx } = context({ 1: c1 })
      const error = yield* Effect.flip(run(execute(ctx)))
      expect(error._tag).toBe("Unprepared")
      expect(c1.sent.map((r) => r._tag)).toEqual(["Execute", "Prepare", "Execute"])
    }))

  it.live("concurrent PREPAREs of one statement on one host share one request", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", () => ok(1))
      const { ctx } = context({ 1: c1 })
      const prepared = yield* Effect.all(Array.from({ length: 5 }, () => run(new PrepareRequest(ctx, profile(), "SELECT y FROM t", "ks"))), { concurrency: "unbounded" })
      expect(new Set(prepared.map((p) => p.id[0]))).toEqual(new Set([101]))
      expect(c1.sent.filter((r) => r._tag === "Prepare")).toHaveLength(1)
    }))
})

describe("the request handler: speculative executions and cancellation", () => {
  const speculative = profile({ speculativeExecution: SpeculativeExecution.constant({ delay: "30 millis", maxExecutions: 3 }) })

  it.live("a silent first host: the next one answers after the delay, and the first attempt is cancelled", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", () => "hang")
      const c2 = new FakeConnection("10.0.0.2", () => ok(2))
      const { ctx, recorded } = context({ 1: c1, 2: c2 })
      const rs = yield* run(query(ctx, { idempotent: true, profile: speculative }))
      expect(fromHost(rs)).toBe(2)
      expect(c1.cancelled).toEqual([0])
      expect(recorded.ended.sort()).toEqual(["10.0.0.1 Interrupted", "10.0.0.2 ok"])
      expect(ctx.state.inFlight).toBe(0)
    }))

  it.live("a statement that is not idempotent runs no speculative execution: it waits for the slow host", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", () => ({ after: 100, rows: [{ from: 1 }] }))
      const c2 = new FakeConnection("10.0.0.2", () => ok(2))
      const { ctx } = context({ 1: c1, 2: c2 })
      expect(fromHost(yield* run(query(ctx, { profile: speculative })))).toBe(1)
      expect(c2.sent).toHaveLength(0)
    }))

  it.live("up to maxExecutions start, one per delay, sharing the plan; the last to run out of hosts fails the request", () =>
    Effect.gen(function* () {
      const slow = (n: number) => new FakeConnection(`10.0.0.${n}`, () => ({ after: 120, rows: [] }))
      const c3 = new FakeConnection("10.0.0.3", () => ({ failure: closed }))
      const { ctx } = context({ 1: slow(1), 2: slow(2), 3: c3 })
      const failFast: RetryPolicy.RetryPolicy = { ...RetryPolicy.defaultRetryPolicy, onRequestError: () => RetryPolicy.retryNextHost() }
      const rs = yield* run(query(ctx, { idempotent: true, profile: profile({ retry: failFast, speculativeExecution: SpeculativeExecution.constant({ delay: "30 millis", maxExecutions: 3 }) }) }))
      // Host 3's execution ran out of hosts; the others still ran, and one of them answered.
      expect(rs.rows).toEqual([])
      expect(c3.sent).toHaveLength(1)
    }))

  it.live("interrupting the waiting fiber cancels every attempt in flight and ends the request", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", () => "hang")
      const c2 = new FakeConnection("10.0.0.2", () => "hang")
      const { ctx, recorded } = context({ 1: c1, 2: c2 })
      const fiber = yield* Effect.fork(run(query(ctx, { idempotent: true, profile: speculative })))
      yield* Effect.sleep(Duration.millis(60))
      expect(ctx.state.inFlight).toBe(1)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect([c1.cancelled, c2.cancelled]).toEqual([[0], [0]])
      expect(recorded.ended).toEqual(["10.0.0.1 Interrupted", "10.0.0.2 Interrupted"])
      expect(ctx.state.inFlight).toBe(0)
      // The third execution never starts: the timer went with the request.
      yield* Effect.sleep(Duration.millis(60))
      expect(recorded.started).toHaveLength(2)
    }))

  it.live("a closed Session refuses the request; the last request to end tells a closing Session it drained", () =>
    Effect.gen(function* () {
      const c1 = new FakeConnection("10.0.0.1", () => ({ after: 30, rows: [] }))
      const { ctx } = context({ 1: c1 })
      let drained = 0
      const pending = yield* Effect.fork(run(query(ctx)))
      yield* Effect.sleep(Duration.millis(5))
      ctx.state.closed = true
      ctx.state.onDrained = () => void drained++
      expect((yield* Effect.flip(run(query(ctx))))._tag).toBe("SessionClosed")
      yield* Fiber.join(pending)
      expect(drained).toBe(1)
    }))
})
