/** Query traces against the real node: a traced request, then its trace read back from system_traces. */
import { describe, expect, it } from "@effect/vitest"
import { QueryTrace, Session, Uuid } from "@effect-cql/driver"
import { Duration, Effect } from "effect"

const ks = "it_query_trace"

// Live tests (the reads wait between attempts on the real clock), each with the Session provided.
const SessionLive = Session.layer({ contactPoints: ["127.0.0.1"], localDataCenter: "dc1" })

describe("queryTrace", () => {
  it.live("a traced SELECT's trace has the coordinator, duration, parameters and the events in order", () =>
    Effect.gen(function* () {
      const s = yield* Session.Session
      yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
      yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.kv (k int PRIMARY KEY, v text)`)
      yield* s.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [1, "one"])
      const before = Date.now()
      const rs = yield* s.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [1], { tracing: true })
      const trace = yield* s.queryTrace(rs)
      expect(trace.tracingId).toBe(rs.tracingId)
      expect(trace.coordinator).toBe("127.0.0.1")
      expect(trace.client).toBe("127.0.0.1")
      expect(trace.request).toBe("Execute CQL3 prepared query")
      expect(trace.parameters.get("consistency_level")).toBe("LOCAL_ONE")
      expect(Duration.toMillis(trace.duration)).toBeGreaterThan(0)
      // The node's clock is the machine's: the trace started within the request's window.
      expect(trace.startedAt.getTime()).toBeGreaterThanOrEqual(before - 1000)
      expect(trace.startedAt.getTime()).toBeLessThanOrEqual(Date.now())
      expect(trace.events.length).toBeGreaterThan(0)
      for (const e of trace.events) {
        expect(e.source).toBe("127.0.0.1")
        expect(e.activity.length).toBeGreaterThan(0)
        expect(e.thread.length).toBeGreaterThan(0)
        // Each event happened while the request ran (millisecond times, a little slack).
        expect(e.time.getTime()).toBeGreaterThanOrEqual(trace.startedAt.getTime() - 5)
        expect(e.time.getTime()).toBeLessThanOrEqual(trace.startedAt.getTime() + Duration.toMillis(trace.duration) + 50)
      }
      const times = trace.events.map((e) => e.time.getTime())
      expect(times).toEqual([...times].sort((a, b) => a - b))
      expect(trace.events.some((e) => /partition|sstable|memtable|Read/i.test(e.activity))).toBe(true)
      // By its id too, with the same content.
      const again = yield* s.queryTrace(rs.tracingId!)
      expect(again.events.map((e) => e.id.toString())).toEqual(trace.events.map((e) => e.id.toString()))
    }).pipe(Effect.provide(SessionLive)))

  it.live("a result that was not traced, an id that is no UUID and a trace that never completes are typed errors", () =>
    Effect.gen(function* () {
      const s = yield* Session.Session
      const plain = yield* s.execute("SELECT release_version FROM system.local")
      const notTraced = yield* Effect.flip(s.queryTrace(plain))
      expect(notTraced._tag).toBe("NotTraced")
      const invalid = yield* Effect.flip(s.queryTrace("not-a-uuid"))
      expect(invalid).toBeInstanceOf(QueryTrace.InvalidTracingId)
      // A UUID no request was traced under: no session row, after exactly the attempts asked for.
      const missing = Uuid.random().toString()
      const incomplete = yield* Effect.flip(s.queryTrace(missing, { maxAttempts: 3, delay: "1 millis" }))
      expect(incomplete).toEqual(new QueryTrace.TraceIncomplete({ tracingId: missing, attempts: 3, found: false }))
      expect(incomplete.message).toContain("not found")
    }).pipe(Effect.provide(SessionLive)))
})
