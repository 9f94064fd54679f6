/**
 * The Connection against real Cassandra 5.0: the integration project's node on 127.0.0.1 (v5 and v4, with and
 * without compression), and two nodes of its own: one with PasswordAuthenticator (127.0.0.31), one with client
 * TLS (127.0.0.21).
 */
import type { Request, Response } from "@effect-cql/protocol"
import { readFile } from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Cluster, startCluster } from "../../../../scripts/harness.js"
import { connect } from "../../src/internal/connection/connection.js"
import type { Connection, ConnectionOptions, SendOptions } from "../../src/internal/connection/connection.js"
import { failed } from "../connectionFakeServer.js"
import * as AuthProvider from "../../src/AuthProvider.js"
import * as Redacted from "effect/Redacted"

const plain = (username: string, password: string) => AuthProvider.plain({ username, password: Redacted.make(password) })

const variants = [
  { version: 5, compression: "none" },
  { version: 5, compression: "lz4" },
  { version: 4, compression: "none" },
  { version: 4, compression: "lz4" },
  { version: 4, compression: "snappy" }
] as const

const query = (q: string, values?: ReadonlyArray<unknown>): Request.Request => ({
  _tag: "Query",
  query: q,
  params: values === undefined ? { consistency: "ONE" } : { consistency: "ONE", values }
})

const call = (c: Connection, req: Request.Request, opts: SendOptions = {}): Promise<Response.Response> =>
  new Promise((resolve, reject) => c.send(req, opts, (f, r) => (f === undefined ? resolve(r!) : reject(f))))

const rowsOf = (res: Response.Response): ReadonlyArray<Record<string, unknown>> => {
  if (res._tag !== "Rows") throw new Error(`expected Rows, got ${JSON.stringify(res)}`)
  return res.rows
}

const opened: Array<Connection> = []
const open = async (o: ConnectionOptions): Promise<Connection> => {
  const c = await connect(o)
  opened.push(c)
  return c
}
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close(1000)))
})

const local = { host: "127.0.0.1", port: 9042 } as const
const ks = "it_connection"

