/**
 * Proves the harness with an independent client (the DataStax Node.js driver): the project's scripts really
 * start Cassandra 5.0, one node and three.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Client } from "cassandra-driver"
import { type Cluster, startCluster } from "../../../../scripts/harness.js"

const query = async (contactPoint: string, cql: string) => {
  const client = new Client({ contactPoints: [contactPoint], localDataCenter: "dc1" })
  try {
    await client.connect()
    return (await client.execute(cql)).rows
  } finally {
    await client.shutdown()
  }
}

describe("single node (global setup)", () => {
  it("answers with a 5.0.x release version", async () => {
    const rows = await query("127.0.0.1", "SELECT release_version FROM system.local")
    expect(rows).toHaveLength(1)
    expect(String(rows[0]!["release_version"])).toMatch(/^5\.0\.\d+$/)
  })
})

describe("three nodes", () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({ ipBase: 10, nodes: 3 })
  }, 300_000)
  afterAll(() => cluster?.stop(), 120_000)

  it("each node's system.peers lists the other two", async () => {
    for (const address of cluster.addresses) {
      const rows = await query(address, "SELECT peer FROM system.peers")
      const peers = rows.map((r) => String(r["peer"])).sort()
      expect(peers).toEqual(cluster.addresses.filter((a) => a !== address).sort())
    }
  })

  it("nodetool status on each node shows all three Up/Normal", async () => {
    for (const node of [1, 2, 3]) {
      const out = await cluster.nodetool(node, "status")
      const un = out.split("\n").filter((l) => l.startsWith("UN ")).map((l) => l.split(/\s+/)[1]).sort()
      expect(un).toEqual([...cluster.addresses].sort())
    }
  })
})
