/**
 * The registry, as the Cluster's `registry` facet shows it: what a cluster learns once and every Session reuses.
 * - Prepared statements, keyed by keyspace and query text: id, v5 result_metadata_id, bind metadata (with the
 *   partition-key indexes) and result metadata. Sessions record them as PREPAREs are answered, and replace the
 *   result metadata when a v5 response says it changed (internal/request/registryStore.ts).
 * - Effect Schemas registered for user-defined types: UDT values of that type are decoded through the Schema
 *   when rows are read, and encoded through it when bound.
 */
import type { DataType, Rows } from "@effect-cql/protocol"
import type * as Schema from "effect/Schema"

export interface PreparedStatement {
  readonly query: string
  /** The keyspace the statement was prepared in (v5 per-query keyspace, else the session's). */
  readonly keyspace: string | undefined
  readonly id: Buffer
  readonly resultMetadataId: Buffer | undefined
  readonly bindColumns: ReadonlyArray<Rows.ColumnSpec>
  readonly bindTypes: ReadonlyArray<DataType.DataType>
  readonly pkIndexes: ReadonlyArray<number>
  readonly resultColumns: ReadonlyArray<Rows.ColumnSpec>
}

export interface RegistryService {
  readonly getPrepared: (keyspace: string | undefined, query: string) => PreparedStatement | undefined
  readonly findPreparedById: (id: Buffer) => PreparedStatement | undefined
  /** Every prepared statement (the latest version of each). */
  readonly allPrepared: () => ReadonlyArray<PreparedStatement>
  /** How many statements it holds: at most the Cluster's `maxPreparedStatements`. */
  readonly preparedCount: () => number
  /** Which hosts (host:port) have the statement: the Cluster prepares it on the others in the background. */
  readonly isPreparedOn: (host: string, keyspace: string | undefined, query: string) => boolean
  /** Decode and encode values of the user-defined type `keyspace.name` through `schema`, in every Session. */
  readonly registerUdt: <A, I>(keyspace: string, name: string, schema: Schema.Schema<A, I>) => void
  readonly udtSchema: (keyspace: string, name: string) => Schema.Schema<unknown, unknown> | undefined
  /** How many UDT Schemas are registered: lets the row path skip the UDT walk entirely when none are. */
  readonly udtCount: () => number
}
