/**
 * fast-check arbitraries for CQL types and values of those types, for the codec and rows property tests.
 * `typedValue` gives a type, a JS value to encode and the value that decoding must give back.
 */
import * as BigDecimal from "effect/BigDecimal"
import * as fc from "effect/FastCheck"
import { CqlDate } from "../src/CqlDate.js"
import { CqlDuration } from "../src/CqlDuration.js"
import { CqlTime, nanosPerDay } from "../src/CqlTime.js"
import type { DataType, NativeTypeName } from "../src/DataType.js"
import { native } from "../src/DataType.js"
import * as Uuid from "../src/Uuid.js"

export interface Sample {
  readonly value: unknown
  readonly expected: unknown
}

const same = <A>(arb: fc.Arbitrary<A>): fc.Arbitrary<Sample> => arb.map((v) => ({ value: v, expected: v }))

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })

/** The text form WHATWG URL gives an IPv6 address: RFC 5952, as the codec prints it. */
const ipv6Canonical = (s: string): string => new URL(`http://[${s}]/`).hostname.slice(1, -1)

export const nativeSamples: Readonly<Record<NativeTypeName, fc.Arbitrary<Sample>>> = {
  ascii: same(fc.string({ unit: "binary-ascii" })),
  bigint: same(int64),
  blob: fc.uint8Array({ maxLength: 40 }).map((b) => ({ value: b, expected: Buffer.from(b) })),
  boolean: same(fc.boolean()),
  counter: same(int64),
  // Scales stay moderate: comparing BigDecimals of far-apart scales rescales them (the codec test covers int32
  // extremes byte by byte).
  decimal: fc
    .tuple(fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }), fc.integer({ min: -1000, max: 1000 }))
    .map(([v, s]) => {
      const d = BigDecimal.make(v, s)
      return { value: d, expected: d }
    }),
  double: same(fc.double()),
  float: same(fc.float()),
  int: same(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  timestamp: fc
    .integer({ min: -8.64e15, max: 8.64e15 })
    .map((ms) => ({ value: ms % 2 === 0 ? new Date(ms) : ms, expected: new Date(ms) })),
  uuid: fc.uuid().map((s) => ({ value: s, expected: Uuid.unsafeFromString(s) })),
  varchar: same(fc.string({ unit: "binary", maxLength: 30 })),
  varint: same(fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n })),
  timeuuid: fc.uuid({ version: 1 }).map((s) => {
    const u = Uuid.unsafeFromString(s)
    return { value: u, expected: u }
  }),
  inet: fc.oneof(
    same(fc.ipV4()),
    fc.ipV6().map((s) => ({ value: s, expected: ipv6Canonical(s) }))
  ),
  date: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((d) => {
    const v = new CqlDate(d)
    return { value: v, expected: v }
  }),
  time: fc.bigInt({ min: 0n, max: nanosPerDay - 1n }).map((n) => ({ value: n, expected: new CqlTime(n) })),
  smallint: same(fc.integer({ min: -32768, max: 32767 })),
  tinyint: same(fc.integer({ min: -128, max: 127 })),
  duration: fc
    .tuple(
      fc.boolean(),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })
    )
    .map(([neg, m, d, n]) => {
      const v = neg ? new CqlDuration(-m, -d, -n) : new CqlDuration(m, d, n)
      return { value: v, expected: v }
    })
}

const nativeNames = Object.keys(nativeSamples) as Array<NativeTypeName>

