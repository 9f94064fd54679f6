import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Consistency from "../src/Consistency.js"
import { Opcode } from "../src/Frame.js"
import { ByteWriter } from "../src/internal/writer.js"
import { DecodeError, EncodeError } from "../src/ProtocolError.js"
import * as Response from "../src/Response.js"
import * as ServerError from "../src/ServerError.js"
import { bytes, int, short, shortBlob, str, strList } from "./messageBytes.js"

const decode = (body: Buffer, version: 4 | 5) => Response.decodeResponse(Opcode.Error, 0, body, version)

const decodeError = (body: Buffer, version: 4 | 5): ServerError.ServerError => {
  const res = Either.getOrThrow(decode(body, version))
  if (res._tag !== "Error") throw new Error(`expected an ERROR, got ${res._tag}`)
  return res.error
}

const encode = (e: ServerError.ServerError, version: 4 | 5): Either.Either<Buffer, EncodeError> => {
  const w = new ByteWriter(8)
  return Either.map(Response.encodeResponse(w, { _tag: "Error", error: e }, version), () => Buffer.from(w.finish()))
}

/** Decodes the hand-built body, checks the fields, and checks that encoding gives the same bytes back. */
const vector = (version: 4 | 5, body: Buffer, expected: ServerError.ServerError) => {
  expect(decodeError(body, version)).toEqual(expected)
  expect(Either.getOrThrow(encode(expected, version)).toString("hex")).toBe(body.toString("hex"))
}

const simple: ReadonlyArray<[ServerError.SimpleKind, number]> = [
  ["ServerError", 0x0000],
  ["ProtocolError", 0x000a],
  ["AuthenticationError", 0x0100],
  ["Overloaded", 0x1001],
  ["IsBootstrapping", 0x1002],
  ["TruncateError", 0x1003],
  ["CdcWriteFailure", 0x1600],
  ["SyntaxError", 0x2000],
  ["Unauthorized", 0x2100],
  ["Invalid", 0x2200],
  ["ConfigError", 0x2300]
]

// QUORUM = 0x0004, LOCAL_QUORUM = 0x0006, SERIAL = 0x0008 (spec section 3, [consistency]).
const QUORUM = short(4)
const LOCAL_QUORUM = short(6)
const SERIAL = short(8)

