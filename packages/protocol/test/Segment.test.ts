import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Compression from "../src/Compression.js"
import * as Frame from "../src/Frame.js"
import { crc24 } from "../src/internal/crc.js"
import { DecodeError } from "../src/ProtocolError.js"
import * as Segment from "../src/Segment.js"

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex")

const envelope = (stream: number, body: Uint8Array, opcode: number = Frame.Opcode.Result, version = 0x85) =>
  Either.getOrThrow(Frame.encodeEnvelope({ version, flags: 0, stream, opcode, body }))

/** Incompressible bytes from a seed (an LCG), so large random bodies stay cheap to generate and reproducible. */
const noise = (size: number, seed: number): Buffer => {
  const b = Buffer.allocUnsafe(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

const pullAll = (d: { next(): Either.Either<Frame.Envelope, DecodeError> | undefined }) => {
  const out: Array<Frame.Envelope> = []
  for (let r = d.next(); r !== undefined; r = d.next()) out.push(Either.getOrThrow(r))
  return out
}

const decodeChunks = (format: Segment.Format, chunks: ReadonlyArray<Buffer>) => {
  const d = new Segment.SegmentDecoder(format)
  const out: Array<Frame.Envelope> = []
  for (const c of chunks) {
    d.push(c)
    out.push(...pullAll(d))
  }
  return out
}

const expectLeft = (r: Either.Either<Frame.Envelope, DecodeError> | undefined, pattern: RegExp) => {
  expect(r !== undefined && Either.isLeft(r)).toBe(true)
  if (r !== undefined && Either.isLeft(r)) {
    expect(r.left).toBeInstanceOf(DecodeError)
    expect(r.left.message).toMatch(pattern)
  }
}

/** Walks encoded segments (header + CRC24 + payload + CRC32) and returns their decoded headers. */
const headers = (bytes: Buffer, format: Segment.Format) => {
  const out: Array<{ length: number; uncompressed: number; selfContained: boolean }> = []
  for (let at = 0; at < bytes.length; ) {
    if (format === "uncompressed") {
      const v = bytes.readUIntLE(at, 3)
      out.push({ length: v & 0x1ffff, uncompressed: 0, selfContained: (v & 0x20000) !== 0 })
      at += 6 + (v & 0x1ffff) + 4
    } else {
      const v = bytes.readUIntLE(at, 5)
      const length = v % 2 ** 17
      out.push({ length, uncompressed: Math.floor(v / 2 ** 17) % 2 ** 17, selfContained: Math.floor(v / 2 ** 34) % 2 === 1 })
      at += 8 + length + 4
    }
  }
  return out
}

// Vectors computed independently (Python: the spec's CRC24 bit loop and zlib.crc32 seeded with FA 2D 55 CA).
const READY = hex("840000010200000000")
const READY_SEGMENT = hex("090002 a4c8c1 840000010200000000 a99d7a45")
/** lz4 format; the payload is a hand-made LZ4 block of a 25-byte RESULT envelope with body "abcabcabcabxyzxy". */
const LZ4_SEGMENT = hex("1500320004 a35980 c484000002080000001061626303005078797a7879 4239a853")

describe("segment layout", () => {
  it("encodes an uncompressed self-contained segment byte for byte", () => {
    expect(Either.getOrThrow(Segment.encodeSegment(Buffer.from("hello"), "uncompressed", true)).toString("hex")).toBe(
      "05000219999a68656c6c6f74800eb6"
    )
    expect(Either.getOrThrow(Segment.encodeSegment(Buffer.from("hello"), "uncompressed", false)).toString("hex")).toBe(
      "05000004482368656c6c6f74800eb6"
    )
    expect(Either.getOrThrow(Segment.encodeSegment(READY, "uncompressed", true)).equals(READY_SEGMENT)).toBe(true)
  })

  it("stores an incompressible payload raw in the lz4 layout (uncompressed length 0)", () => {
    expect(Either.getOrThrow(Segment.encodeSegment(Buffer.from("hello"), "lz4", true)).toString("hex")).toBe(
      "0500000004e4ab8e68656c6c6f74800eb6"
    )
  })

  it("puts the 17-bit uncompressed length and the self-contained bit where the spec says", () => {
    const payload = Buffer.alloc(Segment.MAX_PAYLOAD_LENGTH, 0x61)
    const seg = Either.getOrThrow(Segment.encodeSegment(payload, "lz4", true))
    const [h] = headers(seg, "lz4")
    expect(h).toMatchObject({ uncompressed: Segment.MAX_PAYLOAD_LENGTH, selfContained: true })
    expect(h!.length).toBeLessThan(1000)
    expect(seg.readUIntLE(5, 3)).toBe(crc24(seg, 0, 5))
  })

  it("refuses a payload over 128 KiB - 1", () => {
    const r = Segment.encodeSegment(Buffer.alloc(Segment.MAX_PAYLOAD_LENGTH + 1), "uncompressed", true)
    expect(Either.isLeft(r) && r.left._tag).toBe("EncodeError")
  })

  it("decodes the hand-made vectors", () => {
    const [ready] = decodeChunks("uncompressed", [READY_SEGMENT])
    expect(ready).toMatchObject({ version: 4, response: true, stream: 1, opcode: Frame.Opcode.Ready, length: 0 })
    const [result] = decodeChunks("lz4", [LZ4_SEGMENT])
    expect(result).toMatchObject({ stream: 2, opcode: Frame.Opcode.Result, length: 16 })
    expect(result!.body.toString()).toBe("abcabcabcabxyzxy")
  })
})

describe("encodeEnvelopes", () => {
  it("packs several envelopes into one self-contained segment", () => {
    const envs = [envelope(1, Buffer.from("a")), envelope(2, Buffer.from("bb")), envelope(3, Buffer.alloc(0))]
    const bytes = Segment.encodeEnvelopes(envs, "uncompressed")
    expect(headers(bytes, "uncompressed")).toEqual([{ length: 9 * 3 + 3, uncompressed: 0, selfContained: true }])
    expect(decodeChunks("uncompressed", [bytes]).map((e) => e.stream)).toEqual([1, 2, 3])
  })

  it("starts a new segment when the next envelope would not fit", () => {
    const big = envelope(1, Buffer.alloc(100_000))
    const bytes = Segment.encodeEnvelopes([big, big], "uncompressed")
    expect(headers(bytes, "uncompressed").map((h) => [h.length, h.selfContained])).toEqual([
      [100_009, true],
      [100_009, true]
    ])
  })

  it("cuts an envelope over 128 KiB - 1 into non-self-contained segments", () => {
    const huge = envelope(7, Buffer.alloc(300_000, 0x42))
    const small = envelope(8, Buffer.from("after"))
    const bytes = Segment.encodeEnvelopes([small, huge, small], "uncompressed")
    expect(headers(bytes, "uncompressed").map((h) => [h.length, h.selfContained])).toEqual([
      [14, true],
      [131_071, false],
      [131_071, false],
      [37_867, false],
      [14, true]
    ])
    const out = decodeChunks("uncompressed", [bytes])
    expect(out.map((e) => e.stream)).toEqual([8, 7, 8])
    expect(out[1]!.body.equals(Buffer.alloc(300_000, 0x42))).toBe(true)
  })

  it("compresses lz4 segments when it helps and keeps the uncompressed length", () => {
    const rows = envelope(1, Buffer.from("id=1;name=alice;city=paris|".repeat(200)))
    const [h] = headers(Segment.encodeEnvelopes([rows], "lz4"), "lz4")
    expect(h!.uncompressed).toBe(rows.length)
    expect(h!.length).toBeLessThan(rows.length / 5)
  })

  it.prop(
    "round-trips any envelopes in both layouts under any chunking",
    [
      fc.array(
        fc.record({
          stream: fc.integer({ min: -1, max: 32767 }),
          size: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 131_000, max: 270_000 })),
          fill: fc.oneof(fc.constant("text" as const), fc.integer({ min: 1, max: 2 ** 31 - 1 }))
        }),
        { maxLength: 6 }
      ),
      fc.constantFrom<Segment.Format>("uncompressed", "lz4"),
      fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 })
    ],
    ([specs, format, cuts]) => {
      const bodies = specs.map(({ size, fill }) =>
        fill === "text" ? Buffer.from("row;".repeat(size / 4 + 1)).subarray(0, size) : noise(size, fill)
      )
      const bytes = Segment.encodeEnvelopes(specs.map((s, i) => envelope(s.stream, bodies[i]!)), format)
      const chunks: Array<Buffer> = []
      for (let at = 0, k = 0; at < bytes.length; k++) {
        const n = cuts[k % cuts.length]!
        chunks.push(bytes.subarray(at, at + n))
        at += n
      }
      const out = decodeChunks(format, chunks)
      expect(out.map((e) => e.stream)).toEqual(specs.map((s) => s.stream))
      out.forEach((e, i) => expect(e.body.equals(bodies[i]!)).toBe(true))
    },
    { fastCheck: { numRuns: 40 } }
  )

  it("decodes segments fed one byte at a time", () => {
    const envs = [envelope(1, Buffer.from("one")), envelope(2, Buffer.alloc(3000, 1))]
    for (const format of ["uncompressed", "lz4"] as const) {
      const bytes = Segment.encodeEnvelopes(envs, format)
      const out = decodeChunks(format, [...bytes].map((b) => Buffer.from([b])))
      expect(out.map((e) => e.body.length)).toEqual([3, 3000])
    }
  })

  it("returns bodies as views of the received chunk when a segment arrives whole", () => {
    const bytes = Segment.encodeEnvelopes([envelope(1, Buffer.from("view me"))], "uncompressed")
    const [e] = decodeChunks("uncompressed", [bytes])
    expect(e!.body.buffer).toBe(bytes.buffer)
  })
})

