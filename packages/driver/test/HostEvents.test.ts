import { HostEvents, Metadata } from "@effect-cql/driver"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as HostEventHub from "../src/internal/control/hostEventHub.js"

/** A host as a system.peers row gives it. */
const host = (n: number): Metadata.Host =>
  Metadata.parseTopology({ local: undefined, peers: [{ peer: `10.0.0.${n}` }], connectedAddress: "10.0.0.0" }).value.hosts.values().next().value!

const up = (n: number): HostEvents.HostEvent => ({ _tag: "Up", host: host(n) })
const down = (n: number): HostEvents.HostEvent => ({ _tag: "Down", host: host(n) })
const created: HostEvents.SchemaChanged = { _tag: "SchemaChanged", change: { change: "CREATED", target: "KEYSPACE", keyspace: "ks" } }

describe("HostEvents", () => {
  it.scoped("callbacks run in registration order, host and schema events apart; unregistering stops a callback", () =>
    Effect.gen(function* () {
      const events = yield* HostEventHub.make()
      const calls: Array<string> = []
      const unregisterA = yield* events.onHostEvent((e) => calls.push(`a ${e._tag} ${e.host.address}`))
      yield* events.onHostEvent((e) => calls.push(`b ${e._tag} ${e.host.address}`))
      yield* events.onSchemaChange((e) => calls.push(`schema ${e.change.change} ${e.change.keyspace}`))
      yield* events.publish(down(1))
      yield* events.publish(created)
      yield* unregisterA
      yield* events.publish(up(1))
      expect(calls).toEqual(["a Down 10.0.0.1", "b Down 10.0.0.1", "schema CREATED ks", "b Up 10.0.0.1"])
    }))

  it.scoped("a callback that throws is logged and the others still run", () =>
    Effect.gen(function* () {
      const events = yield* HostEventHub.make()
      const calls: Array<number> = []
      yield* events.onHostEvent(() => {
        throw new Error("boom")
      })
      yield* events.onHostEvent((e) => calls.push(Number(e.host.address.split(".")[3])))
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => logged.push(String(message)))
      yield* events.publish(up(7)).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(calls).toEqual([7])
      expect(logged.join(" ")).toContain("boom")
    }))

  it.scopedLive("the stream gets every event published after it started, in order", () =>
    Effect.gen(function* () {
      const events = yield* HostEventHub.make()
      const dequeue = yield* events.subscribe
      const collected = yield* Effect.fork(Stream.runCollect(Stream.take(events.events, 3)))
      // The stream subscribes when it starts running: give it that moment before publishing.
      yield* Effect.sleep("50 millis")
      yield* events.publish(down(1))
      yield* events.publish(created)
      yield* events.publish(up(1))
      expect(Chunk.toReadonlyArray(yield* Fiber.join(collected))).toEqual([down(1), created, up(1)])
      expect(Chunk.toReadonlyArray(yield* Queue.takeAll(dequeue))).toEqual([down(1), created, up(1)])
    }))

  it.scoped("a subscriber that does not keep up loses the oldest events past the buffer, not memory", () =>
    Effect.gen(function* () {
      const events = yield* HostEventHub.make({ bufferSize: 4 })
      const slow = yield* events.subscribe
      for (let i = 1; i <= 10; i++) yield* events.publish(up(i))
      const kept = Chunk.toReadonlyArray(yield* Queue.takeAll(slow))
      expect(kept.map((e) => e._tag !== "SchemaChanged" && e.host.address)).toEqual(["10.0.0.7", "10.0.0.8", "10.0.0.9", "10.0.0.10"])
    }))

  it.live("closing the scope ends the streams running on it", () =>
    Effect.gen(function* () {
      const running = yield* Effect.scoped(
        Effect.gen(function* () {
          const events = yield* HostEventHub.make()
          const fiber = yield* Effect.fork(Stream.runCollect(events.events))
          yield* Effect.sleep("50 millis")
          yield* events.publish(up(1))
          return fiber
        })
      )
      const collected = yield* Fiber.join(running).pipe(Effect.timeout("2 seconds"))
      expect(Chunk.toReadonlyArray(collected)).toEqual([up(1)])
    }))
})
