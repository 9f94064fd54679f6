/**
 * Effect Schemas for CQL values, in the form the codec gives them (protocol Codec.ts): a row Schema built from
 * these decodes the driver's rows as they are, and a parameter Schema encodes to values the codec accepts.
 *
 * - One Schema per CQL type (`Uuid`, `TimeUuid`, `CqlDate`, `CqlTime`, `CqlDuration`, `Inet`, `Blob`, `Int`,
 *   `BigInt`, ...) and `Vector(element, n)` / `Float32Vector(n)`; each declared one carries pretty, arbitrary and
 *   equivalence annotations, so `Pretty`, `Arbitrary` and `Equivalence` work on rows built from them.
 * - Transformations to common forms, for rows whose fields are plain JS values: `UuidAsString` (a uuid column
 *   read as its string, e.g. where `Schema.UUID` was meant), `CqlDateAsDate`, `CqlDateAsString`,
 *   `BigIntAsNumber` (fails, naming the value, beyond 2^53). Each encodes back to what the column takes.
 * - `forType(dataType)`: the Schema of any DataType, collections, tuples, UDTs and vectors included;
 *   `fromTable(metadata, keyspace, table)`: the Schema of a table's whole rows, from the live schema.
 *
 * Each Schema of a native type, and of a typed-array vector, has its export name as its identifier annotation
 * (`Uuid`, `Int`, `Float32Vector(3)`): CqlCodegen writes `CqlSchema.<identifier>` into generated code.
 *
 * Nullability: a column value may be null; wrap a Schema in `Schema.NullOr` where that can happen (`forType`
 * does it for tuple and UDT fields, whose values may be null; collection elements never are).
 */
import { Codec, CqlDate as Date_, CqlDuration as Duration_, CqlTime as Time_, DataType, Uuid as Uuid_ } from "@effect-cql/protocol"
import type * as Arbitrary from "effect/Arbitrary"
import type * as BigDecimal from "effect/BigDecimal"
import * as Either from "effect/Either"
import type * as Metadata from "./Metadata.js"
import { UnknownTable } from "./CqlError.js"
import * as Equal from "effect/Equal"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"

// ---------------------------------------------------------------------------------------------------------------
// The driver's value classes

/** A `uuid` value: the driver's `Uuid` (any version). */
export const Uuid: Schema.Schema<Uuid_.Uuid> = Schema.declare(Uuid_.isUuid, {
  identifier: "Uuid",
  description: "a CQL uuid (the driver's Uuid)",
  pretty: () => (u: Uuid_.Uuid) => `Uuid(${u.toString()})`,
  arbitrary: () => (fc) => fc.tuple(fc.integer(), fc.integer(), fc.integer(), fc.integer()).map(([a, b, c, d]) => new Uuid_.Uuid(a, b, c, d)),
  equivalence: () => Equal.equals
})

/** A `timeuuid` value: a version 1 `Uuid` (Cassandra refuses others). */
export const TimeUuid: Schema.Schema<Uuid_.Uuid> = Uuid.pipe(
  Schema.filter((u) => u.version === 1 || `a timeuuid must be a version 1 UUID, got version ${u.version}`, {
    identifier: "TimeUuid",
    arbitrary: () => (fc) =>
      fc.tuple(fc.integer(), fc.integer(), fc.integer(), fc.integer()).map(
        // The version nibble 1 and the RFC 4122 variant bits; the rest random.
        ([a, b, c, d]) => new Uuid_.Uuid(a, (b & 0xffff0fff) | 0x1000, (c & 0x3fffffff) | 0x80000000, d)
      )
  })
)

/** A `date` value: the driver's `CqlDate` (any day the protocol carries, far beyond a JS Date's range). */
export const CqlDate: Schema.Schema<Date_.CqlDate> = Schema.declare(Date_.isCqlDate, {
  identifier: "CqlDate",
  description: "a CQL date (the driver's CqlDate)",
  pretty: () => (d: Date_.CqlDate) => `CqlDate(${d.toString()})`,
  arbitrary: () => (fc) => fc.integer({ min: Date_.minDays, max: Date_.maxDays }).map((days) => new Date_.CqlDate(days)),
  equivalence: () => Equal.equals
})

