/**
 * The registry behind the Cluster's `registry` facet (Registry.ts), with its writers: Sessions put prepared
 * statements as PREPAREs are answered, replace their result metadata on a v5 Metadata_changed, and record which
 * hosts have each one. It is bounded: past `maxPrepared` statements the least recently used goes, and a Session
 * prepares it again the next time it runs (distinct query texts would otherwise grow it without limit).
 */
import type { Rows } from "@effect-cql/protocol"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as Metrics from "../../Metrics.js"
import type { PreparedStatement, RegistryService } from "../../Registry.js"
import * as Defaults from "../defaults.js"

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

/** One statement, when it was last used (a tick of the registry's clock), and the hosts that have it. */
interface Entry {
  statement: PreparedStatement
  lastUsed: number
  readonly hosts: Set<string>
}

export interface Options {
  /** At most this many statements; past it the least recently used one is dropped. Default 10,000. */
  readonly maxPrepared?: number
  readonly onEvict?: () => void
}

export const make = (options: Options = {}): RegistryStore => {
  const max = options.maxPrepared ?? Defaults.MAX_PREPARED_STATEMENTS
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxPreparedStatements must be a positive integer, not ${max}`)
  const onEvict = options.onEvict
  // By keyspace, then by query text: the lookup on every request hashes the query string, whose hash the engine
  // keeps on the string, instead of building a joined key each time.
  const byKeyspace = new Map<string, Map<string, Entry>>()
  const byId = new Map<string, Entry>()
  // A lookup only stamps its entry (the request path reorders nothing); finding the least recently used one is a scan,
  // done only when a PREPARE answer pushes the registry past its size.
  const entries = new Set<Entry>()
  let tick = 0
  const udts = new Map<string, Schema.Schema<unknown, unknown>>()
  const entryOf = (keyspace: string | undefined, query: string) => byKeyspace.get(keyspace ?? "")?.get(query)

  const drop = (e: Entry) => {
    entries.delete(e)
    const ks = e.statement.keyspace ?? ""
    const byQuery = byKeyspace.get(ks)!
    byQuery.delete(e.statement.query)
    if (byQuery.size === 0) byKeyspace.delete(ks)
    const id = e.statement.id.toString("hex")
    if (byId.get(id) === e) byId.delete(id)
    onEvict?.()
  }
  const evictLeastRecentlyUsed = () => {
    let oldest: Entry | undefined
    for (const e of entries) if (oldest === undefined || e.lastUsed < oldest.lastUsed) oldest = e
    drop(oldest!)
  }
  const put = (s: PreparedStatement) => {
    const ks = s.keyspace ?? ""
    let byQuery = byKeyspace.get(ks)
    if (byQuery === undefined) byKeyspace.set(ks, (byQuery = new Map()))
    let e = byQuery.get(s.query)
    if (e === undefined) {
      e = { statement: s, lastUsed: ++tick, hosts: new Set() }
      byQuery.set(s.query, e)
      entries.add(e)
    } else e.statement = s
    byId.set(s.id.toString("hex"), e)
    while (entries.size > max) evictLeastRecentlyUsed()
  }
  return {
    getPrepared: (keyspace, query) => {
      const e = entryOf(keyspace, query)
      if (e === undefined) return undefined
      e.lastUsed = ++tick
      return e.statement
    },
    findPreparedById: (id) => byId.get(id.toString("hex"))?.statement,
    allPrepared: () => Array.from(entries, (e) => e.statement),
    preparedCount: () => entries.size,
    putPrepared: put,
    updateResultMetadata: (statement, metadataId, columns) => {
      const next = { ...statement, resultMetadataId: metadataId, resultColumns: columns }
      put(next)
      return next
    },
    markPreparedOn: (host, keyspace, query) => {
      entryOf(keyspace, query)?.hosts.add(host)
    },
    isPreparedOn: (host, keyspace, query) => entryOf(keyspace, query)?.hosts.has(host) === true,
    registerUdt: (keyspace, name, schema) => {
      udts.set(`${keyspace}.${name}`, schema as unknown as Schema.Schema<unknown, unknown>)
    },
    udtSchema: (keyspace, name) => udts.get(`${keyspace}.${name}`),
    udtCount: () => udts.size
  }
}

/** The store, counting evictions in the MetricsService. */
export const layer = (maxPrepared?: number): Layer.Layer<RegistryStore, never, Metrics.MetricsService> =>
  Layer.effect(
    RegistryStore,
    Effect.map(Metrics.MetricsService, (metrics) => make({ ...(maxPrepared === undefined ? {} : { maxPrepared }), onEvict: metrics.preparedEvicted }))
  )
