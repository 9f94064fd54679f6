/**
 * The control connection against the stub server: topology and schema from the system tables (peers_v2 and the
 * system.peers fallback), events (debounced, status, topology, schema), failover when the control node goes
 * away, schema agreement, shutdown.
 */
import { HostEvents, Metadata } from "@effect-cql/driver"
import * as MetadataStore from "../src/internal/metadata/metadataStore.js"
import * as Control from "../src/internal/control/controlConnection.js"
import type { Event } from "@effect-cql/protocol"
import { DataType } from "@effect-cql/protocol"
import { StubServer } from "@effect-cql/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as HostEventHub from "../src/internal/control/hostEventHub.js"

const app: StubServer.KeyspaceSpec = {
  name: "app",
  replication: { class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: "2" },
  tables: [{ name: "kv", columns: { k: DataType.native.int, v: DataType.native.varchar }, partitionKey: ["k"] }]
}

const stub = (firstAddress: string, options: Partial<StubServer.Options> = {}) =>
  StubServer.make({ firstAddress, port: 0, nodes: 3, numTokens: 4, keyspaces: [app], ...options })

type Services = Control.ControlConnection | MetadataStore.MetadataStore | HostEventHub.HostEventHub

/** The three services on the stub's contact points, for the test's scope. */
const start = (server: StubServer.StubServer, config: Partial<Control.Config> = {}) =>
  Effect.gen(function* () {
    const ctx: Context.Context<Services> = yield* Layer.build(
      Control.layerWithMetadata({
        contactPoints: server.contactPoints,
        refreshWindow: "100 millis",
        refreshMaxWait: "1 second",
        reconnectSchedule: Schedule.spaced("50 millis"),
        queryTimeout: "2 seconds",
        ...config
      })
    )
    const host = server.nodes[0]!
    return {
      control: Context.get(ctx, Control.ControlConnection),
      metadata: Context.get(ctx, MetadataStore.MetadataStore),
      events: Context.get(ctx, HostEventHub.HostEventHub),
      first: host
    }
  })

