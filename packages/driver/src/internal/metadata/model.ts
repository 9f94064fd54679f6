/**
 * The Metadata model's types: hosts, keyspaces and everything in them, and the rows they are parsed from. The
 * lowest module of the metadata layer, so that the token map, the replication strategies and the schema parser
 * import them without importing Metadata.ts (which builds on all three).
 */
import type { DataType } from "@effect-cql/protocol"
import type { Row } from "./rowValues.js"

// ---------------------------------------------------------------------------------------------------------------
// Hosts

export type HostState = "up" | "down"

export interface Host {
  /** `address:port` of the native transport: the key of `Metadata.hosts`. */
  readonly endpoint: string
  /** The address clients connect to (rpc_address / native_address). */
  readonly address: string
  readonly port: number
  /** The node's gossip address (system.peers `peer`, system.local `broadcast_address`). */
  readonly broadcastAddress: string | undefined
  readonly hostId: string | undefined
  readonly datacenter: string | undefined
  readonly rack: string | undefined
  /** Its tokens as system.local/peers store them (decimal for Murmur3/Random, hex for ByteOrdered). */
  readonly tokens: ReadonlyArray<string>
  readonly releaseVersion: string | undefined
  readonly schemaVersion: string | undefined
  readonly state: HostState
}

// ---------------------------------------------------------------------------------------------------------------
// Schema

export interface Replication {
  /** The strategy class as stored, e.g. `org.apache.cassandra.locator.NetworkTopologyStrategy`. */
  readonly strategyClass: string
  /** The other options (data centre -> replication factor, `replication_factor`, ...). */
  readonly options: ReadonlyMap<string, string>
}

export interface KeyspaceMetadata {
  readonly name: string
  /** A virtual keyspace (system_views, system_virtual_schema): read-only, cannot be re-created with CQL. */
  readonly virtual: boolean
  readonly durableWrites: boolean
  readonly replication: Replication
  readonly tables: ReadonlyMap<string, TableMetadata>
  readonly views: ReadonlyMap<string, ViewMetadata>
  readonly userTypes: ReadonlyMap<string, UserTypeMetadata>
  /** By signature, e.g. `plus(int,int)`: functions can be overloaded. */
  readonly functions: ReadonlyMap<string, FunctionMetadata>
  readonly aggregates: ReadonlyMap<string, AggregateMetadata>
}

export type ColumnKind = "partition_key" | "clustering" | "regular" | "static"

export interface ColumnMetadata {
  readonly name: string
  readonly kind: ColumnKind
  /** Position within the partition or clustering key; -1 for other columns. */
  readonly position: number
  readonly order: "asc" | "desc" | "none"
  /** The type text as system_schema stores it (it keeps `frozen<...>`, which `type` cannot express). */
  readonly cqlType: string
  readonly type: DataType.DataType
  /** Dynamic data masking (Cassandra 5.0). */
  readonly mask: ColumnMask | undefined
}

export interface ColumnMask {
  readonly functionKeyspace: string
  readonly functionName: string
  readonly argumentTypes: ReadonlyArray<string>
  /** The partial arguments as text; null for a null argument. */
  readonly argumentValues: ReadonlyArray<string | null>
}

/** A table option as stored: text, number, boolean, or a map (compaction, compression, caching). */
export type OptionValue = string | number | boolean | ReadonlyMap<string, string>

/** What tables and materialized views share. */
export interface Relation {
  readonly keyspace: string
  readonly name: string
  readonly id: string | undefined
  /** Partition key, clustering key, static, then regular columns (each group by position or name). */
  readonly columns: ReadonlyArray<ColumnMetadata>
  readonly partitionKey: ReadonlyArray<ColumnMetadata>
  readonly clusteringKey: ReadonlyArray<ColumnMetadata>
  /** The option columns of system_schema.tables/views that are set (comment, compaction, gc_grace_seconds...). */
  readonly options: ReadonlyMap<string, OptionValue>
  readonly extensions: ReadonlyMap<string, Buffer>
}

