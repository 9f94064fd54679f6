import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Compression from "../src/Compression.js"
import * as Frame from "../src/Frame.js"
import { ByteWriter } from "../src/internal/writer.js"
import { DecodeError } from "../src/ProtocolError.js"

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex")

const envelope = (init: Partial<Frame.EnvelopeInit> & { body: Uint8Array }) =>
  Either.getOrThrow(Frame.encodeEnvelope({ version: 4, flags: 0, stream: 0, opcode: Frame.Opcode.Query, ...init }))

/** Pushes chunks and pulls every envelope available after each one. */
const decodeAll = (decoder: Frame.EnvelopeDecoder, chunks: ReadonlyArray<Buffer>) => {
  const out: Array<Frame.Envelope> = []
  for (const c of chunks) {
    decoder.push(c)
    for (let r = decoder.next(); r !== undefined; r = decoder.next()) out.push(Either.getOrThrow(r))
  }
  return out
}

const expectLeft = (r: Either.Either<Frame.Envelope, DecodeError> | undefined, pattern: RegExp) => {
  expect(r).toBeDefined()
  expect(Either.isLeft(r!)).toBe(true)
  if (r !== undefined && Either.isLeft(r)) {
    expect(r.left).toBeInstanceOf(DecodeError)
    expect(r.left.message).toMatch(pattern)
  }
}

describe("envelope header", () => {
  it("writes the 9-byte header of section 2 in place, then patches the length", () => {
    const w = new ByteWriter(4)
    w.byte(0xee) // something before: the envelope starts at the writer's position
    const start = Frame.beginEnvelope(w, 4, Frame.Flag.Tracing, 1, Frame.Opcode.Query)
    w.raw(Buffer.from("hello"))
    const e = Frame.endEnvelope(w, start)
    expect(start).toBe(1)
    expect(e.toString("hex")).toBe("040200010700000005" + Buffer.from("hello").toString("hex"))
  })

  it("encodes negative stream ids and the direction bit", () => {
    const e = envelope({ version: 0x85, stream: -1, opcode: Frame.Opcode.Event, body: new Uint8Array(0) })
    expect(e.toString("hex")).toBe("8500ffff0c00000000")
    const h = Frame.readHeader(e, 0)
    expect(h).toEqual({ version: 5, response: true, flags: 0, stream: -1, opcode: 0x0c, length: 0 })
  })

  it("has the spec's opcode and flag values", () => {
    expect(Frame.Opcode).toMatchObject({ Error: 0, Startup: 1, Ready: 2, Authenticate: 3, Options: 5, Supported: 6 })
    expect(Frame.Opcode).toMatchObject({ Execute: 0x0a, Batch: 0x0d, AuthSuccess: 0x10 })
    expect(Frame.Flag).toEqual({ Compression: 1, Tracing: 2, CustomPayload: 4, Warning: 8, UseBeta: 0x10 })
    expect(Frame.opcodeName(0x0e)).toBe("AUTH_CHALLENGE")
    expect(Frame.opcodeName(0x04)).toBe("UNKNOWN(0x04)")
  })

  it("rejects a body over 256 MB when encoding", () => {
    const w = new ByteWriter()
    const start = Frame.beginEnvelope(w, 4, 0, 0, Frame.Opcode.Query)
    w.offset += Frame.MAX_BODY_LENGTH + 1 - w.offset + start + Frame.HEADER_LENGTH
    expect(() => Frame.endEnvelope(w, start)).toThrow(/exceeds/)
  })
})

