/**
 * The TokenMap against a real 3-node Cassandra 5.0 cluster (127.0.0.51-53), once with one token per node and once
 * with 16 vnodes per node: hosts and keyspaces are parsed from the cluster's own system tables (read with the
 * DataStax driver), and the replicas of every key must be what `nodetool getendpoints` says, in the same order;
 * `nodetool describering` checks every token range of the ring as well.
 */
import cassandra from "cassandra-driver"
import { Codec, DataType } from "@effect-cql/protocol"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Cluster, startCluster } from "../../../../scripts/harness.js"
import * as Metadata from "../../src/Metadata.js"
import * as TokenMap from "../../src/TokenMap.js"

const startTimeout = 900_000

/**
 * Rows as the DataStax driver decodes them (Uuid and InetAddress objects, maps as plain objects): the row readers
 * take these as well as this driver's own representation.
 */
const select = async (client: cassandra.Client, query: string): Promise<Array<Metadata.Row>> => {
  const rs = await client.execute(query)
  return rs.rows.map((r) => Object.fromEntries(rs.columns.map((c) => [c.name, r[c.name]])))
}

const bytes = (type: DataType.DataType, v: unknown): Buffer => Either.getOrThrow(Codec.encode(type, v))!

/** Runs `f` over `items`, `width` at a time (each nodetool call is a JVM of its own). */
const inBatches = async <A, B>(items: ReadonlyArray<A>, width: number, f: (a: A) => Promise<B>): Promise<Array<B>> => {
  const out: Array<B> = []
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(f))))
  return out
}

interface Key {
  readonly keyspace: string
  readonly table: string
  /** As nodetool getendpoints takes it (composite components joined by `:`). */
  readonly text: string
  readonly routingKey: Buffer
}

const keysFor = (keyspace: string, count: number): Array<Key> =>
  Array.from({ length: count }, (_, i) => {
    const n = i * 7919 - 400_000
    return i % 2 === 0
      ? { keyspace, table: "by_int", text: String(n), routingKey: bytes(DataType.native.int, n) }
      : {
          keyspace,
          table: "by_pair",
          text: `${n}:key${i}`,
          routingKey: Option.getOrThrow(
            TokenMap.routingKey([bytes(DataType.native.int, n), bytes(DataType.native.varchar, `key${i}`)])
          )
        }
  })

const keyspaces = {
  f_simple: "{'class': 'SimpleStrategy', 'replication_factor': 2}",
  f_nts: "{'class': 'NetworkTopologyStrategy', 'dc1': 2}"
} as const

const scenario = (name: string, numTokens: number, keysPerKeyspace: number) =>
  describe(name, () => {
    let cluster: Cluster
    let client: cassandra.Client
    let md: Metadata.Metadata

    beforeAll(async () => {
      const previous = process.env.CASSANDRA_NUM_TOKENS
      process.env.CASSANDRA_NUM_TOKENS = String(numTokens)
      try {
        cluster = await startCluster({ ipBase: 50, nodes: 3 })
      } finally {
        if (previous === undefined) delete process.env.CASSANDRA_NUM_TOKENS
        else process.env.CASSANDRA_NUM_TOKENS = previous
      }
      const { AllowListPolicy, DCAwareRoundRobinPolicy } = cassandra.policies.loadBalancing
      client = new cassandra.Client({
        contactPoints: [cluster.addresses[0]!],
        localDataCenter: "dc1",
        // system.local and system.peers_v2 must come from one node, as they would over a control connection.
        policies: { loadBalancing: new AllowListPolicy(new DCAwareRoundRobinPolicy("dc1"), [`${cluster.addresses[0]}:9042`]) },
        socketOptions: { readTimeout: 120_000 }
      })
      await client.connect()
      for (const [ks, replication] of Object.entries(keyspaces)) {
        await client.execute(`CREATE KEYSPACE ${ks} WITH replication = ${replication}`)
        await client.execute(`CREATE TABLE ${ks}.by_int (k int PRIMARY KEY, v text)`)
        await client.execute(`CREATE TABLE ${ks}.by_pair (a int, b text, v text, PRIMARY KEY ((a, b)))`)
      }
      const schema = await select(client, "SELECT * FROM system_schema.keyspaces")
      const parsed = Metadata.fromRows({
        local: (await select(client, "SELECT * FROM system.local"))[0],
        peers: await select(client, "SELECT * FROM system.peers_v2"),
        connectedAddress: cluster.addresses[0]!,
        schema: { keyspaces: schema }
      })
      expect(parsed.warnings).toEqual([])
      md = parsed.value
    }, startTimeout)

    afterAll(async () => {
      await client?.shutdown()
      await cluster?.stop()
    }, startTimeout)

    it("knows every host and token", () => {
      expect([...md.hosts.values()].map((h) => h.address).sort()).toEqual(["127.0.0.51", "127.0.0.52", "127.0.0.53"])
      expect(md.tokenMap!.size).toBe(3 * numTokens)
      expect(new Set(md.tokenMap!.ring().map((e) => e.host.address)).size).toBe(3)
    })

    it(
      `agrees with nodetool getendpoints for ${keysPerKeyspace * 2} keys`,
      async () => {
        const keys = Object.keys(keyspaces).flatMap((ks) => keysFor(ks, keysPerKeyspace))
        const expected = await inBatches(keys, 4, async (k) =>
          (await cluster.nodetool(1, "getendpoints", k.keyspace, k.table, k.text)).trim().split(/\s+/)
        )
        const ours = keys.map((k) => md.tokenMap!.replicasOfKey(k.keyspace, k.routingKey).map((h) => h.broadcastAddress))
        expect(ours).toEqual(expected)
        expect(ours.every((r) => r.length === 2)).toBe(true)
      },
      startTimeout
    )

    it(
      "agrees with nodetool describering on every range",
      async () => {
        for (const ks of Object.keys(keyspaces)) {
          const out = await cluster.nodetool(1, "describering", ks)
          const ranges = [...out.matchAll(/TokenRange\(start_token:(-?\d+), end_token:(-?\d+), endpoints:\[([^\]]*)\]/g)]
          expect(ranges.length).toBe(3 * numTokens)
          for (const [, , end, endpoints] of ranges) {
            // A range (start, end] belongs to its end token.
            const ours = md.tokenMap!.replicas(ks, BigInt(end!)).map((h) => h.broadcastAddress)
            expect({ ks, end, replicas: ours }).toEqual({ ks, end, replicas: endpoints!.split(", ") })
          }
        }
      },
      startTimeout
    )
  })

describe.sequential("token map on a 3-node cluster", () => {
  scenario("one token per node", 1, 10)
  scenario("16 vnodes per node", 16, 50)
})