/** Every code with a body, as [name, version, bytes, decoded]. */
const vectors: ReadonlyArray<[string, 4 | 5, Buffer, ServerError.ServerError]> = [
  [
    "Unavailable",
    4,
    bytes(int(0x1000), str("Cannot achieve consistency level QUORUM"), QUORUM, int(3), int(1)),
    { kind: "Unavailable", message: "Cannot achieve consistency level QUORUM", consistency: "QUORUM", required: 3, alive: 1 }
  ],
  [
    "WriteTimeout v4",
    4,
    bytes(int(0x1100), str("timed out"), LOCAL_QUORUM, int(1), int(2), str("SIMPLE")),
    { kind: "WriteTimeout", message: "timed out", consistency: "LOCAL_QUORUM", received: 1, blockFor: 2, writeType: "SIMPLE" }
  ],
  [
    "WriteTimeout v5 CAS with contentions",
    5,
    bytes(int(0x1100), str("cas"), SERIAL, int(0), int(2), str("CAS"), short(7)),
    { kind: "WriteTimeout", message: "cas", consistency: "SERIAL", received: 0, blockFor: 2, writeType: "CAS", contentions: 7 }
  ],
  [
    "WriteTimeout v5 not CAS",
    5,
    bytes(int(0x1100), str("t"), QUORUM, int(1), int(2), str("BATCH_LOG")),
    { kind: "WriteTimeout", message: "t", consistency: "QUORUM", received: 1, blockFor: 2, writeType: "BATCH_LOG" }
  ],
  [
    "ReadTimeout",
    4,
    bytes(int(0x1200), str("read timed out"), QUORUM, int(1), int(2), 0),
    { kind: "ReadTimeout", message: "read timed out", consistency: "QUORUM", received: 1, blockFor: 2, dataPresent: false }
  ],
  [
    "ReadTimeout data present",
    5,
    bytes(int(0x1200), str(""), QUORUM, int(2), int(2), 1),
    { kind: "ReadTimeout", message: "", consistency: "QUORUM", received: 2, blockFor: 2, dataPresent: true }
  ],
  [
    "ReadFailure v4 (numfailures)",
    4,
    bytes(int(0x1300), str("rf"), QUORUM, int(1), int(2), int(1), 1),
    {
      kind: "ReadFailure",
      message: "rf",
      consistency: "QUORUM",
      received: 1,
      blockFor: 2,
      numFailures: 1,
      reasons: [],
      dataPresent: true
    }
  ],
  [
    "ReadFailure v5 (reasonmap)",
    5,
    bytes(int(0x1300), str("rf"), QUORUM, int(0), int(2), int(2), [4, 10, 0, 0, 1], short(1), [16, ...Array(15).fill(0), 1], short(3), 0),
    {
      kind: "ReadFailure",
      message: "rf",
      consistency: "QUORUM",
      received: 0,
      blockFor: 2,
      numFailures: 2,
      reasons: [
        { endpoint: "10.0.0.1", code: 1 },
        { endpoint: "::1", code: 3 }
      ],
      dataPresent: false
    }
  ],
  [
    "FunctionFailure",
    4,
    bytes(int(0x1400), str("boom"), str("ks"), str("fn"), strList("int", "text")),
    { kind: "FunctionFailure", message: "boom", keyspace: "ks", function: "fn", argTypes: ["int", "text"] }
  ],
  [
    "WriteFailure v4 (numfailures)",
    4,
    bytes(int(0x1500), str("wf"), QUORUM, int(1), int(3), int(2), str("COUNTER")),
    {
      kind: "WriteFailure",
      message: "wf",
      consistency: "QUORUM",
      received: 1,
      blockFor: 3,
      numFailures: 2,
      reasons: [],
      writeType: "COUNTER"
    }
  ],
  [
    "WriteFailure v5 (reasonmap)",
    5,
    bytes(int(0x1500), str("wf"), QUORUM, int(1), int(3), int(1), [4, 192, 168, 1, 9], short(0), str("UNLOGGED_BATCH")),
    {
      kind: "WriteFailure",
      message: "wf",
      consistency: "QUORUM",
      received: 1,
      blockFor: 3,
      numFailures: 1,
      reasons: [{ endpoint: "192.168.1.9", code: 0 }],
      writeType: "UNLOGGED_BATCH"
    }
  ],
  [
    "CasWriteUnknown",
    5,
    bytes(int(0x1700), str("unknown"), SERIAL, int(1), int(2)),
    { kind: "CasWriteUnknown", message: "unknown", consistency: "SERIAL", received: 1, blockFor: 2 }
  ],
  [
    "AlreadyExists table",
    4,
    bytes(int(0x2400), str("exists"), str("ks"), str("t")),
    { kind: "AlreadyExists", message: "exists", keyspace: "ks", table: "t" }
  ],
  [
    "AlreadyExists keyspace",
    5,
    bytes(int(0x2400), str("exists"), str("ks"), str("")),
    { kind: "AlreadyExists", message: "exists", keyspace: "ks", table: "" }
  ],
  [
    "Unprepared",
    4,
    bytes(int(0x2500), str("unknown id"), shortBlob([0xde, 0xad, 0xbe, 0xef])),
    { kind: "Unprepared", message: "unknown id", id: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }
  ],
  [
    "an unknown code keeps its code and message",
    5,
    bytes(int(0x4242), str("from the future")),
    { kind: "Unknown", code: 0x4242, message: "from the future" }
  ]
]

