/**
 * Typed data on a real Cassandra 5.0: every column of the cross-driver type table (allTypes.ts) written and read
 * through typed statements whose Schemas come from CqlSchema, in the forms an application would pick (uuid as a
 * string, date as YYYY-MM-DD, ...).
 */
import { describe, expect, it } from "@effect/vitest"
import { CqlSchema, Session, Statement } from "@effect-cql/driver"
import { Effect, Schema } from "effect"
import { columns, ks, names, setup, values } from "./allTypes.js"

const Text = CqlSchema.Text
/** One Schema per column of the table, each nullable as every regular column is. */
const fields = {
  a_ascii: CqlSchema.Ascii,
  a_bigint: CqlSchema.BigInt,
  a_blob: CqlSchema.Blob,
  a_boolean: CqlSchema.Boolean,
  a_decimal: CqlSchema.Decimal,
  a_double: CqlSchema.Double,
  a_float: CqlSchema.Float,
  a_int: CqlSchema.Int,
  a_timestamp: CqlSchema.Timestamp,
  a_uuid: CqlSchema.UuidAsString,
  a_text: Text,
  a_varint: CqlSchema.Varint,
  a_timeuuid: CqlSchema.TimeUuidAsString,
  a_inet4: CqlSchema.Inet,
  a_inet6: CqlSchema.Inet,
  a_date: CqlSchema.CqlDateAsString,
  a_time: CqlSchema.CqlTime,
  a_smallint: CqlSchema.SmallInt,
  a_tinyint: CqlSchema.TinyInt,
  a_duration: CqlSchema.CqlDuration,
  a_list: Schema.Array(Text),
  a_set: Schema.Array(CqlSchema.Int),
  a_map: Schema.ReadonlyMapFromSelf({ key: Text, value: Schema.Array(CqlSchema.Int) }),
  a_tuple: Schema.Tuple(Schema.NullOr(CqlSchema.Int), Schema.NullOr(Text), Schema.NullOr(Schema.ReadonlyMapFromSelf({ key: Text, value: CqlSchema.Int }))),
  a_udt: Schema.Struct({
    name: Schema.NullOr(Text),
    address: Schema.NullOr(Schema.Struct({ street: Schema.NullOr(Text), zip: Schema.NullOr(CqlSchema.Int) })),
    tags: Schema.NullOr(Schema.Array(Text))
  }),
  a_vector: CqlSchema.Float32Vector(3),
  a_vector_text: CqlSchema.Vector(Text, 2)
} satisfies Record<keyof typeof columns, Schema.Schema.Any>

const nullable = Object.fromEntries(Object.entries(fields).map(([k, s]) => [k, Schema.NullOr(s)])) as {
  readonly [K in keyof typeof fields]: Schema.NullOr<(typeof fields)[K]>
}
const Row = Schema.Struct(nullable)
type Row = typeof Row.Type

const insertRow = Statement.typed({
  query: `INSERT INTO ${ks}.all_types (id, ${names.join(", ")}) VALUES (?, ${names.map(() => "?").join(", ")})`,
  Params: Schema.Struct({ id: Text, ...nullable }),
  Row: Schema.Struct({})
})
const selectRow = Statement.typed({
  query: `SELECT ${names.join(", ")} FROM ${ks}.all_types WHERE id = ?`,
  Params: Schema.Tuple(Text),
  Row
})

describe("typed statements over every CQL type", () => {
  it.layer(Session.layer({ contactPoints: ["127.0.0.1"] }), { timeout: 60_000 })((it) => {
    it.effect("each of the 27 columns round-trips through a typed INSERT and a typed SELECT", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        expect(names).toHaveLength(27)
        // The application's values: the table's values as the Row Schema sees them.
        const mine: Row = Schema.decodeUnknownSync(Row)(values)
        expect(mine.a_uuid).toBe("6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
        expect(mine.a_date).toBe("-5000-03-01")
        expect(mine.a_vector_text).toEqual(["left", "right"])

        yield* s.execute(insertRow({ id: "typed", ...mine }))
        const back = (yield* s.execute(selectRow(["typed"]))).rows
        expect(back).toHaveLength(1)
        const same = Schema.equivalence(Row)
        expect(same(back[0]!, mine)).toBe(true)
        for (const n of names) {
          const column = Schema.equivalence(nullable[n] as Schema.Schema<unknown>)
          expect({ [n]: column(back[0]![n], mine[n]) }).toEqual({ [n]: true })
        }
        // And what was written is the table's own values, as the untyped path reads them.
        const raw = (yield* s.execute(`SELECT ${names.join(", ")} FROM ${ks}.all_types WHERE id = ?`, ["typed"])).rows[0]!
        for (const n of names) expect({ [n]: raw[n] }).toEqual({ [n]: values[n] })
      }))

    it.effect("nulls in every column round-trip", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        const empty = Object.fromEntries(names.map((n) => [n, null])) as { readonly [K in keyof Row]: null }
        yield* s.execute(insertRow({ id: "typed-null", ...empty }))
        expect((yield* s.execute(selectRow(["typed-null"]))).rows).toEqual([empty])
      }))

    it.effect("Schema.UUID on a uuid column is a SchemaMismatch naming the column, and UuidAsString reads it", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        yield* s.execute(insertRow({ id: "typed-uuid", ...Schema.decodeUnknownSync(Row)(values) }))
        const query = `SELECT a_uuid FROM ${ks}.all_types WHERE id = ?`
        const wrong = Statement.typed({ query, Params: Schema.Tuple(Text), Row: Schema.Struct({ a_uuid: Schema.UUID }) })
        const err = yield* Effect.flip(s.execute(wrong(["typed-uuid"])))
        expect(err._tag).toBe("SchemaMismatch")
        if (err._tag === "SchemaMismatch") {
          expect(err.column).toBe("a_uuid")
          expect(err.message).toContain(`└─ ["a_uuid"]`)
        }
        const right = Statement.typed({ query, Params: Schema.Tuple(Text), Row: Schema.Struct({ a_uuid: CqlSchema.UuidAsString }) })
        expect((yield* s.execute(right(["typed-uuid"]))).rows).toEqual([{ a_uuid: "6f1a7c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b" }])
      }))
  })
})
