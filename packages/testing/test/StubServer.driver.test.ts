/**
 * The real driver Session against the stub server: versions, compression, statements, errors, faults. The retry,
 * speculative-execution, reconnection and interruption tests are in policies.stub.test.ts.
 */
import { LoadBalancingPolicy, Metadata, Session, Statement } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { StubServer } from "../src/index.js"

const users = {
  name: "app",
  tables: [
    {
      name: "users",
      columns: { id: DataType.native.int, name: DataType.native.varchar, email: DataType.native.varchar },
      partitionKey: ["id"]
    }
  ]
}

const stubOptions = (address: string): StubServer.Options => ({
  firstAddress: address,
  port: 0,
  keyspaces: [users],
  rules: [
    { query: "SELECT name, email FROM app.users WHERE id = ?", params: [1], rows: [{ name: "Ada", email: "ada@example.com" }] },
    { query: "SELECT id FROM app.users", rows: Array.from({ length: 25 }, (_, i) => ({ id: i })) },
    { query: /^INSERT INTO app\.users/ }
  ]
})

/** A Session on the stub's contact points, built inside the test (the stub's ports are known only then). */
const session = (server: StubServer.StubServer, config: Partial<Session.SessionConfig> = {}) =>
  Layer.build(Session.layer({ contactPoints: server.contactPoints, requestTimeout: "2 seconds", ...config })).pipe(
    Effect.map(Context.get(Session.Session))
  )

