/**
 * How the shell reaches the cluster: its command-line options, each with an environment variable behind it, and
 * the driver's Cluster settings they make. A password is never required on the command line: with a user name
 * and no password, the shell asks for it on the terminal without echo.
 *
 *   --host / EFFECT_CQL_HOSTS (comma-separated)      --port / EFFECT_CQL_PORT
 *   -u --username / EFFECT_CQL_USERNAME               -p --password / EFFECT_CQL_PASSWORD
 *   -k --keyspace / EFFECT_CQL_KEYSPACE               --local-dc / EFFECT_CQL_LOCAL_DC
 *   --ssl / EFFECT_CQL_SSL=true                       --cafile / EFFECT_CQL_CAFILE (implies --ssl)
 *   --protocol-version / EFFECT_CQL_PROTOCOL_VERSION  --request-timeout (seconds) / EFFECT_CQL_REQUEST_TIMEOUT
 */
import { Options, Prompt } from "@effect/cli"
import type { Cluster } from "@effect-cql/driver"
import { Config, Data, Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"

export class ConnectionSettingsError extends Data.TaggedError("ConnectionSettingsError")<{ readonly message: string }> {}

/** An option with its description and the environment variable it falls back to. */
const withEnv = <A>(option: Options.Options<A>, description: string, env: Config.Config<A>): Options.Options<A> =>
  option.pipe(Options.withDescription(description), Options.withFallbackConfig(env))

export const hosts = withEnv(Options.text("host"), "Contact points, comma-separated (host or host:port)", Config.string("EFFECT_CQL_HOSTS")).pipe(
  Options.withDefault("127.0.0.1")
)
export const port = withEnv(Options.integer("port"), "Native protocol port", Config.integer("EFFECT_CQL_PORT")).pipe(Options.withDefault(9042))
export const username = withEnv(
  Options.text("username").pipe(Options.withAlias("u")),
  "User name (the password is asked for when -p is not given)",
  Config.string("EFFECT_CQL_USERNAME")
).pipe(Options.optional)
export const password = withEnv(Options.redacted("password").pipe(Options.withAlias("p")), "Password", Config.redacted("EFFECT_CQL_PASSWORD")).pipe(
  Options.optional
)
export const keyspace = withEnv(Options.text("keyspace").pipe(Options.withAlias("k")), "Keyspace to start in", Config.string("EFFECT_CQL_KEYSPACE")).pipe(
  Options.optional
)
export const localDc = withEnv(Options.text("local-dc"), "Local data centre", Config.string("EFFECT_CQL_LOCAL_DC")).pipe(Options.optional)
export const ssl = withEnv(Options.boolean("ssl"), "Connect with TLS", Config.boolean("EFFECT_CQL_SSL"))
export const cafile = withEnv(
  Options.text("cafile"),
  "PEM file of the CA that signed the nodes' certificates (implies --ssl)",
  Config.string("EFFECT_CQL_CAFILE")
).pipe(Options.optional)
export const protocolVersion = withEnv(
  Options.choice("protocol-version", ["4", "5"]),
  "Pin the native protocol version (default: v5, else v4)",
  Config.literal("4", "5")("EFFECT_CQL_PROTOCOL_VERSION")
).pipe(Options.optional)
export const requestTimeout = withEnv(Options.integer("request-timeout"), "Seconds a request may take", Config.integer("EFFECT_CQL_REQUEST_TIMEOUT")).pipe(
  Options.optional
)

export const options = {
  hosts,
  port,
  username,
  password,
  keyspace,
  localDc,
  ssl,
  cafile,
  protocolVersion,
  requestTimeout
}

export interface ConnectionOptions {
  readonly hosts: string
  readonly port: number
  readonly username: Option.Option<string>
  readonly password: Option.Option<Redacted.Redacted>
  readonly keyspace: Option.Option<string>
  readonly localDc: Option.Option<string>
  readonly ssl: boolean
  readonly cafile: Option.Option<string>
  readonly protocolVersion: Option.Option<"4" | "5">
  readonly requestTimeout: Option.Option<number>
}

/**
 * The password: given, or asked for on the terminal without echo. Without a terminal to ask on, it is an error
 * that says where a password can come from.
 */
const passwordFor = (
  o: ConnectionOptions
): Effect.Effect<Option.Option<Redacted.Redacted>, ConnectionSettingsError, Prompt.Prompt.Environment> => {
  if (Option.isNone(o.username) || Option.isSome(o.password)) return Effect.succeed(o.password)
  if (process.stdin.isTTY !== true) {
    return Effect.fail(
      new ConnectionSettingsError({ message: "a user name without a password, and no terminal to ask on: give -p or EFFECT_CQL_PASSWORD" })
    )
  }
  return Prompt.run(Prompt.password({ message: "Password" })).pipe(
    Effect.map(Option.some),
    Effect.catchTag("QuitException", () => Effect.fail(new ConnectionSettingsError({ message: "no password given" })))
  )
}

/** The Cluster settings the options make (the password asked for when needed). */
export const clusterConfig = (o: ConnectionOptions): Effect.Effect<Cluster.ClusterConfig, ConnectionSettingsError, Prompt.Prompt.Environment> =>
  Effect.gen(function* () {
    const pw = yield* passwordFor(o)
    const contactPoints = o.hosts.split(",").map((h) => h.trim()).filter((h) => h !== "")
    if (contactPoints.length === 0) return yield* new ConnectionSettingsError({ message: "no host given" })
    const ca = yield* Option.match(o.cafile, {
      onNone: () => Effect.succeed(undefined),
      onSome: (file) =>
        Effect.try({
          try: () => fs.readFileSync(file),
          catch: (e) => new ConnectionSettingsError({ message: `cannot read the CA file ${file}: ${(e as Error).message}` })
        })
    })
    const config: { -readonly [K in keyof Cluster.ClusterConfig]: Cluster.ClusterConfig[K] } = {
      contactPoints,
      port: o.port,
      // Requests go to whatever node answers first when no data centre is named: a shell talks to one cluster.
      ...Option.match(o.localDc, { onNone: () => ({}), onSome: (localDataCenter) => ({ localDataCenter }) })
    }
    if (Option.isSome(o.keyspace)) config.keyspace = o.keyspace.value
    if (Option.isSome(o.username) && Option.isSome(pw)) {
      config.credentials = { username: o.username.value, password: Redacted.make(Redacted.value(pw.value)) }
    }
    if (o.ssl || ca !== undefined) config.tls = ca === undefined ? {} : { ca }
    if (Option.isSome(o.protocolVersion)) config.protocolVersion = o.protocolVersion.value === "4" ? 4 : 5
    if (Option.isSome(o.requestTimeout)) config.requestTimeout = `${o.requestTimeout.value} seconds`
    return config
  })
