/**
 * Request spans, to the OpenTelemetry database conventions (and their Cassandra attributes): one client span per
 * request (`cql.execute`, `cql.prepare`, `cql.batch`), and under it one span per attempt: `cql.attempt` for the
 * request's own execution (its first try and each retry), `cql.speculative_execution` for the attempts of a
 * speculative execution. A paging stream is one `cql.execute` span over all its pages, with a `cql.page` event per
 * page, and the pages' attempts under it.
 *
 * The request span is made with `useSpan` (parent, links, annotations and sampling as Effect makes them). The
 * attempt spans are made in plain TypeScript on the request path, straight from the fiber's tracer, because an
 * attempt is a callback, not an Effect.
 *
 * Effect's built-in tracer exports nothing: with no tracer provided, spans would cost about a third of the request
 * (ids, attribute maps, clock reads) for nothing anyone can read, so none is made (`isTraced`).
 */
import type { Consistency } from "@effect-cql/protocol"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type * as CqlError from "../../CqlError.js"
import type { Host } from "../../Metadata.js"

/** The tracer in effect when none is provided (Effect's own, which exports nothing). */
const builtInTracer = Effect.runSync(Effect.tracer)

/** Whether requests of this fiber make spans: a tracer other than the built-in one is provided. */
export const isTraced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean => fiber.currentTracer !== builtInTracer

export type Operation = "execute" | "prepare" | "batch"

/** What a statement's text says of it: its verb (`db.operation.name`) and table (`db.collection.name`). */
export interface QueryFacts {
  readonly verb: string
  /** The table it names, when it names one (`ks.t`: both parts). */
  readonly keyspace: string | undefined
  readonly table: string | undefined
}

// By query text: read once, then reused. Bounded: unprepared statements with literals would otherwise grow it
// without end.
const MAX_CACHED = 4096
const factsCache = new Map<string, QueryFacts>()

// The table after the keyword that names it; quoted names keep their case, unquoted ones are folded to lower case.
const tablePattern = /\b(?:FROM|INTO|UPDATE|TABLE|TRUNCATE|ON)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?("(?:[^"]|"")+"|\w+)(?:\s*\.\s*("(?:[^"]|"")+"|\w+))?/i
const unquote = (name: string) => (name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name.toLowerCase())

export const queryFacts = (query: string): QueryFacts => {
  const cached = factsCache.get(query)
  if (cached !== undefined) return cached
  if (factsCache.size >= MAX_CACHED) factsCache.clear()
  const verb = /^\s*(\w+)/.exec(query)?.[1]?.toUpperCase() ?? "UNKNOWN"
  const m = tablePattern.exec(query)
  const facts: QueryFacts =
    m === null
      ? { verb, keyspace: undefined, table: undefined }
      : m[2] === undefined
        ? { verb, keyspace: undefined, table: unquote(m[1]!) }
        : { verb, keyspace: unquote(m[1]!), table: unquote(m[2]) }
  factsCache.set(query, facts)
  return facts
}

/** `db.operation.name`: the statement's verb; BATCH and PREPARE for those requests. */
export const operationName = (operation: Operation, facts: QueryFacts): string =>
  operation === "execute" ? facts.verb : operation === "batch" ? "BATCH" : "PREPARE"

export interface SpanSettings {
  /** `db.query.text` on spans. */
  readonly queryText: boolean
}

export interface SpanRequest {
  readonly operation: Operation
  readonly query: string
  readonly namespace: string | undefined
  readonly consistency: Consistency.Consistency | undefined
  readonly pageSize: number | undefined
  readonly idempotent: boolean
}

/** A request span's name and options. */
export const requestSpanOptions = (r: SpanRequest, settings: SpanSettings): { readonly name: string; readonly options: Tracer.SpanOptions } => {
  const facts = queryFacts(r.query)
  const attributes: Record<string, unknown> = {
    "db.system.name": "cassandra",
    "db.operation.name": operationName(r.operation, facts),
    "db.cassandra.idempotence": r.idempotent
  }
  const namespace = facts.keyspace ?? r.namespace
  if (namespace !== undefined) attributes["db.namespace"] = namespace
  // A batch may name several tables: the convention leaves the collection out then.
  if (facts.table !== undefined && r.operation !== "batch") attributes["db.collection.name"] = facts.table
  if (settings.queryText) attributes["db.query.text"] = r.query
  if (r.consistency !== undefined) attributes["db.cassandra.consistency_level"] = r.consistency
  if (r.pageSize !== undefined) attributes["db.cassandra.page_size"] = r.pageSize
  return { name: `cql.${r.operation}`, options: { kind: "client", captureStackTrace: false, attributes } }
}

