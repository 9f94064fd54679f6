import { describe, expect, it } from "@effect/vitest"
import type { DataType } from "../src/DataType.js"
import { native, parseTypeString, readType, toClassName, toCql, writeType } from "../src/DataType.js"
import { ByteReader } from "../src/internal/reader.js"
import { ByteWriter } from "../src/internal/writer.js"
import { DecodeError } from "../src/ProtocolError.js"
import { dataType } from "./CodecArbitraries.js"

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex")
const str = (s: string) => {
  const b = Buffer.from(s, "utf8")
  return b.length.toString(16).padStart(4, "0") + b.toString("hex")
}
const m = "org.apache.cassandra.db.marshal."
const udt = (name: string, ...fields: Array<[string, DataType]>): DataType => ({
  kind: "udt",
  keyspace: "ks",
  name,
  fields: fields.map(([name, type]) => ({ name, type }))
})

const written = (t: DataType): string => {
  const w = new ByteWriter(4)
  writeType(w, t)
  return w.finish().toString("hex")
}
const read = (bytes: string): DataType => {
  const r = new ByteReader(hex(bytes))
  const t = readType(r)
  r.expectEnd("type")
  return t
}

describe("DataType [option] (spec 4.2.5.2)", () => {
  it("reads every native id to its shared type object", () => {
    const ids: Array<[number, DataType]> = [
      [0x01, native.ascii],
      [0x02, native.bigint],
      [0x03, native.blob],
      [0x04, native.boolean],
      [0x05, native.counter],
      [0x06, native.decimal],
      [0x07, native.double],
      [0x08, native.float],
      [0x09, native.int],
      [0x0b, native.timestamp],
      [0x0c, native.uuid],
      [0x0d, native.varchar],
      [0x0e, native.varint],
      [0x0f, native.timeuuid],
      [0x10, native.inet],
      [0x11, native.date],
      [0x12, native.time],
      [0x13, native.smallint],
      [0x14, native.tinyint],
      [0x15, native.duration]
    ]
    for (const [id, t] of ids) {
      const bytes = id.toString(16).padStart(4, "0")
      expect(read(bytes)).toBe(t)
      expect(written(t)).toBe(bytes)
    }
  })

  it("collections, UDT and tuple, byte by byte", () => {
    expect(read("0020 0009")).toEqual({ kind: "list", element: native.int })
    expect(read("0022 000d")).toEqual({ kind: "set", element: native.varchar })
    expect(read("0021 000d 0020 0009")).toEqual({
      kind: "map",
      key: native.varchar,
      value: { kind: "list", element: native.int }
    })
    const udtBytes = `0030 ${str("ks")} ${str("address")} 0002 ${str("street")} 000d ${str("zip")} 0009`
    expect(read(udtBytes)).toEqual(udt("address", ["street", native.varchar], ["zip", native.int]))
    expect(read("0031 0002 0009 000d")).toEqual({ kind: "tuple", elements: [native.int, native.varchar] })
    expect(written(read(udtBytes))).toBe(hex(udtBytes).toString("hex"))
  })

  it("custom: a class string, vector parsed out of it", () => {
    const vec = `${m}VectorType(${m}FloatType,3)`
    expect(read(`0000 ${str(vec)}`)).toEqual({ kind: "vector", element: native.float, dimension: 3 })
    expect(written({ kind: "vector", element: native.float, dimension: 3 })).toBe(`0000${str(vec)}`)
    expect(read(`0000 ${str("com.example.Foo")}`)).toEqual({ kind: "custom", className: "com.example.Foo" })
  })

  it("fails on unknown ids and hostile counts", () => {
    expect(() => read("000a")).toThrow(/unknown type id 0x000a/)
    expect(() => read("0099")).toThrow(DecodeError)
    expect(() => read("0031 ffff")).toThrow(/tuple element count 65535 exceeds/)
    expect(() => read(`0030 ${str("k")} ${str("u")} 7fff`)).toThrow(/UDT field count/)
    expect(() => read("0020".repeat(1000) + "0009")).toThrow(/nested deeper than 64/)
    expect(() => read("00")).toThrow(DecodeError)
  })

  it.prop("writeType then readType gives the type back", [dataType(4)], ([t]) => {
    const r = new ByteReader(hex(written(t)))
    expect(readType(r)).toEqual(t)
    r.expectEnd("type")
  })
})

