import { addEqualityTesters, describe, expect, it } from "@effect/vitest"
import * as BigDecimal from "effect/BigDecimal"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Codec from "../src/Codec.js"
import { CqlDate } from "../src/CqlDate.js"
import { CqlDuration } from "../src/CqlDuration.js"
import { CqlTime } from "../src/CqlTime.js"
import type { DataType } from "../src/DataType.js"
import { native, parseTypeString } from "../src/DataType.js"
import { ByteReader } from "../src/internal/reader.js"
import { ByteWriter } from "../src/internal/writer.js"
import { DecodeError, EncodeError } from "../src/ProtocolError.js"
import * as Uuid from "../src/Uuid.js"
import { nativeSamples, typedValue } from "./CodecArbitraries.js"

addEqualityTesters()

const randomBytes = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b))
const simpleLeaf = fc.oneof(
  fc.double(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.string(),
  fc.boolean(),
  fc.date({ noInvalidDate: true })
)
const simpleValue = fc.oneof(
  simpleLeaf,
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.integer())
)

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex")
const enc = (type: DataType, v: unknown): Buffer => Either.getOrThrow(Codec.encode(type, v)) as Buffer
const dec = (type: DataType, b: Buffer): unknown => Either.getOrThrow(Codec.decode(type, b))

const encodeError = (type: DataType, v: unknown, path = "$1"): EncodeError => {
  const w = new ByteWriter(8)
  try {
    Codec.writeValue(w, type, v, path)
  } catch (e) {
    if (e instanceof EncodeError) return e
    throw e
  }
  throw new Error(`expected an EncodeError for ${String(v)}`)
}

const decodeError = (type: DataType, b: Buffer): DecodeError => {
  const r = Codec.decode(type, b)
  if (Either.isRight(r)) throw new Error(`expected a DecodeError, got ${String(r.right)}`)
  expect(r.left).toBeInstanceOf(DecodeError)
  return r.left
}

const list = (element: DataType): DataType => ({ kind: "list", element })
const set = (element: DataType): DataType => ({ kind: "set", element })
const map = (key: DataType, value: DataType): DataType => ({ kind: "map", key, value })
const tuple = (...elements: Array<DataType>): DataType => ({ kind: "tuple", elements })
const vector = (element: DataType, dimension: number): DataType => ({ kind: "vector", element, dimension })
const address: DataType = {
  kind: "udt",
  keyspace: "ks",
  name: "address",
  fields: [native.varchar, native.int, set(native.varchar)].map((type, i) => ({ name: ["street", "zip", "tags"][i]!, type }))
}

describe("Codec round trips (property)", () => {
  for (const [name, arb] of Object.entries(nativeSamples)) {
    const type = native[name as keyof typeof nativeSamples]
    it.prop(`${name}`, [arb], ([s]) => {
      expect(dec(type, enc(type, s.value))).toEqual(s.expected)
    })
  }

  it.prop(
    "nested types of every kind, with their [value] length",
    [typedValue(3)],
    ([{ expected, type, value }]) => {
      expect(dec(type, enc(type, value))).toEqual(expected)
      const w = new ByteWriter(4)
      Codec.writeValue(w, type, value, "$1")
      Codec.writeValue(w, type, null, "$2")
      Codec.writeValue(w, type, Codec.unset, "$3")
      const r = new ByteReader(w.finish())
      expect(Codec.readValue(r, type)).toEqual(expected)
      expect(Codec.readValue(r, type)).toBeNull()
      expect(Codec.readValue(r, type)).toBe(Codec.unset)
      r.expectEnd("values")
    },
    { fastCheck: { numRuns: 500 } }
  )
})

