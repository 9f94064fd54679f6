/**
 * Schema metadata as CQL DDL that re-creates it: a keyspace with its user types, functions, aggregates, tables,
 * indexes, triggers and materialized views, in an order where everything comes after what it depends on; or one
 * table with its indexes, triggers and views. The layout follows the Python driver's `export_as_string`
 * (statements separated by blank lines, one column or option per line). Virtual keyspaces and tables cannot be
 * created with CQL: they come out as comments, for reference.
 */
import type { DataType } from "@effect-cql/protocol"
import type {
  AggregateMetadata,
  ColumnMask,
  ColumnMetadata,
  FunctionMetadata,
  IndexMetadata,
  KeyspaceMetadata,
  OptionValue,
  Relation,
  TableMetadata,
  TriggerMetadata,
  UserTypeMetadata,
  ViewMetadata
} from "./Metadata.js"
import { stripFrozen } from "./internal/metadata/cqlType.js"
import { strategyName } from "./internal/metadata/replication.js"

/** CQL's reserved keywords (Cassandra's reserved_keywords.txt): as names they must be double-quoted. */
const reserved: ReadonlySet<string> = new Set(
  (
    "add allow alter and apply asc authorize batch begin by columnfamily create delete desc describe drop entries " +
    "execute from full grant if in index infinity insert into is keyspace limit materialized modify nan norecursive " +
    "not null of on or order primary rename revoke schema select set table to token truncate unlogged update use " +
    "using view where with"
  ).split(" ")
)

/** A name as CQL text: double-quoted unless it is lower case letters, digits and `_` and not a reserved word. */
export const quoteName = (name: string): string =>
  /^[a-z][a-z0-9_]*$/.test(name) && !reserved.has(name) ? name : `"${name.replace(/"/g, '""')}"`

/** A string literal. */
const quoteText = (s: string): string => `'${s.replace(/'/g, "''")}'`

const qualified = (keyspace: string, name: string): string => `${quoteName(keyspace)}.${quoteName(name)}`

const indent = "    "

// ---------------------------------------------------------------------------------------------------------------
// Keyspaces

/** `CREATE KEYSPACE ...;` alone. */
export const keyspaceDdl = (ks: KeyspaceMetadata): string => {
  if (ks.virtual) return `// VIRTUAL KEYSPACE ${quoteName(ks.name)}`
  const className = ks.replication.strategyClass.startsWith("org.apache.cassandra.locator.")
    ? strategyName(ks.replication.strategyClass)
    : ks.replication.strategyClass
  const options = [`'class': ${quoteText(className)}`, ...[...ks.replication.options].map(([k, v]) => `${quoteText(k)}: ${quoteText(v)}`)]
  return `CREATE KEYSPACE ${quoteName(ks.name)} WITH replication = {${options.join(", ")}} AND durable_writes = ${ks.durableWrites};`
}

/**
 * The statements that re-create a keyspace, in order: the keyspace, user types (each after the types it uses),
 * functions, aggregates, then each table followed by its indexes, triggers and views. Each ends with `;`, ready
 * to execute one by one. A virtual keyspace has none.
 */
export const keyspaceStatements = (ks: KeyspaceMetadata): Array<string> =>
  ks.virtual ? [] : keyspaceGroups(ks).flat()

/** The whole keyspace as one text (statement groups separated by blank lines). */
export const exportKeyspace = (ks: KeyspaceMetadata): string => {
  const cql = keyspaceGroups(ks)
    .map((g) => g.join("\n"))
    .join("\n\n")
  return ks.virtual
    ? `/*\nWarning: Keyspace ${quoteName(ks.name)} is a virtual keyspace and cannot be recreated with CQL.\nStructure, for reference:\n${cql}\n*/`
    : cql
}

