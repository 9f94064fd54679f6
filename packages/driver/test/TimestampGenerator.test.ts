import { describe, expect, it } from "@effect/vitest"
import * as TimestampGenerator from "../src/TimestampGenerator.js"

describe("TimestampGenerator.makeMonotonic", () => {
  it("gives strictly increasing microseconds near the wall clock, even many within one microsecond", () => {
    const generator = TimestampGenerator.makeMonotonic()
    const before = BigInt(Date.now()) * 1000n
    const stamps = Array.from({ length: 20_000 }, () => generator.next()!)
    const after = BigInt(Date.now()) * 1000n
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! > stamps[i - 1]!).toBe(true)
    // 20,000 calls outrun the clock, so some stamps are "last + 1": still within a second of the wall clock.
    expect(stamps[0]! >= before - 1000n).toBe(true)
    expect(stamps[stamps.length - 1]! <= after + 1_000_000n).toBe(true)
  })

  it("takes its origin from the clock it is given, and goes on increasing from there", () => {
    const ahead = TimestampGenerator.makeMonotonic(() => Date.now() + 60_000) // a minute ahead of Date.now
    const first = ahead.next()!
    expect(first >= BigInt(Date.now() + 59_000) * 1000n).toBe(true)
    expect(ahead.next()! > first).toBe(true)
  })
})