describe("Codec bytes, by hand from the spec (section 6)", () => {
  const cases: Array<[string, DataType, unknown, string]> = [
    ["ascii", native.ascii, "Hi", "4869"],
    ["bigint", native.bigint, -2n, "fffffffffffffffe"],
    ["bigint from a number", native.bigint, 2 ** 40 + 5, "0000010000000005"],
    ["bigint from a negative number", native.bigint, -(2 ** 40) - 5, "fffffefffffffffb"],
    ["counter", native.counter, 7n, "0000000000000007"],
    ["blob", native.blob, Buffer.from([0xca, 0xfe]), "cafe"],
    ["boolean", native.boolean, true, "01"],
    ["decimal 12.345", native.decimal, BigDecimal.make(12345n, 3), "00000003 3039"],
    ["decimal from a string keeps its scale", native.decimal, "-1.50", "00000002 ff6a"],
    ["decimal with the largest scale", native.decimal, BigDecimal.make(-1n, 2 ** 31 - 1), "7fffffff ff"],
    ["decimal with the smallest scale", native.decimal, BigDecimal.make(1n, -(2 ** 31)), "80000000 01"],
    ["double", native.double, 1.5, "3ff8000000000000"],
    ["float", native.float, -2.5, "c0200000"],
    ["int", native.int, -1, "ffffffff"],
    ["timestamp", native.timestamp, new Date(1), "0000000000000001"],
    ["timestamp before 1970", native.timestamp, -1, "ffffffffffffffff"],
    ["uuid", native.uuid, "01234567-89ab-cdef-0123-456789abcdef", "0123456789abcdef0123456789abcdef"],
    ["timeuuid", native.timeuuid, "13814000-1dd2-11b2-8080-808080808080", "138140001dd211b28080808080808080"],
    ["text", native.varchar, "é", "c3a9"],
    ["text, non-ASCII after ASCII", native.varchar, "ab€", "6162e282ac"],
    ["text longer than the ASCII loop", native.varchar, "x".repeat(40), "78".repeat(40)],
    ["varint 128 (spec table)", native.varint, 128n, "0080"],
    ["varint -129 (spec table)", native.varint, -129n, "ff7f"],
    ["varint -128 (spec table)", native.varint, -128, "80"],
    ["inet v4", native.inet, "10.0.0.1", "0a000001"],
    ["inet v6", native.inet, "::1", "00000000000000000000000000000001"],
    ["date: the epoch is 2^31 (6.5)", native.date, new CqlDate(0), "80000000"],
    ["date from a string", native.date, "1969-12-31", "7fffffff"],
    ["date from a Date takes the UTC day", native.date, new Date(Date.UTC(1970, 0, 2, 23, 59)), "80000001"],
    ["time", native.time, "00:00:01.5", "0000000059682f00"],
    ["smallint", native.smallint, -2, "fffe"],
    ["tinyint", native.tinyint, 127, "7f"],
    ["duration: zig-zag vints (6.8)", native.duration, new CqlDuration(1, -0, 0n), "020000"],
    ["negative duration", native.duration, new CqlDuration(-1, -2, -3n), "010305"],
    ["duration of 1000 ns: a two-byte vint", native.duration, "1us", "0000 87d0"],
    ["list<int>", list(native.int), [1, 2], "00000002 00000004 00000001 00000004 00000002"],
    ["set<text> from a Set", set(native.varchar), new Set(["a"]), "00000001 00000001 61"],
    ["map<text,int> from an object", map(native.varchar, native.int), { a: 1 }, "00000001 00000001 61 00000004 00000001"],
    ["tuple<int,text> with a null", tuple(native.int, native.varchar), [null, "x"], "ffffffff 00000001 78"],
    [
      "UDT, missing fields null",
      address,
      { zip: 5 },
      "ffffffff 00000004 00000005 ffffffff"
    ],
    ["vector<float,2>: packed, no lengths", vector(native.float, 2), new Float32Array([1, -2]), "3f800000 c0000000"],
    ["vector<float,2> from an array", vector(native.float, 2), [1, -2], "3f800000 c0000000"],
    ["vector<int,2>", vector(native.int, 2), [1, 2], "00000001 00000002"],
    ["vector<text,2>: [unsigned vint] lengths", vector(native.varchar, 2), ["a", ""], "01 61 00"],
    ["vector<smallint,1> is variable-size", vector(native.smallint, 1), [1], "02 0001"],
    ["vector<vector<int,1>,2> packs fixed-size vectors", vector(vector(native.int, 1), 2), [[1], [2]], "00000001 00000002"],
    ["custom", { kind: "custom", className: "x.Y" }, Buffer.from([1]), "01"]
  ]
  for (const [name, type, value, bytes] of cases) {
    it(name, () => {
      expect(enc(type, value).toString("hex")).toBe(hex(bytes).toString("hex"))
    })
  }

  it("a text element of 200 bytes in a vector takes a two-byte length", () => {
    const b = enc(vector(native.varchar, 1), ["x".repeat(200)])
    expect(b.subarray(0, 2).toString("hex")).toBe("80c8")
    expect(b.length).toBe(202)
    expect(dec(vector(native.varchar, 1), b)).toEqual(["x".repeat(200)])
  })

  it("decimal keeps its exact scale both ways", () => {
    const d = dec(native.decimal, hex("00000002 ff6a")) as BigDecimal.BigDecimal
    expect([d.value, d.scale]).toEqual([-150n, 2])
  })

  it("null, unset and the [value] length", () => {
    const w = new ByteWriter(4)
    Codec.writeValue(w, native.int, null, "$1")
    Codec.writeValue(w, native.int, undefined, "$2")
    Codec.writeValue(w, native.int, Codec.unset, "$3")
    Codec.writeValue(w, native.varchar, "ab", "$4")
    expect(w.finish().toString("hex")).toBe("ffffffffffffffff" + "fffffffe" + "000000026162")
    expect(Either.getOrThrow(Codec.encode(native.int, null))).toBeNull()
    expect(Either.getOrThrow(Codec.decode(native.int, null))).toBeNull()
    expect(Either.isLeft(Codec.encode(native.int, Codec.unset))).toBe(true)
  })

  it("empty values of non-text types decode as null, of text types as empty", () => {
    for (const t of [native.int, native.bigint, native.uuid, native.timestamp, native.varint, native.decimal, native.inet]) {
      expect(dec(t, Buffer.alloc(0))).toBeNull()
    }
    expect(dec(native.varchar, Buffer.alloc(0))).toBe("")
    expect(dec(native.blob, Buffer.alloc(0))).toEqual(Buffer.alloc(0))
  })

  it("blob decodes to a copy that does not share the response buffer", () => {
    const page = hex("0102")
    const b = dec(native.blob, page) as Buffer
    page[0] = 9
    expect(b[0]).toBe(1)
  })

  it("representations: Uuid, CqlDate, CqlTime, Date, Map, typed vectors", () => {
    expect(String(dec(native.uuid, hex("0123456789abcdef0123456789abcdef")))).toBe("01234567-89ab-cdef-0123-456789abcdef")
    expect(String(dec(native.date, hex("00000000")))).toBe("-5877641-06-23")
    expect(String(dec(native.date, hex("ffffffff")))).toBe("+5881580-07-11")
    expect(String(dec(native.time, hex("00004e94914effff")))).toBe("23:59:59.999999999")
    expect(dec(native.timestamp, hex("0000000000000001"))).toEqual(new Date(1))
    // Beyond Date's range (Cassandra's Long.MAX "never"): exact, as bigint milliseconds, not a failed page.
    expect(dec(native.timestamp, hex("7fffffffffffffff"))).toBe(2n ** 63n - 1n)
    expect(dec(native.timestamp, hex("8000000000000000"))).toBe(-(2n ** 63n))
    expect(dec(map(native.int, native.varchar), hex("00000001 00000004 00000001 00000001 61"))).toEqual(new Map([[1, "a"]]))
    expect(dec(vector(native.double, 1), hex("3ff8000000000000"))).toEqual(new Float64Array([1.5]))
    expect(dec(vector(native.bigint, 1), hex("fffffffffffffffe"))).toEqual(new BigInt64Array([-2n]))
    expect(dec(vector(native.boolean, 2), hex("0100"))).toEqual([true, false])
  })

  it("the codec is built once per type object", () => {
    expect(Codec.codecFor(list(native.int))).not.toBe(Codec.codecFor(list(native.int)))
    const t = list(native.int)
    expect(Codec.codecFor(t)).toBe(Codec.codecFor(t))
    expect(Codec.codecFor(native.int)).toBe(Codec.codecFor(parseTypeString("Int32Type")))
  })
})

