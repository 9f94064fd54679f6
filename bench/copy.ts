/**
 * `npm run bench:copy`: the shell's COPY against the same load done with the driver directly, on one real node
 * (127.0.0.1, started by scripts/cassandra.sh if nothing answers there). Each run is a fresh process:
 *
 *   COPY FROM   `effect-cql shell -e "COPY ... FROM 'file.csv'"` (read, CSV, parse, prepared INSERTs, 128 in flight)
 *   direct      the same rows, already in memory, as prepared INSERTs through BulkExecution at 128 in flight
 *   COPY TO     `effect-cql shell -e "COPY ... TO 'file.csv'"` (page by page, formatted, written)
 *   direct      the same table streamed through `session.stream`, rows counted and dropped
 *
 * It prints rows/s and peak RSS of each (the shell's peak read from /proc while it runs).
 *
 *   npm run bench:copy [-- --n 200000]
 */
import { BulkExecution, Session } from "@effect-cql/driver"
import { DataType, Uuid } from "@effect-cql/protocol"
import { Effect, Stream } from "effect"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { formatRecord } from "../packages/cli/src/Csv.js"
import { csvCell } from "../packages/cli/src/ResultFormat.js"
import { portAnswers, startCluster } from "../scripts/harness.js"

const { values: args } = parseArgs({ options: { n: { type: "string", default: "200000" }, mode: { type: "string" } } })
const n = Number(args.n)
const ks = "cli_bench"
// Run as bench/.build/copy.mjs (bench/build.mjs bundles it): the repository is two levels up.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const csv = path.join(os.tmpdir(), `cli-bench-${n}.csv`)

const columns = [
  ["id", DataType.native.int],
  ["name", DataType.native.varchar],
  ["n", DataType.native.bigint],
  ["x", DataType.native.double],
  ["at", DataType.native.timestamp],
  ["u", DataType.native.uuid],
  ["tags", { kind: "list", element: DataType.native.varchar } as DataType.DataType]
] as const

const rowOf = (i: number): ReadonlyArray<unknown> => [
  i,
  `name ${i}, "q"`,
  BigInt(i) * 1_000_003n,
  i / 7,
  new Date(1_700_000_000_000 + i * 1000),
  Uuid.random(),
  [`t${i}`, "x"]
]

const layer = Session.layer({ contactPoints: ["127.0.0.1"] })

interface Figures {
  readonly rows: number
  readonly seconds: number
  readonly peakRssMb: number
}

/** The driver-direct loads, in this (child) process. */
const direct = async (mode: "direct-from" | "direct-to"): Promise<Figures> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const s = yield* Session.Session
      const started = performance.now()
      let rows = 0
      if (mode === "direct-from") {
        const insert = `INSERT INTO ${ks}.direct (${columns.map((c) => c[0]).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`
        function* statements() {
          for (let i = 0; i < n; i++) yield { query: insert, params: rowOf(i), options: { prepare: true, idempotent: true, consistency: "ONE" as const } }
        }
        const summary = yield* BulkExecution.run(statements(), { concurrency: 128 })
        rows = summary.succeeded
      } else {
        rows = yield* Stream.runCount(s.stream(`SELECT * FROM ${ks}.copied`, undefined, { pageSize: 1000, consistency: "ONE" }))
      }
      return { rows, seconds: (performance.now() - started) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024 }
    }).pipe(Effect.provide(layer))
  )

/**
 * The shell's COPY in a child process: rows and seconds from its own summary line (the COPY alone, as the direct
 * loads time theirs after connecting), and its peak RSS polled from /proc.
 */
const shell = (statement: string): Promise<Figures> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, "packages/cli/bin/effect-cql.mjs"), "shell", "-e", statement])
    let out = ""
    let peakKb = 0
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d))
    const poll = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))
        if (hwm !== null) peakKb = Math.max(peakKb, Number(hwm[1]))
      } catch {
        // The process has just ended: the last reading stands.
      }
    }, 50)
    child.on("close", (code) => {
      clearInterval(poll)
      if (code !== 0) return reject(new Error(`the shell failed (${code}): ${out}`))
      const m = /^(\d+) rows .* in ([\d.]+) seconds/.exec(out)
      if (m === null) return reject(new Error(`no summary line in: ${out}`))
      resolve({ rows: Number(m[1]), seconds: Number(m[2]), peakRssMb: peakKb / 1024 })
    })
  })

const child = (mode: string): Figures =>
  JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--mode", mode, "--n", String(n)], { encoding: "utf8" }))

const main = async () => {
  if (!(await portAnswers("127.0.0.1", 9042))) await startCluster({ ipBase: 0, nodes: 1 })
  await Effect.runPromise(
    Effect.gen(function* () {
      const s = yield* Session.Session
      yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
      const defs = "id int PRIMARY KEY, name text, n bigint, x double, at timestamp, u uuid, tags list<text>"
      for (const t of ["copied", "direct"]) {
        yield* s.execute(`DROP TABLE IF EXISTS ${ks}.${t}`)
        yield* s.execute(`CREATE TABLE ${ks}.${t} (${defs})`)
      }
    }).pipe(Effect.provide(layer))
  )
  const lines: Array<string> = []
  for (let i = 0; i < n; i++) {
    const row = rowOf(i)
    lines.push(formatRecord(columns.map(([, type], k) => csvCell(row[k], type))))
  }
  fs.writeFileSync(csv, `${lines.join("\n")}\n`)
  const bytes = fs.statSync(csv).size

  const cols = columns.map((c) => c[0]).join(", ")
  const results: Array<[string, Figures]> = []
  results.push(["COPY FROM (shell)", await shell(`COPY ${ks}.copied (${cols}) FROM '${csv}' WITH CONCURRENCY = 128`)])
  results.push(["INSERT via BulkExecution (driver)", child("direct-from")])
  const exported = path.join(os.tmpdir(), `cli-bench-${n}-out.csv`)
  results.push(["COPY TO (shell)", await shell(`COPY ${ks}.copied (${cols}) TO '${exported}' WITH PAGESIZE = 1000`)])
  results.push(["session.stream (driver)", child("direct-to")])

  console.log(`\n${n} rows (${(bytes / 2 ** 20).toFixed(1)} MB of CSV), 7 columns, one Cassandra 5.0 node on the same 2 cores\n`)
  console.log("| load | rows | seconds | rows/s | peak RSS |")
  console.log("| --- | --- | --- | --- | --- |")
  for (const [name, f] of results) {
    console.log(`| ${name} | ${f.rows} | ${f.seconds.toFixed(2)} | ${Math.round(f.rows / f.seconds)} | ${Math.round(f.peakRssMb)} MB |`)
  }
  fs.rmSync(csv)
  fs.rmSync(exported)
}

if (args.mode === "direct-from" || args.mode === "direct-to") {
  direct(args.mode).then((f) => process.stdout.write(JSON.stringify(f)))
} else {
  main().catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
}
