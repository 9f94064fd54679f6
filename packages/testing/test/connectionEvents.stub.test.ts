/**
 * Connection lifecycle events (`cluster.pools.connectionEvents`) through the stub server: a node stopped (its
 * connections dropped, new ones refused) and restarted gives Closed with its cause, reconnect attempts, then
 * Connected and Reconnected; closing the Cluster gives Closed events that were not losses.
 */
import { Cluster, type ConnectionPools } from "@effect-cql/driver"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { StubServer } from "../src/index.js"

const waitFor = (check: () => boolean) =>
  Effect.iterate(0, { while: (n) => n < 100 && !check(), body: (n) => Effect.as(Effect.sleep("50 millis"), n + 1) })

/** The events of one host, as tags (with the reconnect counts), in order. */
const timeline = (events: ReadonlyArray<ConnectionPools.ConnectionEvent>, endpoint: string) =>
  events.filter((e) => e.endpoint === endpoint).map((e) => {
    switch (e._tag) {
      case "Connected":
        return `Connected ${e.open}`
      case "Closed":
        return `Closed ${e.lost ? "lost" : "by the driver"} ${e.open}`
      case "ReconnectAttempt":
        return `ReconnectAttempt ${e.attempt}`
      case "Reconnected":
        return `Reconnected after ${e.attempts}`
    }
  })

describe("connection lifecycle events", () => {
  it.scopedLive("a node stopped and restarted: Closed (lost, with its cause), reconnect attempts, Connected, Reconnected", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({ firstAddress: "127.0.18.1", nodes: 2, port: 0 })
      const clusterScope = yield* Scope.make()
      const cluster = yield* Layer.buildWithScope(
        Cluster.layer({ contactPoints: [server.contactPoints[0]!], reconnectionSchedule: Schedule.spaced("100 millis"), connectTimeout: "1 second" }),
        clusterScope
      ).pipe(Effect.map(Context.get(Cluster.Cluster)))
      const events: Array<ConnectionPools.ConnectionEvent> = []
      yield* Effect.forkScoped(Stream.runForEach(cluster.pools.connectionEvents, (e) => Effect.sync(() => events.push(e))))
      yield* Effect.sleep("50 millis") // the subscription is in place

      const node2 = server.nodes[1]!
      yield* node2.stopAccepting
      yield* node2.dropConnections
      // At least two rounds of attempts while it refuses connections.
      yield* waitFor(() => events.filter((e) => e._tag === "ReconnectAttempt").length >= 2)
      const closed = events.find((e) => e._tag === "Closed")
      expect(closed).toMatchObject({ _tag: "Closed", endpoint: node2.contactPoint, open: 0, lost: true, cause: { _tag: "Closed" } })
      yield* node2.startAccepting
      yield* waitFor(() => events.some((e) => e._tag === "Reconnected"))

      const line = timeline(events, node2.contactPoint)
      const attempts = line.filter((l) => l.startsWith("ReconnectAttempt")).length
      expect(attempts).toBeGreaterThanOrEqual(2)
      expect(line).toEqual([
        "Closed lost 0",
        ...Array.from({ length: attempts }, (_, i) => `ReconnectAttempt ${i + 1}`),
        "Connected 1",
        `Reconnected after ${attempts}`
      ])
      // The other node saw nothing.
      expect(timeline(events, server.nodes[0]!.contactPoint)).toEqual([])

      // Closing the Cluster closes every pooled connection: Closed, not lost.
      events.length = 0
      yield* Scope.close(clusterScope, Exit.void)
      expect(new Set(events.map((e) => `${e._tag} ${e._tag === "Closed" && e.lost}`))).toEqual(new Set(["Closed false"]))
      expect(new Set(events.map((e) => e.endpoint))).toEqual(new Set(server.contactPoints))
    }))
})
