/**
 * The write queue against a real socket whose peer stops reading. Node 22 and 24 let a socket buffer 64 KiB before
 * `write` returns false, Node 20 16 KiB; npm test runs this on both, so the queue's "wait for 'drain'" path is
 * exercised with each Node's buffering, not a fake socket's.
 */
import type { Request } from "@effect-cql/protocol"
import type * as net from "node:net"
import { afterEach, describe, expect, it, vi } from "vitest"
import { connect } from "../src/internal/connection/connection.js"
import type { Connection } from "../src/internal/connection/connection.js"
import { FakeServer } from "./connectionFakeServer.js"

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

const query = (q: string): Request.Request => ({ _tag: "Query", query: q, params: { consistency: "ONE" } })

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5))
}

describe("back-pressure on a real socket", () => {
  it("while the server reads nothing, the queue stops writing once the socket is full and resumes on 'drain'; every request is answered", async () => {
    const s = await FakeServer.start({
      onRequest: (req, stream, conn) => conn.reply(stream, { _tag: "SetKeyspace", keyspace: req._tag === "Query" ? req.query : req._tag })
    })
    closers.push(() => s.close())
    // The stall check would close a connection that is busy and silent this long; here the silence is the point.
    const c: Connection = await connect({ host: "127.0.0.1", port: s.port, protocolVersion: 5, stallTimeoutMs: 60_000 })
    closers.push(() => c.close(0))
    const socket = (c as unknown as { socket: net.Socket }).socket
    // What the socket saw, in order: each write's return value, and each 'drain'.
    const events: Array<boolean | "drain"> = []
    const write = socket.write.bind(socket) as (b: Buffer, cb?: () => void) => boolean
    vi.spyOn(socket, "write").mockImplementation(((b: Buffer, cb?: () => void) => {
      const ok = write(b, cb)
      events.push(ok)
      return ok
    }) as typeof socket.write)
    socket.on("drain", () => events.push("drain"))

    s.last.socket.pause()
    // 600 requests of 32 KB: about 19 MB, more than the kernel buffers of both ends of a loopback connection.
    const texts = Array.from({ length: 600 }, (_, i) => `SELECT ${i} /* ${"x".repeat(32_000)} */`)
    const answers = texts.map(
      (text) => new Promise<unknown>((resolve) => c.send(query(text), {}, (failure, res) => resolve(failure ?? res)))
    )
    await until(() => events.includes(false))
    s.last.socket.resume()

    expect(await Promise.all(answers)).toEqual(texts.map((keyspace) => ({ _tag: "SetKeyspace", keyspace })))
    expect(c.inFlight).toBe(0)
    // After each write the socket refused, the next write came only after a 'drain'.
    events.forEach((e, i) => {
      if (e !== false) return
      const rest = events.slice(i + 1)
      const nextWrite = rest.findIndex((x) => x !== "drain")
      expect(rest.slice(0, nextWrite === -1 ? rest.length : nextWrite)).toContain("drain")
    })
  })
})
