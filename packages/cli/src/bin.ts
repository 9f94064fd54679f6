/**
 * The `effect-cql` executable's entry: runs the command line on Node and turns its end into an exit status.
 * Not NodeRuntime.runMain: its SIGINT handler would end the whole shell, where Ctrl-C must only interrupt the
 * statement running (Repl.ts).
 */
import { NodeContext } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { main, ShellFailed } from "./Main.js"

Effect.runPromiseExit(main(process.argv).pipe(Effect.provide(NodeContext.layer))).then((exit) => {
  if (Exit.isSuccess(exit)) return
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some" && failure.value instanceof ShellFailed) {
    process.exitCode = failure.value.status
    return
  }
  // @effect/cli has printed a usage error already; anything else is a defect worth its trace.
  if (failure._tag === "None") process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
  process.exitCode = 1
})
