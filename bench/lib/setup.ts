/**
 * Creates keyspace `bench` (SimpleStrategy, RF 1) and its tables, and loads bench.rows once: a marker row in
 * bench.meta records a completed load, so later runs skip it.
 */
import { RawClient } from "./rawClient.js"
import { nameOf, nOf, scoreOf } from "./spec.js"
import type { Target } from "./spec.js"

const ddl = [
  "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
  "CREATE TABLE IF NOT EXISTS bench.meta (name text PRIMARY KEY, rows int)",
  "CREATE TABLE IF NOT EXISTS bench.rows (k int PRIMARY KEY, name text, n bigint, score double)",
  "CREATE TABLE IF NOT EXISTS bench.writes (k int PRIMARY KEY, name text, n bigint, score double)",
  "CREATE TABLE IF NOT EXISTS bench.batches (p int, c int, name text, n bigint, score double, PRIMARY KEY (p, c))"
]

/** Prepares the target; returns the server's release_version for the record. */
export const setup = async (target: Target, rows: number, log: (line: string) => void): Promise<string> => {
  const client = await RawClient.connect(target.host, target.port)
  try {
    const version = await client.prepare("SELECT release_version FROM system.local")
    const release = String((await client.execute(version, [])).rows[0]?.["release_version"] ?? "unknown")
    for (const statement of ddl) await client.query(statement)
    const marker = await client.prepare("SELECT rows FROM bench.meta WHERE name = ?")
    const loaded = (await client.execute(marker, ["rows"])).rows[0]?.["rows"]
    if (loaded === rows) return release
    log(`loading ${rows} rows into bench.rows...`)
    // Another size was loaded before: start empty, so a scan reads exactly `rows` rows.
    if (loaded !== undefined) await client.query("TRUNCATE bench.rows")
    const t0 = performance.now()
    const insert = await client.prepare("INSERT INTO bench.rows (k, name, n, score) VALUES (?, ?, ?, ?)")
    let next = 0
    const worker = async () => {
      while (next < rows) {
        const k = next++
        await client.execute(insert, [k, nameOf(k), nOf(k), scoreOf(k)])
      }
    }
    await Promise.all(Array.from({ length: 256 }, worker))
    const done = await client.prepare("INSERT INTO bench.meta (name, rows) VALUES (?, ?)")
    await client.execute(done, ["rows", rows])
    log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    return release
  } finally {
    await client.close()
  }
}
