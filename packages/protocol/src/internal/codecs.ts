/**
 * Per-type codecs (native_protocol_v5.spec 6 and 7), built once per DataType object and cached, so that encoding
 * or decoding a value is one call to a precomputed function with no dispatch on the type's kind.
 *
 * Internals throw: `DecodeError` for bytes that cannot be a value of the type, `EncodeError` for a JS value that
 * does not fit. An EncodeError thrown inside a collection, tuple or UDT carries the path below that value
 * (`[2]`, `.zip`); each enclosing codec prefixes its own segment as the error passes through, so paths cost
 * nothing until something fails.
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Option from "effect/Option"
import { isIP } from "node:net"
import { endianness } from "node:os"
import * as CqlDate from "../CqlDate.js"
import * as CqlDuration from "../CqlDuration.js"
import * as CqlTime from "../CqlTime.js"
import type { DataType, NativeTypeName, UdtType } from "../DataType.js"
import { toCql } from "../DataType.js"
import { EncodeError } from "../ProtocolError.js"
import * as Uuid from "../Uuid.js"
import { decodeFail, encodeFail } from "./fail.js"
import { INT64_MAX, INT64_MIN, readInt64BE, writeInt64BE } from "./int64.js"
import { ByteReader, formatInet } from "./reader.js"
import { parseInet, type ByteWriter } from "./writer.js"

/** The "not set" marker for a bound value ([value] length -2, spec 3). */
export const unset: unique symbol = Symbol.for("@effect-cql/protocol/unset")