const keyspaceGroups = (ks: KeyspaceMetadata): Array<Array<string>> => [
  [keyspaceDdl(ks)],
  ...userTypesInOrder(ks).map((t) => [userTypeDdl(t)]),
  ...[...ks.functions.values()].map((f) => [functionDdl(f)]),
  ...[...ks.aggregates.values()].map((a) => [aggregateDdl(a)]),
  ...[...ks.tables.values()].flatMap((t) => tableGroups(ks, t)),
  // Views whose base table is not in the snapshot (a refresh caught mid-change) still come out.
  ...[...ks.views.values()].filter((v) => !ks.tables.has(v.baseTable)).map((v) => [viewDdl(v)])
]

/** User types ordered so that a type comes after the types its fields use (by name otherwise). */
const userTypesInOrder = (ks: KeyspaceMetadata): Array<UserTypeMetadata> => {
  const out: Array<UserTypeMetadata> = []
  const placed = new Set<string>()
  const visit = (ut: UserTypeMetadata): void => {
    if (placed.has(ut.name)) return
    placed.add(ut.name)
    for (const dep of udtsUsed(ut.type, ks.name)) {
      const d = ks.userTypes.get(dep)
      if (d !== undefined) visit(d)
    }
    out.push(ut)
  }
  for (const ut of ks.userTypes.values()) visit(ut)
  return out
}

/** Names of the keyspace's user types that appear inside `t` (not `t` itself). */
const udtsUsed = (t: DataType.DataType, keyspace: string): Array<string> => {
  const out: Array<string> = []
  const walk = (x: DataType.DataType, top: boolean): void => {
    switch (x.kind) {
      case "list":
      case "set":
      case "vector":
        return walk(x.element, false)
      case "map":
        walk(x.key, false)
        return walk(x.value, false)
      case "tuple":
        return x.elements.forEach((e) => walk(e, false))
      case "udt":
        if (!top && x.keyspace === keyspace) out.push(x.name)
        return x.fields.forEach((f) => walk(f.type, false))
    }
  }
  walk(t, true)
  return out
}

export const userTypeDdl = (ut: UserTypeMetadata): string => {
  const fields = ut.fieldNames.map((n, i) => `${indent}${quoteName(n)} ${ut.fieldTypes[i] ?? ""}`)
  return `CREATE TYPE ${qualified(ut.keyspace, ut.name)} (\n${fields.join(",\n")}\n);`
}

/** The body between `$$`, or as a quoted string when it contains `$$` itself. */
const functionBody = (body: string): string => (body.includes("$$") ? quoteText(body) : `$$${body}$$`)

export const functionDdl = (f: FunctionMetadata): string => {
  // Argument and return types cannot be declared frozen (system_schema stores them frozen).
  const args = f.argumentNames.map((n, i) => `${quoteName(n)} ${stripFrozen(f.argumentTypes[i] ?? "")}`).join(", ")
  return [
    `CREATE FUNCTION ${qualified(f.keyspace, f.name)}(${args})`,
    `${f.calledOnNullInput ? "CALLED" : "RETURNS NULL"} ON NULL INPUT`,
    `RETURNS ${stripFrozen(f.returnType)}`,
    `LANGUAGE ${f.language}`,
    `AS ${functionBody(f.body)};`
  ].join(`\n${indent}`)
}

export const aggregateDdl = (a: AggregateMetadata): string =>
  [
    `CREATE AGGREGATE ${qualified(a.keyspace, a.name)}(${a.argumentTypes.map(stripFrozen).join(", ")})`,
    `SFUNC ${quoteName(a.stateFunction)}`,
    `STYPE ${stripFrozen(a.stateType)}`,
    ...(a.finalFunction === undefined ? [] : [`FINALFUNC ${quoteName(a.finalFunction)}`]),
    ...(a.initialCondition === undefined ? [] : [`INITCOND ${a.initialCondition}`])
  ].join(`\n${indent}`) + ";"

// ---------------------------------------------------------------------------------------------------------------
// Tables

