/**
 * Turns the runners' cell results into the suite's outputs: medians per driver x target x workload x concurrency
 * (latest.json), a markdown table (latest.md) and an SVG chart of throughput (latest.svg).
 */
import type { CellResult, Workload } from "./spec.js"

/** One runner result, with where it came from. */
export interface Sample extends CellResult {
  readonly driver: string
  readonly target: string
  readonly round: number
}

/**
 * One line of latest.json: the median of each figure over the rounds, with the rounds that produced the cell and
 * the errors they saw in all.
 */
export interface ResultRecord extends Omit<CellResult, "ops" | "elapsedS"> {
  readonly driver: string
  readonly target: string
  readonly rounds: number
}

const median = (xs: ReadonlyArray<number | null>): number => {
  const s = xs.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const round3 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x)

export const aggregate = (samples: ReadonlyArray<Sample>, order: {
  readonly drivers: ReadonlyArray<string>
  readonly targets: ReadonlyArray<string>
  readonly workloads: ReadonlyArray<Workload>
  readonly concurrencies: ReadonlyArray<number>
}): Array<ResultRecord> => {
  const out: Array<ResultRecord> = []
  for (const target of order.targets) {
    for (const workload of order.workloads) {
      for (const concurrency of order.concurrencies) {
        for (const driver of order.drivers) {
          const cell = samples.filter((s) =>
            s.driver === driver && s.target === target && s.workload === workload && s.concurrency === concurrency
          )
          if (cell.length === 0) continue
          const firstError = cell.find((s) => s.firstError !== undefined)?.firstError
          out.push({
            driver,
            target,
            workload,
            concurrency,
            opsPerSec: Math.round(median(cell.map((s) => s.opsPerSec))),
            p50Ms: round3(median(cell.map((s) => s.p50Ms))),
            p99Ms: round3(median(cell.map((s) => s.p99Ms))),
            p999Ms: round3(median(cell.map((s) => s.p999Ms))),
            cpuMsPer1kOps: round3(median(cell.map((s) => s.cpuMsPer1kOps))),
            peakRssMb: Math.round(median(cell.map((s) => s.peakRssMb)) * 10) / 10,
            rounds: cell.length,
            errors: cell.reduce((n, s) => n + s.errors, 0),
            protocol: cell[0]!.protocol,
            ...(firstError === undefined ? {} : { firstError })
          })
        }
      }
    }
  }
  return out
}

const workloadTitle: Readonly<Record<Workload, string>> = {
  select: "prepared single-row SELECT by key",
  insert: "prepared INSERT",
  batch: "unlogged BATCH of 10 prepared INSERTs (one partition)",
  stream: "stream every row, page size from the config (ops = rows, latency per page)"
}

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : "n/a")

/**
 * The issue's targets, checked against this run's medians (a line per check, "met" or "NOT met"; checks whose cells
 * were not run are left out):
 * - stub, select at 256: effect-cql's ops per CPU-second at least 1.5x nodejs-driver's and 70% of raw-v4's;
 * - cassandra: effect-cql's throughput at least nodejs-driver's, for every workload and concurrency;
 * - stream over 1,000,000 rows: effect-cql's peak RSS under 150 MB, at every concurrency.
 * With `--node`, once per Node: effect-cql@node24 against nodejs-driver@node24 and raw-v4@node24.
 */
export const targetChecks = (records: ReadonlyArray<ResultRecord>): Array<string> => {
  const suffixes = new Set<string>()
  for (const r of records) {
    const m = /^effect-cql(@node\d+)?$/.exec(r.driver)
    if (m !== null) suffixes.add(m[1] ?? "")
  }
  return [...suffixes].flatMap((suffix) => checksOn(records, suffix))
}