describe("Codec encode errors name the path", () => {
  const cases: Array<[string, DataType, unknown, string, RegExp]> = [
    ["a string for an int", native.int, "42", "$1", /expected a number or bigint for int/],
    ["NaN for an int", native.int, NaN, "$1", /NaN is not an integer/],
    ["a fraction for an int", native.int, 1.5, "$1", /1.5 is not an integer/],
    ["int out of range", native.int, 2 ** 31, "$1", /not an integer in -2147483648\.\.2147483647/],
    ["smallint out of range", native.smallint, 40000, "$1", /-32768\.\.32767/],
    ["tinyint out of range (bigint)", native.tinyint, 128n, "$1", /out of range/],
    ["bigint out of 64 bits", native.bigint, 2n ** 63n, "$1", /64-bit/],
    ["an unsafe number for a bigint", native.bigint, 2 ** 60, "$1", /not a safe integer/],
    ["float out of range", native.float, 1e39, "$1", /32-bit float/],
    ["a number for text", native.varchar, 1, "$1", /expected a string for text/],
    ["non-ASCII for ascii", native.ascii, "é", "$1", /non-ASCII/],
    ["a bad uuid string", native.uuid, "not-a-uuid", "$1", /not a UUID/],
    ["a v4 uuid for a timeuuid", native.timeuuid, Uuid.random(), "$1", /version 1/],
    ["a bad inet", native.inet, "999.1.1.1", "$1", /not an IPv4 or IPv6/],
    ["an invalid Date", native.timestamp, new Date(NaN), "$1", /invalid Date/],
    ["fractional ms", native.timestamp, 1.5, "$1", /whole number of milliseconds/],
    ["a bad date string", native.date, "2024-02-30", "$1", /not a date/],
    ["a time past midnight", native.time, 86_400_000_000_000n, "$1", /not a time of day/],
    ["mixed-sign duration", native.duration, new CqlDuration(1, -1, 0n), "$1", /different signs/],
    ["a bad decimal", native.decimal, "1.2.3", "$1", /not a decimal/],
    ["a string for a boolean", native.boolean, "true", "$1", /expected a boolean/],
    ["a list element", list(native.int), [1, 2, "x"], "$1[2]", /expected a number/],
    ["a null list element", list(native.int), [1, null], "$1[1]", /null is not allowed/],
    ["a UDT field", address, { street: "s", zip: "75001" }, "$1.zip", /expected a number/],
    ["an unknown UDT field", address, { zipcode: 1 }, "$1.zipcode", /has no field "zipcode"/],
    ["inside a set in a UDT", address, { tags: ["a", 5] }, "$1.tags[1]", /expected a string/],
    ["unset in a UDT", address, { zip: Codec.unset }, "$1.zip", /unset/],
    ["a map value", map(native.varchar, native.int), new Map([["k", "v"]]), '$1["k"]', /expected a number/],
    ["a map key", map(native.int, native.int), new Map([["k", 1]]), '$1["k"](key)', /expected a number/],
    ["an object for a non-text-keyed map", map(native.int, native.int), { 1: 1 }, "$1", /a Map/],
    ["a tuple of the wrong length", tuple(native.int, native.int), [1], "$1", /expected 2 elements/],
    ["a tuple element", tuple(native.int, native.varchar), [1, 2], "$1[1]", /expected a string/],
    ["a vector of the wrong length", vector(native.float, 3), [1, 2], "$1", /expected 3 elements for vector<float, 3>/],
    ["a vector element", vector(native.float, 2), [1, "x"], "$1[1]", /expected a number/],
    ["a null vector element", vector(native.varchar, 2), ["a", null], "$1[1]", /cannot be null/],
    ["deep", list(map(native.varchar, list(tuple(native.int)))), [new Map([["a", [[1], ["x"]]]])], '$1[0]["a"][1][0]', /expected a number/],
    ["a number for a blob", native.blob, 5, "$1", /Buffer or Uint8Array/]
  ]
  for (const [name, type, value, path, message] of cases) {
    it(name, () => {
      const e = encodeError(type, value)
      expect(e.path).toBe(path)
      expect(e.message).toMatch(message)
    })
  }

  it("paths start from the caller's name, or from the field when there is none", () => {
    expect(encodeError(address, { zip: "x" }, "user.address").path).toBe("user.address.zip")
    const left = Codec.encode(address, { zip: "x" })
    expect(Either.isLeft(left) && left.left.path).toBe("zip")
  })
})

