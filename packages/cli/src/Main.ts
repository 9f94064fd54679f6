/**
 * The `effect-cql` command (on @effect/cli): `effect-cql shell [options]` connects a Cluster and a Session and
 * runs `-e` statements, a `-f` file, or the interactive loop. Exit status: 0, or 2 when a `-e`/`-f` statement
 * failed (as cqlsh), or 1 when the shell could not start (bad settings, no host reachable).
 */
import { Command, Options } from "@effect/cli"
import { Cluster, Session } from "@effect-cql/driver"
import { Effect, Layer, Logger, LogLevel, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Connection from "./Connection.js"
import * as Repl from "./Repl.js"
import * as Shell from "./Shell.js"

const execute = Options.text("execute").pipe(
  Options.withAlias("e"),
  Options.withDescription("Run these statements (separated by ;) and exit"),
  Options.optional
)
const file = Options.text("file").pipe(
  Options.withAlias("f"),
  Options.withDescription("Run the statements of this file and exit"),
  Options.optional
)
const output = Options.choice("output", ["table", "json", "csv"]).pipe(
  Options.withDescription("Rows as aligned tables (default), JSON Lines or CSV"),
  Options.withDefault("table" as const)
)

/** Set by the shell for the process to exit with: Node then exits once stdout has been written out. */
export class ShellFailed {
  readonly _tag = "ShellFailed"
  constructor(readonly status: number) {}
}

const stdoutIO: Shell.ShellIO = {
  write: (text) =>
    Effect.async<void>((resume) => {
      if (process.stdout.write(text)) resume(Effect.void)
      else process.stdout.once("drain", () => resume(Effect.void))
    }),
  error: (text) => Effect.sync(() => void process.stderr.write(text)),
  more: undefined,
  progress: Shell.terminalProgress()
}

const shell = Command.make("shell", { ...Connection.options, execute, file, output }, (o) =>
  Effect.gen(function* () {
    const config = yield* Connection.clusterConfig(o)
    const interactive = Option.isNone(o.execute) && Option.isNone(o.file)
    const outcome = yield* Effect.scoped(
      Effect.gen(function* () {
        const session = yield* Session.make(Option.match(o.keyspace, { onNone: () => ({}), onSome: (keyspace) => ({ keyspace }) }))
        const cluster = yield* Cluster.Cluster
        const terminal = interactive
          ? yield* Repl.make({ metadata: cluster.metadata.current, keyspace: session.keyspace })
          : undefined
        const tty = process.stdin.isTTY === true && process.stdout.isTTY === true
        const sh = yield* Shell.make({
          io: terminal?.io ?? stdoutIO,
          output: o.output,
          paging: interactive && tty && o.output === "table" ? 100 : "off"
        }).pipe(Effect.provideService(Session.Session, session))
        if (Option.isSome(o.execute)) return yield* sh.runText(o.execute.value)
        if (Option.isSome(o.file)) {
          const text = yield* Effect.try({
            try: () => fs.readFileSync(o.file.pipe(Option.getOrThrow), "utf8"),
            catch: (e) => new Connection.ConnectionSettingsError({ message: `cannot read ${Option.getOrThrow(o.file)}: ${(e as Error).message}` })
          })
          return yield* sh.runText(text, path.basename(Option.getOrThrow(o.file)))
        }
        yield* terminal!.loop(sh)
        return "ok" as const
      })
    ).pipe(Effect.provide(Layer.fresh(Cluster.layer(config))))
    if (outcome === "failed") return yield* Effect.fail(new ShellFailed(2))
  }).pipe(
    Effect.catchTags({
      ConnectionSettingsError: (e) => report(`effect-cql: ${e.message}`),
      UnknownKeyspace: (e) => report(`effect-cql: ${e.message}`)
    }),
    Effect.catchIf(
      (e): e is Exclude<typeof e, ShellFailed> => !(e instanceof ShellFailed),
      (e) => report(`effect-cql: could not connect: ${"_tag" in e ? `${e._tag}: ` : ""}${e.message}`)
    )
  )
).pipe(Command.withDescription("A CQL shell: interactive, or -e statements, or -f a file"))

const report = (message: string) =>
  Effect.flatMap(Effect.sync(() => void process.stderr.write(`${message}\n`)), () => Effect.fail(new ShellFailed(1)))

const root = Command.make("effect-cql").pipe(Command.withSubcommands([shell]))

/** Runs the command line; the driver's own log lines (warnings of lost connections) go to stderr. */
export const main = (argv: ReadonlyArray<string>) =>
  Command.run(root, { name: "effect-cql", version: Shell.version })(argv).pipe(
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withLeveledConsole(Logger.logfmtLogger))),
    Logger.withMinimumLogLevel(LogLevel.Error)
  )
