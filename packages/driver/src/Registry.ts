/**
 * RegistryService: what a cluster learns once and every Session reuses.
 * - Prepared statements, keyed by keyspace and query text: id, v5 result_metadata_id, bind metadata (with the
 *   partition-key indexes) and result metadata. Sessions replace the result metadata when a v5 response says it
 *   changed (Metadata_changed), and look an entry up by id when a node answers UNPREPARED.
 * - Effect Schemas registered for user-defined types: UDT values of that type are decoded through the Schema
 *   when rows are read, and encoded through it when bound.
 */
import type { DataType, Rows } from "@effect-cql/protocol"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
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
  readonly putPrepared: (statement: PreparedStatement) => void
  /** v5 Metadata_changed: the server's result metadata for this statement is now `columns`, under `metadataId`. */
  readonly updateResultMetadata: (
    statement: PreparedStatement,
    metadataId: Buffer,
    columns: ReadonlyArray<Rows.ColumnSpec>
  ) => PreparedStatement
  /** Which hosts (host:port) have the statement: the Session prepares it on the others in the background. */
  readonly markPreparedOn: (host: string, keyspace: string | undefined, query: string) => void
  readonly isPreparedOn: (host: string, keyspace: string | undefined, query: string) => boolean
  readonly registerUdt: <A, I>(keyspace: string, name: string, schema: Schema.Schema<A, I>) => void
  readonly udtSchema: (keyspace: string, name: string) => Schema.Schema<unknown, unknown> | undefined
  /** How many UDT Schemas are registered: lets the row path skip the UDT walk entirely when none are. */
  readonly udtCount: () => number
}

export const RegistryService = Context.GenericTag<RegistryService>("@effect-cql/driver/RegistryService")

const statementKey = (keyspace: string | undefined, query: string) => `${keyspace ?? ""}\u0000${query}`

export const make = (): RegistryService => {
  // By keyspace, then by query text: the lookup on every request hashes the query string, whose hash the engine
  // keeps on the string, instead of building a joined key each time.
  const byKeyspace = new Map<string, Map<string, PreparedStatement>>()
  const byId = new Map<string, PreparedStatement>()
  const udts = new Map<string, Schema.Schema<unknown, unknown>>()
  const preparedOn = new Set<string>()
  const put = (s: PreparedStatement) => {
    const ks = s.keyspace ?? ""
    let byQuery = byKeyspace.get(ks)
    if (byQuery === undefined) byKeyspace.set(ks, (byQuery = new Map()))
    byQuery.set(s.query, s)
    byId.set(s.id.toString("hex"), s)
  }
  return {
    getPrepared: (keyspace, query) => byKeyspace.get(keyspace ?? "")?.get(query),
    findPreparedById: (id) => byId.get(id.toString("hex")),
    allPrepared: () => [...byKeyspace.values()].flatMap((byQuery) => [...byQuery.values()]),
    putPrepared: put,
    updateResultMetadata: (statement, metadataId, columns) => {
      const next = { ...statement, resultMetadataId: metadataId, resultColumns: columns }
      put(next)
      return next
    },
    markPreparedOn: (host, keyspace, query) => {
      preparedOn.add(`${host}\u0000${statementKey(keyspace, query)}`)
    },
    isPreparedOn: (host, keyspace, query) => preparedOn.has(`${host}\u0000${statementKey(keyspace, query)}`),
    registerUdt: (keyspace, name, schema) => {
      udts.set(`${keyspace}.${name}`, schema as unknown as Schema.Schema<unknown, unknown>)
    },
    udtSchema: (keyspace, name) => udts.get(`${keyspace}.${name}`),
    udtCount: () => udts.size
  }
}

export const layer: Layer.Layer<RegistryService> = Layer.sync(RegistryService, make)
