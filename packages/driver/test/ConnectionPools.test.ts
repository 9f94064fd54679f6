import type { Request } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as ConnectionPools from "../src/ConnectionPools.js"
import * as Pools from "../src/internal/pool/connectionPools.js"
import type { Connection, ConnectionOptions } from "../src/internal/connection/connection.js"
import type { Host } from "../src/Metadata.js"
import * as Metrics from "../src/Metrics.js"
import { FakeServer } from "./connectionFakeServer.js"
import type { FakeServerOptions, ServerConnection } from "./connectionFakeServer.js"

const hostOf = (s: FakeServer): Host => ({
  endpoint: `127.0.0.1:${s.port}`,
  address: "127.0.0.1",
  port: s.port,
  broadcastAddress: undefined,
  hostId: undefined,
  datacenter: "dc1",
  rack: "r1",
  tokens: [],
  releaseVersion: undefined,
  schemaVersion: undefined,
  state: "up"
})

/** A fake server closed with the test's scope. */
const server = (o: FakeServerOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => FakeServer.start(o)),
    (s) => Effect.promise(() => s.close())
  )

const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))

/** Polls `cond` in real time (the tests may run under TestClock), failing the test after `ms`. */
const waitFor = (what: string, cond: () => boolean, ms = 5000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + ms
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 5))
    }
  })

const connection: Omit<ConnectionOptions, "host" | "port"> = { protocolVersion: 4, heartbeatIntervalMs: 0 }

/** A pools service on its own scope, recording host state changes. */
const pools = (options: Pools.Options = {}) =>
  Effect.gen(function* () {
    const events: Array<string> = []
    const service = yield* Pools.make({
      connection,
      ...options,
      onHostState: (c) => {
        events.push(c.state)
        return options.onHostState?.(c) ?? Effect.void
      }
    })
    return { service, events }
  })

const query = (q: string): Request.Request => ({ _tag: "Query", query: q, params: { consistency: "ONE" } })

/** Sends a request nobody answers (the server's `onRequest` holds it). */
const hold = (c: Connection) => c.send(query("hold"), {}, () => undefined)

/** Waits (in real time) until a fiber sleeps on the TestClock: adjusting the clock before would be lost. */
const sleeping = Effect.gen(function* () {
  const deadline = Date.now() + 5000
  while ((yield* TestClock.sleeps()).length === 0) {
    if (Date.now() > deadline) return yield* Effect.die(new Error("no fiber went to sleep"))
    yield* realSleep(2)
  }
})

const never = (_req: unknown, _stream: number, _conn: ServerConnection) => undefined

/** The server-side connection of each open client connection, in order of acceptance. */
const serverSockets = (s: FakeServer) => s.connections.filter((c) => !c.socket.destroyed)

