/**
 * Every CQL type round-trips through a real Cassandra 5.0, on v5 and v4 with compression on and off, and the
 * DataStax Node.js driver reads back what effect-cql wrote (and the other way round) with the same meaning.
 */
import { describe, expect, it } from "@effect/vitest"
import { CqlDate, CqlDuration, CqlTime, Uuid } from "@effect-cql/protocol"
import { Session } from "@effect-cql/driver"
import { Client, types } from "cassandra-driver"
import { BigDecimal, Effect, Option } from "effect"

const ks = "it_types"

const columns = {
  a_ascii: "ascii",
  a_bigint: "bigint",
  a_blob: "blob",
  a_boolean: "boolean",
  a_decimal: "decimal",
  a_double: "double",
  a_float: "float",
  a_int: "int",
  a_timestamp: "timestamp",
  a_uuid: "uuid",
  a_text: "text",
  a_varint: "varint",
  a_timeuuid: "timeuuid",
  a_inet4: "inet",
  a_inet6: "inet",
  a_date: "date",
  a_time: "time",
  a_smallint: "smallint",
  a_tinyint: "tinyint",
  a_duration: "duration",
  a_list: "list<text>",
  a_set: "set<int>",
  a_map: "map<text, frozen<list<int>>>",
  a_tuple: "tuple<int, text, frozen<map<text, int>>>",
  a_udt: "frozen<person>",
  a_vector: "vector<float, 3>",
  a_vector_text: "vector<text, 2>"
} as const

const some = <A>(o: Option.Option<A>): A => Option.getOrThrow(o)

const values = {
  a_ascii: "plain ascii",
  a_bigint: -(2n ** 62n),
  a_blob: Buffer.from([0, 1, 2, 254, 255]),
  a_boolean: true,
  a_decimal: BigDecimal.unsafeFromString("-12345678901234567890.000123"),
  a_double: Math.PI,
  a_float: 1.5,
  a_int: -2147483648,
  a_timestamp: new Date("2026-11-26T05:00:00.123Z"),
  a_uuid: Uuid.unsafeFromString("6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"),
  a_text: "ünïcödé ✓ 日本",
  a_varint: 2n ** 100n + 7n,
  a_timeuuid: Uuid.fromTime(new Date("2026-01-01T00:00:00Z")),
  a_inet4: "192.168.1.20",
  a_inet6: "2001:db8::1",
  a_date: some(CqlDate.fromYmd(-5000, 3, 1)),
  a_time: some(CqlTime.fromParts(23, 59, 58, 123456789)),
  a_smallint: -32768,
  a_tinyint: 127,
  a_duration: some(CqlDuration.make(14, 3, 3_600_000_000_123n)),
  a_list: ["x", "y", "x"],
  a_set: [1, 2, 3],
  a_map: new Map([["a", [1, 2]], ["b", []]]),
  a_tuple: [1, "one", new Map([["k", 1]])],
  a_udt: { name: "Ada", address: { street: "1 Loop Rd", zip: 12345 }, tags: ["x"] },
  a_vector: new Float32Array([0.5, -1.25, 3]),
  a_vector_text: ["left", "right"]
}