describe("ServerError", () => {
  for (const [kind, code] of simple) {
    for (const version of [4, 5] as const) {
      it(`${kind} (0x${code.toString(16).padStart(4, "0")}) v${version}: code and message only`, () => {
        vector(version, bytes(int(code), str(`${kind} happened`)), { kind, message: `${kind} happened` })
      })
    }
  }

  for (const [name, version, body, expected] of vectors) {
    it(`${name} (v${version}): spec bytes <-> fields`, () => vector(version, body, expected))
  }

  it("Code covers every error code of the v5 spec, each once", () => {
    const codes = Object.values(ServerError.Code)
    expect(codes).toHaveLength(20)
    expect(new Set(codes).size).toBe(20)
    expect(ServerError.codeOf({ kind: "WriteFailure" } as ServerError.ServerError)).toBe(0x1500)
  })

  it("a v5 CAS write timeout without <contentions> is accepted (Cassandra only adds it for CasWriteTimeoutException)", () => {
    const e = decodeError(bytes(int(0x1100), str("cas"), SERIAL, int(0), int(1), str("CAS")), 5)
    expect(e).toEqual({ kind: "WriteTimeout", message: "cas", consistency: "SERIAL", received: 0, blockFor: 1, writeType: "CAS" })
  })

  it("v4 has no <contentions>: encoding drops it, decoding ignores what follows", () => {
    const e: ServerError.ServerError = {
      kind: "WriteTimeout",
      message: "cas",
      consistency: "SERIAL",
      received: 0,
      blockFor: 1,
      writeType: "CAS",
      contentions: 3
    }
    const v4 = Either.getOrThrow(encode(e, 4))
    expect(v4.toString("hex")).toBe(bytes(int(0x1100), str("cas"), SERIAL, int(0), int(1), str("CAS")).toString("hex"))
    expect(decodeError(bytes(v4, short(3)), 4)).not.toHaveProperty("contentions")
  })

  it("CAS_WRITE_UNKNOWN cannot be encoded in v4 (it does not exist there) but is read in any version", () => {
    const e: ServerError.ServerError = { kind: "CasWriteUnknown", message: "", consistency: "SERIAL", received: 0, blockFor: 1 }
    const left = Either.getLeft(encode(e, 4))
    expect(left._tag === "Some" && left.value.path).toBe("kind")
    expect(decodeError(Either.getOrThrow(encode(e, 5)), 4)).toEqual(e)
  })

  it("the v4 failure count and the v5 reason map come from the same fields", () => {
    const e: ServerError.ServerError = {
      kind: "ReadFailure",
      message: "",
      consistency: "ONE",
      received: 0,
      blockFor: 1,
      numFailures: 1,
      reasons: [{ endpoint: "127.0.0.1", code: 2 }],
      dataPresent: false
    }
    expect(decodeError(Either.getOrThrow(encode(e, 4)), 4)).toEqual({ ...e, reasons: [] })
    expect(decodeError(Either.getOrThrow(encode(e, 5)), 5)).toEqual(e)
  })

  describe("hostile bodies", () => {
    const truncatable = vectors.filter(([name]) => !name.includes("CAS with contentions"))
    for (const [name, version, body] of truncatable) {
      it(`${name}: every truncation is a DecodeError`, () => {
        for (let n = 0; n < body.length; n++) {
          const r = decode(body.subarray(0, n), version)
          expect(Either.isLeft(r), `truncated to ${n} of ${body.length} bytes`).toBe(true)
        }
      })
    }

    it("an unknown consistency code is a DecodeError with its offset", () => {
      const body = bytes(int(0x1000), str("u"), short(0x00ff), int(1), int(0))
      const r = decode(body, 4)
      expect(Either.isLeft(r) && r.left).toBeInstanceOf(DecodeError)
      expect(Either.isLeft(r) && r.left.offset).toBe(7)
      expect(Either.isLeft(r) && r.left.message).toMatch(/consistency code 0x00ff/)
    })

    it("an absurd reason map count fails before allocating", () => {
      const body = bytes(int(0x1300), str(""), QUORUM, int(0), int(1), int(0x7fffffff), 0)
      const r = decode(body, 5)
      expect(Either.isLeft(r) && r.left.message).toMatch(/<reasonmap> count 2147483647 exceeds/)
    })

    it("a negative count is a DecodeError in both versions", () => {
      for (const version of [4, 5] as const) {
        const r = decode(bytes(int(0x1500), str(""), QUORUM, int(0), int(1), int(-1), str("SIMPLE")), version)
        expect(Either.isLeft(r)).toBe(true)
      }
    })

    it("an [inetaddr] that is neither 4 nor 16 bytes is a DecodeError", () => {
      const r = decode(bytes(int(0x1300), str(""), QUORUM, int(0), int(1), int(1), [5, 1, 2, 3, 4, 5], short(0), 0), 5)
      expect(Either.isLeft(r) && r.left.message).toMatch(/\[inetaddr\] of 5 bytes/)
    })

    it("a string length past the end is a DecodeError", () => {
      const r = decode(bytes(int(0x2200), short(100), Buffer.from("short")), 4)
      expect(Either.isLeft(r) && r.left.message).toMatch(/need 100 bytes/)
    })
  })

  describe("encoding checks its input", () => {
    it("a consistency that is not a level", () => {
      const e = { kind: "Unavailable", message: "", consistency: "MOST", required: 1, alive: 0 } as unknown as ServerError.ServerError
      const left = Either.getLeft(encode(e, 4))
      expect(left._tag === "Some" && left.value.path).toBe("consistency")
    })

    it("an [int] out of range", () => {
      const e: ServerError.ServerError = { kind: "Unavailable", message: "", consistency: "ONE", required: 2 ** 31, alive: 0 }
      const left = Either.getLeft(encode(e, 4))
      expect(left._tag === "Some" && left.value.path).toBe("required")
    })

    it("Unknown with a known code (it would encode a body the decoder reads differently)", () => {
      const left = Either.getLeft(encode({ kind: "Unknown", code: 0x1000, message: "" }, 5))
      expect(left._tag === "Some" && left.value.path).toBe("code")
    })

    it("the writer is rolled back after a failure", () => {
      const w = new ByteWriter(8)
      w.int(42)
      const r = Response.encodeResponse(
        w,
        { _tag: "Error", error: { kind: "Unavailable", message: "x", consistency: "ONE", required: 1.5, alive: 0 } },
        4
      )
      expect(Either.isLeft(r)).toBe(true)
      expect(w.offset).toBe(4)
    })
  })

  const consistency = fc.constantFrom(...Consistency.all)
  const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
  const text = fc.string({ unit: "grapheme", maxLength: 20 })
  const endpoint = fc.oneof(fc.ipV4(), fc.constantFrom("::1", "2001:db8::7", "fe80::1:2:3:4"))
  const reasons = fc.array(fc.record({ endpoint, code: fc.integer({ min: 0, max: 0xffff }) }), { maxLength: 4 })
  const timeoutFields = { message: text, consistency, received: i32, blockFor: i32 }
  const serverError = (version: 4 | 5): fc.Arbitrary<ServerError.ServerError> =>
    fc.oneof(
      fc.record({ kind: fc.constantFrom(...simple.map(([k]) => k)), message: text }),
      fc.record({ kind: fc.constant("Unavailable" as const), message: text, consistency, required: i32, alive: i32 }),
      fc.record({ kind: fc.constant("WriteTimeout" as const), ...timeoutFields, writeType: fc.constantFrom("SIMPLE", "BATCH", "COUNTER") }),
      version === 5
        ? fc.record({
            kind: fc.constant("WriteTimeout" as const),
            ...timeoutFields,
            writeType: fc.constant("CAS"),
            contentions: fc.integer({ min: 0, max: 0xffff })
          })
        : fc.record({ kind: fc.constant("WriteTimeout" as const), ...timeoutFields, writeType: fc.constant("CAS") }),
      fc.record({ kind: fc.constant("ReadTimeout" as const), ...timeoutFields, dataPresent: fc.boolean() }),
      fc
        .record({ ...timeoutFields, reasons, numFailures: fc.nat(), dataPresent: fc.boolean() })
        .map((f) => ({
          kind: "ReadFailure" as const,
          ...f,
          ...(version === 5 ? { numFailures: f.reasons.length } : { reasons: [] })
        })),
      fc
        .record({ ...timeoutFields, reasons, numFailures: fc.nat(), writeType: fc.constantFrom("SIMPLE", "VIEW", "CDC") })
        .map((f) => ({
          kind: "WriteFailure" as const,
          ...f,
          ...(version === 5 ? { numFailures: f.reasons.length } : { reasons: [] })
        })),
      fc.record({
        kind: fc.constant("FunctionFailure" as const),
        message: text,
        keyspace: text,
        function: text,
        argTypes: fc.array(text, { maxLength: 3 })
      }),
      ...(version === 5 ? [fc.record({ kind: fc.constant("CasWriteUnknown" as const), ...timeoutFields })] : []),
      fc.record({ kind: fc.constant("AlreadyExists" as const), message: text, keyspace: text, table: text }),
      fc.record({
        kind: fc.constant("Unprepared" as const),
        message: text,
        id: fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a))
      }),
      fc.record({ kind: fc.constant("Unknown" as const), code: fc.integer({ min: 0x3000, max: 0x7fff }), message: text })
    )

  for (const version of [4, 5] as const) {
    it.prop(`server encode -> client decode round-trips every error (v${version})`, { e: serverError(version) }, ({ e }) => {
      expect(decodeError(Either.getOrThrow(encode(e, version)), version)).toEqual(e)
    })
  }
})
