/**
 * Query traces: what a traced request (`{ tracing: true }`) did on the server, read back from
 * `system_traces.sessions` (one row per traced request: coordinator, duration, parameters, ...) and
 * `system_traces.events` (one row per step, on every replica involved).
 *
 * The server writes a trace asynchronously, after it answered: the session row gets its `duration` last, once the
 * request is done. So reading a trace right after the result usually finds it incomplete; like the Java and Python
 * drivers, `fetch` reads again after a delay that doubles (3 ms, 6 ms, ...) until the session row has its duration,
 * for at most `maxAttempts` reads, and fails with `TraceIncomplete` when it never completes (tracing disabled on
 * the node, a trace past its TTL, or a node too busy to write it in time).
 *
 *   const rs = yield* session.execute("SELECT * FROM ks.t WHERE k = ?", [1], { tracing: true })
 *   const trace = yield* session.queryTrace(rs)
 *   for (const e of trace.events) console.log(Duration.format(e.sourceElapsed), e.source, e.activity)
 */
import { type Consistency, Uuid } from "@effect-cql/protocol"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as CqlError from "./CqlError.js"
import * as CqlSchema from "./CqlSchema.js"
import type { ResultSet } from "./ResultSet.js"
import * as Statement from "./Statement.js"

/** One step of a traced request, on one node (a row of `system_traces.events`). */
export interface TraceEvent {
  /** The event's time-based id (`event_id`). */
  readonly id: Uuid.Uuid
  /** When it happened (the time of `id`). */
  readonly time: Date
  /** What the node did. */
  readonly activity: string
  /** The node that did it. */
  readonly source: string
  /** Time since the request reached that node. */
  readonly sourceElapsed: Duration.Duration
  /** The server thread that did it. */
  readonly thread: string
}

/** A complete trace: the request as the coordinator saw it and its events in order. */
export interface QueryTrace {
  readonly tracingId: string
  /** The coordinator's address. */
  readonly coordinator: string
  /** The client's address as the coordinator saw it (absent on old servers). */
  readonly client: string | undefined
  /** Server-side time from the request's arrival to its answer. */
  readonly duration: Duration.Duration
  /** When the coordinator started the request. */
  readonly startedAt: Date
  /** The kind of request (e.g. "Execute CQL3 query"). */
  readonly request: string
  /** What the coordinator recorded about it: the query, consistency level, page size, ... */
  readonly parameters: ReadonlyMap<string, string>
  /** In the order the server recorded them (`event_id`, a time-based UUID). */
  readonly events: ReadonlyArray<TraceEvent>
}

/** How `fetch` waits for a trace to complete. */
export interface Options {
  /** Reads of the session row before giving up. Default 10. */
  readonly maxAttempts?: number
  /** The wait before the second read; it doubles after each read. Default 3 ms (the tenth read comes ~1.5 s later). */
  readonly delay?: Duration.DurationInput
  /** Consistency of the reads. Default ONE (as the Java driver). */
  readonly consistency?: Consistency.Consistency
}

/** The trace's session row was still incomplete (no `duration`) after every attempt, or there was none. */
export class TraceIncomplete extends Data.TaggedError("TraceIncomplete")<{
  readonly tracingId: string
  readonly attempts: number
  /** Whether the session row existed at all on the last read. */
  readonly found: boolean
}> {
  override get message() {
    const what = this.found ? "was still incomplete" : "was not found in system_traces.sessions"
    return `the trace ${this.tracingId} ${what} after ${this.attempts} reads`
  }
}

/** The tracing id is not a UUID. */
export class InvalidTracingId extends Data.TaggedError("InvalidTracingId")<{ readonly tracingId: string }> {
  override get message() {
    return `${JSON.stringify(this.tracingId)} is not a tracing id (a UUID)`
  }
}

/** A result without a tracing id: its statement did not ask for tracing. */
export class NotTraced extends Data.TaggedError("NotTraced")<{ readonly coordinator: string }> {
  override get message() {
    return `the result from ${this.coordinator} has no tracing id: run the statement with { tracing: true }`
  }
}

export type QueryTraceError = TraceIncomplete | InvalidTracingId | NotTraced

