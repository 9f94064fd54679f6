/**
 * The Connection over TLS as node:tls gives it on the Node running the suite (npm test runs it on 20 and on 24,
 * whose OpenSSL differ: 3.0 and 3.5, which offers the post-quantum X25519MLKEM768 key exchange first). A TLS front on
 * 127.0.0.1 forwards to the fake server; its certificate is made as the harness makes Cassandra's (keytool:
 * self-signed, RSA 2048, SHA-256, the IP as its only name; fixtures/tls, valid until 2126), so what passes here
 * is what the integration project's TLS node needs.
 */
import type { Request } from "@effect-cql/protocol"
import { readFileSync } from "node:fs"
import * as net from "node:net"
import * as tls from "node:tls"
import * as Effect from "effect/Effect"
import { afterEach, describe, expect, it } from "vitest"
import { connect, request } from "../src/internal/connection/connection.js"
import type { Connection, ConnectionOptions } from "../src/internal/connection/connection.js"
import { failed, FakeServer } from "./connectionFakeServer.js"

const fixture = (name: string) => readFileSync(new URL(`fixtures/tls/${name}`, import.meta.url))
const cert = fixture("cert.pem")
const key = fixture("key.pem")

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** A TLS server that hands each decrypted connection to a fake CQL server; resolves with its port. */
const tlsFront = async (options: tls.TlsOptions = {}): Promise<number> => {
  const upstream = await FakeServer.start({
    compression: ["lz4"],
    onRequest: (req, stream, conn) => conn.reply(stream, { _tag: "SetKeyspace", keyspace: req._tag === "Query" ? req.query : req._tag })
  })
  closers.push(() => upstream.close())
  const sockets = new Set<net.Socket>()
  const server = tls.createServer({ key, cert, ...options }, (clear) => {
    const plain = net.connect({ host: "127.0.0.1", port: upstream.port })
    sockets.add(clear).add(plain)
    clear.pipe(plain).pipe(clear)
    clear.on("error", () => plain.destroy())
    plain.on("error", () => clear.destroy())
  })
  // A refused handshake is the client's failure to observe; the server side only has to survive it.
  server.on("tlsClientError", () => undefined)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  closers.push(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return (server.address() as net.AddressInfo).port
}

const open = async (port: number, o: Partial<ConnectionOptions>): Promise<Connection> => {
  const c = await connect({ host: "127.0.0.1", port, ...o })
  closers.push(() => c.close(0))
  return c
}

/** The `code` of the TLS error that closed a failed attempt. */
const tlsCode = async (attempt: Promise<unknown>): Promise<unknown> => {
  const f = await failed(attempt)
  expect(f._tag).toBe("Closed")
  return f._tag === "Closed" ? (f.cause as NodeJS.ErrnoException | undefined)?.code : undefined
}

const query = (q: string): Request.Request => ({ _tag: "Query", query: q, params: { consistency: "ONE" } })

describe("TLS", () => {
  it("with the CA, the certificate and the IP are verified; v5 with LZ4 then runs over TLS 1.3", async () => {
    const port = await tlsFront()
    const c = await open(port, { protocolVersion: 5, compression: "lz4", tls: { ca: cert } })
    const socket = (c as unknown as { socket: tls.TLSSocket }).socket
    expect(socket.authorized).toBe(true)
    expect(socket.getProtocol()).toBe("TLSv1.3")
    const long = `SELECT ${"x, ".repeat(2000)}y FROM t`
    expect(await Effect.runPromise(request(c, query(long)))).toEqual({ _tag: "SetKeyspace", keyspace: long })
  })

  it("without a CA that vouches for it, the self-signed certificate is refused", async () => {
    const port = await tlsFront()
    expect(await tlsCode(open(port, { tls: {} }))).toBe("DEPTH_ZERO_SELF_SIGNED_CERT")
  })

  it("a name the certificate does not carry is refused, even with the CA", async () => {
    const port = await tlsFront()
    expect(await tlsCode(open(port, { tls: { ca: cert, servername: "wrong.example" } }))).toBe("ERR_TLS_CERT_ALTNAME_INVALID")
  })

  it("a server that offers nothing newer than TLS 1.1 is refused: 1.2 is the least", async () => {
    // OpenSSL 3 allows TLS 1.0/1.1 only at security level 0, so the server has to ask for it.
    const port = await tlsFront({ minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" })
    expect(await tlsCode(open(port, { tls: { ca: cert } }))).toBe("ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION")
  })
})
