/** Runner: the minimal pipelined client (bench/lib/rawClient.ts), protocol v4, one socket. */
import { main } from "../lib/harness.js"
import { RawClient } from "../lib/rawClient.js"
import type { Value } from "../lib/rawClient.js"
import { BATCH_SIZE, cql, nameOf, nOf, scoreOf } from "../lib/spec.js"

await main(async (spec) => {
  const client = await RawClient.connect(spec.target.host, spec.target.port)
  const [select, insert, batchInsert, scan] = await Promise.all([
    client.prepare(cql.select),
    client.prepare(cql.insert),
    client.prepare(cql.batchInsert),
    client.prepare(cql.scan)
  ])
  return {
    protocol: 4,
    select: (k) => client.execute(select, [k]),
    insert: (k) => client.execute(insert, [k, nameOf(k), nOf(k), scoreOf(k)]),
    batch: (p) => {
      const rows: Array<ReadonlyArray<Value>> = []
      for (let c = 0; c < BATCH_SIZE; c++) {
        const k = p * BATCH_SIZE + c
        rows.push([p, c, nameOf(k), nOf(k), scoreOf(k)])
      }
      return client.batch(batchInsert, rows)
    },
    scan: async (lo, hi, pageSize, onPage) => {
      let state: Buffer | null = null
      do {
        const page = await client.execute(scan, [lo, hi], pageSize, state)
        if (!onPage(page.rows.length)) return
        state = page.pagingState
      } while (state !== null)
    },
    close: () => client.close()
  }
})
