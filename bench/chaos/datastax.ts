/** The chaos worker over the DataStax Node.js driver (npm cassandra-driver) with its defaults. */
import cassandra from "cassandra-driver"
import { runWorker } from "./worker.js"

const [contactPoint, table] = process.argv.slice(2) as [string, string]

await runWorker(async () => {
  const client = new cassandra.Client({ contactPoints: [contactPoint], localDataCenter: "dc1", keyspace: "chaos" })
  await client.connect()
  const insert = `INSERT INTO ${table} (k, v) VALUES (?, ?)`
  const select = `SELECT v FROM ${table} WHERE k = ?`
  const options = { prepare: true, isIdempotent: true, consistency: cassandra.types.consistencies.quorum }
  // Not in the typings: the control connection's host.
  const control = (client as unknown as { controlConnection: { host?: { address: string } } }).controlConnection
  return {
    controlHost: async () => control.host?.address ?? "none",
    insert: async (k, v) => (await client.execute(insert, [k, v], options)).info.queriedHost,
    select: async (k) => {
      const rs = await client.execute(select, [k], options)
      return { coordinator: rs.info.queriedHost, v: rs.first()?.["v"] as string | undefined }
    },
    errorName: (e) => {
      if (e instanceof cassandra.errors.ResponseError) return `ResponseError(0x${e.code.toString(16)})`
      return e instanceof Error ? e.name : String(e)
    },
    shutdown: () => client.shutdown()
  }
})
