/**
 * `npm run chaos`: a real 3-node Cassandra 5.0 (scripts/cassandra.sh, 127.0.0.101-103), a load of 64 workers per
 * driver, and the same faults in the same order for each driver:
 *   pause a node (SIGSTOP) for 20 s, resume it, kill -9 another, restart it, then kill -9 the control connection's
 *   node once the restarted one is up (and restart it after the load, for the read-back).
 * It prints, per second, successes, failures by type, p99 and max latency and coordinators; afterwards it reads
 * every acknowledged write back at ALL and prints the shutdown time and the handles left in the worker process.
 *
 *   npm run chaos [-- --drivers effect-cql,datastax] [--pause 20] [--out bench/results/chaos.md] [--keep]
 */
import { Session } from "@effect-cql/driver"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { fork } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { type Cluster, clusterHandle, portAnswers, startCluster } from "../../scripts/harness.js"
import { type FromWorker, type Second, type ToWorker, valueOf } from "./protocol.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const { values: args } = parseArgs({
  options: {
    drivers: { type: "string", default: "effect-cql" },
    pause: { type: "string", default: "20" },
    base: { type: "string", default: "100" },
    out: { type: "string" },
    keep: { type: "boolean", default: false }
  }
})
const drivers = args.drivers.split(",").map((d) => d.trim())
for (const d of drivers) if (d !== "effect-cql" && d !== "datastax") throw new Error(`unknown driver ${d}: effect-cql or datastax`)
const pauseS = Number(args.pause)
const ipBase = Number(args.base)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Phase {
  readonly name: string
  readonly at: number
}

interface RunResult {
  readonly driver: string
  readonly seconds: ReadonlyArray<Second & { readonly phase: string }>
  readonly phases: ReadonlyArray<Phase>
  readonly acked: number
  readonly lost: number
  readonly backInUseMs: number | undefined
  readonly shutdownMs: number
  readonly handles: ReadonlyArray<string>
  readonly exited: boolean
}

const nodeOf = (address: string): number => Number(address.split(".")[3]) - ipBase

const runDriver = async (cluster: Cluster, driver: string): Promise<RunResult> => {
  const table = `kv_${driver.replace(/\W/g, "_")}_${Date.now()}`
  await setup.runPromise(Effect.flatMap(Session.Session, (s) => s.execute(`CREATE TABLE chaos.${table} (k int PRIMARY KEY, v text)`)))
  const child = fork(path.join(here, `${driver}.mjs`), [`${cluster.addresses[0]}:9042`, table], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const waiters: Array<(m: FromWorker) => boolean> = []
  const seconds: Array<Second & { phase: string }> = []
  const phases: Array<Phase> = []
  let phase = "before"
  const enter = (name: string) => {
    phase = name
    phases.push({ name, at: Date.now() })
    console.log(`  -- ${name}`)
  }
  const next = <T extends FromWorker["type"]>(type: T) =>
    new Promise<Extract<FromWorker, { type: T }>>((resolve) =>
      waiters.push((m) => {
        if (m.type !== type) return false
        resolve(m as Extract<FromWorker, { type: T }>)
        return true
      })
    )
  child.on("message", (m: FromWorker) => {
    if (m.type === "second") {
      seconds.push({ ...m, phase })
      const fails = Object.entries(m.failures).map(([k, n]) => `${k}=${n}`).join(" ")
      const coords = Object.entries(m.coordinators).sort().map(([h, n]) => `${h.split(".")[3]}:${n}`).join(" ")
      console.log(`  ${String(m.at).padStart(4)}s ${phase.padEnd(15)} ok ${String(m.ok).padStart(5)}  p99 ${m.p99Ms.toFixed(0).padStart(5)} ms  max ${m.maxMs.toFixed(0).padStart(6)} ms  [${coords}] ${fails}`)
    }
    const i = waiters.findIndex((w) => w(m))
    if (i >= 0) waiters.splice(i, 1)
  })
  const toWorker = (m: ToWorker) => child.send(m)

  console.log(`\n== ${driver}`)
  const ready = await next("ready")
  const control = ready.controlHost
  const others = cluster.addresses.filter((a) => a !== control)
  const paused = nodeOf(others[0]!)
  const killed = nodeOf(others[1]!)
  enter("pre-fault")
  await sleep(10_000)
  enter(`node${paused} paused`)
  await cluster.cassandra("pause", String(paused))
  await sleep(pauseS * 1000)
  await cluster.cassandra("resume", String(paused))
  enter(`node${paused} resumed`)
  await sleep(10_000)
  await cluster.cassandra("kill", String(killed))
  enter(`node${killed} killed`)
  await sleep(10_000)
  enter(`node${killed} restarting`)
  // start-node returns once the node answers CQL and its peers see it UP.
  const seen = next("seen")
  toWorker({ type: "watch", host: cluster.addresses[killed - 1]! })
  await cluster.cassandra("start-node", String(killed))
  const upAt = Date.now()
  enter(`node${killed} up`)
  const backInUse = await Promise.race([seen.then((s) => s.at - upAt), sleep(15_000).then(() => undefined)])
  await sleep(Math.max(0, 10_000 - (Date.now() - upAt)))
  const asked = next("control")
  toWorker({ type: "control?" })
  const controlNow = nodeOf((await asked).host)
  await cluster.cassandra("kill", String(controlNow))
  enter(`node${controlNow} killed (control)`)
  await sleep(15_000)
  const acked = next("acked")
  const closed = next("closed")
  toWorker({ type: "stop" })
  const keys = (await acked).keys
  const { shutdownMs, handles } = await closed
  const exitedInTime = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)])
  if (!exitedInTime) child.kill("SIGKILL")
  enter("load stopped")

  // Every node up again, so that ALL can be met.
  await cluster.cassandra("start-node", String(controlNow))
  const lost = await readBack(table, keys)
  return { driver, seconds, phases, acked: keys.length, lost, backInUseMs: backInUse, shutdownMs, handles, exited: exitedInTime }
}

