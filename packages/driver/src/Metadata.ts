/**
 * The cluster Metadata: an immutable snapshot of the hosts, the schema and the token ring. Whoever owns it (the
 * control connection) builds a new snapshot from system-table rows and swaps it in whole; readers never see a
 * half-applied refresh.
 *
 * Rows come in as plain objects (column name -> decoded value): text as string, uuid as a `Uuid` or string,
 * inet as string, lists and sets as arrays, maps as `Map` (plain objects and Sets are accepted too). Parsing is
 * total: a row it cannot make sense of is skipped and reported in `warnings`, never thrown.
 */
import type { DataType } from "@effect-cql/protocol"
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import { CqlTypeSyntax, parseCqlType as parseTypeText } from "./internal/metadata/cqlType.js"
import { hostFromLocalRow, hostFromPeerRow, parseKeyspaces } from "./internal/metadata/schemaParser.js"
import * as rv from "./internal/metadata/rowValues.js"
import * as TokenMap from "./TokenMap.js"

/** A system-table row: column name -> decoded value. */
export type Row = rv.Row

export type {
  HostState,
  Host,
  Replication,
  KeyspaceMetadata,
  ColumnKind,
  ColumnMetadata,
  ColumnMask,
  OptionValue,
  Relation,
  TableMetadata,
  ViewMetadata,
  IndexMetadata,
  TriggerMetadata,
  DroppedColumn,
  UserTypeMetadata,
  FunctionMetadata,
  AggregateMetadata,
  SchemaRows,
  Parsed
} from "./internal/metadata/model.js"
import type { Host, HostState, KeyspaceMetadata, Parsed, SchemaRows, TableMetadata, UserTypeMetadata } from "./internal/metadata/model.js"

/** Keyspaces (with everything in them) from system_schema rows. */
export const parseSchema = (rows: SchemaRows): Parsed<ReadonlyMap<string, KeyspaceMetadata>> => parseKeyspaces(rows)

export class CqlTypeError extends Data.TaggedError("CqlTypeError")<{
  readonly message: string
  readonly offset: number
}> {}

/**
 * Parses CQL type text (as system_schema stores it) into a DataType; user-defined types are looked up in
 * `userTypes` (by name; a `keyspace.name` reference must name `keyspace`).
 */
