import { describe, expect, it } from "@effect/vitest"
import * as Equal from "effect/Equal"
import * as fc from "effect/FastCheck"
import * as Hash from "effect/Hash"
import * as Option from "effect/Option"
import * as Uuid from "../src/Uuid.js"

const some = <A>(o: Option.Option<A>): A => Option.getOrThrow(o)

describe("Uuid", () => {
  it.prop("parse and format round-trip (any case in, lower case out)", [fc.uuid()], ([s]) => {
    const u = some(Uuid.fromString(s.toUpperCase()))
    expect(u.toString()).toBe(s.toLowerCase())
    expect(JSON.stringify({ u })).toBe(`{"u":"${s.toLowerCase()}"}`)
    expect(u.toBytes().toString("hex")).toBe(s.replace(/-/g, "").toLowerCase())
    expect(some(Uuid.fromBytes(u.toBytes()))).toEqual(u)
  })

  it("rejects malformed text and byte lengths", () => {
    for (const s of ["", "0123456789abcdef0123456789abcdef", "01234567-89ab-cdef-0123-456789abcdeg", "{01234567-89ab-cdef-0123-456789abcdef}"]) {
      expect(Option.isNone(Uuid.fromString(s))).toBe(true)
    }
    expect(() => Uuid.unsafeFromString("x")).toThrow(TypeError)
    expect(Option.isNone(Uuid.fromBytes(new Uint8Array(15)))).toBe(true)
  })

  it("Equal and Hash by value", () => {
    const a = Uuid.unsafeFromString("01234567-89ab-cdef-0123-456789abcdef")
    const b = some(Uuid.fromBytes(a.toBytes()))
    expect(a).not.toBe(b)
    expect(Equal.equals(a, b)).toBe(true)
    expect(Hash.hash(a)).toBe(Hash.hash(b))
    expect(Equal.equals(a, Uuid.nil)).toBe(false)
  })

  it("random: version 4, RFC 4122 variant, distinct", () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const u = Uuid.random()
      expect(u.version).toBe(4)
      expect(u.toString()[19]).toMatch(/[89ab]/)
      seen.add(u.toString())
    }
    expect(seen.size).toBe(1000)
  })

  it("now: version 1, strictly increasing ticks within a millisecond, one node and clock sequence", () => {
    const us = Array.from({ length: 5000 }, () => Uuid.now())
    const ticks = us.map((u) => some(Uuid.ticksOf(u)))
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! > ticks[i - 1]!).toBe(true)
    expect(new Set(us.map((u) => u.toString().slice(19))).size).toBe(1)
    for (const u of us.slice(0, 10)) {
      expect(u.version).toBe(1)
      expect(u.toString()[19]).toMatch(/[89ab]/)
      // The node's multicast bit marks a random node (RFC 4122 4.5).
      expect(parseInt(u.toString().slice(24, 26), 16) & 1).toBe(1)
    }
    const t = some(Uuid.timeOf(us[0]!)).getTime()
    expect(Math.abs(t - Date.now())).toBeLessThan(5000)
  })

  it("fromTime and timeOf: the time comes back to the millisecond, before and after 1970", () => {
    for (const ms of [0, 1, -1, 1_700_000_000_123, Date.UTC(1582, 9, 15), Date.UTC(5000, 0, 1)]) {
      const u = Uuid.fromTime(ms, 9999)
      expect(some(Uuid.timeOf(u)).getTime()).toBe(ms)
      expect(some(Uuid.timeOf(Uuid.fromTime(new Date(ms)))).getTime()).toBe(ms)
    }
    expect(() => Uuid.fromTime(Date.UTC(1582, 9, 14))).toThrow(RangeError)
    expect(() => Uuid.fromTime(0, 10000)).toThrow(RangeError)
    expect(Option.isNone(Uuid.timeOf(Uuid.random()))).toBe(true)
  })

  it("a known timeuuid: time fields and epoch (RFC 4122 4.1.4)", () => {
    // 1970-01-01T00:00:00Z is 0x01b21dd213814000 ticks after 1582-10-15.
    const u = Uuid.fromTime(0)
    expect(u.toString().slice(0, 18)).toBe("13814000-1dd2-11b2")
    expect(some(Uuid.ticksOf(u))).toBe(0x01b21dd213814000n)
  })

  it("minTimeUuid / maxTimeUuid bound every timeuuid of their millisecond", () => {
    const ms = 1_700_000_000_000
    const min = Uuid.minTimeUuid(ms)
    const max = Uuid.maxTimeUuid(new Date(ms))
    expect(min.toString().slice(19)).toBe("8080-808080808080")
    expect(max.toString().slice(19)).toBe("7f7f-7f7f7f7f7f7f")
    expect(some(Uuid.ticksOf(max)) - some(Uuid.ticksOf(min))).toBe(9999n)
    expect(some(Uuid.timeOf(min)).getTime()).toBe(ms)
    expect(some(Uuid.timeOf(max)).getTime()).toBe(ms)
  })
})