describe("127.0.0.1", () => {
  for (const v of variants) {
    describe(`v${v.version}, compression ${v.compression}`, () => {
      it("handshakes and reads release_version from system.local", async () => {
        const c = await open({ ...local, protocolVersion: v.version, compression: v.compression })
        expect(c.version).toBe(v.version)
        expect(c.supported["PROTOCOL_VERSIONS"]).toContain("5/v5")
        if (v.compression !== "none") expect(c.supported["COMPRESSION"]).toContain(v.compression)
        const rows = rowsOf(await call(c, query("SELECT release_version FROM system.local")))
        expect(rows.length).toBe(1)
        expect(String(rows[0]!["release_version"])).toMatch(/^5\.0\.\d+$/)
      })

      it("1,000 concurrent requests", async () => {
        const c = await open({ ...local, protocolVersion: v.version, compression: v.compression })
        const all = await Promise.all(Array.from({ length: 1000 }, () => call(c, query("SELECT key, release_version FROM system.local"))))
        expect(all.every((r) => rowsOf(r)[0]!["key"] === "local")).toBe(true)
        expect(c.inFlight).toBe(0)
      })

      it("a 300 KB value goes in and comes back whole (several v5 segments each way)", async () => {
        const c = await open({ ...local, protocolVersion: v.version, compression: v.compression })
        await call(c, query(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`), { timeoutMs: 30_000 })
        await call(c, query(`CREATE TABLE IF NOT EXISTS ${ks}.blobs (k text PRIMARY KEY, v blob)`), { timeoutMs: 30_000 })
        // Not all one byte, so that compression does not make it small.
        const blob = Buffer.alloc(300_000)
        for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919 + (i >> 8)) & 0xff
        const key = `v${v.version}-${v.compression}`
        await call(c, query(`INSERT INTO ${ks}.blobs (k, v) VALUES (?, ?)`, [key, blob]))
        const rows = rowsOf(await call(c, query(`SELECT v FROM ${ks}.blobs WHERE k = ?`, [key])))
        expect(Buffer.compare(rows[0]!["v"] as Buffer, blob)).toBe(0)
      })
    })
  }

  it("negotiates v5 when no version is pinned", async () => {
    const c = await open(local)
    expect(c.version).toBe(5)
  })

  it("keyspace option: USE before the connection is handed out", async () => {
    const setup = await open(local)
    await call(setup, query(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`), { timeoutMs: 30_000 })
    const c = await open({ ...local, keyspace: ks })
    expect(c.isOpen).toBe(true)
    const f = await failed(connect({ ...local, keyspace: "no_such_keyspace" }))
    expect(f).toMatchObject({ _tag: "Server", error: { kind: "Invalid" } })
  })

  it("tracing id comes back with the response", async () => {
    const c = await open(local)
    const res = await call(c, query("SELECT key FROM system.local"), { tracing: true })
    expect(res.tracingId?.length).toBe(16)
  })

  it("server events reach onEvent", async () => {
    const listener = await open(local)
    const res = await call(listener, { _tag: "Register", events: ["SCHEMA_CHANGE"] })
    expect(res._tag).toBe("Ready")
    const event = new Promise((resolve) => listener.onEvent(resolve))
    const other = await open(local)
    const table = `ev_${Date.now()}`
    await call(other, query(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`), { timeoutMs: 30_000 })
    await call(other, query(`CREATE TABLE ${ks}.${table} (k int PRIMARY KEY)`), { timeoutMs: 30_000 })
    expect(await event).toMatchObject({ type: "SCHEMA_CHANGE", change: "CREATED", target: "TABLE", keyspace: ks, name: table })
  })
})

describe("own nodes: authentication (127.0.0.31) and TLS (127.0.0.21)", () => {
  let auth: Cluster | undefined
  let tls: Cluster | undefined
  beforeAll(async () => {
    const [a, t] = await Promise.allSettled([startCluster({ ipBase: 30, nodes: 1, auth: true }), startCluster({ ipBase: 20, nodes: 1, tls: true })])
    if (a.status === "fulfilled") auth = a.value
    if (t.status === "fulfilled") tls = t.value
    if (a.status === "rejected") throw a.reason
    if (t.status === "rejected") throw t.reason
  }, 600_000)
  afterAll(async () => {
    await Promise.all([auth?.stop(), tls?.stop()])
  }, 180_000)

  it.each([5, 4] as const)("v%i: the right password opens, a wrong one is a typed Auth failure", async (version) => {
    const host = { host: auth!.addresses[0]!, port: 9042, protocolVersion: version }
    const c = await open({ ...host, authProvider: plain("cassandra", "cassandra") })
    expect(rowsOf(await call(c, query("SELECT release_version FROM system.local"))).length).toBe(1)
    const wrong = await failed(connect({ ...host, authProvider: plain("cassandra", "wrong") }))
    expect(wrong._tag).toBe("Auth")
    const none = await failed(connect(host))
    expect(none._tag).toBe("Auth")
  })

  it("TLS: the server certificate is verified against the CA and the IP address", async () => {
    const ca = await readFile(`${tls!.workDir}/tls/ca.pem`)
    const host = { host: tls!.addresses[0]!, port: 9042 }
    expect(host.host).toBe("127.0.0.21")
    const c = await open({ ...host, tls: { ca } })
    expect(c.version).toBe(5)
    expect(rowsOf(await call(c, query("SELECT release_version FROM system.local"))).length).toBe(1)
  })

  it("TLS: a name that is not in the certificate, or no CA, is refused", async () => {
    const ca = await readFile(`${tls!.workDir}/tls/ca.pem`)
    const host = { host: tls!.addresses[0]!, port: 9042 }
    for (const servername of ["localhost", "cassandra.example"]) {
      const f = await failed(connect({ ...host, tls: { ca, servername } }))
      expect(f._tag).toBe("Closed")
      expect((f as { cause: { code: string } }).cause.code).toBe("ERR_TLS_CERT_ALTNAME_INVALID")
    }
    const noCa = await failed(connect({ ...host, tls: {} }))
    expect((noCa as { cause: { code: string } }).cause.code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT")
    // Only an explicit opt-out skips verification.
    const insecure = await open({ ...host, tls: { rejectUnauthorized: false } })
    expect(insecure.isOpen).toBe(true)
  })
})
