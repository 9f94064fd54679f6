/**
 * The measuring loop shared by the JavaScript runners. A runner supplies a `Driver` (the same four operations on
 * the same statements); the harness runs N workers, each awaiting its own request before sending the next, and
 * prints one RESULT line per concurrency. bench/runners/python_driver.py is the same loop in Python.
 */
import * as fs from "node:fs"
import { Histogram } from "./histogram.js"
import { BATCH_SIZE, RESULT_PREFIX, tokenRanges } from "./spec.js"
import type { CellResult, RunSpec, Workload } from "./spec.js"

export interface Driver {
  /** The protocol version in use, for the record. */
  readonly protocol: number
  /** The prepared SELECT of row `k`; resolves once the row is decoded. */
  readonly select: (k: number) => Promise<unknown>
  /** The prepared INSERT of row `k` into bench.writes. */
  readonly insert: (k: number) => Promise<unknown>
  /** An unlogged batch of BATCH_SIZE prepared INSERTs into partition `p` of bench.batches. */
  readonly batch: (p: number) => Promise<unknown>
  /**
   * Every row with a token in (lo, hi], page by page (page size `pageSize`, the driver's own paging), calling
   * `onPage` with each page's row count; stops early when it returns false.
   */
  readonly scan: (lo: bigint, hi: bigint, pageSize: number, onPage: (rows: number) => boolean) => Promise<void>
  readonly close: () => Promise<void>
  /**
   * Optional: runs the workers of a select, insert or batch window itself (e.g. as fibers of one Effect program
   * instead of Promise loops), with the same loop: each worker takes `hooks.next()` (undefined: stop), runs that
   * operation, then reports `hooks.done(t0)` or `hooks.failed(error)`.
   */
  readonly runWorkers?: (workload: Exclude<Workload, "stream">, concurrency: number, hooks: WorkerHooks) => Promise<void>
}

/** The measuring side of a worker loop, for `Driver.runWorkers`. */
export interface WorkerHooks {
  /** The next operation's argument (row key or batch partition), or undefined once the window is over. */
  readonly next: () => number | undefined
  /** The operation started at `t0` (performance.now()) succeeded. */
  readonly done: (t0: number) => void
  readonly failed: (error: unknown) => void
}

const randomInt = (n: number): number => Math.floor(Math.random() * n)

/** Resets VmHWM to the current RSS (Linux 4.0+: `5` in clear_refs), so the next reading is this window's peak. */
const resetPeakRss = (): boolean => {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5")
    return true
  } catch {
    return false
  }
}

const peakRssMb = (resetWorked: boolean): number => {
  if (resetWorked) {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"))
    if (m !== null) return Number(m[1]) / 1024
  }
  return process.resourceUsage().maxRSS / 1024
}

interface Window {
  ops: number
  errors: number
  firstError: string | undefined
  readonly histogram: Histogram
}

/** Runs `workload` at `concurrency` until `seconds` pass or `maxOps` complete; in-flight requests then finish. */
const runWindow = async (
  driver: Driver,
  spec: RunSpec,
  workload: Workload,
  concurrency: number,
  seconds: number,
  maxOps: number
): Promise<Window> => {
  const w: Window = { ops: 0, errors: 0, firstError: undefined, histogram: new Histogram() }
  const deadline = performance.now() + seconds * 1000
  let stop = false
  const failed = (e: unknown) => {
    w.errors++
    w.firstError ??= e instanceof Error ? e.message : String(e)
    // A dead connection fails fast: don't spin on it until the deadline.
    if (w.errors > 1000 && w.errors > w.ops) stop = true
  }

  if (workload === "stream") {
    const ranges = tokenRanges(concurrency)
    let next = 0
    const worker = async () => {
      while (!stop && next < ranges.length) {
        const [lo, hi] = ranges[next++]!
        let t0 = performance.now()
        try {
          await driver.scan(lo, hi, spec.pageSize, (rows) => {
            const t = performance.now()
            w.histogram.recordMs(t - t0)
            t0 = t
            w.ops += rows
            if (w.ops >= maxOps || t >= deadline) stop = true
            return !stop
          })
        } catch (e) {
          failed(e)
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return w
  }

  const partitions = Math.max(1, Math.floor(spec.rows / BATCH_SIZE))
  const hooks: WorkerHooks = {
    next: () => (stop ? undefined : workload === "batch" ? randomInt(partitions) : randomInt(spec.rows)),
    done: (t0) => {
      const t = performance.now()
      w.histogram.recordMs(t - t0)
      w.ops++
      if (w.ops >= maxOps || t >= deadline) stop = true
    },
    failed: (e) => {
      failed(e)
      if (performance.now() >= deadline) stop = true
    }
  }
  if (driver.runWorkers !== undefined) {
    await driver.runWorkers(workload, concurrency, hooks)
    return w
  }
  const op: (arg: number) => Promise<unknown> = workload === "select" ? driver.select : workload === "insert" ? driver.insert : driver.batch
  const worker = async () => {
    for (let arg = hooks.next(); arg !== undefined; arg = hooks.next()) {
      const t0 = performance.now()
      try {
        await op(arg)
        hooks.done(t0)
      } catch (e) {
        hooks.failed(e)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return w
}

const gc = (globalThis as { gc?: () => void }).gc

/** The runner's main: reads the RunSpec from argv, runs each concurrency (warm-up, then measured), prints results. */
export const main = async (makeDriver: (spec: RunSpec) => Promise<Driver>): Promise<void> => {
  const spec = JSON.parse(process.argv[2] ?? "") as RunSpec
  const driver = await makeDriver(spec)
  for (const concurrency of spec.concurrencies) {
    if (spec.warmupS > 0) await runWindow(driver, spec, spec.workload, concurrency, spec.warmupS, spec.maxOps)
    gc?.()
    const resetWorked = resetPeakRss()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const w = await runWindow(driver, spec, spec.workload, concurrency, spec.durationS, spec.maxOps)
    const elapsedS = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const result: CellResult = {
      workload: spec.workload,
      concurrency,
      ops: w.ops,
      errors: w.errors,
      ...(w.firstError === undefined ? {} : { firstError: w.firstError }),
      elapsedS,
      opsPerSec: w.ops / elapsedS,
      p50Ms: w.histogram.quantileMs(0.5),
      p99Ms: w.histogram.quantileMs(0.99),
      p999Ms: w.histogram.quantileMs(0.999),
      cpuMsPer1kOps: w.ops === 0 ? Number.NaN : ((cpu.user + cpu.system) / 1000 / w.ops) * 1000,
      peakRssMb: peakRssMb(resetWorked),
      protocol: driver.protocol
    }
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
  }
  await driver.close()
  // Some drivers keep timers (heartbeats, reconnection) alive after close: the result is out, leave.
  process.exit(0)
}