export const parseCqlType = (
  text: string,
  options?: { readonly keyspace?: string; readonly userTypes?: ReadonlyMap<string, UserTypeMetadata> }
): Either.Either<DataType.DataType, CqlTypeError> => {
  try {
    return Either.right(
      parseTypeText(text, (ks, name) =>
        ks === undefined || ks === options?.keyspace ? options?.userTypes?.get(name)?.type : undefined
      )
    )
  } catch (e) {
    return Either.left(
      new CqlTypeError({
        message: e instanceof Error ? e.message : String(e),
        offset: e instanceof CqlTypeSyntax ? e.offset : 0
      })
    )
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The snapshot

export interface Metadata {
  readonly clusterName: string | undefined
  /** The partitioner class from system.local, e.g. `org.apache.cassandra.dht.Murmur3Partitioner`. */
  readonly partitioner: string | undefined
  /** By endpoint (`address:port`). */
  readonly hosts: ReadonlyMap<string, Host>
  readonly keyspaces: ReadonlyMap<string, KeyspaceMetadata>
  /** Undefined until hosts with tokens are known, or when the partitioner is not one this driver can hash. */
  readonly tokenMap: TokenMap.TokenMap | undefined
}

export const empty: Metadata = {
  clusterName: undefined,
  partitioner: undefined,
  hosts: new Map(),
  keyspaces: new Map(),
  tokenMap: undefined
}

export interface TopologyRows {
  /** The system.local row of the node the control connection is on. */
  readonly local: Row | undefined
  /** Its system.peers_v2 rows (or system.peers on servers older than 4.0). */
  readonly peers: ReadonlyArray<Row>
  /** The address the control connection reached: the local host's address when its row says 0.0.0.0. */
  readonly connectedAddress: string
  /** The native port where a row does not say (system.peers has none). Default 9042. */
  readonly port?: number
}

/** Hosts, cluster name and partitioner from system.local and system.peers(_v2) rows. */
export const parseTopology = (
  rows: TopologyRows
): Parsed<{
  readonly clusterName: string | undefined
  readonly partitioner: string | undefined
  readonly hosts: ReadonlyMap<string, Host>
}> => {
  const warnings: Array<string> = []
  const hosts = new Map<string, Host>()
  const port = rows.port ?? 9042
  const add = (h: Host | string) => {
    if (typeof h === "string") warnings.push(h)
    else if (hosts.has(h.endpoint)) warnings.push(`two rows for host ${h.endpoint}: keeping the first`)
    else hosts.set(h.endpoint, h)
  }
  if (rows.local !== undefined) add(hostFromLocalRow(rows.local, rows.connectedAddress, port))
  for (const row of rows.peers) add(hostFromPeerRow(row, port))
  return {
    value: {
      clusterName: rows.local === undefined ? undefined : rv.text(rows.local, "cluster_name"),
      partitioner: rows.local === undefined ? undefined : rv.text(rows.local, "partitioner"),
      hosts
    },
    warnings
  }
}

/** A snapshot from its parts; the token map is built here (replicas computed once per distinct replication). */
export const make = (parts: {
  readonly clusterName?: string | undefined
  readonly partitioner?: string | undefined
  readonly hosts: Iterable<Host>
  readonly keyspaces: Iterable<KeyspaceMetadata>
}): Metadata => {
  const hosts = new Map<string, Host>()
  for (const h of parts.hosts) hosts.set(h.endpoint, h)
  const keyspaces = new Map<string, KeyspaceMetadata>()
  for (const k of parts.keyspaces) keyspaces.set(k.name, k)
  return {
    clusterName: parts.clusterName,
    partitioner: parts.partitioner,
    hosts,
    keyspaces,
    tokenMap: buildTokenMap(parts.partitioner, hosts, keyspaces)
  }
}

/** A snapshot straight from the rows of a full refresh. */
export const fromRows = (rows: TopologyRows & { readonly schema: SchemaRows }): Parsed<Metadata> => {
  const topology = parseTopology(rows)
  const schema = parseSchema(rows.schema)
  return {
    value: make({ ...topology.value, hosts: topology.value.hosts.values(), keyspaces: schema.value.values() }),
    warnings: [...topology.warnings, ...schema.warnings]
  }
}

const buildTokenMap = (
  partitioner: string | undefined,
  hosts: ReadonlyMap<string, Host>,
  keyspaces: ReadonlyMap<string, KeyspaceMetadata>
): TokenMap.TokenMap | undefined => {
  const p = partitioner === undefined ? undefined : TokenMap.partitionerOf(partitioner)
  return p === undefined ? undefined : TokenMap.make(p, [...hosts.values()], replications(keyspaces))
}

const replications = (keyspaces: ReadonlyMap<string, KeyspaceMetadata>): Array<TokenMap.KeyspaceReplication> =>
  [...keyspaces.values()].filter((k) => !k.virtual).map((k) => ({ keyspace: k.name, replication: k.replication }))

/** The same cluster with a new host list (a topology refresh): the ring is rebuilt when tokens or places moved. */
export const withHosts = (md: Metadata, hosts: Iterable<Host>): Metadata => {
  const next = new Map<string, Host>()
  for (const h of hosts) next.set(h.endpoint, h)
  return {
    ...md,
    hosts: next,
    tokenMap:
      md.tokenMap === undefined
        ? buildTokenMap(md.partitioner, next, md.keyspaces)
        : md.tokenMap.withHosts([...next.values()])
  }
}

/** One host marked up or down (a STATUS_CHANGE event). Unknown endpoints leave the snapshot as it is. */
export const withHostState = (md: Metadata, endpoint: string, state: HostState): Metadata => {
  const h = md.hosts.get(endpoint)
  if (h === undefined || h.state === state) return md
  return withHosts(
    md,
    [...md.hosts.values()].map((x) => (x === h ? { ...h, state } : x))
  )
}

/** Replaces (or adds) keyspaces, e.g. after re-reading one keyspace's rows on a SCHEMA_CHANGE event. */
export const withKeyspaces = (md: Metadata, keyspaces: Iterable<KeyspaceMetadata>): Metadata => {
  const next = new Map(md.keyspaces)
  for (const k of keyspaces) next.set(k.name, k)
  return withKeyspaceMap(md, next)
}

export const withoutKeyspace = (md: Metadata, name: string): Metadata => {
  if (!md.keyspaces.has(name)) return md
  const next = new Map(md.keyspaces)
  next.delete(name)
  return withKeyspaceMap(md, next)
}

const withKeyspaceMap = (md: Metadata, keyspaces: ReadonlyMap<string, KeyspaceMetadata>): Metadata => ({
  ...md,
  keyspaces,
  tokenMap: md.tokenMap?.withKeyspaces(replications(keyspaces))
})

export const keyspace = (md: Metadata, name: string): KeyspaceMetadata | undefined => md.keyspaces.get(name)

export const table = (md: Metadata, keyspaceName: string, name: string): TableMetadata | undefined =>
  md.keyspaces.get(keyspaceName)?.tables.get(name)
