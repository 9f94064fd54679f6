/**
 * The benchmark suite (`npm run bench`; options: `npm run bench -- --help`). Each driver runs in its own process
 * against the same target; drivers take turns within each round (the order rotates every round) and the medians
 * over rounds are reported in bench/results/latest.{json,md,svg}. Every sample is kept in bench/results/tmp/.
 */
import { spawn, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseConfig, targets, usage } from "./lib/config.js"
import type { Config, DriverName } from "./lib/config.js"
import { aggregate, markdown, targetChecks } from "./lib/report.js"
import type { Sample } from "./lib/report.js"
import { setup } from "./lib/setup.js"
import { RESULT_PREFIX } from "./lib/spec.js"
import type { CellResult, RunSpec, Target, Workload } from "./lib/spec.js"
import { throughputChart } from "./lib/svg.js"

/** bench/ (this file runs from bench/.build/). */
const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const resultsDir = path.join(benchDir, "results")
const venv = path.join(benchDir, ".venv")
const venvPython = path.join(venv, "bin", "python")
/** Pinned: the newest release, with prebuilt manylinux wheels (libev bundled) for CPython 3.10+. */
const PYTHON_DRIVER = "cassandra-driver==3.30.1"

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)

/** The bundle of each JavaScript runner (bench/.build/); the Python runner is a script of bench/runners/. */
const bundles: Readonly<Record<Exclude<DriverName, "python-driver">, string>> = {
  "effect-cql": "runners/effect-cql.mjs",
  // The same runner; it reads the driver name and calls the Session through executePromise.
  "effect-cql-promise": "runners/effect-cql.mjs",
  // The same runner again: Effect.forEach over the operations, and BulkExecution (one fiber for all of them).
  "effect-cql-foreach": "runners/effect-cql.mjs",
  "effect-cql-bulk": "runners/effect-cql.mjs",
  "nodejs-driver": "runners/datastax.mjs",
  "raw-v4": "runners/raw.mjs"
}

