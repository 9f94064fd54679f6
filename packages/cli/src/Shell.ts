/**
 * The shell's interpreter: one statement at a time, CQL sent through the Session, shell commands (cqlsh's USE,
 * DESCRIBE, CONSISTENCY, SERIAL CONSISTENCY, PAGING, EXPAND, TRACING, COPY, SOURCE, SHOW, EXIT) done here. It
 * owns the settings those commands change and prints through a `ShellIO`, so the same interpreter serves `-e`,
 * `-f` and the interactive loop (Repl.ts).
 *
 * A statement that fails prints its error (the server's message, which for a syntax error carries the line and
 * column) and the shell goes on; the outcome says so, so that `-e` and `-f` can exit with a failure status.
 */
import { Cluster, Session } from "@effect-cql/driver"
import { Consistency, type Rows } from "@effect-cql/protocol"
import { Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Copy from "./Copy.js"
import { describe } from "./Describe.js"
import { split } from "./Input.js"
import * as ResultFormat from "./ResultFormat.js"
import { formatTrace } from "./Tracing.js"

/** Where the shell prints, and how it asks for the next page. */
export interface ShellIO {
  readonly write: (text: string) => Effect.Effect<void>
  readonly error: (text: string) => Effect.Effect<void>
  /** The more prompt between pages: false to stop. Undefined when nobody is there to answer (pages just follow). */
  readonly more: Effect.Effect<boolean> | undefined
  /** Where COPY reports its progress as it goes (a line rewritten in place), or nowhere. */
  readonly progress: ((line: string) => void) | undefined
}

/** Progress on stderr when it is a terminal: one line, rewritten in place. */
export const terminalProgress = (): ((line: string) => void) | undefined =>
  process.stderr.isTTY === true ? (line) => void process.stderr.write(`\r\x1b[K${line}`) : undefined

export type Outcome = "ok" | "failed" | "exit"

export interface Settings {
  consistency: Consistency.Consistency
  serialConsistency: Consistency.Consistency
  /** Rows per page shown at once (and fetched per request), or "off": every row, in one table. */
  paging: number | "off"
  expand: boolean
  tracing: boolean
  readonly output: ResultFormat.OutputFormat
}

export const version = "0.1.0"

/** Where a statement came from, for error messages (`file:line:`); none for typed input and `-e`. */
export interface Origin {
  readonly source: string
  readonly line: number
}

export interface Shell {
  readonly settings: Settings
  /** Runs one statement (without its `;`). */
  readonly run: (statement: string, origin?: Origin) => Effect.Effect<Outcome>
  /** Runs every statement of a text (a file, `-e`), stopping only at EXIT. Failed when any failed. */
  readonly runText: (text: string, source?: string) => Effect.Effect<Outcome>
  /** The prompt: `effect-cql:ks> ` in keyspace `ks`. */
  readonly prompt: () => string
}

const help = `CQL statements end with ;. The shell's own commands end at the end of their line:
  USE ks                          DESCRIBE CLUSTER | KEYSPACES | KEYSPACE [ks] | TABLES | TABLE t | TYPES | TYPE t | SCHEMA | name
  CONSISTENCY [level]             SERIAL CONSISTENCY [level]
  PAGING ON | OFF | n             EXPAND ON | OFF               TRACING ON | OFF
  COPY ks.t [(cols)] TO | FROM 'file.csv' [WITH HEADER = true AND DELIMITER = ',' AND PAGESIZE = 1000
                                          AND CONCURRENCY = 128 AND MAXATTEMPTS = 5 AND ERRFILE = 'file.err']
  SOURCE 'file'                   SHOW VERSION | HOST           HELP                          EXIT | QUIT
`

/** The default page size when paging is off: pages are fetched at this size and printed as one table. */
const fetchSize = 5000

export const make = (options: {
  readonly io: ShellIO
  readonly output: ResultFormat.OutputFormat
  readonly paging: number | "off"
}): Effect.Effect<Shell, never, Session.Session | Cluster.Cluster> =>
  Effect.gen(function* () {
    const session = yield* Session.Session
    const cluster = yield* Cluster.Cluster
    const { io } = options
    const settings: Settings = {
      consistency: "ONE",
      serialConsistency: "SERIAL",
      paging: options.paging,
      expand: false,
      tracing: false,
      output: options.output
    }

    const errorText = (e: unknown): string => {
      if (typeof e === "object" && e !== null && "_tag" in e) {
        const tagged = e as { _tag: string; message?: string }
        return `${tagged._tag}: ${tagged.message ?? ""}`
      }
      return String(e)
    }
    const failWith = (message: string, origin?: Origin) =>
      Effect.as(io.error(`${origin === undefined ? "" : `${origin.source}:${origin.line}:`}${message}\n`), "failed" as const)

    /** Prints rows in the chosen output; `first` is the number of the first row (EXPAND). */
    const printRows = (rows: ReadonlyArray<Rows.Row>, columns: ReadonlyArray<Rows.ColumnSpec>, first: number, header: boolean) => {
      switch (settings.output) {
        case "json":
          return io.write(ResultFormat.jsonRows(rows, columns))
        case "csv":
          return io.write((header ? ResultFormat.csvHeader(columns) : "") + ResultFormat.csvRows(rows, columns))
        case "table":
          return io.write(settings.expand ? ResultFormat.expanded(rows, columns, first) : ResultFormat.table(rows, columns))
      }
    }

    const runCql = (text: string) =>
      Effect.gen(function* () {
        const pageSize = settings.paging === "off" ? fetchSize : settings.paging
        // Only an aligned table needs every row before it prints (its widths); other outputs print page by page.
        const gather = settings.paging === "off" && settings.output === "table"
        const gathered: Array<Rows.Row> = []
        let pagingState: Buffer | undefined
        let shown = 0
        let columns: ReadonlyArray<Rows.ColumnSpec> = []
        let tracingId: string | undefined
        for (;;) {
          const rs = yield* session.execute(text, undefined, {
            consistency: settings.consistency,
            serialConsistency: settings.serialConsistency,
            pageSize,
            // The statement's trace is its first request's; later pages are not traced.
            tracing: settings.tracing && pagingState === undefined,
            ...(pagingState === undefined ? {} : { pagingState })
          })
          tracingId ??= rs.tracingId
          for (const w of rs.warnings) yield* io.error(`Warning: ${w}\n`)
          if (rs.columns.length === 0) break
          columns = rs.columns
          if (gather) for (const r of rs.rows) gathered.push(r)
          else if (rs.rows.length > 0 || shown === 0) yield* printRows(rs.rows, columns, shown + 1, shown === 0)
          shown += rs.rows.length
          pagingState = rs.pagingState
          if (pagingState === undefined) break
          if (!gather && io.more !== undefined && !(yield* io.more)) break
        }
        if (columns.length > 0) {
          if (gather) yield* printRows(gathered, columns, 1, true)
          if (settings.output === "table") yield* io.write(`\n(${shown} rows)\n`)
        }
        if (tracingId !== undefined) yield* io.write(formatTrace(yield* session.queryTrace(tracingId)))
      })

    const consistencyCommand = (serial: boolean, arg: string) => {
      const name = serial ? "Serial consistency level" : "Consistency level"
      if (arg === "") return io.write(`Current ${name.toLowerCase()} is ${serial ? settings.serialConsistency : settings.consistency}.\n`)
      const level = arg.toUpperCase() as Consistency.Consistency
      if (!Consistency.all.includes(level) || (serial && !Consistency.isSerial(level))) {
        return Effect.flatMap(io.error(`Improper ${serial ? "SERIAL CONSISTENCY" : "CONSISTENCY"} command: ${arg} is not a ${serial ? "serial " : ""}consistency level.\n`), () => Effect.fail("failed" as const))
      }
      if (serial) settings.serialConsistency = level
      else settings.consistency = level
      return io.write(`${name} set to ${level}.\n`)
    }

    /** EXPAND and TRACING: ON, OFF, or alone to flip. */
    const toggle = (setting: "expand" | "tracing", arg: string, onText: string, offText: string) => {
      const on = arg === "" ? !settings[setting] : /^on$/i.test(arg) ? true : /^off$/i.test(arg) ? false : undefined
      if (on === undefined) return Effect.fail(`${setting.toUpperCase()} ON | OFF`)
      settings[setting] = on
      return io.write(`${on ? onText : offText}\n`)
    }

    const show = (arg: string) =>
      Effect.gen(function* () {
        const md = cluster.metadata.current()
        const control = Option.getOrUndefined(yield* cluster.control.host)
        const host = control === undefined ? undefined : md.hosts.get(control)
        if (/^version$/i.test(arg)) {
          return yield* io.write(`[effect-cql ${version} | Cassandra ${host?.releaseVersion ?? "unknown"} | Native protocol v${session.protocolVersion}]\n`)
        }
        if (/^host$/i.test(arg)) {
          return yield* io.write(`Connected to ${md.clusterName ?? "a cluster"} at ${control ?? session.hosts[0] ?? "no host"}.\n`)
        }
        return yield* Effect.fail("SHOW VERSION or SHOW HOST")
      })

    const run = (statement: string, origin?: Origin): Effect.Effect<Outcome> => {
      const m = /^(\w+)\s*(.*)$/s.exec(statement.trim())
      const word = m?.[1]?.toLowerCase() ?? ""
      const arg = (m?.[2] ?? "").trim()
      const command: Effect.Effect<Outcome | void, unknown> = (() => {
        switch (word) {
          case "exit":
          case "quit":
            return Effect.succeed("exit" as const)
          case "consistency":
            return consistencyCommand(false, arg)
          case "serial": {
            const s = /^consistency\s*(\w*)$/i.exec(arg)
            return s === null ? Effect.fail("SERIAL CONSISTENCY [level]") : consistencyCommand(true, s[1]!)
          }
          case "paging": {
            if (/^\d+$/.test(arg) && Number(arg) > 0) settings.paging = Number(arg)
            else if (/^off$/i.test(arg)) settings.paging = "off"
            else if (/^on$/i.test(arg) || arg === "") settings.paging = settings.paging === "off" || /^on$/i.test(arg) ? 100 : "off"
            else return Effect.fail("PAGING ON | OFF | <page size>")
            return io.write(settings.paging === "off" ? "Disabled Query paging.\n" : `Page size: ${settings.paging}\n`)
          }
          case "expand":
            return toggle("expand", arg, "Now Expanded output is enabled", "Disabled Expanded output.")
          case "tracing":
            return toggle("tracing", arg, "Now Tracing is enabled", "Disabled Tracing.")
          case "show":
            return show(arg)
          case "help":
            return io.write(help)
          case "describe":
          case "desc":
            return Either.match(describe(cluster.metadata.current(), arg, session.keyspace()), {
              onLeft: (e) => Effect.fail(e.message),
              onRight: (text) => io.write(text)
            })
          case "copy":
            return Copy.run(statement, cluster.metadata.current(), session.keyspace(), {
              consistency: settings.consistency,
              progress: io.progress
            }).pipe(Effect.flatMap(io.write), Effect.provideService(Session.Session, session))
          case "source": {
            const file = /^'((?:[^']|'')*)'$/.exec(arg)?.[1]?.replaceAll("''", "'") ?? arg
            return Effect.try({ try: () => fs.readFileSync(file, "utf8"), catch: (e) => `cannot read ${file}: ${(e as Error).message}` }).pipe(
              Effect.flatMap((text) => runText(text, path.basename(file)))
            )
          }
          default:
            return runCql(statement)
        }
      })()
      return command.pipe(
        Effect.map((o): Outcome => (o === "exit" || o === "failed" ? o : "ok")),
        Effect.catchAll((e) => (e === "failed" ? Effect.succeed("failed" as const) : failWith(typeof e === "string" ? e : errorText(e), origin)))
      )
    }

    const runText = (text: string, source?: string): Effect.Effect<Outcome> =>
      Effect.gen(function* () {
        let outcome: Outcome = "ok"
        for (const piece of split(text, true).pieces) {
          const o = yield* run(piece.text, source === undefined ? undefined : { source, line: piece.line })
          if (o === "exit") return "exit"
          if (o === "failed") outcome = "failed"
        }
        return outcome
      })

    const prompt = () => {
      const ks = session.keyspace()
      return ks === undefined ? "effect-cql> " : `effect-cql:${ks}> `
    }

    return { settings, run, runText, prompt }
  })
