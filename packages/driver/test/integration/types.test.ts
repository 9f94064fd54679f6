/**
 * Every CQL type round-trips through a real Cassandra 5.0, on v5 and v4 with compression on and off, and the
 * DataStax Node.js driver reads back what effect-cql wrote (and the other way round) with the same meaning.
 */
import { describe, expect, it } from "@effect/vitest"
import { Session } from "@effect-cql/driver"
import { Client, types } from "cassandra-driver"
import type { BigDecimal } from "effect"
import { Effect } from "effect"
import { ks, names, setup, values } from "./allTypes.js"

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
            yield* s.execute(insert, [id, ...names.map((n) => values[n])])
            const rs = yield* s.execute(select, [id])
            expect(rs.rows).toHaveLength(1)
            const row = rs.rows[0]!
            for (const n of names) expect({ [n]: row[n] }).toEqual({ [n]: values[n] })
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
        yield* s.execute(insert, ["ours", ...names.map((n) => values[n])])
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
