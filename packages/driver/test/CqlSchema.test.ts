import { describe, expect, it } from "@effect/vitest"
import { Codec, CqlDate, DataType, Uuid } from "@effect-cql/protocol"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as Pretty from "effect/Pretty"
import * as Schema from "effect/Schema"
import { CqlSchema, Statement } from "../src/index.js"

const { native } = DataType

const udt: DataType.DataType = {
  kind: "udt",
  keyspace: "ks",
  name: "person",
  fields: [
    { name: "name", type: native.varchar },
    { name: "born", type: native.date },
    { name: "ids", type: { kind: "set", element: native.uuid } }
  ]
}

/** Every native type, and each kind of composite around them. */
const types: ReadonlyArray<DataType.DataType> = [
  ...Object.values(native).filter((t) => t.kind !== "counter"),
  { kind: "list", element: native.timeuuid },
  { kind: "map", key: native.varchar, value: { kind: "list", element: native.int } },
  { kind: "tuple", elements: [native.int, native.inet, native.duration] },
  udt,
  { kind: "vector", element: native.float, dimension: 3 },
  { kind: "vector", element: native.double, dimension: 2 },
  { kind: "vector", element: native.int, dimension: 2 },
  { kind: "vector", element: native.bigint, dimension: 2 },
  { kind: "vector", element: native.varchar, dimension: 2 },
  { kind: "vector", element: native.time, dimension: 2 }
]

describe("CqlSchema.forType: the Schema of every CQL type matches what the codec reads and writes", () => {
  for (const type of types) {
    const schema = CqlSchema.forType(type)
    const same = Schema.equivalence(schema)
    it.prop(`${DataType.toCql(type)}: arbitrary values survive encode, the codec both ways, and decode`, [Arbitrary.make(schema)], ([value]) => {
      const bytes = Either.getOrThrow(Codec.encode(type, Schema.encodeSync(schema)(value)))
      const read = Either.getOrThrow(Codec.decode(type, bytes))
      expect(Schema.is(schema)(read)).toBe(true)
      expect(same(value, Schema.decodeUnknownSync(schema)(read))).toBe(true)
    }, { fastCheck: { numRuns: 50 } })
  }

  it("values the codec never gives are refused", () => {
    expect(Schema.is(CqlSchema.forType(native.uuid))("6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")).toBe(false)
    expect(Schema.is(CqlSchema.forType(native.timeuuid))(Uuid.random())).toBe(false)
    expect(Schema.is(CqlSchema.forType(native.tinyint))(128)).toBe(false)
    expect(Schema.is(CqlSchema.forType(native.bigint))(2n ** 63n)).toBe(false)
    expect(Schema.is(CqlSchema.forType(native.ascii))("é")).toBe(false)
    expect(Schema.is(CqlSchema.forType(native.inet))("10.0.0.256")).toBe(false)
    expect(Schema.is(CqlSchema.forType({ kind: "vector", element: native.float, dimension: 3 }))(new Float32Array(2))).toBe(false)
    expect(Schema.is(CqlSchema.forType({ kind: "vector", element: native.varchar, dimension: 2 }))(["a"])).toBe(false)
  })

  it("pretty prints the driver's values by their text form", () => {
    const pretty = Pretty.make(Schema.Struct({ id: CqlSchema.Uuid, day: CqlSchema.CqlDate }))
    expect(pretty({ id: Uuid.nil, day: new CqlDate.CqlDate(0) })).toBe(
      `{ "id": Uuid(00000000-0000-0000-0000-000000000000), "day": CqlDate(1970-01-01) }`
    )
  })

  it("Inet's equivalence compares addresses, not their spelling", () => {
    const same = Schema.equivalence(CqlSchema.Inet)
    expect(same("2001:0db8:0:0:0:0:0:1", "2001:db8::1")).toBe(true)
    expect(same("2001:db8::1", "2001:db8::2")).toBe(false)
  })
})