export interface TableMetadata extends Relation {
  readonly virtual: boolean
  /** system_schema.tables `flags`: compound, counter, dense, super. */
  readonly flags: ReadonlyArray<string>
  /** Created WITH COMPACT STORAGE (a legacy layout whose internal columns DDL hides). */
  readonly compactStorage: boolean
  readonly indexes: ReadonlyMap<string, IndexMetadata>
  readonly triggers: ReadonlyMap<string, TriggerMetadata>
  readonly droppedColumns: ReadonlyMap<string, DroppedColumn>
  /** Names of the materialized views built on this table. */
  readonly views: ReadonlyArray<string>
}

export interface ViewMetadata extends Relation {
  readonly baseTable: string
  readonly baseTableId: string | undefined
  /** Created as `SELECT *`. */
  readonly includeAllColumns: boolean
  readonly whereClause: string
}

export interface IndexMetadata {
  readonly name: string
  readonly table: string
  /** COMPOSITES, KEYS or CUSTOM. */
  readonly kind: string
  /** The indexed target, e.g. `v`, `keys(m)`, `entries(m)`, `full(f)`. */
  readonly target: string
  /** The index class of a CUSTOM index, e.g. `StorageAttachedIndex`. */
  readonly className: string | undefined
  /** Every option, `target` and `class_name` included. */
  readonly options: ReadonlyMap<string, string>
}

export interface TriggerMetadata {
  readonly name: string
  readonly className: string | undefined
  readonly options: ReadonlyMap<string, string>
}

export interface DroppedColumn {
  readonly name: string
  readonly cqlType: string
  readonly kind: string | undefined
  readonly droppedAt: Date | undefined
}

export interface UserTypeMetadata {
  readonly keyspace: string
  readonly name: string
  readonly fieldNames: ReadonlyArray<string>
  /** The field type texts as stored. */
  readonly fieldTypes: ReadonlyArray<string>
  readonly type: DataType.UdtType
}

export interface FunctionMetadata {
  readonly keyspace: string
  readonly name: string
  /** `name(type,...)`: the key of `KeyspaceMetadata.functions`. */
  readonly signature: string
  readonly argumentNames: ReadonlyArray<string>
  readonly argumentTypes: ReadonlyArray<string>
  readonly returnType: string
  readonly language: string
  readonly body: string
  readonly calledOnNullInput: boolean
}

export interface AggregateMetadata {
  readonly keyspace: string
  readonly name: string
  readonly signature: string
  readonly argumentTypes: ReadonlyArray<string>
  readonly stateFunction: string
  readonly stateType: string
  readonly finalFunction: string | undefined
  /** The initial state as a CQL literal, e.g. `0`, `(0, 0)`, `{}`. */
  readonly initialCondition: string | undefined
  readonly returnType: string
}

/** The system_schema rows a refresh read; only `keyspaces` is required (a partial refresh passes its subset). */
export interface SchemaRows {
  readonly keyspaces: ReadonlyArray<Row>
  readonly tables?: ReadonlyArray<Row>
  readonly columns?: ReadonlyArray<Row>
  readonly droppedColumns?: ReadonlyArray<Row>
  readonly indexes?: ReadonlyArray<Row>
  readonly views?: ReadonlyArray<Row>
  readonly types?: ReadonlyArray<Row>
  readonly functions?: ReadonlyArray<Row>
  readonly aggregates?: ReadonlyArray<Row>
  readonly triggers?: ReadonlyArray<Row>
  /** system_schema.column_masks (Cassandra 5.0). */
  readonly columnMasks?: ReadonlyArray<Row>
  /** system_virtual_schema.keyspaces / tables / columns (Cassandra 4.0+). */
  readonly virtualKeyspaces?: ReadonlyArray<Row>
  readonly virtualTables?: ReadonlyArray<Row>
  readonly virtualColumns?: ReadonlyArray<Row>
}

export interface Parsed<A> {
  readonly value: A
  /** Rows that were skipped or only partly understood, and why. */
  readonly warnings: ReadonlyArray<string>
}
