/**
 * Rows as the shell prints them. `table`: cqlsh's aligned layout (headers left-aligned, values right-aligned,
 * columns joined by ` | `); `expanded`: one `@ Row n` block per row with a line per column (EXPAND ON); `json`:
 * one JSON object per line (JSON Lines, so a big result can be piped page by page); `csv`: a header record, then
 * one record per row, values in ValueFormat's exact form.
 */
import type { DataType, Rows } from "@effect-cql/protocol"
import { BigDecimal } from "effect"
import { formatRecord } from "./Csv.js"
import { formatDecimal, formatValue } from "./ValueFormat.js"

export type OutputFormat = "table" | "json" | "csv"

/** Column width as a terminal shows it: wide (CJK) characters take two cells. */
export const displayWidth = (s: string): number => {
  let w = 0
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    w += c >= 0x1100 && (c <= 0x115f || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x20000 && c <= 0x3fffd)) ? 2 : 1
  }
  return w
}

const padStart = (s: string, w: number) => " ".repeat(Math.max(0, w - displayWidth(s))) + s
const padEnd = (s: string, w: number) => s + " ".repeat(Math.max(0, w - displayWidth(s)))

/** Control characters would break the layout: they print escaped, as cqlsh does. */
const visible = (s: string): string =>
  s.replace(/[\x00-\x1f\x7f]/g, (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : c === "\r" ? "\\r" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`))

const cells = (rows: ReadonlyArray<Rows.Row>, columns: ReadonlyArray<Rows.ColumnSpec>): Array<Array<string>> =>
  rows.map((row) => columns.map((c) => visible(formatValue(row[c.name], c.type))))

/** An aligned table of the rows, each line ending with a line break. */
export const table = (rows: ReadonlyArray<Rows.Row>, columns: ReadonlyArray<Rows.ColumnSpec>): string => {
  const body = cells(rows, columns)
  const widths = columns.map((c, i) => Math.max(displayWidth(c.name), ...body.map((r) => displayWidth(r[i]!))))
  const lines = [
    ` ${columns.map((c, i) => padEnd(c.name, widths[i]!)).join(" | ")}`,
    `-${widths.map((w) => "-".repeat(w)).join("-+-")}-`,
    ...body.map((r) => ` ${r.map((v, i) => padStart(v, widths[i]!)).join(" | ")}`)
  ]
  return `${lines.map((l) => l.trimEnd()).join("\n")}\n`
}

/** EXPAND ON: each row as a block of `name | value` lines, numbered from `firstRow`. */
export const expanded = (rows: ReadonlyArray<Rows.Row>, columns: ReadonlyArray<Rows.ColumnSpec>, firstRow = 1): string => {
  const nameWidth = Math.max(...columns.map((c) => displayWidth(c.name)))
  return cells(rows, columns)
    .map((r, n) => {
      const valueWidth = Math.max(...r.map(displayWidth))
      const lines = [
        `@ Row ${firstRow + n}`,
        `-${"-".repeat(nameWidth)}-+-${"-".repeat(valueWidth)}-`,
        ...columns.map((c, i) => ` ${padEnd(c.name, nameWidth)} | ${r[i]!}`.trimEnd())
      ]
      return `${lines.join("\n")}\n`
    })
    .join("\n")
}

/** The header record of `--output csv`. */
export const csvHeader = (columns: ReadonlyArray<Rows.ColumnSpec>): string => `${formatRecord(columns.map((c) => c.name))}\n`

/** The rows as CSV records (null as an empty field), values in their exact form. */
export const csvRows = (rows: ReadonlyArray<Rows.Row>, columns: ReadonlyArray<Rows.ColumnSpec>, delimiter = ","): string => {
  let out = ""
  for (const row of rows) out += `${formatRecord(columns.map((c) => csvCell(row[c.name], c.type)), delimiter)}\n`
  return out
}

/** A value's CSV text: null stays null (an empty field); everything else in ValueFormat's exact form. */
export const csvCell = (v: unknown, type: DataType.DataType): string | null =>
  v === null || v === undefined ? null : formatValue(v, type, "exact")

/** The rows as JSON Lines. */
export const jsonRows = (rows: ReadonlyArray<Rows.Row>, columns: ReadonlyArray<Rows.ColumnSpec>): string => {
  let out = ""
  for (const row of rows) out += `{${columns.map((c) => `${JSON.stringify(c.name)}: ${toJson(row[c.name], c.type)}`).join(", ")}}\n`
  return out
}

/**
 * A value as JSON text. Integers of any size (bigint, varint) and decimals are JSON numbers written exactly (JSON
 * puts no limit on digits); floats that JSON cannot hold (NaN, Infinity) are strings; uuids, dates, times,
 * timestamps (ISO 8601), durations, inets and blobs (`0x...`) are strings; maps with text keys are objects, other
 * maps arrays of `[key, value]` pairs; UDTs are objects.
 */
export const toJson = (v: unknown, type: DataType.DataType): string => {
  if (v === null || v === undefined) return "null"
  switch (type.kind) {
    case "list":
    case "set":
      return `[${[...(v as Iterable<unknown>)].map((x) => toJson(x, type.element)).join(", ")}]`
    case "vector":
      return `[${Array.from(v as ArrayLike<unknown>, (x) => toJson(x, type.element)).join(", ")}]`
    case "tuple":
      return `[${type.elements.map((t, i) => toJson((v as ReadonlyArray<unknown>)[i], t)).join(", ")}]`
    case "map": {
      const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object)
      return type.key.kind === "varchar" || type.key.kind === "ascii"
        ? `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${toJson(x, type.value)}`).join(", ")}}`
        : `[${entries.map(([k, x]) => `[${toJson(k, type.key)}, ${toJson(x, type.value)}]`).join(", ")}]`
    }
    case "udt":
      return `{${type.fields.map((f) => `${JSON.stringify(f.name)}: ${toJson((v as Record<string, unknown>)[f.name], f.type)}`).join(", ")}}`
    case "boolean":
      return v === true ? "true" : "false"
    case "tinyint":
    case "smallint":
    case "int":
    case "bigint":
    case "counter":
    case "varint":
      return String(v)
    case "decimal":
      return BigDecimal.isBigDecimal(v) ? formatDecimal(v) : String(v)
    case "float":
    case "double":
      return Number.isFinite(v as number) ? formatValue(v, type, "exact") : JSON.stringify(formatValue(v, type))
    case "timestamp":
      return JSON.stringify(v instanceof Date ? v.toISOString() : String(v))
    default:
      return JSON.stringify(formatValue(v, type, "exact"))
  }
}
