/**
 * Values of every CQL type <-> their bytes (native_protocol_v5.spec 6 "Data Type Serialization Formats", 7 UDTs,
 * and Cassandra 5.0's vector).
 *
 * JS representations (decode gives these; encode accepts them and the listed conveniences):
 * - ascii, text/varchar: string (ascii rejects characters above 0x7f)
 * - tinyint, smallint, int: number (encode also takes a bigint in range)
 * - bigint, counter: bigint (encode also takes a safe-integer number); varint: bigint (same)
 * - float, double: number; boolean: boolean
 * - decimal: effect `BigDecimal` (encode also takes a decimal string, a number or a bigint)
 * - timestamp: Date (encode also takes milliseconds as a number or a bigint). A stored timestamp beyond Date's
 *   range (±8.64e15 ms, e.g. the Long.MAX Cassandra writes for "never") decodes exactly, as bigint milliseconds.
 * - date: `CqlDate` (encode also takes a Date, meaning its UTC day, or `YYYY-MM-DD`)
 * - time: `CqlTime` (encode also takes bigint nanoseconds or `HH:MM:SS[.fffffffff]`)
 * - duration: `CqlDuration` (encode also takes a string such as `1h30m`)
 * - uuid, timeuuid: `Uuid` (encode also takes the string form; timeuuid requires version 1)
 * - inet: string (encode also takes 4 or 16 bytes)
 * - blob and custom types: Buffer (a copy: it does not pin the response buffer); encode takes any Uint8Array
 * - list: array; set: array in server order (encode also takes a Set); map: Map (encode also takes a plain
 *   object when the keys are text); tuple: array of its length; UDT: plain object (missing fields are null,
 *   unknown fields are an error)
 * - vector<float|double|int|bigint, n>: Float32Array / Float64Array / Int32Array / BigInt64Array; other vectors:
 *   array. Encode takes any array or typed array of length n.
 * null (or undefined) is a null value; `unset` leaves a bound column untouched. Spec 6 also allows "empty" values
 * (zero bytes) for most non-text types; they decode as null.
 */
import type * as Either from "effect/Either"
import type { DataType } from "./DataType.js"
import { native } from "./DataType.js"
import * as CqlDate from "./CqlDate.js"
import * as CqlDuration from "./CqlDuration.js"
import * as CqlTime from "./CqlTime.js"
import { codecOf, unset as unsetValue, withPath } from "./internal/codecs.js"
import { catchDecode, catchEncode, decodeFail } from "./internal/fail.js"
import type { ByteReader } from "./internal/reader.js"
import { ByteWriter } from "./internal/writer.js"
import type { DecodeError, EncodeError } from "./ProtocolError.js"
import * as Uuid from "./Uuid.js"
import * as BigDecimal from "effect/BigDecimal"

/** The "not set" bound value ([value] length -2): the column keeps what it had. */
export const unset: typeof unsetValue = unsetValue
export type Unset = typeof unset

/** A codec built once per DataType (and cached), so that decoding a row is a loop over precomputed functions. */
export interface Codec {
  readonly type: DataType
  /** Writes a [value]: its [int] length (-1 null, -2 unset) then its bytes. `path` names the value in errors. */
  readonly encode: (w: ByteWriter, value: unknown, path: string) => void
  /** Decodes the `len` bytes of a non-null value starting at `start`. Throws DecodeError. */
  readonly decode: (buf: Buffer, start: number, len: number) => unknown
}

/** The codec of a type; cached per type object. */
export const codecFor: (type: DataType) => Codec = codecOf

/** Writes one [value] (length included). Throws an EncodeError naming `path` (e.g. `$1`, `address.zip`). */
export const writeValue = (w: ByteWriter, type: DataType, value: unknown, path: string): void =>
  codecOf(type).encode(w, value, path)

/** Reads one [value]: null for length -1, `unset` for -2. Throws DecodeError. */
export const readValue = (r: ByteReader, type: DataType): unknown => {
  const at = r.offset
  const len = r.int()
  if (len < 0) return len === -1 ? null : len === -2 ? unset : decodeFail(`[value] length ${len}`, at)
  r.need(len)
  const start = r.offset
  const v = codecOf(type).decode(r.buf, start, len)
  r.offset = start + len
  return v
}

/** The bytes of one value without a length prefix (e.g. a routing-key component); null for null. */
export const encode = (type: DataType, value: unknown): Either.Either<Buffer | null, EncodeError> =>
  catchEncode(() => {
    if (value === unset) throw new TypeError("unset has no bytes: it is only meaningful as a bound value")
    if (value === null || value === undefined) return null
    const w = new ByteWriter(64)
    try {
      codecOf(type).body(w, value)
    } catch (e) {
      throw withPath(e, "")
    }
    return w.finish()
  })

/** Decodes the bytes of one value (without a length prefix); null stays null. */
export const decode = (type: DataType, bytes: Buffer | null): Either.Either<unknown, DecodeError> =>
  catchDecode(() => (bytes === null ? null : codecOf(type).decode(bytes, 0, bytes.length)))

/**
 * A type for a value bound without one (a simple statement's parameters). Choices where JS is ambiguous follow
 * the common driver convention: number -> double, bigint -> bigint, string -> text, Date -> timestamp,
 * Buffer -> blob, array -> list (element type from the first non-null element), Set -> set, Map -> map,
 * plain object -> map<text, ...>, Float32Array -> vector<float, n>. null/undefined/unset -> blob (their bytes do
 * not depend on the type). Bind with explicit types (a prepared statement) when the server type differs.
 */
export const inferType = (value: unknown): DataType => {
  switch (typeof value) {
    case "number":
      return native.double
    case "bigint":
      return native.bigint
    case "string":
      return native.varchar
    case "boolean":
      return native.boolean
  }
  if (value instanceof Date) return native.timestamp
  if (value instanceof Uuid.Uuid) return value.version === 1 ? native.timeuuid : native.uuid
  if (value instanceof CqlDate.CqlDate) return native.date
  if (value instanceof CqlTime.CqlTime) return native.time
  if (value instanceof CqlDuration.CqlDuration) return native.duration
  if (BigDecimal.isBigDecimal(value)) return native.decimal
  if (value instanceof Float32Array) return { kind: "vector", element: native.float, dimension: value.length }
  if (value instanceof Float64Array) return { kind: "vector", element: native.double, dimension: value.length }
  if (value instanceof Int32Array) return { kind: "vector", element: native.int, dimension: value.length }
  if (value instanceof BigInt64Array) return { kind: "vector", element: native.bigint, dimension: value.length }
  if (value instanceof Uint8Array) return native.blob
  if (Array.isArray(value)) return { kind: "list", element: inferFirst(value) }
  if (value instanceof Set) return { kind: "set", element: inferFirst(value) }
  if (value instanceof Map) return { kind: "map", key: inferFirst(value.keys()), value: inferFirst(value.values()) }
  if (typeof value === "object" && value !== null) {
    return { kind: "map", key: native.varchar, value: inferFirst(Object.values(value)) }
  }
  return native.blob
}

const inferFirst = (values: Iterable<unknown>): DataType => {
  for (const v of values) if (v !== null && v !== undefined) return inferType(v)
  return native.blob
}