/** The checks among the runners labelled with `suffix` (one Node's). */
const checksOn = (records: ReadonlyArray<ResultRecord>, suffix: string): Array<string> => {
  const find = (driver: string, target: string, workload: Workload, concurrency: number) =>
    records.find((r) => r.driver === driver + suffix && r.target === target && r.workload === workload && r.concurrency === concurrency)
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met")
  const ourName = `effect-cql${suffix}`
  const out: Array<string> = []
  const ours = find("effect-cql", "stub", "select", 256)
  if (ours !== undefined) {
    for (const [other, needed] of [["nodejs-driver", 1.5], ["raw-v4", 0.7]] as const) {
      const theirs = find(other, "stub", "select", 256)
      if (theirs === undefined) continue
      // Ops per CPU-second is the inverse of CPU per op.
      const ratio = theirs.cpuMsPer1kOps / ours.cpuMsPer1kOps
      out.push(
        `stub select at 256: ${ourName}'s ops per CPU-second are ${fmt(ratio, 2)}x ${other}${suffix}'s ` +
          `(${fmt(ours.cpuMsPer1kOps, 1)} vs ${fmt(theirs.cpuMsPer1kOps, 1)} CPU ms / 1k ops; needed ${needed}x): ${verdict(ratio >= needed)}`
      )
    }
  }
  for (const r of records) {
    if (r.driver !== ourName) continue
    if (r.target === "cassandra") {
      const theirs = find("nodejs-driver", "cassandra", r.workload, r.concurrency)
      if (theirs !== undefined) {
        out.push(
          `cassandra ${r.workload} at ${r.concurrency}: ${ourName} ${r.opsPerSec.toLocaleString("en-US")} ops/s vs nodejs-driver${suffix} ` +
            `${theirs.opsPerSec.toLocaleString("en-US")} (${fmt(r.opsPerSec / theirs.opsPerSec, 2)}x): ${verdict(r.opsPerSec >= theirs.opsPerSec)}`
        )
      }
    }
    if (r.workload === "stream") {
      out.push(`${r.target} stream at ${r.concurrency}: ${ourName} peak RSS ${fmt(r.peakRssMb, 0)} MB (under 150 needed): ${verdict(r.peakRssMb < 150)}`)
    }
  }
  return out
}

export const markdown = (records: ReadonlyArray<ResultRecord>, conditions: ReadonlyArray<string>): string => {
  const lines = ["# Benchmark results", "", ...conditions.map((c) => `- ${c}`), "", "![throughput](latest.svg)", ""]
  const checks = targetChecks(records)
  if (checks.length > 0) lines.push("## Targets (issue 7), in this run", "", ...checks.map((c) => `- ${c}`), "")
  const sections = new Map<string, Array<ResultRecord>>()
  for (const r of records) {
    const key = `${r.target}\u0000${r.workload}`
    const list = sections.get(key) ?? []
    list.push(r)
    sections.set(key, list)
  }
  for (const list of sections.values()) {
    const first = list[0]!
    lines.push(`## ${first.target}: ${first.workload}, ${workloadTitle[first.workload]}`, "")
    lines.push("| concurrency | driver | ops/s | p50 ms | p99 ms | p99.9 ms | CPU ms / 1k ops | peak RSS MB | errors |")
    lines.push("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (const r of list) {
      lines.push(
        `| ${r.concurrency} | ${r.driver} (v${r.protocol}) | ${r.opsPerSec.toLocaleString("en-US")} | ${fmt(r.p50Ms, 2)} | ` +
          `${fmt(r.p99Ms, 2)} | ${fmt(r.p999Ms, 2)} | ${fmt(r.cpuMsPer1kOps, 1)} | ${fmt(r.peakRssMb, 0)} | ${r.errors} |`
      )
    }
    lines.push("")
  }
  const errors = records.filter((r) => r.firstError !== undefined)
  if (errors.length > 0) {
    lines.push("## First error of each failing cell", "")
    for (const r of errors) lines.push(`- ${r.driver} / ${r.target} / ${r.workload} / ${r.concurrency}: ${r.firstError}`)
    lines.push("")
  }
  return lines.join("\n")
}
