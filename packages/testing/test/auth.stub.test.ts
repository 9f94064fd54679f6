/**
 * Pluggable authentication through the stub server: a custom challenge-response mechanism (an HMAC of a server
 * nonce), PLAIN as a provider, the AuthenticationError of every way an exchange fails (naming the host and the
 * mechanism), and the secrets kept out of logs, spans, errors, toString and inspect output.
 */
import { AuthProvider, Cluster, CqlError, Session } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import { createHmac, randomBytes } from "node:crypto"
import { inspect } from "node:util"
import { StubServer } from "../src/index.js"

const SECRET = "s3cr3t-hmac-key-4711"
const PASSWORD = "pl41n-p4ssw0rd-0815"
const HMAC_CLASS = "com.example.auth.HmacAuthenticator"
const rules: ReadonlyArray<StubServer.Rule> = [{ query: "SELECT v FROM t", rows: [{ v: 1 }], columns: { v: DataType.native.int } }]

const hmac = (key: string, nonce: Uint8Array) => createHmac("sha256", key).update(nonce).digest()

/** The server side: "user" first, then a random nonce to sign; the answer is checked against the key. */
const hmacServer: StubServer.Authenticator = {
  className: HMAC_CLASS,
  start: () => {
    let nonce: Buffer | undefined
    return (token) => {
      if (nonce === undefined) {
        if (token?.toString("utf8") !== "app") return { _tag: "Refuse", message: `unknown user ${token?.toString("utf8")}` }
        nonce = randomBytes(16)
        return { _tag: "Challenge", token: nonce }
      }
      return token !== null && token.equals(hmac(SECRET, nonce)) ? { _tag: "Success", token: Buffer.from("welcome app") } : { _tag: "Refuse", message: "bad signature" }
    }
  }
}

/** The client side, keeping its key Redacted; `seen` records each exchange's context. */
const hmacProvider = (key: Redacted.Redacted<string>, seen: Array<AuthProvider.AuthContext> = []): AuthProvider.AuthProvider => ({
  mechanism: "HMAC-SHA256",
  newAuthenticator: (context) =>
    Effect.sync(() => {
      seen.push(context)
      return {
        initialResponse: Effect.succeed(Buffer.from("app")),
        evaluateChallenge: (nonce) =>
          nonce === null ? Effect.fail(new AuthProvider.AuthProviderError({ message: "no nonce to sign" })) : Effect.sync(() => hmac(Redacted.value(key), nonce)),
        onSuccess: (token) =>
          Buffer.from(token ?? []).toString("utf8") === "welcome app" ? Effect.void : Effect.fail(new AuthProvider.AuthProviderError({ message: "the server's final token is not the expected one" }))
      }
    })
})

/** Builds a Cluster over the stub with every log line (all levels) and every span captured; a failure is logged too. */
const build = (server: StubServer.StubServer, config: Partial<Cluster.ClusterConfig>) =>
  Effect.gen(function* () {
    const logs: Array<string> = []
    const logger = Logger.make(({ message, cause }) => {
      logs.push(inspect(message, { depth: 8 }) + inspect(cause, { depth: 8 }))
    })
    const spans: Array<Tracer.Span> = []
    const base = yield* Effect.tracer
    const tracer = Tracer.make({ span: (...args) => (spans.push(base.span(...args)), spans.at(-1)!), context: base.context })
    const result = yield* Layer.build(Cluster.layer({ contactPoints: [server.contactPoints[0]!], connectTimeout: "2 seconds", ...config })).pipe(
      Effect.map(Context.get(Cluster.Cluster)),
      // As an application would log a failed start: the error with its message and stack.
      Effect.tapError((e) => Effect.logError("the cluster did not start", e)),
      Effect.either,
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All),
      Effect.withTracer(tracer)
    )
    return { result, logs, spans }
  })

const stub = (firstAddress: string, options: Partial<StubServer.Options>) => StubServer.make({ firstAddress, nodes: 2, port: 0, rules, ...options })