/** Polls `cond` every 20 ms (real time), failing after `ms`. */
const eventually = (what: string, cond: () => boolean, ms = 3000) =>
  Effect.gen(function* () {
    const until = Date.now() + ms
    while (!cond()) {
      if (Date.now() > until) return yield* Effect.die(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("20 millis")
    }
  })

const queriesOf = (server: StubServer.StubServer, match: (q: string) => boolean) =>
  Effect.map(server.requests, (rs) => rs.filter((r) => r.request._tag === "Query" && r.query !== undefined && match(r.query)))

const isPeersRead = (q: string) => q.startsWith("SELECT * FROM system.peers")

/** Records every HostEvents callback call. */
const record = (events: HostEventHub.HostEventHub) =>
  Effect.gen(function* () {
    const seen: Array<HostEvents.ClusterEvent> = []
    yield* events.onHostEvent((e) => seen.push(e))
    yield* events.onSchemaChange((e) => seen.push(e))
    return seen
  })

/** The columns of a system.peers_v2 row that say which node it is. */
const peerIdentity = (n: StubServer.Node) => ({ peer: n.address, native_address: n.address, native_port: n.port, host_id: n.hostId })

const statusChange = (change: "UP" | "DOWN", node: StubServer.Node): Event.Event => ({
  type: "STATUS_CHANGE",
  change,
  address: node.address,
  port: node.port
})

describe("ControlConnection", () => {
  it.scopedLive("reads hosts, tokens and schema from system.local, system.peers_v2 and system_schema; registers for events", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.151")
      const { control, metadata, first } = yield* start(server)
      const md = metadata.current()
      expect([...md.hosts.keys()].sort()).toEqual([...server.contactPoints].sort())
      for (const n of server.nodes) {
        const h = md.hosts.get(n.contactPoint)!
        expect([h.hostId, h.datacenter, h.rack, h.tokens, h.state]).toEqual([n.hostId, n.dataCenter, n.rack, n.tokens, "up"])
      }
      expect(md.clusterName).toBe("stub")
      expect(md.tokenMap?.size).toBe(12)
      expect(Metadata.table(md, "app", "kv")?.partitionKey.map((c) => c.name)).toEqual(["k"])
      expect(md.keyspaces.has("system_schema")).toBe(true)
      expect(yield* control.host).toEqual(Option.some(first.contactPoint))
      // Only the control node got anything: REGISTER for the three event types, then the reads.
      const requests = yield* server.requests
      expect(new Set(requests.map((r) => r.node))).toEqual(new Set([1]))
      const register = requests.find((r) => r.request._tag === "Register")
      expect(register?.request).toEqual({ _tag: "Register", events: ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"] })
      expect(requests.findIndex((r) => r.request._tag === "Query")).toBeGreaterThan(requests.indexOf(register!))
      expect((yield* queriesOf(server, isPeersRead)).map((r) => r.query)).toEqual(["SELECT * FROM system.peers_v2"])
      expect(yield* metadata.get).toBe(md)
    }))

  it.scopedLive("falls back to system.peers when system.peers_v2 is Invalid, and stays there", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.154", {
        rules: [{ query: /FROM system\.peers_v2/, error: { kind: "Invalid", message: "table peers_v2 does not exist" } }]
      })
      const { control, metadata } = yield* start(server)
      // system.peers has no native port: the peers get the configured one (9042), the control node its rpc_port.
      const [n1, n2, n3] = server.nodes
      expect([...metadata.current().hosts.keys()]).toEqual([n1!.contactPoint, `${n2!.address}:9042`, `${n3!.address}:9042`])
      expect(metadata.current().hosts.get(`${n2!.address}:9042`)?.hostId).toBe(n2!.hostId)
      yield* control.refreshNow
      const reads = (yield* queriesOf(server, isPeersRead)).map((r) => r.query)
      expect(reads).toEqual(["SELECT * FROM system.peers_v2", "SELECT * FROM system.peers", "SELECT * FROM system.peers"])
    }))

  it.scopedLive("dropped_columns: dropped_time is read as milliseconds, and one beyond a JS Date is left out", () =>
    Effect.gen(function* () {
      const text = DataType.native.varchar
      const dropped = (column_name: string, dropped_time: bigint) => ({ keyspace_name: "app", table_name: "kv", column_name, kind: "regular", type: "text", dropped_time })
      const server = yield* stub("127.0.1.190", {
        rules: [
          {
            query: /toUnixTimestamp\(dropped_time\) AS dropped_time FROM system_schema\.dropped_columns$/,
            columns: { keyspace_name: text, table_name: text, column_name: text, kind: text, type: text, dropped_time: DataType.native.bigint },
            // Cassandra 5.0 has such a row: system.local's thrift_version, dropped at Long.MAX_VALUE µs.
            rows: [dropped("old", 1_700_000_000_000n), dropped("older", 9_223_372_036_854_775n)]
          }
        ]
      })
      const { metadata } = yield* start(server)
      const columns = Metadata.table(metadata.current(), "app", "kv")!.droppedColumns
      expect(columns.get("old")?.droppedAt).toEqual(new Date(1_700_000_000_000))
      expect(columns.get("older")).toMatchObject({ cqlType: "text", droppedAt: undefined })
    }))

  it.scopedLive("a burst of topology events gives one topology refresh, after the window", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.157")
      const { first } = yield* start(server, { refreshWindow: "300 millis" })
      yield* first.clearRequests
      for (let i = 0; i < 5; i++) {
        expect(yield* first.pushEvent({ type: "TOPOLOGY_CHANGE", change: "MOVED_NODE", address: server.nodes[2]!.address, port: server.nodes[2]!.port })).toBe(1)
      }
      yield* Effect.sleep("150 millis")
      expect(yield* queriesOf(server, isPeersRead)).toHaveLength(0)
      const refreshed = yield* Effect.gen(function* () {
        for (;;) {
          const reads = yield* queriesOf(server, isPeersRead)
          if (reads.length > 0) return reads
          yield* Effect.sleep("20 millis")
        }
      }).pipe(Effect.timeout("3 seconds"))
      expect(refreshed).toHaveLength(1)
      yield* Effect.sleep("700 millis")
      expect(yield* queriesOf(server, isPeersRead)).toHaveLength(1)
      // A topology refresh reads no schema.
      expect(yield* queriesOf(server, (q) => q.includes("system_schema"))).toHaveLength(0)
    }))

  it.scopedLive("STATUS_CHANGE of a known host applies at once, in order (no debounce window), and publishes Down/Up after the snapshot changed", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.160")
      const { events, first, metadata } = yield* start(server)
      const [, n2, n3] = server.nodes
      const stateSeen: Array<string> = []
      yield* events.onHostEvent((e) => stateSeen.push(`${e._tag} ${e.host.endpoint} ${metadata.current().hosts.get(e.host.endpoint)?.state}`))
      yield* first.pushEvent(statusChange("DOWN", n2!))
      yield* first.pushEvent(statusChange("DOWN", n3!))
      yield* first.pushEvent(statusChange("UP", n3!))
      yield* eventually("n3 down and up", () => stateSeen.length === 3)
      expect(stateSeen).toEqual([`Down ${n2!.contactPoint} down`, `Down ${n3!.contactPoint} down`, `Up ${n3!.contactPoint} up`])
      const sent = Date.now()
      yield* first.pushEvent(statusChange("UP", n2!))
      yield* eventually("n2 up", () => metadata.current().hosts.get(n2!.contactPoint)?.state === "up")
      // Well inside the 1 s refresh window that topology changes wait for.
      expect(Date.now() - sent).toBeLessThan(500)
      expect(stateSeen.at(-1)).toBe(`Up ${n2!.contactPoint} up`)
      // A known host coming up needs no topology refresh.
      expect(yield* queriesOf(server, isPeersRead)).toHaveLength(1)
    }))

  it.scopedLive("topology events: a node that left is Removed, a new node is Added", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.163")
      const { events, first, metadata } = yield* start(server)
      const seen = yield* record(events)
      const [, n2, n3] = server.nodes
      const peerRow = (n: StubServer.Node) => ({ ...peerIdentity(n), data_center: n.dataCenter, rack: n.rack, tokens: n.tokens })
      // Node 3 leaves: system.peers_v2 no longer lists it.
      yield* first.addRules({ query: "SELECT * FROM system.peers_v2", rows: [peerRow(n2!)] })
      yield* first.pushEvent({ type: "TOPOLOGY_CHANGE", change: "REMOVED_NODE", address: n3!.address, port: n3!.port })
      yield* eventually("n3 removed", () => !metadata.current().hosts.has(n3!.contactPoint))
      expect(seen.map((e) => e._tag === "SchemaChanged" ? e._tag : `${e._tag} ${e.host.endpoint}`)).toEqual([`Removed ${n3!.contactPoint}`])
      expect(metadata.current().tokenMap?.size).toBe(8)
      // It comes back: an UP for a host the snapshot does not have refreshes the topology.
      yield* first.clearRules
      yield* first.pushEvent(statusChange("UP", n3!))
      yield* eventually("n3 added", () => metadata.current().hosts.has(n3!.contactPoint))
      expect(seen.map((e) => e._tag === "SchemaChanged" ? e._tag : `${e._tag} ${e.host.endpoint}`)).toEqual([
        `Removed ${n3!.contactPoint}`,
        `Added ${n3!.contactPoint}`
      ])
      expect(metadata.current().tokenMap?.size).toBe(12)
    }))

  it.scopedLive("SCHEMA_CHANGE re-reads only the keyspaces named, then publishes SchemaChanged with the snapshot updated", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.166")
      const { events, first, metadata } = yield* start(server)
      const seenWith: Array<string> = []
      yield* events.onSchemaChange((e) => seenWith.push(`${e.change.change} ${e.change.keyspace}: ${metadata.current().keyspaces.has("fresh")}`))
      const perKeyspace = "SELECT * FROM system_schema.keyspaces WHERE keyspace_name IN (?)"
      yield* first.addRules({
        query: perKeyspace,
        params: ["fresh"],
        rows: [{ keyspace_name: "fresh", durable_writes: true, replication: { class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: "1" } }]
      })
      yield* first.clearRequests
      yield* first.pushEvent({ type: "SCHEMA_CHANGE", change: "CREATED", target: "KEYSPACE", keyspace: "fresh" })
      yield* eventually("fresh created", () => seenWith.length === 1)
      expect(seenWith).toEqual(["CREATED fresh: true"])
      expect(metadata.current().keyspaces.get("fresh")?.replication.options.get("replication_factor")).toBe("1")
      // Single-partition reads of the eleven system_schema tables (column_masks included), no topology read.
      const reads = (yield* queriesOf(server, () => true)).map((r) => r.query!)
      expect(reads.every((q) => q.endsWith(" WHERE keyspace_name IN (?)"))).toBe(true)
      expect(new Set(reads.map((q) => /FROM (\S+)/.exec(q)?.[1])).size).toBe(11)
      // Dropped: the keyspace's rows are gone, so is the keyspace; the others are untouched.
      yield* first.clearRules
      const kv = Metadata.table(metadata.current(), "app", "kv")
      yield* first.pushEvent({ type: "SCHEMA_CHANGE", change: "DROPPED", target: "KEYSPACE", keyspace: "fresh" })
      yield* eventually("fresh dropped", () => seenWith.length === 2)
      expect(seenWith[1]).toBe("DROPPED fresh: false")
      expect(Metadata.table(metadata.current(), "app", "kv")).toBe(kv)
    }))

  it.scopedLive("a burst of schema events naming many keyspaces re-reads the whole schema once", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.169")
      const { events, first } = yield* start(server, { maxTargetedKeyspaces: 2 })
      const seen = yield* record(events)
      yield* first.clearRequests
      for (const ks of ["a", "b", "c"]) {
        yield* first.pushEvent({ type: "SCHEMA_CHANGE", change: "UPDATED", target: "TABLE", keyspace: ks, name: "t" })
      }
      yield* eventually("three schema events", () => seen.length === 3)
      const reads = (yield* queriesOf(server, () => true)).map((r) => r.query!)
      expect(reads.filter((q) => q === "SELECT * FROM system_schema.tables")).toHaveLength(1)
      expect(reads.some((q) => q.includes("WHERE"))).toBe(false)
      expect(seen.map((e) => e._tag === "SchemaChanged" && e.change.keyspace)).toEqual(["a", "b", "c"])
    }))

  it.scopedLive("moves to another node when the control node stops accepting and its connections drop", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.172")
      const { control, first, metadata } = yield* start(server)
      const [, n2, n3] = server.nodes
      yield* first.stopAccepting
      yield* first.dropConnections
      const controlHost = () => Option.getOrUndefined(Effect.runSync(control.host))
      yield* eventually("control on another node", () => controlHost() !== undefined && controlHost() !== first.contactPoint)
      expect(controlHost()).toBe(n2!.contactPoint)
      // The new node got REGISTER and a full refresh; its events count now, the old node's connection is gone.
      const n2Requests = yield* n2!.requests
      expect(n2Requests.find((r) => r.request._tag === "Register" || r.request._tag === "Query")?.request._tag).toBe("Register")
      expect(n2Requests.some((r) => r.query === "SELECT * FROM system_schema.columns")).toBe(true)
      expect(yield* first.connections).toBe(0)
      yield* n2!.pushEvent(statusChange("DOWN", n3!))
      yield* eventually("n3 down", () => metadata.current().hosts.get(n3!.contactPoint)?.state === "down")
      // n2 goes too: the next one that is up is n1 again, once it accepts (n3 is down: tried after the contact points).
      yield* first.startAccepting
      yield* n2!.stopAccepting
      yield* n2!.dropConnections
      yield* eventually("control on n1", () => controlHost() === first.contactPoint)
    }))

  it.scopedLive("the first contact point that answers becomes the control node; none answering is NoHostAvailable", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.175")
      yield* server.nodes[0]!.stopAccepting
      const { control } = yield* start(server)
      expect(yield* control.host).toEqual(Option.some(server.nodes[1]!.contactPoint))
      for (const n of server.nodes) yield* n.stopAccepting
      const failed = yield* Effect.flip(start(server))
      expect(failed._tag).toBe("NoHostAvailable")
      expect([...failed.errors.keys()]).toEqual([...server.contactPoints])
    }))

  it.scopedLive("schema agreement: reached when every up host reports one version", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.178")
      const { control } = yield* start(server)
      const result = yield* control.awaitSchemaAgreement("2 seconds")
      expect(result.agreed).toBe(true)
      expect([...result.versions.keys()].sort()).toEqual([...server.contactPoints].sort())
      expect(new Set(result.versions.values()).size).toBe(1)
    }))

  it.scopedLive("schema agreement: not reached while a peer reports another version; reached once it catches up or goes down", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.181")
      const { control, first, metadata } = yield* start(server)
      const [, n2, n3] = server.nodes
      const local = metadata.current().hosts.get(first.contactPoint)!.schemaVersion!
      const versionRow = (n: StubServer.Node, schema_version: string) => ({ ...peerIdentity(n), schema_version })
      const other = "00000000-0000-4000-8000-000000000001"
      const versions = "SELECT peer, native_address, native_port, host_id, schema_version FROM system.peers_v2"
      yield* first.addRules({ query: versions, rows: [versionRow(n2!, local), versionRow(n3!, other)] })
      const started = Date.now()
      const disagreed = yield* control.awaitSchemaAgreement("600 millis")
      expect(Date.now() - started).toBeGreaterThanOrEqual(550)
      expect(disagreed.agreed).toBe(false)
      expect(disagreed.versions.get(n3!.contactPoint)).toBe(other)
      expect(disagreed.versions.get(n2!.contactPoint)).toBe(local)
      // n3 catches up after three more polls.
      yield* first.clearRules
      yield* first.addRules({ query: versions, rows: [versionRow(n2!, local), versionRow(n3!, other)], times: 3 })
      yield* first.clearRequests
      const caughtUp = yield* control.awaitSchemaAgreement("3 seconds")
      expect(caughtUp.agreed).toBe(true)
      expect((yield* queriesOf(server, (q) => q === versions)).length).toBe(4)
      // A host that is down does not count.
      yield* first.clearRules
      yield* first.addRules({ query: versions, rows: [versionRow(n2!, local), versionRow(n3!, other)] })
      expect(yield* metadata.markHost(n3!.contactPoint, "down")).toBe(true)
      const withoutN3 = yield* control.awaitSchemaAgreement("1 second")
      expect(withoutN3.agreed).toBe(true)
      expect([...withoutN3.versions.keys()].sort()).toEqual([first.contactPoint, n2!.contactPoint].sort())
    }))

  it.scopedLive("schema agreement polls the new control node after a failover", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.184")
      const { control, first } = yield* start(server)
      yield* first.stopAccepting
      yield* first.dropConnections
      const result = yield* control.awaitSchemaAgreement("3 seconds")
      expect(result.agreed).toBe(true)
      expect(yield* control.host).toEqual(Option.some(server.nodes[1]!.contactPoint))
    }))

  it.scopedLive("closing the scope closes the control connection and stops reconnecting", () =>
    Effect.gen(function* () {
      const server = yield* stub("127.0.1.187")
      const scope = yield* Scope.make()
      const { first } = yield* Scope.extend(start(server), scope)
      expect(yield* first.connections).toBe(1)
      yield* Scope.close(scope, Exit.void)
      yield* eventually("connection closed", () => Effect.runSync(first.connections) === 0)
      // Closing while reconnecting (every node refusing) leaves no attempt running.
      const scope2 = yield* Scope.make()
      const second = yield* Scope.extend(start(server, { reconnectSchedule: Schedule.spaced("30 millis") }), scope2)
      for (const n of server.nodes) yield* n.stopAccepting
      yield* second.first.dropConnections
      yield* Effect.sleep("200 millis")
      yield* Scope.close(scope2, Exit.void)
      yield* server.nodes[1]!.startAccepting
      yield* server.nodes[1]!.clearRequests
      yield* Effect.sleep("200 millis")
      expect(yield* server.nodes[1]!.requests).toEqual([])
      expect(yield* server.nodes[1]!.connections).toBe(0)
    }))
})
