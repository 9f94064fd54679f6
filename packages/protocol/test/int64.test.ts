/** The scratch-array int64 helpers give the bytes Buffer's own methods give, at the edges and at random. */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { INT64_MAX, INT64_MIN, readInt64BE, writeInt64BE } from "../src/internal/int64.js"

describe("int64 helpers", () => {
  it("match writeBigInt64BE / readBigInt64BE at the edges, at any offset", () => {
    for (const v of [0n, 1n, -1n, 255n, -256n, 2n ** 32n, -(2n ** 32n), 1764800000000000n, INT64_MIN, INT64_MAX]) {
      for (const o of [0, 3]) {
        const mine = Buffer.alloc(12)
        const node = Buffer.alloc(12)
        writeInt64BE(mine, v, o)
        node.writeBigInt64BE(v, o)
        expect(mine).toEqual(node)
        expect(readInt64BE(node, o)).toBe(v)
      }
    }
  })

  it("round-trip any int64", () =>
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), (v) => {
        const b = Buffer.alloc(8)
        writeInt64BE(b, v, 0)
        return b.readBigInt64BE(0) === v && readInt64BE(b, 0) === v
      })
    ))
})