describe("pluggable authentication", () => {
  it.scopedLive("a custom challenge-response mechanism authenticates every connection, told each host and the server's authenticator class", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.17.1", { authenticator: hmacServer })
      const seen: Array<AuthProvider.AuthContext> = []
      const { result } = yield* build(server, { authProvider: hmacProvider(Redacted.make(SECRET), seen) })
      expect(result._tag).toBe("Right")
      const cluster = result._tag === "Right" ? result.right : undefined!
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* Effect.forEach(Array.from({ length: 4 }), () => session.execute("SELECT v FROM t"), { discard: true })
      expect(new Set(seen.map((c) => c.host))).toEqual(new Set(server.contactPoints))
      expect(new Set(seen.map((c) => c.authenticator))).toEqual(new Set([HMAC_CLASS]))
      // Each connection: the user, then the signature of its own nonce.
      const responses = (yield* server.requests).filter((r) => r.request._tag === "AuthResponse")
      expect(responses.length).toBe(2 * seen.length)
    }))

  it.scopedLive("a refused exchange is an AuthenticationError naming the host and the mechanism, and the key is nowhere", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.17.11", { authenticator: hmacServer })
      const config = { authProvider: hmacProvider(Redacted.make("wrong-key-9922")) }
      const { result, logs, spans } = yield* build(server, config)
      expect(result._tag).toBe("Left")
      const error = result._tag === "Left" ? result.left : undefined!
      expect(error).toBeInstanceOf(CqlError.AuthenticationError)
      expect(error).toMatchObject({
        host: server.contactPoints[0],
        mechanism: "HMAC-SHA256",
        message: `${server.contactPoints[0]}: HMAC-SHA256 authentication with ${HMAC_CLASS} failed: bad signature`
      })
      // The failed start was logged, so the check below reads real lines.
      expect(logs.length).toBeGreaterThan(0)
      for (const text of [inspect(error, { depth: 8 }), String(error), JSON.stringify(error), inspect(config, { depth: 8 }), ...logs, inspect(spans, { depth: 8 })]) {
        expect(text).not.toContain("wrong-key-9922")
      }
    }))

  it.scopedLive("a provider that fails says why; one that dies is reported without its message", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.17.21", { authenticator: hmacServer })
      const failing: AuthProvider.AuthProvider = {
        mechanism: "KERBEROS",
        newAuthenticator: () => Effect.fail(new AuthProvider.AuthProviderError({ message: "no ticket for the realm EXAMPLE.COM" }))
      }
      const { result: refused } = yield* build(server, { authProvider: failing })
      expect(refused._tag === "Left" && refused.left).toMatchObject({
        _tag: "AuthenticationError",
        mechanism: "KERBEROS",
        message: `${server.contactPoints[0]}: KERBEROS authentication with ${HMAC_CLASS} failed: no ticket for the realm EXAMPLE.COM`
      })
      const dying: AuthProvider.AuthProvider = {
        mechanism: "CUSTOM",
        newAuthenticator: () =>
          Effect.sync(() => {
            throw new Error(`token ${SECRET} rejected`)
          })
      }
      const { result: died, logs } = yield* build(server, { authProvider: dying })
      expect(died._tag === "Left" && died.left).toMatchObject({
        _tag: "AuthenticationError",
        message: `${server.contactPoints[0]}: CUSTOM authentication with ${HMAC_CLASS} failed: the auth provider died`
      })
      for (const text of [inspect(died, { depth: 8 }), ...logs]) expect(text).not.toContain(SECRET)
    }))

  it.scopedLive("PLAIN is a provider: `credentials` use it; a wrong password names the host and PLAIN, and the password is nowhere", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.17.31", { credentials: { username: "app", password: PASSWORD } })
      const good = { credentials: { username: "app", password: Redacted.make(PASSWORD) } }
      const { result, logs, spans } = yield* build(server, good)
      expect(result._tag).toBe("Right")
      const cluster = result._tag === "Right" ? result.right : undefined!
      const session = yield* Session.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      expect((yield* session.execute("SELECT v FROM t")).rows).toEqual([{ v: 1 }])
      const provider = AuthProvider.plain(good.credentials)
      for (const text of [inspect(good, { depth: 8 }), String(good.credentials.password), inspect(cluster.config, { depth: 8 }), inspect(provider, { depth: 8 }), ...logs, inspect(spans, { depth: 8 })]) {
        expect(text).not.toContain(PASSWORD)
      }
      const bad = { credentials: { username: "app", password: Redacted.make("n0t-the-p4ssw0rd") } }
      const { result: refused, logs: refusedLogs } = yield* build(server, bad)
      const error = refused._tag === "Left" ? refused.left : undefined!
      expect(error).toMatchObject({
        _tag: "AuthenticationError",
        host: server.contactPoints[0],
        message: `${server.contactPoints[0]}: PLAIN authentication with org.apache.cassandra.auth.PasswordAuthenticator failed: Provided username app and/or password are incorrect`
      })
      for (const text of [inspect(error, { depth: 8 }), String(error), JSON.stringify(error), inspect(bad, { depth: 8 }), ...refusedLogs]) {
        expect(text).not.toContain("n0t-the-p4ssw0rd")
      }
    }))
})