/** A `time` value: the driver's `CqlTime` (nanoseconds since midnight). */
export const CqlTime: Schema.Schema<Time_.CqlTime> = Schema.declare(Time_.isCqlTime, {
  identifier: "CqlTime",
  description: "a CQL time of day (the driver's CqlTime)",
  pretty: () => (t: Time_.CqlTime) => `CqlTime(${t.toString()})`,
  arbitrary: () => (fc) => fc.bigInt({ min: 0n, max: Time_.nanosPerDay - 1n }).map((nanos) => new Time_.CqlTime(nanos)),
  equivalence: () => Equal.equals
})

const int32Max = 2 ** 31 - 1
const int64Max = 2n ** 63n - 1n

/** A `duration` value: the driver's `CqlDuration` (months, days, nanoseconds; one sign for all three). */
export const CqlDuration: Schema.Schema<Duration_.CqlDuration> = Schema.declare(Duration_.isCqlDuration, {
  identifier: "CqlDuration",
  description: "a CQL duration (the driver's CqlDuration)",
  pretty: () => (d: Duration_.CqlDuration) => `CqlDuration(${d.toString()})`,
  arbitrary: () => (fc) =>
    fc
      .tuple(fc.boolean(), fc.integer({ min: 0, max: int32Max }), fc.integer({ min: 0, max: int32Max }), fc.bigInt({ min: 0n, max: int64Max }))
      .map(([negative, months, days, nanos]) =>
        negative ? new Duration_.CqlDuration(-months, -days, -nanos) : new Duration_.CqlDuration(months, days, nanos)
      ),
  equivalence: () => Equal.equals
})

// ---------------------------------------------------------------------------------------------------------------
// Values the codec gives as plain JS values

/** The 4 or 16 bytes of an address, through the codec (so that equal addresses in different text forms compare equal). */
const inetBytes = (address: string): Buffer | undefined => Either.getOrUndefined(Codec.encode(DataType.native.inet, address)) ?? undefined

/** An `inet` value: an IPv4 or IPv6 address as text (the codec decodes to RFC 5952 form and encodes any form). */
export const Inet: Schema.Schema<string> = Schema.String.pipe(
  Schema.filter((s) => inetBytes(s) !== undefined || `${JSON.stringify(s)} is not an IPv4 or IPv6 address`, {
    identifier: "Inet",
    // Addresses as the codec prints them: 4 or 16 random bytes, decoded.
    arbitrary: () => (fc) =>
      fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })).map((bytes) =>
        String(Either.getOrThrow(Codec.decode(DataType.native.inet, Buffer.from(bytes))))
      ),
    equivalence: () => (a, b) => {
      const x = inetBytes(a)
      const y = inetBytes(b)
      return x !== undefined && y !== undefined ? x.equals(y) : a === b
    }
  })
)

/** A `blob` value: bytes (the codec decodes to a Buffer, a Uint8Array, and encodes any Uint8Array). */
export const Blob: Schema.Schema<Uint8Array> = Schema.Uint8ArrayFromSelf.annotations({ identifier: "Blob" })

/** `ascii`: text of code points 0..127. */
export const Ascii: Schema.Schema<string> = Schema.String.pipe(
  Schema.filter((s) => /^[\x00-\x7f]*$/.test(s) || "ascii text holds only characters 0..127", {
    identifier: "Ascii",
    arbitrary: () => (fc) => fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) })
  })
)

/** `text` / `varchar`. */
export const Text: Schema.Schema<string> = Schema.String.annotations({ identifier: "Text" })

const intBetween = (identifier: string, min: number, max: number): Schema.Schema<number> =>
  Schema.Int.pipe(Schema.between(min, max, { identifier }))

export const TinyInt: Schema.Schema<number> = intBetween("TinyInt", -0x80, 0x7f)
export const SmallInt: Schema.Schema<number> = intBetween("SmallInt", -0x8000, 0x7fff)
export const Int: Schema.Schema<number> = intBetween("Int", -0x80000000, 0x7fffffff)

/** `bigint` (and `counter`): a 64-bit integer, as a JS bigint. */
const BigInt64: Schema.Schema<bigint> = Schema.BigIntFromSelf.pipe(Schema.betweenBigInt(-int64Max - 1n, int64Max, { identifier: "BigInt" }))
export { BigInt64 as BigInt }
export const Counter: Schema.Schema<bigint> = BigInt64.annotations({ identifier: "Counter" })

