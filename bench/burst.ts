/**
 * `npm run bench:burst`: 100,000 prepared INSERTs through `Effect.forEach` with `concurrency: "unbounded"` against
 * one real Cassandra node (127.0.0.1, started by scripts/cassandra.sh if nothing answers there), with the Session's
 * default throttler and with `throttler: "none"`, each in a fresh process; and, for scale, the same `forEach` over
 * fibers that only sleep 1 ms (what the fibers alone cost). It prints the errors by type, the time and the peak RSS.
 *
 *   npm run bench:burst [-- --n 100000]
 */
import { Session } from "@effect-cql/driver"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { portAnswers, startCluster } from "../scripts/harness.js"

const { values: args } = parseArgs({ options: { n: { type: "string", default: "100000" }, mode: { type: "string" } } })
const n = Number(args.n)

interface Outcome {
  readonly mode: string
  readonly n: number
  readonly ok: number
  readonly errors: Record<string, number>
  readonly seconds: number
  readonly rssBeforeMb: number
  readonly peakRssMb: number
}

/** The fibers alone: the same forEach, each fiber sleeping 1 ms instead of sending a request. */
const fibersOnly = async (): Promise<Outcome> => {
  const rssBefore = process.memoryUsage.rss()
  const started = performance.now()
  await Effect.runPromise(Effect.forEach(Array.from({ length: n }, (_, k) => k), () => Effect.sleep("1 millis"), { concurrency: "unbounded", discard: true }))
  const seconds = (performance.now() - started) / 1000
  return { mode: "fibers", n, ok: n, errors: {}, seconds, rssBeforeMb: rssBefore / 2 ** 20, peakRssMb: process.resourceUsage().maxRSS / 1024 }
}

/** One burst in this process. */
const burst = async (mode: "default" | "none"): Promise<Outcome> => {
  const runtime = ManagedRuntime.make(
    Session.layer({ contactPoints: ["127.0.0.1"], localDataCenter: "dc1", ...(mode === "none" ? { throttler: "none" as const } : {}) })
  )
  try {
    return await runtime.runPromise(
      Effect.gen(function* () {
        const session = yield* Session.Session
        yield* session.execute("CREATE KEYSPACE IF NOT EXISTS burst WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        yield* session.execute("CREATE TABLE IF NOT EXISTS burst.kv (k int PRIMARY KEY, v text)")
        const insert = "INSERT INTO burst.kv (k, v) VALUES (?, ?)"
        yield* session.prepare(insert)
        const errors: Record<string, number> = {}
        let ok = 0
        const rssBefore = process.memoryUsage.rss()
        const started = performance.now()
        yield* Effect.forEach(
          Array.from({ length: n }, (_, k) => k),
          (k) =>
            session.execute(insert, [k, `v${k}`], { prepare: true }).pipe(
              Effect.match({
                onFailure: (e) => void (errors[e._tag] = (errors[e._tag] ?? 0) + 1),
                onSuccess: () => void ok++
              })
            ),
          { concurrency: "unbounded", discard: true }
        )
        const seconds = (performance.now() - started) / 1000
        return { mode, n, ok, errors, seconds, rssBeforeMb: rssBefore / 2 ** 20, peakRssMb: process.resourceUsage().maxRSS / 1024 }
      })
    )
  } finally {
    await runtime.dispose()
  }
}

if (args.mode === "default" || args.mode === "none" || args.mode === "fibers") {
  console.log(JSON.stringify(args.mode === "fibers" ? await fibersOnly() : await burst(args.mode)))
} else {
  const cluster = (await portAnswers("127.0.0.1", 9042)) ? undefined : await startCluster({ ipBase: 0, nodes: 1 })
  try {
    const self = fileURLToPath(import.meta.url)
    const rows: Array<Outcome> = []
    for (const mode of ["default", "none", "fibers"]) {
      const out = execFileSync(process.execPath, [self, "--mode", mode, "--n", String(n)], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
      rows.push(JSON.parse(out.trim().split("\n").at(-1)!) as Outcome)
    }
    console.log(`\n${n.toLocaleString("en")} INSERTs, Effect.forEach with concurrency "unbounded", one node at 127.0.0.1\n`)
    console.log("| each fiber | succeeded | errors | time | ops/s | RSS before | peak RSS |")
    console.log("| --- | --- | --- | --- | --- | --- | --- |")
    for (const r of rows) {
      const errors = Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(", ") || "0"
      const label = { default: "INSERT, default throttler (1,024 in flight)", none: 'INSERT, `throttler: "none"`', fibers: "sleeps 1 ms (no request)" }[r.mode]
      console.log(`| ${label} | ${r.ok} | ${errors} | ${r.seconds.toFixed(1)} s | ${(r.ok / r.seconds).toFixed(0)} | ${r.rssBeforeMb.toFixed(0)} MB | ${r.peakRssMb.toFixed(0)} MB |`)
    }
  } finally {
    await cluster?.stop()
  }
}
