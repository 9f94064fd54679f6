/**
 * Result metadata, prepared metadata and rows (native_protocol_v5.spec 4.2.5.2 and 4.2.5.4).
 *
 * Rows decode as plain objects keyed by column name. The per-column decoders are computed once per columns array
 * (cached in a WeakMap), so reusing the prepared statement's result metadata (Skip_metadata) also reuses them.
 * When a result names one column twice (`SELECT a, a`), the later value wins.
 */
import type { DataType } from "./DataType.js"
import { readType, writeType } from "./DataType.js"
import { codecOf, setOwn, withPath, type ValueCodec } from "./internal/codecs.js"
import { decodeFail, encodeFail } from "./internal/fail.js"
import type { ByteReader } from "./internal/reader.js"
import type { ByteWriter } from "./internal/writer.js"

export interface ColumnSpec {
  readonly keyspace: string
  readonly table: string
  readonly name: string
  readonly type: DataType
}

export interface RowsMetadata {
  readonly flags: number
  readonly columnCount: number
  /** undefined when the server sent No_metadata (the caller uses the prepared result metadata). */
  readonly columns: ReadonlyArray<ColumnSpec> | undefined
  readonly pagingState: Buffer | undefined
  /** v5 Metadata_changed: the id to send with later EXECUTEs. */
  readonly newMetadataId: Buffer | undefined
}

export interface PreparedMetadata {
  readonly flags: number
  readonly columns: ReadonlyArray<ColumnSpec>
  readonly pkIndexes: ReadonlyArray<number>
}

export type Row = Record<string, unknown>

/** Rows metadata flags (spec 4.2.5.2). */
export const Flags = {
  GlobalTablesSpec: 0x0001,
  HasMorePages: 0x0002,
  NoMetadata: 0x0004,
  /** v5 only. */
  MetadataChanged: 0x0008
} as const

/** Each column spec takes at least a name and a type id (4 bytes), plus keyspace and table when not global. */
const readColumns = (r: ByteReader, count: number, global: boolean): Array<ColumnSpec> => {
  r.count(count, global ? 4 : 8, "column")
  let keyspace = ""
  let table = ""
  if (global) {
    keyspace = r.string()
    table = r.string()
  }
  const columns = new Array<ColumnSpec>(count)
  for (let i = 0; i < count; i++) {
    const ks = global ? keyspace : r.string()
    const tb = global ? table : r.string()
    const name = r.string()
    columns[i] = { keyspace: ks, table: tb, name, type: readType(r) }
  }
  return columns
}

/** Global_tables_spec is used when there is at least one column and all share one keyspace and table. */
const sharesTable = (columns: ReadonlyArray<ColumnSpec>): boolean =>
  columns.length > 0 && columns.every((c) => c.keyspace === columns[0]!.keyspace && c.table === columns[0]!.table)

const writeColumns = (w: ByteWriter, columns: ReadonlyArray<ColumnSpec>, global: boolean): void => {
  if (global) {
    w.string(columns[0]!.keyspace)
    w.string(columns[0]!.table)
  }
  for (const c of columns) {
    if (!global) {
      w.string(c.keyspace)
      w.string(c.table)
    }
    w.string(c.name)
    writeType(w, c.type)
  }
}

/**
 * `<flags><columns_count>[<paging_state>][<new_metadata_id>][<global_table_spec>?<col_spec_1>...<col_spec_n>]`.
 * new_metadata_id ([short bytes]) is v5 only, present with Metadata_changed.
 */
export const readRowsMetadata = (r: ByteReader, version: 4 | 5): RowsMetadata => {
  const at = r.offset
  const flags = r.int()
  const columnCount = r.int()
  if (columnCount < 0) decodeFail(`negative column count ${columnCount}`, at + 4)
  const pagingState = flags & Flags.HasMorePages ? (r.bytes() ?? undefined) : undefined
  if (flags & Flags.MetadataChanged && version < 5) decodeFail("Metadata_changed in a v4 result", at)
  const newMetadataId = flags & Flags.MetadataChanged ? Buffer.from(r.shortBytes()) : undefined
  const columns = flags & Flags.NoMetadata ? undefined : readColumns(r, columnCount, (flags & Flags.GlobalTablesSpec) !== 0)
  return {
    flags,
    columnCount,
    columns,
    pagingState: pagingState === undefined ? undefined : Buffer.from(pagingState),
    newMetadataId
  }
}

/**
 * Writes rows metadata. The flags are derived from the fields (`m.flags` is not consulted): Has_more_pages from
 * pagingState, No_metadata from columns, Metadata_changed from newMetadataId (v5 only), Global_tables_spec when
 * all columns share one table.
 */
export const writeRowsMetadata = (w: ByteWriter, m: RowsMetadata, version: 4 | 5): void => {
  if (m.newMetadataId !== undefined && version < 5) encodeFail("new_metadata_id needs protocol v5", "newMetadataId")
  // Metadata_changed announces the new metadata, so it cannot go with No_metadata.
  if (m.newMetadataId !== undefined && m.columns === undefined) encodeFail("new_metadata_id without columns", "columns")
  if (m.columns !== undefined && m.columns.length !== m.columnCount) {
    encodeFail(`columnCount ${m.columnCount} but ${m.columns.length} columns`, "columnCount")
  }
  const global = m.columns !== undefined && sharesTable(m.columns)
  let flags = 0
  if (global) flags |= Flags.GlobalTablesSpec
  if (m.pagingState !== undefined) flags |= Flags.HasMorePages
  if (m.columns === undefined) flags |= Flags.NoMetadata
  if (m.newMetadataId !== undefined) flags |= Flags.MetadataChanged
  w.int(flags)
  w.int(m.columnCount)
  if (m.pagingState !== undefined) w.bytes(m.pagingState)
  if (m.newMetadataId !== undefined) w.shortBytes(m.newMetadataId)
  if (m.columns !== undefined) writeColumns(w, m.columns, global)
}

