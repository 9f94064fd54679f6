/**
 * The registry behind the Cluster's `registry` facet (Registry.ts), with its writers: Sessions put prepared
 * statements as PREPAREs are answered, replace their result metadata on a v5 Metadata_changed, and record which
 * hosts have each one.
 */
import type { Rows } from "@effect-cql/protocol"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type { PreparedStatement, RegistryService } from "../../Registry.js"

export interface RegistryStore extends RegistryService {
  readonly putPrepared: (statement: PreparedStatement) => void
  /** v5 Metadata_changed: the server's result metadata for this statement is now `columns`, under `metadataId`. */
  readonly updateResultMetadata: (
    statement: PreparedStatement,
    metadataId: Buffer,
    columns: ReadonlyArray<Rows.ColumnSpec>
  ) => PreparedStatement
  readonly markPreparedOn: (host: string, keyspace: string | undefined, query: string) => void
}

export const RegistryStore = Context.GenericTag<RegistryStore>("@effect-cql/driver/RegistryStore")

const statementKey = (keyspace: string | undefined, query: string) => `${keyspace ?? ""}\u0000${query}`

export const make = (): RegistryStore => {
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

export const layer: Layer.Layer<RegistryStore> = Layer.sync(RegistryStore, make)
