/**
 * Address translation through the stub server: nodes that listen on 127.0.14.x but advertise 127.0.99.x (where
 * nothing listens, as a private address behind NAT), a translator that maps them back, and translators that throw
 * or give invalid addresses, which skip their host while the rest of the cluster works.
 */
import { AddressTranslator, Cluster, CqlError, Session } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { StubServer } from "../src/index.js"

const rules: ReadonlyArray<StubServer.Rule> = [{ query: "SELECT v FROM t", rows: [{ v: 1 }], columns: { v: DataType.native.int } }]

/** Three nodes on 127.0.<net>.1-3 advertising 127.0.99.1-3. */
const natStub = (net: number) =>
  StubServer.make({
    firstAddress: `127.0.${net}.1`,
    nodes: [1, 2, 3].map((i) => ({ advertisedAddress: `127.0.99.${i}` })),
    port: 0,
    rules
  })

/** A Cluster over the stub in the test's scope, with warnings (and their annotations) captured. */
const clusterOver = (server: StubServer.StubServer, config: Partial<Cluster.ClusterConfig>) =>
  Effect.gen(function* () {
    const warnings: Array<ReadonlyArray<unknown>> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message : [message])
    })
    const cluster = yield* Layer.build(
      Cluster.layer({ contactPoints: [server.contactPoints[0]!], requestTimeout: "2 seconds", connectTimeout: "1 second", ...config })
    ).pipe(Effect.map(Context.get(Cluster.Cluster)), Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
    return { cluster, warnings }
  })

const nodesServing = (server: StubServer.StubServer) =>
  Effect.map(server.requests, (log) => [...new Set(log.filter((r) => r.query === "SELECT v FROM t").map((r) => r.node))].sort())

describe("address translation", () => {
  it.scopedLive("a fixed map turns the advertised addresses into reachable ones: the Metadata, the pools and the requests use them", () =>
    Effect.gen(function* () {
      const server = yield* natStub(14)
      // Advertised address -> real address; the ports are kept (an address-only entry).
      const table = Object.fromEntries(server.nodes.map((n) => [`127.0.99.${n.index}`, n.address]))
      const { cluster, warnings } = yield* clusterOver(server, { addressTranslator: AddressTranslator.fixed(table) })
      expect([...cluster.metadata.current().hosts.keys()].sort()).toEqual([...server.contactPoints].sort())
      const pools = yield* cluster.pools.snapshot
      expect(pools.map((p) => p.endpoint).sort()).toEqual([...server.contactPoints].sort())
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* Effect.forEach(Array.from({ length: 12 }), () => session.execute("SELECT v FROM t"), { discard: true })
      expect(yield* nodesServing(server)).toEqual([1, 2, 3])
      expect(warnings).toEqual([])
      // Events name the advertised address too: translated, a DOWN reaches the right host.
      const node2 = server.nodes[1]!
      yield* server.nodes[0]!.pushEvent({ type: "STATUS_CHANGE", change: "DOWN", address: "127.0.99.2", port: node2.port })
      yield* Effect.iterate(0, {
        while: (n) => n < 50 && cluster.metadata.current().hosts.get(node2.contactPoint)?.state !== "down",
        body: (n) => Effect.as(Effect.sleep("50 millis"), n + 1)
      })
      expect(cluster.metadata.current().hosts.get(node2.contactPoint)?.state).toBe("down")
    }))

  it.scopedLive("without a translator the advertised addresses are used, and nothing listens there", () =>
    Effect.gen(function* () {
      const server = yield* natStub(15)
      const { cluster } = yield* clusterOver(server, {})
      expect([...cluster.metadata.current().hosts.keys()].sort()).toEqual(server.nodes.map((n) => `127.0.99.${n.index}:${n.port}`))
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      const error = yield* Effect.flip(session.execute("SELECT v FROM t"))
      expect(error).toBeInstanceOf(CqlError.NoHostAvailable)
    }))

  it.scopedLive("a translator that throws or gives an invalid address skips that host with a logged AddressTranslationError; the rest works", () =>
    Effect.gen(function* () {
      const server = yield* natStub(16)
      const [one] = server.nodes
      const translator: AddressTranslator.AddressTranslator = ({ address, port }) => {
        if (address === "127.0.99.1") return { address: one!.address, port }
        if (address === "127.0.99.2") throw new Error("no route for 127.0.99.2")
        return { address: "not an address", port }
      }
      const { cluster, warnings } = yield* clusterOver(server, { addressTranslator: translator })
      expect([...cluster.metadata.current().hosts.keys()]).toEqual([one!.contactPoint])
      const errors = warnings.flat().filter((m): m is AddressTranslator.AddressTranslationError => m instanceof AddressTranslator.AddressTranslationError)
      expect(errors.map((e) => [e._tag, e.advertised.address, e.reason])).toEqual([
        ["AddressTranslationError", "127.0.99.2", "the translator threw: no route for 127.0.99.2"],
        ["AddressTranslationError", "127.0.99.3", `the translator returned the address "not an address", which is neither an IP address nor a host name`]
      ])
      expect(errors[0]!.message).toBe(`address translation of 127.0.99.2:${server.nodes[1]!.port} failed (the translator threw: no route for 127.0.99.2): the host is skipped`)
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* Effect.forEach(Array.from({ length: 6 }), () => session.execute("SELECT v FROM t"), { discard: true })
      expect(yield* nodesServing(server)).toEqual([1])
    }))
})
