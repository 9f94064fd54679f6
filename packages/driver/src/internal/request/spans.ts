/**
 * Request spans, to the OpenTelemetry database conventions: one client span per request (`cql.execute`,
 * `cql.prepare`, `cql.batch`) with `db.*` attributes, and `server.address` / `server.port` of the coordinator that
 * answered, set when the answer came. `useSpan`, not `withSpan`: the request's own steps start no child span, and
 * providing the span as a parent would copy the fiber's context on every request.
 *
 * Effect's built-in tracer exports nothing: with no tracer provided, a span would cost about a third of the request
 * (ids, attribute map, clock reads) for nothing anyone can read, so none is made (`isTraced`).
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Tracer from "effect/Tracer"

/** The tracer in effect when none is provided (Effect's own, which exports nothing). */
const builtInTracer = Effect.runSync(Effect.tracer)

/** Whether requests of this fiber make spans: a tracer other than the built-in one is provided. */
export const isTraced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean => fiber.currentTracer !== builtInTracer

export type Operation = "execute" | "prepare" | "batch"

interface CachedSpanOptions {
  readonly name: string
  readonly options: Tracer.SpanOptions
}

// By namespace, operation and query: built once, then reused. Bounded: unprepared statements with literals would
// otherwise grow it without end.
const MAX_CACHED = 4096
const cache = new Map<string, CachedSpanOptions>()

const firstWord = (q: string) => /^\s*(\w+)/.exec(q)?.[1]?.toUpperCase() ?? "UNKNOWN"

const spanOptionsOf = (operation: Operation, query: string, namespace: string): CachedSpanOptions => {
  const key = `${operation}\u0000${namespace}\u0000${query}`
  const cached = cache.get(key)
  if (cached !== undefined) return cached
  if (cache.size >= MAX_CACHED) cache.clear()
  const made: CachedSpanOptions = {
    name: `cql.${operation}`,
    options: {
      kind: "client",
      captureStackTrace: false,
      attributes: {
        "db.system.name": "cassandra",
        "db.namespace": namespace,
        "db.operation.name": operation === "batch" ? "BATCH" : firstWord(query),
        "db.query.text": query
      }
    }
  }
  cache.set(key, made)
  return made
}

/** Where a request was answered, for its span. */
export interface Coordinator {
  /** host:port of the last coordinator tried, once one was. */
  coordinator: { readonly host: string; readonly port: number } | undefined
}

/** `request` in its span; the coordinator's address is read from `target` when the request ends. */
export const inSpan = <A, E>(
  operation: Operation,
  query: string,
  namespace: string | undefined,
  target: Coordinator,
  request: Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  const { name, options } = spanOptionsOf(operation, query, namespace ?? "")
  return Effect.useSpan(name, options, (span) =>
    Effect.ensuring(
      request,
      Effect.sync(() => {
        const c = target.coordinator
        if (c !== undefined) {
          span.attribute("server.address", c.host)
          span.attribute("server.port", c.port)
        }
      })
    )
  )
}
