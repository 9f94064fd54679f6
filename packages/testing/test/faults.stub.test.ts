/**
 * Servers that misbehave, and what callers see: a non-CQL server on the port, a server that accepts and never
 * answers, and a node that dies in the middle of an answer. Each ends in a typed error that names the host, promptly,
 * and only the requests that were on the broken connection are touched.
 */
import { Cluster, CqlError, Session } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as http from "node:http"
import * as net from "node:net"
import { StubServer } from "../src/index.js"

/** A server on `host` (ephemeral port) for the test's scope. */
const listen = <S extends net.Server>(server: S, host: string) =>
  Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen({ host, port: 0 }, () => resume(Effect.succeed((server.address() as net.AddressInfo).port)))
    }),
    () => Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      if ("closeAllConnections" in server) (server as unknown as http.Server).closeAllConnections()
    })
  )

const connectTo = (contactPoint: string, config: Partial<Cluster.ClusterConfig> = {}) =>
  Layer.build(Cluster.layer({ contactPoints: [contactPoint], ...config })).pipe(Effect.map(Context.get(Cluster.Cluster)))

describe("misbehaving servers", () => {
  it.scopedLive("an HTTP server on the port fails the connect at once with NoHostAvailable naming the host", () =>
    Effect.gen(function* () {
      const server = http.createServer((_req, res) => res.end("not cassandra"))
      const sockets = new Set<net.Socket>()
      server.on("connection", (s) => {
        sockets.add(s)
        s.on("close", () => sockets.delete(s))
      })
      const port = yield* listen(server, "127.0.3.60")
      const started = Date.now()
      const error = yield* Effect.flip(connectTo(`127.0.3.60:${port}`, { connectTimeout: "10 seconds" }))
      expect(Date.now() - started).toBeLessThan(2000)
      expect(error._tag).toBe("NoHostAvailable")
      const cause = (error as CqlError.NoHostAvailable).errors.get(`127.0.3.60:${port}`)
      expect(String((cause as { message?: string }).message ?? cause)).toMatch(/127\.0\.3\.60/)
    }))

  it.scopedLive("a server that accepts and never answers fails the connect after connectTimeout, never hangs", () =>
    Effect.gen(function* () {
      const sockets: Array<net.Socket> = []
      const server = net.createServer((s) => void sockets.push(s))
      const port = yield* listen(server, "127.0.3.61")
      yield* Effect.addFinalizer(() => Effect.sync(() => sockets.forEach((s) => s.destroy())))
      const started = Date.now()
      const error = yield* Effect.flip(connectTo(`127.0.3.61:${port}`, { connectTimeout: "500 millis" }))
      const elapsed = Date.now() - started
      expect(error._tag).toBe("NoHostAvailable")
      expect([...(error as CqlError.NoHostAvailable).errors.keys()]).toEqual([`127.0.3.61:${port}`])
      expect(elapsed).toBeGreaterThanOrEqual(450)
      expect(elapsed).toBeLessThan(3000)
    }))

  it.scopedLive("a node that closes mid-frame fails only its connection's requests: idempotent ones move to the next host", () =>
    Effect.gen(function* () {
      const query = "SELECT v FROM ks.kv WHERE k = ?"
      const server = yield* StubServer.make({
        firstAddress: "127.0.3.62",
        nodes: 2,
        port: 0,
        keyspaces: [
          {
            name: "ks",
            replication: { class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: "2" },
            tables: [{ name: "kv", columns: { k: DataType.native.int, v: DataType.native.int }, partitionKey: ["k"] }]
          }
        ],
        rules: [{ query, rows: [{ v: 7 }] }]
      })
      const cluster = yield* connectTo(server.contactPoints[0]!, { requestTimeout: "5 seconds" })
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* session.prepare(query)
      yield* cluster.executor.awaitIdle
      // The first node cuts its next two answers in half and closes the socket.
      yield* server.nodes[0]!.addRules({ query, malformed: "truncated", times: 2 })
      const started = Date.now()
      const outcomes = yield* Effect.forEach(
        Array.from({ length: 40 }, (_, k) => k),
        (k) => Effect.either(session.execute(query, [k], { idempotent: k % 2 === 0 })),
        { concurrency: 8 }
      )
      expect(Date.now() - started).toBeLessThan(3000)
      const failed = outcomes.flatMap((o, k) => (o._tag === "Left" ? [{ k, tag: o.left._tag }] : []))
      // Only non-idempotent requests that were on the cut connection can fail, each with a ConnectionError.
      for (const f of failed) {
        expect(f.k % 2).toBe(1)
        expect(f.tag).toBe("ConnectionError")
      }
      const succeeded = outcomes.filter((o) => o._tag === "Right")
      expect(succeeded.length + failed.length).toBe(40)
      for (const o of succeeded) expect(o._tag === "Right" && o.right.rows).toEqual([{ v: 7 }])
      // The idempotent ones all succeeded.
      expect(outcomes.filter((o, k) => k % 2 === 0 && o._tag === "Right")).toHaveLength(20)
      // The cut happened: what was on the connection was retried elsewhere (an EXECUTE more on the wire) or failed.
      const executes = yield* Effect.map(server.requests, (log) => log.filter((r) => r.request._tag === "Execute" && r.query === query).length)
      expect(executes - 40 + failed.length).toBeGreaterThanOrEqual(1)
    }))

  it.scopedLive("compression asked for but not offered: the connection runs uncompressed and a warning says so", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({ firstAddress: "127.0.3.63", nodes: 1, port: 0, compression: [], rules: [{ query: "SELECT 1", rows: [{ one: 1 }] }] })
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(message))
      })
      const cluster = yield* connectTo(server.contactPoints[0]!, { compression: "lz4" }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      expect((yield* session.execute("SELECT 1")).rows).toEqual([{ one: 1 }])
      expect(warnings).toEqual([`effect-cql: ${server.contactPoints[0]} does not offer lz4 compression (it offers none); connections run uncompressed`])
    }))
})