describe("Codec hostile decoding", () => {
  const cases: Array<[string, DataType, string, RegExp]> = [
    ["an int of 3 bytes", native.int, "000001", /int value of 3 bytes/],
    ["a uuid of 15 bytes", native.uuid, "00".repeat(15), /uuid value of 15 bytes/],
    ["a bigint of 9 bytes", native.bigint, "00".repeat(9), /bigint value of 9 bytes/],
    ["a list count past the bytes", list(native.int), "7fffffff", /count 2147483647 does not fit/],
    ["a negative list count", list(native.int), "ffffffff", /count -1/],
    ["a map count past the bytes", map(native.int, native.int), "00000003 00000004 00000001 00000004 00000001", /count 3 does not fit/],
    ["a map entry missing", map(native.int, native.int), "00000002 00000004 00000001 00000004 00000001", /runs past the end/],
    ["an element past the end", list(native.varchar), "00000001 00000005 6162", /runs past the end/],
    ["an element length cut short", list(native.varchar), "00000001 0000", /runs past the end|count 1 does not fit/],
    ["an element length below -2", list(native.int), "00000001 fffffff0", /element length -16/],
    ["trailing bytes in a list", list(native.int), "00000000 00", /trailing/],
    ["trailing bytes in a UDT", { kind: "udt", keyspace: "k", name: "u", fields: [] }, "00", /trailing/],
    ["a vector of the wrong size", vector(native.float, 2), "00000000", /vector<float, 2> value of 4 bytes/],
    ["a huge vector dimension", vector(native.varchar, 2 ** 31 - 1), "0000", /vector<text, 2147483647> value of 2 bytes/],
    ["a vector element past the end", vector(native.varchar, 1), "05 61", /runs past the end/],
    ["a vector length vint of 9 bytes", vector(native.varchar, 1), "ff 00 00 00 00 00 00 00 00", /bad vector element length/],
    ["a time past midnight", native.time, "00004e94914f0000", /time of 86400000000000 ns/],
    ["a duration with trailing bytes", native.duration, "00000000", /trailing/],
    ["a duration with mixed signs", native.duration, "020100", /different signs/],
    ["a duration with 64-bit months", native.duration, "ff ffffffffffffffff 00 00", /32-bit/],
    ["an inet of 5 bytes", native.inet, "0102030405", /inet value of 5 bytes/],
    ["a decimal without its varint", native.decimal, "00000001", /decimal value of 4 bytes/]
  ]
  for (const [name, type, bytes, message] of cases) {
    it(name, () => {
      expect(decodeError(type, hex(bytes)).message).toMatch(message)
    })
  }

  it("readValue: lengths below -2 and past the end", () => {
    expect(() => Codec.readValue(new ByteReader(hex("fffffffd")), native.int)).toThrow(/\[value\] length -3/)
    expect(() => Codec.readValue(new ByteReader(hex("00000008 0000")), native.bigint)).toThrow(DecodeError)
  })

  it.prop("random bytes never throw past decode and never hang", [typedValue(2), randomBytes], ([{ type }, bytes]) => {
    const r = Codec.decode(type, bytes)
    expect(Either.isLeft(r) ? r.left : undefined).toSatisfy((e) => e === undefined || e instanceof DecodeError)
  }, { fastCheck: { numRuns: 1000 } })
})