describe("parseTypeString (Cassandra marshal class strings)", () => {
  it("natives, with or without the package", () => {
    expect(parseTypeString(`${m}UTF8Type`)).toBe(native.varchar)
    expect(parseTypeString("Int32Type")).toBe(native.int)
    expect(parseTypeString(`${m}DateType`)).toBe(native.timestamp)
    expect(parseTypeString(`${m}SimpleDateType`)).toBe(native.date)
    expect(parseTypeString(`${m}IntegerType`)).toBe(native.varint)
    expect(parseTypeString(`${m}ByteType`)).toBe(native.tinyint)
  })

  it("nesting, FrozenType and ReversedType unwrap", () => {
    expect(parseTypeString(`${m}MapType(${m}UTF8Type,${m}FrozenType(${m}ListType(${m}Int32Type)))`)).toEqual({
      kind: "map",
      key: native.varchar,
      value: { kind: "list", element: native.int }
    })
    expect(parseTypeString(`${m}ReversedType(${m}TimestampType)`)).toBe(native.timestamp)
    expect(parseTypeString(` ${m}SetType( ${m}UUIDType ) `)).toEqual({ kind: "set", element: native.uuid })
    expect(parseTypeString(`${m}TupleType(${m}Int32Type,${m}UTF8Type)`)).toEqual({
      kind: "tuple",
      elements: [native.int, native.varchar]
    })
  })

  it("UserType with hex-encoded names", () => {
    const s = `${m}UserType(ks,61646472657373,737472656574:${m}UTF8Type,7a6970:${m}Int32Type,c3a9:${m}BooleanType)`
    expect(parseTypeString(s)).toEqual(udt("address", ["street", native.varchar], ["zip", native.int], ["é", native.boolean]))
  })

  it("VectorType, including vectors of collections and of vectors", () => {
    expect(parseTypeString(`${m}VectorType(${m}FloatType,3)`)).toEqual({ kind: "vector", element: native.float, dimension: 3 })
    expect(parseTypeString(`${m}VectorType(${m}VectorType(${m}Int32Type,2),4)`)).toEqual({
      kind: "vector",
      element: { kind: "vector", element: native.int, dimension: 2 },
      dimension: 4
    })
    expect(parseTypeString(`${m}VectorType(${m}FrozenType(${m}ListType(${m}UTF8Type)),2)`)).toEqual({
      kind: "vector",
      element: { kind: "list", element: native.varchar },
      dimension: 2
    })
  })

  it("anything unknown or malformed stays custom, with its text", () => {
    const custom = (s: string) => expect(parseTypeString(s)).toEqual({ kind: "custom", className: s })
    custom("com.example.Point")
    custom(`${m}CompositeType(${m}Int32Type,${m}UTF8Type)`)
    custom(`${m}VectorType(${m}FloatType,0)`)
    custom(`${m}VectorType(${m}FloatType,abc)`)
    custom(`${m}VectorType(${m}FloatType)`)
    custom(`${m}ListType(${m}Int32Type`)
    custom(`${m}MapType(${m}Int32Type)`)
    custom(`${m}UserType(ks,zz)`)
    custom(`${m}ListType(`.repeat(100) + `${m}Int32Type` + ")".repeat(100))
    custom("")
    expect(parseTypeString(`${m}ListType(com.example.Point(1,2))`)).toEqual({
      kind: "list",
      element: { kind: "custom", className: "com.example.Point(1,2)" }
    })
  })

  it.prop("toClassName then parseTypeString gives the type back", [dataType(4)], ([t]) => {
    expect(parseTypeString(toClassName(t))).toEqual(t)
  })
})

describe("toCql", () => {
  it("prints CQL syntax, freezing what CQL requires frozen", () => {
    expect(toCql(parseTypeString(`${m}MapType(${m}UTF8Type,${m}ListType(${m}Int32Type))`))).toBe("map<text, frozen<list<int>>>")
    expect(toCql({ kind: "vector", element: native.float, dimension: 3 })).toBe("vector<float, 3>")
    expect(toCql({ kind: "tuple", elements: [native.int, { kind: "set", element: native.ascii }] })).toBe(
      "tuple<int, frozen<set<ascii>>>"
    )
    expect(toCql({ kind: "list", element: { kind: "udt", keyspace: "ks", name: "Addr", fields: [] } })).toBe(
      'list<frozen<ks."Addr">>'
    )
    expect(toCql({ kind: "custom", className: "it's" })).toBe("'it''s'")
    expect(toCql(native.varchar)).toBe("text")
    expect(toCql(native.timeuuid)).toBe("timeuuid")
  })
})
