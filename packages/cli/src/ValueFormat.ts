/**
 * Values as text, the way cqlsh prints them: timestamps as `2026-11-26 05:00:00.123000+0000`, uuids bare,
 * blobs as `0x...`, booleans as `True`/`False`, collections, tuples and UDTs as CQL literals (`['a', 'b']`,
 * `{1, 2}`, `{'k': 1}`, `(1, 'x')`, `{name: 'Ada'}`), durations in CQL's compact form, vectors as lists.
 *
 * Two precisions. `display` rounds floats and doubles as cqlsh does (5 and 12 significant digits) for reading;
 * `exact` prints the shortest text that reads back to the same value, for COPY and CSV output, whose text must
 * round-trip (ValueParse.ts reads every form written here).
 */
import type { DataType } from "@effect-cql/protocol"
import { BigDecimal } from "effect"

export type Precision = "display" | "exact"

/** cqlsh's defaults (`float_precision`, `double_precision` in cqlshrc). */
const displayDigits = { float: 5, double: 12 } as const

/** Text a top-level value prints as; `null` prints as the word null. */
export const formatValue = (value: unknown, type: DataType.DataType, precision: Precision = "display"): string =>
  value === null || value === undefined ? "null" : format(value, type, precision, false)

/** Types whose values are quoted inside a collection (cqlsh quotes what CQL would need quoted). */
const quotedInside = new Set(["ascii", "varchar", "text", "inet", "timestamp", "date", "time"])

export const quoteString = (s: string): string => `'${s.replaceAll("'", "''")}'`

/** A UDT field name as CQL needs it: bare when it is a lower-case identifier, else double-quoted. */
const fieldName = (name: string): string => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`)

const format = (value: unknown, type: DataType.DataType, precision: Precision, nested: boolean): string => {
  if (value === null || value === undefined) return "null"
  const inner = (v: unknown, t: DataType.DataType) => format(v, t, precision, true)
  switch (type.kind) {
    case "list":
    case "set": {
      const items = [...(value as Iterable<unknown>)].map((v) => inner(v, type.element))
      return type.kind === "list" ? `[${items.join(", ")}]` : `{${items.join(", ")}}`
    }
    case "vector":
      return `[${Array.from(value as ArrayLike<unknown>, (v) => inner(v, type.element)).join(", ")}]`
    case "map": {
      const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as object)
      return `{${entries.map(([k, v]) => `${inner(k, type.key)}: ${inner(v, type.value)}`).join(", ")}}`
    }
    case "tuple": {
      const items = value as ReadonlyArray<unknown>
      return `(${type.elements.map((t, i) => inner(items[i], t)).join(", ")})`
    }
    case "udt": {
      const o = value as Record<string, unknown>
      return `{${type.fields.map((f) => `${fieldName(f.name)}: ${inner(o[f.name], f.type)}`).join(", ")}}`
    }
    default: {
      const text = formatScalar(value, type, precision)
      return nested && quotedInside.has(type.kind) ? quoteString(text) : text
    }
  }
}

const formatScalar = (value: unknown, type: DataType.DataType, precision: Precision): string => {
  switch (type.kind) {
    case "boolean":
      return value === true ? "True" : "False"
    case "float":
      return formatFloat(value as number, precision === "exact" ? "float" : displayDigits.float)
    case "double":
      return formatFloat(value as number, precision === "exact" ? "double" : displayDigits.double)
    case "timestamp":
      return value instanceof Date ? formatTimestamp(value) : String(value)
    case "blob":
    case "custom":
      return `0x${Buffer.from(value as Uint8Array).toString("hex")}`
    case "decimal":
      return BigDecimal.isBigDecimal(value) ? formatDecimal(value) : String(value)
    default:
      // Text, numbers, bigint, uuid, inet, date, time and duration print with their own toString.
      return String(value)
  }
}

/**
 * A float: at most `digits` significant digits (display), or the shortest text that reads back to the same
 * float32 / double (`exact`).
 */
const formatFloat = (v: number, digits: number | "float" | "double"): string => {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity"
  if (digits === "double") return String(v)
  if (digits === "float") {
    for (let p = 1; p <= 9; p++) {
      const text = Number(v.toPrecision(p))
      if (Math.fround(text) === v) return String(text)
    }
    return String(v)
  }
  return String(Number(v.toPrecision(digits)))
}

/**
 * A decimal with its scale kept (`123.00` stays two places; BigDecimal.format would drop them): the digits with a
 * point, or `E+n` for a negative scale, as Java's BigDecimal keeps it.
 */
export const formatDecimal = (d: BigDecimal.BigDecimal): string => {
  const sign = d.value < 0n ? "-" : ""
  const digits = (d.value < 0n ? -d.value : d.value).toString()
  if (d.scale <= 0) return `${sign}${digits}${d.scale < 0 ? `E+${-d.scale}` : ""}`
  const padded = digits.padStart(d.scale + 1, "0")
  return `${sign}${padded.slice(0, -d.scale)}.${padded.slice(-d.scale)}`
}

const pad = (n: number, width: number) => String(n).padStart(width, "0")

/** `YYYY-MM-DD HH:MM:SS.ffffff+0000` in UTC, as cqlsh prints; years outside 0..9999 keep their sign. */
export const formatTimestamp = (d: Date): string => {
  const year = d.getUTCFullYear()
  const y = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? "-" : "+"}${pad(Math.abs(year), 4)}`
  return (
    `${y}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds() * 1000, 6)}+0000`
  )
}
