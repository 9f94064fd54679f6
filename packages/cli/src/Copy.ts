/**
 * COPY ks.table [(columns)] TO | FROM 'file.csv' [WITH option = value [AND ...]], as in cqlsh.
 *
 * TO streams the table page by page (`session.stream`) into the file, waiting for the file to take each page, so
 * memory holds one page. FROM reads the file a chunk at a time (Csv.ts keeps only the unfinished record), parses
 * each field by its column's type (ValueParse.ts) and inserts through BulkExecution with a bounded number in
 * flight: memory stays flat whatever the file's size. A row that does not parse, or that the server rejects, goes
 * to the error file (CSV: `line,error,record`, the record as it was in the file) and the rest go on.
 *
 * Options: HEADER (false; for FROM without a column list, the header names the columns), DELIMITER (','),
 * PAGESIZE (TO, 1000), CONCURRENCY (FROM, 128 in flight), MAXATTEMPTS (FROM, 5: a row that times out or meets an
 * overloaded node is tried again in a later pass, up to this many times), ERRFILE (FROM, `import_<ks>_<table>.err`). Progress (rows, rows/s, and for FROM a bar of the file read) goes to stderr
 * when it is a terminal; the summary line to the shell's output.
 */
import { BulkExecution, type CqlError, Metadata, SchemaExport, Session, type Statement } from "@effect-cql/driver"
import type { Consistency } from "@effect-cql/protocol"
import { Chunk, Data, Effect, Either, Stream } from "effect"
import * as fs from "node:fs"
import { CsvReader, type CsvRecord, formatRecord } from "./Csv.js"
import { csvCell } from "./ResultFormat.js"
import { parseValue } from "./ValueParse.js"

export class CopyError extends Data.TaggedError("CopyError")<{ readonly message: string }> {}

export interface CopyCommand {
  readonly keyspace: string | undefined
  readonly table: string
  readonly columns: ReadonlyArray<string> | undefined
  readonly direction: "TO" | "FROM"
  readonly file: string
  readonly options: ReadonlyMap<string, string>
}

const name = String.raw`"(?:[^"]|"")+"|\w+`
const syntax = new RegExp(
  String.raw`^copy\s+(?:(${name})\.)?(${name})\s*(?:\(([^)]*)\))?\s+(to|from)\s+'((?:[^']|'')*)'\s*(?:with\s+(.*))?$`,
  "is"
)

/** A name as typed: quoted keeps its case, bare is folded to lower case. */
const unquote = (n: string): string => (n.startsWith('"') ? n.slice(1, -1).replaceAll('""', '"') : n.toLowerCase())

/** Parses a COPY statement (without its `;`). */
export const parse = (statement: string): Either.Either<CopyCommand, CopyError> => {
  const m = syntax.exec(statement.trim())
  if (m === null) {
    return Either.left(new CopyError({ message: "COPY [ks.]table [(col, ...)] TO|FROM 'file' [WITH option = value [AND ...]]" }))
  }
  const options = new Map<string, string>()
  for (const part of (m[6] ?? "").split(/\s+and\s+/i).filter((p) => p.trim() !== "")) {
    const o = /^\s*(\w+)\s*=\s*(?:'((?:[^']|'')*)'|(\S+))\s*$/.exec(part)
    if (o === null) return Either.left(new CopyError({ message: `not an option: ${part.trim()}` }))
    options.set(o[1]!.toUpperCase(), o[2]?.replaceAll("''", "'") ?? o[3]!)
  }
  return Either.right({
    keyspace: m[1] === undefined ? undefined : unquote(m[1]),
    table: unquote(m[2]!),
    columns: m[3]?.split(",").map((c) => unquote(c.trim())),
    direction: m[4]!.toUpperCase() as "TO" | "FROM",
    file: m[5]!.replaceAll("''", "'"),
    options
  })
}

export interface CopyOptions {
  readonly consistency: Consistency.Consistency
  /** Where progress goes (stderr on a terminal), or nothing. */
  readonly progress: ((line: string) => void) | undefined
}

const flag = (options: ReadonlyMap<string, string>, key: string): boolean => /^(true|yes|1)$/i.test(options.get(key) ?? "false")

const positive = (options: ReadonlyMap<string, string>, key: string, fallback: number): Either.Either<number, CopyError> => {
  const v = options.get(key)
  if (v === undefined) return Either.right(fallback)
  const n = Number(v)
  return Number.isInteger(n) && n > 0 ? Either.right(n) : Either.left(new CopyError({ message: `${key} must be a positive integer, not ${v}` }))
}