/** Reads every acknowledged key at ALL; returns how many are missing or wrong. */
const readBack = (table: string, keys: ReadonlyArray<number>) =>
  setup.runPromise(
    Effect.gen(function* () {
      const session = yield* Session.Session
      let lost = 0
      yield* Effect.forEach(
        keys,
        (k) =>
          Effect.map(
            session.execute(`SELECT v FROM chaos.${table} WHERE k = ?`, [k], { prepare: true, idempotent: true, consistency: "ALL" }).pipe(
              Effect.retry({ times: 5 })
            ),
            (rs) => {
              if (rs.rows[0]?.["v"] !== valueOf(k)) lost++
            }
          ),
        { concurrency: 64, discard: true }
      )
      return lost
    })
  )

const mean = (xs: ReadonlyArray<number>) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)

const summarize = (r: RunResult) => {
  const pre = r.seconds.filter((s) => s.phase === "pre-fault").slice(3).map((s) => s.ok)
  const pause = r.seconds.filter((s) => s.phase.endsWith("paused")).map((s) => s.ok)
  const failures: Record<string, number> = {}
  for (const s of r.seconds) for (const [k, n] of Object.entries(s.failures)) failures[k] = (failures[k] ?? 0) + n
  const baseline = mean(pre)
  return {
    baseline,
    pauseMean: mean(pause),
    pauseMin: pause.length === 0 ? 0 : Math.min(...pause),
    pauseShare: baseline === 0 ? 0 : mean(pause) / baseline,
    zeroSeconds: r.seconds.filter((s) => s.ok === 0).length,
    failures
  }
}

const report = (results: ReadonlyArray<RunResult>): string => {
  const lines: Array<string> = []
  lines.push(`# Chaos run, ${new Date().toISOString()}`, "")
  lines.push(`3-node Cassandra 5.0 at 127.0.0.${ipBase + 1}-${ipBase + 3}, RF 3, 64 workers, QUORUM, idempotent prepared statements; pause ${pauseS} s.`, "")
  lines.push("| | " + results.map((r) => r.driver).join(" | ") + " |", "| --- | " + results.map(() => "---").join(" | ") + " |")
  const rows: Array<[string, (r: RunResult) => string]> = [
    ["pre-fault ops/s (mean)", (r) => summarize(r).baseline.toFixed(0)],
    ["during the pause: ops/s mean (share of pre-fault)", (r) => `${summarize(r).pauseMean.toFixed(0)} (${(summarize(r).pauseShare * 100).toFixed(0)}%)`],
    ["during the pause: lowest second", (r) => summarize(r).pauseMin.toFixed(0)],
    ["seconds with zero successes (whole run)", (r) => String(summarize(r).zeroSeconds)],
    ["failures (all statements idempotent)", (r) => Object.entries(summarize(r).failures).map(([k, n]) => `${k} ${n}`).join(", ") || "0"],
    ["acknowledged writes / lost at ALL", (r) => `${r.acked} / ${r.lost}`],
    ["restarted node back in use after it was up", (r) => (r.backInUseMs === undefined ? "not within 15 s" : `${(r.backInUseMs / 1000).toFixed(2)} s`)],
    ["shutdown", (r) => `${r.shutdownMs} ms`],
    ["handles left after shutdown", (r) => (r.handles.length === 0 ? "0" : r.handles.join(", ")) + (r.exited ? "" : " (process did not exit)")]
  ]
  for (const [label, f] of rows) lines.push(`| ${label} | ${results.map(f).join(" | ")} |`)
  for (const r of results) {
    lines.push("", `## ${r.driver}: per second`, "", "| s | phase | ok | p99 ms | max ms | coordinators | failures |", "| --- | --- | --- | --- | --- | --- | --- |")
    for (const s of r.seconds) {
      const coords = Object.entries(s.coordinators).sort().map(([h, n]) => `${h.split(".")[3]}:${n}`).join(" ")
      const fails = Object.entries(s.failures).map(([k, n]) => `${k} ${n}`).join(", ")
      lines.push(`| ${s.at} | ${s.phase} | ${s.ok} | ${s.p99Ms.toFixed(0)} | ${s.maxMs.toFixed(0)} | ${coords} | ${fails} |`)
    }
  }
  return lines.join("\n") + "\n"
}

console.log(`chaos: starting 3 nodes at 127.0.0.${ipBase + 1}-${ipBase + 3}`)
const cluster = (await portAnswers(`127.0.0.${ipBase + 1}`, 9042)) ? clusterHandle({ ipBase, nodes: 3 }) : await startCluster({ ipBase, nodes: 3 })
const setup = ManagedRuntime.make(Session.layer({ contactPoints: cluster.addresses.map((a) => `${a}:9042`), localDataCenter: "dc1" }))
try {
  await setup.runPromise(
    Effect.flatMap(Session.Session, (s) => s.execute("CREATE KEYSPACE IF NOT EXISTS chaos WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}"))
  )
  const results: Array<RunResult> = []
  for (const d of drivers) results.push(await runDriver(cluster, d))
  const text = report(results)
  console.log("\n" + text)
  if (args.out !== undefined) fs.writeFileSync(args.out, text)
} finally {
  await setup.dispose()
  if (!args.keep) await cluster.stop()
}