describe("EnvelopeDecoder", () => {
  const a = envelope({ stream: 1, body: Buffer.from("first body") })
  const b = envelope({ stream: 2, opcode: Frame.Opcode.Options, body: new Uint8Array(0) })
  const c = envelope({ version: 0x84, stream: -1, opcode: Frame.Opcode.Event, body: Buffer.alloc(1000, 0x5a) })
  const all = Buffer.concat([a, b, c])

  it("decodes many envelopes from one chunk, bodies as views of it", () => {
    const out = decodeAll(new Frame.EnvelopeDecoder(), [all])
    expect(out.map((e) => e.stream)).toEqual([1, 2, -1])
    expect(out[0]!.body.toString()).toBe("first body")
    expect(out[1]!.body.length).toBe(0)
    expect(out[2]!).toMatchObject({ version: 4, response: true, opcode: Frame.Opcode.Event, length: 1000 })
    // Zero-copy: the body shares the chunk's memory.
    expect(out[0]!.body.buffer).toBe(all.buffer)
    expect(out[0]!.body.byteOffset).toBe(all.byteOffset + 9)
  })

  it("decodes envelopes fed one byte at a time", () => {
    const chunks = [...all].map((x) => Buffer.from([x]))
    const out = decodeAll(new Frame.EnvelopeDecoder(), chunks)
    expect(out.map((e) => e.body.length)).toEqual([10, 0, 1000])
    expect(out[2]!.body.every((x) => x === 0x5a)).toBe(true)
  })

  it.prop(
    "decodes any envelopes under any chunking",
    [
      fc.array(fc.record({ stream: fc.integer({ min: -32768, max: 32767 }), body: fc.uint8Array({ maxLength: 3000 }) }), {
        maxLength: 12
      }),
      fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 20 })
    ],
    ([inputs, cuts]) => {
      const bytes = Buffer.concat(inputs.map((i) => envelope(i)))
      const chunks: Array<Buffer> = []
      for (let at = 0, k = 0; at < bytes.length; k++) {
        const n = cuts[k % cuts.length]!
        chunks.push(bytes.subarray(at, at + n))
        at += n
      }
      const out = decodeAll(new Frame.EnvelopeDecoder(), chunks)
      expect(out.map((e) => e.stream)).toEqual(inputs.map((i) => i.stream))
      out.forEach((e, i) => expect(e.body.equals(inputs[i]!.body)).toBe(true))
    }
  )

  it("returns undefined until an envelope is complete", () => {
    const d = new Frame.EnvelopeDecoder()
    d.push(a.subarray(0, 5))
    expect(d.next()).toBeUndefined()
    d.push(a.subarray(5, 12))
    expect(d.next()).toBeUndefined()
    expect(d.buffered).toBe(3)
    d.push(a.subarray(12))
    expect(Either.getOrThrow(d.next()!).body.toString()).toBe("first body")
    expect(d.next()).toBeUndefined()
  })

  it("rejects an oversized length from the header alone, before the body arrives", () => {
    const d = new Frame.EnvelopeDecoder()
    d.push(hex("84 00 0001 08 10000001"))
    expectLeft(d.next(), /length 268435457 is outside 0\.\.268435456/)
    // The stream is unusable from then on.
    d.push(a)
    expectLeft(d.next(), /268435457/)
  })

  it("rejects negative lengths and lengths above a configured limit", () => {
    const neg = new Frame.EnvelopeDecoder()
    neg.push(hex("84 00 0001 08 ffffffff"))
    expectLeft(neg.next(), /length -1/)
    const small = new Frame.EnvelopeDecoder({ maxBodyLength: 100 })
    small.push(c)
    expectLeft(small.next(), /length 1000 is outside 0\.\.100/)
  })

  it("reports where the bad header is in the stream", () => {
    const d = new Frame.EnvelopeDecoder()
    d.push(Buffer.concat([a, hex("84 00 0001 08 ffffffff")]))
    expect(Either.isRight(d.next()!)).toBe(true)
    const r = d.next()!
    expect(Either.isLeft(r) && r.left.offset).toBe(a.length + 5)
  })

  it("decompresses v4 bodies flagged as compressed and clears the flag", () => {
    for (const compressor of [Compression.lz4, Compression.snappy]) {
      const body = Buffer.from("row,row,row,row,row,row,row,row,row,row,row")
      const packed = compressor.compress(body)
      const e = envelope({ flags: Frame.Flag.Compression | Frame.Flag.Warning, body: packed })
      const [out] = decodeAll(new Frame.EnvelopeDecoder({ compressor }), [e])
      expect(out!.body.equals(body)).toBe(true)
      expect(out!.flags).toBe(Frame.Flag.Warning)
      expect(out!.length).toBe(packed.length)
    }
  })

  it("fails on a compressed body when no compression was negotiated, or when it does not decompress", () => {
    const e = envelope({ flags: Frame.Flag.Compression, body: Buffer.from([0, 0, 0, 5, 1, 2]) })
    const none = new Frame.EnvelopeDecoder()
    none.push(e)
    expectLeft(none.next(), /no compression was negotiated/)
    const lz4 = new Frame.EnvelopeDecoder()
    lz4.setCompressor(Compression.lz4)
    lz4.push(e)
    expectLeft(lz4.next(), /QUERY/)
  })

  it("caps a compressed body's declared size at the decoder's limit", () => {
    const over = envelope({ flags: Frame.Flag.Compression, body: Buffer.from([0x10, 0, 0, 1, 0]) })
    const d = new Frame.EnvelopeDecoder({ compressor: Compression.lz4 })
    d.push(over)
    expectLeft(d.next(), /declares 268435457 bytes, outside 0\.\.268435456/)
    const small = new Frame.EnvelopeDecoder({ compressor: Compression.snappy, maxBodyLength: 1000 })
    small.push(envelope({ flags: Frame.Flag.Compression, body: Compression.snappy.compress(Buffer.alloc(1001)) }))
    expectLeft(small.next(), /declares 1001 bytes, more than the 1000 allowed/)
  })

  it("refuses a declared size the compressed bytes cannot reach, without allocating it", () => {
    // 256 MB claimed by a 1-byte block: refused before the allocation.
    const e = envelope({ flags: Frame.Flag.Compression, body: Buffer.from([0x10, 0, 0, 0, 0]) })
    const d = new Frame.EnvelopeDecoder({ compressor: Compression.lz4 })
    d.push(e)
    expectLeft(d.next(), /cannot expand to 268435456/)
  })

  it("ignores the compression flag in v5 and on empty bodies", () => {
    const v5 = envelope({ version: 5, flags: Frame.Flag.Compression, body: Buffer.from("plain") })
    const empty = envelope({ flags: Frame.Flag.Compression, body: new Uint8Array(0) })
    const out = decodeAll(new Frame.EnvelopeDecoder({ compressor: Compression.lz4 }), [v5, empty])
    expect(out[0]!.body.toString()).toBe("plain")
    expect(out[1]!.body.length).toBe(0)
  })

  it("hands unread bytes over with drain", () => {
    const d = new Frame.EnvelopeDecoder()
    d.push(Buffer.concat([a, b.subarray(0, 4)]))
    d.push(b.subarray(4))
    expect(Either.isRight(d.next()!)).toBe(true)
    expect(Buffer.concat(d.drain()).equals(b)).toBe(true)
    expect(d.buffered).toBe(0)
    expect(d.next()).toBeUndefined()
  })
})