const known = new Set(["HEADER", "DELIMITER", "PAGESIZE", "CONCURRENCY", "MAXATTEMPTS", "ERRFILE"])

/** Failures that say nothing about the row: the same insert may succeed when tried again. */
const transient = new Set([
  "ReadTimeout",
  "WriteTimeout",
  "Overloaded",
  "Unavailable",
  "IsBootstrapping",
  "RequestTimeout",
  "NoHostAvailable",
  "ConnectionError",
  "NoConnection",
  "BusyConnection",
  "Throttled"
])

/** A row sent and not yet settled. */
interface Pending {
  readonly record: CsvRecord
  readonly statement: Statement.Statement
}

/** The table's columns, in the order COPY writes them (partition key, clustering, the rest), or those named. */
const columnsOf = (md: Metadata.Metadata, c: CopyCommand, keyspace: string): Either.Either<ReadonlyArray<Metadata.ColumnMetadata>, CopyError> => {
  const t = Metadata.table(md, keyspace, c.table)
  if (t === undefined) return Either.left(new CopyError({ message: `table ${keyspace}.${c.table} not found` }))
  if (c.columns === undefined) return Either.right(t.columns)
  const out: Array<Metadata.ColumnMetadata> = []
  for (const n of c.columns) {
    const col = t.columns.find((x) => x.name === n)
    if (col === undefined) return Either.left(new CopyError({ message: `${keyspace}.${c.table} has no column ${n}` }))
    out.push(col)
  }
  return Either.right(out)
}

/** Calls `report` with a progress line at most every 500 ms; `done` clears it. */
const meter = (report: ((line: string) => void) | undefined, started: number) => {
  let last = 0
  const update = (rows: number, fraction?: number) => {
    const now = Date.now()
    if (report === undefined || now - last < 500) return
    last = now
    const rate = Math.round(rows / Math.max(0.001, (now - started) / 1000))
    const bar = fraction === undefined ? "" : `[${"#".repeat(Math.round(fraction * 30)).padEnd(30, ".")}] ${Math.floor(fraction * 100)}% `
    report(`${bar}${rows} rows; ${rate} rows/s`)
  }
  const done = () => {
    if (report !== undefined && last > 0) report("")
  }
  return { update, done }
}

const seconds = (ms: number) => (ms / 1000).toFixed(3)

/**
 * Writes text to a file stream, waiting when its buffer is full (constant memory for any size of table); a write
 * that fails (a full disk) fails the COPY.
 */
const writeTo = (out: fs.WriteStream, file: string, text: string) =>
  Effect.async<void, CopyError>((resume) => {
    let done = false
    const finish = (e?: Error | null) => {
      if (done) return
      done = true
      out.off("drain", onDrain)
      // A write after an earlier one failed reports the stream destroyed: the earlier error is the reason.
      const reason = out.errored ?? e
      resume(reason ? Effect.fail(new CopyError({ message: `${file}: ${reason.message}` })) : Effect.void)
    }
    const onDrain = () => finish()
    if (out.write(text, (e) => e && finish(e))) finish()
    else out.once("drain", onDrain)
  })

/** A file stream, open, closed with the scope. */
const opened = <S extends NodeJS.EventEmitter & { readonly closed: boolean }>(file: string, open: () => S, close: (s: S) => void) =>
  Effect.acquireRelease(
    Effect.async<S, CopyError>((resume) => {
      const s = open()
      s.once("error", (e: Error) => resume(Effect.fail(new CopyError({ message: `${file}: ${e.message}` }))))
      s.once("ready", () => {
        // From here on a failure reaches the caller through the write or read that meets it.
        s.on("error", () => {})
        resume(Effect.succeed(s))
      })
    }),
    (s) =>
      Effect.async<void>((resume) => {
        if (s.closed) return resume(Effect.void)
        s.once("close", () => resume(Effect.void))
        close(s)
      })
  )

/** Flushes and closes a written file: what it could not write (a full disk) fails the COPY here. */
const finishWrite = (out: fs.WriteStream, file: string) =>
  Effect.async<void, CopyError>((resume) => {
    out.end(() => {
      const reason = out.errored
      resume(reason ? Effect.fail(new CopyError({ message: `${file}: ${reason.message}` })) : Effect.void)
    })
  })

