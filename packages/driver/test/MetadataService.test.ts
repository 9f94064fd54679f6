import { Metadata } from "@effect-cql/driver"
import * as MetadataStore from "../src/internal/metadata/metadataStore.js"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as HostEventHub from "../src/internal/control/hostEventHub.js"

const partitioner = "org.apache.cassandra.dht.Murmur3Partitioner"

const host = (n: number, extra: Partial<Metadata.Host> = {}): Metadata.Host => ({
  endpoint: `10.0.0.${n}:9042`,
  address: `10.0.0.${n}`,
  port: 9042,
  broadcastAddress: `10.0.0.${n}`,
  hostId: undefined,
  datacenter: "dc1",
  rack: "r1",
  // One token per host, spread over the ring.
  tokens: [String(BigInt(n) * 1_000_000_000_000_000n - 4_000_000_000_000_000_000n)],
  releaseVersion: "5.0.9",
  schemaVersion: "v1",
  state: "up",
  ...extra
})

const hostsOf = (...hs: ReadonlyArray<Metadata.Host>) => new Map(hs.map((h) => [h.endpoint, h]))
const topology = (...hs: ReadonlyArray<Metadata.Host>): MetadataStore.Topology => ({ clusterName: "c", partitioner, hosts: hostsOf(...hs) })

const keyspaces = (...specs: ReadonlyArray<readonly [string, number]>) =>
  Metadata.parseSchema({
    keyspaces: specs.map(([name, rf]) => ({
      keyspace_name: name,
      durable_writes: true,
      replication: { class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: String(rf) }
    }))
  }).value

/** A MetadataService with its HostEvents, and every host event published, in order. */
const setup = Effect.gen(function* () {
  const ctx = yield* Layer.build(MetadataStore.layer.pipe(Layer.provideMerge(HostEventHub.layer)))
  const service = Context.get(ctx, MetadataStore.MetadataStore)
  const seen: Array<string> = []
  yield* Context.get(ctx, HostEventHub.HostEventHub).onHostEvent((e) =>
    seen.push(`${e._tag} ${e.host.address} ${service.current().hosts.get(e.host.endpoint)?.state ?? "absent"}`)
  )
  return { service, seen }
})

const token = (md: Metadata.Metadata) => md.tokenMap!.tokenOf(Buffer.from("key"))

