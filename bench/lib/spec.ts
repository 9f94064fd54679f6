/**
 * What the orchestrator (bench/run.ts) hands each runner process, and what a runner prints back. The Python runner
 * (bench/runners/python_driver.py) reads and writes the same JSON.
 */

export type Workload = "select" | "insert" | "batch" | "stream"
export const workloads: ReadonlyArray<Workload> = ["select", "insert", "batch", "stream"]

export interface Target {
  readonly name: string
  readonly host: string
  readonly port: number
}

/** One runner process: one driver, one target, one workload, the given concurrencies in turn. */
export interface RunSpec {
  readonly driver: string
  readonly target: Target
  readonly workload: Workload
  readonly concurrencies: ReadonlyArray<number>
  /** Unmeasured seconds at each concurrency before the measured window. */
  readonly warmupS: number
  /** The measured window is bounded by time and by operations (rows for "stream"), whichever comes first. */
  readonly durationS: number
  readonly maxOps: number
  readonly pageSize: number
  /** Rows in bench.rows (keys 0..rows-1). */
  readonly rows: number
}

/** One line `RESULT {json}` on the runner's stdout per concurrency. */
export interface CellResult {
  readonly workload: Workload
  readonly concurrency: number
  /** Completed operations: requests, batches, or rows for "stream". */
  readonly ops: number
  readonly errors: number
  readonly firstError?: string
  readonly elapsedS: number
  readonly opsPerSec: number
  /** Latency per request; for "stream" per page. */
  readonly p50Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  /** User + system CPU of the whole runner process during the window, per 1,000 operations. */
  readonly cpuMsPer1kOps: number
  /** Peak resident set of the runner process during the window (VmHWM, reset at the window's start). */
  readonly peakRssMb: number
  /** The protocol version the driver speaks to the target. */
  readonly protocol: number
}

export const RESULT_PREFIX = "RESULT "

/** The statements every runner prepares: same text, same values, in every driver. */
export const cql = {
  select: "SELECT k, name, n, score FROM bench.rows WHERE k = ?",
  insert: "INSERT INTO bench.writes (k, name, n, score) VALUES (?, ?, ?, ?)",
  batchInsert: "INSERT INTO bench.batches (p, c, name, n, score) VALUES (?, ?, ?, ?, ?)",
  scan: "SELECT k, name, n, score FROM bench.rows WHERE token(k) > ? AND token(k) <= ?"
} as const

/** Rows per batch (one partition: an unlogged batch's intended use). */
export const BATCH_SIZE = 10

/** The value columns of row `k`, the same in the loaded table and in every write. */
export const nameOf = (k: number): string => `name-${k}`
export const nOf = (k: number): bigint => BigInt(k) * 1000003n
export const scoreOf = (k: number): number => k / 7

const MIN_TOKEN = -(2n ** 63n)
const MAX_TOKEN = 2n ** 63n - 1n

/**
 * The Murmur3 token ring cut into `parts` ranges (lo, hi]: together they hold every row once (Murmur3 never gives
 * a key the minimum token). Streaming at concurrency N scans N ranges at a time.
 */
export const tokenRanges = (parts: number): Array<readonly [bigint, bigint]> => {
  const span = (MAX_TOKEN - MIN_TOKEN) / BigInt(parts)
  const out: Array<readonly [bigint, bigint]> = []
  for (let i = 0; i < parts; i++) {
    const lo = MIN_TOKEN + span * BigInt(i)
    out.push([lo, i === parts - 1 ? MAX_TOKEN : lo + span])
  }
  return out
}