export interface ValueCodec {
  readonly type: DataType
  /** The serialized size when every value has the same one (vector packs such elements without lengths), else -1. */
  readonly size: number
  /** Writes a [value]: [int] length then bytes; null/undefined write -1, `unset` -2. */
  readonly write: (w: ByteWriter, v: unknown) => void
  /** Writes only the bytes of a non-null value. */
  readonly body: (w: ByteWriter, v: unknown) => void
  /** Decodes the `len` bytes at `start` (the caller has checked that they exist). */
  readonly decode: (buf: Buffer, start: number, len: number) => unknown
  /** `write` that names `path` in its errors (the public Codec.encode). */
  readonly encode: (w: ByteWriter, v: unknown, path: string) => void
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** Prefixes an EncodeError's path with the segment of the value that contains it; other errors pass unchanged. */
export const withPath = (e: unknown, prefix: string): unknown => {
  if (!(e instanceof EncodeError)) return e
  const child = e.path
  const path = prefix === "" ? (child.startsWith(".") ? child.slice(1) : child) : prefix + child
  return new EncodeError({ message: e.message, path })
}

const describe = (v: unknown): string => {
  if (v === null) return "null"
  if (typeof v === "string") return v.length > 40 ? `a string of length ${v.length}` : `the string ${JSON.stringify(v)}`
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return `${typeof v} ${String(v)}`
  if (typeof v === "symbol") return "a symbol"
  if (typeof v === "function") return "a function"
  if (typeof v === "undefined") return "undefined"
  if (Array.isArray(v)) return `an array of length ${v.length}`
  const name = (v as object).constructor?.name
  return name !== undefined && name !== "Object" ? `a ${name}` : "an object"
}

const wrongType = (type: DataType, v: unknown, expected: string): never =>
  encodeFail(`expected ${expected} for ${toCql(type)}, got ${describe(v)}`)

const badSize = (type: DataType, len: number, start: number): never =>
  decodeFail(`${toCql(type)} value of ${len} bytes`, start)

const truncated = (what: string, at: number): never => decodeFail(`${what} runs past the end of its value`, at)

// ---------------------------------------------------------------------------------------------------------------
// Codec shapes

/**
 * A type whose values all have `size` bytes. Spec 6: most non-string types also allow an "empty" value (length 0)
 * from legacy tables; JS has no empty int, so an empty value decodes as null.
 */
const fixed = (
  type: DataType,
  size: number,
  put: (b: Buffer, o: number, v: unknown) => void,
  decode: (b: Buffer, start: number, len: number) => unknown
): ValueCodec =>
  finish({
    type,
    size,
    write: (w, v) => {
      if (v === null || v === undefined) return w.int(-1)
      if (v === unset) return w.int(-2)
      w.ensure(size + 4)
      const b = w.buf
      const o = w.offset
      put(b, o + 4, v)
      b.writeInt32BE(size, o)
      w.offset = o + 4 + size
    },
    body: (w, v) => {
      w.ensure(size)
      put(w.buf, w.offset, v)
      w.offset += size
    },
    decode
  })

/**
 * The decode of a fixed-size type when the length is not its size: an empty value is null, anything else fails.
 * (Each type's decode is its own function, not one shared wrapper: a call site shared by all types would be
 * megamorphic and never inlined.)
 */
const notSized = (type: DataType, len: number, start: number): null => (len === 0 ? null : badSize(type, len, start))

/** A type whose size varies: the length is reserved, the body written, then the length patched. */
const variable = (
  type: DataType,
  body: (w: ByteWriter, v: unknown) => void,
  decode: (b: Buffer, start: number, len: number) => unknown
): ValueCodec =>
  finish({
    type,
    size: -1,
    write: (w, v) => {
      if (v === null || v === undefined) return w.int(-1)
      if (v === unset) return w.int(-2)
      const at = w.reserveInt()
      body(w, v)
      w.patchInt(at, w.offset - at - 4)
    },
    body,
    decode
  })

const finish = (c: Omit<ValueCodec, "encode">): ValueCodec => {
  const write = c.write
  return {
    ...c,
    encode: (w, v, path) => {
      try {
        write(w, v)
      } catch (e) {
        throw withPath(e, path)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

const int32Range = (type: DataType, v: unknown, min: number, max: number): number => {
  if (typeof v === "number") {
    if (Number.isInteger(v) && v >= min && v <= max) return v
    return encodeFail(`${v} is not an integer in ${min}..${max} (${toCql(type)})`)
  }
  if (typeof v === "bigint") {
    if (v >= BigInt(min) && v <= BigInt(max)) return Number(v)
    return encodeFail(`${v} is out of range ${min}..${max} (${toCql(type)})`)
  }
  return wrongType(type, v, "a number or bigint")
}

const two32 = 4294967296

/** Writes a 64-bit integer given as a safe-integer number or an int64 bigint; numbers skip BigInt entirely. */
const putInt64 = (type: DataType, b: Buffer, o: number, v: unknown): void => {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) encodeFail(`${v} is not a safe integer (${toCql(type)}: pass a bigint beyond 2^53)`)
    const hi = Math.floor(v / two32)
    b.writeInt32BE(hi, o)
    b.writeUInt32BE(v - hi * two32, o + 4)
  } else if (typeof v === "bigint") {
    if (v < INT64_MIN || v > INT64_MAX) encodeFail(`${v} is out of the 64-bit range (${toCql(type)})`)
    writeInt64BE(b, v, o)
  } else {
    wrongType(type, v, "a number or bigint")
  }
}

const floatMax = 3.4028234663852886e38

const putFloat = (type: DataType, b: Buffer, o: number, v: unknown): void => {
  if (typeof v !== "number") return wrongType(type, v, "a number")
  if (Math.abs(v) > floatMax && Number.isFinite(v)) encodeFail(`${v} is beyond the range of a 32-bit float`)
  b.writeFloatBE(v, o)
}

const putDouble = (type: DataType, b: Buffer, o: number, v: unknown): void => {
  if (typeof v !== "number") return wrongType(type, v, "a number")
  b.writeDoubleBE(v, o)
}

// --- varint (spec 6.24): minimal big-endian two's complement.

const toBigInt = (type: DataType, v: unknown): bigint => {
  if (typeof v === "bigint") return v
  if (typeof v === "number") {
    if (Number.isSafeInteger(v)) return BigInt(v)
    return encodeFail(`${v} is not a safe integer (${toCql(type)}: pass a bigint beyond 2^53)`)
  }
  return wrongType(type, v, "a bigint or integer number")
}

const writeVarint = (w: ByteWriter, n: bigint): void => {
  // Negative n: encode ~n (non-negative, same byte count) and invert the bytes.
  const negative = n < 0n
  const m = negative ? ~n : n
  let hex = m.toString(16)
  if (hex.length % 2 === 1) hex = "0" + hex
  if (hex.charCodeAt(0) >= 0x38) hex = "00" + hex // a leading digit 8..f would read as a sign bit
  const len = hex.length / 2
  w.ensure(len)
  const start = w.offset
  w.buf.write(hex, start, len, "hex")
  if (negative) for (let i = start; i < start + len; i++) w.buf[i] = ~w.buf[i]! & 0xff
  w.offset = start + len
}

const readVarint = (b: Buffer, start: number, len: number): bigint => {
  if (len <= 6) return BigInt(b.readIntBE(start, len))
  const v = BigInt("0x" + b.toString("hex", start, start + len))
  return b[start]! >= 0x80 ? v - (1n << BigInt(len * 8)) : v
}

// ---------------------------------------------------------------------------------------------------------------
// Native types

const ms64Max = 8.64e15 // JS Date's range (ECMA-262 21.4.1.1)

const timestampMillis = (type: DataType, v: unknown): number | bigint => {
  if (v instanceof Date) {
    const ms = v.getTime()
    return Number.isNaN(ms) ? encodeFail("invalid Date") : ms
  }
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : encodeFail(`${v} is not a whole number of milliseconds`)
  if (typeof v === "bigint") return v
  return wrongType(type, v, "a Date, or milliseconds as a number or bigint")
}

const readTimestamp = (b: Buffer, o: number): Date | bigint => {
  const hi = b.readInt32BE(o)
  const ms = hi * two32 + b.readUInt32BE(o + 4)
  // Beyond Date's range (Cassandra itself stores Long.MAX as "never" in system_schema.dropped_columns) the value
  // cannot be a Date: it comes back exact, as bigint milliseconds, rather than failing the whole page.
  if (ms > ms64Max || ms < -ms64Max) return readInt64BE(b, o)
  return new Date(ms)
}

const uuidOf = (type: DataType, v: unknown): Uuid.Uuid => {
  if (v instanceof Uuid.Uuid) return v
  if (typeof v === "string") {
    const u = Uuid.fromString(v)
    if (Option.isSome(u)) return u.value
    return encodeFail(`${JSON.stringify(v)} is not a UUID`)
  }
  return wrongType(type, v, "a Uuid or UUID string")
}

const dateOf = (type: DataType, v: unknown): number => {
  if (v instanceof CqlDate.CqlDate) return v.days
  if (v instanceof Date) {
    const d = CqlDate.fromDate(v)
    return Option.isSome(d) ? d.value.days : encodeFail("invalid Date")
  }
  if (typeof v === "string") {
    const d = CqlDate.fromString(v)
    return Option.isSome(d) ? d.value.days : encodeFail(`${JSON.stringify(v)} is not a date (YYYY-MM-DD)`)
  }
  return wrongType(type, v, "a CqlDate, Date or YYYY-MM-DD string")
}

const timeOf = (type: DataType, v: unknown): bigint => {
  let nanos: bigint
  if (v instanceof CqlTime.CqlTime) nanos = v.nanos
  else if (typeof v === "bigint") nanos = v
  else if (typeof v === "string") {
    const t = CqlTime.fromString(v)
    nanos = Option.isSome(t) ? t.value.nanos : encodeFail(`${JSON.stringify(v)} is not a time (HH:MM:SS.fffffffff)`)
  } else return wrongType(type, v, "a CqlTime, bigint nanoseconds or HH:MM:SS string")
  if (nanos < 0n || nanos >= CqlTime.nanosPerDay) encodeFail(`${nanos} ns is not a time of day`)
  return nanos
}

const durationOf = (type: DataType, v: unknown): CqlDuration.CqlDuration => {
  if (v instanceof CqlDuration.CqlDuration) {
    const why = CqlDuration.invalidReason(v.months, v.days, v.nanoseconds)
    return why === undefined ? v : encodeFail(why)
  }
  if (typeof v === "string") {
    const d = CqlDuration.fromString(v)
    return Option.isSome(d) ? d.value : encodeFail(`${JSON.stringify(v)} is not a duration`)
  }
  return wrongType(type, v, "a CqlDuration or duration string")
}

const decimalOf = (type: DataType, v: unknown): BigDecimal.BigDecimal => {
  if (BigDecimal.isBigDecimal(v)) return v
  if (typeof v === "string") {
    const d = BigDecimal.fromString(v.trim())
    return Option.isSome(d) ? d.value : encodeFail(`${JSON.stringify(v)} is not a decimal number`)
  }
  if (typeof v === "number") {
    const d = BigDecimal.safeFromNumber(v)
    return Option.isSome(d) ? d.value : encodeFail(`${v} is not a finite number`)
  }
  if (typeof v === "bigint") return BigDecimal.fromBigInt(v)
  return wrongType(type, v, "a BigDecimal, decimal string, number or bigint")
}

const bytesOf = (type: DataType, v: unknown): Uint8Array =>
  v instanceof Uint8Array ? v : wrongType(type, v, "a Buffer or Uint8Array")

const copyBytes = (b: Buffer, start: number, len: number): Buffer => {
  // A copy, not a view: a view would keep the whole response buffer alive for as long as the value lives.
  const out = Buffer.allocUnsafe(len)
  b.copy(out, 0, start, start + len)
  return out
}

const asciiOnly = /^[\x00-\x7f]*$/

const nativeCodec = (type: DataType & { kind: NativeTypeName }): ValueCodec => {
  switch (type.kind) {
    case "int":
      return fixed(
        type,
        4,
        (b, o, v) => b.writeInt32BE(int32Range(type, v, -0x80000000, 0x7fffffff), o),
        (b, o, len) => (len === 4 ? b.readInt32BE(o) : notSized(type, len, o))
      )
    // smallint, tinyint, date and time have a fixed layout but no fixed length in Cassandra 5.0's vector
    // serialization (their marshal types do not declare one), so `sized` makes vectors length-prefix them.
    case "smallint":
      return sized(
        fixed(
          type,
          2,
          (b, o, v) => b.writeInt16BE(int32Range(type, v, -0x8000, 0x7fff), o),
          (b, o, len) => (len === 2 ? b.readInt16BE(o) : notSized(type, len, o))
        )
      )
    case "tinyint":
      return sized(
        fixed(
          type,
          1,
          (b, o, v) => b.writeInt8(int32Range(type, v, -0x80, 0x7f), o),
          (b, o, len) => (len === 1 ? b.readInt8(o) : notSized(type, len, o))
        )
      )
    case "bigint":
    case "counter":
      return fixed(
        type,
        8,
        (b, o, v) => putInt64(type, b, o, v),
        (b, o, len) => (len === 8 ? readInt64BE(b, o) : notSized(type, len, o))
      )
    case "float":
      return fixed(
        type,
        4,
        (b, o, v) => putFloat(type, b, o, v),
        (b, o, len) => (len === 4 ? b.readFloatBE(o) : notSized(type, len, o))
      )
    case "double":
      return fixed(
        type,
        8,
        (b, o, v) => putDouble(type, b, o, v),
        (b, o, len) => (len === 8 ? b.readDoubleBE(o) : notSized(type, len, o))
      )
    case "boolean":
      return fixed(
        type,
        1,
        (b, o, v) => {
          if (typeof v !== "boolean") wrongType(type, v, "a boolean")
          b[o] = v ? 1 : 0
        },
        (b, o, len) => (len === 1 ? b[o] !== 0 : notSized(type, len, o))
      )
    case "timestamp":
      return fixed(
        type,
        8,
        (b, o, v) => putInt64(type, b, o, timestampMillis(type, v)),
        (b, o, len) => (len === 8 ? readTimestamp(b, o) : notSized(type, len, o))
      )
    case "uuid":
      return fixed(
        type,
        16,
        (b, o, v) => Uuid.writeUuid(b, o, uuidOf(type, v)),
        (b, o, len) => (len === 16 ? Uuid.readUuid(b, o) : notSized(type, len, o))
      )
    case "timeuuid":
      return fixed(
        type,
        16,
        (b, o, v) => {
          const u = uuidOf(type, v)
          // Cassandra rejects any other version in a timeuuid column; say so before the round trip.
          if (u.version !== 1) encodeFail(`a timeuuid must be a version 1 UUID, got version ${u.version}`)
          Uuid.writeUuid(b, o, u)
        },
        (b, o, len) => (len === 16 ? Uuid.readUuid(b, o) : notSized(type, len, o))
      )
    case "date":
      // Spec 6.5: unsigned days with the epoch at 2^31.
      return sized(
        fixed(
          type,
          4,
          (b, o, v) => b.writeUInt32BE(dateOf(type, v) + 0x80000000, o),
          (b, o, len) => (len === 4 ? new CqlDate.CqlDate(b.readUInt32BE(o) - 0x80000000) : notSized(type, len, o))
        )
      )
    case "time":
      return sized(
        fixed(
          type,
          8,
          (b, o, v) => writeInt64BE(b, timeOf(type, v), o),
          (b, o, len) => {
            if (len !== 8) return notSized(type, len, o)
            const n = readInt64BE(b, o)
            return n >= 0n && n < CqlTime.nanosPerDay ? new CqlTime.CqlTime(n) : decodeFail(`time of ${n} ns`, o)
          }
        )
      )
    case "varchar":
      return textCodec(type)
    case "ascii":
      return variable(
        type,
        (w, v) => {
          if (typeof v !== "string") return wrongType(type, v, "a string")
          if (!asciiOnly.test(v)) encodeFail("non-ASCII characters in an ascii value")
          w.ensure(v.length)
          w.offset += w.buf.write(v, w.offset, "latin1")
        },
        // latin1 keeps every byte as one char: a stray byte >= 0x80 shows instead of being altered.
        (b, start, len) => latin1Slice(b, start, start + len)
      )
    case "blob":
      return variable(type, (w, v) => w.raw(bytesOf(type, v)), copyBytes)
    case "varint":
      return variable(
        type,
        (w, v) => writeVarint(w, toBigInt(type, v)),
        (b, start, len) => (len === 0 ? null : readVarint(b, start, len))
      )
    case "decimal":
      return variable(
        type,
        (w, v) => {
          const d = decimalOf(type, v)
          if (!Number.isInteger(d.scale) || d.scale < -0x80000000 || d.scale > 0x7fffffff) {
            encodeFail(`decimal scale ${d.scale} is not a 32-bit integer`)
          }
          w.int(d.scale)
          writeVarint(w, d.value)
        },
        (b, start, len) =>
          len === 0
            ? null
            : len < 5
              ? badSize(type, len, start)
              : BigDecimal.make(readVarint(b, start + 4, len - 4), b.readInt32BE(start))
      )
    case "inet":
      return variable(
        type,
        (w, v) => {
          if (typeof v === "string") {
            if (isIP(v) === 0) encodeFail(`${JSON.stringify(v)} is not an IPv4 or IPv6 address`)
            return w.raw(parseInet(v))
          }
          if (v instanceof Uint8Array && (v.length === 4 || v.length === 16)) return w.raw(v)
          return wrongType(type, v, "an IP address string")
        },
        (b, start, len) =>
          len === 4 || len === 16 ? formatInet(b.subarray(start, start + len)) : len === 0 ? null : badSize(type, len, start)
      )
    case "duration":
      return variable(
        type,
        (w, v) => {
          const d = durationOf(type, v)
          w.vint(BigInt(d.months))
          w.vint(BigInt(d.days))
          w.vint(d.nanoseconds)
        },
        (b, start, len) => {
          if (len === 0) return null
          const r = new ByteReader(b, start, start + len)
          const months = r.vint()
          const days = r.vint()
          const nanos = r.vint()
          r.expectEnd("duration")
          const why = CqlDuration.invalidReason(Number(months), Number(days), nanos)
          return why === undefined ? new CqlDuration.CqlDuration(Number(months), Number(days), nanos) : decodeFail(why, start)
        }
      )
  }
}

/** Marks a fixed-layout codec as variable-size for vector packing. */
const sized = (c: ValueCodec): ValueCodec => ({ ...c, size: -1 })

/**
 * Buffer's own slicers: what `toString(encoding, start, end)` calls once it has checked its arguments and looked
 * up the encoding, which costs about as much as the slicing for short strings. The bounds are already checked
 * here. Used where this Node has them (every release since long before 20), else `toString`.
 */
interface Slicers {
  utf8Slice(start: number, end: number): string
  latin1Slice(start: number, end: number): string
}
const hasSlicers =
  typeof (Buffer.prototype as Partial<Slicers>).utf8Slice === "function" &&
  typeof (Buffer.prototype as Partial<Slicers>).latin1Slice === "function"
const utf8Slice: (b: Buffer, start: number, end: number) => string = hasSlicers
  ? (b, start, end) => (b as unknown as Slicers).utf8Slice(start, end)
  : (b, start, end) => b.toString("utf8", start, end)
const latin1Slice: (b: Buffer, start: number, end: number) => string = hasSlicers
  ? (b, start, end) => (b as unknown as Slicers).latin1Slice(start, end)
  : (b, start, end) => b.toString("latin1", start, end)

/**
 * Writes `s` as UTF-8 at `o` (the caller ensured 3 bytes per UTF-16 unit) and returns the byte count. Short ASCII
 * strings, the common case for column values, are copied by a loop: cheaper than a call into C++ for a few bytes.
 */
const putUtf8 = (b: Buffer, o: number, s: string): number => {
  const n = s.length
  if (n <= 32) {
    let i = 0
    for (; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) break
      b[o + i] = c
    }
    if (i === n) return n
  }
  return b.write(s, o, "utf8")
}

/** text/varchar: one pass, no measuring first. */
const textCodec = (type: DataType): ValueCodec =>
  finish({
    type,
    size: -1,
    write: (w, v) => {
      if (typeof v !== "string") {
        if (v === null || v === undefined) return w.int(-1)
        if (v === unset) return w.int(-2)
        return wrongType(type, v, "a string")
      }
      w.ensure(4 + v.length * 3)
      const o = w.offset
      const n = putUtf8(w.buf, o + 4, v)
      w.buf.writeInt32BE(n, o)
      w.offset = o + 4 + n
    },
    body: (w, v) => {
      if (typeof v !== "string") return wrongType(type, v, "a string")
      w.ensure(v.length * 3)
      w.offset += putUtf8(w.buf, w.offset, v)
    },
    decode: (b, start, len) => utf8Slice(b, start, start + len)
  })

// ---------------------------------------------------------------------------------------------------------------
// Collections, tuples, UDTs (spec 6.12-6.14, 6.21, 7): an [int] count then [bytes] elements.

/** Where the element just read ends: set by `element`, read by the caller right after (nested calls finish first). */
let next = 0

/** Reads one [bytes] element in [pos, end); a negative length is null. */
const element = (b: Buffer, pos: number, end: number, c: ValueCodec): unknown => {
  if (end - pos < 4) return truncated("element length", pos)
  const len = b.readInt32BE(pos)
  pos += 4
  if (len < 0) {
    if (len < -2) decodeFail(`element length ${len}`, pos - 4)
    next = pos
    return null
  }
  if (len > end - pos) return truncated(`element of ${len} bytes`, pos)
  const v = c.decode(b, pos, len)
  next = pos + len
  return v
}

const readCount = (b: Buffer, start: number, len: number, minBytesEach: number, what: string): number => {
  if (len < 4) return truncated(`${what} count`, start)
  const n = b.readInt32BE(start)
  if (n < 0 || n * minBytesEach > len - 4) return decodeFail(`${what} count ${n} does not fit in ${len} bytes`, start)
  return n
}

const trailing = (pos: number, end: number, what: string): void => {
  if (pos !== end) decodeFail(`${end - pos} trailing bytes in ${what}`, pos)
}

/**
 * Writes a collection element. Its path segment is built only on failure, by `segment(i, key)`: a module-level
 * function, so that no closure is made per element.
 */
const writeElement = (
  w: ByteWriter,
  c: ValueCodec,
  v: unknown,
  i: number,
  key: unknown,
  segment: (i: number, key: unknown) => string
): void => {
  if (v === null || v === undefined || v === unset) {
    encodeFail(`${v === unset ? "unset" : "null"} is not allowed inside a collection`, segment(i, key))
  }
  try {
    c.write(w, v)
  } catch (e) {
    throw withPath(e, segment(i, key))
  }
}

const indexSegment = (i: number): string => `[${i}]`

const listCodec = (type: DataType & { kind: "list" | "set" }, el: ValueCodec): ValueCodec => {
  const what = toCql(type)
  return variable(
    type,
    (w, v) => {
      if (Array.isArray(v)) {
        const n = v.length
        w.int(n)
        for (let i = 0; i < n; i++) writeElement(w, el, v[i], i, undefined, indexSegment)
      } else if (type.kind === "set" && v instanceof Set) {
        w.int(v.size)
        let i = 0
        for (const e of v) writeElement(w, el, e, i++, undefined, indexSegment)
      } else {
        wrongType(type, v, type.kind === "set" ? "an array or Set" : "an array")
      }
    },
    (b, start, len) => {
      const n = readCount(b, start, len, 4, what)
      const end = start + len
      const out = new Array<unknown>(n)
      let pos = start + 4
      for (let i = 0; i < n; i++) {
        out[i] = element(b, pos, end, el)
        pos = next
      }
      trailing(pos, end, what)
      return out
    }
  )
}

const keySegment = (i: number, k: unknown): string =>
  typeof k === "string" ? `[${JSON.stringify(k)}]` : typeof k === "number" || typeof k === "bigint" ? `[${k}]` : `[#${i}]`

const keyOfSegment = (i: number, k: unknown): string => `${keySegment(i, k)}(key)`

const mapCodec = (type: DataType & { kind: "map" }, kc: ValueCodec, vc: ValueCodec): ValueCodec => {
  const what = toCql(type)
  const stringKeys = kc.type.kind === "varchar" || kc.type.kind === "ascii"
  const writeEntry = (w: ByteWriter, k: unknown, v: unknown, i: number) => {
    writeElement(w, kc, k, i, k, keyOfSegment)
    writeElement(w, vc, v, i, k, keySegment)
  }
  return variable(
    type,
    (w, v) => {
      if (v instanceof Map) {
        w.int(v.size)
        let i = 0
        for (const [k, x] of v) writeEntry(w, k, x, i++)
      } else if (stringKeys && isPlainObject(v)) {
        const keys = Object.keys(v)
        w.int(keys.length)
        for (let i = 0; i < keys.length; i++) writeEntry(w, keys[i], v[keys[i]!], i)
      } else {
        wrongType(type, v, stringKeys ? "a Map or plain object" : "a Map")
      }
    },
    (b, start, len) => {
      const n = readCount(b, start, len, 8, what)
      const end = start + len
      const out = new Map<unknown, unknown>()
      let pos = start + 4
      for (let i = 0; i < n; i++) {
        const k = element(b, pos, end, kc)
        const v = element(b, next, end, vc)
        pos = next
        out.set(k, v)
      }
      trailing(pos, end, what)
      return out
    }
  )
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== "object" || v === null) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** Writes a field of a tuple or UDT: null is fine there, unset is not. */
const writeField = (w: ByteWriter, c: ValueCodec, v: unknown, segment: string): void => {
  if (v === unset) encodeFail("unset is only allowed for a whole bound value", segment)
  try {
    c.write(w, v)
  } catch (e) {
    throw withPath(e, segment)
  }
}

const tupleCodec = (type: DataType & { kind: "tuple" }, cs: ReadonlyArray<ValueCodec>): ValueCodec => {
  const what = toCql(type)
  const n = cs.length
  return variable(
    type,
    (w, v) => {
      if (!Array.isArray(v)) return wrongType(type, v, `an array of ${n} elements`)
      if (v.length !== n) encodeFail(`expected ${n} elements for ${what}, got ${v.length}`)
      for (let i = 0; i < n; i++) writeField(w, cs[i]!, v[i], `[${i}]`)
    },
    (b, start, len) => {
      const end = start + len
      const out = new Array<unknown>(n)
      let pos = start
      // Like a UDT, a tuple value may hold fewer elements than its type: the rest are null.
      for (let i = 0; i < n; i++) {
        if (pos === end) out[i] = null
        else {
          out[i] = element(b, pos, end, cs[i]!)
          pos = next
        }
      }
      trailing(pos, end, what)
      return out
    }
  )
}

const fieldSegment = (name: string): string => (/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`)

/** Sets a property even when its name is `__proto__` (a legal quoted CQL identifier). */
export const setOwn = (o: Record<string, unknown>, name: string, v: unknown): void => {
  if (name === "__proto__") Object.defineProperty(o, name, { value: v, enumerable: true, writable: true, configurable: true })
  else o[name] = v
}

const udtCodec = (type: UdtType, cs: ReadonlyArray<ValueCodec>): ValueCodec => {
  const what = toCql(type)
  const names = type.fields.map((f) => f.name)
  const segments = names.map(fieldSegment)
  const known = new Set(names)
  const n = names.length
  return variable(
    type,
    (w, v) => {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return wrongType(type, v, "an object")
      const o = v as Record<string, unknown>
      for (const k in o) {
        if (!known.has(k) && Object.hasOwn(o, k)) encodeFail(`${what} has no field ${JSON.stringify(k)}`, fieldSegment(k))
      }
      for (let i = 0; i < n; i++) {
        const name = names[i]!
        writeField(w, cs[i]!, Object.hasOwn(o, name) ? o[name] : null, segments[i]!)
      }
    },
    (b, start, len) => {
      const end = start + len
      const out: Record<string, unknown> = {}
      let pos = start
      // Spec 7: a UDT value may have fewer fields than its type (fields added later): those are null.
      for (let i = 0; i < n; i++) {
        let v: unknown = null
        if (pos !== end) {
          v = element(b, pos, end, cs[i]!)
          pos = next
        }
        setOwn(out, names[i]!, v)
      }
      trailing(pos, end, what)
      return out
    }
  )
}

// ---------------------------------------------------------------------------------------------------------------
// vector<T, n> (Cassandra 5.0 VectorType): fixed-size elements packed back to back; variable-size ones each after
// an [unsigned vint] length. Elements are never null.

const littleEndian = endianness() === "LE"

interface TypedArrayKind {
  readonly make: (n: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint; buffer: ArrayBufferLike }
  readonly is: (v: unknown) => boolean
  readonly swap: (b: Buffer) => Buffer
}

/** vector<float|double|int|bigint> decode to the matching typed array (a copy, byte-swapped natively). */
const typedKinds: Partial<Record<NativeTypeName, TypedArrayKind>> = {
  float: { make: (n) => new Float32Array(n), is: (v) => v instanceof Float32Array, swap: (b) => b.swap32() },
  double: { make: (n) => new Float64Array(n), is: (v) => v instanceof Float64Array, swap: (b) => b.swap64() },
  int: { make: (n) => new Int32Array(n), is: (v) => v instanceof Int32Array, swap: (b) => b.swap32() },
  bigint: { make: (n) => new BigInt64Array(n), is: (v) => v instanceof BigInt64Array, swap: (b) => b.swap64() }
}

const vintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5)

/** Writes a non-negative length (< 2^35) as an [unsigned vint] at `o`; returns the bytes used. */
const putUnsignedVint = (b: Buffer, o: number, n: number): number => {
  const size = vintSize(n)
  let v = n
  for (let i = size - 1; i >= 1; i--) {
    b[o + i] = v & 0xff
    v = Math.floor(v / 256)
  }
  b[o] = (0xff00 >> (size - 1)) & 0xff | v
  return size
}

/** Reads an [unsigned vint] length within [pos, end); sets `next`. Lengths past 2^31 are refused. */
const getUnsignedVint = (b: Buffer, pos: number, end: number): number => {
  if (pos >= end) return truncated("vector element length", pos)
  const first = b[pos]!
  let extra = 0
  while (extra < 8 && (first & (0x80 >> extra)) !== 0) extra++
  if (extra > 4 || end - pos - 1 < extra) return decodeFail("bad vector element length", pos)
  let v = first & (0xff >> (extra + 1))
  for (let i = 1; i <= extra; i++) v = v * 256 + b[pos + i]!
  if (v > 0x7fffffff) return decodeFail(`vector element length ${v}`, pos)
  next = pos + 1 + extra
  return v
}

const vectorCodec = (type: DataType & { kind: "vector" }, el: ValueCodec): ValueCodec => {
  const dim = type.dimension
  const what = toCql(type)
  const elSize = el.size
  const typed = typedKinds[el.type.kind as NativeTypeName]

  const checkLength = (v: unknown): ArrayLike<unknown> => {
    const arr =
      Array.isArray(v) || ArrayBuffer.isView(v) ? (v as unknown as ArrayLike<unknown>) : wrongType(type, v, "an array")
    if (arr.length !== dim) encodeFail(`expected ${dim} elements for ${what}, got ${arr.length}`)
    return arr
  }
  const writeEl = (w: ByteWriter, v: unknown, i: number) => {
    if (v === null || v === undefined) encodeFail("a vector element cannot be null", `[${i}]`)
    try {
      el.body(w, v)
    } catch (e) {
      throw withPath(e, `[${i}]`)
    }
  }

  const body =
    elSize >= 0
      ? (w: ByteWriter, v: unknown) => {
          const arr = checkLength(v)
          if (typed !== undefined && typed.is(v)) {
            // Same layout as the wire, but host byte order: copy the bytes, then swap them in place if needed.
            const view = v as Float32Array
            w.ensure(view.byteLength)
            const start = w.offset
            w.buf.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), start)
            if (littleEndian) typed.swap(w.buf.subarray(start, start + view.byteLength))
            w.offset = start + view.byteLength
            return
          }
          for (let i = 0; i < dim; i++) writeEl(w, arr[i], i)
        }
      : (w: ByteWriter, v: unknown) => {
          const arr = checkLength(v)
          for (let i = 0; i < dim; i++) {
            // The body goes 5 bytes on (the longest length prefix), then moves back once its size is known.
            w.ensure(5)
            const at = w.offset
            w.offset = at + 5
            writeEl(w, arr[i], i)
            const n = w.offset - at - 5
            const used = putUnsignedVint(w.buf, at, n)
            if (used < 5) w.buf.copyWithin(at + used, at + 5, at + 5 + n)
            w.offset = at + used + n
          }
        }

  const decode =
    elSize >= 0
      ? (b: Buffer, start: number, len: number): unknown => {
          if (len !== dim * elSize) return len === 0 ? null : badSize(type, len, start)
          if (typed !== undefined) {
            const out = typed.make(dim)
            const bytes = Buffer.from(out.buffer as ArrayBuffer)
            b.copy(bytes, 0, start, start + len)
            if (littleEndian) typed.swap(bytes)
            return out
          }
          const out = new Array<unknown>(dim)
          for (let i = 0; i < dim; i++) out[i] = el.decode(b, start + i * elSize, elSize)
          return out
        }
      : (b: Buffer, start: number, len: number): unknown => {
          if (len === 0) return null
          // Each element takes at least its one-byte length: this bounds the allocation by the bytes present.
          if (dim > len) return badSize(type, len, start)
          const end = start + len
          const out = new Array<unknown>(dim)
          let pos = start
          for (let i = 0; i < dim; i++) {
            const n = getUnsignedVint(b, pos, end)
            pos = next
            if (n > end - pos) return truncated(`vector element of ${n} bytes`, pos)
            out[i] = el.decode(b, pos, n)
            pos += n
          }
          trailing(pos, end, what)
          return out
        }

  return { ...variable(type, body, decode), size: elSize >= 0 ? dim * elSize : -1 }
}

// ---------------------------------------------------------------------------------------------------------------

const customCodec = (type: DataType): ValueCodec => variable(type, (w, v) => w.raw(bytesOf(type, v)), copyBytes)

const cache = new WeakMap<DataType, ValueCodec>()

/** The codec of a type, built once per type object (native types are shared singletons, see DataType.native). */
export const codecOf = (type: DataType): ValueCodec => {
  let c = cache.get(type)
  if (c === undefined) {
    c = build(type)
    cache.set(type, c)
  }
  return c
}

const build = (type: DataType): ValueCodec => {
  switch (type.kind) {
    case "list":
    case "set":
      return listCodec(type, codecOf(type.element))
    case "map":
      return mapCodec(type, codecOf(type.key), codecOf(type.value))
    case "tuple":
      return tupleCodec(type, type.elements.map(codecOf))
    case "udt":
      return udtCodec(type, type.fields.map((f) => codecOf(f.type)))
    case "vector":
      return vectorCodec(type, codecOf(type.element))
    case "custom":
      return customCodec(type)
    default:
      return nativeCodec(type)
  }
}