/** Runs a statement: the Session's `execute`. */
export type Execute = <A>(statement: Statement.Statement<A>) => Effect.Effect<ResultSet<A>, CqlError.RequestError>

const Micros = Schema.Int
const SessionRow = Schema.Struct({
  coordinator: Schema.NullOr(CqlSchema.Inet),
  client: Schema.optional(Schema.NullOr(CqlSchema.Inet)),
  duration: Schema.NullOr(Micros),
  started_at: Schema.NullOr(CqlSchema.Timestamp),
  request: Schema.NullOr(Schema.String),
  parameters: Schema.NullOr(Schema.ReadonlyMapFromSelf({ key: Schema.String, value: Schema.String }))
})
const EventRow = Schema.Struct({
  event_id: CqlSchema.TimeUuid,
  activity: Schema.NullOr(Schema.String),
  source: Schema.NullOr(CqlSchema.Inet),
  source_elapsed: Schema.NullOr(Micros),
  thread: Schema.NullOr(Schema.String)
})
const ById = Schema.Tuple(CqlSchema.Uuid)

// `client` is read through `*`: servers before 3.0 have no such column.
const sessionOf = (consistency: Consistency.Consistency) =>
  Statement.typed({ query: "SELECT * FROM system_traces.sessions WHERE session_id = ?", Params: ById, Row: SessionRow, options: { consistency } })
const eventsOf = (consistency: Consistency.Consistency) =>
  Statement.typed({
    query: "SELECT event_id, activity, source, source_elapsed, thread FROM system_traces.events WHERE session_id = ?",
    Params: ById,
    Row: EventRow,
    options: { consistency }
  })

const micros = (n: number | null): Duration.Duration => Duration.micros(BigInt(n ?? 0))

/** The trace of a traced result (or of its tracing id), read through `execute` once the server has completed it. */
export const fetch = (
  execute: Execute,
  traced: ResultSet<unknown> | string,
  options: Options = {}
): Effect.Effect<QueryTrace, QueryTraceError | CqlError.RequestError> =>
  Effect.suspend(() => {
    if (typeof traced !== "string") {
      const tracingId = traced.tracingId
      return tracingId === undefined ? Effect.fail(new NotTraced({ coordinator: traced.coordinator })) : fetch(execute, tracingId, options)
    }
    const tracingId = traced
    const id = Uuid.fromString(tracingId)
    if (Option.isNone(id)) return Effect.fail(new InvalidTracingId({ tracingId }))
    const maxAttempts = Math.max(1, options.maxAttempts ?? 10)
    const firstDelay = Duration.decode(options.delay ?? "3 millis")
    const consistency = options.consistency ?? "ONE"
    const readSession = sessionOf(consistency)
    const readEvents = eventsOf(consistency)

    const attempt = (n: number, delay: Duration.Duration): Effect.Effect<QueryTrace, QueryTraceError | CqlError.RequestError> =>
      Effect.flatMap(execute(readSession([id.value])), ({ rows }) => {
        const row = rows[0]
        const startedAt = row?.started_at
        // Complete once the coordinator wrote its duration; started_at comes in another write, so wait for both.
        if (row === undefined || row.duration === null || startedAt == null) {
          if (n >= maxAttempts) return Effect.fail(new TraceIncomplete({ tracingId, attempts: n, found: row !== undefined }))
          return Effect.zipRight(Effect.sleep(delay), attempt(n + 1, Duration.times(delay, 2)))
        }
        return Effect.map(execute(readEvents([id.value])), (events): QueryTrace => ({
          tracingId,
          coordinator: row.coordinator ?? "",
          client: row.client ?? undefined,
          duration: micros(row.duration),
          startedAt,
          request: row.request ?? "",
          parameters: row.parameters ?? new Map(),
          events: events.rows.map((e) => ({
            id: e.event_id,
            // A TimeUuid (version 1, checked by the row Schema) always has a time.
            time: Option.getOrElse(Uuid.timeOf(e.event_id), () => new Date(0)),
            activity: e.activity ?? "",
            source: e.source ?? "",
            sourceElapsed: micros(e.source_elapsed),
            thread: e.thread ?? ""
          }))
        }))
      })
    return attempt(1, firstDelay)
  })
