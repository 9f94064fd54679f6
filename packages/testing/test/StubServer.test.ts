import { DataType } from "@effect-cql/protocol"
import type { Response, ServerError } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as net from "node:net"
import { StubServer } from "../src/index.js"
import { connected, RawClient } from "./rawClient.js"

const run = Effect.runPromise

/** Runs `f` against a stub started for it and closed after it (port 0: ephemeral ports, no collisions). */
const withStub = <A>(options: StubServer.Options, f: (s: StubServer.StubServer) => Promise<A>): Promise<A> =>
  run(Effect.scoped(Effect.flatMap(StubServer.make({ firstAddress: "127.0.1.101", port: 0, ...options }), (s) => Effect.promise(() => f(s)))))

const first = (s: StubServer.StubServer) => s.nodes[0]!

const open = (s: StubServer.StubServer, version: 4 | 5, options: Parameters<typeof connected>[3] = {}, node = 0) =>
  connected(s.nodes[node]!.address, s.nodes[node]!.port, version, options)

const rowsOf = (res: Response.Response) => {
  if (res._tag !== "Rows") throw new Error(`expected Rows, got ${res._tag}${res._tag === "Error" ? ` (${res.error.kind}: ${res.error.message})` : ""}`)
  return res.rows
}
const errorOf = (res: Response.Response): ServerError.ServerError => {
  if (res._tag !== "Error") throw new Error(`expected an ERROR, got ${res._tag}`)
  return res.error
}

const query = (q: string, values?: ReadonlyArray<unknown>, extra: { pageSize?: number; pagingState?: Uint8Array } = {}) =>
  ({ _tag: "Query", query: q, params: { consistency: "ONE", ...(values === undefined ? {} : { values }), ...extra } }) as const

const kv = {
  name: "ks",
  tables: [
    {
      name: "kv",
      columns: { k: DataType.native.int, c: DataType.native.varchar, v: DataType.native.varchar },
      partitionKey: ["k"],
      clustering: [{ name: "c", order: "DESC" as const }]
    }
  ],
  types: [{ name: "address", fields: { street: DataType.native.varchar, zip: DataType.native.int } }]
}

