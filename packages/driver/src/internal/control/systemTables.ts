/**
 * The control connection's reads of the system tables: topology (system.local, system.peers_v2 or system.peers),
 * the schema (system_schema.*, whole or one keyspace), and the schema versions for schema agreement. Every read
 * is a QUERY at consistency ONE (these tables are node-local), paged so that a large schema never arrives as one
 * huge response.
 */
import type { Response, ServerError } from "@effect-cql/protocol"
import * as Effect from "effect/Effect"
import type { Row, SchemaRows, TopologyRows } from "../../Metadata.js"
import { type Connection, type ConnectionFailure, request } from "../connection/connection.js"

export type QueryFailure =
  | { readonly _tag: "Connection"; readonly failure: ConnectionFailure }
  | { readonly _tag: "Server"; readonly error: ServerError.ServerError }

/** Invalid: the table or a column does not exist on this server version. */
const isInvalid = (f: QueryFailure): boolean => f._tag === "Server" && f.error.kind === "Invalid"

/** The connection's peers table: system.peers_v2 (Cassandra 4.0+) until the server says it has none. */
export interface ControlState {
  peersTable: "system.peers_v2" | "system.peers"
}

const pageSize = 5000

/** Every row of a SELECT, page after page. */
export const selectAll = (
  conn: Connection,
  query: string,
  values: ReadonlyArray<unknown> | undefined,
  timeoutMs: number
): Effect.Effect<ReadonlyArray<Row>, QueryFailure> =>
  Effect.gen(function* () {
    const rows: Array<Row> = []
    let pagingState: Uint8Array | undefined
    do {
      const res: Response.Response = yield* request(
        conn,
        {
          _tag: "Query",
          query,
          params: {
            consistency: "ONE",
            pageSize,
            ...(values === undefined ? {} : { values }),
            ...(pagingState === undefined ? {} : { pagingState })
          }
        },
        { timeoutMs }
      ).pipe(Effect.mapError((failure): QueryFailure => ({ _tag: "Connection", failure })))
      if (res._tag === "Error") return yield* Effect.fail<QueryFailure>({ _tag: "Server", error: res.error })
      if (res._tag !== "Rows") return rows
      for (const r of res.rows) rows.push(r)
      pagingState = res.metadata.pagingState
    } while (pagingState !== undefined)
    return rows
  })

/** Rows of a table this server may lack (Cassandra 5.0's column_masks, 4.0's virtual schema): none when it does. */
const optional = (read: Effect.Effect<ReadonlyArray<Row>, QueryFailure>) =>
  Effect.catchIf(read, isInvalid, () => Effect.succeed<ReadonlyArray<Row>>([]))

/** Columns to read from system.peers_v2 and from system.peers (whose columns differ). */
interface PeerColumns {
  readonly v2: string
  readonly legacy: string
}

const allColumns: PeerColumns = { v2: "*", legacy: "*" }
const versionColumns: PeerColumns = {
  v2: "peer, native_address, native_port, host_id, schema_version",
  legacy: "peer, rpc_address, host_id, schema_version"
}

/** The peers rows, switching to system.peers (for good, on this connection) when system.peers_v2 is missing. */
const peers = (conn: Connection, state: ControlState, columns: PeerColumns, timeoutMs: number) =>
  Effect.suspend(() => {
    const legacy = selectAll(conn, `SELECT ${columns.legacy} FROM system.peers`, undefined, timeoutMs)
    if (state.peersTable === "system.peers") return legacy
    return Effect.catchIf(selectAll(conn, `SELECT ${columns.v2} FROM system.peers_v2`, undefined, timeoutMs), isInvalid, () => {
      state.peersTable = "system.peers"
      return legacy
    })
  })

const localQuery = "SELECT * FROM system.local WHERE key = 'local'"

type SchemaTable = Exclude<keyof SchemaRows, "virtualKeyspaces" | "virtualTables" | "virtualColumns">

const schemaTables: ReadonlyArray<readonly [SchemaTable, string]> = [
  ["keyspaces", "keyspaces"],
  ["tables", "tables"],
  ["columns", "columns"],
  ["indexes", "indexes"],
  ["views", "views"],
  ["types", "types"],
  ["functions", "functions"],
  ["aggregates", "aggregates"],
  ["triggers", "triggers"],
  ["columnMasks", "column_masks"]
]

