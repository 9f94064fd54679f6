/**
 * One Cluster and many Sessions on the real Cassandra 5.0 node (127.0.0.1): what a Session leaves for the next one
 * (no new PREPARE, no new connection), Sessions in different keyspaces at once and `USE` on protocol v5 and v4, the
 * Metadata after a Session's own DDL, and the typed errors of a missing keyspace or data centre.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cluster, CqlError, Metrics, Session } from "@effect-cql/driver"
import { Context, Effect, Layer, Metric, MetricLabel } from "effect"

const ks1 = "it_sessions_one"
const ks2 = "it_sessions_two"

const cluster = (config: Partial<Cluster.ClusterConfig> = {}) =>
  Layer.build(Cluster.layer({ contactPoints: ["127.0.0.1"], ...config })).pipe(Effect.map(Context.get(Cluster.Cluster)))

const withSession = <A, E>(live: Cluster.ClusterService, options: Session.SessionOptions, f: (s: Session.Session) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(Session.make(options), f)).pipe(Effect.provideService(Cluster.Cluster, live))

const setup = (live: Cluster.ClusterService) =>
  withSession(live, {}, (s) =>
    Effect.gen(function* () {
      for (const [ks, value] of [[ks1, "one"], [ks2, "two"]] as const) {
        yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
        yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.t (k int PRIMARY KEY, v text)`)
        yield* s.execute(`INSERT INTO ${ks}.t (k, v) VALUES (1, '${value}')`)
      }
    })
  )

const requestsSent = Effect.map(Metric.value(Metric.taggedWithLabels(Metrics.requests, [MetricLabel.make("host", "127.0.0.1:9042")])), (c) => c.count)

describe("one Cluster, many Sessions, on the real node", () => {
  it.scopedLive("Session B over the Cluster that Session A used opens no connection and sends no PREPARE for A's statement", () =>
    Effect.gen(function* () {
      const live = yield* cluster()
      yield* setup(live)
      const query = `SELECT v FROM ${ks1}.t WHERE k = ?`
      yield* withSession(live, {}, (a) => a.execute(query, [1]))
      const control = yield* live.control.host
      const pools = yield* live.pools.snapshot
      const before = yield* requestsSent
      const rs = yield* withSession(live, {}, (b) => b.execute(query, [1]))
      expect(rs.rows).toEqual([{ v: "one" }])
      // One request on the wire for B: the EXECUTE (a PREPARE would count too).
      expect((yield* requestsSent) - before).toBe(1)
      expect(yield* live.control.host).toEqual(control)
      expect((yield* live.pools.snapshot).map((p) => [p.endpoint, p.inFlight.length])).toEqual(pools.map((p) => [p.endpoint, p.inFlight.length]))
    }))

  for (const protocolVersion of [5, 4] as const) {
    it.scopedLive(`v${protocolVersion}: two Sessions in different keyspaces at once each read their own table unqualified`, () =>
      Effect.gen(function* () {
        const live = yield* cluster({ protocolVersion })
        yield* setup(live)
        const read = (keyspace: string, prepare: boolean) =>
          withSession(live, { keyspace }, (s) =>
            Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) =>
              Effect.map(s.execute("SELECT v FROM t WHERE k = 1", undefined, { prepare: prepare && i % 2 === 0 }), (rs) => rs.rows[0]?.["v"]), { concurrency: 10 })
          )
        const [one, two] = yield* Effect.all([read(ks1, true), read(ks2, true)], { concurrency: 2 })
        expect(new Set(one)).toEqual(new Set(["one"]))
        expect(new Set(two)).toEqual(new Set(["two"]))
      }))

    it.scopedLive(`v${protocolVersion}: USE moves the Session's later requests on all 4 connections; a missing keyspace changes nothing`, () =>
      Effect.gen(function* () {
        const live = yield* cluster({ protocolVersion, connectionsPerHost: 4 })
        yield* setup(live)
        yield* withSession(live, { keyspace: ks1 }, (s) =>
          Effect.gen(function* () {
            yield* s.execute(`USE ${ks2}`)
            const values = yield* Effect.forEach(Array.from({ length: 40 }), () =>
              Effect.map(s.execute("SELECT v FROM t WHERE k = 1"), (rs) => rs.rows[0]?.["v"]), { concurrency: 40 })
            expect(new Set(values)).toEqual(new Set(["two"]))
            const missing = yield* Effect.flip(s.execute("USE it_sessions_missing"))
            expect(missing).toEqual(new CqlError.UnknownKeyspace({ keyspace: "it_sessions_missing" }))
            expect(s.keyspace()).toBe(ks2)
          })
        )
      }))
  }

  it.scopedLive("a Session's own CREATE TABLE and CREATE TYPE are in the Metadata when execute returns, and the new type is usable at once", () =>
    Effect.gen(function* () {
      const live = yield* cluster()
      yield* setup(live)
      const suffix = Date.now().toString(36)
      yield* withSession(live, { keyspace: ks1 }, (s) =>
        Effect.gen(function* () {
          yield* s.execute(`CREATE TYPE pt_${suffix} (x int, y int)`)
          expect(live.metadata.current().keyspaces.get(ks1)?.userTypes.has(`pt_${suffix}`)).toBe(true)
          yield* s.execute(`CREATE TABLE shapes_${suffix} (k int PRIMARY KEY, p frozen<pt_${suffix}>)`)
          expect(live.metadata.current().keyspaces.get(ks1)?.tables.has(`shapes_${suffix}`)).toBe(true)
          yield* s.execute(`INSERT INTO shapes_${suffix} (k, p) VALUES (?, ?)`, [1, { x: 1, y: 2 }])
          const rs = yield* s.execute(`SELECT p FROM shapes_${suffix} WHERE k = ?`, [1])
          expect(rs.rows).toEqual([{ p: { x: 1, y: 2 } }])
          yield* s.execute(`DROP TABLE shapes_${suffix}`)
          expect(live.metadata.current().keyspaces.get(ks1)?.tables.has(`shapes_${suffix}`)).toBe(false)
        })
      )
    }))

  it.scopedLive("a missing Session keyspace fails Session.make, and a localDataCenter no host has fails the Cluster, each naming what is missing", () =>
    Effect.gen(function* () {
      const live = yield* cluster()
      const noKeyspace = yield* Effect.flip(withSession(live, { keyspace: "it_sessions_absent" }, () => Effect.void))
      expect(noKeyspace).toEqual(new CqlError.UnknownKeyspace({ keyspace: "it_sessions_absent" }))
      const dcs = [...new Set([...live.metadata.current().hosts.values()].map((h) => h.datacenter))]
      const noDc = yield* Effect.flip(Effect.scoped(cluster({ localDataCenter: "nowhere" })))
      expect(noDc).toEqual(new CqlError.UnknownDataCenter({ dataCenter: "nowhere", found: dcs as Array<string> }))
    }))
})
