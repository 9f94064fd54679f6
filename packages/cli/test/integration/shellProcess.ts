/**
 * The shell as a child process, the way a user runs it: bundled once from the sources with esbuild (packages
 * stay external and load from node_modules, so nothing has to be built first), then run with arguments, a piped
 * stdin, or a pseudo-terminal (util-linux `script`, no native dependency).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import * as esbuild from "esbuild"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..")
/** Inside node_modules, so that the bundle's external imports resolve from the repository's node_modules. */
const bundle = path.join(root, "node_modules/.cache/effect-cql-cli/effect-cql.mjs")

let built: Promise<string> | undefined

export const shellBundle = (): Promise<string> =>
  (built ??= esbuild
    .build({
      entryPoints: [path.join(root, "packages/cli/src/bin.ts")],
      outfile: bundle,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      tsconfig: path.join(root, "tsconfig.json"),
      logLevel: "warning"
    })
    .then(() => bundle))

export interface Finished {
  readonly stdout: string
  readonly stderr: string
  readonly code: number | null
}

/** Runs `effect-cql shell ...args` to its end (stdin closed, or `input` written to it). */
export const runShell = async (args: ReadonlyArray<string>, options: { input?: string; env?: Record<string, string> } = {}): Promise<Finished> => {
  const child = spawn(process.execPath, [await shellBundle(), "shell", ...args], { env: { ...process.env, ...options.env } })
  const out = collect(child)
  child.stdin.end(options.input ?? "")
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
  return { stdout: out.stdout(), stderr: out.stderr(), code }
}

const collect = (child: ChildProcessWithoutNullStreams) => {
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
  return { stdout: () => stdout, stderr: () => stderr }
}

/** A running shell driven line by line: what it has printed so far, and a wait for a pattern in it. */
export interface Session {
  readonly child: ChildProcessWithoutNullStreams
  readonly send: (text: string) => void
  readonly output: () => string
  readonly errors: () => string
  /** Resolves with the output once `pattern` appears after `from` (an offset into the output). */
  readonly waitFor: (pattern: RegExp, from?: number, timeoutMs?: number) => Promise<string>
  readonly closed: Promise<number | null>
}

const drive = (child: ChildProcessWithoutNullStreams): Session => {
  const out = collect(child)
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve))
  const waitFor = (pattern: RegExp, from = 0, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const started = Date.now()
      const check = () => {
        const text = out.stdout().slice(from) + "\n--- stderr ---\n" + out.stderr()
        if (pattern.test(out.stdout().slice(from)) || pattern.test(out.stderr())) return resolve(text)
        if (Date.now() - started > timeoutMs) return reject(new Error(`no ${pattern} within ${timeoutMs} ms in:\n${text}`))
        setTimeout(check, 20)
      }
      check()
    })
  return { child, send: (text) => child.stdin.write(text), output: out.stdout, errors: out.stderr, waitFor, closed }
}

/** The shell reading statements from a pipe (stdin is not a terminal). */
export const pipedShell = async (args: ReadonlyArray<string> = []): Promise<Session> =>
  drive(spawn(process.execPath, [await shellBundle(), "shell", ...args], { env: process.env }))

/**
 * The shell on a pseudo-terminal: `script` gives it a tty and relays our pipe to it (stdout and stderr merged).
 * TERM=xterm: under "dumb" Node's readline neither completes nor sets raw mode.
 */
export const ttyShell = async (args: ReadonlyArray<string> = []): Promise<Session> => {
  const command = [process.execPath, await shellBundle(), "shell", ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ")
  return drive(spawn("script", ["-qfec", command, "/dev/null"], { env: { ...process.env, TERM: "xterm" } }))
}