const virtualTables: ReadonlyArray<readonly [keyof SchemaRows, string]> = [
  ["virtualKeyspaces", "keyspaces"],
  ["virtualTables", "tables"],
  ["virtualColumns", "columns"]
]

const droppedColumnNames = "keyspace_name, table_name, column_name, kind, type"

/** JS Date's range (ECMA-262 21.4.1.1). */
const dateRangeMs = 8.64e15

/**
 * system_schema.dropped_columns with dropped_time read as milliseconds: Cassandra 5.0 stores Long.MAX_VALUE µs
 * for system.local's thrift_version, beyond a JS Date, which the codec rejects (failing the whole page). A time
 * outside Date's range is left out. A server without toUnixTimestamp (or the stub) is read without the time.
 */
const droppedColumns = (conn: Connection, where: string, keyspaces: ReadonlyArray<string> | undefined, timeoutMs: number) =>
  Effect.catchIf(
    Effect.map(
      selectAll(conn, `SELECT ${droppedColumnNames}, toUnixTimestamp(dropped_time) AS dropped_time FROM system_schema.dropped_columns${where}`, keyspaces, timeoutMs),
      (rows) =>
        rows.map((row): Row => {
          const { dropped_time: ms, ...rest } = row
          return typeof ms === "bigint" && ms <= dateRangeMs && ms >= -dateRangeMs ? { ...rest, dropped_time: new Date(Number(ms)) } : rest
        })
    ),
    isInvalid,
    () => selectAll(conn, `SELECT ${droppedColumnNames} FROM system_schema.dropped_columns${where}`, keyspaces, timeoutMs)
  )

/**
 * The schema rows: every keyspace (virtual ones included) when `keyspaces` is undefined, else those keyspaces'
 * rows only (system_schema tables are partitioned by keyspace_name, so these are single-partition reads). The
 * reads go out together, pipelined on the one connection.
 */
export const readSchema = (
  conn: Connection,
  keyspaces: ReadonlyArray<string> | undefined,
  timeoutMs: number
): Effect.Effect<SchemaRows, QueryFailure> => {
  const where = keyspaces === undefined ? "" : ` WHERE keyspace_name IN (${keyspaces.map(() => "?").join(", ")})`
  const reads: Array<Effect.Effect<readonly [keyof SchemaRows, ReadonlyArray<Row>], QueryFailure>> = schemaTables.map(([field, table]) => {
    const read = selectAll(conn, `SELECT * FROM system_schema.${table}${where}`, keyspaces, timeoutMs)
    return Effect.map(field === "columnMasks" ? optional(read) : read, (rows) => [field, rows] as const)
  })
  reads.push(Effect.map(droppedColumns(conn, where, keyspaces, timeoutMs), (rows) => ["droppedColumns", rows] as const))
  if (keyspaces === undefined) {
    for (const [field, table] of virtualTables) {
      reads.push(Effect.map(optional(selectAll(conn, `SELECT * FROM system_virtual_schema.${table}`, undefined, timeoutMs)), (rows) => [field, rows] as const))
    }
  }
  return Effect.map(Effect.all(reads, { concurrency: "unbounded" }), (entries) => {
    const rows: Partial<Record<keyof SchemaRows, ReadonlyArray<Row>>> = Object.fromEntries(entries)
    return { ...rows, keyspaces: rows.keyspaces ?? [] }
  })
}

/**
 * system.local and the peers: every column for a topology refresh, or just what identifies each peer and its
 * schema version for schema agreement (system.local is read whole: its columns vary by version, and it is one row).
 */
export const readHosts = (
  conn: Connection,
  state: ControlState,
  what: "topology" | "schemaVersions",
  port: number,
  timeoutMs: number
): Effect.Effect<TopologyRows, QueryFailure> =>
  Effect.map(
    Effect.all(
      [selectAll(conn, localQuery, undefined, timeoutMs), peers(conn, state, what === "topology" ? allColumns : versionColumns, timeoutMs)],
      { concurrency: "unbounded" }
    ),
    ([local, peerRows]) => ({ local: local[0], peers: peerRows, connectedAddress: conn.host, port })
  )