/** Makes bench/.venv with the pinned Python driver, from wheels only (nothing compiled), unless it is there. */
const ensureVenv = (): string => {
  const check = () =>
    spawnSync(venvPython, ["-c", "import cassandra, sys; print(cassandra.__version__, sys.version.split()[0])"], { encoding: "utf8" })
  let probe = fs.existsSync(venvPython) ? check() : undefined
  if (probe?.status !== 0 || !probe.stdout.startsWith(PYTHON_DRIVER.split("==")[1]!)) {
    log(`installing ${PYTHON_DRIVER} into bench/.venv`)
    const python = process.env["PYTHON"] ?? "python3"
    const steps: Array<[string, Array<string>]> = [
      [python, ["-m", "venv", venv]],
      [venvPython, ["-m", "pip", "install", "--quiet", "--only-binary=:all:", PYTHON_DRIVER]]
    ]
    for (const [cmd, args] of steps) {
      const r = spawnSync(cmd, args, { stdio: "inherit" })
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed`)
    }
    probe = check()
    if (probe.status !== 0) throw new Error(`the Python driver does not import: ${probe.stderr}`)
  }
  return probe.stdout.trim()
}

/** Starts bench/stub-target.ts in its own process; resolves with it once it answers (undefined if it never does). */
const startStub = async (t: Target, rows: number): Promise<ChildProcess | undefined> => {
  const script = path.join(benchDir, ".build/stub-target.mjs")
  const child = spawn(process.execPath, [script, t.host, String(t.port), String(rows)], { stdio: ["ignore", "ignore", "inherit"] })
  for (let i = 0; i < 60 && child.exitCode === null; i++) {
    if (await reachable(t)) return child
    await new Promise((r) => setTimeout(r, 500))
  }
  child.kill("SIGTERM")
  return undefined
}

const reachable = (t: Target): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host: t.host, port: t.port })
    s.setTimeout(2000)
    s.once("connect", () => {
      s.destroy()
      resolve(true)
    })
    s.once("error", () => resolve(false))
    s.once("timeout", () => {
      s.destroy()
      resolve(false)
    })
  })

const BASELINE = "@baseline"

/** A Node.js to run the JavaScript runners on, and the suffix of their labels (none without `--node`). */
interface NodeBinary {
  readonly path: string
  readonly suffix: string
}

/**
 * The Nodes of `--node`: this one by its major version, and 24 from scripts/node24.sh (installed on first use).
 * The stub target stays on this Node, so every runner measures against the same server.
 */
const nodeBinaries = (majors: ReadonlyArray<number>): Array<NodeBinary> => {
  if (majors.length === 0) return [{ path: process.execPath, suffix: "" }]
  const own = Number(process.versions.node.split(".")[0])
  return majors.map((major) => {
    if (major === own) return { path: process.execPath, suffix: `@node${major}` }
    if (major !== 24) throw new Error(`--node ${major}: ${own} (this Node) or 24 (scripts/node24.sh) only`)
    const r = spawnSync("bash", [path.join(benchDir, "../scripts/node24.sh"), "node", "-p", "process.execPath"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
    if (r.status !== 0) throw new Error("--node 24: scripts/node24.sh could not provide Node 24 (see above)")
    return { path: r.stdout.trim(), suffix: "@node24" }
  })
}

/** One runner of the run: its label in the results, the driver it runs and the command that starts it. */
interface Runner {
  readonly label: string
  readonly driver: DriverName
  readonly cmd: string
  readonly args: ReadonlyArray<string>
}

/**
 * The runners of a run: each chosen driver on each Node of `--node` (the Python driver once), then with
 * `--baseline` the baseline checkout's effect-cql runners, labelled `<driver>@baseline`.
 */
const runners = (config: Config, nodes: ReadonlyArray<NodeBinary>): Array<Runner> => {
  const out: Array<Runner> = []
  const add = (driver: DriverName, buildDir: string, tag: string) => {
    if (driver === "python-driver") {
      out.push({ label: driver, driver, cmd: venvPython, args: [path.join(benchDir, "runners/python_driver.py")] })
      return
    }
    const bundle = path.join(buildDir, bundles[driver])
    if (!fs.existsSync(bundle)) throw new Error(`no ${bundle} (run node bench/build.mjs in that checkout)`)
    for (const n of nodes) out.push({ label: driver + tag + n.suffix, driver, cmd: n.path, args: ["--expose-gc", bundle] })
  }
  for (const d of config.drivers) add(d, path.join(benchDir, ".build"), "")
  if (config.baseline !== undefined) {
    const dir = path.join(path.resolve(config.baseline), "bench/.build")
    for (const d of config.drivers) if (d.startsWith("effect-cql")) add(d, dir, BASELINE)
  }
  return out
}

/** Runs one runner process; resolves with its RESULT lines (possibly fewer than asked, if it failed). */
const runProcess = (runner: Runner, spec: RunSpec): Promise<Array<CellResult>> =>
  new Promise((resolve) => {
    const driver = runner.label
    const child = spawn(runner.cmd, [...runner.args, JSON.stringify(spec)], { stdio: ["ignore", "pipe", "pipe"] })
    const results: Array<CellResult> = []
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d
      let nl: number
      while ((nl = stdout.indexOf("\n")) >= 0) {
        const line = stdout.slice(0, nl)
        stdout = stdout.slice(nl + 1)
        if (line.startsWith(RESULT_PREFIX)) results.push(JSON.parse(line.slice(RESULT_PREFIX.length)) as CellResult)
      }
    })
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-4000)
    })
    // Each cell is bounded by its warm-up and duration; the margin covers start-up, draining and a slow server.
    // Streaming drains longer: at 1,024 scans in flight, 1,024 pages of `pageSize` rows are on their way.
    const margin = spec.workload === "stream" ? 60 + (spec.concurrencies.length * spec.pageSize) / 100 : 60
    const limitMs = (spec.concurrencies.length * (spec.warmupS + spec.durationS) * 2 + margin) * 1000
    const timer = setTimeout(() => {
      log(`${driver} ${spec.workload}: no end after ${limitMs / 1000} s, killing it`)
      child.kill("SIGKILL")
    }, limitMs)
    child.on("close", (code) => {
      clearTimeout(timer)
      if (code !== 0 || results.length < spec.concurrencies.length) {
        log(`${driver} ${spec.target.name} ${spec.workload}: exit ${code}, ${results.length}/${spec.concurrencies.length} results`)
        if (stderr.length > 0) log(stderr.trim().split("\n").slice(-8).join("\n"))
      }
      resolve(results)
    })
  })

const rotate = <A>(xs: ReadonlyArray<A>, by: number): Array<A> => xs.map((_, i) => xs[(i + by) % xs.length]!)

const git = (...args: Array<string>): string =>
  spawnSync("git", args, { cwd: benchDir, encoding: "utf8" }).stdout.trim()

const main = async () => {
  const argv = process.argv.slice(2)
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage)
    return
  }
  const config: Config = parseConfig(argv, process.env)
  const started = new Date()
  const nodes = nodeBinaries(config.nodes)
  const versions: Array<string> = [
    config.nodes.length === 0
      ? `Node.js ${process.version}`
      : `Node.js ${process.version} (orchestrator, stub target), ` +
        nodes.map((n) => `${n.suffix.slice(1)}: ${spawnSync(n.path, ["--version"], { encoding: "utf8" }).stdout.trim()}`).join(", ")
  ]
  const ndVersion = (JSON.parse(fs.readFileSync(path.join(benchDir, "../node_modules/cassandra-driver/package.json"), "utf8")) as { version: string }).version
  if (config.drivers.includes("nodejs-driver")) versions.push(`cassandra-driver (npm) ${ndVersion}`)
  if (config.drivers.includes("python-driver")) {
    const [py, cpython] = ensureVenv().split(" ")
    versions.push(`cassandra-driver (PyPI) ${py} on CPython ${cpython}, reactor ${process.env["BENCH_PY_REACTOR"] ?? "libev"}`)
  }

  const active: Array<Target> = []
  const servers: Array<string> = []
  let stub: ChildProcess | undefined
  for (const name of config.targets) {
    const t = targets[name]!
    if (name === "stub" && !(await reachable(t))) stub = await startStub(t, config.rows)
    if (!(await reachable(t))) {
      log(`target ${name} (${t.host}:${t.port}) does not answer: skipped` +
        (name === "cassandra" ? " (start it with `bash scripts/cassandra.sh start 1`)" : ""))
      continue
    }
    if (name === "cassandra") {
      const release = await setup(t, config.rows, log)
      servers.push(`Cassandra ${release} on ${t.host}:${t.port}, one node, on this machine`)
    } else {
      servers.push(`the stub null server (packages/testing StubServer) on ${t.host}:${t.port}, in its own process`)
    }
    active.push(t)
  }
  if (active.length === 0) throw new Error("no target answers")
  process.on("exit", () => stub?.kill("SIGTERM"))

  const load0 = os.loadavg()
  const samples: Array<Sample> = []
  const all = runners(config, nodes)
  const total = config.rounds * active.length * config.workloads.length * all.length
  let n = 0
  for (let round = 0; round < config.rounds; round++) {
    for (const target of active) {
      for (const workload of config.workloads) {
        for (const runner of rotate(all, round)) {
          n++
          const spec: RunSpec = {
            // A runner is told its plain driver name: the effect-cql one picks its calling style from it.
            driver: runner.driver,
            target,
            workload: workload as Workload,
            concurrencies: config.concurrencies,
            warmupS: config.warmupS,
            durationS: config.durationS,
            maxOps: config.maxOps,
            pageSize: config.pageSize,
            rows: config.rows
          }
          const results = await runProcess(runner, spec)
          for (const r of results) samples.push({ ...r, driver: runner.label, target: target.name, round })
          log(`${n}/${total} round ${round + 1} ${target.name} ${workload} ${runner.label}: ` +
            results.map((r) => `${r.concurrency}:${Math.round(r.opsPerSec)}/s ${r.cpuMsPer1kOps.toFixed(2)}cpu-ms/1k`).join(" "))
        }
      }
    }
  }
  const load1 = os.loadavg()

  const records = aggregate(samples, {
    drivers: all.map((r) => r.label),
    targets: active.map((t) => t.name),
    workloads: config.workloads,
    concurrencies: config.concurrencies
  })
  const cpus = os.cpus()
  const commit = git("rev-parse", "--short", "HEAD")
  const dirty = git("status", "--porcelain").length > 0
  const conditions = [
    `${started.toISOString()}, commit ${commit}${dirty ? " (work tree with uncommitted changes)" : ""}` +
      (config.baseline === undefined
        ? ""
        : `; \`@baseline\` drivers: commit ${spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: config.baseline, encoding: "utf8" }).stdout.trim()} (${config.baseline})`),
    `${cpus.length} x ${cpus[0]?.model ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}; ` +
      `the client processes and the server share these cores`,
    `load average (1 min) ${load0[0]!.toFixed(2)} at the start, ${load1[0]!.toFixed(2)} at the end`,
    ...servers,
    versions.join("; "),
    `${config.rounds} round(s), drivers interleaved (order rotated each round), medians reported; per cell ` +
      `${config.warmupS} s warm-up, then up to ${config.durationS} s or ${config.maxOps.toLocaleString("en-US")} ops`,
    `bench.rows holds ${config.rows.toLocaleString("en-US")} rows; stream page size ${config.pageSize}; consistency LOCAL_ONE`,
    `CPU = user + system time of the driver's process per 1,000 ops; peak RSS = its VmHWM during the measured window`
  ]
  fs.mkdirSync(path.join(resultsDir, "tmp"), { recursive: true })
  const stamp = started.toISOString().replace(/[:.]/g, "-")
  fs.writeFileSync(path.join(resultsDir, "tmp", `samples-${stamp}.json`), JSON.stringify(samples, null, 1))
  fs.writeFileSync(
    path.join(resultsDir, "latest.json"),
    JSON.stringify({ generatedAt: started.toISOString(), conditions, config, records }, null, 2) + "\n"
  )
  fs.writeFileSync(path.join(resultsDir, "latest.md"), markdown(records, conditions))
  fs.writeFileSync(
    path.join(resultsDir, "latest.svg"),
    throughputChart(records, `effect-cql benchmark, ${started.toISOString().slice(0, 10)}: median throughput`)
  )
  for (const check of targetChecks(records)) log(check)
  log(`wrote bench/results/latest.{json,md,svg} (${records.length} records from ${samples.length} samples)`)
  stub?.kill("SIGTERM")
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.message : String(e))
  process.exit(1)
})
