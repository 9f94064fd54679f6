/**
 * system.local / system.peers(_v2) / system_schema rows -> the Metadata model. Total: a row that cannot be read
 * is skipped with a warning; a type text that cannot be parsed becomes a custom type with a warning.
 */
import type { DataType } from "@effect-cql/protocol"
import type {
  AggregateMetadata,
  ColumnKind,
  ColumnMask,
  ColumnMetadata,
  DroppedColumn,
  FunctionMetadata,
  Host,
  IndexMetadata,
  KeyspaceMetadata,
  OptionValue,
  Parsed,
  Relation,
  SchemaRows,
  TableMetadata,
  TriggerMetadata,
  UserTypeMetadata,
  ViewMetadata
} from "./model.js"
import { parseCqlType, stripFrozen } from "./cqlType.js"
import * as rv from "./rowValues.js"

type Row = rv.Row

// ---------------------------------------------------------------------------------------------------------------
// Hosts

/** 0.0.0.0 or :: in rpc_address means "all interfaces": not an address a client can use. */
const isUnspecified = (a: string): boolean => a === "0.0.0.0" || a === "::" || a === "0:0:0:0:0:0:0:0"

/** "address:port", with an IPv6 address in brackets. */
export const endpointOf = (address: string, port: number): string =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`

/** "address", "address:port" or "[ipv6]:port" (a bare IPv6 address has no port): the port is undefined when absent. */
export const parseEndpoint = (s: string): { readonly address: string; readonly port: number | undefined } => {
  const m = /^\[(.+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s)
  return m === null ? { address: s, port: undefined } : { address: m[1]!, port: m[2] === undefined ? undefined : Number(m[2]) }
}

const hostOf = (row: Row, address: string, port: number, broadcast: string | undefined): Host => ({
  endpoint: endpointOf(address, port),
  address,
  port,
  broadcastAddress: broadcast,
  hostId: rv.text(row, "host_id"),
  datacenter: rv.text(row, "data_center"),
  rack: rv.text(row, "rack"),
  tokens: rv.textList(row, "tokens"),
  releaseVersion: rv.text(row, "release_version"),
  schemaVersion: rv.text(row, "schema_version"),
  state: "up"
})

/** The control node: rpc_address and rpc_port, falling back to the address the connection reached. */
export const hostFromLocalRow = (row: Row, connectedAddress: string, defaultPort: number): Host => {
  const rpc = rv.text(row, "rpc_address")
  const address = rpc === undefined || isUnspecified(rpc) ? connectedAddress : rpc
  return hostOf(row, address, rv.int(row, "rpc_port") ?? defaultPort, rv.text(row, "broadcast_address"))
}

/** A peer: native_address/native_port (peers_v2) or rpc_address (peers), else its gossip address. */
export const hostFromPeerRow = (row: Row, defaultPort: number): Host | string => {
  const peer = rv.text(row, "peer")
  const native = rv.text(row, "native_address") ?? rv.text(row, "rpc_address")
  const address = native === undefined || isUnspecified(native) ? peer : native
  if (address === undefined) return `peer row without an address: skipped (host_id ${rv.text(row, "host_id")})`
  return hostOf(row, address, rv.int(row, "native_port") ?? defaultPort, peer)
}

// ---------------------------------------------------------------------------------------------------------------
// Schema

/** Rows grouped by keyspace, then by the value of `column` (table, view or type name). */
class Grouped {
  private readonly byKeyspace = new Map<string, Map<string, Array<Row>>>()

  constructor(rows: ReadonlyArray<Row> | undefined, column: string) {
    for (const row of rows ?? []) {
      const ks = rv.text(row, "keyspace_name")
      const name = rv.text(row, column)
      if (ks === undefined || name === undefined) continue
      let inKs = this.byKeyspace.get(ks)
      if (inKs === undefined) this.byKeyspace.set(ks, (inKs = new Map()))
      const list = inKs.get(name)
      if (list === undefined) inKs.set(name, [row])
      else list.push(row)
    }
  }

  of(keyspace: string): ReadonlyMap<string, ReadonlyArray<Row>> {
    return this.byKeyspace.get(keyspace) ?? new Map()
  }

  rows(keyspace: string, name: string): ReadonlyArray<Row> {
    return this.byKeyspace.get(keyspace)?.get(name) ?? []
  }
}

export const parseKeyspaces = (rows: SchemaRows): Parsed<ReadonlyMap<string, KeyspaceMetadata>> => {
  const warnings: Array<string> = []
  const g = {
    tables: new Grouped(rows.tables, "table_name"),
    columns: new Grouped(rows.columns, "table_name"),
    dropped: new Grouped(rows.droppedColumns, "table_name"),
    indexes: new Grouped(rows.indexes, "table_name"),
    views: new Grouped(rows.views, "view_name"),
    types: new Grouped(rows.types, "type_name"),
    functions: new Grouped(rows.functions, "function_name"),
    aggregates: new Grouped(rows.aggregates, "aggregate_name"),
    triggers: new Grouped(rows.triggers, "table_name"),
    masks: new Grouped(rows.columnMasks, "table_name"),
    virtualTables: new Grouped(rows.virtualTables, "table_name"),
    virtualColumns: new Grouped(rows.virtualColumns, "table_name")
  }
  const out = new Map<string, KeyspaceMetadata>()
  for (const row of rows.keyspaces) {
    const ks = keyspaceOf(row, g, false, warnings)
    if (ks !== undefined) out.set(ks.name, ks)
  }
  for (const row of rows.virtualKeyspaces ?? []) {
    const ks = keyspaceOf(row, g, true, warnings)
    if (ks !== undefined) out.set(ks.name, ks)
  }
  return { value: out, warnings }
}

type Groups = {
  readonly [K in
    | "tables"
    | "columns"
    | "dropped"
    | "indexes"
    | "views"
    | "types"
    | "functions"
    | "aggregates"
    | "triggers"
    | "masks"
    | "virtualTables"
    | "virtualColumns"]: Grouped
}

const byName = <A extends { readonly name: string }>(items: Iterable<A>): Map<string, A> => {
  const sorted = [...items].sort((a, b) => compareText(a.name, b.name))
  return new Map(sorted.map((x) => [x.name, x]))
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const keyspaceOf = (row: Row, g: Groups, virtual: boolean, warnings: Array<string>): KeyspaceMetadata | undefined => {
  const name = rv.text(row, "keyspace_name")
  if (name === undefined) {
    warnings.push("keyspace row without keyspace_name: skipped")
    return undefined
  }
  const replication = rv.textMap(row, "replication")
  const strategyClass = replication.get("class") ?? ""
  replication.delete("class")
  const userTypes = userTypesOf(name, g.types.of(name), warnings)
  const typeOf = (text: string, where: string): DataType.DataType => {
    try {
      return parseCqlType(text, (ks, n) => (ks === undefined || ks === name ? userTypes.get(n)?.type : undefined))
    } catch (e) {
      warnings.push(`${where}: ${e instanceof Error ? e.message : String(e)}; kept as a custom type`)
      return { kind: "custom", className: text }
    }
  }
  const tables: Array<TableMetadata> = []
  const tableRows = virtual ? g.virtualTables.of(name) : g.tables.of(name)
  for (const [tableName, [tableRow]] of tableRows) {
    const columnRows = (virtual ? g.virtualColumns : g.columns).rows(name, tableName)
    tables.push(tableOf(name, tableName, tableRow!, columnRows, g, virtual, typeOf, warnings))
  }
  const views: Array<ViewMetadata> = []
  for (const [viewName, [viewRow]] of g.views.of(name)) {
    views.push(viewOf(name, viewName, viewRow!, g.columns.rows(name, viewName), g, typeOf, warnings))
  }
  const viewsByBase = new Map<string, Array<string>>()
  for (const v of views) viewsByBase.set(v.baseTable, [...(viewsByBase.get(v.baseTable) ?? []), v.name])
  return {
    name,
    virtual,
    durableWrites: rv.bool(row, "durable_writes") ?? true,
    replication: { strategyClass, options: new Map([...replication].sort(([a], [b]) => compareText(a, b))) },
    tables: byName(tables.map((t) => ({ ...t, views: (viewsByBase.get(t.name) ?? []).sort(compareText) }))),
    views: byName(views),
    userTypes,
    functions: bySignature(functionsOf(name, g.functions.of(name))),
    aggregates: bySignature(aggregatesOf(name, g.aggregates.of(name)))
  }
}

/**
 * User types, each resolved to a DataType with its fields' types (which may name other user types of the
 * keyspace: resolved depth first, memoized; a cycle, impossible in Cassandra, is reported and broken).
 */
const userTypesOf = (
  keyspace: string,
  rows: ReadonlyMap<string, ReadonlyArray<Row>>,
  warnings: Array<string>
): Map<string, UserTypeMetadata> => {
  const done = new Map<string, UserTypeMetadata>()
  const inProgress = new Set<string>()
  const resolve = (name: string): UserTypeMetadata | undefined => {
    const known = done.get(name)
    if (known !== undefined) return known
    const row = rows.get(name)?.[0]
    if (row === undefined || inProgress.has(name)) return undefined
    inProgress.add(name)
    const fieldNames = rv.textList(row, "field_names")
    const fieldTypes = rv.textList(row, "field_types")
    const fields: Array<{ name: string; type: DataType.DataType }> = []
    for (let i = 0; i < fieldNames.length; i++) {
      const text = fieldTypes[i] ?? ""
      let type: DataType.DataType
      try {
        type = parseCqlType(text, (ks, n) => (ks === undefined || ks === keyspace ? resolve(n)?.type : undefined))
      } catch (e) {
        warnings.push(`type ${keyspace}.${name} field ${fieldNames[i]}: ${(e as Error).message}; kept as a custom type`)
        type = { kind: "custom", className: text }
      }
      fields.push({ name: fieldNames[i]!, type })
    }
    inProgress.delete(name)
    const ut: UserTypeMetadata = { keyspace, name, fieldNames, fieldTypes, type: { kind: "udt", keyspace, name, fields } }
    done.set(name, ut)
    return ut
  }
  for (const name of rows.keys()) resolve(name)
  return byName(done.values())
}

const signature = (name: string, argumentTypes: ReadonlyArray<string>): string =>
  `${name}(${argumentTypes.map((t) => stripFrozen(t).replace(/\s+/g, "")).join(",")})`

const bySignature = <A extends { readonly signature: string }>(items: ReadonlyArray<A>): Map<string, A> =>
  new Map([...items].sort((a, b) => compareText(a.signature, b.signature)).map((x) => [x.signature, x]))

/** Functions or aggregates: every overload of every name, keyed by its signature. */
const routinesOf = <A>(
  keyspace: string,
  rows: ReadonlyMap<string, ReadonlyArray<Row>>,
  rest: (row: Row) => A
): Array<{ keyspace: string; name: string; signature: string; argumentTypes: Array<string> } & A> =>
  [...rows].flatMap(([name, overloads]) =>
    overloads.map((row) => {
      const argumentTypes = rv.textList(row, "argument_types")
      return { keyspace, name, signature: signature(name, argumentTypes), argumentTypes, ...rest(row) }
    })
  )

const functionsOf = (keyspace: string, rows: ReadonlyMap<string, ReadonlyArray<Row>>): Array<FunctionMetadata> =>
  routinesOf(keyspace, rows, (row) => ({
    argumentNames: rv.textList(row, "argument_names"),
    returnType: rv.text(row, "return_type") ?? "",
    language: rv.text(row, "language") ?? "",
    body: rv.text(row, "body") ?? "",
    calledOnNullInput: rv.bool(row, "called_on_null_input") ?? false
  }))

const aggregatesOf = (keyspace: string, rows: ReadonlyMap<string, ReadonlyArray<Row>>): Array<AggregateMetadata> =>
  routinesOf(keyspace, rows, (row) => ({
    stateFunction: rv.text(row, "state_func") ?? "",
    stateType: rv.text(row, "state_type") ?? "",
    finalFunction: rv.text(row, "final_func"),
    initialCondition: rv.text(row, "initcond"),
    returnType: rv.text(row, "return_type") ?? ""
  }))

type TypeOf = (text: string, where: string) => DataType.DataType

const columnKinds: ReadonlySet<string> = new Set<ColumnKind>(["partition_key", "clustering", "regular", "static"])

const kindRank: Readonly<Record<ColumnKind, number>> = { partition_key: 0, clustering: 1, static: 2, regular: 3 }

/** Columns in DDL order: partition key and clustering key by position, then static and regular ones by name. */
const columnsOf = (
  where: string,
  rows: ReadonlyArray<Row>,
  masks: ReadonlyArray<Row>,
  typeOf: TypeOf,
  warnings: Array<string>
): Array<ColumnMetadata> => {
  const maskOf = new Map<string, ColumnMask>()
  for (const m of masks) {
    const column = rv.text(m, "column_name")
    if (column === undefined) continue
    const nulls = rv.boolList(m, "function_argument_nulls")
    maskOf.set(column, {
      functionKeyspace: rv.text(m, "function_keyspace") ?? "system",
      functionName: rv.text(m, "function_name") ?? "",
      argumentTypes: rv.textList(m, "function_argument_types"),
      argumentValues: rv.nullableTextList(m, "function_argument_values").map((v, i) => (nulls[i] === true ? null : v))
    })
  }
  const out: Array<ColumnMetadata> = []
  for (const row of rows) {
    const name = rv.text(row, "column_name")
    const kind = rv.text(row, "kind")
    const cqlType = rv.text(row, "type")
    if (name === undefined || kind === undefined || cqlType === undefined || !columnKinds.has(kind)) {
      warnings.push(`${where}: column row without a name, a known kind or a type: skipped`)
      continue
    }
    const order = rv.text(row, "clustering_order")?.toLowerCase()
    out.push({
      name,
      kind: kind as ColumnKind,
      position: rv.int(row, "position") ?? -1,
      order: order === "asc" || order === "desc" ? order : "none",
      cqlType,
      type: typeOf(cqlType, `${where}.${name}`),
      mask: maskOf.get(name)
    })
  }
  return out.sort(
    (a, b) =>
      kindRank[a.kind] - kindRank[b.kind] ||
      (a.kind === "partition_key" || a.kind === "clustering" ? a.position - b.position : compareText(a.name, b.name))
  )
}

/** Columns of system_schema.tables/views that describe the relation rather than being options. */
const notOptions: ReadonlySet<string> = new Set([
  "keyspace_name",
  "table_name",
  "view_name",
  "id",
  "flags",
  "extensions",
  "base_table_id",
  "base_table_name",
  "include_all_columns",
  "where_clause",
  "virtual"
])

/** Every option column that holds a value, so that options newer than this driver are kept too. */
const optionsOf = (row: Row): Map<string, OptionValue> => {
  const out = new Map<string, OptionValue>()
  for (const key of Object.keys(row).sort(compareText)) {
    if (notOptions.has(key)) continue
    const v = row[key]
    if (typeof v === "string" || typeof v === "boolean") out.set(key, v)
    else if (typeof v === "number") out.set(key, v)
    else if (typeof v === "bigint") out.set(key, Number(v))
    else if (v instanceof Map || (typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)))
      out.set(key, new Map([...rv.textMap(row, key)].sort(([a], [b]) => compareText(a, b))))
  }
  return out
}

const relation = (
  keyspace: string,
  name: string,
  row: Row,
  columns: Array<ColumnMetadata>
): Relation => ({
  keyspace,
  name,
  id: rv.text(row, "id"),
  columns,
  partitionKey: columns.filter((c) => c.kind === "partition_key"),
  clusteringKey: columns.filter((c) => c.kind === "clustering"),
  options: optionsOf(row),
  extensions: rv.blobMap(row, "extensions")
})

const tableOf = (
  keyspace: string,
  name: string,
  row: Row,
  columnRows: ReadonlyArray<Row>,
  g: Groups,
  virtual: boolean,
  typeOf: TypeOf,
  warnings: Array<string>
): TableMetadata => {
  const where = `${keyspace}.${name}`
  const flags = rv.textList(row, "flags").sort(compareText)
  const columns = columnsOf(where, columnRows, g.masks.rows(keyspace, name), typeOf, warnings)
  return {
    ...relation(keyspace, name, row, columns),
    virtual,
    flags,
    // The Python driver's reading of the flags: dense, super, or not compound means COMPACT STORAGE.
    compactStorage: !virtual && (flags.includes("dense") || flags.includes("super") || !flags.includes("compound")),
    indexes: byName(g.indexes.rows(keyspace, name).flatMap((r) => indexOf(name, r))),
    triggers: byName(g.triggers.rows(keyspace, name).flatMap(triggerOf)),
    droppedColumns: byName(g.dropped.rows(keyspace, name).flatMap(droppedOf)),
    views: []
  }
}

const viewOf = (
  keyspace: string,
  name: string,
  row: Row,
  columnRows: ReadonlyArray<Row>,
  g: Groups,
  typeOf: TypeOf,
  warnings: Array<string>
): ViewMetadata => {
  const columns = columnsOf(`${keyspace}.${name}`, columnRows, g.masks.rows(keyspace, name), typeOf, warnings)
  return {
    ...relation(keyspace, name, row, columns),
    baseTable: rv.text(row, "base_table_name") ?? "",
    baseTableId: rv.text(row, "base_table_id"),
    includeAllColumns: rv.bool(row, "include_all_columns") ?? false,
    whereClause: rv.text(row, "where_clause") ?? ""
  }
}

const indexOf = (table: string, row: Row): Array<IndexMetadata> => {
  const name = rv.text(row, "index_name")
  if (name === undefined) return []
  const options = rv.textMap(row, "options")
  return [
    {
      name,
      table,
      kind: rv.text(row, "kind") ?? "COMPOSITES",
      target: options.get("target") ?? "",
      className: options.get("class_name"),
      options: new Map([...options].sort(([a], [b]) => compareText(a, b)))
    }
  ]
}

const triggerOf = (row: Row): Array<TriggerMetadata> => {
  const name = rv.text(row, "trigger_name")
  if (name === undefined) return []
  const options = rv.textMap(row, "options")
  return [{ name, className: options.get("class"), options }]
}

const droppedOf = (row: Row): Array<DroppedColumn> => {
  const name = rv.text(row, "column_name")
  if (name === undefined) return []
  return [{ name, cqlType: rv.text(row, "type") ?? "", kind: rv.text(row, "kind"), droppedAt: rv.date(row, "dropped_time") }]
}
