/**
 * The suite's size and selection, from flags (`--rounds 3`, `--drivers a,b`) or environment variables
 * (`BENCH_ROUNDS=3`, `BENCH_DRIVERS=a,b`); flags win. `--quick` / `BENCH_QUICK=1` starts from the quick preset.
 */
import { workloads } from "./spec.js"
import type { Target, Workload } from "./spec.js"

export const driverNames = [
  "effect-cql",
  "effect-cql-promise",
  "effect-cql-foreach",
  "effect-cql-bulk",
  "nodejs-driver",
  "python-driver",
  "raw-v4"
] as const
export type DriverName = (typeof driverNames)[number]
/** Without --drivers: every client once (effect-cql-foreach and effect-cql-bulk are the bulk-execution comparison). */
const defaultDrivers: ReadonlyArray<DriverName> = ["effect-cql", "effect-cql-promise", "nodejs-driver", "python-driver", "raw-v4"]

export const targets: Readonly<Record<string, Target>> = {
  cassandra: { name: "cassandra", host: "127.0.0.1", port: 9042 },
  // packages/testing StubServer's default address, apart from the real nodes on 127.0.0.x.
  stub: { name: "stub", host: "127.0.1.1", port: 9042 }
}

export interface Config {
  readonly rounds: number
  readonly warmupS: number
  readonly durationS: number
  readonly maxOps: number
  readonly rows: number
  readonly pageSize: number
  readonly drivers: ReadonlyArray<DriverName>
  readonly targets: ReadonlyArray<string>
  readonly workloads: ReadonlyArray<Workload>
  readonly concurrencies: ReadonlyArray<number>
  readonly quick: boolean
  /**
   * A checkout of another commit whose bench is built (`node bench/build.mjs` there): its effect-cql runners run in
   * the same rounds as `effect-cql@baseline` and `effect-cql-promise@baseline`, so before and after share a run.
   */
  readonly baseline: string | undefined
  /**
   * The Node.js major versions to run the JavaScript runners on (`--node 24`, `--node 20,24`), each labelled
   * `<driver>@node<major>`; empty: the orchestrator's own Node, unlabelled.
   */
  readonly nodes: ReadonlyArray<number>
}

// Quick leaves out 1,024 in flight: streaming there has 1,024 pages of 5,000 rows to drain after each window.
const presets = {
  quick: { rounds: 2, warmupS: 0.25, durationS: 1, concurrency: "1,64,256" },
  full: { rounds: 3, warmupS: 2, durationS: 10, concurrency: "1,64,256,1024" }
} as const

export const usage = `npm run bench -- [options]   (or the BENCH_* variables)
  --quick                 quick preset: 2 rounds, 0.25 s warm-up, 1 s per cell, concurrency 1,64,256
                          (default: 3 rounds, 2 s warm-up, 10 s per cell, concurrency 1,64,256,1024)
  --rounds N              interleaved rounds; medians are reported             BENCH_ROUNDS
  --warmup S              unmeasured seconds before each cell                  BENCH_WARMUP
  --duration S            measured seconds per cell (upper bound)              BENCH_DURATION
  --max-ops N             operations per cell (upper bound; rows for stream)   BENCH_MAX_OPS
  --drivers a,b           ${driverNames.join(",")}   BENCH_DRIVERS
  --targets a,b           ${Object.keys(targets).join(",")}                     BENCH_TARGETS
  --workloads a,b         ${workloads.join(",")}             BENCH_WORKLOADS
  --concurrency 1,64      requests in flight                                   BENCH_CONCURRENCY
  --rows N                rows in bench.rows (default 1000000)                 BENCH_ROWS
  --page-size N           page size of the stream workload (default 5000)      BENCH_PAGE_SIZE
  --baseline DIR          also the effect-cql runners of DIR, another commit's BENCH_BASELINE
                          checkout with its bench built (node bench/build.mjs)
  --node 24               run the JavaScript runners on Node 24 (scripts/node24.sh) BENCH_NODE
                          or on several, interleaved: --node 20,24
  BENCH_PY_REACTOR=asyncio  the Python driver's asyncio reactor instead of libev`

const flagToEnv = (flag: string): string => `BENCH_${flag.replace(/-/g, "_").toUpperCase()}`

const list = <A extends string>(raw: string, allowed: ReadonlyArray<string>, what: string): Array<A> => {
  const out = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  for (const s of out) if (!allowed.includes(s)) throw new Error(`unknown ${what} "${s}" (one of ${allowed.join(", ")})`)
  return out as Array<A>
}

const positive = (raw: string, what: string): number => {
  const n = Number(raw)
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${what} must be a positive number, got "${raw}"`)
  return n
}

export const parseConfig = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Config => {
  const values = new Map<string, string>()
  for (const [k, v] of Object.entries(env)) if (k.startsWith("BENCH_") && v !== undefined) values.set(k, v)
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) throw new Error(`unexpected argument "${arg}"\n${usage}`)
    const [flag, inline] = arg.slice(2).split("=", 2) as [string, string | undefined]
    if (flag === "quick") {
      values.set("BENCH_QUICK", "1")
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined) throw new Error(`--${flag} needs a value\n${usage}`)
    values.set(flagToEnv(flag), value)
  }
  const known = new Set(["quick", "rounds", "warmup", "duration", "max-ops", "drivers", "targets", "workloads", "concurrency", "rows", "page-size", "py-reactor", "baseline", "node"].map(flagToEnv))
  for (const k of values.keys()) if (!known.has(k)) throw new Error(`unknown option ${k}\n${usage}`)
  const quick = values.get("BENCH_QUICK") === "1"
  const preset = quick ? presets.quick : presets.full
  const get = (k: string) => values.get(flagToEnv(k))
  const num = (k: string, fallback: number) => {
    const raw = get(k)
    return raw === undefined ? fallback : positive(raw, `--${k}`)
  }
  return {
    quick,
    rounds: Math.round(num("rounds", preset.rounds)),
    warmupS: get("warmup") === "0" ? 0 : num("warmup", preset.warmupS),
    durationS: num("duration", preset.durationS),
    maxOps: Math.round(num("max-ops", 10_000_000)),
    rows: Math.round(num("rows", 1_000_000)),
    pageSize: Math.round(num("page-size", 5000)),
    drivers: list<DriverName>(get("drivers") ?? defaultDrivers.join(","), driverNames, "driver"),
    targets: list(get("targets") ?? Object.keys(targets).join(","), Object.keys(targets), "target"),
    workloads: list<Workload>(get("workloads") ?? workloads.join(","), workloads, "workload"),
    concurrencies: (get("concurrency") ?? preset.concurrency).split(",").map((s) => Math.round(positive(s, "--concurrency"))),
    baseline: get("baseline"),
    nodes: (get("node") ?? "").split(",").filter((s) => s.trim().length > 0).map((s) => Math.round(positive(s, "--node")))
  }
}
