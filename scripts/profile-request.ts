/**
 * Drives the request path for profiling: prepared single-row SELECTs by key, N workers each awaiting its request
 * before sending the next; prints requests/s and the client's CPU per 1,000 requests after each round.
 *
 *   node scripts/profile-request.ts is not runnable as is: bundle it first (vite-node's per-module transform slows
 *   hot code), e.g.
 *   npx esbuild scripts/profile-request.ts --bundle --platform=node --format=esm --packages=external \
 *     --tsconfig=tsconfig.json --outfile=bench/.build/profile-request.mjs && node bench/build.mjs
 *   node [--cpu-prof] bench/.build/profile-request.mjs [total=100000] [concurrency=256] [target=stub|cassandra] [mode=promise|fiber|bulk] [rounds=3] [traced] [insert] [v4]
 *
 * target "stub": bench/.build/stub-target.mjs (the benchmark's null server) in a process of its own on 127.0.1.1,
 * so a profile is the client's alone; "cassandra": the node on 127.0.0.1. mode "promise": `executePromise` per
 * request (no fiber), as the benchmark's Promise runner calls it; "fiber": the workers are fibers of one program; "bulk": one BulkExecution.run over all the requests. "traced" provides a
 * tracer (Effect's own spans, collected by nobody) in place of the built-in one, so every request makes its span as
 * it would under an OpenTelemetry exporter. "insert": the benchmark's prepared INSERT of four columns in place of the SELECT; "v4": protocol v4.
 */
import { BulkExecution, Session } from "@effect-cql/driver"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { spawn } from "node:child_process"
import { cql, nameOf, nOf, scoreOf } from "../bench/lib/spec.js"

const total = Number(process.argv[2] ?? 100_000)
const concurrency = Number(process.argv[3] ?? 256)
const target = process.argv[4] ?? "stub"
const mode = process.argv[5] ?? "promise"
const rounds = Number(process.argv[6] ?? 3)
const traced = process.argv.slice(7).includes("traced")
const insert = process.argv.slice(7).includes("insert")
const v4 = process.argv.slice(7).includes("v4")

const STUB_HOST = "127.0.1.1"
const STUB_PORT = 9042
const query = insert ? cql.insert : cql.select
/** The values of request `i`, as the benchmark's runners bind them. */
const paramsOf = (i: number): ReadonlyArray<unknown> => (insert ? [i, nameOf(i), nOf(i), scoreOf(i)] : [i % 100])

const startStub = async (): Promise<() => void> => {
  const child = spawn(process.execPath, ["bench/.build/stub-target.mjs", STUB_HOST, String(STUB_PORT), "100"], {
    stdio: ["ignore", "inherit", "pipe"]
  })
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the stub exited with ${code}`)))
    child.stderr.on("data", (d: Buffer) => {
      if (d.toString().includes("listening")) resolve()
    })
  })
  return () => child.kill("SIGTERM")
}

const stop = target === "stub" ? await startStub() : () => {}
const builtIn = Effect.runSync(Effect.tracer)
const sessionLayer = Session.layer({
  contactPoints: [target === "stub" ? STUB_HOST : "127.0.0.1"],
  port: target === "stub" ? STUB_PORT : 9042,
  localDataCenter: "dc1",
  defaultConsistency: "LOCAL_ONE",
  ...(v4 ? { protocolVersion: 4 as const } : {})
})
const runtime = ManagedRuntime.make(
  traced ? Layer.provideMerge(sessionLayer, Layer.setTracer({ ...builtIn, span: (...args) => builtIn.span(...args) })) : sessionLayer
)
try {
  const s = await runtime.runPromise(Session.Session)
  if (target !== "stub") {
    await runtime.runPromise(s.execute("CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"))
    for (const table of ["rows", "writes"]) {
      await runtime.runPromise(s.execute(`CREATE TABLE IF NOT EXISTS bench.${table} (k int PRIMARY KEY, name text, n bigint, score double)`))
    }
  }
  await runtime.runPromise(s.prepare(query))
  const options = { prepare: true } as const

  const round = async (): Promise<void> => {
    let next = 0
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    if (mode === "bulk") {
      function* statements() {
        while (next < total) yield { query, params: paramsOf(next++), options }
      }
      await runtime.runPromise(BulkExecution.run(statements(), { concurrency }))
    } else if (mode === "fiber") {
      const worker = Effect.suspend(() => Effect.whileLoop({
        while: () => next < total,
        body: () => s.execute(query, paramsOf(next++), options),
        step: () => {}
      }))
      await runtime.runPromise(Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true }))
    } else {
      const worker = async () => {
        while (next < total) await s.executePromise(query, paramsOf(next++), options)
      }
      await Promise.all(Array.from({ length: concurrency }, worker))
    }
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    console.log(
      `${target} ${mode}${traced ? " traced" : ""}${insert ? " insert" : ""}${v4 ? " v4" : ""}: ${total} requests at concurrency ${concurrency}: ${Math.round(total / (ms / 1000))} req/s, ` +
        `client CPU ${((cpu.user + cpu.system) / 1000 / total * 1000).toFixed(1)} ms per 1k requests`
    )
  }
  for (let r = 0; r < rounds; r++) await round()
} finally {
  await runtime.dispose()
  stop()
}