describe("inferType", () => {
  it("maps JS values to CQL types", () => {
    expect(Codec.inferType(1.5)).toBe(native.double)
    expect(Codec.inferType(1n)).toBe(native.bigint)
    expect(Codec.inferType("x")).toBe(native.varchar)
    expect(Codec.inferType(true)).toBe(native.boolean)
    expect(Codec.inferType(new Date())).toBe(native.timestamp)
    expect(Codec.inferType(Uuid.now())).toBe(native.timeuuid)
    expect(Codec.inferType(Uuid.random())).toBe(native.uuid)
    expect(Codec.inferType(new CqlDate(0))).toBe(native.date)
    expect(Codec.inferType(new CqlTime(0n))).toBe(native.time)
    expect(Codec.inferType(new CqlDuration(0, 0, 0n))).toBe(native.duration)
    expect(Codec.inferType(BigDecimal.make(1n, 0))).toBe(native.decimal)
    expect(Codec.inferType(Buffer.alloc(1))).toBe(native.blob)
    expect(Codec.inferType(null)).toBe(native.blob)
    expect(Codec.inferType([null, "a"])).toEqual(list(native.varchar))
    expect(Codec.inferType(new Set([1n]))).toEqual(set(native.bigint))
    expect(Codec.inferType(new Map([["a", [1]]]))).toEqual(map(native.varchar, list(native.double)))
    expect(Codec.inferType({ a: true })).toEqual(map(native.varchar, native.boolean))
    expect(Codec.inferType(new Float32Array(3))).toEqual(vector(native.float, 3))
  })

  it.prop("an inferred type encodes the value it came from", [simpleValue], ([v]) => {
    expect(Either.isRight(Codec.encode(Codec.inferType(v), v))).toBe(true)
  })
})

