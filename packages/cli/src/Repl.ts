/**
 * The interactive loop over Node's readline: a prompt, statements that may span lines (ended by `;`), history
 * kept in `~/.effect_cql_history` (on a terminal), tab completion from the Metadata (Completion.ts), and the more
 * prompt between pages. It reads from a terminal or from piped stdin alike (a test drives it through a pipe);
 * piped, it prints no prompts, so its output is the results alone.
 *
 * Ctrl-C interrupts the running statement (interrupting its fiber cancels the request; the connection reclaims
 * the stream id when the late answer comes) and the shell goes on; with nothing running it drops the unfinished
 * statement. On a terminal readline reports Ctrl-C itself; through a pipe it arrives as SIGINT.
 */
import type { Metadata } from "@effect-cql/driver"
import { Effect, Exit, Fiber, Queue, Runtime, type Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { complete } from "./Completion.js"
import { split } from "./Input.js"
import { type Shell, type ShellIO, terminalProgress } from "./Shell.js"

const historyFile = path.join(os.homedir(), ".effect_cql_history")
const historySize = 1000

/** What the reader gets: a line, Ctrl-C, or the end of the input. */
type Input = { readonly _tag: "Line"; readonly text: string } | { readonly _tag: "Interrupt" } | { readonly _tag: "End" }

export interface Terminal {
  readonly io: ShellIO
  /** Runs the loop until EXIT or the end of the input. */
  readonly loop: (shell: Shell) => Effect.Effect<void>
}

export const make = (options: {
  readonly metadata: () => Metadata.Metadata
  readonly keyspace: () => string | undefined
}): Effect.Effect<Terminal, never, Scope.Scope> =>
  Effect.gen(function* () {
    const tty = process.stdin.isTTY === true
    const inputs = yield* Queue.unbounded<Input>()
    const runtime = yield* Effect.runtime<never>()
    const offer = (i: Input) => Runtime.runSync(runtime)(Queue.offer(inputs, i))
    const history = tty ? readHistory() : []
    const rl = yield* Effect.acquireRelease(
      Effect.sync(() =>
        readline.createInterface({
          input: process.stdin,
          output: process.stdout,
          terminal: tty,
          history,
          historySize,
          removeHistoryDuplicates: true,
          completer: (line: string) => complete(line, options.metadata(), options.keyspace())
        })
      ),
      (rl) => Effect.sync(() => rl.close())
    )
    /** The statement running now: Ctrl-C interrupts it; with none, Ctrl-C reaches the loop. */
    let running: Fiber.RuntimeFiber<unknown> | undefined
    const onInterrupt = () => {
      if (running === undefined) offer({ _tag: "Interrupt" })
      else Runtime.runFork(runtime)(Fiber.interruptFork(running))
    }
    rl.on("line", (text) => offer({ _tag: "Line", text }))
    rl.on("close", () => offer({ _tag: "End" }))
    if (tty) {
      rl.on("SIGINT", onInterrupt)
      rl.on("history", (h: Array<string>) => writeHistory(h))
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("SIGINT", onInterrupt)),
      () => Effect.sync(() => process.off("SIGINT", onInterrupt))
    )

    const write = (text: string) =>
      Effect.async<void>((resume) => {
        if (process.stdout.write(text)) resume(Effect.void)
        else process.stdout.once("drain", () => resume(Effect.void))
      })
    const io: ShellIO = {
      write,
      error: (text) => Effect.sync(() => void process.stderr.write(text)),
      more: tty
        ? Effect.gen(function* () {
            yield* write("---MORE--- (Enter for more, q to stop)")
            const answer = yield* Queue.take(inputs)
            return answer._tag === "Line" && !/^\s*q/i.test(answer.text)
          })
        : undefined,
      progress: terminalProgress()
    }

    /** Runs statements in order; Ctrl-C drops the rest of them. True after EXIT. */
    const runAll = (shell: Shell, pieces: ReadonlyArray<{ readonly text: string }>) =>
      Effect.gen(function* () {
        for (const piece of pieces) {
          const fiber = yield* Effect.fork(shell.run(piece.text))
          running = fiber
          const exit = yield* Fiber.await(fiber)
          running = undefined
          if (Exit.isInterrupted(exit)) {
            yield* io.error("Interrupted.\n")
            return false
          }
          if (Exit.isSuccess(exit) && exit.value === "exit") return true
        }
        return false
      })

    const loop = (shell: Shell) =>
      Effect.gen(function* () {
        let buffer = ""
        for (;;) {
          // Prompts only on a terminal: piped in, the output is the results alone (`... | effect-cql shell --output json`).
          if (tty) {
            rl.setPrompt(buffer === "" ? shell.prompt() : "   ... ")
            rl.prompt()
          }
          const input = yield* Queue.take(inputs)
          if (input._tag === "End") {
            // Ctrl-D on a terminal leaves; piped input's last statement may lack its `;`.
            if (tty) yield* write("\n")
            else yield* runAll(shell, split(buffer, true).pieces)
            return
          }
          if (input._tag === "Interrupt") {
            buffer = ""
            yield* write(tty ? "\n" : "")
            continue
          }
          buffer += `${input.text}\n`
          const { pieces, rest } = split(buffer)
          buffer = rest
          if (yield* runAll(shell, pieces)) return
        }
      })
    return { io, loop }
  })

const readHistory = (): Array<string> => {
  try {
    return fs.readFileSync(historyFile, "utf8").split("\n").filter((l) => l !== "").reverse().slice(0, historySize)
  } catch {
    return []
  }
}

const writeHistory = (h: ReadonlyArray<string>) => {
  try {
    fs.writeFileSync(historyFile, `${[...h].reverse().join("\n")}\n`, { mode: 0o600 })
  } catch {
    // History is a convenience: a home directory we cannot write to costs it, nothing else.
  }
}
