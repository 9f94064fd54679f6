/**
 * 10,000 key lookups: CqlResolver.findById (batched, deduplicated, one fiber for the batch's statements), through
 * Effect's request machinery (`lookup.execute` in `Effect.forEach` with batching) and without it
 * (`lookup.executeAll`), against the naive `Effect.forEach(keys, (k) => session.execute(...), { concurrency })`, on the stub target (a null server
 * in its own process, so the figures are the client's) or the Cassandra node.
 *
 *   node bench/build.mjs && node bench/.build/lookups.mjs [target=stub|cassandra] [rounds=5] [lookups=10000] [concurrency=256] [stub address=127.0.1.1]
 *
 * On Cassandra the rows are in a keyspace of their own, `bench_lookups` (made and loaded here, once).
 *
 * Two key sets: every key distinct, and the same number of lookups over a fifth as many keys (repeats, as a page
 * of rows referring to the same users would make). Prints, per method and key set, the median over rounds of the
 * wall time, the client's CPU time and the statements sent.
 */
import { BulkExecution, CqlResolver, Session } from "@effect-cql/driver"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { spawn } from "node:child_process"
import { cql, nameOf, nOf, scoreOf } from "./lib/spec.js"

const target = process.argv[2] ?? "stub"
const rounds = Number(process.argv[3] ?? 5)
const lookups = Number(process.argv[4] ?? 10_000)
const concurrency = Number(process.argv[5] ?? 256)
const host = target === "stub" ? (process.argv[6] ?? "127.0.1.1") : "127.0.0.1"

const startStub = async (): Promise<() => void> => {
  const child = spawn(process.execPath, ["bench/.build/stub-target.mjs", host, "9042", "100"], { stdio: ["ignore", "inherit", "pipe"] })
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the stub exited with ${code}`)))
    child.stderr.on("data", (d: Buffer) => d.toString().includes("listening") && resolve())
  })
  return () => child.kill("SIGTERM")
}

const stop = target === "stub" ? await startStub() : () => {}
const runtime = ManagedRuntime.make(Session.layer({ contactPoints: [host], localDataCenter: "dc1", defaultConsistency: "LOCAL_ONE" }))
const Row = Schema.Struct({ k: Schema.Number, name: Schema.String, n: Schema.BigIntFromSelf, score: Schema.Number })

try {
  const live = await runtime.runPromise(Session.Session)
  const select = target === "stub" ? cql.select : "SELECT k, name, n, score FROM bench_lookups.rows WHERE k = ?"
  if (target !== "stub") {
    await runtime.runPromise(live.execute("CREATE KEYSPACE IF NOT EXISTS bench_lookups WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"))
    await runtime.runPromise(live.execute("CREATE TABLE IF NOT EXISTS bench_lookups.rows (k int PRIMARY KEY, name text, n bigint, score double)"))
    function* rows() {
      for (let k = 0; k < lookups; k++) {
        yield { query: "INSERT INTO bench_lookups.rows (k, name, n, score) VALUES (?, ?, ?, ?)", params: [k, nameOf(k), nOf(k), scoreOf(k)] }
      }
    }
    await runtime.runPromise(BulkExecution.run(rows(), { concurrency: 128 }))
  }
  await runtime.runPromise(live.prepare(select))
  // The same Session, counting the statements that reach it.
  let statements = 0
  const session: Session.Session = {
    ...live,
    execute: ((statement: Parameters<typeof live.execute>[0]) => {
      statements++
      return live.execute(statement)
    }) as Session.Session["execute"],
    executeCallback: (statement, onExit) => {
      statements++
      live.executeCallback(statement, onExit)
    }
  }
  const users = await runtime.runPromise(
    CqlResolver.findById({ Id: Schema.Number, Result: Row, execute: (k) => ({ query: select, params: [k] }), concurrency }).pipe(
      Effect.provideService(Session.Session, session)
    )
  )
  const keySets = {
    distinct: Array.from({ length: lookups }, (_, i) => i),
    repeats: Array.from({ length: lookups }, () => Math.floor(Math.random() * (lookups / 5)))
  }
  const methods = {
    "Effect.forEach": (keys: ReadonlyArray<number>) =>
      Effect.forEach(keys, (k) => session.execute({ query: select, params: [k], rowSchema: Row }), { concurrency, discard: true }),
    // Each lookup through Effect's request machinery: a fiber and a Deferred per lookup, one batch for all.
    "findById execute, forEach batching": (keys: ReadonlyArray<number>) =>
      Effect.forEach(keys, users.execute, { batching: true, concurrency, discard: true }),
    // The same batch for the list in hand, without the request machinery.
    "findById executeAll": (keys: ReadonlyArray<number>) => users.executeAll(keys)
  }
  const samples = new Map<string, Array<{ wallMs: number; cpuMs: number; statements: number }>>()
  for (let r = 0; r < rounds; r++) {
    for (const [setName, keys] of Object.entries(keySets)) {
      const order = r % 2 === 0 ? Object.entries(methods) : Object.entries(methods).reverse()
      for (const [name, run] of order) {
        statements = 0
        const cpu0 = process.cpuUsage()
        const t0 = performance.now()
        await runtime.runPromise(run(keys))
        const wallMs = performance.now() - t0
        const cpu = process.cpuUsage(cpu0)
        const key = `${setName}\t${name}`
        samples.set(key, [...(samples.get(key) ?? []), { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, statements }])
      }
    }
  }
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  console.log(`${lookups} lookups, ${target}, concurrency ${concurrency}, ${rounds} rounds (medians)`)
  console.log(`| keys | method | statements | wall ms | client CPU ms |`)
  console.log(`| --- | --- | ---: | ---: | ---: |`)
  for (const [key, xs] of samples) {
    const [setName, name] = key.split("\t")
    console.log(`| ${setName} | ${name} | ${median(xs.map((x) => x.statements))} | ${median(xs.map((x) => x.wallMs)).toFixed(0)} | ${median(xs.map((x) => x.cpuMs)).toFixed(0)} |`)
  }
} finally {
  await runtime.dispose()
  stop()
}
