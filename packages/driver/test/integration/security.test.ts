/**
 * PasswordAuthenticator and client TLS, each on a node of its own started by the project's harness. The shell's
 * `--cafile` is checked on the TLS node here too, so that it needs no node of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Session } from "@effect-cql/driver"
import { Effect, Layer, Redacted } from "effect"
import { readFileSync } from "node:fs"
import { inspect } from "node:util"
import { type Cluster, startCluster } from "../../../../scripts/harness.js"
import { runShell } from "../../../cli/test/integration/shellProcess.js"

const version = <E>(layer: Layer.Layer<Session.Session, E>) =>
  Effect.map(Session.Session, (s) => s.execute("SELECT release_version FROM system.local")).pipe(
    Effect.flatten,
    Effect.map((rs) => String(rs.rows[0]!["release_version"])),
    Effect.provide(layer)
  )

describe("PasswordAuthenticator", () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({ ipBase: 33, nodes: 1, auth: true })
  }, 300_000)
  afterAll(() => cluster?.stop(), 120_000)

  const withPassword = (password: string) =>
    Session.layer({
      contactPoints: [cluster.addresses[0]!],
      credentials: { username: "cassandra", password: Redacted.make(password) }
    })

  it.live("the right password is accepted", () =>
    Effect.gen(function* () {
      expect(yield* version(withPassword("cassandra"))).toMatch(/^5\.0\./)
    }))

  it.live("a wrong password is a typed AuthenticationError", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(version(withPassword("wr0ng-pw")))
      const host = `${cluster.addresses[0]}:9042`
      // The host and the mechanism are named; the password is not, in any form the error takes.
      expect(err).toMatchObject({
        _tag: "AuthenticationError",
        host,
        message: `${host}: PLAIN authentication with org.apache.cassandra.auth.PasswordAuthenticator failed: Provided username cassandra and/or password are incorrect`
      })
      for (const text of [inspect(err, { depth: 8 }), String(err), JSON.stringify(err)]) expect(text).not.toContain("wr0ng-pw")
    }))

  it.live("no credentials at all is a typed AuthenticationError too", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(version(Session.layer({ contactPoints: [cluster.addresses[0]!] })))
      expect(err).toMatchObject({ _tag: "AuthenticationError" })
    }))
})

describe("TLS", () => {
  let cluster: Cluster
  let ca: Buffer
  beforeAll(async () => {
    cluster = await startCluster({ ipBase: 23, nodes: 1, tls: true })
    ca = readFileSync(`${cluster.workDir}/tls/ca.pem`)
  }, 300_000)
  afterAll(() => cluster?.stop(), 120_000)

  it.live("a certificate that matches the host verifies and connects", () =>
    Effect.gen(function* () {
      expect(yield* version(Session.layer({ contactPoints: [cluster.addresses[0]!], tls: { ca } }))).toMatch(/^5\.0\./)
    }))

  it.live("a hostname the certificate does not name is rejected", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(version(Session.layer({ contactPoints: [cluster.addresses[0]!], tls: { ca, servername: "wrong.example" } })))
      expect(err._tag).toBe("NoHostAvailable")
      expect(String(err)).toMatch(/altnames|Hostname|IP/i)
    }))

  it("the shell: --cafile verifies the node's certificate and connects; --ssl alone rejects the unknown authority", async () => {
    const query = ["-e", "SELECT release_version FROM system.local"]
    const verified = await runShell(["--host", cluster.addresses[0]!, "--cafile", `${cluster.workDir}/tls/ca.pem`, ...query])
    expect(verified.stderr).toBe("")
    expect(verified.code).toBe(0)
    expect(verified.stdout).toMatch(/release_version[\s\S]*5\.0\.\d+/)
    const unknown = await runShell(["--host", cluster.addresses[0]!, "--ssl", ...query])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/self[- ]signed|certificate/i)
  }, 60_000)

  it.live("an unknown certificate authority is rejected by default", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(version(Session.layer({ contactPoints: [cluster.addresses[0]!], tls: {} })))
      expect(err._tag).toBe("NoHostAvailable")
      expect(String(err)).toMatch(/self[- ]signed|certificate/i)
    }))
})
