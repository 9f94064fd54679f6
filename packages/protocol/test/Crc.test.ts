import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as zlib from "node:zlib"
import { crc24, crc32, crc32Js, nativeCrc32, SEGMENT_CRC32_SEED } from "../src/internal/crc.js"

/** The CRC24 as the v5 spec's segment header describes it, one bit at a time (the table version must agree). */
const crc24Bitwise = (bytes: Uint8Array): number => {
  let crc = 0x875060
  for (const b of bytes) {
    crc ^= b << 16
    for (let k = 0; k < 8; k++) {
      crc <<= 1
      if ((crc & 0x1000000) !== 0) crc ^= 0x1974f0b
    }
  }
  return crc
}

describe("CRC24 (segment headers)", () => {
  it("matches known header checksums", () => {
    // A 5-byte self-contained uncompressed header: 05 00 02 (vector computed independently with Python).
    expect(crc24(Uint8Array.of(0x05, 0x00, 0x02), 0, 3)).toBe(0x9a9919)
    expect(crc24(new Uint8Array(3), 0, 3)).toBe(0x7de777)
    // The empty input is the initial register value.
    expect(crc24(new Uint8Array(0), 0, 0)).toBe(0x875060)
  })

  it.prop("agrees with the bitwise definition", [fc.uint8Array({ maxLength: 64 })], ([bytes]) => {
    expect(crc24(bytes, 0, bytes.length)).toBe(crc24Bitwise(bytes))
  })

  it("reads only the given range", () => {
    const b = Uint8Array.of(0xff, 0x05, 0x00, 0x02, 0xff)
    expect(crc24(b, 1, 4)).toBe(0x9a9919)
  })
})

describe("CRC32 (segment payloads)", () => {
  it("is the IEEE CRC32", () => {
    expect(crc32Js(Buffer.from("123456789"))).toBe(0xcbf43926)
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926)
  })

  it("seeds segment CRCs with the CRC of FA 2D 55 CA", () => {
    expect(SEGMENT_CRC32_SEED).toBe(0x44777ed3)
    expect(crc32(Buffer.from("hello"), SEGMENT_CRC32_SEED)).toBe(0xb60e8074)
    expect(crc32Js(Buffer.from("hello"), SEGMENT_CRC32_SEED)).toBe(0xb60e8074)
  })

  it.prop(
    "the JavaScript fallback agrees with zlib, continuing from any value",
    [fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: 0xffffffff })],
    ([bytes, start]) => {
      expect(crc32Js(bytes, start)).toBe(zlib.crc32(bytes, start))
    }
  )

  it("chains over pieces like one pass", () => {
    const a = Buffer.from("segment payload, part one; ")
    const b = Buffer.from("part two")
    expect(crc32Js(b, crc32Js(a, SEGMENT_CRC32_SEED))).toBe(crc32Js(Buffer.concat([a, b]), SEGMENT_CRC32_SEED))
  })

  it("uses Node's zlib.crc32 on this Node (20.15+)", () => {
    const [major, minor] = process.versions.node.split(".").map(Number) as [number, number]
    const expected = major > 22 || (major === 22 && minor >= 2) || (major === 20 && minor >= 15) || major === 21
    expect(nativeCrc32 !== undefined).toBe(expected)
  })
})
