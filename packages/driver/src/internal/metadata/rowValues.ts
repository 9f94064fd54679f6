/**
 * Reading system-table rows given as plain objects (column name -> decoded value). The accessors are lenient
 * about representation so that rows from this driver's codec (Uuid objects, Map, arrays) and from other sources
 * (strings, plain objects, Sets) read the same, and they never throw: a missing or ill-typed value is undefined.
 */

export type Row = Readonly<Record<string, unknown>>

/** A text-like value: a string, or an object with its own text form (a Uuid, an InetAddress). */
const asText = (v: unknown): string | undefined => {
  if (typeof v === "string") return v
  if (typeof v === "object" && v !== null && !(v instanceof Uint8Array) && hasOwnToString(v)) return String(v)
  return undefined
}

const hasOwnToString = (v: object): boolean =>
  typeof (v as { toString?: unknown }).toString === "function" && v.toString !== Object.prototype.toString

export const text = (row: Row, column: string): string | undefined => asText(row[column])

export const bool = (row: Row, column: string): boolean | undefined => {
  const v = row[column]
  return typeof v === "boolean" ? v : undefined
}

/** An int column (number), also accepting a bigint or a Long-like object within the safe range. */
export const int = (row: Row, column: string): number | undefined => {
  const v = row[column]
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined
  if (typeof v === "bigint") return v >= -Number.MAX_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER ? Number(v) : undefined
  return undefined
}

export const date = (row: Row, column: string): Date | undefined => {
  const v = row[column]
  return v instanceof Date && !Number.isNaN(v.getTime()) ? v : undefined
}

const elements = (v: unknown): ReadonlyArray<unknown> =>
  Array.isArray(v) ? v : v instanceof Set ? [...v] : []

/** A list<text> or set<text>; null (an empty collection) is an empty array. Non-text elements are dropped. */
export const textList = (row: Row, column: string): Array<string> => {
  const out: Array<string> = []
  for (const e of elements(row[column])) {
    const s = asText(e)
    if (s !== undefined) out.push(s)
  }
  return out
}

/** A list<text> that may hold nulls (kept as null, so positions line up with a sibling list). */
export const nullableTextList = (row: Row, column: string): Array<string | null> =>
  elements(row[column]).map((e) => asText(e) ?? null)

export const boolList = (row: Row, column: string): Array<boolean> =>
  elements(row[column]).map((e) => e === true)

const entries = (v: unknown): ReadonlyArray<readonly [unknown, unknown]> => {
  if (v instanceof Map) return [...v.entries()]
  if (typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)) return Object.entries(v)
  return []
}

/** A map<text, text> as a Map (entries whose key or value is not text are dropped). */
export const textMap = (row: Row, column: string): Map<string, string> => {
  const out = new Map<string, string>()
  for (const [k, v] of entries(row[column])) {
    const key = asText(k)
    const value = asText(v)
    if (key !== undefined && value !== undefined) out.set(key, value)
  }
  return out
}

/** A map<text, blob> as a Map of Buffers. */
export const blobMap = (row: Row, column: string): Map<string, Buffer> => {
  const out = new Map<string, Buffer>()
  for (const [k, v] of entries(row[column])) {
    const key = asText(k)
    if (key !== undefined && v instanceof Uint8Array) out.set(key, Buffer.from(v))
  }
  return out
}