describe("CqlSchema transformations", () => {
  const text = "6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"

  it("UuidAsString: a uuid column reads as its string and encodes back to a Uuid", () => {
    expect(Schema.decodeSync(CqlSchema.UuidAsString)(Uuid.unsafeFromString(text))).toBe(text)
    expect(Schema.encodeSync(CqlSchema.UuidAsString)(text.toUpperCase())).toEqual(Uuid.unsafeFromString(text))
    expect(() => Schema.encodeSync(CqlSchema.UuidAsString)("not-a-uuid")).toThrow(/UUID/)
  })

  it("TimeUuidAsString refuses a UUID that is not version 1, either way", () => {
    const t = Uuid.fromTime(0)
    expect(Schema.decodeSync(CqlSchema.TimeUuidAsString)(t)).toBe(t.toString())
    expect(() => Schema.encodeSync(CqlSchema.TimeUuidAsString)(text)).toThrow(/version 1 UUID, got version 4/)
    expect(() => Schema.decodeSync(CqlSchema.TimeUuidAsString)(Uuid.unsafeFromString(text))).toThrow(/version 1 UUID/)
  })

  it("CqlDateAsDate: midnight UTC both ways; a day beyond a Date and a time of day are refused", () => {
    expect(Schema.decodeSync(CqlSchema.CqlDateAsDate)(new CqlDate.CqlDate(19782))).toEqual(new Date("2024-02-29T00:00:00Z"))
    expect(Schema.encodeSync(CqlSchema.CqlDateAsDate)(new Date("2024-02-29T00:00:00Z")).days).toBe(19782)
    expect(() => Schema.decodeSync(CqlSchema.CqlDateAsDate)(new CqlDate.CqlDate(CqlDate.maxDays))).toThrow(/\+5881580-07-11 is beyond the range of a JS Date/)
    expect(() => Schema.encodeSync(CqlSchema.CqlDateAsDate)(new Date("2024-02-29T10:00:00Z"))).toThrow(/midnight UTC/)
  })

  it("CqlDateAsString: YYYY-MM-DD both ways, signed years included; a day that does not exist is refused", () => {
    expect(Schema.decodeSync(CqlSchema.CqlDateAsString)(new CqlDate.CqlDate(CqlDate.minDays))).toBe("-5877641-06-23")
    expect(Schema.encodeSync(CqlSchema.CqlDateAsString)("2024-02-29").days).toBe(19782)
    expect(() => Schema.encodeSync(CqlSchema.CqlDateAsString)("2023-02-29")).toThrow(/not a day/)
  })

  it.prop("CqlDateAsString round-trips every CQL date", [Arbitrary.make(CqlSchema.CqlDate)], ([d]) => {
    const s = Schema.decodeSync(CqlSchema.CqlDateAsString)(d)
    expect(Schema.encodeSync(CqlSchema.CqlDateAsString)(s).days).toBe(d.days)
  })

  it("BigIntAsNumber: exact up to 2^53 - 1, and a clear failure naming the value beyond", () => {
    expect(Schema.decodeSync(CqlSchema.BigIntAsNumber)(-(2n ** 53n - 1n))).toBe(-(2 ** 53 - 1))
    expect(Schema.encodeSync(CqlSchema.BigIntAsNumber)(42)).toBe(42n)
    expect(() => Schema.decodeSync(CqlSchema.BigIntAsNumber)(2n ** 53n)).toThrow(/9007199254740992 does not fit a JS number exactly/)
    expect(() => Schema.encodeSync(CqlSchema.BigIntAsNumber)(1.5)).toThrow(/integer/)
  })

  it("Vector(element, n) reads a typed array or an array, and encodes an array the codec takes", () => {
    const v = CqlSchema.Vector(Schema.Number, 3)
    expect(Schema.decodeUnknownSync(v)(new Float32Array([1, 2, 3]))).toEqual([1, 2, 3])
    const type: DataType.DataType = { kind: "vector", element: native.float, dimension: 3 }
    const bytes = Either.getOrThrow(Codec.encode(type, Schema.encodeSync(v)([0.5, 1, -2])))
    expect(Array.from(Either.getOrThrow(Codec.decode(type, bytes)) as Float32Array)).toEqual([0.5, 1, -2])
    expect(() => Schema.decodeUnknownSync(v)([1, 2])).toThrow(/expected an array or typed array of 3 elements, got 2 elements/)
  })
})

describe("SchemaMismatch on typed rows", () => {
  const rows = [{ id: Uuid.unsafeFromString("6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"), name: "Ada" }]

  it("Schema.UUID on a uuid column fails, naming the column, with ParseError's tree in the message", () => {
    const statement = { query: "SELECT id, name FROM users", rowSchema: Schema.Struct({ id: Schema.UUID, name: Schema.String }) }
    const err = Either.getLeft(Statement.decodeRows(statement, rows))
    expect(err._tag).toBe("Some")
    if (err._tag === "Some") {
      expect(err.value.column).toBe("id")
      expect(err.value.message).toContain(`rows of "SELECT id, name FROM users" do not match the row Schema (column "id"):`)
      expect(err.value.message).toContain(`└─ ["id"]`)
      expect(err.value.message).toContain("Expected string, actual 6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
    }
  })

  it("UuidAsString in its place decodes the same rows to strings", () => {
    const statement = { query: "SELECT id, name FROM users", rowSchema: Schema.Struct({ id: CqlSchema.UuidAsString, name: Schema.String }) }
    expect(Statement.decodeRows(statement, rows)).toEqual(Either.right([{ id: "6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", name: "Ada" }]))
  })

  it("a typed statement's parameters encode through UuidAsString to the Uuid the codec binds", () => {
    const byId = Statement.typed({ query: "SELECT name FROM users WHERE id = ?", Params: Schema.Tuple(CqlSchema.UuidAsString), Row: Schema.Struct({ name: Schema.String }) })
    const params = Either.getOrThrow(Statement.encodeParams(byId(["6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"])))
    expect(params).toEqual([rows[0]!.id])
    const bad = Statement.encodeParams(byId(["42"]))
    expect(Either.isLeft(bad) && bad.left.message).toMatch(/parameters of "SELECT name FROM users WHERE id = \?" do not match their Schema:\n[\s\S]*\[0\][\s\S]*UUID/)
  })
})
