import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Compression from "../src/Compression.js"
import * as Lz4 from "../src/internal/lz4.js"
import * as Lz4Native from "../src/internal/lz4Native.js"
import * as Snappy from "../src/internal/snappy.js"
import { DecodeError } from "../src/ProtocolError.js"

/** Hand-made LZ4 block: literals "abc", a 12-byte match at offset 3 (overlapping), final literals "xyzxy". */
const lz4Vector = Buffer.from([0x38, 0x61, 0x62, 0x63, 0x03, 0x00, 0x50, 0x78, 0x79, 0x7a, 0x78, 0x79])
const lz4VectorText = "abcabcabcabcabcxyzxy"

/** Hand-made Snappy: length 20, literal "abc", copy1 (offset 3, 8 bytes), copy2 (offset 3, 4 bytes), literal "xyzxy". */
const snappyVector = Buffer.from([
  0x14, 0x08, 0x61, 0x62, 0x63, 0x11, 0x03, 0x0e, 0x03, 0x00, 0x10, 0x78, 0x79, 0x7a, 0x78, 0x79
])

/** Row-like, compressible bytes. */
const compressible = fc
  .array(fc.constantFrom("alice", "bob", "carol", "\u0000\u0000\u0000\u0010", "2024-01-01", "x"), { maxLength: 3000 })
  .map((parts) => Buffer.from(parts.join("")))
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 5000 }).map((u) => Buffer.from(u)), compressible)

const native = Lz4Native.binding

/** Walks an LZ4 block and checks the format's end-of-block rules that strict decoders rely on. */
const checkEndRules = (block: Uint8Array, n: number) => {
  let i = 0
  let out = 0
  let lastMatchStart = -1
  let finalLiterals = 0
  for (;;) {
    const token = block[i++]!
    let lit = token >>> 4
    if (lit === 15) for (let b = 255; b === 255; ) lit += b = block[i++]!
    i += lit
    out += lit
    if (i === block.length) {
      finalLiterals = lit
      break
    }
    i += 2
    let ml = (token & 15) + 4
    if ((token & 15) === 15) for (let b = 255; b === 255; ) ml += b = block[i++]!
    lastMatchStart = out
    out += ml
  }
  expect(out).toBe(n)
  if (lastMatchStart >= 0) {
    expect(lastMatchStart).toBeLessThanOrEqual(n - 12)
    expect(finalLiterals).toBeGreaterThanOrEqual(5)
  }
}

describe("LZ4 block (TypeScript codec)", () => {
  it("decodes a hand-made block with an overlapping match", () => {
    expect(Lz4.decompress(lz4Vector, 20).toString()).toBe(lz4VectorText)
  })

  it("encodes the empty input as a single zero token", () => {
    expect([...Lz4.compress(Buffer.alloc(0))]).toEqual([0])
    expect(Lz4.decompress(Uint8Array.of(0), 0).length).toBe(0)
  })

  it("handles literal and match lengths that need extra length bytes", () => {
    const src = Buffer.concat([Buffer.from("0123456789abcdefghijklmnopqrstuvwxyz"), Buffer.alloc(1000, 7), Buffer.from("tail!tail!")])
    const block = Lz4.compress(src)
    expect(block.length).toBeLessThan(100)
    expect(Lz4.decompress(block, src.length).equals(src)).toBe(true)
  })

  it.prop("round-trips and keeps the end-of-block rules", [anyBytes], ([src]) => {
    const block = Lz4.compress(src)
    expect(block.length).toBeLessThanOrEqual(Lz4.compressBound(src.length))
    checkEndRules(block, src.length)
    expect(Lz4.decompress(block, src.length).equals(src)).toBe(true)
  })

  it("compresses row-like data", () => {
    const src = Buffer.from("name=alice;city=paris;".repeat(500))
    expect(Lz4.compress(src).length).toBeLessThan(src.length / 10)
  })

  it("reserves room for a caller's prefix", () => {
    const src = Buffer.from("hello hello hello hello hello")
    const out = Lz4.compress(src, 4)
    expect(out.subarray(4).equals(Lz4.compress(src))).toBe(true)
  })
})

describe("LZ4 interoperability with lz4-napi (lz4_flex)", () => {
  it("the native binding loads on this platform and is the one in use", () => {
    expect(native).toBeDefined()
    expect(Compression.lz4Implementation).toBe("lz4-napi")
  })

  it.prop("our blocks decode with lz4_flex and lz4_flex blocks decode with ours", [anyBytes], ([src]) => {
    const n = native!
    expect(Lz4Native.decompress(n, Lz4.compress(src), src.length).equals(src)).toBe(true)
    const theirs = Lz4Native.compressPrefixed(n, src).subarray(4)
    expect(Lz4.decompress(theirs, src.length).equals(src)).toBe(true)
  })
})

describe("Snappy (TypeScript codec)", () => {
  it("decodes a hand-made buffer with 1- and 2-byte offset copies", () => {
    expect(Snappy.decompress(snappyVector, 100).toString()).toBe("abcabcabcabcabcxyzxy")
  })

  it("decodes a 4-byte offset copy and long literals", () => {
    const lit = Buffer.alloc(200, 0x41)
    // length 204 = 0xcc 0x01; literal of 200 (tag 60<<2, then 199 in 1 byte); copy4 offset 200 length 4.
    const src = Buffer.concat([Buffer.from([0xcc, 0x01, 60 << 2, 199]), lit, Buffer.from([3 | (3 << 2), 200, 0, 0, 0])])
    const out = Snappy.decompress(src, 1000)
    expect(out.length).toBe(204)
    expect(out.every((b) => b === 0x41)).toBe(true)
  })

  it.prop("round-trips", [anyBytes], ([src]) => {
    expect(Snappy.decompress(Snappy.compress(src), src.length).equals(src)).toBe(true)
  })

  it("compresses row-like data", () => {
    const src = Buffer.from("name=alice;city=paris;".repeat(500))
    expect(Snappy.compress(src).length).toBeLessThan(src.length / 10)
  })
})

