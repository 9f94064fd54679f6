/**
 * CQL data types as they travel in [option] form (native_protocol_v5.spec 4.2.5.2), plus the types that arrive
 * as custom class strings (vector, since Cassandra 5.0).
 *
 * CONTRACT (shared by the codec modules): `readType` / `writeType` read and write an [option];
 * `parseTypeString` turns a Cassandra marshal class string (e.g.
 * `org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType,3)`) into a DataType.
 */
import type { ByteReader } from "./internal/reader.js"
import type { ByteWriter } from "./internal/writer.js"
import { decodeFail } from "./internal/fail.js"

export type NativeTypeName =
  | "ascii"
  | "bigint"
  | "blob"
  | "boolean"
  | "counter"
  | "decimal"
  | "double"
  | "float"
  | "int"
  | "timestamp"
  | "uuid"
  | "varchar"
  | "varint"
  | "timeuuid"
  | "inet"
  | "date"
  | "time"
  | "smallint"
  | "tinyint"
  | "duration"

export interface NativeType {
  readonly kind: NativeTypeName
}
export interface ListType {
  readonly kind: "list"
  readonly element: DataType
}
export interface SetType {
  readonly kind: "set"
  readonly element: DataType
}
export interface MapType {
  readonly kind: "map"
  readonly key: DataType
  readonly value: DataType
}
export interface TupleType {
  readonly kind: "tuple"
  readonly elements: ReadonlyArray<DataType>
}
export interface UdtType {
  readonly kind: "udt"
  readonly keyspace: string
  readonly name: string
  readonly fields: ReadonlyArray<{ readonly name: string; readonly type: DataType }>
}
/** `vector<element, dimension>`: a custom type on the wire, parsed from its class string. */
export interface VectorType {
  readonly kind: "vector"
  readonly element: DataType
  readonly dimension: number
}
/** Any other custom type: values travel as raw bytes. */
export interface CustomType {
  readonly kind: "custom"
  readonly className: string
}

export type DataType = NativeType | ListType | SetType | MapType | TupleType | UdtType | VectorType | CustomType

/** [option] ids (spec 4.2.5.2). */
const nativeIds: Readonly<Record<NativeTypeName, number>> = {
  ascii: 0x0001,
  bigint: 0x0002,
  blob: 0x0003,
  boolean: 0x0004,
  counter: 0x0005,
  decimal: 0x0006,
  double: 0x0007,
  float: 0x0008,
  int: 0x0009,
  timestamp: 0x000b,
  uuid: 0x000c,
  varchar: 0x000d,
  varint: 0x000e,
  timeuuid: 0x000f,
  inet: 0x0010,
  date: 0x0011,
  time: 0x0012,
  smallint: 0x0013,
  tinyint: 0x0014,
  duration: 0x0015
}

/** Marshal class names (org.apache.cassandra.db.marshal.*) of the native types. */
const nativeClasses: Readonly<Record<NativeTypeName, string>> = {
  ascii: "AsciiType",
  bigint: "LongType",
  blob: "BytesType",
  boolean: "BooleanType",
  counter: "CounterColumnType",
  decimal: "DecimalType",
  double: "DoubleType",
  float: "FloatType",
  int: "Int32Type",
  timestamp: "TimestampType",
  uuid: "UUIDType",
  varchar: "UTF8Type",
  varint: "IntegerType",
  timeuuid: "TimeUUIDType",
  inet: "InetAddressType",
  date: "SimpleDateType",
  time: "TimeType",
  smallint: "ShortType",
  tinyint: "ByteType",
  duration: "DurationType"
}

const nativeNames = Object.keys(nativeIds) as Array<NativeTypeName>

/** One shared object per native type: codecs are cached per type object, so every column of a type shares one. */
export const native: Readonly<Record<NativeTypeName, NativeType>> = Object.fromEntries(
  nativeNames.map((kind) => [kind, Object.freeze({ kind })])
) as Record<NativeTypeName, NativeType>

const nativeById = new Map<number, NativeType>(nativeNames.map((k) => [nativeIds[k], native[k]]))
const nativeByClass = new Map<string, NativeType>([
  ...nativeNames.map((k): [string, NativeType] => [nativeClasses[k], native[k]]),
  // The pre-2.0 name of timestamp, still found in old schemas.
  ["DateType", native.timestamp]
])

export const isNative = (t: DataType): t is NativeType => Object.hasOwn(nativeIds, t.kind)

/** Deeper nesting than this is treated as hostile input (it would only exhaust the stack). */
const maxDepth = 64

/** Reads an [option] (spec 4.2.5.2). */
export const readType = (r: ByteReader): DataType => readTypeAt(r, 0)