describe("SegmentDecoder errors", () => {
  const good = Segment.encodeEnvelopes([envelope(1, Buffer.from("payload"))], "uncompressed")

  it("rejects a corrupted header (CRC24)", () => {
    const bad = Buffer.from(good)
    bad[0] = bad[0]! ^ 0x01
    const d = new Segment.SegmentDecoder("uncompressed")
    d.push(bad)
    expectLeft(d.next(), /header CRC24 mismatch/)
  })

  it("rejects a corrupted payload (CRC32) and stays failed", () => {
    const bad = Buffer.from(good)
    bad[10] = bad[10]! ^ 0x80
    const d = new Segment.SegmentDecoder("uncompressed")
    d.push(bad)
    expectLeft(d.next(), /payload CRC32 mismatch/)
    d.push(good)
    expectLeft(d.next(), /CRC32/)
  })

  it("waits on a truncated segment instead of failing", () => {
    const d = new Segment.SegmentDecoder("uncompressed")
    d.push(good.subarray(0, good.length - 1))
    expect(d.next()).toBeUndefined()
    d.push(good.subarray(good.length - 1))
    expect(Either.isRight(d.next()!)).toBe(true)
  })

  it("rejects a self-contained segment that ends inside an envelope", () => {
    const partial = Either.getOrThrow(Segment.encodeSegment(envelope(1, Buffer.from("payload")).subarray(0, 12), "uncompressed", true))
    const d = new Segment.SegmentDecoder("uncompressed")
    d.push(partial)
    expectLeft(d.next(), /self-contained segment ended inside an envelope/)
  })

  it("rejects a self-contained segment in the middle of a split envelope", () => {
    const e = envelope(1, Buffer.from("payload"))
    const first = Either.getOrThrow(Segment.encodeSegment(e.subarray(0, 12), "uncompressed", false))
    const d = new Segment.SegmentDecoder("uncompressed")
    d.push(Buffer.concat([first, good]))
    expectLeft(d.next(), /self-contained segment arrived while an envelope was incomplete/)
  })

  it("rejects an envelope length over the limit inside a payload", () => {
    const lying = Either.getOrThrow(Segment.encodeSegment(hex("84 00 0001 08 7fffffff"), "uncompressed", true))
    const d = new Segment.SegmentDecoder("uncompressed")
    d.push(lying)
    expectLeft(d.next(), /in segment payload: envelope body length 2147483647/)
  })

  it("rejects a compressed payload that does not decompress, even with valid CRCs", () => {
    // A 5-byte lz4 payload claiming 1000 uncompressed bytes.
    const payload = Buffer.from([0x10, 0x61, 0x01, 0x00, 0x00])
    const header = Buffer.alloc(8)
    header.writeUIntLE(payload.length + 1000 * 2 ** 17 + 2 ** 34, 0, 5)
    header.writeUIntLE(crc24(header, 0, 5), 5, 3)
    const segment = Either.getOrThrow(Segment.encodeSegment(payload, "uncompressed", true))
    // Reuse the payload and CRC32 of an uncompressed encoding behind the lz4 header.
    const bytes = Buffer.concat([header, segment.subarray(6)])
    const d = new Segment.SegmentDecoder("lz4")
    d.push(bytes)
    expectLeft(d.next(), /segment payload: .*LZ4/)
  })
})

