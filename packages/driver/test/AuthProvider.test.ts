import { AuthProvider } from "@effect-cql/driver"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { inspect } from "node:util"

const context = { host: "127.0.0.1:9042", authenticator: "org.apache.cassandra.auth.PasswordAuthenticator" }

describe("AuthProvider.plain", () => {
  it.effect("answers with the RFC 4616 token, again after DSE's PLAIN-START, and refuses any other challenge", () =>
    Effect.gen(function* () {
      const provider = AuthProvider.plain({ username: "app", password: Redacted.make("pässword") })
      expect(provider.mechanism).toBe("PLAIN")
      const auth = yield* provider.newAuthenticator(context)
      const token = Buffer.concat([Buffer.from("\0app\0"), Buffer.from("pässword", "utf8")])
      expect(Buffer.from((yield* auth.initialResponse)!)).toEqual(token)
      expect(Buffer.from((yield* auth.evaluateChallenge(Buffer.from("PLAIN-START")))!)).toEqual(token)
      const refused = yield* Effect.flip(auth.evaluateChallenge(Buffer.from("nonce")))
      expect(refused).toEqual(new AuthProvider.AuthProviderError({ message: "the server sent a SASL challenge that PLAIN cannot answer" }))
      expect(yield* Effect.flip(auth.evaluateChallenge(null))).toBeInstanceOf(AuthProvider.AuthProviderError)
      yield* auth.onSuccess(null)
      // Neither the provider nor its authenticator shows the password.
      expect(inspect(provider, { depth: 8 }) + inspect(auth, { depth: 8 })).not.toContain("pässword")
    }))
})