const readTypeAt = (r: ByteReader, depth: number): DataType => {
  if (depth > maxDepth) return decodeFail(`type nested deeper than ${maxDepth}`, r.offset)
  const at = r.offset
  const id = r.short()
  const simple = nativeById.get(id)
  if (simple !== undefined) return simple
  switch (id) {
    case 0x0000:
      return parseTypeString(r.string())
    case 0x0020:
      return { kind: "list", element: readTypeAt(r, depth + 1) }
    case 0x0022:
      return { kind: "set", element: readTypeAt(r, depth + 1) }
    case 0x0021: {
      const key = readTypeAt(r, depth + 1)
      return { kind: "map", key, value: readTypeAt(r, depth + 1) }
    }
    case 0x0030: {
      const keyspace = r.string()
      const name = r.string()
      const n = r.count(r.short(), 4, "UDT field")
      const fields = new Array<{ name: string; type: DataType }>(n)
      for (let i = 0; i < n; i++) {
        const fieldName = r.string()
        fields[i] = { name: fieldName, type: readTypeAt(r, depth + 1) }
      }
      return { kind: "udt", keyspace, name, fields }
    }
    case 0x0031: {
      const n = r.count(r.short(), 2, "tuple element")
      const elements = new Array<DataType>(n)
      for (let i = 0; i < n; i++) elements[i] = readTypeAt(r, depth + 1)
      return { kind: "tuple", elements }
    }
    default:
      return decodeFail(`unknown type id 0x${id.toString(16).padStart(4, "0")}`, at)
  }
}

/** Writes an [option]. Vector goes as a custom type with its class string, as Cassandra 5.0 sends it. */
export const writeType = (w: ByteWriter, t: DataType): void => {
  switch (t.kind) {
    case "list":
    case "set":
      w.short(t.kind === "list" ? 0x0020 : 0x0022)
      return writeType(w, t.element)
    case "map":
      w.short(0x0021)
      writeType(w, t.key)
      return writeType(w, t.value)
    case "udt":
      w.short(0x0030)
      w.string(t.keyspace)
      w.string(t.name)
      w.short(t.fields.length)
      for (const f of t.fields) {
        w.string(f.name)
        writeType(w, f.type)
      }
      return
    case "tuple":
      w.short(0x0031)
      w.short(t.elements.length)
      for (const e of t.elements) writeType(w, e)
      return
    case "vector":
    case "custom":
      w.short(0x0000)
      return w.string(toClassName(t))
    default:
      return w.short(nativeIds[t.kind])
  }
}

const marshal = "org.apache.cassandra.db.marshal."

const hexOf = (s: string): string => Buffer.from(s, "utf8").toString("hex")

/** The Cassandra marshal class string of a type (the inverse of `parseTypeString`). */
export const toClassName = (t: DataType): string => {
  switch (t.kind) {
    case "list":
      return `${marshal}ListType(${frozenClass(t.element)})`
    case "set":
      return `${marshal}SetType(${frozenClass(t.element)})`
    case "map":
      return `${marshal}MapType(${frozenClass(t.key)},${frozenClass(t.value)})`
    case "tuple":
      return `${marshal}TupleType(${t.elements.map(frozenClass).join(",")})`
    case "udt":
      return `${marshal}UserType(${t.keyspace},${hexOf(t.name)}${t.fields
        .map((f) => `,${hexOf(f.name)}:${frozenClass(f.type)}`)
        .join("")})`
    case "vector":
      return `${marshal}VectorType(${frozenClass(t.element)},${t.dimension})`
    case "custom":
      return t.className
    default:
      return marshal + nativeClasses[t.kind]
  }
}

/** Nested collections and UDTs are always frozen inside another type. */
const frozenClass = (t: DataType): string =>
  t.kind === "list" || t.kind === "set" || t.kind === "map" || t.kind === "udt"
    ? `${marshal}FrozenType(${toClassName(t)})`
    : toClassName(t)

/**
 * Parses a Cassandra marshal class string (the grammar of Cassandra's TypeParser: `Name(param,param,...)`,
 * names with or without the `org.apache.cassandra.db.marshal.` package). Never fails: a class it does not know,
 * or a known one with parameters it cannot read, stays `{ kind: "custom", className }` with its text.
 */
export const parseTypeString = (className: string): DataType => {
  const p = new TypeStringParser(className)
  try {
    const t = p.type(0)
    p.skipSpace()
    return p.i === className.length ? t : { kind: "custom", className }
  } catch {
    return { kind: "custom", className }
  }
}

/** Thrown inside the parser only; `parseTypeString` turns it into a custom type. */
class Malformed extends Error {}

class TypeStringParser {
  i = 0
  constructor(readonly s: string) {}

  skipSpace(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++
  }

  /** A name or parameter token: Cassandra allows letters, digits and `-+._&`. */
  token(): string {
    this.skipSpace()
    const start = this.i
    while (this.i < this.s.length && /[\w\-+.&]/.test(this.s[this.i]!)) this.i++
    if (this.i === start) throw new Malformed()
    return this.s.slice(start, this.i)
  }

  peek(): string | undefined {
    this.skipSpace()
    return this.s[this.i]
  }