const setup = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  yield* s.execute(`CREATE TYPE IF NOT EXISTS ${ks}.address (street text, zip int)`)
  yield* s.execute(`CREATE TYPE IF NOT EXISTS ${ks}.person (name text, address frozen<address>, tags list<text>)`)
  const cols = Object.entries(columns).map(([n, t]) => `${n} ${t}`).join(", ")
  yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.all_types (id text PRIMARY KEY, ${cols})`)
})

const names = Object.keys(columns)
const insert = `INSERT INTO ${ks}.all_types (id, ${names.join(", ")}) VALUES (?, ${names.map(() => "?").join(", ")})`
const select = `SELECT ${names.join(", ")} FROM ${ks}.all_types WHERE id = ?`

const variants = [
  { protocolVersion: 5, compression: "none" },
  { protocolVersion: 5, compression: "lz4" },
  { protocolVersion: 4, compression: "none" },
  { protocolVersion: 4, compression: "snappy" }
] as const

describe("every CQL type through Cassandra 5.0", () => {
  for (const v of variants) {
    it.layer(Session.layer({ contactPoints: ["127.0.0.1"], protocolVersion: v.protocolVersion, compression: v.compression }), { timeout: 60_000 })(
      `v${v.protocolVersion} ${v.compression}`,
      (it) => {
        it.effect("values and nulls round-trip", () =>
          Effect.gen(function* () {
            yield* setup
            const s = yield* Session.Session
            const id = `rt-${v.protocolVersion}-${v.compression}`
            yield* s.execute(insert, [id, ...names.map((n) => values[n as keyof typeof values])])
            const rs = yield* s.execute(select, [id])
            expect(rs.rows).toHaveLength(1)
            const row = rs.rows[0]!
            for (const n of names) expect({ [n]: row[n] }).toEqual({ [n]: values[n as keyof typeof values] })
            yield* s.execute(insert, [`${id}-null`, ...names.map(() => null)])
            const nulls = yield* s.execute(select, [`${id}-null`])
            for (const n of names) expect({ [n]: nulls.rows[0]![n] }).toEqual({ [n]: null })
          }))
      }
    )
  }
})

describe("cross-driver: the DataStax Node.js driver agrees", () => {
  it.layer(Session.layer({ contactPoints: ["127.0.0.1"] }), { timeout: 60_000 })((it) => {
    it.effect("reads what effect-cql wrote, and effect-cql reads what it wrote", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        yield* s.execute(insert, ["ours", ...names.map((n) => values[n as keyof typeof values])])
        const client = new Client({ contactPoints: ["127.0.0.1"], localDataCenter: "dc1", keyspace: ks })
        yield* Effect.acquireRelease(Effect.promise(() => client.connect()), () => Effect.promise(() => client.shutdown()))
        const theirs = (yield* Effect.promise(() => client.execute(select, ["ours"], { prepare: true }))).first()
        expect(theirs["a_ascii"]).toBe(values.a_ascii)
        expect(theirs["a_bigint"].toString()).toBe(values.a_bigint.toString())
        expect(Buffer.compare(theirs["a_blob"], values.a_blob)).toBe(0)
        expect(theirs["a_decimal"].toString()).toBe("-12345678901234567890.000123")
        expect(theirs["a_double"]).toBe(Math.PI)
        expect(theirs["a_int"]).toBe(values.a_int)
        expect(theirs["a_timestamp"].getTime()).toBe(values.a_timestamp.getTime())
        expect(theirs["a_uuid"].toString()).toBe(values.a_uuid.toString())
        expect(theirs["a_text"]).toBe(values.a_text)
        expect(theirs["a_varint"].toString()).toBe(values.a_varint.toString())
        expect(theirs["a_timeuuid"].toString()).toBe(values.a_timeuuid.toString())
        expect(theirs["a_inet6"].toString()).toBe("2001:db8::1")
        expect(theirs["a_time"].toString()).toBe("23:59:58.123456789")
        expect(theirs["a_smallint"]).toBe(-32768)
        expect(theirs["a_duration"].toString()).toBe(new types.Duration(14, 3, types.Long.fromString("3600000000123")).toString())
        expect(theirs["a_list"]).toEqual(["x", "y", "x"])
        expect(theirs["a_map"]).toEqual({ a: [1, 2], b: [] })
        expect(theirs["a_udt"]).toEqual({ name: "Ada", address: { street: "1 Loop Rd", zip: 12345 }, tags: ["x"] })
        expect(Array.from(theirs["a_vector"] as Iterable<number>)).toEqual([0.5, -1.25, 3])

        // The other way: the DataStax driver writes, effect-cql reads.
        yield* Effect.promise(() =>
          client.execute(
            `INSERT INTO all_types (id, a_int, a_text, a_bigint, a_uuid, a_date, a_list, a_map, a_udt, a_decimal, a_inet4) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              "theirs",
              42,
              "from datastax",
              types.Long.fromString("-9000000000000"),
              types.Uuid.fromString("00000000-0000-4000-8000-000000000001"),
              types.LocalDate.fromString("2024-02-29"),
              ["a"],
              { k: [3] },
              { name: "Bob", address: { street: "s", zip: 1 }, tags: ["t"] },
              types.BigDecimal.fromString("0.10"),
              types.InetAddress.fromString("10.1.2.3")
            ],
            { prepare: true }
          )
        )
        const back = (yield* s.execute(select, ["theirs"])).rows[0]!
        expect(back["a_int"]).toBe(42)
        expect(back["a_text"]).toBe("from datastax")
        expect(back["a_bigint"]).toBe(-9000000000000n)
        expect(String(back["a_uuid"])).toBe("00000000-0000-4000-8000-000000000001")
        expect(String(back["a_date"])).toBe("2024-02-29")
        expect(back["a_list"]).toEqual(["a"])
        expect(back["a_map"]).toEqual(new Map([["k", [3]]]))
        expect(back["a_udt"]).toEqual({ name: "Bob", address: { street: "s", zip: 1 }, tags: ["t"] })
        const decimal = back["a_decimal"] as BigDecimal.BigDecimal
        expect([decimal.value, decimal.scale]).toEqual([10n, 2]) // 0.10: the scale survives
        expect(back["a_inet4"]).toBe("10.1.2.3")
      }).pipe(Effect.scoped))
  })
})
