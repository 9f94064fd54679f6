/** The chaos worker over effect-cql with its defaults (token-aware routing, one connection per host). */
import { Cluster, Session } from "@effect-cql/driver"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { runWorker } from "./worker.js"

const [contactPoint, table] = process.argv.slice(2) as [string, string]

await runWorker(async () => {
  const runtime = ManagedRuntime.make(Session.layer({ contactPoints: [contactPoint], localDataCenter: "dc1", keyspace: "chaos" }))
  const session = await runtime.runPromise(Session.Session)
  const cluster = await runtime.runPromise(Cluster.Cluster)
  const insert = `INSERT INTO ${table} (k, v) VALUES (?, ?)`
  const select = `SELECT v FROM ${table} WHERE k = ?`
  const options = { prepare: true, idempotent: true, consistency: "QUORUM" } as const
  return {
    controlHost: () => runtime.runPromise(Effect.map(cluster.control.host, Option.getOrElse(() => "none"))),
    insert: async (k, v) => (await session.executePromise(insert, [k, v], options)).coordinator,
    select: async (k) => {
      const rs = await session.executePromise(select, [k], options)
      const v = rs.rows[0]?.["v"]
      return { coordinator: rs.coordinator, v: typeof v === "string" ? v : undefined }
    },
    errorName: (e) => (typeof e === "object" && e !== null && "_tag" in e ? String(e._tag) : String(e)),
    shutdown: () => runtime.dispose()
  }
})