  expect(c: string): void {
    if (this.peek() !== c) throw new Malformed()
    this.i++
  }

  /** Parameters after `(`: calls `item` for each, separated by commas, up to `)`. */
  params(item: () => void): void {
    this.expect("(")
    if (this.peek() === ")") {
      this.i++
      return
    }
    for (;;) {
      item()
      const c = this.peek()
      this.i++
      if (c === ")") return
      if (c !== ",") throw new Malformed()
    }
  }

  /** Skips balanced parentheses (for classes we do not know). */
  skipParams(): void {
    let depth = 0
    do {
      const c = this.s[this.i++]
      if (c === undefined) throw new Malformed()
      if (c === "(") depth++
      else if (c === ")") depth--
    } while (depth > 0)
  }

  type(depth: number): DataType {
    if (depth > maxDepth) throw new Malformed()
    this.skipSpace()
    const start = this.i
    const name = this.token()
    const short = name.startsWith(marshal) ? name.slice(marshal.length) : name.includes(".") ? undefined : name
    const hasParams = this.peek() === "("
    const nativeType = short === undefined ? undefined : nativeByClass.get(short)
    if (nativeType !== undefined && !hasParams) return nativeType
    if (hasParams) {
      const inner = (): DataType => this.type(depth + 1)
      switch (short) {
        case "FrozenType":
        case "ReversedType": {
          const types = this.typeParams(inner)
          if (types.length !== 1) throw new Malformed()
          return types[0]!
        }
        case "ListType":
        case "SetType": {
          const types = this.typeParams(inner)
          if (types.length !== 1) throw new Malformed()
          return { kind: short === "ListType" ? "list" : "set", element: types[0]! }
        }
        case "MapType": {
          const types = this.typeParams(inner)
          if (types.length !== 2) throw new Malformed()
          return { kind: "map", key: types[0]!, value: types[1]! }
        }
        case "TupleType":
          return { kind: "tuple", elements: this.typeParams(inner) }
        case "UserType":
          return this.userType(inner)
        case "VectorType": {
          let element: DataType | undefined
          let dimension = -1
          this.params(() => {
            if (element === undefined) element = inner()
            else if (dimension < 0) dimension = Number(this.token())
            else throw new Malformed()
          })
          if (element === undefined || !Number.isInteger(dimension) || dimension < 1 || dimension > 0x7fffffff) {
            throw new Malformed()
          }
          return { kind: "vector", element, dimension }
        }
      }
      this.skipSpace()
      this.skipParams()
    }
    return { kind: "custom", className: this.s.slice(start, this.i).trim() }
  }

  typeParams(inner: () => DataType): Array<DataType> {
    const out: Array<DataType> = []
    this.params(() => out.push(inner()))
    return out
  }

  /** `UserType(keyspace,hexName,hexField1:Type1,...)`: names are hex-encoded UTF-8. */
  userType(inner: () => DataType): UdtType {
    let keyspace: string | undefined
    let name: string | undefined
    const fields: Array<{ name: string; type: DataType }> = []
    this.params(() => {
      if (keyspace === undefined) keyspace = this.token()
      else if (name === undefined) name = fromHex(this.token())
      else {
        const fieldName = fromHex(this.token())
        this.expect(":")
        fields.push({ name: fieldName, type: inner() })
      }
    })
    if (keyspace === undefined || name === undefined) throw new Malformed()
    return { kind: "udt", keyspace, name, fields }
  }
}

const fromHex = (hex: string): string => {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Malformed()
  return Buffer.from(hex, "hex").toString("utf8")
}

/**
 * CQL syntax of a type, e.g. `map<text, frozen<list<int>>>` or `vector<float, 3>`. Collections and UDTs nested in
 * another type print as `frozen<...>` (CQL requires it); at the top level they print unfrozen, since the [option]
 * does not say. Names that need it are double-quoted.
 */
export const toCql = (t: DataType): string => {
  switch (t.kind) {
    case "list":
    case "set":
      return `${t.kind}<${nestedCql(t.element)}>`
    case "map":
      return `map<${nestedCql(t.key)}, ${nestedCql(t.value)}>`
    case "tuple":
      return `tuple<${t.elements.map(nestedCql).join(", ")}>`
    case "udt":
      return `${quoteIdentifier(t.keyspace)}.${quoteIdentifier(t.name)}`
    case "vector":
      return `vector<${nestedCql(t.element)}, ${t.dimension}>`
    case "custom":
      return `'${t.className.replace(/'/g, "''")}'`
    case "varchar":
      return "text"
    default:
      return t.kind
  }
}

const nestedCql = (t: DataType): string =>
  t.kind === "list" || t.kind === "set" || t.kind === "map" || t.kind === "udt" ? `frozen<${toCql(t)}>` : toCql(t)

/** CQL identifiers that are not all lower-case letters, digits and underscores must be double-quoted. */
export const quoteIdentifier = (name: string): string =>
  /^[a-z][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`