/** A table's statements: the table, its indexes and triggers, then its materialized views. */
export const tableStatements = (ks: KeyspaceMetadata, t: TableMetadata): Array<string> =>
  t.virtual ? [] : tableGroups(ks, t).flat()

/** A table with its indexes and triggers, then its views (found in its keyspace), as one text. */
export const exportTable = (ks: KeyspaceMetadata, t: TableMetadata): string => {
  const cql = tableGroups(ks, t)
    .map((g) => g.join("\n"))
    .join("\n\n")
  return t.virtual
    ? `/*\nWarning: Table ${qualified(t.keyspace, t.name)} is a virtual table and cannot be recreated with CQL.\nStructure, for reference:\n${cql}\n*/`
    : cql
}

const tableGroups = (ks: KeyspaceMetadata, t: TableMetadata): Array<Array<string>> => [
  [
    tableDdl(t),
    ...[...t.indexes.values()].map((i) => indexDdl(t.keyspace, i)),
    ...[...t.triggers.values()].map((tr) => triggerDdl(t, tr))
  ],
  ...t.views.flatMap((name) => {
    const v = ks.views.get(name)
    return v === undefined ? [] : [[viewDdl(v)]]
  })
]

/** `CREATE TABLE ...;` alone (virtual tables as `VIRTUAL TABLE`, which only a comment can hold). */
export const tableDdl = (t: TableMetadata): string => {
  const shown = visibleColumns(t)
  const singleKey = t.partitionKey.length === 1 && shown.clustering.length === 0
  const lines = shown.columns.map(
    (c) =>
      `${indent}${columnDdl(c, shown.staticAsRegular)}${singleKey && c.kind === "partition_key" ? " PRIMARY KEY" : ""}`
  )
  if (!singleKey) lines.push(`${indent}PRIMARY KEY ${primaryKey(t.partitionKey, shown.clustering)}`)
  const properties = [
    ...(t.compactStorage ? ["COMPACT STORAGE"] : []),
    ...clusteringOrder(shown.clustering),
    ...optionStrings(t, false)
  ]
  const head = `${t.virtual ? "VIRTUAL" : "CREATE"} TABLE ${qualified(t.keyspace, t.name)} (\n${lines.join(",\n")}\n)`
  return `${head}${properties.length === 0 ? "" : ` WITH ${properties.join(`\n${indent}AND `)}`};`
}

/**
 * The columns DDL declares. COMPACT STORAGE tables carry internal columns (the Python driver's rules): a
 * "static" compact table (neither compound nor dense) declares only its key and its static columns, the latter
 * as regular ones; a dense table hides its value column of type `empty`.
 */
const visibleColumns = (
  t: TableMetadata
): { columns: ReadonlyArray<ColumnMetadata>; clustering: ReadonlyArray<ColumnMetadata>; staticAsRegular: boolean } => {
  if (!t.compactStorage) return { columns: t.columns, clustering: t.clusteringKey, staticAsRegular: false }
  const dense = t.flags.includes("dense")
  if (!dense && !t.flags.includes("super")) {
    return {
      columns: t.columns.filter((c) => c.kind === "partition_key" || c.kind === "static"),
      clustering: [],
      staticAsRegular: true
    }
  }
  return {
    columns: t.columns.filter((c) => !(dense && c.kind === "regular" && c.cqlType === "empty")),
    clustering: t.clusteringKey,
    staticAsRegular: false
  }
}

const columnDdl = (c: ColumnMetadata, staticAsRegular: boolean): string =>
  `${quoteName(c.name)} ${c.cqlType}${c.kind === "static" && !staticAsRegular ? " static" : ""}${
    c.mask === undefined ? "" : ` MASKED WITH ${maskDdl(c.mask)}`
  }`

/** Types whose literals are quoted strings (Cassandra stores mask arguments as the values' text). */
const quotedLiteralTypes: ReadonlySet<string> = new Set(["ascii", "text", "varchar", "inet", "date", "time", "timestamp"])

