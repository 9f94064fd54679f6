/**
 * The connection handshake (native_protocol_v5.spec 4.1.1-4.1.3, 4.2.2-4.2.4, 4.2.7-4.2.8):
 * OPTIONS -> SUPPORTED, STARTUP -> READY | AUTHENTICATE -> AUTH_RESPONSE ... AUTH_SUCCESS, then `USE` when a
 * keyspace is configured. Runs once per connection, so it is written for clarity, not speed.
 */
import { Compression } from "@effect-cql/protocol"
import type { Request, Response, ServerError } from "@effect-cql/protocol"
import * as Defaults from "../defaults.js"
import type { ConnectionFailure, ConnectionOptions, HandshakeTarget } from "./connectionTypes.js"

/** The server's ERROR during the handshake, as a failure: a wrong password or a refused version are typed. */
export const handshakeFailure = (e: ServerError.ServerError, during: string): ConnectionFailure =>
  e.kind === "AuthenticationError"
    ? { _tag: "Auth", message: e.message }
    : e.kind === "ProtocolError"
      ? { _tag: "Protocol", message: e.message }
      : { _tag: "Server", message: `${during} failed: ${e.message}`, error: e }

const unexpected = (res: Response.Response, expected: string): ConnectionFailure => ({
  _tag: "Protocol",
  message: `expected ${expected}, the server sent ${res._tag}`
})

/** SASL PLAIN initial response: authzid (empty) NUL authcid NUL password (RFC 4616). */
const plainToken = (username: string, password: string): Buffer =>
  Buffer.concat([Buffer.from([0]), Buffer.from(username, "utf8"), Buffer.from([0]), Buffer.from(password, "utf8")])

/** DSE's authenticator first answers with this challenge, then takes the PLAIN token. */
const PLAIN_START = "PLAIN-START"

/** Double quotes make any keyspace name a valid CQL identifier (inner quotes are doubled). */
export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`

export const handshake = async (conn: HandshakeTarget, o: ConnectionOptions, timeoutMs: number): Promise<void> => {
  const sendOptions = { timeoutMs }
  const call = (req: Request.Request): Promise<Response.Response> =>
    new Promise((resolve, reject) => {
      conn.send(req, sendOptions, (failure, res) => (failure === undefined ? resolve(res!) : reject(failure)))
    })
  const fail = (res: Response.Response, expected: string, during: string): never => {
    throw res._tag === "Error" ? handshakeFailure(res.error, during) : unexpected(res, expected)
  }

  const supported = await call({ _tag: "Options" })
  if (supported._tag !== "Supported") return fail(supported, "SUPPORTED", "OPTIONS")
  conn.supported = supported.options

  const wanted = o.compression ?? "none"
  if (wanted === "snappy" && conn.version === 5) {
    throw { _tag: "Protocol", message: "snappy compression does not exist in protocol v5; use lz4" } satisfies ConnectionFailure
  }
  // Compression is used only when the server offers it; otherwise the connection runs uncompressed.
  const compressor = wanted !== "none" && (supported.options["COMPRESSION"] ?? []).includes(wanted) ? Compression.byName(wanted) : undefined
  const options: Record<string, string> = {
    CQL_VERSION: "3.0.0",
    DRIVER_NAME: o.driverName ?? Defaults.DRIVER_NAME,
    DRIVER_VERSION: o.driverVersion ?? Defaults.DRIVER_VERSION
  }
  if (compressor !== undefined) options["COMPRESSION"] = compressor.name
  conn.compression = compressor?.name
  conn.useSegmentFormat(compressor === undefined ? "uncompressed" : "lz4")
  const started = call({ _tag: "Startup", options })
  // v4: every envelope after STARTUP may be compressed, in both directions (v4 spec 5).
  if (compressor !== undefined && conn.version === 4) conn.useCompression(compressor)
  let res = await started

  if (res._tag === "Authenticate") {
    const creds = o.credentials
    if (creds === undefined) {
      throw { _tag: "Auth", message: `${o.host}:${o.port} requires authentication (${res.authenticator}) and no credentials were given` } satisfies ConnectionFailure
    }
    const token = plainToken(creds.username, creds.password)
    res = await call({ _tag: "AuthResponse", token })
    if (res._tag === "AuthChallenge" && res.token?.toString("utf8") === PLAIN_START) {
      res = await call({ _tag: "AuthResponse", token })
    }
    if (res._tag === "AuthChallenge") {
      throw { _tag: "Auth", message: "the server sent a SASL challenge that PLAIN authentication cannot answer" } satisfies ConnectionFailure
    }
    if (res._tag !== "AuthSuccess") return fail(res, "AUTH_SUCCESS", "authentication")
  } else if (res._tag !== "Ready") {
    return fail(res, "READY or AUTHENTICATE", "STARTUP")
  }

  if (o.keyspace !== undefined) {
    const use = await call({ _tag: "Query", query: `USE ${quoteIdentifier(o.keyspace)}`, params: { consistency: "ONE" } })
    if (use._tag !== "SetKeyspace") fail(use, "SET_KEYSPACE", `USE ${quoteIdentifier(o.keyspace)}`)
  }
}
