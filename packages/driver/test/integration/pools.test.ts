/**
 * ConnectionPools against a real node of its own (127.0.0.61): a crash (SIGKILL) and a restart, then a freeze
 * (SIGSTOP) that only the heartbeat can notice, and SIGCONT.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConnectionPools } from "@effect-cql/driver"
import * as Pools from "../../src/internal/pool/connectionPools.js"
import type { HostPool } from "../../src/internal/pool/poolTypes.js"
import type { Metadata } from "@effect-cql/driver"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import { type Connection, request } from "../../src/internal/connection/connection.js"
import { type Cluster, startCluster } from "../../../../scripts/harness.js"

let cluster: Cluster
beforeAll(async () => {
  cluster = await startCluster({ ipBase: 60, nodes: 1 })
}, 300_000)
afterAll(() => cluster?.stop(), 120_000)

const host = (): Metadata.Host => ({
  endpoint: `${cluster.addresses[0]!}:9042`,
  address: cluster.addresses[0]!,
  port: 9042,
  broadcastAddress: cluster.addresses[0]!,
  hostId: undefined,
  datacenter: "datacenter1",
  rack: "rack1",
  tokens: [],
  releaseVersion: undefined,
  schemaVersion: undefined,
  state: "up"
})

const releaseVersion = (conn: Connection) =>
  request(conn, { _tag: "Query", query: "SELECT release_version FROM system.local", params: { consistency: "ONE" } }).pipe(
    Effect.map((res) => (res._tag === "Rows" ? String(res.rows[0]?.["release_version"]) : res._tag))
  )

/** A pool of 2 connections with a 1 s heartbeat, reporting its host's state changes to a queue. */
const pool = Effect.gen(function* () {
  const changes = yield* Queue.unbounded<ConnectionPools.HostStateChange>()
  const service = yield* Pools.make({
    connection: { heartbeatIntervalMs: 1000, requestTimeoutMs: 1500, connectTimeoutMs: 1500 },
    connectionsPerHost: { local: 2 },
    reconnectionSchedule: Schedule.spaced("500 millis"),
    onHostState: (c) => Queue.offer(changes, c)
  })
  const p = (yield* service.ensure(host(), "local"))!
  yield* p.initialized
  return { p, changes }
})

const next = (changes: Queue.Queue<ConnectionPools.HostStateChange>, within: Duration.DurationInput) =>
  Queue.take(changes).pipe(
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`no host state change within ${Duration.format(within)}`) })
  )

const cassandra = (...args: Array<string>) => Effect.promise(() => cluster.cassandra(...args))

/** Every connection of the pool answers a query. */
const allAnswer = (p: HostPool) =>
  Effect.forEach(p.connections, releaseVersion).pipe(Effect.map((vs) => vs.every((v) => v.startsWith("5.0."))))

describe("ConnectionPools on a real node", () => {
  it.scopedLive(
    "SIGKILL: DOWN as soon as the sockets die; restarted: UP and the pool refilled",
    () =>
      Effect.gen(function* () {
        const { p, changes } = yield* pool
        expect(p.state).toBe("up")
        expect(p.connections.length).toBe(2)
        expect(yield* next(changes, "1 second")).toMatchObject({ state: "up" })
        expect(yield* allAnswer(p)).toBe(true)

        const killedAt = Date.now()
        yield* cassandra("kill", "1")
        const down = yield* next(changes, "10 seconds")
        console.log(`pools: DOWN ${Date.now() - killedAt} ms after SIGKILL returned`)
        expect(down).toMatchObject({ endpoint: host().endpoint, state: "down", cause: { _tag: "Closed" } })
        expect(p.pick()).toBeUndefined()
        expect(p.reconnecting).toBe(true)

        yield* cassandra("start-node", "1")
        const readyAt = Date.now()
        const up = yield* next(changes, "30 seconds")
        console.log(`pools: UP ${Date.now() - readyAt} ms after start-node returned`)
        expect(up).toMatchObject({ state: "up" })
        yield* Effect.repeat(Effect.sync(() => p.connections.length), {
          until: (n) => n === 2,
          schedule: Schedule.spaced("100 millis").pipe(Schedule.upTo("10 seconds"))
        })
        expect(p.connections.length).toBe(2)
        expect(yield* allAnswer(p)).toBe(true)
      }),
    300_000
  )

  it.scopedLive(
    "SIGSTOP: the heartbeat finds the node silent and the host goes DOWN; SIGCONT: UP again",
    () =>
      Effect.gen(function* () {
        const { p, changes } = yield* pool
        expect(yield* next(changes, "1 second")).toMatchObject({ state: "up" })
        const pausedAt = Date.now()
        yield* cassandra("pause", "1").pipe(Effect.zipRight(Effect.addFinalizer(() => Effect.orDie(Effect.tryPromise(() => cluster.cassandra("resume", "1"))))))
        const down = yield* next(changes, "10 seconds")
        console.log(`pools: DOWN ${Date.now() - pausedAt} ms after SIGSTOP (heartbeat 1 s, timeout 1.5 s)`)
        expect(down).toMatchObject({ state: "down" })
        expect(JSON.stringify(down.cause)).toContain("heartbeat")
        // Attempts meanwhile connect (the kernel accepts) but get no answer: they time out, the host stays down.
        yield* Effect.sleep("3 seconds")
        expect(p.state).toBe("down")
        expect(p.reconnecting).toBe(true)

        const resumedAt = Date.now()
        yield* cassandra("resume", "1")
        const up = yield* next(changes, "20 seconds")
        console.log(`pools: UP ${Date.now() - resumedAt} ms after SIGCONT`)
        expect(up).toMatchObject({ state: "up" })
        yield* Effect.repeat(Effect.sync(() => p.connections.length), {
          until: (n) => n === 2,
          schedule: Schedule.spaced("100 millis").pipe(Schedule.upTo("10 seconds"))
        })
        expect(yield* allAnswer(p)).toBe(true)
      }),
    120_000
  )
})
