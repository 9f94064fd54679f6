/**
 * The connection handshake (native_protocol_v5.spec 4.1.1-4.1.3, 4.2.2-4.2.4, 4.2.7-4.2.8):
 * OPTIONS -> SUPPORTED, STARTUP -> READY | AUTHENTICATE -> AUTH_RESPONSE ... AUTH_SUCCESS, then `USE` when a
 * keyspace is configured. Runs once per connection, so it is written for clarity, not speed.
 */
import { Compression } from "@effect-cql/protocol"
import type { Request, Response, ServerError } from "@effect-cql/protocol"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { AuthProviderError } from "../../AuthProvider.js"
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

/** A SASL exchange longer than this is a loop, not a mechanism. */
const MAX_AUTH_ROUNDS = 16

/**
 * Runs one step of an Authenticator. Its typed failure's message is the reason shown; a defect or interruption is
 * reported without its message, which might carry a secret.
 */
const runStep = async <A>(step: Effect.Effect<A, AuthProviderError>, failed: (reason: string) => ConnectionFailure): Promise<A> => {
  const exit = await Effect.runPromiseExit(step)
  if (Exit.isSuccess(exit)) return exit.value
  const error = Cause.failureOption(exit.cause)
  throw failed(Option.isSome(error) ? error.value.message : "the auth provider died")
}

/** The SASL exchange after AUTHENTICATE, driven by the options' AuthProvider. */
const authenticate = async (
  call: (req: Request.Request) => Promise<Response.Response>,
  o: ConnectionOptions,
  authenticator: string
): Promise<Response.Response> => {
  const host = `${o.host}:${o.port}`
  const provider = o.authProvider
  if (provider === undefined) {
    throw { _tag: "Auth", message: `${host} requires authentication (${authenticator}) and no credentials were given` } satisfies ConnectionFailure
  }
  const failed = (reason: string): ConnectionFailure => ({
    _tag: "Auth",
    mechanism: provider.mechanism,
    message: `${host}: ${provider.mechanism} authentication with ${authenticator} failed: ${reason}`
  })
  const client = await runStep(provider.newAuthenticator({ host, authenticator }), failed)
  let res = await call({ _tag: "AuthResponse", token: await runStep(client.initialResponse, failed) })
  for (let round = 1; res._tag === "AuthChallenge"; round++) {
    if (round > MAX_AUTH_ROUNDS) throw failed(`more than ${MAX_AUTH_ROUNDS} challenges`)
    res = await call({ _tag: "AuthResponse", token: await runStep(client.evaluateChallenge(res.token), failed) })
  }
  if (res._tag === "AuthSuccess") await runStep(client.onSuccess(res.token), failed)
  else if (res._tag === "Error" && res.error.kind === "AuthenticationError") throw failed(res.error.message)
  return res
}

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
    res = await authenticate(call, o, res.authenticator)
    if (res._tag !== "AuthSuccess") return fail(res, "AUTH_SUCCESS", "authentication")
  } else if (res._tag !== "Ready") {
    return fail(res, "READY or AUTHENTICATE", "STARTUP")
  }

  if (o.keyspace !== undefined) {
    const use = await call({ _tag: "Query", query: `USE ${quoteIdentifier(o.keyspace)}`, params: { consistency: "ONE" } })
    if (use._tag !== "SetKeyspace") fail(use, "SET_KEYSPACE", `USE ${quoteIdentifier(o.keyspace)}`)
  }
}
