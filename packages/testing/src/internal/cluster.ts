/**
 * The emulated cluster's shape: nodes with balanced Murmur3 tokens, and the virtual tables a driver reads to
 * learn it (system.local, system.peers_v2, system.peers) and its schema (system_schema.*), with the columns and
 * types of a Cassandra 5.0 node.
 */
import { DataType } from "@effect-cql/protocol"
import type { Rows } from "@effect-cql/protocol"
import { createHash } from "node:crypto"

type Type = DataType.DataType
type Column = readonly [name: string, type: Type]

export interface TableSpec {
  readonly name: string
  /** Every column with its type, in declaration order. */
  readonly columns: Readonly<Record<string, Type>>
  readonly partitionKey: ReadonlyArray<string>
  readonly clustering?: ReadonlyArray<string | { readonly name: string; readonly order: "ASC" | "DESC" }>
  readonly staticColumns?: ReadonlyArray<string>
}

export interface UdtSpec {
  readonly name: string
  readonly fields: Readonly<Record<string, Type>>
}

export interface KeyspaceSpec {
  readonly name: string
  /** Default SimpleStrategy with replication_factor 1. */
  readonly replication?: Readonly<Record<string, string>>
  readonly durableWrites?: boolean
  readonly tables?: ReadonlyArray<TableSpec>
  readonly types?: ReadonlyArray<UdtSpec>
}

export interface NodeSpec {
  /** Default "dc1". */
  readonly dataCenter?: string
  /** Default "rack1". */
  readonly rack?: string
  /**
   * The address the node advertises to clients (system.local rpc_address, system.peers_v2 native_address,
   * system.peers rpc_address), as a node behind NAT does. Default: the address it listens on.
   */
  readonly advertisedAddress?: string
}

export interface NodeInfo {
  /** 1-based. */
  readonly index: number
  readonly address: string
  /** The address clients are told to connect to (NodeSpec.advertisedAddress). */
  readonly advertisedAddress: string
  /** The native port; set once the node listens (an ephemeral port is known only then). */
  port: number
  readonly dataCenter: string
  readonly rack: string
  readonly hostId: string
  readonly tokens: ReadonlyArray<string>
}

export interface ClusterSpec {
  readonly clusterName: string
  readonly releaseVersion: string
  /** The highest protocol version the nodes speak, reported in system.local. */
  readonly nativeProtocolVersion: number
  readonly keyspaces: ReadonlyArray<KeyspaceSpec>
}

const { native } = DataType
const text = native.varchar
const setOf = (element: Type): Type => ({ kind: "set", element })
const listOf = (element: Type): Type => ({ kind: "list", element })
const mapOf = (key: Type, value: Type): Type => ({ kind: "map", key, value })
const textMap = mapOf(text, text)