describe("ConnectionPools: sizes and pick", () => {
  it.scoped("opens connectionsPerHost by distance in the background; ignored hosts get no pool", () =>
    Effect.gen(function* () {
      const local = yield* server()
      const remote = yield* server()
      const ignored = yield* server()
      const { service } = yield* pools({ connectionsPerHost: { local: 3, remote: 1 } })
      const lp = yield* service.ensure(hostOf(local), "local")
      const rp = yield* service.ensure(hostOf(remote), "remote")
      expect(yield* service.ensure(hostOf(ignored), "ignored")).toBeUndefined()
      // ensure does not wait for the connections.
      expect(lp?.connections.length).toBe(0)
      yield* lp!.initialized
      yield* rp!.initialized
      expect(lp!.connections.length).toBe(3)
      expect(rp!.connections.length).toBe(1)
      expect(lp!.state).toBe("up")
      yield* realSleep(20)
      expect(local.accepted).toBe(3)
      expect(remote.accepted).toBe(1)
      expect(ignored.accepted).toBe(0)
      expect(service.get(hostOf(ignored).endpoint)).toBeUndefined()
      const snap = yield* service.snapshot
      expect(snap.map((p) => [p.distance, p.size, p.state, p.inFlight.length]).sort()).toEqual([
        ["local", 3, "up", 3],
        ["remote", 1, "up", 1]
      ])
    }))

  it.scoped("a new distance resizes the pool: surplus connections close, missing ones open; ignored removes it", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const { service, events } = yield* pools({ connectionsPerHost: { local: 2, remote: 1 } })
      const pool = (yield* service.ensure(hostOf(s), "remote"))!
      yield* pool.initialized
      expect(pool.connections.length).toBe(1)
      expect(yield* service.ensure(hostOf(s), "local")).toBe(pool)
      yield* waitFor("a second connection", () => pool.connections.length === 2)
      yield* service.ensure(hostOf(s), "remote")
      expect(pool.connections.length).toBe(1)
      yield* waitFor("the surplus socket to close", () => serverSockets(s).length === 1)
      yield* service.ensure(hostOf(s), "ignored")
      expect(service.get(hostOf(s).endpoint)).toBeUndefined()
      expect(pool.state).toBe("closed")
      yield* waitFor("every socket to close", () => serverSockets(s).length === 0)
      // Removing a host on purpose is not a DOWN.
      expect(events).toEqual(["up"])
    }))

  it.scoped("pick returns the open connection with the fewest requests in flight", () =>
    Effect.gen(function* () {
      const s = yield* server({ onRequest: never })
      const { service } = yield* pools({ connectionsPerHost: { local: 2 }, closeGrace: "10 millis" })
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* pool.initialized
      const [a, b] = pool.connections as [Connection, Connection]
      hold(a)
      expect(pool.pick()).toBe(b)
      hold(b)
      hold(b)
      expect(pool.pick()).toBe(a)
      hold(a)
      hold(a)
      expect(pool.pick()).toBe(b)
      expect((yield* service.snapshot)[0]?.inFlight).toEqual([3, 2])
    }))

  it.scoped("pick tells 'every connection is full' (busy) from 'no open connection' (undefined)", () =>
    Effect.gen(function* () {
      const s = yield* server({ onRequest: never })
      const { service } = yield* pools({
        connection: { ...connection, maxInFlight: 2 },
        connectionsPerHost: { local: 2 },
        reconnectionSchedule: Schedule.spaced("1 hour")
      })
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* pool.initialized
      for (let i = 0; i < 3; i++) hold(pool.pick() as Connection)
      const last = pool.pick()
      expect(last).not.toBe("busy")
      hold(last as Connection)
      expect(pool.pick()).toBe("busy")
      // A full connection really refuses: the Connection's Busy failure, not a queue.
      let failure: string | undefined
      pool.connections[0]!.send(query("x"), {}, (f) => (failure = f?._tag))
      expect(failure).toBe("Busy")
      s.refuse = true
      for (const c of s.connections) c.socket.destroy()
      yield* waitFor("both connections to close", () => pool.connections.length === 0)
      expect(pool.pick()).toBeUndefined()
      expect(pool.state).toBe("down")
    }))

  it.scoped("counts open connections in the MetricsService gauge when one is provided", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const { service } = yield* pools({ connectionsPerHost: { local: 2 } }).pipe(Effect.provide(Metrics.layer))
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* pool.initialized
      const gauge = Metric.tagged(Metrics.openConnections, "host", hostOf(s).endpoint)
      expect((yield* Metric.value(gauge)).value).toBe(2)
      yield* service.remove(hostOf(s).endpoint)
      expect((yield* Metric.value(gauge)).value).toBe(0)
    }))

  it.effect("rejects a negative pool size or a bad maxInFlight when it is built", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.exit(Effect.scoped(Pools.make({ connectionsPerHost: { remote: -1 } })))
      expect(Exit.isFailure(bad) ? Cause.pretty(bad.cause) : "succeeded").toContain("connectionsPerHost.remote must be a non-negative integer")
      const capacity = yield* Effect.exit(Effect.scoped(Pools.make({ connection: { maxInFlight: 0 } })))
      expect(Exit.isFailure(capacity)).toBe(true)
    }))
})