const openWrite = (file: string) => opened(file, () => fs.createWriteStream(file), (s) => void s.end())
const openRead = (file: string) =>
  opened(file, () => fs.createReadStream(file, { encoding: "utf8", highWaterMark: 256 * 1024 }), (s) => void s.destroy())

/** COPY ... TO: the table into a CSV file. Returns the summary line. */
export const copyTo = (
  c: CopyCommand,
  md: Metadata.Metadata,
  keyspace: string,
  options: CopyOptions
): Effect.Effect<string, CopyError | CqlError.RequestError, Session.Session> =>
  Effect.gen(function* () {
    const columns = yield* columnsOf(md, c, keyspace)
    const pageSize = yield* positive(c.options, "PAGESIZE", 1000)
    const delimiter = c.options.get("DELIMITER") ?? ","
    const session = yield* Session.Session
    const started = Date.now()
    const progress = meter(options.progress, started)
    const out = yield* openWrite(c.file)
    if (flag(c.options, "HEADER")) yield* writeTo(out, c.file, `${formatRecord(columns.map((col) => col.name), delimiter)}\n`)
    const query = `SELECT ${columns.map((col) => SchemaExport.quoteName(col.name)).join(", ")} FROM ${SchemaExport.quoteName(keyspace)}.${SchemaExport.quoteName(c.table)}`
    let rows = 0
    yield* session.stream(query, undefined, { pageSize, consistency: options.consistency }).pipe(
      Stream.runForEachChunk((page) =>
        Effect.suspend(() => {
          let text = ""
          for (const row of page) text += `${formatRecord(columns.map((col) => csvCell(row[col.name], col.type)), delimiter)}\n`
          rows += page.length
          progress.update(rows)
          return writeTo(out, c.file, text)
        })
      )
    )
    yield* finishWrite(out, c.file)
    progress.done()
    return `${rows} rows exported to 1 files in ${seconds(Date.now() - started)} seconds.\n`
  }).pipe(Effect.scoped)

