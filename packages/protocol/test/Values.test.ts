import { describe, expect, it } from "@effect/vitest"
import * as Equal from "effect/Equal"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as CqlDate from "../src/CqlDate.js"
import * as CqlDuration from "../src/CqlDuration.js"
import * as CqlTime from "../src/CqlTime.js"

const some = <A>(o: Option.Option<A>): A => Option.getOrThrow(o)

describe("CqlDate", () => {
  it("the spec's examples (6.5) and the ends of the range", () => {
    expect(new CqlDate.CqlDate(CqlDate.minDays).toString()).toBe("-5877641-06-23")
    expect(new CqlDate.CqlDate(0).toString()).toBe("1970-01-01")
    expect(new CqlDate.CqlDate(CqlDate.maxDays).toString()).toBe("+5881580-07-11")
    expect(some(CqlDate.fromString("-5877641-06-23")).days).toBe(CqlDate.minDays)
    expect(some(CqlDate.fromString("+5881580-07-11")).days).toBe(CqlDate.maxDays)
    expect(Option.isNone(CqlDate.fromString("+5881580-07-12"))).toBe(true)
  })

  it("agrees with Date over Date's whole range", () => {
    fc.assert(
      fc.property(fc.integer({ min: -100_000_000, max: 100_000_000 }), (days) => {
        const d = new CqlDate.CqlDate(days)
        const js = some(CqlDate.toDate(d))
        expect(js.getTime()).toBe(days * 86_400_000)
        const { day, month, year } = CqlDate.toYmd(d)
        expect([year, month, day]).toEqual([js.getUTCFullYear(), js.getUTCMonth() + 1, js.getUTCDate()])
        expect(some(CqlDate.fromDate(js)).days).toBe(days)
      })
    )
  })

  it.prop("toString and fromString round-trip over the CQL range", [fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })], ([days]) => {
    const d = new CqlDate.CqlDate(days)
    expect(some(CqlDate.fromString(d.toString())).days).toBe(days)
    const { day, month, year } = CqlDate.toYmd(d)
    expect(some(CqlDate.fromYmd(year, month, day)).days).toBe(days)
  })

  it("rejects impossible days and out-of-range Dates", () => {
    expect(Option.isNone(CqlDate.fromYmd(2023, 2, 29))).toBe(true)
    expect(Option.isSome(CqlDate.fromYmd(2024, 2, 29))).toBe(true)
    expect(Option.isNone(CqlDate.fromYmd(1900, 2, 29))).toBe(true)
    expect(Option.isSome(CqlDate.fromYmd(2000, 2, 29))).toBe(true)
    expect(Option.isNone(CqlDate.fromString("2024-13-01"))).toBe(true)
    expect(Option.isNone(CqlDate.fromDays(2 ** 31))).toBe(true)
    expect(Option.isNone(CqlDate.toDate(new CqlDate.CqlDate(CqlDate.maxDays)))).toBe(true)
    expect(Option.isNone(CqlDate.fromDate(new Date(NaN)))).toBe(true)
    expect(some(CqlDate.fromDate(new Date(-1))).toString()).toBe("1969-12-31")
    expect(Equal.equals(new CqlDate.CqlDate(3), some(CqlDate.fromDays(3)))).toBe(true)
  })
})

describe("CqlTime", () => {
  it("parts, text and range", () => {
    const t = some(CqlTime.fromString("13:45:07.000000042"))
    expect([t.hours, t.minutes, t.seconds, t.nanosOfSecond]).toEqual([13, 45, 7, 42])
    expect(t.toString()).toBe("13:45:07.000000042")
    expect(some(CqlTime.fromString("1:02")).toString()).toBe("01:02:00.000000000")
    expect(some(CqlTime.fromString("23:59:59.5")).nanos).toBe(86_399_500_000_000n)
    expect(Option.isNone(CqlTime.fromString("24:00:00"))).toBe(true)
    expect(Option.isNone(CqlTime.fromNanos(-1n))).toBe(true)
    expect(Option.isNone(CqlTime.fromNanos(CqlTime.nanosPerDay))).toBe(true)
    expect(Option.isNone(CqlTime.fromParts(1, 60, 0))).toBe(true)
  })

  it.prop("toString and fromString round-trip", [fc.bigInt({ min: 0n, max: CqlTime.nanosPerDay - 1n })], ([n]) => {
    expect(some(CqlTime.fromString(new CqlTime.CqlTime(n).toString())).nanos).toBe(n)
  })
})

describe("CqlDuration", () => {
  it("compact text both ways", () => {
    expect(new CqlDuration.CqlDuration(14, 3, 3_723_004_005_006n).toString()).toBe("1y2mo3d1h2m3s4ms5us6ns")
    expect(new CqlDuration.CqlDuration(0, -2, 0n).toString()).toBe("-2d")
    expect(new CqlDuration.CqlDuration(0, 0, 0n).toString()).toBe("0s")
    const d = some(CqlDuration.fromString("1h30m"))
    expect([d.months, d.days, d.nanoseconds]).toEqual([0, 0, 5_400_000_000_000n])
    expect(some(CqlDuration.fromString("2W")).days).toBe(14)
    expect(some(CqlDuration.fromString("-1y1mo")).months).toBe(-13)
    expect(some(CqlDuration.fromString("3µs")).nanoseconds).toBe(3000n)
    expect(Option.isNone(CqlDuration.fromString("1x"))).toBe(true)
    expect(Option.isNone(CqlDuration.fromString(""))).toBe(true)
  })

  it("the sign rule and the ranges (spec 6.8)", () => {
    expect(CqlDuration.invalidReason(1, -1, 0n)).toMatch(/different signs/)
    expect(CqlDuration.invalidReason(2 ** 31, 0, 0n)).toMatch(/months/)
    expect(CqlDuration.invalidReason(0, 0, 2n ** 63n)).toMatch(/nanoseconds/)
    expect(CqlDuration.invalidReason(-1, -1, -1n)).toBeUndefined()
    expect(Option.isNone(CqlDuration.make(0, 1, -1n))).toBe(true)
  })

  const duration = fc
    .tuple(fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }))
    .map(([neg, m, d, n]) => (neg ? new CqlDuration.CqlDuration(-m, -d, -n) : new CqlDuration.CqlDuration(m, d, n)))

  it.prop("toString and fromString round-trip", [duration], ([d]) => {
    expect(Equal.equals(some(CqlDuration.fromString(d.toString())), d)).toBe(true)
  })
})