/** A UUID string derived from `seed`, stable across runs (host ids, table ids, the schema version). */
export const stableUuid = (seed: string): string => {
  const h = createHash("md5").update(seed).digest("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * Murmur3 tokens spread evenly over the ring: node i (0-based) of n owns tokens i, n + i, 2n + i, ... of the
 * n * perNode equal steps from -2^63, so that every node owns the same share.
 */
export const balancedTokens = (nodes: number, perNode: number): Array<Array<string>> => {
  const total = BigInt(nodes * perNode)
  const span = 1n << 64n
  return Array.from({ length: nodes }, (_, i) =>
    Array.from({ length: perNode }, (_, j) => (-(1n << 63n) + (BigInt(j * nodes + i) * span) / total).toString())
  )
}

/** The last octet of `first` plus `offset`, in 127.0.0.0/8 or any IPv4 range. */
export const nthAddress = (first: string, offset: number): string => {
  const parts = first.split(".").map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || parts[3]! + offset > 254) {
    throw new Error(`cannot give ${offset + 1} nodes IPv4 addresses from ${first}`)
  }
  return [parts[0], parts[1], parts[2], parts[3]! + offset].join(".")
}

export interface VirtualTable {
  readonly keyspace: string
  readonly name: string
  readonly columns: ReadonlyArray<Column>
  /** The rows as `self` sees them (system.local and the peers tables differ per node). */
  readonly rows: (self: NodeInfo) => ReadonlyArray<Rows.Row>
}

const localColumns: ReadonlyArray<Column> = [
  ["key", text],
  ["bootstrapped", text],
  ["broadcast_address", native.inet],
  ["broadcast_port", native.int],
  ["cluster_name", text],
  ["cql_version", text],
  ["data_center", text],
  ["gossip_generation", native.int],
  ["host_id", native.uuid],
  ["listen_address", native.inet],
  ["listen_port", native.int],
  ["native_protocol_version", text],
  ["partitioner", text],
  ["rack", text],
  ["release_version", text],
  ["rpc_address", native.inet],
  ["rpc_port", native.int],
  ["schema_version", native.uuid],
  ["tokens", setOf(text)],
  ["truncated_at", mapOf(native.uuid, native.blob)]
]

const peersV2Columns: ReadonlyArray<Column> = [
  ["peer", native.inet],
  ["peer_port", native.int],
  ["data_center", text],
  ["host_id", native.uuid],
  ["native_address", native.inet],
  ["native_port", native.int],
  ["preferred_ip", native.inet],
  ["preferred_port", native.int],
  ["rack", text],
  ["release_version", text],
  ["schema_version", native.uuid],
  ["tokens", setOf(text)]
]

const peersColumns: ReadonlyArray<Column> = [
  ["peer", native.inet],
  ["data_center", text],
  ["host_id", native.uuid],
  ["preferred_ip", native.inet],
  ["rack", text],
  ["release_version", text],
  ["rpc_address", native.inet],
  ["schema_version", native.uuid],
  ["tokens", setOf(text)]
]

const tableOptionColumns: ReadonlyArray<Column> = [
  ["additional_write_policy", text],
  ["allow_auto_snapshot", native.boolean],
  ["bloom_filter_fp_chance", native.double],
  ["caching", textMap],
  ["cdc", native.boolean],
  ["comment", text],
  ["compaction", textMap],
  ["compression", textMap],
  ["crc_check_chance", native.double],
  ["dclocal_read_repair_chance", native.double],
  ["default_time_to_live", native.int],
  ["extensions", mapOf(text, native.blob)],
  ["gc_grace_seconds", native.int],
  ["id", native.uuid],
  ["incremental_backups", native.boolean],
  ["max_index_interval", native.int],
  ["memtable", text],
  ["memtable_flush_period_in_ms", native.int],
  ["min_index_interval", native.int],
  ["read_repair", text],
  ["read_repair_chance", native.double],
  ["speculative_retry", text]
]

/** What Cassandra 5.0 stores for a table created without options. */
const defaultTableOptions = (id: string): Rows.Row => ({
  additional_write_policy: "99p",
  allow_auto_snapshot: null,
  bloom_filter_fp_chance: 0.01,
  caching: { keys: "ALL", rows_per_partition: "NONE" },
  cdc: null,
  comment: "",
  compaction: {
    class: "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
    max_threshold: "32",
    min_threshold: "4"
  },
  compression: { chunk_length_in_kb: "16", class: "org.apache.cassandra.io.compress.LZ4Compressor" },
  crc_check_chance: 1,
  dclocal_read_repair_chance: 0,
  default_time_to_live: 0,
  extensions: {},
  gc_grace_seconds: 864000,
  id,
  incremental_backups: null,
  max_index_interval: 2048,
  memtable: null,
  memtable_flush_period_in_ms: 0,
  min_index_interval: 128,
  read_repair: "BLOCKING",
  read_repair_chance: 0,
  speculative_retry: "99p"
})

const localStrategy = { class: "org.apache.cassandra.locator.LocalStrategy" }
const simpleStrategy = (rf: number) => ({ class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: String(rf) })

/** The system keyspaces every node reports. */
const systemKeyspaces: ReadonlyArray<KeyspaceSpec> = [
  { name: "system", replication: localStrategy },
  { name: "system_schema", replication: localStrategy },
  { name: "system_auth", replication: simpleStrategy(1) },
  { name: "system_distributed", replication: simpleStrategy(3) },
  { name: "system_traces", replication: simpleStrategy(2) }
]

/** A type as system_schema stores it: CQL text, user types by their bare name. */
const schemaTypeText = (keyspace: string, t: Type): string => DataType.toCql(t).split(`${DataType.quoteIdentifier(keyspace)}.`).join("")

const columnRows = (ks: string, table: TableSpec): Array<Rows.Row> => {
  const clustering = (table.clustering ?? []).map((c) => (typeof c === "string" ? { name: c, order: "ASC" as const } : c))
  const statics = new Set(table.staticColumns ?? [])
  return Object.entries(table.columns).map(([name, type]) => {
    const pk = table.partitionKey.indexOf(name)
    const ck = clustering.findIndex((c) => c.name === name)
    const kind = pk >= 0 ? "partition_key" : ck >= 0 ? "clustering" : statics.has(name) ? "static" : "regular"
    return {
      keyspace_name: ks,
      table_name: table.name,
      column_name: name,
      clustering_order: ck >= 0 ? clustering[ck]!.order.toLowerCase() : "none",
      column_name_bytes: Buffer.from(name, "utf8"),
      kind,
      position: pk >= 0 ? pk : ck >= 0 ? ck : -1,
      type: schemaTypeText(ks, type)
    }
  })
}

/** The schema version every node reports: derived from the schema, so that all nodes agree. */
export const schemaVersionOf = (spec: ClusterSpec): string =>
  stableUuid(JSON.stringify(spec.keyspaces, (_k, v) => (typeof v === "bigint" ? v.toString() : v)))

/** The virtual tables, by "keyspace.table". */
export const virtualTables = (spec: ClusterSpec, nodes: ReadonlyArray<NodeInfo>): ReadonlyMap<string, VirtualTable> => {
  const schemaVersion = schemaVersionOf(spec)
  const keyspaces = [...systemKeyspaces, ...spec.keyspaces]
  const tables: Array<VirtualTable> = [
    {
      keyspace: "system",
      name: "local",
      columns: localColumns,
      rows: (self) => [
        {
          key: "local",
          bootstrapped: "COMPLETED",
          broadcast_address: self.address,
          broadcast_port: 7000,
          cluster_name: spec.clusterName,
          cql_version: "3.4.7",
          data_center: self.dataCenter,
          gossip_generation: 1_700_000_000 + self.index,
          host_id: self.hostId,
          listen_address: self.address,
          listen_port: 7000,
          native_protocol_version: String(spec.nativeProtocolVersion),
          partitioner: "org.apache.cassandra.dht.Murmur3Partitioner",
          rack: self.rack,
          release_version: spec.releaseVersion,
          rpc_address: self.advertisedAddress,
          rpc_port: self.port,
          schema_version: schemaVersion,
          tokens: self.tokens,
          truncated_at: null
        }
      ]
    },
    {
      keyspace: "system",
      name: "peers_v2",
      columns: peersV2Columns,
      rows: (self) =>
        nodes
          .filter((n) => n !== self)
          .map((n) => ({
            peer: n.address,
            peer_port: 7000,
            data_center: n.dataCenter,
            host_id: n.hostId,
            native_address: n.advertisedAddress,
            native_port: n.port,
            preferred_ip: null,
            preferred_port: null,
            rack: n.rack,
            release_version: spec.releaseVersion,
            schema_version: schemaVersion,
            tokens: n.tokens
          }))
    },
    {
      keyspace: "system",
      name: "peers",
      columns: peersColumns,
      rows: (self) =>
        nodes
          .filter((n) => n !== self)
          .map((n) => ({
            peer: n.address,
            data_center: n.dataCenter,
            host_id: n.hostId,
            preferred_ip: null,
            rack: n.rack,
            release_version: spec.releaseVersion,
            rpc_address: n.advertisedAddress,
            schema_version: schemaVersion,
            tokens: n.tokens
          }))
    }
  ]
  const schemaTable = (name: string, columns: ReadonlyArray<Column>, rows: ReadonlyArray<Rows.Row>): VirtualTable => ({
    keyspace: "system_schema",
    name,
    columns,
    rows: () => rows
  })
  const userTables = spec.keyspaces.flatMap((ks) => (ks.tables ?? []).map((t) => [ks.name, t] as const))
  tables.push(
    schemaTable(
      "keyspaces",
      [
        ["keyspace_name", text],
        ["durable_writes", native.boolean],
        ["replication", textMap]
      ],
      keyspaces.map((ks) => ({
        keyspace_name: ks.name,
        durable_writes: ks.durableWrites ?? true,
        replication: ks.replication ?? simpleStrategy(1)
      }))
    ),
    schemaTable(
      "tables",
      [["keyspace_name", text], ["table_name", text], ["flags", setOf(text)], ...tableOptionColumns],
      userTables.map(([ks, t]) => ({
        keyspace_name: ks,
        table_name: t.name,
        flags: ["compound"],
        ...defaultTableOptions(stableUuid(`${ks}.${t.name}`))
      }))
    ),
    schemaTable(
      "columns",
      [
        ["keyspace_name", text],
        ["table_name", text],
        ["column_name", text],
        ["clustering_order", text],
        ["column_name_bytes", native.blob],
        ["kind", text],
        ["position", native.int],
        ["type", text]
      ],
      userTables.flatMap(([ks, t]) => columnRows(ks, t))
    ),
    schemaTable(
      "types",
      [
        ["keyspace_name", text],
        ["type_name", text],
        ["field_names", listOf(text)],
        ["field_types", listOf(text)]
      ],
      spec.keyspaces.flatMap((ks) =>
        (ks.types ?? []).map((u) => ({
          keyspace_name: ks.name,
          type_name: u.name,
          field_names: Object.keys(u.fields),
          field_types: Object.values(u.fields).map((t) => schemaTypeText(ks.name, t))
        }))
      )
    ),
    // Emulated schemas have none of these, but a metadata refresh reads them all.
    schemaTable(
      "dropped_columns",
      [
        ["keyspace_name", text],
        ["table_name", text],
        ["column_name", text],
        ["dropped_time", native.timestamp],
        ["kind", text],
        ["type", text]
      ],
      []
    ),
    schemaTable(
      "indexes",
      [
        ["keyspace_name", text],
        ["table_name", text],
        ["index_name", text],
        ["kind", text],
        ["options", textMap]
      ],
      []
    ),
    schemaTable(
      "views",
      [
        ["keyspace_name", text],
        ["view_name", text],
        ["base_table_id", native.uuid],
        ["base_table_name", text],
        ["include_all_columns", native.boolean],
        ["where_clause", text],
        ...tableOptionColumns
      ],
      []
    ),
    schemaTable(
      "functions",
      [
        ["keyspace_name", text],
        ["function_name", text],
        ["argument_types", listOf(text)],
        ["argument_names", listOf(text)],
        ["body", text],
        ["called_on_null_input", native.boolean],
        ["language", text],
        ["return_type", text]
      ],
      []
    ),
    schemaTable(
      "aggregates",
      [
        ["keyspace_name", text],
        ["aggregate_name", text],
        ["argument_types", listOf(text)],
        ["final_func", text],
        ["initcond", text],
        ["return_type", text],
        ["state_func", text],
        ["state_type", text]
      ],
      []
    ),
    schemaTable(
      "triggers",
      [
        ["keyspace_name", text],
        ["table_name", text],
        ["trigger_name", text],
        ["options", textMap]
      ],
      []
    )
  )
  return new Map(tables.map((t) => [`${t.keyspace}.${t.name}`, t]))
}

/** The keyspaces a `USE` may switch to. */
export const keyspaceNames = (spec: ClusterSpec): ReadonlySet<string> =>
  new Set([...systemKeyspaces, ...spec.keyspaces].map((k) => k.name))
