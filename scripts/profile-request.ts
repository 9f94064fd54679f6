/**
 * Drives the request path for profiling: `node --cpu-prof` over vite-node, e.g.
 *   npx vite-node --config scripts/vite.config.ts scripts/profile-request.ts -- 200000 256
 * Prepared single-row SELECTs by key against 127.0.0.1; prints requests/s and the process CPU per request.
 */
import { Session } from "@effect-cql/driver"
import { Effect } from "effect"

const total = Number(process.argv[2] ?? 100_000)
const concurrency = Number(process.argv[3] ?? 256)

const program = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute("CREATE KEYSPACE IF NOT EXISTS profile WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
  yield* s.execute("CREATE TABLE IF NOT EXISTS profile.kv (k int PRIMARY KEY, v text)")
  yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (k) => s.execute("INSERT INTO profile.kv (k, v) VALUES (?, ?)", [k, `value ${k}`]), { concurrency: 16, discard: true })
  const query = "SELECT k, v FROM profile.kv WHERE k = ?"
  let next = 0
  const worker = Effect.gen(function* () {
    while (next < total) {
      const k = next++ % 100
      yield* s.execute(query, [k])
    }
  })
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  yield* Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  console.log(`${total} requests at concurrency ${concurrency}: ${Math.round(total / (ms / 1000))} req/s, ` +
    `client CPU ${((cpu.user + cpu.system) / 1000 / total * 1000).toFixed(1)} ms per 1k requests`)
})

await Effect.runPromise(program.pipe(Effect.provide(Session.layer({ contactPoints: ["127.0.0.1"] }))))