describe("ConnectionPools: DOWN, reconnection, UP", () => {
  it.scoped("a host whose first attempts fail is reported DOWN; initialized completes all the same", () =>
    Effect.gen(function* () {
      const s = yield* server()
      s.refuse = true
      const { service, events } = yield* pools({ reconnectionSchedule: Schedule.spaced("1 hour") })
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* pool.initialized
      expect(pool.state).toBe("down")
      yield* waitFor("the hook", () => events.length === 1)
      expect(events).toEqual(["down"])
      expect(pool.reconnecting).toBe(true)
      expect(pool.pick()).toBeUndefined()
    }))

  it.effect("a killed connection reports DOWN, then attempts follow the schedule (TestClock) until the host is back UP", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const changes: Array<ConnectionPools.HostStateChange> = []
      const { service, events } = yield* pools({
        reconnectionSchedule: Schedule.exponential("1 second", 2),
        onHostState: (c) => Effect.sync(() => changes.push(c))
      })
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* pool.initialized
      yield* waitFor("UP", () => events.length === 1)
      expect(events).toEqual(["up"])
      s.refuse = true
      s.last.socket.destroy()
      yield* waitFor("DOWN", () => events.length === 2)
      expect(events).toEqual(["up", "down"])
      expect(changes[1]?.cause?._tag).toBe("Closed")
      expect(pool.pick()).toBeUndefined()
      // The first attempt waits for the schedule's first delay (1 s), then 2 s, then 4 s.
      const attemptAfter = (ms: number) =>
        Effect.gen(function* () {
          const before = s.accepted
          yield* sleeping
          yield* TestClock.adjust(Duration.millis(ms - 1))
          yield* realSleep(30)
          expect(s.accepted).toBe(before)
          yield* TestClock.adjust(Duration.millis(1))
          yield* waitFor(`an attempt after ${ms} ms`, () => s.accepted === before + 1)
        })
      yield* attemptAfter(1000)
      yield* realSleep(20)
      yield* attemptAfter(2000)
      s.refuse = false
      yield* realSleep(20)
      yield* attemptAfter(4000)
      yield* waitFor("UP", () => events.length === 3)
      expect(events).toEqual(["up", "down", "up"])
      expect(pool.state).toBe("up")
      expect(pool.pick()).toBe(pool.connections[0])
      yield* waitFor("the loop to end", () => !pool.reconnecting)
    }).pipe(Effect.scoped))

  it.effect("losing one connection of several refills the pool without a DOWN", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const { service, events } = yield* pools({ connectionsPerHost: { local: 3 }, reconnectionSchedule: Schedule.spaced("1 second") })
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* pool.initialized
      s.connections[1]!.socket.destroy()
      yield* waitFor("the loss", () => pool.connections.length === 2)
      // A connection (not "busy", not undefined): one of the two still open.
      expect(pool.connections).toContain(pool.pick())
      expect(pool.state).toBe("up")
      yield* sleeping
      expect(s.accepted).toBe(3)
      yield* TestClock.adjust("1 second")
      yield* waitFor("the refill", () => pool.connections.length === 3)
      expect(s.accepted).toBe(4)
      expect(events).toEqual(["up"])
    }).pipe(Effect.scoped))

  it.scoped("markUp (an UP event) probes at once instead of waiting for the schedule; a full pool ignores it", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const { service, events } = yield* pools({ reconnectionSchedule: Schedule.spaced("1 hour") })
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* pool.initialized
      yield* service.markUp(hostOf(s).endpoint)
      yield* realSleep(30)
      expect(s.accepted).toBe(1)
      s.last.socket.destroy()
      yield* waitFor("DOWN", () => pool.state === "down")
      yield* realSleep(30)
      expect(s.accepted).toBe(1)
      yield* service.markUp(hostOf(s).endpoint)
      yield* waitFor("UP", () => pool.state === "up")
      expect(s.accepted).toBe(2)
      yield* waitFor("the hook", () => events.length === 3)
      expect(events).toEqual(["up", "down", "up"])
      // markUp of an unknown endpoint is a no-op.
      yield* service.markUp("127.0.0.9:1")
    }))

  it.scoped("a probe during an attempt does not start a second one", () =>
    Effect.gen(function* () {
      const s = yield* server()
      s.paused = true
      const { service } = yield* pools({ connection: { ...connection, connectTimeoutMs: 300 }, reconnectionSchedule: Schedule.spaced("1 hour") })
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* waitFor("the first attempt", () => s.accepted === 1)
      yield* service.markUp(hostOf(s).endpoint)
      yield* pool.initialized
      expect(pool.state).toBe("down")
      expect(s.accepted).toBe(1)
    }))

  it.live("a node that stops answering is noticed by the heartbeat: DOWN, then UP once it answers again", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const { service, events } = yield* pools({
        connection: { ...connection, heartbeatIntervalMs: 100, requestTimeoutMs: 200, connectTimeoutMs: 200 },
        reconnectionSchedule: Schedule.spaced("50 millis")
      })
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* pool.initialized
      s.paused = true
      yield* waitFor("DOWN", () => events.length === 2, 3000)
      expect(events).toEqual(["up", "down"])
      const cause = (yield* service.snapshot)[0]
      expect(cause?.state).toBe("down")
      s.paused = false
      yield* waitFor("UP", () => events.length === 3, 3000)
      expect(pool.connections.length).toBe(1)
    }).pipe(Effect.scoped))

  it.scoped("onHostState runs in order (here publishing to a PubSub); a failing hook does not stop the next ones", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const hub = yield* PubSub.unbounded<ConnectionPools.HostStateChange>()
      const sub = yield* PubSub.subscribe(hub)
      let calls = 0
      const { service } = yield* pools({
        reconnectionSchedule: Schedule.spaced("1 hour"),
        onHostState: (c) => {
          // The first change is handled slowly, then fails: the second still comes after it.
          const first = ++calls === 1
          return realSleep(first ? 50 : 0).pipe(
            Effect.zipRight(PubSub.publish(hub, c)),
            Effect.zipRight(first ? Effect.die(new Error("boom")) : Effect.void)
          )
        }
      })
      const pool = (yield* service.ensure(hostOf(s), "local"))!
      yield* pool.initialized
      s.last.socket.destroy()
      yield* waitFor("DOWN", () => pool.state === "down")
      const got = [yield* Queue.take(sub), yield* Queue.take(sub)]
      expect(got.map((c) => [c.endpoint, c.state])).toEqual([
        [hostOf(s).endpoint, "up"],
        [hostOf(s).endpoint, "down"]
      ])
    }))
})