/** COPY ... FROM: a CSV file into the table. Returns the summary line. */
export const copyFrom = (
  c: CopyCommand,
  md: Metadata.Metadata,
  keyspace: string,
  options: CopyOptions
): Effect.Effect<string, CopyError, Session.Session> =>
  Effect.gen(function* () {
    // With HEADER and no column list, the header names the columns (in any order); else the table's order.
    const header = flag(c.options, "HEADER")
    let columns = header && c.columns === undefined ? [] : yield* columnsOf(md, c, keyspace)
    const concurrency = yield* positive(c.options, "CONCURRENCY", 128)
    const maxAttempts = yield* positive(c.options, "MAXATTEMPTS", 5)
    const delimiter = c.options.get("DELIMITER") ?? ","
    const errFile = c.options.get("ERRFILE") ?? `import_${keyspace}_${c.table}.err`
    const size = yield* Effect.try({ try: () => fs.statSync(c.file).size, catch: (e) => new CopyError({ message: `${c.file}: ${(e as Error).message}` }) })
    const input = yield* openRead(c.file)
    const started = Date.now()
    const progress = meter(options.progress, started)

    // The error file is opened when the first row is rejected.
    let errors: fs.WriteStream | undefined
    let rejected = 0
    const reject = (line: number, reason: string, raw: string) => {
      rejected++
      if (errors === undefined) {
        errors = fs.createWriteStream(errFile)
        // A failure to write it is reported once the import is done (finishWrite).
        errors.on("error", () => {})
        void errors.write("line,error,record\n")
      }
      void errors.write(`${formatRecord([String(line), reason, raw])}\n`)
    }

    const insertFor = (cols: ReadonlyArray<Metadata.ColumnMetadata>) =>
      `INSERT INTO ${SchemaExport.quoteName(keyspace)}.${SchemaExport.quoteName(c.table)} (${cols
        .map((col) => SchemaExport.quoteName(col.name))
        .join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`
    let insert = insertFor(columns)
    const statementOptions = { prepare: true, idempotent: true, consistency: options.consistency }

    /** A record's values, or why it does not fit. */
    const paramsOf = (r: CsvRecord): Either.Either<Array<unknown>, string> => {
      if (r.fields.length !== columns.length) return Either.left(`${r.fields.length} fields, expected ${columns.length}`)
      const params: Array<unknown> = []
      for (let i = 0; i < columns.length; i++) {
        const f = r.fields[i]!
        const col = columns[i]!
        const v = !f.quoted && f.text === "" ? Either.right(null) : parseValue(f.text, col.type)
        if (Either.isLeft(v)) return Either.left(`column ${col.name}: ${v.left.message}`)
        params.push(v.right)
      }
      return Either.right(params)
    }

    // The records of the statements in flight, by BulkExecution's index (it numbers them in the order pulled).
    const inFlight = new Map<number, Pending>()
    let pulled = 0
    let bytes = 0
    let imported = 0
    const reader = new CsvReader(delimiter)
    let skipHeader = header
    const toStatements = (records: Array<CsvRecord>): Either.Either<Chunk.Chunk<Statement.Statement>, CopyError> => {
      const out: Array<Statement.Statement> = []
      for (const r of records) {
        if (skipHeader) {
          skipHeader = false
          if (c.columns === undefined) {
            const named = columnsOf(md, { ...c, columns: r.fields.map((f) => f.text.trim()) }, keyspace)
            if (Either.isLeft(named)) return Either.left(new CopyError({ message: `the header of ${c.file}: ${named.left.message}` }))
            columns = named.right
            insert = insertFor(columns)
          }
          continue
        }
        const params = paramsOf(r)
        if (Either.isLeft(params)) reject(r.line, params.left, r.raw)
        else {
          const statement = { query: insert, params: params.right, options: statementOptions }
          inFlight.set(pulled++, { record: r, statement })
          out.push(statement)
        }
      }
      return Either.right(Chunk.unsafeFromArray(out))
    }
    const statements = Stream.fromAsyncIterable(input as AsyncIterable<string>, (e) => new CopyError({ message: `${c.file}: ${String(e)}` })).pipe(
      Stream.mapEffect((text) => {
        bytes += Buffer.byteLength(text)
        return toStatements(reader.push(text))
      }),
      Stream.concat(Stream.suspend(() => Stream.fromEffect(toStatements(reader.end())))),
      Stream.flattenChunks
    )
    // A row the cluster could not take just now (a timeout, an overloaded node) is tried again in a later pass.
    let retries: Array<Pending> = []
    const settle = (p: Pending, result: Either.Either<unknown, CqlError.RequestError>, attempt: number) => {
      if (Either.isRight(result)) imported++
      else if (attempt < maxAttempts && transient.has(result.left._tag)) retries.push(p)
      else reject(p.record.line, `${result.left._tag}: ${result.left.message}`, p.record.raw)
      progress.update(imported, size === 0 ? 1 : bytes / size)
    }
    yield* BulkExecution.runStream(statements, {
      concurrency,
      onResult: (index, result) => {
        const p = inFlight.get(index)!
        inFlight.delete(index)
        settle(p, result, 1)
      }
    })
    for (let attempt = 2; attempt <= maxAttempts && retries.length > 0; attempt++) {
      const pass = retries
      retries = []
      yield* BulkExecution.run(
        pass.map((p) => p.statement),
        { concurrency, onResult: (index, result) => settle(pass[index]!, result, attempt) }
      )
    }
    progress.done()
    if (errors !== undefined) {
      yield* finishWrite(errors, errFile).pipe(
        Effect.mapError((e) => new CopyError({ message: `${imported} rows imported, ${rejected} rejected, but the error file failed: ${e.message}` }))
      )
    }
    const elapsed = Date.now() - started
    const rate = Math.round(imported / Math.max(0.001, elapsed / 1000))
    return (
      `${imported} rows imported from 1 files in ${seconds(elapsed)} seconds (${rate} rows/s).\n` +
      (rejected === 0 ? "" : `${rejected} rows rejected: see ${errFile}.\n`)
    )
  }).pipe(Effect.scoped)

/** Runs a COPY statement; the options it does not know are an error before anything is read or written. */
export const run = (
  statement: string,
  md: Metadata.Metadata,
  current: string | undefined,
  options: CopyOptions
): Effect.Effect<string, CopyError | CqlError.RequestError, Session.Session> =>
  Effect.gen(function* () {
    const c = yield* parse(statement)
    const unknown = [...c.options.keys()].filter((k) => !known.has(k))
    if (unknown.length > 0) return yield* new CopyError({ message: `unknown COPY options: ${unknown.join(", ")} (known: ${[...known].join(", ")})` })
    const keyspace = c.keyspace ?? current
    if (keyspace === undefined) return yield* new CopyError({ message: "no keyspace in use: COPY ks.table ..." })
    return yield* c.direction === "TO" ? copyTo(c, md, keyspace, options) : copyFrom(c, md, keyspace, options)
  })
