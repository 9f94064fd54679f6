/** Runner: the DataStax Node.js driver (npm cassandra-driver), prepared statements, its default pooling. */
import cassandra from "cassandra-driver"
import { main } from "../lib/harness.js"
import { BATCH_SIZE, cql, nameOf, nOf, scoreOf } from "../lib/spec.js"

const Long = cassandra.types.Long
const long = (n: bigint) => Long.fromString(n.toString())

await main(async (spec) => {
  const client = new cassandra.Client({
    contactPoints: [`${spec.target.host}:${spec.target.port}`],
    localDataCenter: "dc1",
    queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localOne }
  })
  await client.connect()
  // Prepare up front, as the other runners do, so the first measured requests don't include it.
  await Promise.all([cql.select, cql.insert, cql.batchInsert, cql.scan].map((q) => client.execute(q, undefined, { prepare: true }).catch(() => undefined)))
  // Not in the typings: the version the control connection negotiated (this driver speaks up to v4).
  const protocol = (client as unknown as { controlConnection: { protocolVersion: number } }).controlConnection.protocolVersion
  return {
    protocol,
    select: async (k) => (await client.execute(cql.select, [k])).first(),
    insert: (k) => client.execute(cql.insert, [k, nameOf(k), long(nOf(k)), scoreOf(k)]),
    batch: (p) => {
      const queries = []
      for (let c = 0; c < BATCH_SIZE; c++) {
        const k = p * BATCH_SIZE + c
        queries.push({ query: cql.batchInsert, params: [p, c, nameOf(k), long(nOf(k)), scoreOf(k)] })
      }
      return client.batch(queries, { prepare: true, logged: false })
    },
    scan: async (lo, hi, pageSize, onPage) => {
      let pageState: string | undefined
      const params = [long(lo), long(hi)]
      do {
        const rs = await client.execute(cql.scan, params, pageSize === 0 ? {} : { fetchSize: pageSize, ...(pageState === undefined ? {} : { pageState }) })
        if (!onPage(rs.rows.length)) return
        pageState = rs.pageState ?? undefined
      } while (pageState !== undefined)
    },
    close: () => client.shutdown()
  }
})