describe("the driver Session against the stub", () => {
  for (const [name, config] of [
    ["v5", {}],
    ["v5 lz4", { compression: "lz4" }],
    ["v4", { protocolVersion: 4 }],
    ["v4 snappy", { protocolVersion: 4, compression: "snappy" }]
  ] as const) {
    it.scopedLive(`${name}: connects, reads system.local, executes prepared statements with their types`, () =>
      Effect.gen(function* () {
        const server = yield* StubServer.make(stubOptions("127.0.1.21"))
        const s = yield* session(server, config)
        expect(s.protocolVersion).toBe("protocolVersion" in config ? 4 : 5)
        const local = yield* s.execute("SELECT release_version, cluster_name FROM system.local")
        expect(local.rows).toEqual([{ release_version: "5.0.9", cluster_name: "stub" }])
        const ada = yield* s.execute("SELECT name, email FROM app.users WHERE id = ?", [1])
        expect(ada.rows).toEqual([{ name: "Ada", email: "ada@example.com" }])
        expect(ada.coordinator).toBe(server.contactPoints[0])
        yield* s.execute("INSERT INTO app.users (id, name) VALUES (?, ?)", [2, "Grace"])
        const log = yield* server.nodes[0]!.requests
        const prepares = log.filter((r) => r.request._tag === "Prepare").map((r) => r.query)
        expect(prepares).toEqual(["SELECT name, email FROM app.users WHERE id = ?", "INSERT INTO app.users (id, name) VALUES (?, ?)"])
        // The int marker was bound with the table's type: 4 bytes.
        const insert = log.find((r) => r.request._tag === "Execute" && r.query?.startsWith("INSERT"))!.request
        expect(insert._tag === "Execute" && insert.params.values?.map((v) => (Buffer.isBuffer(v) ? v.length : v))).toEqual([4, 5])
      }))
  }

  it.scopedLive("the default port: contactPoints [address] reaches a stub on 9042", () =>
    Effect.gen(function* () {
      yield* StubServer.make({ firstAddress: "127.0.1.31" })
      const s = yield* Layer.build(Session.layer({ contactPoints: ["127.0.1.31"] })).pipe(Effect.map(Context.get(Session.Session)))
      expect((yield* s.execute("SELECT rpc_address, rpc_port FROM system.local")).rows).toEqual([{ rpc_address: "127.0.1.31", rpc_port: 9042 }])
    }))

  it.scopedLive("a node that refuses v5: the Session falls back to v4, and the pools use v4 from the start", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({ firstAddress: "127.0.1.29", port: 0, protocolVersions: [4] })
      const s = yield* session(server)
      expect(s.protocolVersion).toBe(4)
      expect((yield* s.execute("SELECT native_protocol_version FROM system.local")).rows).toEqual([{ native_protocol_version: "4" }])
      const startups = (yield* server.nodes[0]!.requests).filter((r) => r.request._tag === "Options" || r.request._tag === "Startup")
      // One v4 handshake per connection: the control connection's and the pool's.
      expect(startups.map((r) => `v${r.version} ${r.request._tag}`).sort()).toEqual(["v4 Options", "v4 Options", "v4 Startup", "v4 Startup"])
      // Three sockets in all: the control connection's refused v5 attempt, then its v4 one; the pool, pinned to the
      // control connection's version, went straight to v4.
      expect([...new Set(startups.map((r) => r.connection))].sort()).toEqual([2, 3])
    }))

  it.scopedLive("typed statements, paging streams and batches", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make(stubOptions("127.0.1.22"))
      const s = yield* session(server)
      const byId = Statement.typed({
        query: "SELECT name, email FROM app.users WHERE id = ?",
        Params: Schema.Tuple(Schema.Number),
        Row: Schema.Struct({ name: Schema.String, email: Schema.String })
      })
      expect((yield* s.execute(byId([1]))).rows).toEqual([{ name: "Ada", email: "ada@example.com" }])
      const ids = yield* s.stream("SELECT id FROM app.users", undefined, { pageSize: 10 }).pipe(Stream.runCollect)
      expect([...ids].map((r) => r["id"])).toEqual(Array.from({ length: 25 }, (_, i) => i))
      const pages = (yield* server.nodes[0]!.requests).filter((r) => r.query === "SELECT id FROM app.users" && r.request._tag !== "Prepare")
      expect(pages).toHaveLength(3)
      const rs = yield* s.batch([{ query: "INSERT INTO app.users (id, name) VALUES (?, ?)", params: [3, "Edsger"] }], { type: "UNLOGGED" })
      expect(rs.rows).toEqual([])
    }))

  it.scopedLive("scripted server errors arrive as the driver's tagged errors, with their fields", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({
        firstAddress: "127.0.1.23",
        port: 0,
        rules: [
          { query: "SELECT a FROM t", error: { kind: "Unavailable", message: "Cannot achieve consistency level QUORUM", consistency: "QUORUM", required: 3, alive: 1 } },
          { query: "SELECT b FROM t", error: { kind: "ReadTimeout", message: "timeout", consistency: "ONE", received: 0, blockFor: 1, dataPresent: false } },
          { query: "SELECT c FROM t", error: { kind: "Overloaded", message: "slow down" } },
          { query: "SELECT d FROM t", error: { kind: "IsBootstrapping", message: "not yet" } }
        ]
      })
      const s = yield* session(server)
      const unavailable = yield* Effect.flip(s.execute("SELECT a FROM t"))
      expect(unavailable).toMatchObject({ _tag: "Unavailable", consistency: "QUORUM", required: 3, alive: 1, host: server.contactPoints[0] })
      const timeout = yield* s.execute("SELECT b FROM t").pipe(
        Effect.catchTag("ReadTimeout", (e) => Effect.succeed(`${e.received}/${e.blockFor} data=${e.dataPresent}`))
      )
      expect(timeout).toBe("0/1 data=false")
      expect((yield* Effect.flip(s.execute("SELECT c FROM t")))._tag).toBe("Overloaded")
      expect((yield* Effect.flip(s.execute("SELECT d FROM t")))._tag).toBe("IsBootstrapping")
      const unmatched = yield* Effect.flip(s.execute("SELECT e FROM t"))
      expect(unmatched._tag).toBe("Invalid")
      expect(unmatched.message).toContain(`no rule matches "SELECT e FROM t"`)
    }))

  it.scopedLive("a full metadata refresh from the stub's system tables: hosts, tokens, schema", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({
        firstAddress: "127.0.1.28",
        port: 0,
        nodes: [{ dataCenter: "dc1" }, { dataCenter: "dc1" }, { dataCenter: "dc2", rack: "r9" }],
        numTokens: 4,
        keyspaces: [
          {
            name: "shop",
            replication: { class: "org.apache.cassandra.locator.NetworkTopologyStrategy", dc1: "2", dc2: "1" },
            types: [{ name: "money", fields: { units: DataType.native.bigint, currency: DataType.native.ascii } }],
            tables: [
              {
                name: "orders",
                columns: {
                  customer: DataType.native.uuid,
                  placed: DataType.native.timestamp,
                  region: DataType.native.varchar,
                  total: { kind: "udt", keyspace: "shop", name: "money", fields: [{ name: "units", type: DataType.native.bigint }, { name: "currency", type: DataType.native.ascii }] },
                  tags: { kind: "set", element: DataType.native.varchar }
                },
                partitionKey: ["customer"],
                clustering: [{ name: "placed", order: "DESC" }],
                staticColumns: ["region"]
              }
            ]
          }
        ]
      })
      // system.local must come from the node the peers are read from, as over a control connection.
      const s = yield* session(server, {
        contactPoints: [server.contactPoints[0]!],
        loadBalancing: LoadBalancingPolicy.allowList(LoadBalancingPolicy.roundRobin(), [server.nodes[0]!.contactPoint])
      })
      const rows = (q: string) => Effect.map(s.execute(q), (rs) => rs.rows)
      const schema = (t: string) => rows(`SELECT * FROM system_schema.${t}`)
      const local = yield* rows("SELECT * FROM system.local WHERE key = 'local'")
      const md = Metadata.fromRows({
        local: local[0],
        peers: yield* rows("SELECT * FROM system.peers_v2"),
        connectedAddress: server.nodes[0]!.address,
        schema: {
          keyspaces: yield* schema("keyspaces"),
          tables: yield* schema("tables"),
          columns: yield* schema("columns"),
          types: yield* schema("types"),
          droppedColumns: yield* schema("dropped_columns"),
          indexes: yield* schema("indexes"),
          views: yield* schema("views"),
          functions: yield* schema("functions"),
          aggregates: yield* schema("aggregates"),
          triggers: yield* schema("triggers")
        }
      })
      expect(md.warnings).toEqual([])
      const hosts = [...md.value.hosts.values()]
      expect(hosts.map((h) => [h.endpoint, h.datacenter, h.rack, h.tokens.length]).sort()).toEqual(
        server.nodes.map((n) => [n.contactPoint, n.dataCenter, n.rack, 4]).sort()
      )
      expect(md.value.clusterName).toBe("stub")
      const orders = Metadata.table(md.value, "shop", "orders")!
      expect(orders.partitionKey.map((c) => c.name)).toEqual(["customer"])
      expect(orders.clusteringKey.map((c) => c.name)).toEqual(["placed"])
      expect(orders.columns.map((c) => [c.name, c.kind, DataType.toCql(c.type)])).toEqual([
        ["customer", "partition_key", "uuid"],
        ["placed", "clustering", "timestamp"],
        ["region", "static", "text"],
        ["tags", "regular", "set<text>"],
        ["total", "regular", "shop.money"]
      ])
      expect([...Metadata.keyspace(md.value, "shop")!.userTypes.keys()]).toEqual(["money"])
      // The ring: 12 evenly spaced tokens; NTS {dc1: 2, dc2: 1} places 3 replicas, one of them in dc2.
      const tokenMap = md.value.tokenMap!
      expect(tokenMap.size).toBe(12)
      const replicas = tokenMap.replicasOfKey("shop", Buffer.from("any key"))
      expect(replicas.map((h) => h.datacenter).sort()).toEqual(["dc1", "dc1", "dc2"])
    }))

  it.scopedLive("a node that lost its prepared statements: the Session re-prepares and retries, unseen", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make(stubOptions("127.0.1.24"))
      const s = yield* session(server)
      const node = server.nodes[0]!
      yield* s.execute("SELECT name, email FROM app.users WHERE id = ?", [1])
      yield* node.clearPrepared
      const again = yield* s.execute("SELECT name, email FROM app.users WHERE id = ?", [1])
      expect(again.rows).toEqual([{ name: "Ada", email: "ada@example.com" }])
      // The EXECUTE of the forgotten id has no query text in the log: the node no longer knows it.
      const seen = (yield* node.requests)
        .filter((r) => r.request._tag === "Prepare" || r.request._tag === "Execute")
        .map((r) => `${r.request._tag} ${r.query === undefined ? "(unknown id)" : "users"}`)
      expect(seen).toEqual(["Prepare users", "Execute users", "Execute (unknown id)", "Prepare users", "Execute users"])
    }))

  it.scopedLive("authentication: right credentials connect, wrong ones fail with AuthenticationError", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({ firstAddress: "127.0.1.25", port: 0, credentials: { username: "app", password: "s3cret" } })
      const ok = yield* session(server, { credentials: { username: "app", password: Redacted.make("s3cret") } })
      expect((yield* ok.execute("SELECT cluster_name FROM system.local")).rows).toEqual([{ cluster_name: "stub" }])
      const wrong = yield* Effect.flip(session(server, { credentials: { username: "app", password: Redacted.make("nope") } }))
      expect(wrong._tag).toBe("AuthenticationError")
      expect(wrong.message).toContain("Provided username app and/or password are incorrect")
    }))

  it.scopedLive("a dropped connection, a silent node and malformed bytes fail the requests in flight", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({
        firstAddress: "127.0.1.26",
        port: 0,
        rules: [
          { query: "crash", drop: true },
          { query: "silence", noResponse: true },
          { query: "corrupt", malformed: "badCrc" }
        ]
      })
      const s1 = yield* session(server)
      const silent = yield* Effect.flip(s1.execute("silence", undefined, { timeout: "200 millis" }))
      expect(silent).toMatchObject({ _tag: "RequestTimeout", timeoutMs: 200 })
      expect((yield* Effect.flip(s1.execute("crash")))._tag).toBe("ConnectionError")
      const s2 = yield* session(server)
      const corrupt = yield* Effect.flip(s2.execute("corrupt"))
      expect(corrupt._tag).toBe("ConnectionError")
      expect(corrupt.message).toMatch(/CRC32 mismatch/)
    }))

  it.scopedLive("a stopped node refuses the Session; accepting again lets a new Session in", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({ firstAddress: "127.0.1.27", port: 0 })
      yield* server.nodes[0]!.stopAccepting
      const refused = yield* Effect.flip(session(server, { connectTimeout: "1 second" }))
      expect(refused._tag).toBe("NoHostAvailable")
      yield* server.nodes[0]!.startAccepting
      const s = yield* session(server)
      expect((yield* s.execute("SELECT key FROM system.local")).rows).toEqual([{ key: "local" }])
    }))
})
