import type { Request, Response } from "@effect-cql/protocol"
import { afterEach, describe, expect, it, vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as net from "node:net"
import { connect, Connection, open, request } from "../src/internal/connection/connection.js"
import type { ConnectionFailure, ConnectionOptions } from "../src/internal/connection/connection.js"
import { failed, FakeServer } from "./connectionFakeServer.js"
import type { FakeServerOptions, ServerConnection } from "./connectionFakeServer.js"
import * as AuthProvider from "../src/AuthProvider.js"
import * as Redacted from "effect/Redacted"

const plain = (username: string, password: string) => AuthProvider.plain({ username, password: Redacted.make(password) })

const servers: Array<FakeServer> = []
const conns: Array<Connection> = []

afterEach(async () => {
  for (const c of conns.splice(0)) await c.close(0)
  for (const s of servers.splice(0)) await s.close()
})

const server = async (o: FakeServerOptions = {}): Promise<FakeServer> => {
  const s = await FakeServer.start(o)
  servers.push(s)
  return s
}

/** Connects pinned to v4 unless `o` says otherwise. */
const openPinned = async (s: FakeServer, o: Partial<ConnectionOptions> = {}): Promise<Connection> => {
  const c = await connect({ host: "127.0.0.1", port: s.port, protocolVersion: 4, ...o })
  conns.push(c)
  return c
}

const query = (q: string): Request.Request => ({ _tag: "Query", query: q, params: { consistency: "ONE" } })

type Outcome = { readonly failure: ConnectionFailure | undefined; readonly res: Response.Response | undefined }

/** Sends and returns the stream id and a promise of the callback's arguments. */
const send = (c: Connection, req: Request.Request, opts = {}): { id: number; done: Promise<Outcome> } => {
  let id = -2
  const done = new Promise<Outcome>((resolve) => {
    id = c.send(req, opts, (failure, res) => resolve({ failure, res }))
  })
  return { id, done }
}

const socketOf = (c: Connection): net.Socket => (c as unknown as { socket: net.Socket }).socket

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const queryText = (req: Request.Request<unknown>): string => (req._tag === "Query" ? req.query : req._tag)

/** Echoes each query's text back as a SET_KEYSPACE result, so a response names its request. */
const echo = (req: Request.Request<Request.RawValue>, stream: number, conn: ServerConnection) =>
  conn.reply(stream, { _tag: "SetKeyspace", keyspace: queryText(req) })

const open4 = openPinned

describe("handshake", () => {
  it("OPTIONS then STARTUP with CQL_VERSION, DRIVER_NAME and DRIVER_VERSION, then READY", async () => {
    const s = await server({ compression: ["lz4"] })
    const c = await open4(s, { driverName: "test-driver", driverVersion: "9.9" })
    expect(c.isOpen).toBe(true)
    expect(c.version).toBe(4)
    expect(c.supported["COMPRESSION"]).toEqual(["lz4"])
    const [options, startup] = s.last.received
    expect(options?._tag).toBe("Options")
    expect(startup).toEqual({ _tag: "Startup", options: { CQL_VERSION: "3.0.0", DRIVER_NAME: "test-driver", DRIVER_VERSION: "9.9" } })
  })

  it("asks for compression only when the server offers it", async () => {
    const none = await server({ compression: [] })
    await open4(none, { compression: "lz4" })
    expect(none.last.received[1]).toMatchObject({ _tag: "Startup", options: { CQL_VERSION: "3.0.0" } })
    expect((none.last.received[1] as Request.Startup).options["COMPRESSION"]).toBeUndefined()
    const lz4 = await server({ compression: ["snappy", "lz4"] })
    await open4(lz4, { compression: "lz4" })
    expect((lz4.last.received[1] as Request.Startup).options["COMPRESSION"]).toBe("lz4")
  })

  it.each([
    [4, "lz4"],
    [4, "snappy"],
    [5, "lz4"]
  ] as const)("v%i %s: requests and responses are compressed both ways", async (version, name) => {
    const s = await server({ compression: [name], onRequest: echo })
    const c = await open4(s, { protocolVersion: version, compression: name })
    const write = vi.spyOn(socketOf(c), "write")
    const long = `SELECT ${"x, ".repeat(500)}y FROM t`
    const { done } = send(c, query(long))
    const { res } = await done
    expect(res).toEqual({ _tag: "SetKeyspace", keyspace: long })
    // What went over the wire is much shorter than the text it carries, both ways.
    const sent = write.mock.calls.map((call) => call[0] as Buffer)
    expect(sent.length).toBe(1)
    expect(sent[0]!.length).toBeLessThan(200)
    expect(s.last.written.at(-1)!.length).toBeLessThan(200)
    expect(s.last.framing).toBe(version === 5 ? "lz4" : "envelopes")
  })

  it("v5: segments start right after READY, in both directions", async () => {
    const s = await server({ onRequest: echo })
    const c = await open4(s, { protocolVersion: 5 })
    expect(c.version).toBe(5)
    expect(s.last.framing).toBe("uncompressed")
    expect((await send(c, query("framed")).done).res).toEqual({ _tag: "SetKeyspace", keyspace: "framed" })
  })

  it("v5 with authentication: segments start right after AUTHENTICATE", async () => {
    const s = await server({ credentials: { username: "u", password: "p" }, compression: ["lz4"] })
    const c = await open4(s, { protocolVersion: 5, compression: "lz4", authProvider: plain("u", "p") })
    expect(c.isOpen).toBe(true)
    expect(s.last.received.map((r) => r._tag)).toEqual(["Options", "Startup", "AuthResponse"])
    expect(s.last.framing).toBe("lz4")
  })

  it("SASL PLAIN: the right password opens, a wrong one is an Auth failure, none at all too", async () => {
    const s = await server({ credentials: { username: "cassandra", password: "secret" } })
    const c = await open4(s, { authProvider: plain("cassandra", "secret") })
    expect(c.isOpen).toBe(true)
    const token = (s.last.received[2] as Request.AuthResponse).token
    expect(token).toEqual(Buffer.from("\0cassandra\0secret"))
    const wrong = await failed(open4(s, { authProvider: plain("cassandra", "nope") }))
    // The host and the mechanism are named; the password is not.
    expect(wrong).toEqual({
      _tag: "Auth",
      message: `127.0.0.1:${s.port}: PLAIN authentication with org.apache.cassandra.auth.PasswordAuthenticator failed: Provided username and/or password are incorrect`
    })
    const missing = await failed(open4(s))
    expect(missing._tag).toBe("Auth")
    expect((missing as { message: string }).message).toContain("PasswordAuthenticator")
  })

  it("USE \"keyspace\" after READY; a missing keyspace is a Server failure", async () => {
    const s = await server()
    await open4(s, { keyspace: 'my"ks' })
    expect(queryText(s.last.received.at(-1)!)).toBe('USE "my""ks"')
    const f = await failed(open4(s, { keyspace: "missing" }))
    expect(f).toMatchObject({ _tag: "Server", error: { kind: "Invalid" } })
  })

  it("falls back from v5 to v4 on a new socket when the server refuses v5", async () => {
    const s = await server({ versions: [4] })
    const c = await connect({ host: "127.0.0.1", port: s.port })
    conns.push(c)
    expect(c.version).toBe(4)
    expect(s.connections.length).toBe(2)
    expect(s.connections[0]!.received.length).toBe(0) // its OPTIONS was refused before decoding
    expect(s.connections[1]!.received[0]?._tag).toBe("Options")
  })

  it("a pinned version does not fall back", async () => {
    const s = await server({ versions: [4] })
    const f = await failed(connect({ host: "127.0.0.1", port: s.port, protocolVersion: 5 }))
    expect(f._tag).toBe("Protocol")
    expect(s.connections.length).toBe(1)
  })

  it("snappy is refused in v5", async () => {
    const s = await server({ compression: ["snappy"] })
    const f = await failed(connect({ host: "127.0.0.1", port: s.port, protocolVersion: 5, compression: "snappy" }))
    expect(f).toEqual({ _tag: "Protocol", message: "snappy compression does not exist in protocol v5; use lz4" })
  })

  it("connect timeout covers a server that never answers", async () => {
    const s = await server({ silent: true })
    const started = Date.now()
    const f = await failed(open4(s, { connectTimeoutMs: 150 }))
    expect(f).toEqual({ _tag: "Timeout", timeoutMs: 150 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })

  it("an impossible maxInFlight is a RangeError before any socket is opened", async () => {
    const s = await server()
    for (const maxInFlight of [0, 32_769, 1.5]) {
      await expect(connect({ host: "127.0.0.1", port: s.port, maxInFlight })).rejects.toThrow(RangeError)
    }
    await sleep(20)
    expect(s.connections.length).toBe(0)
  })

  it("an aborted attempt rejects with Closed at once and leaves no socket; an aborted signal opens none", async () => {
    const s = await server({ silent: true })
    const abort = new AbortController()
    const started = Date.now()
    const pending = failed(connect({ host: "127.0.0.1", port: s.port, protocolVersion: 4, connectTimeoutMs: 60_000 }, abort.signal))
    while (s.connections.length === 0) await sleep(2)
    abort.abort()
    const f = await pending
    expect(f).toMatchObject({ _tag: "Closed", message: `connection attempt to 127.0.0.1:${s.port} aborted` })
    expect(Date.now() - started).toBeLessThan(1000)
    // The promise settles after the socket's close: the server side sees the end right away.
    for (let i = 0; i < 100 && !s.last.socket.destroyed; i++) await sleep(5)
    expect(s.last.socket.destroyed).toBe(true)
    expect(await failed(connect({ host: "127.0.0.1", port: s.port, protocolVersion: 4 }, abort.signal))).toMatchObject({ _tag: "Closed" })
    await sleep(20)
    expect(s.accepted).toBe(1)
  })

  it("a refused TCP connection is a Closed failure carrying the socket error", async () => {
    const s = await server()
    const port = s.port
    await s.close()
    servers.length = 0
    const f = await failed(connect({ host: "127.0.0.1", port, protocolVersion: 4 }))
    expect(f._tag).toBe("Closed")
    expect((f as { cause: Error }).cause).toBeInstanceOf(Error)
    expect((f as { message: string }).message).toContain("ECONNREFUSED")
  })
})

describe.each([4, 5] as const)("requests, protocol v%i", (version) => {
  const open4 = (s: FakeServer, o: Partial<ConnectionOptions> = {}) => openPinned(s, { protocolVersion: version, ...o })

  it("responses split into single bytes are reassembled", async () => {
    const s = await server({ onRequest: echo, split: (b) => Array.from(b, (x) => Buffer.from([x])) })
    const c = await open4(s)
    const outcomes = await Promise.all(["a", "bb", "ccc"].map((q) => send(c, query(q)).done))
    expect(outcomes.map((o) => o.res)).toEqual(["a", "bb", "ccc"].map((keyspace) => ({ _tag: "SetKeyspace", keyspace })))
  })

  it("many responses in one TCP chunk are all dispatched", async () => {
    const held: Array<[number, string]> = []
    const s = await server({
      onRequest: (req, stream, conn) => {
        held.push([stream, queryText(req)])
        if (held.length === 50) conn.batch(() => held.forEach(([st, q]) => conn.reply(st, { _tag: "SetKeyspace", keyspace: q })))
      }
    })
    const c = await open4(s)
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => send(c, query(`q${i}`)).done))
    expect(outcomes.map((o) => (o.res as Response.SetKeyspace).keyspace)).toEqual(Array.from({ length: 50 }, (_, i) => `q${i}`))
  })

  it("requests issued in one turn of the event loop go out in one socket write", async () => {
    const s = await server({ onRequest: echo })
    const c = await open4(s)
    const write = vi.spyOn(socketOf(c), "write")
    const all = Array.from({ length: 500 }, (_, i) => send(c, query(`q${i}`)).done)
    expect(write).toHaveBeenCalledTimes(0)
    await Promise.all(all)
    expect(write).toHaveBeenCalledTimes(1)
  })

  it("a batch past the 64 KiB threshold is flushed at once", async () => {
    const s = await server({ onRequest: echo })
    const c = await open4(s)
    const write = vi.spyOn(socketOf(c), "write")
    const big = "x".repeat(40_000)
    const all = [send(c, query(big)).done, send(c, query(big)).done]
    expect(write).toHaveBeenCalledTimes(1)
    await Promise.all(all)
  })

  it("an envelope larger than one v5 segment (128 KiB) goes out and comes back whole", async () => {
    // AUTH_SUCCESS is only a [bytes] carrier here: the connection hands back whatever answers the stream.
    const s = await server({ onRequest: (req, stream, conn) => conn.reply(stream, { _tag: "AuthSuccess", token: Buffer.from(queryText(req)) }) })
    const c = await open4(s)
    const huge = "y".repeat(300_000)
    expect((await send(c, query(huge)).done).res).toEqual({ _tag: "AuthSuccess", token: Buffer.from(huge) })
  })

  it("1,500 concurrent requests answered in a shuffled order each get their own response", async () => {
    const n = 1500
    const held: Array<[number, string]> = []
    const s = await server({
      onRequest: (req, stream, conn) => {
        held.push([stream, queryText(req)])
        if (held.length < n) return
        // Deterministic shuffle, answered in a few batches.
        let seed = 42
        for (let i = held.length - 1; i > 0; i--) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff
          const j = seed % (i + 1)
          ;[held[i], held[j]] = [held[j]!, held[i]!]
        }
        for (let k = 0; k < n; k += 200) {
          conn.batch(() => held.slice(k, k + 200).forEach(([st, q]) => conn.reply(st, { _tag: "SetKeyspace", keyspace: q })))
        }
      }
    })
    const c = await open4(s)
    const sent = Array.from({ length: n }, (_, i) => send(c, query(`q${i}`)))
    expect(new Set(sent.map((x) => x.id)).size).toBe(n)
    expect(c.inFlight).toBe(n)
    const outcomes = await Promise.all(sent.map((x) => x.done))
    outcomes.forEach((o, i) => expect(o.res).toEqual({ _tag: "SetKeyspace", keyspace: `q${i}` }))
    expect(c.inFlight).toBe(0)
  })

  it("warnings, tracing id and custom payload come back with the response; tracing and payload go out", async () => {
    const tracingId = Buffer.alloc(16, 7)
    const s = await server({
      onRequest: (_req, stream, conn) =>
        conn.reply(stream, { _tag: "Void", tracingId, warnings: ["big batch"], customPayload: { k: Buffer.from("v") } })
    })
    const c = await open4(s)
    const { done } = send(c, query("INSERT"), { tracing: true, customPayload: { mine: Buffer.from("p") } })
    const { res } = await done
    expect(res).toEqual({ _tag: "Void", tracingId, warnings: ["big batch"], customPayload: { k: Buffer.from("v") } })
    expect(s.last.received.at(-1)).toMatchObject({ _tag: "Query", customPayload: { mine: Buffer.from("p") } })
  })

  it("a request that cannot be encoded fails at once and frees its id", async () => {
    const s = await server()
    const c = await open4(s, { maxInFlight: 1 })
    let outcome: ConnectionFailure | undefined
    const id = c.send({ _tag: "Query", query: "q", params: { consistency: "NOPE" as never } }, {}, (f) => {
      outcome = f
    })
    expect(id).toBe(-1)
    expect(outcome?._tag).toBe("Encode")
    const ok = send(c, query("fine"))
    expect(ok.id).toBe(0)
    expect((await ok.done).res?._tag).toBe("Void")
  })

  it("busy: past maxInFlight a send fails at once, and never queues", async () => {
    const s = await server({ onRequest: () => undefined })
    const c = await open4(s, { maxInFlight: 4 })
    expect(c.available).toBe(4)
    for (let i = 0; i < 4; i++) expect(send(c, query(`q${i}`)).id).toBeGreaterThanOrEqual(0)
    expect(c.available).toBe(0)
    let failure: ConnectionFailure | undefined
    expect(c.send(query("q5"), {}, (f) => (failure = f))).toBe(-1)
    expect(failure).toEqual({ _tag: "Busy", inFlight: 4 })
  })

  it("server events (stream -1) reach onEvent listeners", async () => {
    const s = await server()
    const c = await open4(s)
    const events = new Promise((resolve) => c.onEvent(resolve))
    s.last.reply(-1, { _tag: "Event", event: { type: "STATUS_CHANGE", change: "DOWN", address: "10.0.0.1", port: 9042 } })
    expect(await events).toEqual({ type: "STATUS_CHANGE", change: "DOWN", address: "10.0.0.1", port: 9042 })
  })

  it("an undecodable response body fails that request only", async () => {
    const s = await server({
      onRequest: (req, stream, conn) => {
        if (queryText(req) === "bad") {
          // A RESULT of an unknown kind (0x99), framed correctly.
          const env = Buffer.from([0x84, 0, 0, 0, 0x08, 0, 0, 0, 4, 0, 0, 0, 0x99])
          env.writeInt16BE(stream, 2)
          env[0] = 0x80 | conn.version
          conn.writeEnvelope(env)
        } else conn.reply(stream, { _tag: "Void" })
      }
    })
    const c = await open4(s)
    const bad = await send(c, query("bad")).done
    expect(bad.failure?._tag).toBe("Decode")
    expect((await send(c, query("good")).done).res?._tag).toBe("Void")
    expect(c.isOpen).toBe(true)
  })
})