/** `varint`: an integer of any size, as a JS bigint. */
export const Varint: Schema.Schema<bigint> = Schema.BigIntFromSelf.annotations({ identifier: "Varint" })

// Object.is: a NaN read back equals the NaN written (the bytes are the same), and -0 stays apart from 0.
const sameFloat = () => (a: number, b: number) => Object.is(a, b)

/** `float`: a number (encoding rounds it to 32 bits, as the server stores it). */
export const Float: Schema.Schema<number> = Schema.Number.annotations({
  identifier: "Float",
  arbitrary: () => (fc) => fc.float(),
  equivalence: sameFloat
})
export const Double: Schema.Schema<number> = Schema.Number.annotations({ identifier: "Double", equivalence: sameFloat })
const Bool: Schema.Schema<boolean> = Schema.Boolean.annotations({ identifier: "Boolean" })
export { Bool as Boolean }

/** `decimal`: Effect's `BigDecimal` (scale kept: `0.10` stays 10 × 10^-2). */
export const Decimal: Schema.Schema<BigDecimal.BigDecimal> = Schema.BigDecimalFromSelf.annotations({ identifier: "Decimal" })

/**
 * `timestamp`: a valid `Date`. (A stored timestamp beyond a Date's range, ±8.64e15 ms, decodes as bigint
 * milliseconds, which this Schema refuses: use `Schema.Union(CqlSchema.Timestamp, CqlSchema.BigInt)` there.)
 */
export const Timestamp: Schema.Schema<Date> = Schema.ValidDateFromSelf.annotations({ identifier: "Timestamp" })

// ---------------------------------------------------------------------------------------------------------------
// Vectors

const lengthOf = (u: unknown): string =>
  Array.isArray(u) || ArrayBuffer.isView(u) ? `${(u as unknown as ArrayLike<unknown>).length} elements` : typeof u

/** `vector<T, n>` for any element Schema: an array of n elements (decoded from an array or a typed array). */
export const Vector = <A, I, R>(element: Schema.Schema<A, I, R>, dimension: number): Schema.Schema<ReadonlyArray<A>, ArrayLike<I>, R> =>
  Schema.transform(
    Schema.declare(
      (u): u is ArrayLike<I> => (Array.isArray(u) || (ArrayBuffer.isView(u) && !(u instanceof DataView))) && (u as ArrayLike<unknown>).length === dimension,
      {
        identifier: `Vector(${dimension})`,
        message: (issue) => `expected an array or typed array of ${dimension} elements, got ${lengthOf(issue.actual)}`
      }
    ),
    Schema.Array(element).pipe(Schema.itemsCount(dimension)),
    { strict: true, decode: (a) => Array.from(a), encode: (a) => a }
  )

interface TypedArray<E> extends ArrayLike<E> {
  readonly buffer: ArrayBufferLike
}

const typedVector = <T extends TypedArray<E>, E>(
  exportName: string,
  name: string,
  is: (u: unknown) => u is T,
  arbitrary: (n: number) => Arbitrary.LazyArbitrary<T>
) => (dimension: number): Schema.Schema<T> =>
  Schema.declare((u): u is T => is(u) && u.length === dimension, {
    identifier: `${exportName}(${dimension})`,
    description: `a ${name} of ${dimension} elements`,
    pretty: () => (v) => `${name}(${Array.from(v).join(", ")})`,
    arbitrary: () => arbitrary(dimension),
    // Element by element with Object.is: NaN equals NaN, as the bytes of a vector would.
    equivalence: () => (a, b) => a.length === b.length && Array.prototype.every.call(a, (x: E, i: number) => Object.is(x, b[i]))
  })