describe("v4 body compressors", () => {
  it("lz4 bodies carry a big-endian uncompressed length", () => {
    const out = Compression.lz4.compress(Buffer.from(lz4VectorText))
    expect(out.readInt32BE(0)).toBe(20)
    const body = Buffer.concat([Buffer.from([0, 0, 0, 20]), lz4Vector])
    expect(Either.getOrThrow(Compression.lz4.decompress(body, 100)).toString()).toBe(lz4VectorText)
  })

  it("accepts a bare zero length as the empty body", () => {
    expect(Either.getOrThrow(Compression.lz4.decompress(Buffer.alloc(4), 10)).length).toBe(0)
  })

  it.prop("round-trip", [anyBytes, fc.constantFrom(Compression.lz4, Compression.snappy)], ([src, c]) => {
    expect(Either.getOrThrow(c.decompress(c.compress(src), src.length)).equals(src)).toBe(true)
  })

  it("are found by their STARTUP names", () => {
    expect(Compression.byName("lz4")).toBe(Compression.lz4)
    expect(Compression.byName("snappy")).toBe(Compression.snappy)
    expect(Compression.byName("deflate")).toBeUndefined()
  })
})

describe("hostile compressed input", () => {
  const fails = (r: Either.Either<Buffer, DecodeError>, pattern: RegExp) => {
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left).toBeInstanceOf(DecodeError)
      expect(r.left.message).toMatch(pattern)
    }
  }

  it("rejects declared lengths above the cap before allocating", () => {
    fails(Compression.lz4.decompress(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x00]), 256 * 1024 * 1024), /declares 2147483647/)
    fails(Compression.lz4.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), 1000), /declares -1/)
    fails(Compression.snappy.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), 1000), /declares 4294967295/)
    fails(Compression.snappy.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1000), /too long/)
    // Within the cap but more than 1 byte of elements can produce.
    fails(Compression.snappy.decompress(Buffer.from([0x80, 0x08, 0x00]), 100_000), /cannot expand to 1024/)
    fails(Compression.lz4Block.decompress(lz4Vector, 19), /LZ4|output|decompress/i)
  })

  it("rejects blocks that expand to a different length than declared", () => {
    fails(Compression.lz4Block.decompress(lz4Vector, 21), /expands to 20 bytes, 21 declared/)
    expect(() => Lz4.decompress(lz4Vector, 21)).toThrow(/expands to 20 bytes, 21 declared/)
    expect(() => Lz4.decompress(lz4Vector, 19)).toThrow(/exceeds the declared 19/)
    expect(() => Snappy.decompress(Buffer.concat([Buffer.from([0x15]), snappyVector.subarray(1)]), 100)).toThrow(
      /expands to 20 bytes, 21 declared/
    )
  })

  it("rejects bad offsets and truncation", () => {
    // Offset 0, offset before the start, truncated offset, truncated literals, missing final literals.
    expect(() => Lz4.decompress(Buffer.from([0x10, 0x61, 0x00, 0x00, 0x00]), 10)).toThrow(/offset 0/)
    expect(() => Lz4.decompress(Buffer.from([0x10, 0x61, 0x02, 0x00, 0x00]), 10)).toThrow(/offset 2 outside/)
    expect(() => Lz4.decompress(Buffer.from([0x10, 0x61, 0x01]), 10)).toThrow(/truncated/)
    expect(() => Lz4.decompress(Buffer.from([0x50, 0x61]), 10)).toThrow(/literal of 5 bytes runs past the input/)
    expect(() => Lz4.decompress(Buffer.from([0x10, 0x61, 0x01, 0x00]), 5)).toThrow(/final literals/)
    expect(() => Lz4.decompress(Buffer.from([0xf0]), 20)).toThrow(/runs past the input/)
    expect(() => Lz4.decompress(Buffer.from([0xf0]), 500)).toThrow(/cannot expand to 500/)
    expect(() => Snappy.decompress(Buffer.from([0x05, 0x01, 0x00]), 10)).toThrow(/offset 0/)
    expect(() => Snappy.decompress(Buffer.from([0x05, 0x0e, 0x01]), 10)).toThrow(/truncated/)
    expect(() => Snappy.decompress(Buffer.from([0x05, 0x10, 0x61]), 10)).toThrow(/runs past the input/)
  })

  it.prop(
    "random bytes never throw out of the public decompressors",
    [fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 4096 })],
    ([bytes, length]) => {
      for (const r of [
        Compression.lz4.decompress(bytes, 4096),
        Compression.snappy.decompress(bytes, 4096),
        Compression.lz4Block.decompress(bytes, length)
      ]) {
        if (Either.isRight(r)) expect(r.right.length).toBeLessThanOrEqual(4096)
        else expect(r.left).toBeInstanceOf(DecodeError)
      }
      // The TypeScript fallback too, whether or not the native binding is in use.
      try {
        expect(Lz4.decompress(bytes, length).length).toBe(length)
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError)
      }
    }
  )
})
