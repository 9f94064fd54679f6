/**
 * The cross-driver type table: one column of each CQL type (27, vector, UDT and tuple included), a value for
 * each, and the keyspace, UDTs and table that hold them. types.test.ts round-trips it through the codec and the
 * DataStax driver; typedData.test.ts through typed statements.
 */
import { CqlDate, CqlDuration, CqlTime, Uuid } from "@effect-cql/protocol"
import { Session } from "@effect-cql/driver"
import { BigDecimal, Effect, Option } from "effect"

export const ks = "it_types"

export const columns = {
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

export const values = {
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

export const setup = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  yield* s.execute(`CREATE TYPE IF NOT EXISTS ${ks}.address (street text, zip int)`)
  yield* s.execute(`CREATE TYPE IF NOT EXISTS ${ks}.person (name text, address frozen<address>, tags list<text>)`)
  const cols = Object.entries(columns).map(([n, t]) => `${n} ${t}`).join(", ")
  yield* s.execute(`CREATE TABLE IF NOT EXISTS ${ks}.all_types (id text PRIMARY KEY, ${cols})`)
})

export const names = Object.keys(columns) as ReadonlyArray<keyof typeof columns>
