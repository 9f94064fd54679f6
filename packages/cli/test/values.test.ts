import { describe, expect, it } from "@effect/vitest"
import { CqlDate, CqlDuration, CqlTime, DataType, Uuid } from "@effect-cql/protocol"
import { BigDecimal, Either, Option } from "effect"
import { formatTimestamp, formatValue } from "../src/ValueFormat.js"
import { parseValue } from "../src/ValueParse.js"

const t = DataType.native
const person: DataType.UdtType = {
  kind: "udt",
  keyspace: "ks",
  name: "person",
  fields: [
    { name: "name", type: t.varchar },
    { name: "Tags", type: { kind: "list", element: t.varchar } }
  ]
}
const some = <A>(o: Option.Option<A>) => Option.getOrThrow(o)

describe("values print as cqlsh prints them", () => {
  it("scalars", () => {
    expect(formatValue(new Date("2026-11-26T05:00:00.123Z"), t.timestamp)).toBe("2026-11-26 05:00:00.123000+0000")
    expect(formatValue(Buffer.from([0, 1, 254]), t.blob)).toBe("0x0001fe")
    expect(formatValue(true, t.boolean)).toBe("True")
    expect(formatValue(Math.PI, t.double)).toBe("3.14159265359")
    expect(formatValue(Math.fround(0.1), t.float)).toBe("0.1")
    expect(formatValue(null, t.int)).toBe("null")
    expect(formatValue(some(CqlDuration.make(14, 3, 3_600_000_000_123n)), t.duration)).toBe("1y2mo3d1h123ns")
    expect(formatValue(Uuid.unsafeFromString("6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"), t.uuid)).toBe("6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
  })

  it("collections, tuples, UDTs and vectors as CQL literals, strings quoted inside", () => {
    expect(formatValue(["it's", "b"], { kind: "list", element: t.varchar })).toBe("['it''s', 'b']")
    expect(formatValue(new Map([["a", [1, 2]]]), { kind: "map", key: t.varchar, value: { kind: "list", element: t.int } })).toBe("{'a': [1, 2]}")
    expect(formatValue([1, "x"], { kind: "tuple", elements: [t.int, t.varchar] })).toBe("(1, 'x')")
    expect(formatValue({ name: "Ada", Tags: null }, person)).toBe(`{name: 'Ada', "Tags": null}`)
    expect(formatValue(new Float32Array([0.5, -1.25]), { kind: "vector", element: t.float, dimension: 2 })).toBe("[0.5, -1.25]")
  })

  it("a timestamp beyond year 9999 keeps its sign", () => {
    expect(formatTimestamp(new Date(Date.UTC(12000, 0, 1)))).toBe("+12000-01-01 00:00:00.000000+0000")
  })
})

describe("text parses back to the same values (exact form)", () => {
  const cases: ReadonlyArray<readonly [DataType.DataType, unknown]> = [
    [t.bigint, -(2n ** 62n)],
    [t.varint, 2n ** 100n + 7n],
    [t.decimal, BigDecimal.unsafeFromString("-12345678901234567890.000123")],
    [t.decimal, BigDecimal.make(12300n, 2)],
    [t.decimal, BigDecimal.make(-95n, -3)],
    [t.decimal, BigDecimal.make(5n, 30)],
    [t.double, 0.1 + 0.2],
    [t.float, Math.fround(1 / 3)],
    [t.double, -Infinity],
    [t.timestamp, new Date("1969-07-20T20:17:40.001Z")],
    [t.date, some(CqlDate.fromYmd(-5000, 3, 1))],
    [t.time, some(CqlTime.fromParts(23, 59, 58, 123456789))],
    [t.inet, "2001:db8::1"],
    [t.varchar, "a, \"b\" 'c'"],
    [{ kind: "set", element: t.int }, [1, 2, 3]],
    [{ kind: "map", key: t.varchar, value: { kind: "list", element: t.int } }, new Map([["a", [1, 2]], ["b}", []]])],
    [{ kind: "tuple", elements: [t.int, t.varchar, t.timestamp] }, [1, "one", new Date(0)]],
    [person, { name: "it's", Tags: ["x", "null"] }],
    [{ kind: "vector", element: t.float, dimension: 3 }, new Float32Array([0.5, -1.25, 3])],
    [{ kind: "vector", element: t.varchar, dimension: 2 }, ["left", "right"]],
    [{ kind: "list", element: t.blob }, [Buffer.from([1, 2])]]
  ]
  for (const [type, value] of cases) {
    it(`${JSON.stringify(type.kind)} ${formatValue(value, type, "exact")}`, () => {
      const text = formatValue(value, type, "exact")
      const parsed = parseValue(text, type)
      // A BigDecimal caches its normalized form: compare its digits and scale instead.
      if (BigDecimal.isBigDecimal(value)) expect(Either.map(parsed, (d) => [(d as BigDecimal.BigDecimal).value, (d as BigDecimal.BigDecimal).scale])).toEqual(Either.right([value.value, value.scale]))
      else expect(parsed).toEqual(Either.right(value))
    })
  }

  it("a value that does not fit its type is an error that says why", () => {
    const r = parseValue("12x", t.int)
    expect(Either.isLeft(r) && r.left.message).toBe('"12x" is not a valid int')
    const v = parseValue("[1, 2]", { kind: "vector", element: t.float, dimension: 3 })
    expect(Either.isLeft(v) && v.left.message).toContain("a vector of 3 values")
    const o = parseValue("128", t.tinyint)
    expect(Either.isLeft(o) && o.left.message).toBe("128 is out of range for tinyint")
  })

  it("accepts ISO timestamps with zones, and milliseconds", () => {
    expect(parseValue("2026-01-01T01:00:00+01:00", t.timestamp)).toEqual(Either.right(new Date("2026-01-01T00:00:00Z")))
    expect(parseValue("1000", t.timestamp)).toEqual(Either.right(new Date(1000)))
  })
})