describe("ConnectionPools: the reconnection schedule", () => {
  it.effect("reconnectionSchedule: 1 s doubling, capped at 60 s, each delay scaled by [0.8, 1]", () =>
    Effect.gen(function* () {
      const delays = Chunk.toArray(
        yield* Schedule.run(Schedule.delays(ConnectionPools.reconnectionSchedule()), 0, Array.from({ length: 2000 }, () => undefined))
      ).map(Duration.toMillis)
      expect(delays.length).toBe(2000)
      delays.forEach((d, n) => {
        const nominal = Math.min(1000 * 2 ** n, 60_000)
        expect(d).toBeGreaterThanOrEqual(nominal * 0.8)
        expect(d).toBeLessThanOrEqual(nominal)
      })
      // Jittered: the capped delays are not all the same.
      expect(new Set(delays.slice(10, 30)).size).toBeGreaterThan(1)
      const custom = Chunk.toArray(
        yield* Schedule.run(Schedule.delays(ConnectionPools.reconnectionSchedule({ base: "100 millis", factor: 3, max: "1 second" })), 0, [1, 2, 3, 4])
      ).map(Duration.toMillis)
      expect(custom[1]).toBeGreaterThanOrEqual(240)
      expect(custom[1]).toBeLessThanOrEqual(300)
      expect(custom[3]).toBeLessThanOrEqual(1000)
    }))
})

describe("ConnectionPools: shutdown", () => {
  const resources = () => {
    const counts = new Map<string, number>()
    for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1)
    return counts
  }
  /** No more sockets or timers in `now` than in `before` (timers of the test runner itself may come and go). */
  const noneLeft = (now: Map<string, number>, before: Map<string, number>) =>
    ["TCPSocketWrap", "TCPWRAP", "Timeout", "TLSWrap"].every((k) => (now.get(k) ?? 0) <= (before.get(k) ?? 0))

  it.scopedLive("closing the scope closes every pool, aborts attempts, interrupts reconnection, and leaves no socket or timer", () =>
    Effect.gen(function* () {
      const up = yield* server({ onRequest: never })
      const down = yield* server()
      down.refuse = true
      const hanging = yield* server({ silent: true })
      yield* realSleep(20)
      const before = resources()
      const scope = yield* Scope.make()
      const { service } = yield* pools({
        connection: { ...connection, heartbeatIntervalMs: 30_000, connectTimeoutMs: 60_000 },
        connectionsPerHost: { local: 2 },
        closeGrace: "200 millis"
      }).pipe(Scope.extend(scope))
      const a = (yield* service.ensure(hostOf(up), "local"))!
      const b = (yield* service.ensure(hostOf(down), "local"))!
      yield* service.ensure(hostOf(hanging), "local")
      yield* a.initialized
      yield* b.initialized
      yield* waitFor("the hanging attempts", () => hanging.accepted === 2)
      hold(a.pick() as Connection)
      expect(b.reconnecting).toBe(true)
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const took = Date.now() - started
      // The grace period for the request still in flight, and no wait for the 60 s connect timeout.
      expect(took).toBeGreaterThanOrEqual(150)
      expect(took).toBeLessThan(2000)
      expect(a.state).toBe("closed")
      expect(b.reconnecting).toBe(false)
      expect(yield* service.snapshot).toEqual([])
      expect(yield* service.ensure(hostOf(up), "local")).toBeUndefined()
      yield* waitFor("sockets and timers to be gone", () => noneLeft(resources(), before), 2000)
    }))
})