/** Types up to `depth` levels of nesting: every native type, custom, list, set, map, tuple, UDT and vector. */
export const dataType = (depth: number): fc.Arbitrary<DataType> => {
  const leaf = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...nativeNames.map((k) => native[k] as DataType)) },
    { weight: 1, arbitrary: fc.constant<DataType>({ kind: "custom", className: "com.example.RawType" }) }
  )
  if (depth <= 0) return leaf
  const inner = dataType(depth - 1)
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    { weight: 1, arbitrary: inner.map((element): DataType => ({ kind: "list", element })) },
    { weight: 1, arbitrary: inner.map((element): DataType => ({ kind: "set", element })) },
    { weight: 1, arbitrary: fc.tuple(inner, inner).map(([key, value]): DataType => ({ kind: "map", key, value })) },
    { weight: 1, arbitrary: fc.array(inner, { minLength: 1, maxLength: 4 }).map((elements): DataType => ({ kind: "tuple", elements })) },
    {
      weight: 1,
      arbitrary: fc
        .uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), inner), { minLength: 1, maxLength: 4, selector: ([n]) => n })
        .map((fields): DataType => ({
          kind: "udt",
          keyspace: "ks",
          name: "t",
          fields: fields.map(([name, type]) => ({ name, type }))
        }))
    },
    {
      weight: 1,
      arbitrary: fc.tuple(inner, fc.integer({ min: 1, max: 4 })).map(([element, dimension]): DataType => ({
        kind: "vector",
        element,
        dimension
      }))
    }
  )
}

const typedArrays: Partial<Record<string, (xs: Array<unknown>) => unknown>> = {
  float: (xs) => Float32Array.from(xs as Array<number>),
  double: (xs) => Float64Array.from(xs as Array<number>),
  int: (xs) => Int32Array.from(xs as Array<number>),
  bigint: (xs) => BigInt64Array.from(xs as Array<bigint>)
}

const nullable = (arb: fc.Arbitrary<Sample>): fc.Arbitrary<Sample> =>
  fc.option(arb, { nil: null, freq: 4 }).map((s) => s ?? { value: null, expected: null })

/** A value of `type` and what decoding it gives. */
export const sampleOf = (type: DataType): fc.Arbitrary<Sample> => {
  switch (type.kind) {
    case "list":
    case "set":
      return fc.array(sampleOf(type.element), { maxLength: 4 }).map((xs) => ({
        value: xs.map((x) => x.value),
        expected: xs.map((x) => x.expected)
      }))
    case "map":
      return fc.array(fc.tuple(sampleOf(type.key), sampleOf(type.value)), { maxLength: 4 }).map((entries) => {
        // Keys that decode alike would collapse in the decoded Map: keep the first of each.
        const seen = new Set<string>()
        const kept = entries.filter(([k]) => {
          const id = keyId(k.expected)
          if (seen.has(id)) return false
          seen.add(id)
          return true
        })
        return {
          value: new Map(kept.map(([k, v]) => [k.value, v.value])),
          expected: new Map(kept.map(([k, v]) => [k.expected, v.expected]))
        }
      })
    case "tuple":
      return fc.tuple(...type.elements.map((t) => nullable(sampleOf(t)))).map((xs) => ({
        value: xs.map((x) => x.value),
        expected: xs.map((x) => x.expected)
      }))
    case "udt":
      return fc.tuple(...type.fields.map((f) => nullable(sampleOf(f.type)))).map((xs) => ({
        value: Object.fromEntries(type.fields.map((f, i) => [f.name, xs[i]!.value])),
        expected: Object.fromEntries(type.fields.map((f, i) => [f.name, xs[i]!.expected]))
      }))
    case "vector": {
      const toTyped = typedArrays[type.element.kind]
      return fc
        .array(sampleOf(type.element), { minLength: type.dimension, maxLength: type.dimension })
        .map((xs) => {
          const expected = xs.map((x) => x.expected)
          return { value: xs.map((x) => x.value), expected: toTyped === undefined ? expected : toTyped(expected) }
        })
    }
    case "custom":
      return fc.uint8Array({ maxLength: 20 }).map((b) => ({ value: b, expected: Buffer.from(b) }))
    default:
      return nativeSamples[type.kind]
  }
}

const keyId = (v: unknown): string =>
  JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x instanceof Map ? [...x] : x)) ?? String(v)

export const typedValue = (depth: number): fc.Arbitrary<{ readonly type: DataType } & Sample> =>
  dataType(depth).chain((type) => sampleOf(type).map((s) => ({ type, ...s })))