const maskDdl = (m: ColumnMask): string => {
  const args = m.argumentValues.map((v, i) =>
    v === null ? "null" : quotedLiteralTypes.has(m.argumentTypes[i] ?? "") ? quoteText(v) : v
  )
  return `${qualified(m.functionKeyspace, m.functionName)}(${args.join(", ")})`
}

const primaryKey = (partition: ReadonlyArray<ColumnMetadata>, clustering: ReadonlyArray<ColumnMetadata>): string => {
  const pk = partition.map((c) => quoteName(c.name)).join(", ")
  const parts = [partition.length === 1 ? pk : `(${pk})`, ...clustering.map((c) => quoteName(c.name))]
  return `(${parts.join(", ")})`
}

const clusteringOrder = (clustering: ReadonlyArray<ColumnMetadata>): Array<string> =>
  clustering.length === 0
    ? []
    : [`CLUSTERING ORDER BY (${clustering.map((c) => `${quoteName(c.name)} ${c.order === "desc" ? "DESC" : "ASC"}`).join(", ")})`]

const optionValue = (v: OptionValue): string =>
  typeof v === "string"
    ? quoteText(v)
    : typeof v === "number" || typeof v === "boolean"
      ? String(v)
      : `{${[...v].map(([k, x]) => `${quoteText(k)}: ${quoteText(x)}`).join(", ")}}`

/**
 * `name = value` for every option set, by name. Cassandra 4.0 replaced read_repair_chance and
 * dclocal_read_repair_chance by read_repair but keeps the old columns, which can no longer be set; a view cannot
 * set default_time_to_live.
 */
const optionStrings = (r: Relation, isView: boolean): Array<string> => {
  const out: Array<string> = []
  for (const [name, v] of r.options) {
    if (r.options.has("read_repair") && (name === "read_repair_chance" || name === "dclocal_read_repair_chance")) continue
    if (isView && name === "default_time_to_live") continue
    out.push(`${name} = ${optionValue(v)}`)
  }
  if (r.extensions.size > 0) {
    out.push(`extensions = {${[...r.extensions].map(([k, b]) => `${quoteText(k)}: 0x${b.toString("hex")}`).join(", ")}}`)
  }
  return out.sort()
}

export const indexDdl = (keyspace: string, i: IndexMetadata): string => {
  const on = `${quoteName(i.name)} ON ${qualified(keyspace, i.table)} (${i.target})`
  if (i.kind !== "CUSTOM") return `CREATE INDEX ${on};`
  const options = [...i.options].filter(([k]) => k !== "target" && k !== "class_name")
  const withOptions =
    options.length === 0 ? "" : ` WITH OPTIONS = {${options.map(([k, v]) => `${quoteText(k)}: ${quoteText(v)}`).join(", ")}}`
  return `CREATE CUSTOM INDEX ${on} USING ${quoteText(i.className ?? "")}${withOptions};`
}

export const triggerDdl = (t: TableMetadata, tr: TriggerMetadata): string =>
  `CREATE TRIGGER ${quoteName(tr.name)} ON ${qualified(t.keyspace, t.name)} USING ${quoteText(tr.className ?? "")};`

export const viewDdl = (v: ViewMetadata): string => {
  const selected = v.includeAllColumns ? "*" : v.columns.map((c) => quoteName(c.name)).join(", ")
  const properties = [...clusteringOrder(v.clusteringKey), ...optionStrings(v, true)]
  return [
    `CREATE MATERIALIZED VIEW ${qualified(v.keyspace, v.name)} AS`,
    `SELECT ${selected}`,
    `FROM ${qualified(v.keyspace, v.baseTable)}`,
    `WHERE ${v.whereClause}`,
    `PRIMARY KEY ${primaryKey(v.partitionKey, v.clusteringKey)}`,
    ...(properties.length === 0 ? [] : [`WITH ${properties.join(`\n${indent}AND `)}`])
  ].join(`\n${indent}`) + ";"
}
