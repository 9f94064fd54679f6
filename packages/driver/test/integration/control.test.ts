/**
 * The control connection on a real 3-node Cassandra 5.0 cluster (127.0.0.71-73): the topology as the DataStax
 * driver sees it, DDL from that other client reflected in the Metadata, schema agreement, a node killed (-9) and
 * restarted seen as Down then Up through STATUS_CHANGE events, and the control node killed: the control connection
 * moves to another node.
 */
import cassandra from "cassandra-driver"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Cluster, startCluster } from "../../../../scripts/harness.js"
import * as Control from "../../src/internal/control/controlConnection.js"
import * as HostEvents from "../../src/HostEvents.js"
import * as Metadata from "../../src/Metadata.js"
import * as MetadataStore from "../../src/internal/metadata/metadataStore.js"
import * as HostEventHub from "../../src/internal/control/hostEventHub.js"

const startTimeout = 900_000

/** Polls `cond` every 50 ms; rejects with `what` after `ms`. Resolves with the time it took. */
const waitFor = async (what: string, cond: () => boolean, ms: number): Promise<number> => {
  const started = Date.now()
  while (!cond()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return Date.now() - started
}

describe("control connection on a 3-node cluster", () => {
  let cluster: Cluster
  let client: cassandra.Client
  let scope: Scope.CloseableScope
  let control: Control.ControlConnection
  let metadata: MetadataStore.MetadataStore
  const seen: Array<HostEvents.ClusterEvent> = []
  const endpoint = (i: number) => `${cluster.addresses[i - 1]}:9042`
  const state = (i: number) => metadata.current().hosts.get(endpoint(i))?.state
  const controlHost = () => Option.getOrUndefined(Effect.runSync(control.host))

  beforeAll(async () => {
    cluster = await startCluster({ ipBase: 70, nodes: 3 })
    client = new cassandra.Client({ contactPoints: [cluster.addresses[2]!], localDataCenter: "dc1", socketOptions: { readTimeout: 60_000 } })
    await client.connect()
    scope = Effect.runSync(Scope.make())
    const ctx = await Effect.runPromise(
      Layer.buildWithScope(
        Control.layerWithMetadata({ contactPoints: cluster.addresses, reconnectSchedule: Schedule.spaced("500 millis") }),
        scope
      )
    )
    control = Context.get(ctx, Control.ControlConnection)
    metadata = Context.get(ctx, MetadataStore.MetadataStore)
    const events = Context.get(ctx, HostEventHub.HostEventHub)
    await Effect.runPromise(events.onHostEvent((e) => seen.push(e)))
    await Effect.runPromise(events.onSchemaChange((e) => seen.push(e)))
  }, startTimeout)

  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    await client?.shutdown()
    await cluster?.stop()
  }, startTimeout)

  it("knows the 3 hosts with their tokens, as the DataStax driver does", async () => {
    // Nodes that boot together can list a peer in system.peers_v2 a little after the harness sees them all UP; the
    // UP of a host the control connection does not know yet makes it read the topology again.
    await waitFor("the 3 hosts in the metadata", () => metadata.current().hosts.size === 3, 30_000)
    const md = metadata.current()
    expect([...md.hosts.keys()].sort()).toEqual([1, 2, 3].map(endpoint))
    const theirs = client.hosts.values().map((h) => ({
      endpoint: h.address,
      hostId: h.hostId.toString(),
      datacenter: h.datacenter,
      rack: h.rack,
      tokens: [...h.tokens].sort()
    }))
    const ours = [...md.hosts.values()].map((h) => ({
      endpoint: h.endpoint,
      hostId: h.hostId,
      datacenter: h.datacenter,
      rack: h.rack,
      tokens: [...h.tokens].sort()
    }))
    expect(ours.sort((a, b) => a.endpoint.localeCompare(b.endpoint))).toEqual(theirs.sort((a, b) => a.endpoint.localeCompare(b.endpoint)))
    expect(md.tokenMap?.size).toBe(ours.reduce((n, h) => n + h.tokens.length, 0))
    expect(md.clusterName).toBeDefined()
    expect(md.partitioner).toBe("org.apache.cassandra.dht.Murmur3Partitioner")
    expect(controlHost()).toBe(endpoint(1))
  })

  it("reflects DDL from another client within 2 s, and the schema agrees", async () => {
    /** Runs `ddl` on the other client, then waits for `cond`: how long after the statement started and ended. */
    const reflected = async (ddl: string, what: string, cond: () => boolean) => {
      const started = Date.now()
      await client.execute(ddl)
      const afterEnd = await waitFor(what, cond, 2000)
      return `${Date.now() - started} ms after it started, ${afterEnd} ms after it returned`
    }
    await client.execute("CREATE KEYSPACE ctl WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}")
    const create = await reflected("CREATE TABLE ctl.t (k int PRIMARY KEY, v text)", "ctl.t in the metadata", () =>
      Metadata.table(metadata.current(), "ctl", "t") !== undefined
    )
    expect(metadata.current().tokenMap!.replicasOfKey("ctl", Buffer.from([0, 0, 0, 1]))).toHaveLength(2)
    const alter = await reflected(
      "ALTER TABLE ctl.t ADD w bigint",
      "column w",
      () => Metadata.table(metadata.current(), "ctl", "t")?.columns.some((c) => c.name === "w") === true
    )
    const drop = await reflected("DROP KEYSPACE ctl", "ctl dropped", () => !metadata.current().keyspaces.has("ctl"))
    // The other client waits for schema agreement before its statement returns, so most of the work is done by then.
    console.log(`DDL reflected: create table ${create}; alter ${alter}; drop keyspace ${drop}`)
    const schemaEvents = seen.flatMap((e) => (e._tag === "SchemaChanged" ? [`${e.change.change} ${e.change.target} ${e.change.keyspace}`] : []))
    expect(schemaEvents).toEqual(expect.arrayContaining(["CREATED KEYSPACE ctl", "CREATED TABLE ctl", "UPDATED TABLE ctl", "DROPPED KEYSPACE ctl"]))
    const agreement = await Effect.runPromise(control.awaitSchemaAgreement())
    expect(agreement.agreed).toBe(true)
    expect([...agreement.versions.keys()].sort()).toEqual([1, 2, 3].map(endpoint))
  })

  it(
    "sees a killed node go Down and, restarted, come back Up",
    async () => {
      seen.length = 0
      await cluster.cassandra("kill", "2")
      const tookDown = await waitFor("node 2 down", () => state(2) === "down", 60_000)
      await cluster.cassandra("start-node", "2")
      const tookUp = await waitFor("node 2 up", () => state(2) === "up", 60_000)
      console.log(`Down ${tookDown} ms after kill -9; Up ${tookUp} ms after start-node returned`)
      const hostEvents = seen.flatMap((e) => (e._tag === "SchemaChanged" ? [] : [`${e._tag} ${e.host.endpoint}`]))
      expect(hostEvents).toEqual([`Down ${endpoint(2)}`, `Up ${endpoint(2)}`])
      expect(controlHost()).toBe(endpoint(1))
    },
    startTimeout
  )

  it(
    "moves to another node when the control node is killed",
    async () => {
      await cluster.cassandra("kill", "1")
      const tookMove = await waitFor("control on another node", () => controlHost() !== undefined && controlHost() !== endpoint(1), 30_000)
      console.log(`control connection moved to ${controlHost()} ${tookMove} ms after kill -9 of its node`)
      expect([endpoint(2), endpoint(3)]).toContain(controlHost())
      // The new control node reports node 1 down (gossip) and still serves refreshes.
      await waitFor("node 1 down", () => state(1) === "down", 60_000)
      await Effect.runPromise(control.refreshNow)
      expect(metadata.current().hosts.size).toBe(3)
    },
    startTimeout
  )
})