/** `vector<float, n>`: the codec's Float32Array (no array of numbers made per row). */
export const Float32Vector = typedVector("Float32Vector", "Float32Array", (u): u is Float32Array => u instanceof Float32Array, (n) => (fc) =>
  fc.float32Array({ minLength: n, maxLength: n })
)
/** `vector<double, n>`: a Float64Array. */
export const Float64Vector = typedVector("Float64Vector", "Float64Array", (u): u is Float64Array => u instanceof Float64Array, (n) => (fc) =>
  fc.float64Array({ minLength: n, maxLength: n })
)
/** `vector<int, n>`: an Int32Array. */
export const Int32Vector = typedVector("Int32Vector", "Int32Array", (u): u is Int32Array => u instanceof Int32Array, (n) => (fc) =>
  fc.int32Array({ minLength: n, maxLength: n })
)
/** `vector<bigint, n>`: a BigInt64Array. */
export const BigInt64Vector = typedVector("BigInt64Vector", "BigInt64Array", (u): u is BigInt64Array => u instanceof BigInt64Array, (n) => (fc) =>
  fc.bigInt64Array({ minLength: n, maxLength: n })
)

// ---------------------------------------------------------------------------------------------------------------
// Transformations to common forms

/** The value of `o`, or a Type issue saying `message` about `actual`. */
const orIssue = <A>(o: Option.Option<A>, ast: SchemaAST.AST, actual: unknown, message: string): Either.Either<A, ParseResult.ParseIssue> =>
  Option.isSome(o) ? Either.right(o.value) : Either.left(new ParseResult.Type(ast, actual, message))

/** A `uuid` column as its canonical lower-case string (a `Schema.UUID`); encodes back to a `Uuid`. */
export const UuidAsString: Schema.Schema<string, Uuid_.Uuid> = Schema.transformOrFail(Uuid, Schema.UUID, {
  strict: true,
  decode: (u) => ParseResult.succeed(u.toString()),
  encode: (s, _, ast) => orIssue(Uuid_.fromString(s), ast, s, `${JSON.stringify(s)} is not a UUID`)
}).annotations({ identifier: "UuidAsString" })

/** A `timeuuid` column as its string; encoding refuses a UUID that is not version 1. */
export const TimeUuidAsString: Schema.Schema<string, Uuid_.Uuid> = Schema.compose(TimeUuid, UuidAsString, { strict: false }).annotations({
  identifier: "TimeUuidAsString"
})

const msPerDay = 86_400_000

/** A Date at midnight UTC: what a day is as a JS Date. */
const UtcMidnight: Schema.Schema<Date> = Schema.ValidDateFromSelf.pipe(
  Schema.filter((d) => d.getTime() % msPerDay === 0 || `a date column holds a day: expected midnight UTC, got ${d.toISOString()}`, {
    identifier: "UtcMidnight",
    arbitrary: () => (fc) => fc.integer({ min: -100_000_000, max: 100_000_000 }).map((days) => new Date(days * msPerDay))
  })
)

/**
 * A `date` column as a JS Date at midnight UTC. Decoding fails for a day beyond a Date's range (±100,000,000
 * days); encoding refuses a Date with a time of day, rather than drop it silently.
 */
export const CqlDateAsDate: Schema.Schema<Date, Date_.CqlDate> = Schema.transformOrFail(CqlDate, UtcMidnight, {
  strict: true,
  decode: (d, _, ast) => orIssue(Date_.toDate(d), ast, d, `${d.toString()} is beyond the range of a JS Date`),
  encode: (d, _, ast) => orIssue(Date_.fromDate(d), ast, d, "an invalid Date")
}).annotations({ identifier: "CqlDateAsDate" })

/** `YYYY-MM-DD` (years beyond 0..9999 signed, as CQL prints them). */
const DayString: Schema.Schema<string> = Schema.String.pipe(
  Schema.filter((s) => Option.isSome(Date_.fromString(s)) || `${JSON.stringify(s)} is not a day (YYYY-MM-DD)`, {
    identifier: "DayString",
    arbitrary: () => (fc) => fc.integer({ min: Date_.minDays, max: Date_.maxDays }).map((days) => new Date_.CqlDate(days).toString())
  })
)

/** A `date` column as `YYYY-MM-DD` text; every CQL date has one. */
export const CqlDateAsString: Schema.Schema<string, Date_.CqlDate> = Schema.transformOrFail(CqlDate, DayString, {
  strict: true,
  decode: (d) => ParseResult.succeed(d.toString()),
  encode: (s, _, ast) => orIssue(Date_.fromString(s), ast, s, `${JSON.stringify(s)} is not a day (YYYY-MM-DD)`)
}).annotations({ identifier: "CqlDateAsString" })