describe("StubServer", () => {
  describe("handshake", () => {
    for (const version of [4, 5] as const) {
      for (const compression of [undefined, "lz4", ...(version === 4 ? ["snappy" as const] : [])] as const) {
        it(`v${version} ${compression ?? "uncompressed"}: OPTIONS, STARTUP, READY, then system.local`, () =>
          withStub({}, async (s) => {
            const c = await RawClient.connect(first(s).address, first(s).port, version)
            const supported = await c.request({ _tag: "Options" })
            expect(supported).toMatchObject({
              _tag: "Supported",
              options: { PROTOCOL_VERSIONS: ["4/v4", "5/v5"], COMPRESSION: ["lz4", "snappy"], CQL_VERSION: ["3.4.7"] }
            })
            const ready = await c.handshake(compression === undefined ? {} : { compression })
            expect(ready._tag).toBe("Ready")
            if (version === 5) expect(c.inbound.framing).toBe(compression === "lz4" ? "lz4" : "uncompressed")
            const rows = rowsOf(await c.request(query("SELECT release_version, rpc_address FROM system.local WHERE key = 'local'")))
            expect(rows).toEqual([{ release_version: "5.0.9", rpc_address: first(s).address }])
            // A large answer: v5 spreads it over several segments; compression makes the bytes on the wire fewer.
            const many = Array.from({ length: 3000 }, (_, i) => ({ n: i, s: "row-data-".repeat(8) }))
            await run(s.addRules({ query: "SELECT * FROM big", rows: many, columns: { n: DataType.native.int, s: DataType.native.varchar } }))
            const before = c.bytesReceived
            expect(rowsOf(await c.request(query("SELECT * FROM big")))).toEqual(many)
            const wire = c.bytesReceived - before
            if (compression === undefined) expect(wire).toBeGreaterThan(3000 * 80)
            else expect(wire).toBeLessThan(3000 * 80 / 4)
            c.close()
          }))
      }
    }

    it("refuses snappy in v5 and unknown algorithms, and a STARTUP without CQL_VERSION", () =>
      withStub({}, async (s) => {
        const c = await RawClient.connect(first(s).address, first(s).port, 5)
        expect(errorOf(await c.request({ _tag: "Startup", options: { CQL_VERSION: "3.0.0", COMPRESSION: "snappy" } }))).toEqual({
          kind: "ProtocolError",
          message: "Unknown compression algorithm: snappy"
        })
        expect(errorOf(await c.request({ _tag: "Startup", options: { COMPRESSION: "lz4" } })).message).toBe("CQL_VERSION is mandatory")
        expect(errorOf(await c.request(query("SELECT 1"))).message).toBe("Unexpected message QUERY, expecting STARTUP or OPTIONS")
        c.close()
      }))

    it("a v4-only node answers a v5 client with a v4 protocol error and closes", () =>
      withStub({ protocolVersions: [4] }, async (s) => {
        const c = await RawClient.connect(first(s).address, first(s).port, 5)
        const err = errorOf(await c.request({ _tag: "Options" }))
        expect(err).toEqual({ kind: "ProtocolError", message: "Invalid or unsupported protocol version (5); supported versions are (4/v4)" })
        await c.closed
        const v4 = await open(s, 4)
        expect(rowsOf(await v4.request(query("SELECT native_protocol_version FROM system.local")))).toEqual([{ native_protocol_version: "4" }])
        v4.close()
      }))

    for (const version of [4, 5] as const) {
      it(`v${version}: SASL PLAIN authentication`, () =>
        withStub({ credentials: { username: "cassandra", password: "secret" } }, async (s) => {
          const ok = await RawClient.connect(first(s).address, first(s).port, version)
          expect((await ok.handshake({ compression: "lz4", credentials: { username: "cassandra", password: "secret" } }))._tag).toBe("AuthSuccess")
          expect(rowsOf(await ok.request(query("SELECT cluster_name FROM system.local")))).toEqual([{ cluster_name: "stub" }])

          const wrong = await RawClient.connect(first(s).address, first(s).port, version)
          expect(errorOf(await wrong.handshake({ credentials: { username: "cassandra", password: "nope" } }))).toEqual({
            kind: "AuthenticationError",
            message: "Provided username cassandra and/or password are incorrect"
          })
          expect(errorOf(await wrong.request(query("SELECT 1"))).message).toBe("Unexpected message QUERY, expecting AUTH_RESPONSE")
          ok.close()
          wrong.close()
        }))
    }
  })

  describe("rules", () => {
    it("rows with inferred or declared columns, params by value and by predicate, RegExp, newest first, times", () =>
      withStub({ rules: [{ query: /^SELECT v FROM t/, rows: [{ v: "server-wide" }] }] }, async (s) => {
        const c = await open(s, 5)
        expect(rowsOf(await c.request(query("SELECT v FROM t")))).toEqual([{ v: "server-wide" }])
        await run(
          s.addRules(
            { query: "SELECT v FROM t WHERE k = ?", params: [1], rows: [{ v: "one" }] },
            { query: "SELECT v FROM t WHERE k = ?", params: (vs) => vs.length === 1 && Buffer.isBuffer(vs[0]), rows: [{ v: "other" }] },
            { query: "SELECT v FROM t WHERE k = ?", params: ["text"], rows: [{ v: "text" }], times: 1 }
          )
        )
        expect(rowsOf(await c.request(query("SELECT v FROM t WHERE k = ?", ["text"])))).toEqual([{ v: "text" }])
        // `times: 1` is used up; the predicate rule is newer than the params: [1] one.
        expect(rowsOf(await c.request(query("SELECT v FROM t WHERE k = ?", ["text"])))).toEqual([{ v: "other" }])
        expect(rowsOf(await c.request(query("SELECT v FROM t WHERE k = ?", [1])))).toEqual([{ v: "other" }])
        await run(s.addRules({ query: "SELECT v FROM t WHERE k = ?", params: [1], rows: [{ v: "one" }] }))
        expect(rowsOf(await c.request(query("SELECT v FROM t WHERE k = ?", [1])))).toEqual([{ v: "one" }])
        // A node's own rules come before the server's.
        await run(first(s).addRules({ query: /^SELECT v FROM t/, rows: [{ v: "node" }] }))
        expect(rowsOf(await c.request(query("SELECT v FROM t")))).toEqual([{ v: "node" }])
        const typed = await c.request(query("SELECT a, b FROM typed"))
        expect(typed._tag).toBe("Error")
        await run(s.addRules({ query: "SELECT a, b FROM typed", rows: [{ a: 1, b: 2n }], columns: { a: DataType.native.int, b: DataType.native.bigint } }))
        const res = await c.request(query("SELECT a, b FROM typed"))
        expect(res._tag === "Rows" && res.columns.map((col) => col.type.kind)).toEqual(["int", "bigint"])
        expect(rowsOf(res)).toEqual([{ a: 1, b: 2n }])
        // Rows that do not fit their columns come back as a Server_error saying why.
        await run(s.addRules({ query: "SELECT a FROM wrong", rows: [{ a: "not an int" }], columns: { a: DataType.native.int } }))
        expect(errorOf(await c.request(query("SELECT a FROM wrong")))).toMatchObject({ kind: "ServerError", message: expect.stringContaining("stub could not encode its Rows answer") })
        c.close()
      }))

    it("unmatched statements get an Invalid naming the query, or a Void result when asked", async () => {
      await withStub({ rules: [{ query: "SELECT 1" }] }, async (s) => {
        const c = await open(s, 4)
        expect(errorOf(await c.request(query("INSERT INTO x (a) VALUES (?)", [5])))).toEqual({
          kind: "Invalid",
          message: `stub node 1: no rule matches "INSERT INTO x (a) VALUES (?)" with params [ <Buffer 40 14 00 00 00 00 00 00> ]; 1 rule(s): "SELECT 1"`
        })
        expect((await c.request(query("SELECT 1")))._tag).toBe("Void")
        c.close()
      })
      await withStub({ unmatched: "void" }, async (s) => {
        const c = await open(s, 4)
        expect((await c.request(query("INSERT INTO x (a) VALUES (1)")))._tag).toBe("Void")
        c.close()
      })
    })

    it("scripted server errors keep their fields in v4 and v5", () =>
      withStub({}, async (s) => {
        const errors: ReadonlyArray<ServerError.ServerError> = [
          { kind: "Unavailable", message: "Cannot achieve consistency level QUORUM", consistency: "QUORUM", required: 2, alive: 1 },
          { kind: "ReadTimeout", message: "timed out", consistency: "LOCAL_QUORUM", received: 1, blockFor: 2, dataPresent: false },
          { kind: "WriteTimeout", message: "timed out", consistency: "ONE", received: 0, blockFor: 1, writeType: "BATCH_LOG" },
          { kind: "Overloaded", message: "too many requests" },
          { kind: "IsBootstrapping", message: "bootstrapping" },
          { kind: "Unprepared", message: "unknown id", id: Buffer.from("00112233", "hex") },
          { kind: "AlreadyExists", message: "exists", keyspace: "ks", table: "t" },
          { kind: "FunctionFailure", message: "boom", keyspace: "ks", function: "f", argTypes: ["int"] },
          { kind: "SyntaxError", message: "line 1:0 no viable alternative" }
        ]
        await run(s.addRules(...errors.map((error, i) => ({ query: `q${i}`, error }))))
        await run(s.addRules({ query: "rf", error: { kind: "ReadFailure", message: "f", consistency: "ONE", received: 0, blockFor: 1, numFailures: 1, reasons: [{ endpoint: "127.0.1.2", code: 1 }], dataPresent: false } }))
        for (const version of [4, 5] as const) {
          const c = await open(s, version)
          for (let i = 0; i < errors.length; i++) expect(errorOf(await c.request(query(`q${i}`)))).toEqual(errors[i])
          const rf = errorOf(await c.request(query("rf")))
          expect(rf).toMatchObject({ kind: "ReadFailure", numFailures: 1, reasons: version === 5 ? [{ endpoint: "127.0.1.2", code: 1 }] : [] })
          c.close()
        }
      }))

    it("delays one answer without holding back the others", () =>
      withStub({ rules: [{ query: "slow", delay: "300 millis", rows: [{ x: 1 }] }, { query: "fast", rows: [{ x: 2 }] }] }, async (s) => {
        const c = await open(s, 5)
        const started = Date.now()
        const order: Array<string> = []
        const slow = c.request(query("slow")).then((r) => (order.push("slow"), r))
        const fast = c.request(query("fast")).then((r) => (order.push("fast"), r))
        expect(rowsOf(await fast)).toEqual([{ x: 2 }])
        expect(rowsOf(await slow)).toEqual([{ x: 1 }])
        expect(Date.now() - started).toBeGreaterThanOrEqual(290)
        expect(order).toEqual(["fast", "slow"])
        c.close()
      }))

    it("drops the connection, or never answers", () =>
      withStub({ rules: [{ query: "crash", drop: true }, { query: "silence", noResponse: true }, { query: "ok", rows: [] }] }, async (s) => {
        const c = await open(s, 4)
        const silent = c.request(query("silence"))
        let settled = false
        void silent.then(
          () => (settled = true),
          () => (settled = true)
        )
        expect(rowsOf(await c.request(query("ok")))).toEqual([])
        await new Promise((r) => setTimeout(r, 100))
        expect(settled).toBe(false)
        const ok = c.request(query("ok"))
        const crashed = c.request(query("crash"))
        // The answer written before the drop still arrives; then the socket closes and the rest fail.
        expect(rowsOf(await ok)).toEqual([])
        await expect(crashed).rejects.toThrow("connection closed")
        await expect(silent).rejects.toThrow("connection closed")
        await c.closed
        expect(await run(first(s).connections)).toBe(0)
      }))

    it("tracing and warnings", () =>
      withStub({ rules: [{ query: "w", rows: [], warnings: ["Aggregation query used without partition key"] }] }, async (s) => {
        const c = await open(s, 5)
        const res = await c.request(query("w"), { tracing: true })
        expect(res.warnings).toEqual(["Aggregation query used without partition key"])
        expect(res.tracingId).toHaveLength(16)
        c.close()
      }))
  })

  describe("prepared statements", () => {
    it("PREPARE describes markers from the emulated table (with pk indexes); EXECUTE answers, pages, skips metadata", () =>
      withStub({ keyspaces: [kv] }, async (s) => {
        const rows = Array.from({ length: 5 }, (_, i) => ({ k: 1, c: `c${i}`, v: `v${i}` }))
        await run(s.addRules({ query: "SELECT * FROM ks.kv WHERE k = ?", params: (vs) => vs[0] === 1, rows }))
        for (const version of [4, 5] as const) {
          const c = await open(s, version)
          const prepared = await c.request({ _tag: "Prepare", query: "SELECT * FROM ks.kv WHERE k = ?" })
          if (prepared._tag !== "Prepared") throw new Error(prepared._tag)
          expect(prepared.metadata.columns).toEqual([{ keyspace: "ks", table: "kv", name: "k", type: DataType.native.int }])
          expect(prepared.metadata.pkIndexes).toEqual([0])
          expect(prepared.resultMetadata.columns?.map((col) => col.name)).toEqual(["k", "c", "v"])
          expect(prepared.resultMetadataId !== undefined).toBe(version === 5)
          const exec = (values: ReadonlyArray<unknown>, extra: { pageSize?: number; pagingState?: Uint8Array } = {}) =>
            c.request(
              {
                _tag: "Execute",
                id: prepared.id,
                ...(prepared.resultMetadataId === undefined ? {} : { resultMetadataId: prepared.resultMetadataId }),
                params: { consistency: "ONE", values, types: [DataType.native.int], skipMetadata: true, ...extra }
              },
              { columns: prepared.resultMetadata.columns! }
            )
          const page1 = await exec([1], { pageSize: 2 })
          expect(page1._tag === "Rows" && page1.metadata.columns).toBeUndefined()
          expect(rowsOf(page1)).toEqual(rows.slice(0, 2))
          const state = page1._tag === "Rows" ? page1.metadata.pagingState : undefined
          expect(rowsOf(await exec([1], { pageSize: 10, pagingState: state! }))).toEqual(rows.slice(2))
          expect(errorOf(await exec([2])).kind).toBe("Invalid")
          c.close()
        }
      }))

    it("INSERT markers follow the column list; LIMIT and TTL markers get Cassandra's names", () =>
      withStub({ keyspaces: [kv], unmatched: "void" }, async (s) => {
        const c = await open(s, 4)
        const insert = await c.request({ _tag: "Prepare", query: "INSERT INTO ks.kv (v, k, c) VALUES (?, ?, ?) USING TTL ?" })
        expect(insert._tag === "Prepared" && insert.metadata.columns.map((col) => [col.name, col.type.kind])).toEqual([
          ["v", "varchar"],
          ["k", "int"],
          ["c", "varchar"],
          ["[ttl]", "int"]
        ])
        expect(insert._tag === "Prepared" && insert.metadata.pkIndexes).toEqual([1])
        await run(s.addRules({ query: /IN \?/, rows: [] }))
        const select = await c.request({ _tag: "Prepare", query: "SELECT v FROM ks.kv WHERE k IN ? LIMIT ?" })
        expect(select._tag === "Prepared" && select.metadata.columns.map((col) => [col.name, DataType.toCql(col.type)])).toEqual([
          ["k", "list<int>"],
          ["[limit]", "int"]
        ])
        c.close()
      }))

    it("a node that forgot its statements answers Unprepared, per node; rules can fail PREPARE itself", () =>
      withStub({ nodes: 2, rules: [{ query: "SELECT x FROM t", rows: [{ x: 1 }] }] }, async (s) => {
        const c = await open(s, 5)
        const prepared = await c.request({ _tag: "Prepare", query: "SELECT x FROM t" })
        if (prepared._tag !== "Prepared") throw new Error(prepared._tag)
        const execute = { _tag: "Execute", id: prepared.id, resultMetadataId: prepared.resultMetadataId!, params: { consistency: "ONE" } } as const
        expect(rowsOf(await c.request(execute))).toEqual([{ x: 1 }])
        await run(first(s).clearPrepared)
        expect(errorOf(await c.request(execute))).toMatchObject({ kind: "Unprepared", id: prepared.id })
        const other = await open(s, 5, {}, 1)
        expect(errorOf(await other.request(execute)).kind).toBe("Unprepared")
        await run(s.addRules({ query: "SELECT x FROM t", on: ["prepare"], error: { kind: "SyntaxError", message: "no" }, times: 1 }))
        expect(errorOf(await c.request({ _tag: "Prepare", query: "SELECT x FROM t" })).kind).toBe("SyntaxError")
        expect((await c.request({ _tag: "Prepare", query: "SELECT x FROM t" }))._tag).toBe("Prepared")
        c.close()
        other.close()
      }))

    it("null-server mode answers a static rule from precomputed bytes, and stops when the rules change", () =>
      withStub({ rules: [{ query: "SELECT v FROM kv WHERE k = ?", rows: [{ v: "canned" }] }] }, async (s) => {
        const c = await open(s, 5)
        const prepared = await c.request({ _tag: "Prepare", query: "SELECT v FROM kv WHERE k = ?" })
        if (prepared._tag !== "Prepared") throw new Error(prepared._tag)
        const exec = (k: string) =>
          c.request(
            { _tag: "Execute", id: prepared.id, resultMetadataId: prepared.resultMetadataId!, params: { consistency: "ONE", values: [Buffer.from(k)], skipMetadata: true } },
            { columns: prepared.resultMetadata.columns! }
          )
        const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => exec(`k${i}`)))
        expect(answers.every((a) => a._tag === "Rows" && a.rows[0]?.["v"] === "canned" && a.metadata.columns === undefined)).toBe(true)
        // Every request was still logged, with the prepared query's text.
        const logged = (await run(first(s).requests)).filter((r) => r.request._tag === "Execute")
        expect(logged).toHaveLength(50)
        expect(logged.every((r) => r.query === "SELECT v FROM kv WHERE k = ?")).toBe(true)
        await run(s.addRules({ query: "SELECT v FROM kv WHERE k = ?", params: [Buffer.from("k7")], rows: [{ v: "special" }] }))
        expect(rowsOf(await exec("k7"))).toEqual([{ v: "special" }])
        expect(rowsOf(await exec("k8"))).toEqual([{ v: "canned" }])
        c.close()
      }))

    it("BATCH is answered by a rule for any of its statements; an unknown id is Unprepared", () =>
      withStub({ rules: [{ query: /^INSERT/ }] }, async (s) => {
        const c = await open(s, 4)
        const batch = (statements: ReadonlyArray<{ query: string } | { id: Uint8Array }>) =>
          c.request({ _tag: "Batch", type: "UNLOGGED", consistency: "ONE", statements: statements.map((st) => ({ ...st, values: [] })) as never })
        expect((await batch([{ query: "UPDATE a SET b = 1" }, { query: "INSERT INTO a (b) VALUES (1)" }]))._tag).toBe("Void")
        expect(errorOf(await batch([{ query: "UPDATE a SET b = 1" }])).message).toContain(`BATCH of "UPDATE a SET b = 1"`)
        expect(errorOf(await batch([{ id: Buffer.from("feed", "hex") }])).kind).toBe("Unprepared")
        c.close()
      }))
  })

  describe("cluster emulation", () => {
    it("3 nodes: system.local and peers per node, balanced tokens, schema of the emulated keyspaces", () =>
      withStub({ nodes: [{ dataCenter: "dc1" }, { dataCenter: "dc1", rack: "r2" }, { dataCenter: "dc2" }], keyspaces: [kv] }, async (s) => {
        expect(s.nodes.map((n) => n.address)).toEqual(["127.0.1.101", "127.0.1.102", "127.0.1.103"])
        const tokens = s.nodes.map((n) => BigInt(n.tokens[0]!))
        expect(tokens).toEqual([-(2n ** 63n), -(2n ** 63n) + 2n ** 64n / 3n, -(2n ** 63n) + (2n * 2n ** 64n) / 3n])
        const clients = await Promise.all(s.nodes.map((_, i) => open(s, 5, {}, i)))
        const locals = await Promise.all(clients.map((c) => c.request(query("SELECT * FROM system.local WHERE key='local'"))))
        const hostIds = new Set(locals.map((l) => String(rowsOf(l)[0]!["host_id"])))
        expect(hostIds.size).toBe(3)
        const local2 = rowsOf(locals[1]!)[0]!
        expect(local2).toMatchObject({ rpc_address: "127.0.1.102", rpc_port: s.nodes[1]!.port, data_center: "dc1", rack: "r2", tokens: [tokens[1]!.toString()] })
        const peers = rowsOf(await clients[1]!.request(query("SELECT peer, native_address, native_port, data_center, host_id FROM system.peers_v2")))
        expect(peers.map((p) => [p["peer"], p["native_port"], p["data_center"]])).toEqual([
          ["127.0.1.101", s.nodes[0]!.port, "dc1"],
          ["127.0.1.103", s.nodes[2]!.port, "dc2"]
        ])
        expect(rowsOf(await clients[0]!.request(query("SELECT peer, rpc_address FROM system.peers")))).toHaveLength(2)
        const schemaVersions = new Set(locals.map((l) => String(rowsOf(l)[0]!["schema_version"])))
        expect(schemaVersions.size).toBe(1)

        const c = clients[0]!
        const keyspaces = rowsOf(await c.request(query("SELECT keyspace_name, replication FROM system_schema.keyspaces")))
        expect(keyspaces.map((k) => k["keyspace_name"])).toEqual(["system", "system_schema", "system_auth", "system_distributed", "system_traces", "ks"])
        const columns = rowsOf(
          await c.request(query("SELECT column_name, kind, position, clustering_order, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = 'kv'", ["ks"]))
        )
        expect(columns).toEqual([
          { column_name: "k", kind: "partition_key", position: 0, clustering_order: "none", type: "int" },
          { column_name: "c", kind: "clustering", position: 0, clustering_order: "desc", type: "text" },
          { column_name: "v", kind: "regular", position: -1, clustering_order: "none", type: "text" }
        ])
        const tables = rowsOf(await c.request(query("SELECT keyspace_name, table_name, gc_grace_seconds FROM system_schema.tables WHERE keyspace_name IN ('ks', 'other')")))
        expect(tables).toEqual([{ keyspace_name: "ks", table_name: "kv", gc_grace_seconds: 864000 }])
        expect(rowsOf(await c.request(query("SELECT * FROM system_schema.types")))).toEqual([
          { keyspace_name: "ks", type_name: "address", field_names: ["street", "zip"], field_types: ["text", "int"] }
        ])
        for (const t of ["dropped_columns", "indexes", "views", "functions", "aggregates", "triggers"]) {
          expect(rowsOf(await c.request(query(`SELECT * FROM system_schema.${t}`)))).toEqual([])
        }
        expect(errorOf(await c.request(query("SELECT nope FROM system.local"))).message).toBe("Undefined column name nope in table system.local")
        expect((await c.request(query("USE ks")))).toMatchObject({ _tag: "SetKeyspace", keyspace: "ks" })
        expect(errorOf(await c.request(query(`USE "missing"`))).message).toBe("Keyspace 'missing' does not exist")
        // Prepared system queries work too (drivers prepare some).
        const p = await c.request({ _tag: "Prepare", query: "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?" })
        if (p._tag !== "Prepared") throw new Error(p._tag)
        expect(p.metadata.columns.map((col) => [col.name, col.type.kind])).toEqual([["keyspace_name", "varchar"]])
        const ex = await c.request({ _tag: "Execute", id: p.id, resultMetadataId: p.resultMetadataId!, params: { consistency: "ONE", values: ["ks"], types: [DataType.native.varchar] } })
        expect(rowsOf(ex)).toEqual([{ table_name: "kv" }])
        for (const cl of clients) cl.close()
      }))

    it("stops accepting connections and accepts again; open connections keep working", () =>
      withStub({ rules: [{ query: "ping", rows: [] }] }, async (s) => {
        const n = first(s)
        const c = await open(s, 4)
        await run(n.stopAccepting)
        const refused = await new Promise<string>((resolve) => {
          const socket = net.connect({ host: n.address, port: n.port })
          socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "?"))
          socket.once("connect", () => {
            socket.destroy()
            resolve("connected")
          })
        })
        expect(refused).toBe("ECONNREFUSED")
        expect(rowsOf(await c.request(query("ping")))).toEqual([])
        await run(n.startAccepting)
        const again = await open(s, 4)
        expect(rowsOf(await again.request(query("ping")))).toEqual([])
        expect(await run(n.connections)).toBe(2)
        await run(n.dropConnections)
        await Promise.all([c.closed, again.closed])
        c.close()
      }))

    it("pushes events to the connections registered for them", () =>
      withStub({ nodes: 2 }, async (s) => {
        const status = await open(s, 5)
        expect((await status.request({ _tag: "Register", events: ["STATUS_CHANGE", "TOPOLOGY_CHANGE"] }))._tag).toBe("Ready")
        const schema = await open(s, 4, {}, 1)
        expect((await schema.request({ _tag: "Register", events: ["SCHEMA_CHANGE"] }))._tag).toBe("Ready")
        const idle = await open(s, 5)
        const down = { type: "STATUS_CHANGE", change: "DOWN", address: s.nodes[1]!.address, port: s.nodes[1]!.port } as const
        expect(await run(s.pushEvent(down))).toBe(1)
        const created = { type: "SCHEMA_CHANGE", change: "CREATED", target: "TABLE", keyspace: "ks", name: "t" } as const
        expect(await run(s.nodes[1]!.pushEvent(created))).toBe(1)
        expect(await run(first(s).pushEvent(created))).toBe(0)
        await status.until(() => status.events.length === 1)
        await schema.until(() => schema.events.length === 1)
        expect(status.events).toEqual([down])
        expect(schema.events).toEqual([created])
        expect(idle.events).toEqual([])
        for (const c of [status, schema, idle]) c.close()
      }))
  })

  describe("malformed frames", () => {
    const cases: ReadonlyArray<[4 | 5, StubServer.Malformed, "lz4" | undefined, RegExp]> = [
      [5, "badCrc", undefined, /CRC32 mismatch/],
      [5, "badCrc", "lz4", /CRC32 mismatch/],
      [5, "badHeaderCrc", undefined, /CRC24 mismatch/],
      [5, "badHeaderCrc", "lz4", /CRC24 mismatch/],
      [5, "badLength", undefined, /length 2147483647 is outside/],
      [4, "badLength", undefined, /length 2147483647 is outside/],
      [4, "garbage", undefined, /outside/],
      [4, "badCrc", undefined, /outside/]
    ]
    for (const [version, malformed, compression, message] of cases) {
      it(`v${version}${compression === undefined ? "" : ` ${compression}`} ${malformed}: the client's decoder rejects it`, () =>
        withStub({ rules: [{ query: "bad", malformed }, { query: "good", rows: [] }] }, async (s) => {
          const c = await open(s, version, compression === undefined ? {} : { compression })
          expect(rowsOf(await c.request(query("good")))).toEqual([])
          await expect(c.request(query("bad"))).rejects.toThrow(message)
          expect(c.decodeError?.message).toMatch(message)
          c.close()
        }))
    }

    it("a node can send malformed bytes to every connection outside any request", () =>
      withStub({}, async (s) => {
        const c = await open(s, 5)
        await run(first(s).sendMalformed("badCrc"))
        await c.until(() => c.decodeError !== undefined)
        expect(c.decodeError?.message).toMatch(/CRC32 mismatch/)
        c.close()
      }))

    it("a client sending a bad CRC gets a protocol error and is disconnected", () =>
      withStub({}, async (s) => {
        const c = await open(s, 5)
        const env = c.encode(query("SELECT 1"), 7)
        const segment = Buffer.from(c.outbound.encode([env]))
        segment[segment.length - 1] = segment[segment.length - 1]! ^ 0xff
        ;(c as unknown as { socket: net.Socket }).socket.write(segment)
        await c.closed
        expect(c.isClosed).toBe(true)
      }))
  })

  it.layer(StubServer.layer({ firstAddress: "127.0.1.111", port: 0, nodes: 2, rules: [{ query: "SELECT 1", rows: [] }] }))("as a layer", (it) => {
    it.effect("Effect code drives it and reads each node's log", () =>
      Effect.gen(function* () {
        const server = yield* StubServer.StubServer
        const c = yield* Effect.promise(() => connected(server.nodes[1]!.address, server.nodes[1]!.port, 5))
        yield* Effect.promise(() => c.request(query("SELECT 1")))
        const log = yield* server.nodes[1]!.requests
        expect(log.map((r) => r.request._tag)).toEqual(["Options", "Startup", "Query"])
        expect(log[2]).toMatchObject({ node: 2, connection: 1, version: 5, query: "SELECT 1" })
        expect(yield* server.nodes[0]!.requests).toEqual([])
        expect((yield* server.requests).length).toBe(3)
        c.close()
      }))
  })
})
