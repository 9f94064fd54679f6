/**
 * Pluggable authentication (native_protocol_v5.spec 4.2.3, 4.1.2, 4.2.7, 4.2.8). A node that requires it answers
 * STARTUP with AUTHENTICATE naming its authenticator class (e.g. `org.apache.cassandra.auth.PasswordAuthenticator`);
 * the driver then runs a SASL exchange with it: an initial response, any number of challenges each answered by the
 * client, then success. An `AuthProvider` makes one `Authenticator` per connection, which plays the client's part:
 * SASL PLAIN (`plain`, what the `credentials` setting uses), or any other mechanism (AWS SigV4 for Keyspaces,
 * Kerberos, LDAP front-ends) supplied by the application.
 *
 * Secrets stay inside the provider: `plain` keeps the password `Redacted` until it builds the token, and the
 * driver never logs, traces or puts a token in an error. A provider's own `AuthProviderError` message is shown in
 * the `AuthenticationError` (with the host and the mechanism), so it must not contain a secret either; a provider
 * that throws or dies is reported without its message.
 *
 *   Cluster.layer({ contactPoints: ["127.0.0.1"], authProvider: AuthProvider.plain({ username: "app", password: Redacted.make("secret") }) })
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

/** Where an exchange runs: the host (`address:port`) and the authenticator class its server announced. */
export interface AuthContext {
  readonly host: string
  readonly authenticator: string
}

/** The client's side of one SASL exchange (one connection). */
export interface Authenticator {
  /** The first AUTH_RESPONSE token. */
  readonly initialResponse: Effect.Effect<Uint8Array | null, AuthProviderError>
  /** The answer to an AUTH_CHALLENGE. */
  readonly evaluateChallenge: (challenge: Uint8Array | null) => Effect.Effect<Uint8Array | null, AuthProviderError>
  /** AUTH_SUCCESS arrived, with the server's final token (if any): a mechanism may check it and fail. */
  readonly onSuccess: (token: Uint8Array | null) => Effect.Effect<void, AuthProviderError>
}

/** Makes an Authenticator for each connection that must authenticate. */
export interface AuthProvider {
  /** The mechanism's name, shown in errors (e.g. "PLAIN"). */
  readonly mechanism: string
  readonly newAuthenticator: (context: AuthContext) => Effect.Effect<Authenticator, AuthProviderError>
}

/** What an Authenticator fails with; the message reaches the AuthenticationError, so it must hold no secret. */
export class AuthProviderError extends Data.TaggedError("AuthProviderError")<{ readonly message: string }> {}

/** DSE's authenticator first answers with this challenge, then takes the PLAIN token. */
const PLAIN_START = "PLAIN-START"

const utf8 = new TextEncoder()

/** SASL PLAIN (RFC 4616): authzid (empty) NUL authcid NUL password, for PasswordAuthenticator and DSE's. */
export const plain = (credentials: { readonly username: string; readonly password: Redacted.Redacted<string> }): AuthProvider => ({
  mechanism: "PLAIN",
  newAuthenticator: () => {
    // Built when sent, so that no token outlives the exchange in a long-lived object.
    const token = Effect.sync(() => {
      const user = utf8.encode(credentials.username)
      const password = utf8.encode(Redacted.value(credentials.password))
      const out = new Uint8Array(2 + user.length + password.length)
      out.set(user, 1)
      out.set(password, 2 + user.length)
      return out
    })
    return Effect.succeed({
      initialResponse: token,
      evaluateChallenge: (challenge) =>
        challenge !== null && Buffer.from(challenge).toString("utf8") === PLAIN_START
          ? token
          : Effect.fail(new AuthProviderError({ message: "the server sent a SASL challenge that PLAIN cannot answer" })),
      onSuccess: () => Effect.void
    })
  }
})