/** What a request reports at its end. */
export interface TracedOutcome {
  /** The host of the last attempt, if one was tried. */
  readonly coordinatorHost: Host | undefined
  readonly speculativeCount: number
}

/**
 * The spans of one traced request (or of one paging stream: its pages share it): the request span, and the clock,
 * tracer and context its attempts' spans are made with.
 */
export class RequestTrace {
  private speculative = 0
  private pages = 0

  private constructor(
    readonly span: Tracer.Span,
    private readonly tracer: Tracer.Tracer,
    private readonly clock: Clock.Clock
  ) {}

  static of(fiber: Fiber.RuntimeFiber<unknown, unknown>, span: Tracer.Span): RequestTrace {
    return new RequestTrace(span, fiber.currentTracer, Context.get(fiber.currentDefaultServices, Clock.Clock))
  }

  /** The span of one attempt to `host`: `execution` 0 is the request's own, n its n-th speculative execution. */
  attemptStarted(host: Host, execution: number, retryCount: number): Tracer.Span {
    const name = execution === 0 ? "cql.attempt" : "cql.speculative_execution"
    const s = this.tracer.span(name, Option.some(this.span), Context.empty(), [], this.clock.unsafeCurrentTimeNanos(), "client")
    s.attribute("server.address", host.address)
    s.attribute("server.port", host.port)
    if (host.datacenter !== undefined) s.attribute("db.cassandra.coordinator.dc", host.datacenter)
    if (host.hostId !== undefined) s.attribute("db.cassandra.coordinator.id", host.hostId)
    s.attribute("cql.execution", execution)
    s.attribute("cql.retry_count", retryCount)
    return s
  }

  /** An attempt's end: answered (no error), failed, or given up on (`cancelled`: another execution won, or the caller left). */
  attemptEnded(s: Tracer.Span, error: CqlError.RequestError | "cancelled" | undefined): void {
    if (error === "cancelled") s.attribute("cql.cancelled", true)
    else if (error !== undefined) s.attribute("error.type", error._tag)
    s.end(this.clock.unsafeCurrentTimeNanos(), error === undefined || error === "cancelled" ? Exit.void : Exit.fail(error))
  }

  /** The request's (or page's) end, on the request span: its coordinator, speculative executions and error type. */
  requestEnded(outcome: TracedOutcome, error: CqlError.RequestError | undefined): void {
    const span = this.span
    const host = outcome.coordinatorHost
    if (host !== undefined) {
      span.attribute("server.address", host.address)
      span.attribute("server.port", host.port)
      if (host.datacenter !== undefined) span.attribute("db.cassandra.coordinator.dc", host.datacenter)
      if (host.hostId !== undefined) span.attribute("db.cassandra.coordinator.id", host.hostId)
    }
    this.speculative += outcome.speculativeCount
    span.attribute("db.cassandra.speculative_execution_count", this.speculative)
    if (error !== undefined) span.attribute("error.type", error._tag)
  }

  /** A paging stream's page: an event on the stream's span. */
  page(rows: number, hasMore: boolean): void {
    this.span.event("cql.page", this.clock.unsafeCurrentTimeNanos(), { "cql.page.number": ++this.pages, "cql.page.rows": rows, "cql.page.has_more": hasMore })
  }
}

/** `run` inside a new request span: it gets the span's RequestTrace, for its attempts. */
export const inRequestSpan = <A, E>(request: SpanRequest, settings: SpanSettings, run: (trace: RequestTrace) => Effect.Effect<A, E>): Effect.Effect<A, E> => {
  const { name, options } = requestSpanOptions(request, settings)
  return Effect.useSpan(name, options, (span) => Effect.withFiberRuntime<A, E>((fiber) => run(RequestTrace.of(fiber, span))))
}

/** A paging stream's span, for the scope the stream runs in; none when the fiber is not traced. */
export const streamSpan = (request: SpanRequest, settings: SpanSettings): Effect.Effect<RequestTrace | undefined, never, Scope.Scope> =>
  Effect.withFiberRuntime((fiber) => {
    if (!isTraced(fiber)) return Effect.succeed(undefined)
    const { name, options } = requestSpanOptions(request, settings)
    return Effect.map(Effect.makeSpanScoped(name, options), (span) => RequestTrace.of(fiber, span))
  })