/** `<flags><columns_count><pk_count>[<pk_index_1>...<pk_index_n>][<global_table_spec>?<col_spec_1>...]` (v4+). */
export const readPreparedMetadata = (r: ByteReader, _version: 4 | 5): PreparedMetadata => {
  const at = r.offset
  const flags = r.int()
  const columnCount = r.int()
  if (columnCount < 0) decodeFail(`negative bind marker count ${columnCount}`, at + 4)
  const pkCount = r.count(r.int(), 2, "partition key index")
  const pkIndexes = new Array<number>(pkCount)
  for (let i = 0; i < pkCount; i++) {
    const index = r.short()
    if (index >= columnCount) decodeFail(`partition key index ${index} with ${columnCount} bind markers`, r.offset - 2)
    pkIndexes[i] = index
  }
  const columns = readColumns(r, columnCount, (flags & Flags.GlobalTablesSpec) !== 0)
  return { flags, columns, pkIndexes }
}

/** Writes prepared metadata; Global_tables_spec is derived from the columns, as for rows. */
export const writePreparedMetadata = (w: ByteWriter, m: PreparedMetadata, _version: 4 | 5): void => {
  const global = sharesTable(m.columns)
  w.int(global ? Flags.GlobalTablesSpec : 0)
  w.int(m.columns.length)
  w.int(m.pkIndexes.length)
  for (const i of m.pkIndexes) w.short(i)
  writeColumns(w, m.columns, global)
}

interface Plan {
  readonly names: ReadonlyArray<string>
  readonly decoders: ReadonlyArray<(buf: Buffer, start: number, len: number) => unknown>
  readonly codecs: ReadonlyArray<ValueCodec>
  /** Names also found on Object.prototype (`constructor`, `toString`...): read from a row only if its own. */
  readonly inherited: ReadonlyArray<boolean>
  /** Builds a row object from the values of one row, in column order. */
  readonly build: (values: ReadonlyArray<unknown>) => Row
}

/**
 * A row builder for these column names: an object literal with the names as constant keys, so that every row of a
 * result gets the same shape in one allocation (storing properties one by one under varying names is the slowest
 * part of a row otherwise). Computed keys make `__proto__` an own property like any other name. Where code
 * generation is disabled, rows are built property by property instead.
 */
const rowBuilder = (names: ReadonlyArray<string>): ((values: ReadonlyArray<unknown>) => Row) => {
  try {
    const body = names.map((n, i) => `[${JSON.stringify(n)}]: v[${i}]`).join(", ")
    return new Function("v", `return { ${body} }`) as (values: ReadonlyArray<unknown>) => Row
  } catch {
    return (values) => {
      const row: Row = {}
      for (let i = 0; i < names.length; i++) setOwn(row, names[i]!, values[i])
      return row
    }
  }
}

const plans = new WeakMap<ReadonlyArray<ColumnSpec>, Plan>()

const planFor = (columns: ReadonlyArray<ColumnSpec>): Plan => {
  let plan = plans.get(columns)
  if (plan === undefined) {
    const codecs = columns.map((c) => codecOf(c.type))
    plan = {
      names: columns.map((c) => c.name),
      codecs,
      decoders: codecs.map((c) => c.decode),
      inherited: columns.map((c) => c.name in Object.prototype),
      build: rowBuilder(columns.map((c) => c.name))
    }
    plans.set(columns, plan)
  }
  return plan
}

/**
 * `<rows_count><row_1>...<row_m>`, each row `columns.length` [bytes]. The count is checked against the bytes left
 * (each value takes at least its 4-byte length) before anything is allocated.
 */
export const readRows = (r: ByteReader, columns: ReadonlyArray<ColumnSpec>): Array<Row> => {
  const { build, decoders } = planFor(columns)
  const buf = r.buf
  const end = r.end
  const n = decoders.length
  const at = r.offset
  const count = r.int()
  // A row of no columns takes no bytes, so its count could not be checked: refuse it rather than allocate it.
  if (count < 0 || (n === 0 ? count > 0 : count * n * 4 > end - r.offset)) {
    decodeFail(`rows count ${count} does not fit the ${end - r.offset} bytes left for ${n} columns`, at)
  }
  let off = r.offset
  const rows = new Array<Row>(count)
  const values = new Array<unknown>(n)
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < n; j++) {
      if (end - off < 4) decodeFail(`row ${i} ends early`, off)
      const len = buf.readInt32BE(off)
      off += 4
      if (len >= 0) {
        if (len > end - off) decodeFail(`value of ${len} bytes in row ${i} runs past the end`, off)
        values[j] = decoders[j]!(buf, off, len)
        off += len
      } else if (len >= -2) {
        values[j] = null
      } else {
        decodeFail(`value length ${len} in row ${i}`, off - 4)
      }
    }
    rows[i] = build(values)
  }
  r.offset = off
  return rows
}

/** Writes `<rows_count>` and the rows (the server side, e.g. a stub server). A missing column is null. */
export const writeRows = (w: ByteWriter, columns: ReadonlyArray<ColumnSpec>, rows: ReadonlyArray<Row>): void => {
  const { codecs, inherited, names } = planFor(columns)
  w.int(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    for (let j = 0; j < codecs.length; j++) {
      const name = names[j]!
      try {
        codecs[j]!.write(w, inherited[j] && !Object.hasOwn(row, name) ? null : row[name])
      } catch (e) {
        throw withPath(e, `rows[${i}].${name}`)
      }
    }
  }
}