describe("timeouts and orphans", () => {
  it("a timed-out request fails with Timeout, its id stays orphaned until the late response, then is reused", async () => {
    const held: Array<number> = []
    const s = await server({ onRequest: (_req, stream) => held.push(stream) })
    const c = await open4(s, { requestTimeoutMs: 80, maxInFlight: 2 })
    const started = Date.now()
    const slow = send(c, query("slow"))
    const { failure } = await slow.done
    expect(failure).toEqual({ _tag: "Timeout", timeoutMs: 80 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(75)
    expect(c.inFlight).toBe(0)
    expect(c.orphaned).toBe(1)
    // While orphaned, the id is not handed out again.
    const other = send(c, query("other"))
    expect(other.id).not.toBe(slow.id)
    s.last.reply(held[0]!, { _tag: "Void" })
    await sleep(30)
    expect(c.orphaned).toBe(0)
    s.last.reply(held[1]!, { _tag: "Void" })
    expect((await other.done).res?._tag).toBe("Void")
    // Both ids are free again.
    const again = [send(c, query("a")).id, send(c, query("b")).id]
    expect(new Set(again)).toEqual(new Set([slow.id, other.id]))
  })

  it("per-request timeouts use one connection timer, not one per request", async () => {
    const s = await server({ onRequest: () => undefined })
    const c = await open4(s, { requestTimeoutMs: 60_000 })
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout")
    for (let i = 0; i < 1000; i++) send(c, query(`q${i}`))
    // The first request arms the timer; later (longer) deadlines do not re-arm it.
    expect(setTimeoutSpy.mock.calls.length).toBeLessThanOrEqual(1)
    setTimeoutSpy.mockRestore()
    // A shorter deadline re-arms it once.
    const short = send(c, query("short"), { timeoutMs: 30 })
    expect((await short.done).failure).toEqual({ _tag: "Timeout", timeoutMs: 30 })
    expect(c.inFlight).toBe(1000)
  })

  it("timeouts of different lengths fire in deadline order", async () => {
    const s = await server({ onRequest: () => undefined })
    const c = await open4(s)
    const order: Array<number> = []
    const all = [90, 30, 60].map((ms) => send(c, query(`q${ms}`), { timeoutMs: ms }).done.then(() => order.push(ms)))
    await Promise.all(all)
    expect(order).toEqual([30, 60, 90])
  })

  it("cancel drops the callback and orphans the id until its response", async () => {
    const held: Array<number> = []
    const s = await server({ onRequest: (_req, stream) => held.push(stream) })
    const c = await open4(s)
    let called = false
    const id = c.send(query("x"), {}, () => (called = true))
    c.cancel(id)
    expect(c.orphaned).toBe(1)
    expect(c.inFlight).toBe(0)
    await sleep(20)
    s.last.reply(held[0]!, { _tag: "Void" })
    await sleep(20)
    expect(called).toBe(false)
    expect(c.orphaned).toBe(0)
  })

  it("closes the connection past maxOrphans", async () => {
    const s = await server({ onRequest: () => undefined })
    const c = await open4(s, { maxOrphans: 3, requestTimeoutMs: 20 })
    const closed = new Promise<ConnectionFailure>((resolve) => c.onClose(resolve))
    for (let i = 0; i < 4; i++) send(c, query(`q${i}`))
    const cause = await closed
    expect(cause._tag).toBe("Closed")
    expect((cause as { message: string }).message).toContain("more than 3 requests got no response")
    expect(c.isOpen).toBe(false)
  })
})

describe("connection death", () => {
  it("every request in flight fails at once when the server drops the socket; later sends fail at once", async () => {
    const s = await server({ onRequest: () => undefined })
    const c = await open4(s)
    const pending = Array.from({ length: 100 }, (_, i) => send(c, query(`q${i}`)).done)
    await sleep(20)
    const seen: Array<ConnectionFailure> = []
    let atClose = -1
    pending.forEach((p) => p.then((o) => seen.push(o.failure!)))
    c.onClose(() => (atClose = seen.length))
    s.last.socket.destroy()
    const outcomes = await Promise.all(pending)
    expect(outcomes.every((o) => o.failure?._tag === "Closed" && o.failure === outcomes[0]!.failure)).toBe(true)
    expect(atClose).toBe(0) // listeners run after the callbacks, in the same tick; promises resolve after both
    expect(c.isOpen).toBe(false)
    let late: ConnectionFailure | undefined
    expect(c.send(query("late"), {}, (f) => (late = f))).toBe(-1)
    expect(late?._tag).toBe("Closed")
  })

  it("bytes that cannot be an envelope close the connection and fail what is in flight with the DecodeError", async () => {
    const s = await server({ onRequest: (_req, _stream, conn) => conn.write(Buffer.from([0x84, 0, 0, 1, 8, 0xff, 0xff, 0xff, 0xff])) })
    const c = await open4(s)
    const { failure } = await send(c, query("q")).done
    expect(failure?._tag).toBe("Closed")
    expect((failure as { cause: { _tag: string } }).cause._tag).toBe("DecodeError")
  })

  it("close(grace) waits for what is in flight, then closes", async () => {
    const s = await server({ onRequest: (_req, stream, conn) => setTimeout(() => conn.reply(stream, { _tag: "Void" }), 40) })
    const c = await open4(s)
    const inFlight = send(c, query("q")).done
    const closing = c.close(1000)
    let refused: ConnectionFailure | undefined
    c.send(query("after"), {}, (f) => (refused = f))
    expect(refused?._tag).toBe("Closed")
    expect((await inFlight).res?._tag).toBe("Void")
    await closing
    expect(c.isOpen).toBe(false)
  })

  it("a heartbeat falling due during close(grace) does not cut the grace short", async () => {
    const s = await server({ onRequest: (_req, stream, conn) => setTimeout(() => conn.reply(stream, { _tag: "Void" }), 150) })
    const c = await open4(s, { heartbeatIntervalMs: 30 })
    const inFlight = send(c, query("q")).done
    await c.close(2000)
    expect((await inFlight).res?._tag).toBe("Void")
  })

  it("close(grace) fails what is still in flight once the grace is over", async () => {
    const s = await server({ onRequest: () => undefined })
    const c = await open4(s)
    const inFlight = send(c, query("q")).done
    const started = Date.now()
    await c.close(50)
    expect(Date.now() - started).toBeGreaterThanOrEqual(45)
    expect((await inFlight).failure).toMatchObject({ _tag: "Closed", message: expect.stringContaining("closed by the client") })
  })
})

describe("heartbeat", () => {
  it("sends OPTIONS once the connection was read-idle for the interval less the probe timeout", async () => {
    const s = await server()
    const started = Date.now()
    await open4(s, { heartbeatIntervalMs: 100, probeTimeoutMs: 20 })
    const before = s.last.received.length
    while (s.last.received.length < before + 2 && Date.now() - started < 5000) await sleep(10)
    const heartbeats = s.last.received.slice(before)
    expect(heartbeats.map((r) => r._tag)).toEqual(["Options", "Options"])
    // Due after 80 ms of silence each time.
    expect(Date.now() - started).toBeGreaterThanOrEqual(155)
  })

  it("no heartbeat while responses keep arriving", async () => {
    const s = await server()
    const c = await open4(s, { heartbeatIntervalMs: 300 })
    const before = s.last.received.length
    const started = Date.now()
    while (Date.now() - started < 700) {
      await send(c, query("q")).done
      await sleep(20)
    }
    expect(s.last.received.slice(before).filter((r) => r._tag === "Options")).toEqual([])
  })

  it("a half-open connection (nothing comes back, the socket stays) is closed within the heartbeat interval", async () => {
    const s = await server()
    const c = await open4(s, { heartbeatIntervalMs: 200, requestTimeoutMs: 10_000 })
    // From now on the server swallows everything.
    ;(s.options as { silent?: boolean }).silent = true
    const lastRead = c.lastReadAt
    const cause = await new Promise<ConnectionFailure>((resolve) => c.onClose(resolve))
    const closedAfter = Date.now() - lastRead
    expect(cause).toMatchObject({ _tag: "Closed", cause: { _tag: "Timeout", timeoutMs: 100 } })
    expect((cause as { message: string }).message).toMatch(/idle, and nothing read for \d+ ms, and no answer to a heartbeat within 100 ms/)
    expect(closedAfter).toBeGreaterThanOrEqual(195)
    // The interval, plus timer slack.
    expect(closedAfter).toBeLessThan(300)
  })
})

describe("stall detection", () => {
  it("a connection busy and silent for stallTimeoutMs stops taking requests, is probed, and closes without an answer", async () => {
    const s = await server({ onRequest: () => undefined })
    const c = await open4(s, { stallTimeoutMs: 100, probeTimeoutMs: 50, requestTimeoutMs: 10_000, heartbeatIntervalMs: 0 })
    const started = Date.now()
    const held = send(c, query("held")).done
    // From now on the server swallows everything, OPTIONS included (a stopped process).
    ;(s.options as { silent?: boolean }).silent = true
    while (c.accepting && Date.now() - started < 2000) await sleep(5)
    expect(c.accepting).toBe(false)
    expect(c.isOpen).toBe(true)
    const outcome = await held
    expect(s.last.received.at(-1)?._tag).toBe("Options")
    const elapsed = Date.now() - started
    expect(outcome.failure).toMatchObject({ _tag: "Closed", message: expect.stringMatching(/requests in flight and nothing read for \d+ ms, and no answer to a probe within 50 ms/) })
    // Stall (100 ms, checked every 50 ms) + probe (50 ms), far from the 10 s request timeout.
    expect(elapsed).toBeGreaterThanOrEqual(140)
    expect(elapsed).toBeLessThan(400)
  })

  it("a slow request on a connection that answers the probe keeps it open and completes", async () => {
    // The fake server answers OPTIONS itself.
    const s = await server({ onRequest: (_req, stream, conn) => setTimeout(() => conn.reply(stream, { _tag: "Void" }), 400) })
    const c = await open4(s, { stallTimeoutMs: 100, probeTimeoutMs: 50, heartbeatIntervalMs: 0 })
    const slow = await send(c, query("slow")).done
    expect(slow.res?._tag).toBe("Void")
    expect(c.isOpen).toBe(true)
    expect(c.accepting).toBe(true)
    // Probed at least once while the request was out, and answered each time.
    expect(s.last.received.filter((r) => r._tag === "Options").length).toBeGreaterThanOrEqual(2)
  })

  it("a client too busy to read (a blocked event loop) is not a stalled server: what waits unread is read before judging", async () => {
    let answered = false
    const s = await server({
      onRequest: (_req, stream, conn) =>
        setTimeout(() => {
          conn.reply(stream, { _tag: "Void" })
          answered = true
          // From now on nothing is answered, probes included: a probe sent now would close the connection.
          ;(s.options as { silent?: boolean }).silent = true
        }, 30)
    })
    const c = await open4(s, { stallTimeoutMs: 100, probeTimeoutMs: 50, heartbeatIntervalMs: 0 })
    const outcome = send(c, query("q")).done
    // Block this process for longer than the stall timeout plus the probe's, while the answer arrives unread.
    await sleep(5)
    const until = Date.now() + 400
    while (Date.now() < until) {
      // busy
    }
    expect(answered).toBe(false)
    expect((await outcome).res?._tag).toBe("Void")
    await sleep(300)
    expect(answered).toBe(true)
    expect(c.isOpen).toBe(true)
    expect(c.accepting).toBe(true)
  })

  it("stallTimeoutMs 0 disables it: a silent request waits for its own timeout", async () => {
    const s = await server({ onRequest: () => undefined })
    const c = await open4(s, { stallTimeoutMs: 0, requestTimeoutMs: 300, heartbeatIntervalMs: 0 })
    const outcome = await send(c, query("held")).done
    expect(outcome.failure).toEqual({ _tag: "Timeout", timeoutMs: 300 })
    expect(c.isOpen).toBe(true)
  })
})

describe("protocol violations", () => {
  it("an answer on a stream no request used closes the connection and fails what is in flight", async () => {
    const s = await server({
      onRequest: (_req, stream, conn) => {
        conn.reply((stream + 7) % 100, { _tag: "Void" })
      }
    })
    const c = await open4(s)
    const outcome = await send(c, query("q")).done
    expect(outcome.failure).toMatchObject({ _tag: "Protocol", message: expect.stringMatching(/answered stream \d+, which no request used; connection closed/) })
    expect(c.isOpen).toBe(false)
  })

  it("a request over maxFrameBytes is refused before it is sent, and the connection goes on", async () => {
    const s = await server()
    const c = await open4(s, { maxFrameBytes: 1000 })
    const before = s.last.received.length
    const big = await send(c, query("x".repeat(2000))).done
    expect(big.failure).toMatchObject({ _tag: "Encode", error: { _tag: "EncodeError", message: expect.stringContaining("exceeds maxFrameSize (1000 bytes)") } })
    const small = await send(c, query("small")).done
    expect(small.res?._tag).toBe("Void")
    expect(s.last.received.slice(before).map(queryText)).toEqual(["small"])
  })

  it("a response over maxFrameBytes closes the connection with a decode failure", async () => {
    const s = await server({ onRequest: (_req, stream, conn) => conn.reply(stream, { _tag: "SetKeyspace", keyspace: "k".repeat(5000) }) })
    const c = await open4(s, { maxFrameBytes: 1000 })
    const outcome = await send(c, query("q")).done
    expect(outcome.failure).toMatchObject({ _tag: "Closed", message: expect.stringContaining("outside 0..1000") })
    expect(c.isOpen).toBe(false)
  })
})

describe("Effect wrappers", () => {
  it("open + request; interrupting a request orphans its id; closing the scope closes the connection", async () => {
    const held: Array<number> = []
    const s = await server({ onRequest: (req, stream, conn) => (queryText(req) === "hang" ? held.push(stream) : echo(req, stream, conn)) })
    const program = Effect.gen(function* () {
      const c = yield* open({ host: "127.0.0.1", port: s.port, protocolVersion: 4 })
      const res = yield* request(c, query("hello"))
      const fiber = yield* Effect.fork(request(c, query("hang")))
      yield* Effect.sleep(30)
      yield* Fiber.interrupt(fiber)
      return { c, res, orphaned: c.orphaned }
    })
    const { c, res, orphaned } = await Effect.runPromise(Effect.scoped(program))
    expect(res).toEqual({ _tag: "SetKeyspace", keyspace: "hello" })
    expect(orphaned).toBe(1)
    expect(c.isOpen).toBe(false)
  })

  it("a failed open is a typed failure", async () => {
    const s = await server({ credentials: { username: "u", password: "p" } })
    const exit = await Effect.runPromiseExit(Effect.scoped(open({ host: "127.0.0.1", port: s.port, protocolVersion: 4 })))
    expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : undefined).toBe("Auth")
  })
})