describe("MetadataService", () => {
  it.scoped("the first refresh builds hosts, schema and token map as one snapshot and publishes Added", () =>
    Effect.gen(function* () {
      const { service, seen } = yield* setup
      expect(service.current()).toBe(Metadata.empty)
      const md = yield* service.apply({ topology: topology(host(1), host(2), host(3)), schema: { keyspaces: keyspaces(["ks", 2]), refreshed: "all" } })
      expect(service.current()).toBe(md)
      expect(yield* service.get).toBe(md)
      expect(md.clusterName).toBe("c")
      expect(md.tokenMap?.size).toBe(3)
      expect(md.tokenMap?.replicas("ks", token(md))).toHaveLength(2)
      expect(seen).toEqual(["Added 10.0.0.1 up", "Added 10.0.0.2 up", "Added 10.0.0.3 up"])
    }))

  it.scoped("a topology refresh publishes Added and Removed and keeps the state of the hosts it already knew", () =>
    Effect.gen(function* () {
      const { service, seen } = yield* setup
      yield* service.apply({ topology: topology(host(1), host(2), host(3)), schema: { keyspaces: keyspaces(["ks", 3]), refreshed: "all" } })
      expect(yield* service.markHost(host(2).endpoint, "down")).toBe(true)
      seen.length = 0
      // system tables say nothing about liveness: host 2 stays down although the refresh's row says "up".
      const md = yield* service.apply({ topology: topology(host(1), host(2, { schemaVersion: "v2" }), host(4)) })
      expect([...md.hosts.keys()]).toEqual([host(1).endpoint, host(2).endpoint, host(4).endpoint])
      expect(md.hosts.get(host(2).endpoint)).toMatchObject({ state: "down", schemaVersion: "v2" })
      expect(seen).toEqual(["Added 10.0.0.4 up", "Removed 10.0.0.3 absent"])
      // The ring follows: host 4 replaces host 3 among the replicas of every token.
      expect(new Set(md.tokenMap!.ring().map((e) => e.host.address))).toEqual(new Set(["10.0.0.1", "10.0.0.2", "10.0.0.4"]))
      expect(md.tokenMap!.replicas("ks", token(md)).map((h) => h.address).sort()).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.4"])
      expect(md.keyspaces.has("ks")).toBe(true)
    }))

  it.scoped("schema refreshes: 'all' replaces the keyspaces, a targeted one replaces or drops only those it names", () =>
    Effect.gen(function* () {
      const { service } = yield* setup
      yield* service.apply({ topology: topology(host(1), host(2), host(3)), schema: { keyspaces: keyspaces(["a", 1], ["b", 2], ["c", 3]), refreshed: "all" } })
      const before = service.current()
      // b is re-read with rf 1, c was dropped; a is not named and stays the same object.
      const md = yield* service.apply({ schema: { keyspaces: keyspaces(["b", 1]), refreshed: ["b", "c"] } })
      expect([...md.keyspaces.keys()].sort()).toEqual(["a", "b"])
      expect(md.keyspaces.get("a")).toBe(before.keyspaces.get("a"))
      expect(md.tokenMap!.replicas("b", token(md))).toHaveLength(1)
      expect(md.tokenMap!.replicas("c", token(md))).toHaveLength(0)
      // The placement of an unchanged replication is reused, not recomputed.
      expect(md.tokenMap!.replicas("a", token(md))).toBe(before.tokenMap!.replicas("a", token(before)))
      expect(md.hosts).toBe(before.hosts)
      const all = yield* service.apply({ schema: { keyspaces: keyspaces(["d", 1]), refreshed: "all" } })
      expect([...all.keyspaces.keys()]).toEqual(["d"])
    }))

  it.scoped("markHost publishes Up and Down on transitions only, after the snapshot shows them", () =>
    Effect.gen(function* () {
      const { service, seen } = yield* setup
      yield* service.apply({ topology: topology(host(1), host(2)) })
      seen.length = 0
      expect(yield* service.markHost(host(1).endpoint, "down")).toBe(true)
      expect(yield* service.markHost(host(1).endpoint, "down")).toBe(false)
      expect(yield* service.markHost("10.9.9.9:9042", "down")).toBe(false)
      expect(yield* service.markHost(host(1).endpoint, "up")).toBe(true)
      expect(seen).toEqual(["Down 10.0.0.1 down", "Up 10.0.0.1 up"])
      // The ring is not rebuilt for a state change, but its hosts carry the new state.
      yield* service.markHost(host(2).endpoint, "down")
      expect(service.current().tokenMap!.hosts.find((h) => h.address === "10.0.0.2")?.state).toBe("down")
    }))

  it.scoped("changes: the current snapshot, then every new one", () =>
    Effect.gen(function* () {
      const { service } = yield* setup
      const first = yield* service.apply({ topology: topology(host(1)) })
      const latch = yield* Effect.makeLatch(false)
      const collected = yield* Effect.fork(
        Stream.runCollect(service.changes.pipe(Stream.tap(() => latch.open), Stream.take(3)))
      )
      yield* latch.await
      const second = yield* service.apply({ topology: topology(host(1), host(2)) })
      yield* service.markHost(host(2).endpoint, "down")
      const snapshots = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      expect(snapshots[0]).toBe(first)
      expect(snapshots[1]).toBe(second)
      expect(snapshots[2]).toBe(service.current())
      expect(snapshots[2]!.hosts.get(host(2).endpoint)?.state).toBe("down")
    }))
})