/**
 * A `bigint`, `counter` or `varint` column as a JS number. Decoding fails for a value a number cannot hold
 * exactly (beyond ±(2^53 - 1)), naming it; keep such columns as `CqlSchema.BigInt`.
 */
export const BigIntAsNumber: Schema.Schema<number, bigint> = Schema.transformOrFail(Schema.BigIntFromSelf, Schema.Int, {
  strict: true,
  decode: (n, _, ast) =>
    n >= -9007199254740991n && n <= 9007199254740991n
      ? ParseResult.succeed(Number(n))
      : ParseResult.fail(new ParseResult.Type(ast, n, `${n} does not fit a JS number exactly (beyond ±2^53 - 1): read it as a bigint`)),
  encode: (n) => ParseResult.succeed(globalThis.BigInt(n))
}).annotations({ identifier: "BigIntAsNumber" })

// ---------------------------------------------------------------------------------------------------------------
// Any DataType

const natives: { readonly [K in DataType.NativeTypeName]: Schema.Schema.Any } = {
  ascii: Ascii,
  bigint: BigInt64,
  blob: Blob,
  boolean: Bool,
  counter: Counter,
  decimal: Decimal,
  double: Double,
  float: Float,
  int: Int,
  timestamp: Timestamp,
  uuid: Uuid,
  varchar: Text,
  varint: Varint,
  timeuuid: TimeUuid,
  inet: Inet,
  date: CqlDate,
  time: CqlTime,
  smallint: SmallInt,
  tinyint: TinyInt,
  duration: CqlDuration
}

const typedVectors: Partial<Record<DataType.NativeTypeName, (n: number) => Schema.Schema.Any>> = {
  float: Float32Vector,
  double: Float64Vector,
  int: Int32Vector,
  bigint: BigInt64Vector
}

/**
 * The Schema of values of `type`, exactly as the codec decodes them: lists and sets as arrays, maps as `Map`s,
 * tuples as arrays (elements may be null), UDTs as objects (fields may be null), vectors of float, double, int
 * and bigint as typed arrays, other custom types as bytes. Its Type and Encoded are the same, and unknown here.
 */
export const forType = (type: DataType.DataType): Schema.Schema<unknown> => schemaOf(type) as Schema.Schema<unknown>

const schemaOf = (type: DataType.DataType): Schema.Schema.Any => {
  switch (type.kind) {
    case "list":
    case "set":
      return Schema.Array(schemaOf(type.element))
    case "map":
      return Schema.ReadonlyMapFromSelf({ key: schemaOf(type.key), value: schemaOf(type.value) })
    case "tuple":
      return Schema.Tuple(...type.elements.map((e) => Schema.NullOr(schemaOf(e))))
    case "udt":
      return Schema.Struct(Object.fromEntries(type.fields.map((f) => [f.name, Schema.NullOr(schemaOf(f.type))]))).annotations({
        identifier: `${type.keyspace}.${type.name}`
      })
    case "vector": {
      const typed = typedVectors[type.element.kind as DataType.NativeTypeName]
      return typed !== undefined ? typed(type.dimension) : Vector(schemaOf(type.element), type.dimension)
    }
    case "custom":
      return Blob
    default:
      return natives[type.kind]
  }
}

/**
 * The Schema of the whole rows of `keyspace.table` (as `SELECT *` returns them) in a Metadata snapshot: one field
 * per column, by `forType`; nullable except for the primary key's columns.
 */
export const fromTable = (
  metadata: Metadata.Metadata,
  keyspace: string,
  table: string
): Either.Either<Schema.Schema<{ readonly [column: string]: unknown }>, UnknownTable> => {
  const t = metadata.keyspaces.get(keyspace)?.tables.get(table)
  if (t === undefined) return Either.left(new UnknownTable({ keyspace, table }))
  const fields: Record<string, Schema.Schema.Any> = {}
  for (const c of t.columns) {
    const schema = schemaOf(c.type)
    fields[c.name] = c.kind === "partition_key" || c.kind === "clustering" ? schema : Schema.NullOr(schema)
  }
  return Either.right(Schema.Struct(fields).annotations({ identifier: `${keyspace}.${table}` }) as unknown as Schema.Schema<{ readonly [column: string]: unknown }>)
}