describe("Inbound / Outbound", () => {
  it("switches from envelopes to segments right after READY, re-reading bytes already received", () => {
    const inbound = new Segment.Inbound()
    const after = Segment.encodeEnvelopes([envelope(3, Buffer.from("framed"))], "lz4")
    inbound.push(Buffer.concat([READY, after]))
    const ready = Either.getOrThrow(inbound.next()!)
    expect(ready.opcode).toBe(Frame.Opcode.Ready)
    expect(inbound.framing).toBe("envelopes")
    inbound.useSegments("lz4")
    expect(inbound.framing).toBe("lz4")
    const framed = Either.getOrThrow(inbound.next()!)
    expect(framed.body.toString()).toBe("framed")
    expect(inbound.next()).toBeUndefined()
  })

  it("an Outbound and an Inbound agree in every mode", () => {
    // v4 envelopes: v4 body compression is one of the modes (v5 decoders ignore that flag).
    const envs = [envelope(1, Buffer.from("x".repeat(500)), Frame.Opcode.Result, 0x84), envelope(2, Buffer.from("short"), Frame.Opcode.Result, 0x84)]
    const modes: Array<(o: Segment.Outbound, i: Segment.Inbound) => void> = [
      () => {},
      (o, i) => {
        o.useCompression(Compression.lz4)
        i.useCompression(Compression.lz4)
      },
      (o, i) => {
        o.useCompression(Compression.snappy)
        i.useCompression(Compression.snappy)
      },
      (o, i) => {
        o.useSegments("uncompressed")
        i.useSegments("uncompressed")
      },
      (o, i) => {
        o.useSegments("lz4")
        i.useSegments("lz4")
      }
    ]
    for (const setup of modes) {
      const o = new Segment.Outbound()
      const i = new Segment.Inbound()
      setup(o, i)
      i.push(o.encode(envs))
      expect(pullAll(i).map((e) => e.body.toString())).toEqual(["x".repeat(500), "short"])
    }
  })

  it("compresses v4 bodies that shrink, and never STARTUP or OPTIONS", () => {
    const o = new Segment.Outbound()
    o.useCompression(Compression.lz4)
    const startup = envelope(0, Buffer.from("CQL_VERSION".repeat(20)), Frame.Opcode.Startup, 4)
    const query = envelope(1, Buffer.from("SELECT * FROM t WHERE k = ?".repeat(20)), Frame.Opcode.Query, 4)
    const tiny = envelope(2, Buffer.from("ab"), Frame.Opcode.Query, 4)
    const out = o.encode([startup, query, tiny])
    expect(out.subarray(0, startup.length).equals(startup)).toBe(true)
    const q = Frame.readHeader(out, startup.length)
    expect(q.flags & Frame.Flag.Compression).toBe(Frame.Flag.Compression)
    expect(q.length).toBeLessThan(query.length - 9)
    expect(out.subarray(out.length - tiny.length).equals(tiny)).toBe(true)
  })

  it("returns bytes that do not alias its inputs", () => {
    const input = envelope(1, Buffer.from("body"))
    for (const o of [new Segment.Outbound(), new Segment.Outbound()]) {
      const out = o.encode([input])
      expect(out.buffer === input.buffer && out.byteOffset === input.byteOffset).toBe(false)
      o.useSegments("uncompressed")
    }
  })
})
